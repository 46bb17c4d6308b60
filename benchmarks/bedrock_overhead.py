"""Cost of wattmeter's botocore patch: a non-Bedrock call passing through it, and a metered
Converse call and ConverseStream event, wattmeter's work alone.

botocore's ``BaseClient._make_api_call`` is patched once for every AWS client, so its
pass-through cost is paid by every S3, DynamoDB... call; a Bedrock call pays the meter.
The patched method wraps a stub returning a canned, already-parsed response (no HTTP, no
botocore parsing), paired with the same stub unpatched; the figures are the difference,
in microseconds of thread CPU time per call (best of several repeats, Prometheus
metrics on).

    python benchmarks/bedrock_overhead.py
"""

from __future__ import annotations

import time
import timeit
from collections.abc import Callable
from typing import Any

N = 20_000
_CONVERSE = {"output": {"message": {"role": "assistant", "content": [{"text": "Hi there"}]}},
             "stopReason": "end_turn",
             "usage": {"inputTokens": 12, "outputTokens": 7, "totalTokens": 19},
             "metrics": {"latencyMs": 40}, "ResponseMetadata": {"HTTPHeaders": {}}}
_EVENTS = [{"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"text": "tok "}}}] * 400 + [
    {"metadata": {"usage": {"inputTokens": 12, "outputTokens": 400, "totalTokens": 412}}}]


def best_us(fn: Callable[[], object], n: int = N, repeat: int = 5) -> float:
    # Thread CPU time, so other processes on a busy machine stay out of the figures.
    return min(timeit.repeat(fn, number=n, repeat=repeat, timer=time.thread_time)) / n * 1e6


class _Meta:
    def __init__(self, service: str) -> None:
        self.service_model = type("ServiceModel", (), {"service_name": service})()


class Client:
    """Stands in for a botocore client: ``_make_api_call`` returns a canned response."""

    def __init__(self, service: str) -> None:
        self.meta = _Meta(service)

    def _make_api_call(self, operation_name: str, api_params: dict[str, Any]) -> Any:
        if operation_name == "ConverseStream":
            return {"stream": iter(_EVENTS)}
        return dict(_CONVERSE)


def main() -> None:
    from wattmeter.instrument._patching import patch_method

    s3, bedrock = Client("s3"), Client("bedrock-runtime")
    params = {"modelId": "us.anthropic.claude-3-5-haiku-20241022-v1:0",
              "messages": [{"role": "user", "content": [{"text": "Hello"}]}]}
    bare_other = best_us(lambda: s3._make_api_call("ListBuckets", {}))
    bare_call = best_us(lambda: bedrock._make_api_call("Converse", params))
    bare_stream = best_us(lambda: list(bedrock._make_api_call("ConverseStream", params)
                                       ["stream"]), n=200)

    from wattmeter.instrument import bedrock as br

    p = patch_method(__name__, "Client._make_api_call", br.Converse(),
                     wrapper=br._make_api_call)
    try:
        other = best_us(lambda: s3._make_api_call("ListBuckets", {}))
        call = best_us(lambda: bedrock._make_api_call("Converse", params))
        stream = best_us(lambda: list(bedrock._make_api_call("ConverseStream", params)
                                      ["stream"]), n=200)
    finally:
        p.undo()
    per_event = (stream - bare_stream - (call - bare_call)) / len(_EVENTS)
    print(f"non-Bedrock call passing through   {other - bare_other:7.2f} µs added")
    print(f"Converse call metered              {call - bare_call:7.2f} µs added")
    print(f"ConverseStream event               {per_event:7.2f} µs added per event "
          f"({len(_EVENTS)} events a stream)")


if __name__ == "__main__":
    main()
