"""Serving regimes (issue 17): which regime a call gets, what it changes, its validation,
the call's date, the boundary and method version on every footprint, and the benchmarks
that check the regimes against published figures and production-serving data."""

from __future__ import annotations

import datetime as dt
import math
import random
import statistics
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from scripts_helpers import load_script

import wattmeter
from wattmeter import Deployment, ModelSpec, estimate
from wattmeter._usage import Usage
from wattmeter._version import METHOD_VERSION
from wattmeter.estimate import _anchor, _api, _regime, footprint_for
from wattmeter.estimate._resolve import resolve

ROOT = Path(__file__).resolve().parents[2]
CHAT = {"input_tokens": 400, "output_tokens": 400}


def _bench(name: str) -> ModuleType:
    return load_script(f"benchmarks/{name}.py")


def test_defaults_provider_for_served_models_tuned_for_self_hosted() -> None:
    fp = estimate("gpt-4o", "openai", **CHAT)
    assert (fp.regime, fp.boundary, fp.method_version) == (
        "provider", "comprehensive", METHOD_VERSION)
    assert estimate("gpt-4o", **CHAT).regime == "provider"  # closed: only its provider
    assert estimate("meta-llama/Llama-3.1-8B-Instruct", "self-hosted", **CHAT).regime == "tuned"
    # an open-weight model named without a provider could run anywhere: no fleet implied
    assert estimate("meta-llama/Llama-3.1-8B-Instruct", **CHAT).regime == "tuned"
    spec = estimate(ModelSpec(70.0), deployment=Deployment(gpu="H100", gpus=4, batch_size=64),
                    **CHAT)
    assert (spec.regime, spec.boundary) == ("tuned", "facility")
    # a deployment that names its hardware is a self-hosted replica, whoever the provider
    assert estimate("gpt-4o", "openai", deployment=Deployment(gpu="H100"), **CHAT
                    ).regime == "tuned"
    assert "regime" in fp.to_dict() and fp.to_dict()["boundary"] == "comprehensive"


def test_naive_diffusion_range_draws_its_fp32_efficiency(monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    """The naive kernels' uncertain constant (FP32 matrix multiplies at 0.4-0.8 of the CUDA
    cores' peak) is drawn in the interval: with its range collapsed the interval is
    narrower (each draw once reused the first draw's naive constant)."""
    from wattmeter.estimate import _api, _regime

    dep = Deployment(gpu="A100", regime="naive")
    sdxl = "stabilityai/stable-diffusion-xl-base-1.0"
    drawn = estimate(sdxl, operation="image", deployment=dep)
    fixed = dict(_regime.naive_constants())
    fixed["fp32_gemm_eff_low"] = fixed["fp32_gemm_eff_high"] = fixed["fp32_gemm_eff"]
    monkeypatch.setattr(_regime, "naive_constants", lambda: fixed)
    _api.clear_cache()
    try:
        one = estimate(sdxl, operation="image", deployment=dep)
    finally:
        monkeypatch.undo()
        _api.clear_cache()
    assert drawn.accelerator_wh == pytest.approx(one.accelerator_wh)  # the central: 0.6
    assert (drawn.accelerator_wh_high / drawn.accelerator_wh_low
            > 1.2 * one.accelerator_wh_high / one.accelerator_wh_low)


def test_regime_chosen_on_deployment_or_configuration() -> None:
    dep = Deployment(gpu="A100", regime="naive")
    naive = estimate(ModelSpec(3.0), input_tokens=100, output_tokens=10, deployment=dep)
    tuned = estimate(ModelSpec(3.0), input_tokens=100, output_tokens=10,
                     deployment=Deployment(gpu="A100", gpus=1, batch_size=1))
    assert (naive.regime, tuned.regime) == ("naive", "tuned")
    # FP32 and eager kernels on the busy GPU; the node's 7 idle GPUs and host on top
    assert naive.accelerator_wh > 2 * tuned.accelerator_wh
    assert naive.server_wh / naive.accelerator_wh > 2 * tuned.server_wh / tuned.accelerator_wh
    wattmeter.configure(regime="tuned")
    assert estimate("gpt-4o", "openai", **CHAT).regime == "tuned"
    assert estimate("gpt-4o", "openai", deployment=Deployment(regime="provider"), **CHAT
                    ).regime == "provider"  # the Deployment's field beats configuration
    wattmeter.configure(regime="naive")
    assert estimate("gpt-4o", "openai", **CHAT).regime == "naive"


def test_regime_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATTMETER_REGIME", "tuned")
    wattmeter._config.reset()
    assert estimate("gpt-4o", "openai", **CHAT).regime == "tuned"


def test_bad_regime_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"deployment\.regime.*'provider', 'tuned', 'naive'"):
        estimate("gpt-4o", "openai", deployment=Deployment(regime="fast"), **CHAT)
    with pytest.raises(ValueError, match=r"'regime'.*'auto', 'provider', 'tuned', 'naive'"):
        wattmeter.configure(regime="fast")
    with pytest.raises(ValueError, match=r"deployment\.regime"):
        wattmeter.configure(deployments={"openai": {"regime": "cheap"}})


def test_provider_regime_is_the_same_physics_with_other_inputs() -> None:
    """Mechanisms, not a multiplier: speculation and cached input change the provider
    estimate through the text physics' own terms."""
    rp = _regime.provider_regime("deepseek")
    from wattmeter.estimate._hardware import gpu, precision
    from wattmeter.estimate._physics import constants

    kt = _regime.fleet_constants(constants("text"))
    args = (671.0, 37.0, precision("fp8"), gpu("H100"), kt, {}, rp, 30.0)
    plain = _regime.provider_text(*args, 0.0, 0.0)
    mtp = _regime.provider_text(*args, 0.0, 0.9)
    cached = _regime.provider_text(*args, 0.5, 0.0)
    # ~1.9 tokens per step: fewer GPU-seconds per token (the replica chosen under the
    # target may differ in size, so compare GPU-seconds, not one GPU's step time)
    assert mtp.mem0 * mtp.gpus < plain.mem0 * plain.gpus
    assert mtp.t0 * mtp.gpus < plain.t0 * plain.gpus
    assert cached.pre_j_tok < plain.pre_j_tok and cached.mem0 == plain.mem0
    assert plain.batch > 16 and plain.gpus >= 8  # a fleet batch under the target, not 128


def test_provider_speech_costs_its_tokens_on_the_fleet() -> None:
    """Speech out of a provider's language model (gpt-realtime, Gemini TTS and Live) is
    that fleet's decoding of its audio tokens: it used the single-replica physics at batch
    32 on a drawn GPU, 14x (gpt-realtime) to 48x (Gemini 3.5 Live Translate) what the same
    tokens cost in chat on the same fleet."""
    from wattmeter.estimate._physics import constants

    ks = constants("speech")
    chars = 300
    tokens = chars / ks["chars_per_second"] * ks["audio_tokens_per_second"]
    for name in ("gpt-realtime", "gemini-3.5-live-translate", "gemini-2.5-flash-tts"):
        speech = estimate(name, operation="speech", characters=chars)
        chat = estimate(name, operation="chat", input_tokens=chars // 4,
                        output_tokens=int(tokens))
        assert speech.regime == chat.regime == "provider"
        assert chat.energy_wh * 0.999 <= speech.energy_wh < 1.3 * chat.energy_wh, name
        assert speech.energy_wh_high / speech.energy_wh_low < 15, name


def test_self_hosted_speech_draws_the_same_replica_as_chat() -> None:
    """Speech is a decoder like chat: with no deployment given it drew no GPU, count or
    batch (a nominal H100 replica at batch 32), and gpt-realtime in the tuned regime read
    4.2x the same tokens as chat."""
    for name in ("gpt-realtime", "hexgrad/Kokoro-82M"):
        dep = Deployment(regime="tuned")
        speech = estimate(name, operation="speech", characters=300, deployment=dep)
        chat = estimate(name, operation="chat", input_tokens=75, output_tokens=1500,
                        deployment=dep)
        assert speech.energy_wh == pytest.approx(chat.energy_wh, rel=0.05), name


def test_a_fleet_makes_speech_at_least_as_fast_as_it_plays() -> None:
    from wattmeter.estimate._kinds import realtime as _realtime
    from wattmeter.estimate._physics import constants

    floor = constants("speech")["audio_tokens_per_second"]
    assert _realtime("speech", (30.0, 0.5, 0.2)) == (floor, 0.5, 0.2)
    assert _realtime("speech", (400.0, 0.5, 0.2))[0] == 400.0
    assert _realtime("text", (30.0, 0.5, 0.2)) == (30.0, 0.5, 0.2)


def test_naive_regime_models_every_kind() -> None:
    """Speech, transcription (LLM and Whisper-style) and embeddings asked for `naive` were
    estimated with the tuned physics and labelled naive: now library-default kernels at
    batch 1 on a node whose other accelerators and host are counted, like chat."""
    a100 = {"gpu": "A100"}
    for name, call in (
            ("hexgrad/Kokoro-82M", {"operation": "speech", "characters": 300}),
            ("openai/whisper-large-v3", {"operation": "transcription", "audio_seconds": 60}),
            ("mistralai/Voxtral-Mini-3B-2507", {"operation": "transcription",
                                                "audio_seconds": 60}),
            ("BAAI/bge-m3", {"operation": "embeddings", "input_tokens": 1000})):
        tuned = estimate(name, deployment=Deployment(**a100), **call)
        naive = estimate(name, deployment=Deployment(**a100, regime="naive"), **call)
        assert naive.regime == "naive", name
        assert naive.accelerator_wh > 5 * tuned.accelerator_wh, name  # FP32, batch 1
        assert naive.server_wh > 2 * naive.accelerator_wh, name  # the idle node and host
        assert naive.energy_wh_low < naive.energy_wh < naive.energy_wh_high, name


def test_speculation_runs_only_where_it_pays() -> None:
    """A fleet drafts only when that gives more tokens per accelerator-second at its target:
    at an acceptance near 0 verifying four tokens per step would cost more than it gains,
    so the replica runs without speculation (and its draft cost), as at acceptance 0."""
    from wattmeter.estimate._hardware import gpu, precision
    from wattmeter.estimate._physics import constants

    rp = _regime.provider_regime("mistral")
    kt = _regime.fleet_constants(constants("text"))
    args = (123.0, 123.0, precision("bf16"), gpu("H100"), kt, {}, rp, 50.0, 0.0)
    off, low, high = (_regime.provider_text(*args, a) for a in (0.0, 0.02, 0.6))
    assert low == off  # no verify cost, no draft cost
    from wattmeter.estimate import _text
    assert _text.decode_j(high, 400, 400) < 0.8 * _text.decode_j(off, 400, 400)


def test_frontier_models_narrower_under_their_provider() -> None:
    """p95/p5 of facility energy of registered frontier models with the provider given
    (issue 17 asks <= x10; see docs/regimes.md for where each stands)."""
    widths = {}
    for model, provider in (("gpt-4o", "openai"), ("gpt-4.1", "openai"),
                            ("claude-sonnet-4", "anthropic"), ("gemini-2.5-flash", "google"),
                            ("gemini-2.5-pro", "google"), ("mistral-large-2407", "mistral"),
                            ("deepseek-chat", "deepseek")):
        fp = estimate(model, provider, **CHAT)
        assert fp.energy_wh_low < fp.energy_wh < fp.energy_wh_high
        widths[model] = fp.energy_wh_high / fp.energy_wh_low
    for model in ("deepseek-chat", "mistral-large-2407", "gpt-4o", "gpt-4.1",
                  "gemini-2.5-flash", "gemini-2.5-pro"):
        assert widths[model] <= 10, widths
    # Anthropic discloses nothing (x13.7; docs/regimes.md decomposes it): guard the gain
    assert max(widths.values()) <= 15, widths  # v0.2.0: x27+


def test_a_disclosure_constrains_the_vendors_other_models_through_their_sizes() -> None:
    """A sibling's size draw sets the anchor model's (registry centrals' ratio, x2 off at
    most at p5/p95), so the disclosure's weights narrow the sibling too; a model of another
    vendor on the same fleet, or a disclosed one, is left to its own draws."""
    def widths() -> dict[str, float]:
        out = {}
        for model, provider in (("gpt-4.1", "openai"), ("gpt-4.1", "azure"),
                                ("gemini-2.5-pro", "google"), ("claude-sonnet-4", "google")):
            fp = estimate(model, provider, **CHAT)
            out[f"{model}@{provider}"] = fp.energy_wh_high / fp.energy_wh_low
        return out
    coupled = widths()
    _regime.set_excluded(["openai-avg-query", "gemini-median"])
    _api.clear_cache()
    try:
        free = widths()
    finally:
        _regime.set_excluded(())
        _api.clear_cache()
    for key in ("gpt-4.1@openai", "gpt-4.1@azure", "gemini-2.5-pro@google"):
        assert coupled[key] < 0.8 * free[key], (coupled, free)
    assert coupled["claude-sonnet-4@google"] > 0.8 * free["claude-sonnet-4@google"]
    s = resolve("claude-sonnet-4", "google", "chat")
    anchor = _anchor.anchor_for(_regime.provider_regime("google"), resolve, lambda *a: 0.3)
    assert anchor is not None
    assert anchor.sibling_draw(random.Random(1), s, 300, 150, 0.0, 0.42) is None


def test_a_siblings_cost_ratio_strays_as_a_whole() -> None:
    """The price ratio a sibling is sized by tells the two models' serving-cost ratio, which
    strays by `sibling_cost_sigma` as a whole: the anchor model's sizes are the sibling's
    at the registry centrals' ratio and its physics error is the sibling's (the same
    standard normal), not a second independent error on top of the stray (issue 17)."""
    anchor = _anchor.anchor_for(_regime.provider_regime("google"), resolve, lambda *a: 0.3)
    assert anchor is not None and anchor.model == "google/gemini-2.5-flash"
    pro = resolve("gemini-2.5-pro", "google", "chat")
    got = [anchor.sibling_draw(random.Random(seed), pro, 1000.0, 120.0, 0.8, 0.0)
           for seed in (1, 2)]
    assert got[0] == got[1] == (300.0, 40.0, pytest.approx(math.exp(0.8 * 0.3)))
    # the stray alone spreads the anchor model's error around the sibling's
    rng = random.Random(3)
    strays = [math.log(d[2]) for d in (anchor.sibling_draw(rng, pro, 1000.0, 120.0, 0.0, 0.42)
                                       for _ in range(2000)) if d]
    assert statistics.pstdev(strays) == pytest.approx(0.42, rel=0.05)
    # so a sibling sized against its anchor (GPT-4.1 against GPT-4o) is held nearly as tightly
    four_o, four_one = (estimate(m, "openai", **CHAT) for m in ("gpt-4o", "gpt-4.1"))
    assert (four_one.energy_wh_high / four_one.energy_wh_low
            < 1.6 * four_o.energy_wh_high / four_o.energy_wh_low)


def test_a_disclosure_anchors_its_fleet_unless_left_out() -> None:
    anchored = estimate("gpt-4o", "openai", **CHAT)
    _regime.set_excluded(["openai-avg-query"])
    _api.clear_cache()
    try:
        free = estimate("gpt-4o", "openai", **CHAT)
    finally:
        _regime.set_excluded(())
        _api.clear_cache()
    assert (anchored.energy_wh_high / anchored.energy_wh_low
            < 0.6 * free.energy_wh_high / free.energy_wh_low)
    assert "openai-avg-query" in _regime.anchors()["openai"]


def test_the_calls_date_picks_the_fleet_then() -> None:
    may24 = estimate("gemini-2.5-flash", "google", date="2024-06-01", **CHAT)
    may25 = estimate("gemini-2.5-flash", "google", date=dt.date(2025, 6, 1), **CHAT)
    now = estimate("gemini-2.5-flash", "google", **CHAT)
    assert may24.energy_wh > 1.5 * may25.energy_wh  # TPU v5e, little speculation
    assert may25.energy_wh == now.energy_wh  # the same span of effective dates
    assert may25.timestamp == dt.datetime(2025, 6, 1, tzinfo=dt.timezone.utc).timestamp()
    same = estimate("gemini-2.5-flash", "google", date=dt.datetime(2024, 6, 1, 12), **CHAT)
    assert same.energy_wh == may24.energy_wh
    # a metered call's own timestamp picks its fleet too
    usage = Usage("google", "gemini-2.5-flash", "chat", input_tokens=400, output_tokens=400)
    old = footprint_for(usage, team="t", labels={}, timestamp=may24.timestamp)
    assert old.energy_wh == pytest.approx(may24.energy_wh)
    assert footprint_for(usage, team="t", labels={}, timestamp=0.0).energy_wh == (
        pytest.approx(now.energy_wh))
    for bad in ("2025-13-01", "yesterday", True, -5.0, float("nan")):
        with pytest.raises(ValueError, match="date"):
            estimate("gpt-4o", "openai", date=bad, **CHAT)


def test_disclosure_constants_refit_without_their_disclosure() -> None:
    h, lo, hi = _regime.common("host_ratio")
    assert "gemini-breakdown" in _regime.disclosure_constants()["host_ratio"]
    _regime.set_excluded(["gemini-breakdown"])
    try:
        h2, lo2, hi2 = _regime.common("host_ratio")
    finally:
        _regime.set_excluded(())
        _api.clear_cache()
    assert h2 != h and (lo2, hi2) == (lo, hi)


def test_disclosures_in_range_under_their_own_regime() -> None:
    rows = _bench("disclosures").comparisons()
    by = {r["figure"]: r for r in rows}
    energy = [r for r in rows if r["checked"] and r["unit"] == "Wh"]
    assert {r["regime"] for r in energy} == {"provider", "naive", "tuned"}
    # every per-request energy figure inside [p5, p95], but two known misses
    # (docs/methodology.md "Boundaries for disclosures"): SDXL under library defaults, and
    # LTX-Video 0.9.7 as registered (x1.7 over with its published 13B shape) ...
    for r in energy:
        assert r["inside"] or r["id"] in ("php-imagegen", "vkeb-ltx"), r
    for name in ("Gemini median prompt: energy", "ChatGPT average query: energy",
                 "Luccioni 2024 median image model (SD 1.5)",
                 "Delavande 2025 Wan2.1-14B video"):
        assert by[name]["within_x1.5"], by[name]  # ... and these centrals within x1.5
    gem = by["Gemini median prompt: energy"]
    assert gem["left_out"] and gem["regime"] == "provider"


def test_inferencemax_leave_one_configuration_out() -> None:
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "regimes.py")],
                         capture_output=True, text=True, check=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("leave-one-configuration-out"))
    within2 = float(line.split("within x2 ")[1].split("%")[0])
    assert within2 >= 70, out


def test_method_diff_between_two_versions() -> None:
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "method-diff"), "HEAD",
                          "WORKTREE", "--models", "gemini-2.5-flash-lite"],
                         capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert "google/gemini-2.5-flash-lite" in out and "1 models;" in out
    bad = subprocess.run([sys.executable, str(ROOT / "scripts" / "method-diff"),
                          "no-such-version", "HEAD"], capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode != 0 and "neither a git revision nor a method version" in bad.stderr


def test_configured_deployment_can_name_the_regime() -> None:
    wattmeter.configure(deployments={"self-hosted": {"regime": "naive", "gpu": "A100"}})
    fp = estimate("meta-llama/Llama-3.1-8B-Instruct", "self-hosted", input_tokens=200,
                  output_tokens=50)
    assert fp.regime == "naive" and fp.server_wh > 2 * fp.accelerator_wh


def test_a_dated_first_call_of_the_process_gets_its_dates_fleet() -> None:
    """Before the estimate layer was hooked, today's span was (-inf, inf): the first metered
    call of a process with an old timestamp got today's fleet, the second its own."""
    import subprocess
    import sys

    code = ("import datetime, wattmeter\nfrom wattmeter.estimate import footprint_for\n"
            "u = wattmeter.Usage('google', 'gemini-2.5-flash', 'chat')\n"
            "u.input_tokens, u.output_tokens = 400, 400\n"
            "ts = datetime.datetime(2024, 9, 1).timestamp()\n"
            "a = footprint_for(u, team='t', labels={}, timestamp=ts).energy_wh\n"
            "b = footprint_for(u, team='t', labels={}, timestamp=ts).energy_wh\n"
            "print(a == b)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**__import__("os").environ, "PYTHONPATH": str(ROOT / "src")},
                         timeout=120)
    assert out.stdout.strip() == "True", out.stdout + out.stderr
