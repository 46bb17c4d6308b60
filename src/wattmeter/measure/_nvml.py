"""In-process measurement: NVML's total-energy counter (nvidia-ml-py's ``pynvml``) read on
a background thread, attributed to the ``@meter(measure="nvml")`` calls of this process.

A poller reads ``nvmlDeviceGetTotalEnergyConsumption`` (mJ since the driver loaded) of
every visible GPU every `interval_s`; the calls metered with ``measure="nvml"`` are one
pseudo-endpoint whose windows the `Attributor` closes like any other, so concurrent calls
on the devices split their energy. Without nvidia-ml-py or a GPU it says so once and the
calls keep their estimates.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from .._guard import count_error, logger
from ._attributor import Attributor
from ._endpoints import Endpoint
from ._outputs import metrics_for
from ._series import Series, seconds

__all__ = ["URL", "NvmlSource", "attributor", "nvml_marker", "reset"]

#: The pseudo-endpoint of in-process NVML calls (no real call has this address).
URL = "http://nvml.wattmeter.invalid"
_state: dict[str, Any] = {"attributor": None, "said": False}
_lock = threading.Lock()


class NvmlSource:
    """Samples of every visible GPU's NVML energy counter, polled on a daemon thread."""

    def __init__(self, nvml: Any, *, interval_s: float = 0.05, retention_s: float = 300.0,
                 clock: Callable[[], float] = time.time) -> None:
        interval_s = seconds("interval_s", interval_s, hi=3600.0)
        retention_s = seconds("retention_s", retention_s, hi=7 * 86_400.0)
        self.nvml = nvml
        nvml.nvmlInit()
        n = int(nvml.nvmlDeviceGetCount())
        if n <= 0:
            raise RuntimeError("NVML sees no GPU")
        self.handles = [nvml.nvmlDeviceGetHandleByIndex(i) for i in range(n)]
        self.interval_s, self.retention_s, self.clock = interval_s, retention_s, clock
        self.samples: list[deque[tuple[float, float]]] = [deque() for _ in self.handles]
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.poll()
        self._thread = threading.Thread(target=self._run, name="wattmeter-nvml", daemon=True)
        self._thread.start()

    def poll(self) -> None:
        now = self.clock()
        values = [float(self.nvml.nvmlDeviceGetTotalEnergyConsumption(h)) for h in self.handles]
        with self._lock:
            for d, v in zip(self.samples, values, strict=True):
                if math.isfinite(v) and v >= 0.0:  # else no sample: the window falls back
                    d.append((now, v / 1000.0))  # mJ -> J
                while d and d[0][0] < now - self.retention_s:
                    d.popleft()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.poll()
            except Exception:  # a driver hiccup: a gap the windows will see
                count_error("measure_nvml_read")
        try:  # stopped: release the library (NVML counts its inits), after the last read
            self.nvml.nvmlShutdown()
        except Exception:
            count_error("measure_nvml_read")

    def check_clock(self) -> None:
        """Samples are stamped by this process' clock: no skew."""

    def read(self, ep: Endpoint, t0: float, t1: float, lookback_s: float) -> tuple[
            list[Series], str]:
        with self._lock:
            out = [Series(f"local/{i}", {"gpu": str(i)}, [t for t, _ in d], [j for _, j in d])
                   for i, d in enumerate(self.samples)]
        return out, "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION"

    def stop(self) -> None:
        self._stop.set()


def _load() -> Any:
    import pynvml  # nvidia-ml-py (the `nvml` extra)

    return pynvml


def nvml_marker(window_s: float = 1.0) -> Callable[[Any], None] | None:
    """The hook `@meter(measure="nvml")` calls with each new call, starting the process'
    NVML attributor on first use; None (said once) without nvidia-ml-py or a GPU."""
    with _lock:
        att = _state["attributor"]
        if att is None:
            try:
                source = NvmlSource(_load())
            except Exception as exc:
                if not _state["said"]:
                    _state["said"] = True
                    logger.warning("wattmeter: @meter(measure='nvml') can't read NVML (%s: "
                                   "%s); those calls are estimated. Install the 'nvml' extra "
                                   "(nvidia-ml-py) on a machine with an NVIDIA GPU.",
                                   type(exc).__name__, exc)
                count_error("measure_no_gpu")
                return None
            ep = Endpoint(URL, gpus={"gpu": [str(i) for i in range(
                len(source.handles))]}, name="nvml")
            att = Attributor(source, [ep], window_s=window_s, settle_s=0.1,
                             max_gap_s=1.0, calibrate=False, match=_take,
                             metrics=metrics_for())
            att.start(poll_s=min(window_s / 4, 0.25))
            _state["attributor"] = att
    return _mark


#: id -> (the call, its endpoint key): the call is held so a freed call's id, reused by an
#: unrelated call, is never charged NVML energy.
_marked: dict[int, tuple[Any, tuple[str | None, int | None]]] = {}


def _mark(call: Any) -> None:
    att = _state["attributor"]
    if att is not None:
        _marked[id(call)] = (call, att.endpoints[0].key)


def _take(call: Any) -> tuple[str | None, int | None] | None:
    entry = _marked.pop(id(call), None)
    return entry[1] if entry is not None and entry[0] is call else None


def attributor() -> Attributor | None:
    """The running NVML attributor, if any (tests read its results)."""
    return _state["attributor"]


def reset() -> None:
    """Stop the NVML attributor and forget it (tests; after the devices changed)."""
    with _lock:
        att = _state["attributor"]
        _state["attributor"] = None
        _state["said"] = False
        _marked.clear()
    if att is not None:
        att.stop()
