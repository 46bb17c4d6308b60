"""One configuration schema, three sources: code, ``WATTMETER_*`` env vars, TOML files.

Precedence, highest first: ``configure(**options)`` in code, then environment variables,
then ``[tool.wattmeter]`` in ``pyproject.toml`` or a ``wattmeter.toml`` (top-level keys)
found in the working directory, then the defaults below. Every value is validated when it
is set, with an error naming the option, the bad value and the valid form.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from . import _config_checks as _checks
from ._guard import count_error, logger

__all__ = [
    "NOT_OPTIONS",
    "OPTIONS",
    "Config",
    "Option",
    "check",
    "configure",
    "current",
    "register_parser",
    "reset",
    "sources",
    "validate",
]


class Option(NamedTuple):
    """One configuration option: its type, default, how to check it, what it means."""

    name: str
    kind: str  # "str", "url", "int", "float", "bool", "choice", "list", "budgets", "mapping"
    default: Any
    help: str
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    optional: bool = False
    maximum: float | None = None
    secret: bool = False


def _opt(name: str, kind: str, default: Any, help: str, **kw: Any) -> Option:
    return Option(name, kind, default, help, **kw)


OPTIONS: dict[str, Option] = {
    o.name: o
    for o in (
        _opt("default_team", "str", "default",
             "Team for calls made outside any attribute() block."),
        _opt("grid_zone", "str", None, "Grid zone (ISO country or cloud region) for every call; "
             "default: the provider's own.", optional=True),
        _opt("grid_intensity", "float", None, "Explicit grid carbon intensity in gCO2e/kWh for "
             "every call; overrides grid_zone.", optional=True, minimum=0.0, maximum=5000.0),
        _opt("pue", "float", None, "Power usage effectiveness for every call; default: the "
             "provider's own.", optional=True, minimum=1.0, maximum=5.0),
        _opt("live_intensity", "bool", False, "Fetch grid intensity from Electricity Maps "
             "(needs electricity_maps_token); the static table is the fallback."),
        _opt("electricity_maps_token", "str", None, "Electricity Maps API token.",
             optional=True, secret=True),
        _opt("electricity_maps_url", "url", "https://api.electricitymap.org/v3",
             "Electricity Maps API base URL."),
        _opt("live_intensity_ttl_s", "float", 900.0, "Seconds a live intensity is cached.",
             minimum=1.0, maximum=86_400.0),
        _opt("live_intensity_timeout_s", "float", 2.0, "Timeout of one live-intensity request.",
             minimum=0.01, maximum=60.0),
        _opt("prometheus", "bool", True, "Count every call in Prometheus metrics."),
        _opt("metrics_port", "int", None, "Serve /metrics on this port (0: any free port); "
             "default: don't serve.", optional=True, minimum=0, maximum=65_535),
        _opt("metrics_host", "str", "127.0.0.1", "Address the /metrics server binds to."),
        _opt("max_label_values", "int", 200, "Distinct values per metric label before new "
             "values are counted as '__overflow__'.", minimum=1, maximum=1_000_000),
        _opt("metric_labels", "list", (), "Attribution labels (e.g. feature) also exported "
             "as Prometheus metric labels; bounded by max_label_values."),
        _opt("spans", "choice", "auto", "auto: enrich the current GenAI span or make one; "
             "enrich: only enrich; create: always make one; off: no spans.",
             choices=("auto", "enrich", "create", "off")),
        _opt("otel_metrics", "bool", False, "Also record OpenTelemetry metrics through the "
             "global MeterProvider."),
        _opt("stream_usage", "bool", True, "Ask OpenAI-style streams for a usage chunk "
             "(stream_options.include_usage) and hide it from user code."),
        _opt("requests_base_urls", "list", (), "Base URLs of OpenAI-compatible endpoints "
             "called with plain requests that should be metered."),
        _opt("budgets", "budgets", (), "Budgets: a list of Budget objects or tables "
             "(team, limit, period, labels, actions)."),
        _opt("ledger", "choice", "sqlite", "Where budget consumption is read: sqlite (this "
             "host) or prometheus (the fleet).", choices=("sqlite", "prometheus")),
        _opt("ledger_always", "bool", False, "Write every call to the SQLite ledger even "
             "with no budgets configured, for `wattmeter report`."),
        _opt("ledger_path", "str", "wattmeter-ledger.sqlite3", "SQLite ledger file."),
        _opt("ledger_flush_s", "float", 0.5, "Seconds between ledger writes and budget "
             "refreshes (a SIGKILL loses at most this much unwritten use).", minimum=0.01,
             maximum=3600.0),
        _opt("ledger_max_label_values", "int", 100, "Values of each label the ledger keeps "
             "by name per UTC day (the top ones by energy); the rest are stored as "
             "'__other__'. Values a budget narrows on are always kept.", minimum=1,
             maximum=1_000_000),
        _opt("prometheus_url", "url", None, "Prometheus HTTP API base URL for fleet budgets.",
             optional=True),
        _opt("fleet_ttl_s", "float", 30.0, "Seconds fleet consumption is cached.", minimum=0.0,
             maximum=86_400.0),
        _opt("fleet_timeout_s", "float", 2.0, "Total deadline of one Prometheus query for "
             "fleet budgets, from connecting to the last byte.", minimum=0.01, maximum=600.0),
        _opt("fail_closed", "bool", False, "Refuse calls when budget consumption can't be "
             "verified (only for budgets with the raise action)."),
        _opt("timezone", "str", "UTC", "Time zone of calendar budget periods (IANA name)."),
        _opt("webhook_url", "url", None, "Default HTTP webhook for budget events.",
             optional=True),
        _opt("deployments", "mapping", {}, "Per-provider deployment overrides (gpu, gpus, "
             "batch_size, pue, zone, regime, kv_cache), e.g. "
             "{'self-hosted': {'gpu': 'H100', 'gpus': 2, 'kv_cache': 'fp8'}}."),
        _opt("regime", "choice", "auto", "Serving regime of every call: auto (provider fleets "
             "for provider-served calls, tuned for self-hosted), provider, tuned or naive.",
             choices=("auto", "provider", "tuned", "naive")),
        _opt("provider_hosts", "mapping", {}, "Provider name for OpenAI-compatible (and other) "
             "base URL hosts, e.g. {'llm.internal': 'self-hosted', 'api.example.com': 'groq'}; "
             "a key also matches subdomains. Unlisted localhost/private hosts are 'self-hosted'."),
    )
}

#: Parsers of option kinds owned by higher layers, registered by them ("budgets").
_parsers: dict[str, Callable[[Any], Any]] = {}


def register_parser(kind: str, parser: Callable[[Any], Any]) -> None:
    """Let a higher layer parse the values of one option kind (e.g. "budgets")."""
    _parsers[kind] = parser


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _bad(name: str, value: Any, form: str) -> ValueError:
    return _checks.bad(name, value, form)


def validate(name: str, value: Any, *, from_text: bool = False) -> Any:
    """Check one option's value (parsing it when it comes from text) and return it."""
    opt = OPTIONS.get(name)
    if opt is None:
        import difflib

        close = difflib.get_close_matches(name, OPTIONS, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(
            f"unknown wattmeter option {name!r}.{hint} Valid options: {', '.join(sorted(OPTIONS))}"
        )
    if value is None or (from_text and value == "" and opt.optional):
        if opt.optional:
            return None
        raise _bad(name, value, f"a {opt.kind} value (this option can't be empty)")
    kind = opt.kind
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise _bad(name, value, "true or false")
    if kind in ("int", "float"):
        num = _checks.number(name, value, kind, opt.minimum, opt.maximum)
        return int(num) if kind == "int" else num
    if kind == "url":
        return _checks.url(name, value)
    if kind == "str":
        if name == "grid_zone":
            return _checks.grid_zone(name, value)
        text = _checks.text(name, value)
        if name == "timezone":
            _check_timezone(text)
        return text
    if kind == "choice":
        if not isinstance(value, str) or value not in opt.choices:
            raise _bad(name, value, "one of " + ", ".join(repr(c) for c in opt.choices))
        return value
    if kind == "list":
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise _bad(name, value, "a list of strings (or comma-separated text)")
        if name == "requests_base_urls":
            return tuple(_checks.url(name, v) for v in value)
        if name == "metric_labels" and not all(v.isidentifier() and v.isascii() for v in value):
            raise _bad(name, value, "label names such as ['feature'] (letters, digits, _)")
        return tuple(_checks.text(name, v) for v in value)
    if kind == "mapping":
        if isinstance(value, str):
            import json

            try:
                value = json.loads(value)
            except ValueError:
                raise _bad(name, value, "a JSON object") from None
        if not isinstance(value, Mapping):
            raise _bad(name, value, "a mapping (a TOML table or JSON object)")
        if name == "deployments":
            return _checks.deployments(name, value)
        if name == "provider_hosts":
            return _checks.provider_hosts(name, value)
        return dict(value)
    if kind == "budgets":
        # The budget layer sits above configuration and registers its parser
        # (`register_parser`), so data flows one way: budget -> _config, never back.
        try:
            return tuple(_parsers[kind](value))
        except ValueError:
            raise
        except Exception as exc:  # a TypeError or KeyError from a malformed table
            raise _bad(name, value, "a list of budget tables with team, limit and "
                       f"period ({type(exc).__name__}: {exc})") from None
    raise AssertionError(kind)  # pragma: no cover


def _check_timezone(value: str) -> None:
    try:
        from zoneinfo import ZoneInfo

        ZoneInfo(value)
    except Exception:
        raise _bad("timezone", value, "an IANA time zone name such as 'UTC' or "
                   "'Europe/Paris'") from None


class Config:
    """The effective configuration; read options as attributes, e.g. ``current().pue``."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.origin: dict[str, str] = {}

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["values"][name]
        except KeyError:
            raise AttributeError(name) from None


#: WATTMETER_* variables that are not options (read elsewhere), so no did-you-mean warning.
NOT_OPTIONS = frozenset({"WATTMETER_STRICT", "WATTMETER_EXAMPLE_BASE_URL"})
_reported: set[str] = set()


def _read_files(cwd: Path) -> tuple[dict[str, Any], str]:
    """The options of ``wattmeter.toml`` or ``[tool.wattmeter]``, and the file's path."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    for fname, table in (("wattmeter.toml", None), ("pyproject.toml", ("tool", "wattmeter"))):
        path = cwd / fname
        if not path.is_file():
            continue
        try:
            with path.open("rb") as fh:
                data: Any = tomllib.load(fh)
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ValueError(f"{path}: not valid TOML ({exc}); fix or remove the file") from None
        for depth, key in enumerate(table or ()):
            data = data.get(key, {})
            if not isinstance(data, dict):
                where = ".".join((table or ())[: depth + 1])
                raise ValueError(f"{path}: {where} = {data!r}; expected a table such as "
                                 "[tool.wattmeter] with one option per line")
        if data:
            return dict(data), str(path)
    return {}, ""


def _report(message: str) -> None:
    """Log a configuration fault found at call time once and count it; the call goes on."""
    count_error("config")
    if message not in _reported:
        _reported.add(message)
        logger.error("wattmeter configuration: %s; using the default for it instead", message)


def _unknown_env(key: str) -> None:
    """Warn once about a ``WATTMETER_*`` variable that is no option (a typo, usually)."""
    if key in NOT_OPTIONS or key in _reported:
        return
    import difflib

    _reported.add(key)
    known = [f"WATTMETER_{n.upper()}" for n in OPTIONS]
    close = difflib.get_close_matches(key, known, n=1)
    hint = f"; did you mean {close[0]}?" if close else "; `wattmeter config` lists the options"
    logger.warning("wattmeter: environment variable %s is not a wattmeter option (ignored)%s",
                   key, hint)


def _load(code: Mapping[str, Any], cwd: Path | None = None, *, strict: bool = True) -> Config:
    """The configuration from defaults, files, env and `code`, each value validated.

    Strict (``configure()``, ``instrument()``, the CLI): the first bad value raises a
    `ValueError` naming option, source and valid form. Lenient (the first metered call):
    a bad value is logged once and counted, and the option keeps its lower-precedence value.
    """
    cfg = Config()
    for name, opt in OPTIONS.items():
        cfg.values[name] = opt.default
        cfg.origin[name] = "default"

    def put(name: str, value: Any, origin: str, from_text: bool = False) -> None:
        try:
            cfg.values[name] = validate(name, value, from_text=from_text)
            cfg.origin[name] = origin
        except ValueError as exc:
            message = f"{exc} (set in {'configure()' if origin == 'code' else origin})"
            if strict:
                raise ValueError(message) from None
            _report(message)

    try:
        file_values, file_name = _read_files(cwd or Path.cwd())
    except ValueError as exc:
        if strict:
            raise
        _report(str(exc))
        file_values, file_name = {}, ""
    for name, value in file_values.items():
        put(str(name).replace("-", "_"), value, file_name)
    for key, value in os.environ.items():
        if key.startswith("WATTMETER_"):
            name = key[len("WATTMETER_"):].lower()
            if name in OPTIONS:
                put(name, value, f"env {key}", from_text=True)
            else:
                _unknown_env(key)
    for name, value in code.items():
        put(name, value, "code")
    return cfg


_code_options: dict[str, Any] = {}
_current: Config | None = None
_listeners: list[Callable[[Config], None]] = []


def configure(**options: Any) -> Config:
    """Set options in code (highest precedence) and return the effective configuration.

    Calling it again adds to or replaces earlier code options; values are validated now,
    so a typo fails here rather than on the first metered call.
    """
    global _current
    merged = {**_code_options, **options}
    cfg = _load(merged, strict=True)
    _code_options.clear()
    _code_options.update(merged)
    _current = cfg
    for listener in list(_listeners):
        listener(cfg)
    return cfg


def current() -> Config:
    """The effective configuration, loaded from env and files on first use.

    Loading here never raises (it may run on a user's call): a bad value from the env or a
    file is logged once and its option keeps its default. ``configure()`` and `check()`
    raise instead.
    """
    global _current
    cfg = _current
    if cfg is None:
        cfg = _current = _load(_code_options, strict=False)
    return cfg


def check() -> Config:
    """Load the configuration strictly: a bad value from any source raises `ValueError`
    naming option, source and valid form (``instrument()`` and the CLI call this)."""
    return _load(_code_options, strict=True)


def reset(*, forget_reported: bool = True) -> None:
    """Forget code options and reload on next use (for tests). With
    ``forget_reported=False`` faults already warned about (a mistyped variable) stay quiet."""
    global _current
    _code_options.clear()
    _current = None
    if forget_reported:
        _reported.clear()  # a fresh load reports its faults once again
    for listener in list(_listeners):
        listener(current())


def on_change(listener: Callable[[Config], None]) -> None:
    """Call `listener(config)` whenever the configuration changes."""
    _listeners.append(listener)


def sources() -> list[tuple[str, Any, str]]:
    """(option, effective value, where it came from) for every option; secrets masked."""
    cfg = current()
    rows = []
    for name, opt in OPTIONS.items():
        value = cfg.values[name]
        if opt.secret and value:
            value = "***"
        rows.append((name, value, cfg.origin[name]))
    return rows
