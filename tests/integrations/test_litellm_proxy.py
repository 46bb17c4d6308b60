"""wattmeter's LiteLLM ``CustomLogger``: in a real LiteLLM proxy and in-process.

The proxy test starts ``python -m litellm.proxy.proxy_cli`` in a subprocess, in front of
the simulator, with the logger named in its ``config.yaml`` and a custom auth module that
gives each bearer token a team; requests go through the openai client, and the proxy
process's own ``/metrics`` and SQLite ledger are read back.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

litellm = pytest.importorskip("litellm")

import openai  # noqa: E402

import wattmeter  # noqa: E402
from wattmeter.budget._ledger import Ledger  # noqa: E402
from wattmeter.integrations import litellm_proxy  # noqa: E402
from wattmeter.integrations.litellm_proxy import (  # noqa: E402
    WattmeterLogger,
    attribution,
    usage_for,
)
from wattmeter.testing import capture  # noqa: E402

HERE = Path(__file__).parent
MESSAGES = [{"role": "user", "content": "Name three prime numbers, briefly."}]
PROMPT_TOKENS = (len(MESSAGES[0]["content"]) + 3) // 4
MASTER_KEY = "sk-7c1e9b2a4d6f8031e5a7c9b1d3f5a7c9e1b3d5f7a9c1e3b5"
#: Seconds the proxy may take to start (it imports a lot; the machine may be busy).
START_TIMEOUT_S = 240


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return str(resp.read().decode())


class Proxy:
    def __init__(self, url: str, metrics_url: str, ledger: Path, log: Path) -> None:
        self.url = url
        self.metrics_url = metrics_url
        self.ledger = ledger
        self.log = log

    def client(self, key: str) -> openai.OpenAI:
        return openai.OpenAI(base_url=self.url + "/v1", api_key=key, max_retries=0)

    def wait_for(self, predicate: Any, what: str, timeout: float = 30.0) -> None:
        """Poll until `predicate()` (the proxy logs after answering, on its own tasks)."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"{what} not seen in {timeout}s; proxy log:\n"
                                     + self.log.read_text()[-3000:])
            time.sleep(0.2)


@pytest.fixture(scope="module")
def proxy(simulator: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    # The proxy's own dependencies come with wattmeter[litellm-proxy] (in the test extra).
    pytest.importorskip("litellm.proxy.proxy_server", reason="needs wattmeter[litellm-proxy]")
    root = tmp_path_factory.mktemp("litellm-proxy")
    shutil.copy(HERE / "proxy_auth.py", root / "proxy_auth.py")
    base = simulator.url + "/v1"
    (root / "config.yaml").write_text(f"""\
model_list:
  - model_name: gpt-4o
    litellm_params: {{model: openai/gpt-4o, api_base: "{base}", api_key: sk-test}}
  - model_name: broken
    litellm_params: {{model: openai/error-500, api_base: "{base}", api_key: sk-test}}
litellm_settings:
  callbacks: wattmeter.integrations.litellm_proxy.handler
  num_retries: 0
general_settings:
  master_key: {MASTER_KEY}
  custom_auth: proxy_auth.user_api_key_auth
""")
    port, metrics_port = _free_port(), _free_port()
    ledger = root / "ledger.sqlite3"
    src = str(Path(wattmeter.__file__).parent.parent)
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATTMETER_")}
    env.update({
        "PYTHONPATH": os.pathsep.join([src, env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        "LITELLM_LOCAL_MODEL_COST_MAP": "True", "WATTMETER_STRICT": "1",
        "WATTMETER_METRICS_PORT": str(metrics_port), "WATTMETER_LEDGER_ALWAYS": "true",
        "WATTMETER_LEDGER_PATH": str(ledger), "WATTMETER_LEDGER_FLUSH_S": "0.1",
    })
    log = root / "proxy.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "litellm.proxy.proxy_cli", "--config",
             str(root / "config.yaml"), "--host", "127.0.0.1", "--port", str(port),
             "--num_workers", "1"],
            cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                _get(f"http://127.0.0.1:{port}/health/liveliness")
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError("the LiteLLM proxy did not start:\n"
                                         + log.read_text()[-3000:]) from None
                time.sleep(0.5)
        yield Proxy(f"http://127.0.0.1:{port}", f"http://127.0.0.1:{metrics_port}/metrics",
                    ledger, log)
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def _requests(text: str, team: str, outcome: str) -> float:
    for line in text.splitlines():
        if (line.startswith("wattmeter_requests_total{") and f'team="{team}"' in line
                and f'outcome="{outcome}"' in line):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_proxy_meters_chat_stream_and_failure_by_team(proxy: Proxy) -> None:
    search = proxy.client("sk-search")
    out = search.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=5)
    assert out.usage is not None and out.usage.completion_tokens == 5
    stream = search.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=7,
                                            stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    with pytest.raises(openai.InternalServerError):
        proxy.client("sk-ads").chat.completions.create(model="broken", messages=MESSAGES)

    proxy.wait_for(lambda: _requests(_get(proxy.metrics_url), "search", "ok") == 2
                   and _requests(_get(proxy.metrics_url), "ads", "error") == 1,
                   "2 ok calls for team search and 1 error for team ads on /metrics")
    metrics = _get(proxy.metrics_url)
    assert 'wattmeter_energy_joules_total{' in metrics and 'team="search"' in metrics
    assert "prime" not in metrics and MASTER_KEY not in metrics

    def ledger_rows() -> list[dict[str, Any]]:
        if not proxy.ledger.exists():
            return []
        return Ledger(proxy.ledger).totals(group_by=("team", "label:litellm_key_alias"))

    proxy.wait_for(lambda: sum(r["calls"] for r in ledger_rows()) == 3, "3 calls in the ledger")
    rows = {r["team"]: r for r in ledger_rows()}
    assert rows["search"]["calls"] == 2 and rows["ads"]["calls"] == 1
    assert rows["search"]["label:litellm_key_alias"] == "search-backend"
    assert (rows["search"]["input_tokens"], rows["search"]["output_tokens"]) == (
        2 * PROMPT_TOKENS, 5 + 7)
    assert rows["search"]["energy_wh"] > 0 and rows["ads"]["output_tokens"] == 0


def test_proxy_counts_requests_that_reuse_a_client_chosen_call_id(proxy: Proxy) -> None:
    """Issue 23, item 1: the proxy takes the call id from ``x-litellm-call-id``; 20 requests
    under one id are 20 calls, and a failure then a success under it are two."""
    client = proxy.client("sk-evade")
    same = {"x-litellm-call-id": "one-id-for-everything"}
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model="broken", messages=MESSAGES, extra_headers=same)
    for _ in range(20):
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=50,
                                       extra_headers=same)
    proxy.wait_for(lambda: _requests(_get(proxy.metrics_url), "evade", "ok") == 20
                   and _requests(_get(proxy.metrics_url), "evade", "error") == 1,
                   "20 ok calls and 1 error for team evade on /metrics")


@pytest.fixture
def logger(simulator: Any) -> Iterator[tuple[WattmeterLogger, dict[str, Any]]]:
    handler = WattmeterLogger()
    # litellm copies `callbacks` into its success/failure lists on the next call, so every
    # list is put back (else the handler stays registered and meters later tests' calls).
    lists = ("callbacks", "success_callback", "failure_callback", "_async_success_callback",
             "_async_failure_callback", "input_callback", "service_callback")
    saved = {name: list(getattr(litellm, name)) for name in lists
             if isinstance(getattr(litellm, name, None), list)}
    litellm.callbacks = [handler]
    yield handler, {"api_base": simulator.url + "/v1", "api_key": "sk-test", "num_retries": 0}
    for name, value in saved.items():
        setattr(litellm, name, value)


def _wait(fps: list[Any], n: int) -> None:
    deadline = time.monotonic() + 20
    while len(fps) < n and time.monotonic() < deadline:  # litellm logs on its own threads
        time.sleep(0.05)
    time.sleep(0.3)  # and a duplicate, if any, would come now


async def test_in_process_sync_async_stream_and_failure(
        logger: tuple[WattmeterLogger, dict[str, Any]]) -> None:
    _, kw = logger
    meta = {"user_api_key_team_alias": "search", "user_api_key_alias": "k1"}
    with capture() as fps:
        litellm.completion(model="openai/gpt-4o", messages=MESSAGES, max_tokens=3,
                           metadata=meta, **kw)
        stream = await litellm.acompletion(model="openai/gpt-4o", messages=MESSAGES,
                                           max_tokens=6, stream=True, metadata=meta,
                                           stream_options={"include_usage": True}, **kw)
        async for _ in stream:
            pass
        for _ in litellm.completion(model="openai/gpt-4o", messages=MESSAGES, max_tokens=5,
                                    stream=True, stream_options={"include_usage": True},
                                    metadata=meta, **kw):
            pass
        with pytest.raises(litellm.InternalServerError):
            await litellm.acompletion(model="openai/error-500", messages=MESSAGES, **kw)
        with pytest.raises(litellm.RateLimitError):
            litellm.completion(model="openai/error-429", messages=MESSAGES, **kw)
        _wait(fps, 5)
    got = sorted((fp.outcome, fp.team, fp.output_tokens, fp.labels.get("litellm_key_alias"))
                 for fp in fps)
    assert got == [("error", "default", 0, None)] * 2 + [
        ("ok", "search", 3, "k1"), ("ok", "search", 5, "k1"), ("ok", "search", 6, "k1")]


def test_counted_once_when_litellm_is_also_instrumented(
        logger: tuple[WattmeterLogger, dict[str, Any]]) -> None:
    _, kw = logger
    wattmeter.instrument("litellm")
    with capture() as fps:
        litellm.completion(model="openai/gpt-4o", messages=MESSAGES, max_tokens=4, **kw)
        _wait(fps, 1)
    assert [fp.output_tokens for fp in fps] == [4]


def test_each_call_id_is_recorded_once() -> None:
    handler = WattmeterLogger()
    kwargs = {"litellm_call_id": "c-1", "standard_logging_object": {
        "call_type": "acompletion", "model": "gpt-4o", "custom_llm_provider": "openai",
        "prompt_tokens": 10, "completion_tokens": 2}}
    with capture() as fps:
        handler.log_success_event(kwargs, None, 0, 0)  # LiteLLM may call both hooks
        handler.log_success_event(kwargs, None, 0, 0)
        handler.log_success_event({**kwargs, "litellm_call_id": "c-2"}, None, 0, 0)
    assert [(fp.provider, fp.model, fp.input_tokens) for fp in fps] == [
        ("openai", "gpt-4o", 10)] * 2


def test_attribution_is_bounded_and_validated() -> None:
    team, labels = attribution({"metadata": {
        "user_api_key_team_alias": None, "user_api_key_team_id": "t" * 500,
        "user_api_key_alias": ["not", "a", "name"], "user_api_key_user_id": 42},
        "end_user": "  customer-7 "})
    assert team == "t" * litellm_proxy.MAX_VALUE_CHARS
    assert labels == {"litellm_user": "42", "litellm_end_user": "customer-7"}
    assert attribution({"metadata": "junk"}) == (None, {})


def test_usage_from_payload_is_validated() -> None:
    payload = {"call_type": "completion", "model": "openai/gpt-4o",
               "custom_llm_provider": "openai", "prompt_tokens": -5, "completion_tokens": True}
    usage = usage_for(payload, None, failed=False)
    assert usage is not None
    assert (usage.model, usage.input_tokens, usage.output_tokens) == ("gpt-4o", 0, 0)
    assert usage_for({**payload, "call_type": "moderation"}, None, failed=False) is None
    failed = usage_for({**payload, "prompt_tokens": 9}, None, failed=True)
    assert failed is not None and failed.outcome == "error" and failed.input_tokens == 0
