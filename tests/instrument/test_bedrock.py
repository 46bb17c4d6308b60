"""boto3 ``bedrock-runtime`` through the real botocore client against the simulator.

Converse, ConverseStream, InvokeModel and InvokeModelWithResponseStream (AWS event-stream
framing parsed by botocore itself), with dummy credentials and ``endpoint_url`` on
loopback; no network.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import wrapt

boto3 = pytest.importorskip("boto3")
from botocore.client import BaseClient  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.eventstream import EventStream  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402
from botocore.response import StreamingBody  # noqa: E402

import wattmeter  # noqa: E402
from wattmeter.instrument import instrumented  # noqa: E402
from wattmeter.instrument._bedrock_bodies import model_name, operation_for  # noqa: E402
from wattmeter.testing import capture  # noqa: E402

TEXT = "Name three prime numbers, briefly."
MESSAGES = [{"role": "user", "content": [{"text": TEXT}]}]
PROMPT_TOKENS = (len(TEXT) + 3) // 4
WORD = "tok "


@pytest.fixture
def client(simulator: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Iterator[Any]:
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_EC2_METADATA_DISABLED": "true",
                       "AWS_CONFIG_FILE": str(tmp_path / "none"),
                       "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")}.items():
        monkeypatch.setenv(key, value)
    wattmeter.instrument("bedrock")
    yield boto3.client("bedrock-runtime", endpoint_url=simulator.url, region_name="us-east-1",
                       config=Config(retries={"max_attempts": 2, "mode": "standard"}))
    wattmeter.uninstrument()


def _omit_token_headers(client: Any) -> None:
    """Ask the simulator to leave out Bedrock's token-count headers (body parsing path)."""
    def add(request: Any, **_: Any) -> None:
        request.headers["x-sim-omit-token-headers"] = "1"

    client.meta.events.register("before-send.bedrock-runtime.*", add)


def _metering_warnings(fp: Any) -> tuple[str, ...]:
    return tuple(w for w in fp.warnings if not w.startswith(("unknown model", "model '")))


def test_converse_and_stream(client: Any) -> None:
    with capture() as fps, wattmeter.attribute(team="search"):
        out = client.converse(modelId="us.anthropic.claude-3-haiku-20240307-v1:0",
                              messages=MESSAGES, inferenceConfig={"maxTokens": 5})
        resp = client.converse_stream(
            modelId="arn:aws:bedrock:us-east-1::foundation-model/"
                    "anthropic.claude-3-haiku-20240307-v1:0",
            messages=MESSAGES, inferenceConfig={"maxTokens": 7})
        assert isinstance(resp["stream"], EventStream)
        text = "".join(e["contentBlockDelta"]["delta"]["text"] for e in resp["stream"]
                       if "contentBlockDelta" in e)
    assert out["usage"]["outputTokens"] == 5 and text == WORD * 7
    assert [(fp.provider, fp.model, fp.operation, fp.team, fp.input_tokens, fp.output_tokens)
            for fp in fps] == [("bedrock", "claude-3-haiku-20240307", "chat", "search",
                                PROMPT_TOKENS, 5),
                               ("bedrock", "claude-3-haiku-20240307", "chat", "search",
                                PROMPT_TOKENS, 7)]
    assert all(fp.warnings == () for fp in fps)  # the model resolves in the registry
    assert TEXT not in repr(fps)


def test_converse_stream_closed_early_is_estimated(client: Any) -> None:
    with capture() as fps:
        resp = client.converse_stream(modelId="anthropic.claude-3-haiku-20240307-v1:0",
                                      messages=MESSAGES, inferenceConfig={"maxTokens": 20})
        stream = resp["stream"]
        for event in stream:
            if "contentBlockDelta" in event:
                break
        stream.close()
    [fp] = fps
    assert (fp.input_tokens, fp.output_tokens) == (PROMPT_TOKENS, 4)
    assert _metering_warnings(fp)


INVOKE_BODIES = {
    "anthropic.claude-3-haiku-20240307-v1:0": {
        "anthropic_version": "bedrock-2023-05-31", "max_tokens": 6, "messages": [
            {"role": "user", "content": TEXT}]},
    "meta.llama3-1-8b-instruct-v1:0": {"prompt": TEXT, "max_gen_len": 6},
    "amazon.nova-lite-v1:0": {"messages": MESSAGES, "inferenceConfig": {"maxTokens": 6}},
}
MODELS = {"anthropic.claude-3-haiku-20240307-v1:0": "claude-3-haiku-20240307",
          "meta.llama3-1-8b-instruct-v1:0": "llama3-1-8b-instruct",
          "amazon.nova-lite-v1:0": "nova-lite"}


@pytest.mark.parametrize("headers", [True, False], ids=["token-headers", "body"])
@pytest.mark.parametrize("model_id", list(INVOKE_BODIES))
def test_invoke_model(client: Any, model_id: str, headers: bool) -> None:
    if not headers:
        _omit_token_headers(client)
    with capture() as fps:
        resp = client.invoke_model(modelId=model_id, body=json.dumps(INVOKE_BODIES[model_id]))
        assert isinstance(resp["body"], StreamingBody)
        body = json.loads(resp["body"].read())
    assert WORD * 6 in json.dumps(body)  # the caller reads the body it always did
    [fp] = fps
    assert (fp.provider, fp.model, fp.input_tokens, fp.output_tokens) == (
        "bedrock", MODELS[model_id], PROMPT_TOKENS, 6)
    assert fp.warnings == ()


def test_invoke_model_body_read_in_chunks_and_unreported_usage(client: Any) -> None:
    _omit_token_headers(client)
    with capture() as fps:
        resp = client.invoke_model(modelId="mistral.mistral-large-2402-v1:0",
                                   body=json.dumps({"prompt": TEXT, "max_tokens": 8}))
        data = b"".join(resp["body"].iter_chunks(16))
        embed = client.invoke_model(modelId="amazon.titan-embed-text-v2:0",
                                    body=json.dumps({"inputText": TEXT}))
        embed["body"].read()
    assert json.loads(data)["outputs"][0]["text"] == WORD * 8
    mistral, titan = fps
    assert (mistral.model, mistral.output_tokens) == ("mistral-large-2402", 8)
    assert _metering_warnings(mistral)  # Mistral's body has no counts: estimated, flagged
    assert (titan.operation, titan.input_tokens, titan.output_tokens) == (
        "embeddings", PROMPT_TOKENS, 0)
    assert not _metering_warnings(titan)


@pytest.mark.parametrize("metrics", [True, False], ids=["invocation-metrics", "chunks"])
@pytest.mark.parametrize("model_id", list(INVOKE_BODIES))
def test_invoke_model_with_response_stream(client: Any, model_id: str, metrics: bool) -> None:
    if not metrics:
        _omit_token_headers(client)  # the simulator then sends no invocationMetrics either
    with capture() as fps:
        resp = client.invoke_model_with_response_stream(
            modelId=model_id, body=json.dumps(INVOKE_BODIES[model_id]))
        assert isinstance(resp["body"], EventStream)
        chunks = [json.loads(e["chunk"]["bytes"]) for e in resp["body"]]
    assert chunks and WORD in json.dumps(chunks)
    [fp] = fps
    assert (fp.model, fp.input_tokens, fp.output_tokens) == (MODELS[model_id], PROMPT_TOKENS, 6)
    assert fp.warnings == ()


def test_errors_are_recorded_once_and_raised(client: Any) -> None:
    with capture() as fps, pytest.raises(ClientError) as info:
        client.converse(modelId="error-429", messages=MESSAGES)
    assert info.value.response["Error"]["Code"] == "ThrottlingException"
    assert [(fp.outcome, fp.output_tokens) for fp in fps] == [("error", 0)]  # retries: one call


def test_other_services_pass_through_and_uninstrument_restores(client: Any,
                                                              simulator: Any) -> None:
    s3 = boto3.client("s3", endpoint_url=simulator.url, region_name="us-east-1")
    with capture() as fps, pytest.raises(ClientError):
        s3.list_buckets()
    assert fps == []
    assert "bedrock" in instrumented()
    wattmeter.uninstrument("bedrock")
    assert not isinstance(BaseClient.__dict__["_make_api_call"], wrapt.FunctionWrapper)
    with capture() as fps:
        client.converse(modelId="anthropic.claude-3-haiku-20240307-v1:0", messages=MESSAGES)
    assert fps == []


@pytest.mark.parametrize(("model_id", "name"), [
    ("anthropic.claude-3-5-haiku-20241022-v1:0", "claude-3-5-haiku-20241022"),
    ("us.anthropic.claude-3-7-sonnet-20250219-v1:0", "claude-3-7-sonnet-20250219"),
    ("eu.meta.llama3-2-3b-instruct-v1:0", "llama3-2-3b-instruct"),
    ("apac.amazon.nova-pro-v1:0", "nova-pro"),
    ("global.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5-20250929"),
    ("anthropic.claude-3-haiku-20240307-v1:0:200k", "claude-3-haiku-20240307"),
    ("arn:aws:bedrock:us-east-1::foundation-model/meta.llama3-70b-instruct-v1:0",
     "llama3-70b-instruct"),
    ("arn:aws:bedrock:eu-west-1:123456789012:inference-profile/"
     "eu.anthropic.claude-3-haiku-20240307-v1:0", "claude-3-haiku-20240307"),
    ("arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3",
     "application-inference-profile/a1b2c3"),
    ("my-imported-model", "my-imported-model"),
    (None, "unknown"),
])
def test_model_ids(model_id: Any, name: str) -> None:
    assert model_name(model_id) == name


def test_embedding_models_are_embeddings() -> None:
    assert operation_for("amazon.titan-embed-text-v2:0") == "embeddings"
    assert operation_for("cohere.embed-english-v3") == "embeddings"
    assert operation_for("amazon.nova-lite-v1:0") == "chat"


def test_span_names_the_provider_aws_bedrock(client: Any, spans: Any) -> None:
    from wattmeter.export import semconv as sc

    wattmeter.configure(spans="create")
    client.converse(modelId="eu.anthropic.claude-3-haiku-20240307-v1:0", messages=MESSAGES,
                    inferenceConfig={"maxTokens": 3})
    wattmeter.flush()  # wattmeter's own span ends on the record queue's thread
    ours = [s for s in spans.get_finished_spans()
            if (s.attributes or {}).get(sc.ATTR_ENERGY_WH) is not None]
    [span] = ours
    a = span.attributes or {}
    assert a[sc.GEN_AI_PROVIDER_NAME] == "aws.bedrock"
    assert a[sc.GEN_AI_REQUEST_MODEL] == "claude-3-haiku-20240307"
    assert (a[sc.GEN_AI_USAGE_INPUT_TOKENS], a[sc.GEN_AI_USAGE_OUTPUT_TOKENS]) == (
        PROMPT_TOKENS, 3)


def test_span_details_plain_and_streamed(span_details: Any, client: Any,
                                         sim_server: tuple[str, int]) -> None:
    """server.address / server.port from the client's endpoint URL; Converse's stopReason
    plain and streamed; no response id (Bedrock sends none, only its HTTP request id)."""
    model = "anthropic.claude-3-haiku-20240307-v1:0"
    out = client.converse(modelId=model, messages=MESSAGES, inferenceConfig={"maxTokens": 3})
    resp = client.converse_stream(modelId=model, messages=MESSAGES,
                                  inferenceConfig={"maxTokens": 3})
    list(resp["stream"])
    assert span_details() == [(*sim_server, None, (out["stopReason"],))] * 2
