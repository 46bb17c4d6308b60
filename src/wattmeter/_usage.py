"""What an instrumented call consumed, as reported by the provider or read off the request.

Provider modules fill a `Usage` and hand it to the meter core; nothing here knows any
provider SDK. Conventions, whatever the provider's own: ``input_tokens`` includes
``cached_input_tokens``, and ``output_tokens`` includes ``reasoning_tokens``.
"""

from __future__ import annotations

__all__ = ["OPERATIONS", "Usage"]

#: Every operation wattmeter meters (DESIGN.md).
OPERATIONS = (
    "chat",
    "completion",
    "embeddings",
    "image",
    "video",
    "speech",
    "transcription",
)


class Usage:
    """A mutable tally for one call; streams add to it chunk by chunk."""

    __slots__ = (
        "audio_seconds",
        "cached_input_tokens",
        "characters",
        "finish_reasons",
        "fps",
        "frames",
        "height",
        "images",
        "input_tokens",
        "model",
        "operation",
        "outcome",
        "output_tokens",
        "output_type",
        "provider",
        "provider_name",
        "reasoning_tokens",
        "response_id",
        "response_model",
        "server_address",
        "server_port",
        "steps",
        "tokens_estimated",
        "video_seconds",
        "warnings",
        "width",
    )

    def __init__(
        self,
        provider: str,
        model: str,
        operation: str = "chat",
        *,
        input_tokens: int = 0,
        output_tokens: int = 0,
        cached_input_tokens: int = 0,
        reasoning_tokens: int = 0,
        images: int | None = None,
        width: int | None = None,
        height: int | None = None,
        steps: int | None = None,
        frames: int | None = None,
        fps: float | None = None,
        video_seconds: float | None = None,
        audio_seconds: float | None = None,
        characters: int | None = None,
        response_model: str | None = None,
        outcome: str = "ok",
        tokens_estimated: bool = False,
        warnings: list[str] | None = None,
        # GenAI semantic-convention details, for spans only
        response_id: str | None = None,
        finish_reasons: list[str] | None = None,
        output_type: str | None = None,
        provider_name: str | None = None,
        server_address: str | None = None,
        server_port: int | None = None,
    ) -> None:
        self.provider = provider
        self.model = model
        self.operation = operation
        self.input_tokens = input_tokens
        self.output_tokens = output_tokens
        self.cached_input_tokens = cached_input_tokens
        self.reasoning_tokens = reasoning_tokens
        self.images = images
        self.width = width
        self.height = height
        self.steps = steps
        self.frames = frames
        self.fps = fps
        self.video_seconds = video_seconds
        self.audio_seconds = audio_seconds
        self.characters = characters
        self.response_model = response_model
        self.outcome = outcome
        self.tokens_estimated = tokens_estimated
        self.warnings = warnings
        # GenAI semantic-convention details: gen_ai.response.id / .finish_reasons,
        # gen_ai.output.type, gen_ai.provider.name when the endpoint tells more than
        # `provider` (e.g. gcp.vertex_ai), server.address / server.port
        self.response_id = response_id
        self.finish_reasons = finish_reasons
        self.output_type = output_type
        self.provider_name = provider_name
        self.server_address = server_address
        self.server_port = server_port

    def warn(self, message: str) -> None:
        """Add a warning that ends up in the call's `Footprint.warnings`."""
        if self.warnings is None:
            self.warnings = [message]
        elif message not in self.warnings:
            self.warnings.append(message)

    def __repr__(self) -> str:
        fields = ", ".join(
            f"{name}={getattr(self, name)!r}"
            for name in self.__slots__
            if getattr(self, name) not in (None, 0)
        )
        return f"Usage({fields})"
