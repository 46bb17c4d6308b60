"""Provider faults through every instrumented SDK behave exactly as they do without wattmeter.

Each scenario runs twice through the real client library against the simulator: once
unpatched, once instrumented. The outcome (result type and item count, or exception type)
must be the same, and the instrumented run records at most one footprint. The suite runs
with WATTMETER_STRICT=1, so an internal error inside wattmeter would surface here as a
different outcome instead of being swallowed.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

import wattmeter
from wattmeter.testing import capture

TIMEOUT = 0.3  # seconds; the simulator holds a ``fault-timeout`` request for 2 s
MESSAGES = [{"role": "user", "content": "Name three rivers."}]
FAULTS = ["error-429", "error-500", "fault-timeout", "fault-reset", "fault-badjson",
          "fault-cut"]


#: Clients of the calls of the running test: some SDKs close a stream with its client.
_clients: list[Any] = []


def _items(result: Any, stream: bool) -> tuple[str, str, int]:
    if stream:
        return ("ok", result.__class__.__name__, sum(1 for _ in result))  # proxies pass __class__
    return ("ok", result.__class__.__name__, 1)


def _openai(sim: Any, model: str, stream: bool) -> Any:
    import openai

    c = openai.OpenAI(base_url=sim.url + "/v1", api_key="sk-test", max_retries=0,
                      timeout=TIMEOUT)
    return c.chat.completions.create(model=model, messages=MESSAGES,  # type: ignore[call-overload]
                                     max_tokens=8, stream=stream)


def _anthropic(sim: Any, model: str, stream: bool) -> Any:
    import anthropic

    c = anthropic.Anthropic(base_url=sim.url, api_key="sk-test", max_retries=0,
                            timeout=TIMEOUT)
    return c.messages.create(model=model, messages=MESSAGES, max_tokens=8,  # type: ignore[call-overload]
                             stream=stream)


def _google(sim: Any, model: str, stream: bool) -> Any:
    from google import genai
    from google.genai import types

    c = genai.Client(api_key="sim-key", http_options=types.HttpOptions(
        base_url=sim.url, timeout=int(TIMEOUT * 1000)))
    _clients.append(c)
    call = c.models.generate_content_stream if stream else c.models.generate_content
    return call(model=model, contents="Name three rivers.")


def _mistral_class() -> Any:
    """The client class: under mistralai.client from 2.0, at the top level in 1.x."""
    try:
        from mistralai.client import Mistral
    except ImportError:
        from mistralai import Mistral  # type: ignore[no-redef]
    return Mistral


def _mistral(sim: Any, model: str, stream: bool) -> Any:
    Mistral = _mistral_class()

    c = Mistral(api_key="sim-key", server_url=sim.url + "/mistral",
                timeout_ms=int(TIMEOUT * 1000))
    call = c.chat.stream if stream else c.chat.complete
    return call(model=model, messages=MESSAGES, max_tokens=8)  # type: ignore[arg-type]


def _no_retries(cohere: Any) -> dict[str, Any]:
    """max_retries=0 where cohere's client takes it (7.0 on; 5.x only per request)."""
    import inspect

    return {"max_retries": 0} if "max_retries" in inspect.signature(
        cohere.Client.__init__).parameters else {}


def _cohere(sim: Any, model: str, stream: bool) -> Any:
    import cohere

    c = cohere.ClientV2(api_key="sim-key", base_url=sim.url, timeout=TIMEOUT, **_no_retries(cohere))
    call = c.chat_stream if stream else c.chat
    return call(model=model, messages=MESSAGES, max_tokens=8)  # type: ignore[arg-type]


def _huggingface(sim: Any, model: str, stream: bool) -> Any:
    from huggingface_hub import InferenceClient

    c = InferenceClient(model=f"{sim.url}/hf/models/{model}", timeout=TIMEOUT)
    _clients.append(c)
    return c.chat_completion(MESSAGES, max_tokens=8, stream=stream)


def _litellm(sim: Any, model: str, stream: bool) -> Any:
    import litellm

    return litellm.completion(model=f"openai/{model}", messages=MESSAGES, max_tokens=8,
                              api_base=sim.url + "/v1", api_key="sk-test", num_retries=0,
                              timeout=TIMEOUT, stream=stream)


def _requests(sim: Any, model: str, stream: bool) -> Any:
    import requests

    body: dict[str, Any] = {"model": model, "messages": MESSAGES, "max_tokens": 8}
    if stream:
        body["stream"] = True
    r = requests.post(sim.url + "/v1/chat/completions", json=body, timeout=TIMEOUT,
                      stream=stream)
    return r.iter_lines() if stream else (r.status_code, r.json())


SDKS: dict[str, tuple[str, str, Callable[[Any, str, bool], Any]]] = {
    # name: (instrument() library, a model the simulator serves, the call)
    "openai": ("openai", "gpt-4o-mini", _openai),
    "anthropic": ("anthropic", "claude-3-5-haiku-latest", _anthropic),
    "google_genai": ("google_genai", "gemini-2.5-flash", _google),
    "mistralai": ("mistralai", "mistral-small-latest", _mistral),
    "cohere": ("cohere", "command-a-03-2025", _cohere),
    "huggingface_hub": ("huggingface_hub", "meta-llama/Llama-3.1-8B-Instruct", _huggingface),
    "litellm": ("litellm", "gpt-4o-mini", _litellm),
    "requests": ("requests", "llama-3.1-8b", _requests),
}


def _outcome(call: Callable[[], Any], stream: bool) -> tuple[Any, ...]:
    try:
        return _items(call(), stream)
    except Exception as exc:  # the SDK's own error: same type with and without wattmeter
        return ("raise", type(exc).__name__)


#: Outcomes that mean the probe is wrong, not the SDK: the two runs would agree vacuously.
_TEST_BUGS = ("ImportError", "ModuleNotFoundError", "AttributeError", "TypeError", "NameError")


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("sdk", list(SDKS))
def test_probe_reaches_the_simulator(simulator: Any, sdk: str, stream: bool) -> None:
    """Each SDK's probe call succeeds on a served model, metered once."""
    _, model, call = SDKS[sdk]
    _instrument(sdk, simulator)
    with capture() as fps:
        outcome = _outcome(lambda: call(simulator, model, stream), stream)
    assert outcome[0] == "ok" and outcome[2] >= 1, outcome
    if sdk == "requests" and stream:  # streamed plain requests pass through unmetered
        assert fps == []
    else:
        assert len(fps) == 1 and fps[0].outcome == "ok"


def _instrument(name: str, sim: Any) -> None:
    if name == "requests":
        wattmeter.configure(requests_base_urls=[sim.url + "/v1"])
    wattmeter.instrument(SDKS[name][0])


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("sdk", list(SDKS))
def test_fault_behaves_as_without_wattmeter(simulator: Any, sdk: str, fault: str,
                                            stream: bool) -> None:
    _, _, call = SDKS[sdk]
    before = _outcome(lambda: call(simulator, fault, stream), stream)
    assert before[1] not in _TEST_BUGS, before  # the probe itself must reach the server
    _instrument(sdk, simulator)
    gc.collect()  # earlier tests' garbage finishes now, not inside this test's capture
    with capture() as fps:
        after = _outcome(lambda: call(simulator, fault, stream), stream)
        gc.collect()  # a stream dropped half-read finishes on garbage collection
    assert after == before
    assert len(fps) <= 1, [(f.provider, f.model, f.outcome, f.team, f.labels) for f in fps]
    assert all(fp.outcome in ("ok", "error") for fp in fps)


@pytest.mark.parametrize("sdk", [s for s in SDKS if s != "requests"])
def test_never_consumed_stream_finishes_once_on_gc(simulator: Any, sdk: str) -> None:
    _, model, call = SDKS[sdk]
    _instrument(sdk, simulator)
    with capture() as fps:
        stream = call(simulator, model, True)
        del stream
        gc.collect()
    assert len(fps) <= 1


async def _openai_async(sim: Any, model: str) -> Any:
    import openai

    c = openai.AsyncOpenAI(base_url=sim.url + "/v1", api_key="sk-test", max_retries=0)
    return await c.chat.completions.create(model=model, messages=MESSAGES,  # type: ignore[call-overload]
                                           max_tokens=64, stream=True)


async def _anthropic_async(sim: Any, model: str) -> Any:
    import anthropic

    c = anthropic.AsyncAnthropic(base_url=sim.url, api_key="sk-test", max_retries=0)
    return await c.messages.create(model=model, messages=MESSAGES, max_tokens=64,  # type: ignore[call-overload]
                                   stream=True)


async def _google_async(sim: Any, model: str) -> Any:
    from google import genai
    from google.genai import types

    c = genai.Client(api_key="sim-key", http_options=types.HttpOptions(base_url=sim.url))
    return await c.aio.models.generate_content_stream(model=model, contents="Rivers?")


async def _mistral_async(sim: Any, model: str) -> Any:
    Mistral = _mistral_class()

    c = Mistral(api_key="sim-key", server_url=sim.url + "/mistral")
    return await c.chat.stream_async(model=model, messages=MESSAGES,  # type: ignore[arg-type]
                                     max_tokens=64)


async def _cohere_async(sim: Any, model: str) -> Any:
    import cohere

    c = cohere.AsyncClientV2(api_key="sim-key", base_url=sim.url, **_no_retries(cohere))
    return c.chat_stream(model=model, messages=MESSAGES, max_tokens=64)  # type: ignore[arg-type]


async def _huggingface_async(sim: Any, model: str) -> Any:
    from huggingface_hub import AsyncInferenceClient

    c = AsyncInferenceClient(model=f"{sim.url}/hf/models/{model}")
    _async_clients.append(c)  # its open stream lives in the client's exit stack
    return await c.chat_completion(MESSAGES, max_tokens=64, stream=True)


async def _litellm_async(sim: Any, model: str) -> Any:
    import litellm

    return await litellm.acompletion(model=f"openai/{model}", messages=MESSAGES,
                                     max_tokens=64, api_base=sim.url + "/v1",
                                     api_key="sk-test", num_retries=0, stream=True)


ASYNC_STREAMS: dict[str, Callable[[Any, str], Awaitable[Any]]] = {
    "openai": _openai_async, "anthropic": _anthropic_async, "google_genai": _google_async,
    "mistralai": _mistral_async, "cohere": _cohere_async,
    "huggingface_hub": _huggingface_async, "litellm": _litellm_async,
}


#: Async clients that keep an opened stream in their own exit stack (huggingface_hub's
#: AsyncInferenceClient): closed by the task that opened them, as `async with` would.
_async_clients: list[Any] = []


async def _cancel_mid_stream(open_stream: Callable[[], Awaitable[Any]]) -> tuple[Any, ...]:
    """Read one item of the stream in a task, cancel the task, say what the caller saw.

    The consuming task closes the clients it opened (``finally``), as code using
    ``async with AsyncInferenceClient()`` does. Left open, huggingface_hub's client kept the
    cancelled stream's response (an anyio cancel scope) in its exit stack until garbage
    collection closed it from another task or event loop ("Exception ignored in:
    Response.aclose", anyio's "cancel scope in a different task"); under load that
    finalizer ran inside a later try, whose stream then never started (TimeoutError).
    """
    started = asyncio.Event()
    seen: list[str] = []

    async def consume() -> None:
        stream = None
        try:
            stream = await open_stream()
            async for item in stream:
                seen.append(type(item).__name__)
                started.set()
                await asyncio.sleep(10)
        finally:
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                await aclose()
            while _async_clients:
                await _async_clients.pop().close()

    task = asyncio.create_task(consume())
    try:
        await asyncio.wait_for(started.wait(), 10)
    finally:
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
    return ("cancelled", tuple(seen)) if task.cancelled() else ("finished", tuple(seen))


#: A stream finalized off its task (the cause of the stall above) fails the test at once.
@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("sdk", list(ASYNC_STREAMS))
async def test_cancelled_async_stream_behaves_as_without_wattmeter(simulator: Any,
                                                                   sdk: str) -> None:
    _, model, _ = SDKS[sdk]
    opener = ASYNC_STREAMS[sdk]
    before = await _cancel_mid_stream(lambda: opener(simulator, model))
    _instrument(sdk, simulator)
    with capture() as fps:
        after = await _cancel_mid_stream(lambda: opener(simulator, model))
        gc.collect()
    assert after == before == ("cancelled", before[1])
    assert len(fps) <= 1


#: Import names of the SDKs whose key differs (an SDK missing from a side venv is skipped).
_IMPORT_NAMES = {"google_genai": "google.genai", "bedrock": "boto3"}


@pytest.fixture(autouse=True)
def _sdk_installed(request: pytest.FixtureRequest) -> None:
    callspec = getattr(request.node, "callspec", None)
    sdk = callspec.params.get("sdk") if callspec else None
    if sdk:
        pytest.importorskip(_IMPORT_NAMES.get(sdk, sdk))


@pytest.fixture(autouse=True)
def _drop_clients() -> Any:
    yield
    _clients.clear()
