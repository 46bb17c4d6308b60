"""In-process measurement: ``@meter(measure="nvml")`` through a fake library with
nvidia-ml-py's interface, without NVML at all, and for real where a GPU exists."""

from __future__ import annotations

import math
import sys
import threading
import time
import types
from collections.abc import Iterator
from typing import Any

import pytest

import wattmeter
from wattmeter._usage import Usage
from wattmeter.measure import _nvml

MODEL = "meta-llama/Llama-3.1-8B-Instruct"


class FakeNvml(types.ModuleType):
    """pynvml's calls wattmeter uses; each device draws `watts` (mJ counters since init)."""

    def __init__(self, devices: int = 2, watts: float = 250.0) -> None:
        super().__init__("pynvml")
        self.devices, self.watts = devices, watts
        self.t0 = time.time()

    def nvmlInit(self) -> None:
        self.inits = getattr(self, "inits", 0) + 1

    def nvmlShutdown(self) -> None:
        self.inits -= 1

    def nvmlDeviceGetCount(self) -> int:
        return self.devices

    def nvmlDeviceGetHandleByIndex(self, i: int) -> int:
        return i

    def nvmlDeviceGetTotalEnergyConsumption(self, handle: int) -> int:
        return int((time.time() - self.t0) * self.watts * 1000)  # mJ


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeNvml]:
    lib = FakeNvml()
    monkeypatch.setitem(sys.modules, "pynvml", lib)
    _nvml.reset()
    yield lib
    _nvml.reset()


def test_concurrent_calls_split_the_devices_energy(fake: FakeNvml) -> None:
    @wattmeter.meter(model=MODEL, measure="nvml")
    def generate(tokens: int) -> Usage:
        time.sleep(0.1)
        return Usage("self-hosted", MODEL, "chat", input_tokens=100, output_tokens=tokens)

    att = _nvml.attributor()
    assert att is not None
    got: list[Any] = []
    att.receivers.append(lambda fp, prov, call: got.append(fp))
    threads = [threading.Thread(target=generate, args=(n,)) for n in (50, 150, 100)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done = time.time()
    deadline = time.monotonic() + 20
    while len(got) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(got) == 3 and {fp.method for fp in got} == {"measured"}
    busy = [r for r in att.results if r.reason is None and r.calls]
    assert busy and all(r.end <= done + att.window_s for r in busy)
    per_call = math.fsum(fp.accelerator_wh * 3600 for fp in got)
    assert per_call == pytest.approx(math.fsum(r.attributed_j for r in att.results), rel=0.02)
    # the biggest call (most output tokens, same duration) gets the biggest share
    assert max(got, key=lambda fp: fp.output_tokens).accelerator_wh == max(
        fp.accelerator_wh for fp in got)


def test_without_nvml_it_says_so_once_and_estimates(monkeypatch: pytest.MonkeyPatch,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import fails
    _nvml.reset()
    from wattmeter.testing import capture

    @wattmeter.meter(model=MODEL, measure="nvml")
    def a() -> dict[str, int]:
        return {"input_tokens": 10, "output_tokens": 10}

    @wattmeter.meter(model=MODEL, measure="nvml")
    def b() -> dict[str, int]:
        return {"input_tokens": 10, "output_tokens": 10}

    with capture() as fps:
        a()
        b()
    assert [fp.method for fp in fps] == ["estimated", "estimated"]
    assert caplog.text.count("can't read NVML") == 1
    assert _nvml.attributor() is None
    _nvml.reset()


def test_measure_must_be_nvml_or_none() -> None:
    with pytest.raises(ValueError, match="measure="):
        wattmeter.meter(model=MODEL, measure="dcgm")


def test_on_a_real_gpu() -> None:
    pynvml = pytest.importorskip("pynvml")
    try:
        pynvml.nvmlInit()
        if pynvml.nvmlDeviceGetCount() < 1:
            pytest.skip("no NVIDIA GPU")
        pynvml.nvmlDeviceGetTotalEnergyConsumption(pynvml.nvmlDeviceGetHandleByIndex(0))
    except Exception as exc:  # no driver, or a GPU without the energy counter
        pytest.skip(f"NVML unusable here: {exc}")
    _nvml.reset()

    @wattmeter.meter(model=MODEL, measure="nvml")
    def work() -> Usage:
        time.sleep(0.5)
        return Usage("self-hosted", MODEL, "chat", input_tokens=10, output_tokens=100)

    att = _nvml.attributor()
    assert att is not None
    got: list[Any] = []
    att.receivers.append(lambda fp, prov, call: got.append(fp))
    work()
    deadline = time.monotonic() + 20
    while not got and time.monotonic() < deadline:
        time.sleep(0.05)
    _nvml.reset()
    assert got and got[0].method == "measured" and got[0].accelerator_wh > 0


def test_a_stopped_source_releases_nvml(fake: FakeNvml) -> None:
    source = _nvml.NvmlSource(fake, interval_s=0.01)
    assert fake.inits == 1
    source.stop()
    source._thread.join(2.0)
    assert fake.inits == 0


@pytest.mark.parametrize("field", ["interval_s", "retention_s"])
@pytest.mark.parametrize("bad", [0, -1.0, float("nan"), float("inf"), "1", True])
def test_nvml_source_numbers_are_checked(fake: FakeNvml, field: str, bad: object) -> None:
    with pytest.raises(ValueError, match=rf"{field}: got .*expected seconds"):
        _nvml.NvmlSource(fake, **{field: bad})  # type: ignore[arg-type]
