"""Meter a self-hosted model with ``@wattmeter.meter``, and size a deployment with
``wattmeter.estimate`` before buying the GPUs.

``TinyModel`` stands in for your own inference code (vLLM, TGI, transformers...): the
decorated functions return, or stream, its output together with token counts, and
wattmeter turns those counts into energy and CO2e for the hardware you declare with the
``deployments`` option. No network and no API key needed::

    python examples/self_hosted_meter.py
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

import wattmeter
from wattmeter.testing import capture

MODEL = "meta-llama/Llama-3.1-8B-Instruct"


class Chunk(NamedTuple):
    """One piece of a streamed answer; the last one carries the usage, as vLLM and TGI do."""

    text: str
    usage: dict[str, int] | None = None


class TinyModel:
    """A stand-in for a real model server: echoes words back, counts whitespace tokens."""

    def complete(self, prompt: str, max_new_tokens: int) -> Iterator[str]:
        words = prompt.split()
        for i in range(max_new_tokens):
            yield words[i % len(words)]

    def count(self, text: str) -> int:
        return len(text.split())


model = TinyModel()


@wattmeter.meter(model=MODEL, provider="self-hosted")
def generate(prompt: str, max_new_tokens: int = 64) -> dict[str, Any]:
    """One blocking generation; wattmeter reads ``usage`` from the returned dict."""
    text = " ".join(model.complete(prompt, max_new_tokens))
    return {"text": text, "usage": {"input_tokens": model.count(prompt),
                                    "output_tokens": max_new_tokens}}


@wattmeter.meter(model=MODEL, provider="self-hosted", usage=lambda chunks: chunks[-1].usage)
def generate_stream(prompt: str, max_new_tokens: int = 64) -> Iterator[Chunk]:
    """A streamed generation; metered once, when the consumer has read the last chunk.

    Without ``usage=`` each yielded item would count as one output token.
    """
    for word in model.complete(prompt, max_new_tokens):
        yield Chunk(word + " ")
    yield Chunk("", {"input_tokens": model.count(prompt), "output_tokens": max_new_tokens})


def main() -> None:
    """Meter two local calls on a declared deployment, then compare two deployments."""
    # Where the model runs: 1 x L4 in France, 8 requests batched together.
    wattmeter.configure(deployments={"self-hosted": {"gpu": "L4", "gpus": 1, "batch_size": 8,
                                                     "zone": "FR"}})
    prompt = "Explain in one paragraph why the sky is blue " * 10
    with capture() as footprints, wattmeter.attribute(team="platform", feature="docs-bot"):
        generate(prompt, max_new_tokens=200)
        streamed = "".join(chunk.text for chunk in generate_stream(prompt, max_new_tokens=200))
    print(f"streamed {len(streamed.split())} words")
    for kind, fp in zip(("generate", "generate_stream"), footprints, strict=True):
        print(f"{kind}: team={fp.team} provider={fp.provider} model={fp.model}"
              f" tokens={fp.input_tokens}+{fp.output_tokens} energy={fp.energy_wh:.5f} Wh"
              f" [{fp.energy_wh_low:.5f}-{fp.energy_wh_high:.5f}]"
              f" co2e={fp.co2e_g:.5f} g zone={fp.grid_zone}")

    # Planning: the same request on two deployments, before anything is deployed.
    for label, deployment in (
        ("L4 x1, batch 8, FR", wattmeter.Deployment(gpu="L4", gpus=1, batch_size=8, zone="FR")),
        ("H100 x1, batch 64, US", wattmeter.Deployment(gpu="H100", gpus=1, batch_size=64,
                                                      zone="US")),
    ):
        fp = wattmeter.estimate(MODEL, provider="self-hosted", input_tokens=1000,
                                output_tokens=500, deployment=deployment)
        print(f"estimate on {label}: {fp.energy_wh:.4f} Wh"
              f" [{fp.energy_wh_low:.4f}-{fp.energy_wh_high:.4f}]"
              f" co2e={fp.co2e_g:.4f} g at {fp.grid_gco2e_per_kwh:g} gCO2e/kWh")


if __name__ == "__main__":
    main()
