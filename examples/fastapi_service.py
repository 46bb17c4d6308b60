"""A FastAPI service that attributes the model calls of each request to the team named
in its ``X-Team`` header, with a small ASGI middleware around ``wattmeter.attribute``.

Attribution lives in a context variable, so it reaches every call made while the request
is served (in the endpoint, in background tasks it starts, across ``await``). Teams come
from a header a client controls, so unknown names are folded into one value to keep the
metric labels bounded. The ``/metrics`` endpoint is mounted for Prometheus.

Run it with no API key (a local provider simulator is started with the app)::

    uvicorn fastapi_service:app --app-dir examples      # or: python examples/fastapi_service.py
    curl -s localhost:8000/summarize -H 'X-Team: search' -H 'content-type: application/json' \
         -d '{"text": "wattmeter meters the energy of generative AI calls"}'
    curl -s localhost:8000/metrics | grep wattmeter_energy

Set ``WATTMETER_EXAMPLE_BASE_URL`` (and ``OPENAI_API_KEY``) to use a real endpoint.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from typing import Any

import openai
from _simulator import base_url
from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

import wattmeter

KNOWN_TEAMS = frozenset({"search", "ads", "support"})
UNKNOWN_TEAM = "unattributed"


class TeamAttribution:
    """ASGI middleware: every metered call made while serving a request counts for the
    team in its ``X-Team`` header (``unattributed`` when missing or unknown)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        team = dict(scope["headers"]).get(b"x-team", b"").decode("latin-1").strip().lower()
        with wattmeter.attribute(team=team if team in KNOWN_TEAMS else UNKNOWN_TEAM):
            await self.app(scope, receive, send)


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Instrument once at start-up; use $WATTMETER_EXAMPLE_BASE_URL or a local simulator."""
    wattmeter.instrument("openai")
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(base_url())
        app.state.llm = openai.AsyncOpenAI(
            base_url=url, api_key=os.environ.get("OPENAI_API_KEY", "simulator"))
        yield
        await app.state.llm.close()
    wattmeter.uninstrument()


app = FastAPI(title="wattmeter example service", lifespan=lifespan)
app.add_middleware(TeamAttribution)


class SummarizeIn(BaseModel):
    """The request body of ``/summarize``."""

    text: str


@app.post("/summarize")
async def summarize(body: SummarizeIn, request: Request) -> dict[str, str]:
    """Summarise `text` with one chat call, labelled with the feature it serves."""
    with wattmeter.attribute(feature="summarize"):  # nests: adds a label, keeps the team
        reply = await request.app.state.llm.chat.completions.create(
            model="gpt-4o-mini", max_tokens=30,
            messages=[{"role": "user", "content": f"Summarise: {body.text}"}],
        )
    return {"summary": reply.choices[0].message.content or ""}


@app.get("/metrics")
def metrics() -> Response:
    """Prometheus text format of this process' metrics (wattmeter's included).

    With several uvicorn workers, see ``multiprocess_workers.py`` instead.
    """
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def main() -> None:
    """Serve the app with uvicorn on http://127.0.0.1:8000."""
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=int(os.environ.get("PORT", "8000")))


if __name__ == "__main__":
    main()
