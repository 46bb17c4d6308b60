"""The meter core: one `Call` per generative request, from budget check to footprint.

Provider modules call `start_call()` before the request leaves (budgets may refuse it
there), then `Call.finish(usage)` exactly once when the response, or the last chunk of a
stream, is in. Finishing appends one record to the record queue (`_queue`) and returns:
the background thread turns it into a `Footprint` and hands that to the sinks
(Prometheus, OpenTelemetry metrics, the budget ledger, `testing.capture`) in batches.
wattmeter's own span is made (or ended) there too, with the call's start and end times
and parent context captured here; only a span of another instrumentation, which must
carry the figures before it ends, has the footprint computed on the caller's thread.
While nothing has to run before a call leaves (`plain`: no budget check, start hook or
span), the provider core does `finish`'s plain case itself, or queues a flat record whose
`Call` is made here, in the background (`plain_call`; issue 19).
Everything after the budget check runs under the internal-error guard.
"""

from __future__ import annotations

import contextvars
import functools
import itertools
import time
from collections.abc import Callable, Mapping
from typing import Any

from . import _config, _fork, _queue  # noqa: F401 - _fork: fresh locks in forked children
from ._attribution import current_attribution, current_call
from ._footprint import Footprint
from ._guard import internal_error
from ._usage import Usage
from .estimate import footprint_for

__all__ = ["Call", "add_sink", "add_start_hook", "flush", "plain", "plain_call", "prepare",
           "receivers", "record", "remove_sink", "remove_start_hook", "replain", "start_call",
           "wire"]

Sink = Callable[[Footprint, "Call"], None]

#: Receivers of every finished footprint; rebuilt by `wire()` when the configuration changes.
_sinks: list[Sink] = []
#: Extra receivers added by users or `testing.capture` (kept across rewiring).
_extra_sinks: list[Sink] = []
#: Budget checks run before a request leaves: check(team, labels, provider, model, operation).
_checks: list[Callable[[str, Mapping[str, str], str, str, str], None]] = []
#: hook(call) for every top-level call once it may go (kept across rewiring; the measure
#: layer counts the calls in flight).
_start_hooks: list[Callable[[Call], None]] = []
#: start(call) sets call.span; defer(call) -> True when end() may run in the background;
#: end(call, footprint | None, error | None).
_span_hooks: list[Any] = []

#: The call in progress (kept in `_attribution`, below the exporters that read it).
_current_call: contextvars.ContextVar[Call | None] = current_call
_state: dict[str, Any] = {"wired": False, "default_team": "default"}
#: (*_sinks, *_extra_sinks), rebuilt when either changes; a record carries the receivers in
#: force when its call finished, so a reconfiguration doesn't redirect queued calls.
receivers: list[tuple[Sink, ...]] = [()]
#: ``(default team, gate)`` while a call needs nothing of `start_call` before it leaves: no
#: budget check, no start hook, and no span while ``gate()`` returns None (the span hooks'
#: test that no tracer is installed). The provider core then makes the `Call` in its own
#: frame (issue 19: the nine frames it skips measured 5.9 µs a call in situ).
#: None when every call must go through `start_call`. One tuple, swapped whole.
plain: list[tuple[str, Callable[[], Any]] | None] = [None]
#: A gate for no span hooks: a C-level callable that always returns None.
_NO_SPANS: Callable[[], Any] = itertools.repeat(None).__next__


class Call:
    """One metered request; `finish()` is idempotent so a stream can end in many ways.

    The fields a call only sometimes gets (span, nested usage, footprint) have class-level
    defaults, so starting a call stores seven (issue 19: it runs on the caller's thread).
    """

    span: Any = None
    finished: bool = False
    #: When finish() was called: sinks may run later, in the background.
    ended: float = 0.0
    #: The usage a call nested inside this one reported (the outer call counts it).
    inner: Usage | None = None
    token: contextvars.Token[Call | None] | None = None
    #: What the call finished with (span details).
    usage: Usage | None = None
    #: Computed once, on demand (`footprint()`).
    fp: Footprint | None = None

    def __init__(self, provider: str, model: str, operation: str, team: str,
                 labels: Mapping[str, str], parent: Call | None) -> None:
        self.provider = provider
        self.model = model
        self.operation = operation
        self.team = team
        self.labels = labels
        self.parent = parent
        self.started = time.time()

    def enter(self) -> Call:
        """Mark this call as the one in progress, so calls nested inside are not counted twice."""
        self.token = _current_call.set(self)
        return self

    def exit(self) -> None:
        """Undo `enter()` once the provider method has returned (a stream may go on)."""
        token, self.token = self.token, None
        if token is not None:
            try:
                _current_call.reset(token)
            except ValueError:  # reset from another context (a generator resumed elsewhere)
                pass

    def finish(self, usage: Usage | None, error: BaseException | None = None) -> Footprint | None:
        """Record the call once: the footprint of `usage`, or an error with no usage.

        Without a span, or with wattmeter's own (made or ended in the background at the
        times captured now), this queues one record and returns None (the footprint is
        computed in the background; `footprint()` computes it now when asked). With another
        instrumentation's span the footprint is computed here, put on the span, and returned.
        """
        if self.finished:
            return None
        self.finished = True
        self.ended = time.time()
        try:
            if self.parent is not None:  # nested: the outer call counts, using our usage if it must
                if usage is not None and self.parent.inner is None:
                    self.parent.inner = usage
                return None
            if usage is None and self.inner is not None:
                usage = self.inner  # the outer call keeps its own identity, takes the counts
                usage.provider, usage.model, usage.operation = (
                    self.provider, self.model, self.operation)
            if usage is None:
                usage = Usage(self.provider, self.model, self.operation)
            if error is not None:
                usage.outcome = "error"
            self.usage = usage
            if self.span is None or _deferred(self):  # one record, done in the background
                if _queue.put((self, error, False, receivers[0])) >= _queue.SETTLE_AT \
                        and usage.reader is not None:
                    usage.settle()  # a long queue holds no usage blocks
                return None
            fp = self.footprint()
        except Exception as exc:
            internal_error("finish", exc)
            return None
        _end_spans(self, fp, error)
        _queue.put((self, error, True, receivers[0]))
        return fp

    def footprint(self) -> Footprint:
        """The call's footprint, computed on first use (the one `footprint_for` call)."""
        fp = self.fp
        if fp is None:
            usage = self.usage
            if usage is None:
                usage = Usage(self.provider, self.model, self.operation)
            elif usage.reader is not None:  # the usage block, read now
                usage.settle()
            fp = self.fp = footprint_for(usage, team=self.team, labels=self.labels,
                                         timestamp=self.started)
        return fp


def _deferred(call: Call) -> bool:
    """True when every span hook can finish the call's span in the background (it is
    wattmeter's own: nothing else waits for its attributes); they capture the end time."""
    try:
        for hook in _span_hooks:
            if not hook.defer(call):
                return False
    except Exception as exc:
        internal_error("span_defer", exc)
        return False
    return True


def _end_spans(call: Call, fp: Footprint | None, error: BaseException | None) -> None:
    # Each receiver on its own: a failing span hook must not lose the budget record.
    for hook in _span_hooks:
        try:
            hook.end(call, fp, error)
        except Exception as exc:
            internal_error("span_end", exc)


def plain_call(record: tuple[Any, ...]) -> Call:
    """The finished `Call` of a flat record: ``(provider, model, operation, server, team,
    labels, started, ended, response model, usage block, its reader, receivers)``, which
    the provider core queues for a complete response on the plain path (issue 19)."""
    provider, model, operation, server, team, labels, started, ended, response_model, \
        raw, read, _ = record
    call = Call(provider, model, operation, team, labels, None)
    usage = Usage(provider, model, operation)
    usage.response_model = response_model
    usage.reader, usage.raw = read, raw
    if server is not None:
        usage.server_address, usage.server_port = server
    call.started, call.ended, call.finished, call.usage = started, ended, True, usage
    return call


def _drain(batch: list[tuple[Any, ...]]) -> None:
    """Process queued records (the background thread, or a reader's `flush`): a call's
    ``(call, error, spanned, receivers)``, or a flat record (`plain_call`)."""
    hooks = bool(_span_hooks)
    for record in batch:
        try:
            if len(record) == 4:
                call, error, spanned, sinks = record
            else:
                call, error, spanned, sinks = plain_call(record), None, False, record[-1]
            fp = call.footprint()
        except Exception as exc:
            internal_error("finish", exc)
            continue
        if hooks and not spanned:  # OpenTelemetry metrics, when on
            _end_spans(call, fp, error)
        for sink in sinks:
            try:
                sink(fp, call)
            except Exception as exc:
                internal_error("sink", exc)


def start_call(provider: str, model: str, operation: str) -> Call:
    """Begin metering a request: attribution now, budget checks now, span opened.

    A `BudgetExceededError` from an opted-in budget propagates: it is the one exception
    wattmeter raises on purpose, and it is raised before anything is sent.
    """
    call = _new_call(provider, model, operation)
    if call.parent is not None:
        return call
    team, labels = call.team, call.labels
    for check in _checks:
        check(team, labels, provider, model, operation)
    try:
        for hook in _span_hooks:
            hook.start(call)
    except Exception as exc:
        internal_error("span_start", exc)
    for start in _start_hooks:
        try:
            start(call)
        except Exception as exc:
            internal_error("start_hook", exc)
    return call


def _new_call(provider: str, model: str, operation: str) -> Call:
    """A call attributed to the team and labels in force here, nested if one is running."""
    if not _state["wired"]:
        wire()
    team, labels = current_attribution()
    if team is None:
        team = _state["default_team"]
    return Call(provider, model, operation, team, labels, _current_call.get())


def record(usage: Usage) -> Footprint | None:
    """Meter a call that already happened: no budget check (it can't be refused any more)
    and no span around it, just the footprint handed to the sinks. Returns the footprint
    (computed now; None inside another metered call, which counts it)."""
    call = _new_call(usage.provider, usage.model, usage.operation)
    fp = call.finish(usage)
    if fp is None and call.parent is None and call.usage is not None:
        fp = call.footprint()
    return fp


def flush() -> int:
    """Process every call finished so far now, on this thread; returns how many.

    Metrics, OpenTelemetry metrics, the budget totals and `testing.capture` then include
    them (they are processed in the background within ~50 ms otherwise, and at exit).
    """
    return _queue.flush()


def add_sink(sink: Sink) -> None:
    """Receive `sink(footprint, call)` for every finished call (kept across `configure`),
    on wattmeter's background thread (or the thread calling `flush`)."""
    _extra_sinks.append(sink)
    receivers[0] = (*_sinks, *_extra_sinks)


def remove_sink(sink: Sink) -> None:
    """Stop a sink added with `add_sink`."""
    try:
        _extra_sinks.remove(sink)
    except ValueError:
        pass
    receivers[0] = (*_sinks, *_extra_sinks)


def add_start_hook(hook: Callable[[Call], None]) -> None:
    """Call `hook(call)` as every top-level call starts (after its budget check)."""
    _start_hooks.append(hook)
    replain()


def remove_start_hook(hook: Callable[[Call], None]) -> None:
    """Stop a hook added with `add_start_hook`."""
    try:
        _start_hooks.remove(hook)
    except ValueError:
        pass
    replain()


def replain() -> None:
    """Say whether calls may start without `start_call` (`plain`): after rewiring, a start
    hook added or removed, or the span hooks' tracer provider given or taken back."""
    gate: Callable[[], Any] | None = _NO_SPANS
    if not _state["wired"] or _checks or _start_hooks or len(_span_hooks) > 1:
        gate = None
    elif _span_hooks:
        try:
            gate = _span_hooks[0].start_gate()
        except Exception as exc:
            internal_error("span_gate", exc)
            gate = None
    plain[0] = None if gate is None else (_state["default_team"], gate)


def wire(config: _config.Config | None = None) -> None:
    """(Re)build sinks, checks and span hooks from the configuration.

    The calls already queued are processed first, by the receivers they finished under,
    so a manager being replaced gets them before it writes its last rows.
    """
    if _state["wired"]:
        try:
            _queue.flush()
        except Exception as exc:  # strict mode re-raises; rewiring must go on
            internal_error("queue", exc)
    cfg = config or _config.current()
    sinks: list[Sink] = []
    checks: list[Any] = []
    hooks: list[Any] = []
    # Each piece on its own: one failing (say, a ledger path that can't be opened) must
    # not switch the others off.
    if cfg.prometheus:
        try:
            from .export.prometheus import exporter

            sinks.append(exporter(cfg).record)
        except Exception as exc:
            internal_error("wire.prometheus", exc)
    if cfg.spans != "off" or cfg.otel_metrics:
        try:
            from .export.otel import SpanHooks, on_providers

            hooks.append(SpanHooks(cfg))
            on_providers(replain)  # a tracer provider given later ends the plain path
        except Exception as exc:
            internal_error("wire.otel", exc)
    if cfg.budgets or cfg.ledger_always:
        try:
            from .budget import manager

            publish: Any = None
            if cfg.prometheus:  # the budget layer doesn't import the exporter: we wire it
                from .export.prometheus import set_budget_status

                publish = set_budget_status
            mgr = manager(cfg, publish=publish)
            checks.append(mgr.check)
            sinks.append(mgr.record)
        except Exception as exc:
            internal_error("wire.budgets", exc)
    _sinks[:] = sinks
    receivers[0] = (*_sinks, *_extra_sinks)
    _checks[:] = checks
    _span_hooks[:] = hooks
    _state["default_team"] = cfg.default_team
    _state["wired"] = True
    replain()
    prepare()


def prepare() -> None:
    """Start the record thread, which first computes one footprint, loading the estimate's
    modules and data files before traffic arrives (`wire()`, and `instrument()`, which
    doesn't wire; `_queue.start`)."""
    _queue.start(functools.partial(footprint_for, Usage("openai", "gpt-4o-mini", "chat"),
                                   team="default", labels={}))


def _parse_budgets(value: Any) -> Any:
    from .budget import parse_budgets

    return parse_budgets(value)


# The meter core wires the layers: configuration parses budgets with the budget layer's
# parser, and budgets publish through the exporter, without either importing the other.
_config.register_parser("budgets", _parse_budgets)
_config.on_change(wire)
_queue.set_drainer(_drain)
