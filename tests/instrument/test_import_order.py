"""`instrument()` before or after the SDK import meters the same calls, for every library.

Each case runs in a fresh interpreter (a library can be imported only once per process)
with the real client against the session's simulator: one plain call and one streamed
call (two plain calls for ``requests``, whose streams pass through unmetered).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import wattmeter
from wattmeter.instrument import LIBRARIES

M = '[{"role": "user", "content": "hello there"}]'

#: library -> (the imports an application makes, the two calls it then makes).
CASES: dict[str, tuple[str, str]] = {
    "openai": ("import openai", f"""
        c = openai.OpenAI(base_url=U + "/v1", api_key="sk-test", max_retries=0)
        c.chat.completions.create(model="gpt-4o", max_tokens=5, messages={M})
        list(c.chat.completions.create(model="gpt-4o", max_tokens=5, messages={M},
                                       stream=True))"""),
    "anthropic": ("import anthropic", f"""
        c = anthropic.Anthropic(base_url=U, api_key="sk-test", max_retries=0)
        c.messages.create(model="claude-haiku-4-5", max_tokens=5, messages={M})
        list(c.messages.create(model="claude-haiku-4-5", max_tokens=5, messages={M},
                               stream=True))"""),
    "google_genai": ("from google import genai\nfrom google.genai import types", """
        c = genai.Client(api_key="sim-key", http_options=types.HttpOptions(base_url=U))
        c.models.generate_content(model="gemini-2.5-flash", contents="hello there")
        list(c.models.generate_content_stream(model="gemini-2.5-flash",
                                              contents="hello there"))"""),
    # the README's spelling: the namespace package first, then the client inside it
    "mistralai": ("import mistralai\nimport mistralai.client", f"""
        # the client moved from the top level (1.x) to mistralai.client (2.0)
        Mistral = getattr(mistralai.client, "Mistral", None) or mistralai.Mistral
        c = Mistral(api_key="sim-key", server_url=U + "/mistral")
        c.chat.complete(model="mistral-small-latest", messages={M}, max_tokens=5)
        list(c.chat.stream(model="mistral-small-latest", messages={M}, max_tokens=5))"""),
    "cohere": ("import cohere", f"""
        c = cohere.ClientV2(api_key="sim-key", base_url=U)
        c.chat(model="command-a-03-2025", messages={M}, max_tokens=5)
        list(c.chat_stream(model="command-a-03-2025", messages={M}, max_tokens=5))"""),
    "huggingface_hub": ("from huggingface_hub import InferenceClient", f"""
        c = InferenceClient(model=U + "/hf/models/meta-llama/Llama-3.1-8B-Instruct")
        c.chat_completion({M}, max_tokens=5)
        list(c.chat_completion({M}, max_tokens=5, stream=True))"""),
    "litellm": ("import litellm", f"""
        kw = dict(api_base=U + "/v1", api_key="sk-test", num_retries=0)
        litellm.completion(model="openai/gpt-4o", messages={M}, max_tokens=5, **kw)
        list(litellm.completion(model="openai/gpt-4o", messages={M}, max_tokens=5,
                                stream=True, **kw))"""),
    "requests": ("import requests", f"""
        requests.post(U + "/v1/chat/completions", timeout=10,
                      json={{"model": "llama-3.1-8b", "messages": {M}, "max_tokens": 5}})
        requests.post(U + "/v1/completions", timeout=10,
                      json={{"model": "m1", "prompt": "abcdefgh", "max_tokens": 3}})"""),
}

_TEMPLATE = """
import json, sys
import wattmeter
from wattmeter.testing import capture
U = sys.argv[1]
wattmeter.configure(requests_base_urls=[U + "/v1"])
{before}
{imports}
{after}
with capture() as fps:
{calls}
print(json.dumps([[fp.operation, fp.output_tokens, fp.outcome] for fp in fps]))
"""


def _script(library: str, order: str) -> str:
    imports, calls = CASES[library]
    arm = f"wattmeter.instrument({library!r})" if library == "requests" else \
        "wattmeter.instrument()"
    return _TEMPLATE.format(before=arm if order == "before" else "", imports=imports,
                            after=arm if order == "after" else "",
                            calls=textwrap.indent(textwrap.dedent(calls).strip(), "    "))


@pytest.mark.parametrize("order", ["before", "after"])
@pytest.mark.parametrize("library", list(CASES))
def test_instrument_before_or_after_the_import(simulator: Any, library: str,
                                               order: str) -> None:
    pytest.importorskip(LIBRARIES[library][0])
    src = str(Path(wattmeter.__file__).resolve().parents[1])
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATTMETER_")}
    env.update(WATTMETER_STRICT="1", LITELLM_LOCAL_MODEL_COST_MAP="True",
               PYTHONPATH=os.pathsep.join([src, env.get("PYTHONPATH", "")]))
    out = subprocess.run([sys.executable, "-c", _script(library, order), simulator.url],
                         capture_output=True, text=True, timeout=180, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    recorded = json.loads(out.stdout.strip().splitlines()[-1])
    assert len(recorded) == 2, (library, order, recorded)
    assert all(outcome == "ok" and tokens > 0 for _, tokens, outcome in recorded), recorded
