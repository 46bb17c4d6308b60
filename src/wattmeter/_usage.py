"""What an instrumented call consumed, as reported by the provider or read off the request.

Provider modules fill a `Usage` and hand it to the meter core; nothing here knows any
provider SDK. Conventions, whatever the provider's own: ``input_tokens`` includes
``cached_input_tokens``, and ``output_tokens`` includes ``reasoning_tokens``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._guard import internal_error

__all__ = ["FIELDS", "OPERATIONS", "Usage"]

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
    """A mutable tally for one call; streams add to it chunk by chunk.

    Every field has a class-level default, so a new tally stores only the fields it is
    given: the caller's thread builds one per metered call, and storing all 26 took 0.42 of
    the 1.39 µs an openai chat response took to read, warm (issue 19). An unknown field
    name is refused at construction; a misspelt assignment is not (type checkers flag it).
    """

    provider: str
    model: str
    operation: str
    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    reasoning_tokens: int = 0
    images: int | None = None
    width: int | None = None
    height: int | None = None
    steps: int | None = None
    frames: int | None = None
    fps: float | None = None
    video_seconds: float | None = None
    audio_seconds: float | None = None
    characters: int | None = None
    response_model: str | None = None
    outcome: str = "ok"
    tokens_estimated: bool = False
    warnings: list[str] | None = None
    # GenAI semantic-convention details, for spans only: gen_ai.response.id /
    # .finish_reasons, gen_ai.output.type, gen_ai.provider.name when the endpoint tells more
    # than `provider` (e.g. gcp.vertex_ai), server.address / server.port
    response_id: str | None = None
    finish_reasons: list[str] | None = None
    output_type: str | None = None
    provider_name: str | None = None
    server_address: str | None = None
    server_port: int | None = None
    #: Not fields: an endpoint may hand over the provider's usage block unread, and the
    #: meter core calls ``reader(usage, raw)`` before the footprint (`settle`), on the
    #: background thread unless a span needs the figures at once. Walking the block's
    #: nested objects cost ~1.5 µs a call on the caller's thread in situ (issue 19).
    reader: Callable[[Usage, Any], None] | None = None
    raw: Any = None

    if TYPE_CHECKING:  # the keyword fields, for type checkers; at run time `**fields`

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
            response_id: str | None = None,
            finish_reasons: list[str] | None = None,
            output_type: str | None = None,
            provider_name: str | None = None,
            server_address: str | None = None,
            server_port: int | None = None,
        ) -> None: ...

    else:

        def __init__(self, provider: str, model: str, operation: str = "chat",
                     **fields: Any) -> None:
            self.provider = provider
            self.model = model
            self.operation = operation
            if fields:
                for name, value in fields.items():
                    if name not in FIELDS:
                        raise TypeError(f"Usage() got an unexpected keyword argument {name!r}; "
                                        f"the fields are {', '.join(FIELDS)}")
                    setattr(self, name, value)

    def settle(self) -> None:
        """Apply the `reader` handed over with the usage block, once; if it fails, the
        counts read so far stand (logged once, counted: an internal error)."""
        reader = self.reader
        if reader is None:
            return
        try:
            reader(self, self.raw)
        except Exception as exc:
            internal_error("usage.read", exc)
        finally:
            self.reader = self.raw = None

    def warn(self, message: str) -> None:
        """Add a warning that ends up in the call's `Footprint.warnings`."""
        if self.warnings is None:
            self.warnings = [message]
        elif message not in self.warnings:
            self.warnings.append(message)

    def __repr__(self) -> str:
        fields = ", ".join(
            f"{name}={getattr(self, name)!r}"
            for name in ("provider", "model", "operation", *FIELDS)
            if getattr(self, name) not in (None, 0)
        )
        return f"Usage({fields})"


#: The keyword fields of `Usage`, each with its class-level default.
FIELDS = tuple(name for name in Usage.__annotations__
               if name not in ("provider", "model", "operation", "reader", "raw"))
