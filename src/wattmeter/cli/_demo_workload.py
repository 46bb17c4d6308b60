"""The demo's workload: several teams calling the real client libraries through the simulator.

Each team has a few calls it makes every round (chat, streaming, embeddings, images,
video; Bedrock through boto3 when it is installed). Libraries that are not installed are
skipped; with ``live=True`` the OpenAI and
Anthropic calls go to the real APIs when their keys are in the environment.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from typing import Any

__all__ = ["DEFAULT_TEAMS", "Workload"]

DEFAULT_TEAMS = ("search", "support", "research", "creative")

#: A long context for the research team: input tokens are not free, and the demo shows it.
_LONG_CONTEXT = "Quarterly revenue grew in every region while costs stayed flat. " * 120


def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


class Workload:
    """Clients pointed at the simulator (or the real APIs) and each team's calls per round."""

    def __init__(self, sim_url: str, live: bool = False) -> None:
        import anthropic
        import openai

        self.notes: list[str] = []
        live_openai = live and bool(os.environ.get("OPENAI_API_KEY"))
        live_anthropic = live and bool(os.environ.get("ANTHROPIC_API_KEY"))
        # 127.0.0.1 is mapped to the "openai" provider by the demo's configuration.
        self.openai = (openai.OpenAI(max_retries=0) if live_openai else
                       openai.OpenAI(base_url=f"{sim_url}/v1", api_key="demo", max_retries=0))
        self.anthropic = (anthropic.Anthropic(max_retries=0) if live_anthropic else
                          anthropic.Anthropic(base_url=sim_url, api_key="demo", max_retries=0))
        if live and not (live_openai or live_anthropic):
            self.notes.append("--live: no OPENAI_API_KEY or ANTHROPIC_API_KEY; using the simulator")
        self.sim_url = sim_url
        self.extra: dict[str, Any] = {}
        self._optional_clients()
        #: The libraries this workload calls (what the demo instruments).
        self.libraries = ["openai", "anthropic", *(
            {"mistral": "mistralai", "cohere": "cohere", "google": "google_genai",
             "bedrock": "bedrock"}[k]
            for k in self.extra)]

    def _optional_clients(self) -> None:
        url = self.sim_url.replace("127.0.0.1", "localhost")
        if _installed("mistralai"):
            try:
                from mistralai.client import Mistral
            except ImportError:  # older layout
                from mistralai import Mistral  # type: ignore[attr-defined,no-redef]
            self.extra["mistral"] = Mistral(api_key="demo", server_url=f"{url}/mistral")
        if _installed("cohere"):
            import cohere

            self.extra["cohere"] = cohere.ClientV2(api_key="demo", base_url=url)
        if _installed("google.genai"):
            from google import genai
            from google.genai import types

            self.extra["google"] = genai.Client(
                vertexai=True, api_key="demo", http_options=types.HttpOptions(base_url=url))
        if _installed("boto3"):
            import boto3

            # Explicit dummy credentials: no AWS configuration or metadata service is read.
            session = boto3.session.Session(aws_access_key_id="demo",
                                            aws_secret_access_key="demo",
                                            region_name="us-east-1")
            self.extra["bedrock"] = session.client("bedrock-runtime", endpoint_url=self.sim_url)

    def calls(self, team: str) -> list[tuple[str, Callable[[], Any]]]:
        """(description, call) pairs a team makes each round."""
        oa, an = self.openai, self.anthropic
        per_team: dict[str, list[tuple[str, Callable[[], Any]]]] = {
            "search": [
                ("gpt-4o-mini chat", lambda: oa.chat.completions.create(
                    model="gpt-4o-mini", max_tokens=60,
                    messages=[{"role": "user", "content": "Suggest three search queries."}])),
                ("text-embedding-3-small", lambda: oa.embeddings.create(
                    model="text-embedding-3-small", input=["energy of AI"] * 16)),
            ],
            "support": [
                ("claude-haiku-4-5 stream", lambda: _drain_anthropic(an)),
                ("gpt-4.1 stream", lambda: _drain(oa.chat.completions.create(
                    model="gpt-4.1", max_tokens=200, stream=True,
                    messages=[{"role": "user", "content": "Draft a friendly reply."}]))),
            ],
            "research": [
                ("o3 long context", lambda: oa.chat.completions.create(
                    model="o3", max_completion_tokens=800,
                    messages=[{"role": "user", "content": _LONG_CONTEXT}])),
                ("claude-opus-4-5", lambda: an.messages.create(
                    model="claude-opus-4-5", max_tokens=600,
                    messages=[{"role": "user", "content": _LONG_CONTEXT}])),
            ],
            "creative": [
                ("gpt-image-1 1024x1024", lambda: oa.images.generate(
                    model="gpt-image-1", prompt="a wind farm at dawn", size="1024x1024")),
            ],
        }
        calls = list(per_team.get(team, per_team["search"]))
        if team == "support" and "mistral" in self.extra:
            m = self.extra["mistral"]
            calls.append(("mistral-small chat", lambda: m.chat.complete(
                model="mistral-small-latest", max_tokens=80,
                messages=[{"role": "user", "content": "Summarise the ticket."}])))
        if team == "search" and "cohere" in self.extra:
            co = self.extra["cohere"]
            calls.append(("cohere embed", lambda: co.embed(
                model="embed-v4.0", texts=["query one", "query two"], input_type="search_query",
                embedding_types=["float"])))
        if team == "support" and "bedrock" in self.extra:
            br = self.extra["bedrock"]
            calls.append(("Bedrock nova-lite stream", lambda: _drain(br.converse_stream(
                modelId="us.amazon.nova-lite-v1:0", inferenceConfig={"maxTokens": 150},
                messages=[{"role": "user", "content": [{"text": "Classify the ticket."}]}],
            )["stream"])))
        if team == "creative":
            calls.append(("video (Wan2.1 14B, 5 s 720p)", self._video))
        return calls

    def _video(self) -> Any:
        google = self.extra.get("google")
        if google is not None:
            from google.genai import types

            op = google.models.generate_videos(
                model="veo-3.0-fast-generate-001",
                source=types.GenerateVideosSource(prompt="a turbine turning"))
            while not op.done:
                op = google.operations.get(op)
        return _self_hosted_video()


def _drain(stream: Any) -> int:
    return sum(1 for _ in stream)


def _drain_anthropic(client: Any) -> Any:
    with client.messages.stream(model="claude-haiku-4-5", max_tokens=300, messages=[
            {"role": "user", "content": "Explain the refund policy."}]) as stream:
        for _ in stream.text_stream:
            pass
        return stream.get_final_message()


def _self_hosted_video() -> Any:
    """A self-hosted open video model, metered with `meter` (no real GPU: just the record)."""
    import wattmeter

    @wattmeter.meter(model="Wan-AI/Wan2.1-T2V-14B-Diffusers", operation="video")
    def generate() -> dict[str, Any]:
        return {"width": 1280, "height": 720, "frames": 81, "steps": 50}

    return generate()
