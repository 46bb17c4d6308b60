"""Webhook action against a local HTTP server: body, retries, timeouts, off the call path."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from budget_helpers import Clock, fp, manager

from wattmeter import Budget
from wattmeter.budget import post_webhook


class Hook:
    """A loopback HTTP server answering with scripted statuses, optionally held."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        self.hold = threading.Event()
        self.hold.set()
        self.delay = 0.0
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hook.hold.wait(10)
                if hook.delay:
                    threading.Event().wait(hook.delay)
                hook.bodies.append(json.loads(body))
                status = hook.statuses.pop(0) if hook.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()


@pytest.fixture
def hook() -> Iterator[Hook]:
    h = Hook()
    yield h
    h.hold.set()
    h.server.shutdown()
    h.server.server_close()


def test_retries_5xx_then_delivers(hook: Hook) -> None:
    hook.statuses = [503, 500]
    assert post_webhook(hook.url, {"a": 1}, retries=3, backoff_s=0.01)
    assert len(hook.bodies) == 3


def test_gives_up_on_4xx_and_after_retries(hook: Hook) -> None:
    hook.statuses = [404]
    assert not post_webhook(hook.url, {"a": 1}, retries=3, backoff_s=0.01)
    assert len(hook.bodies) == 1
    hook.statuses = [500, 500, 500]
    assert not post_webhook(hook.url, {"a": 1}, retries=2, backoff_s=0.01)
    assert len(hook.bodies) == 4


def test_timeout_counts_as_a_failed_attempt(hook: Hook) -> None:
    hook.delay = 0.5
    assert not post_webhook(hook.url, {"a": 1}, timeout_s=0.1, retries=1, backoff_s=0.01)


def test_budget_events_post_while_calls_go_on(tmp_path, hook: Hook) -> None:
    clock = Clock(1_780_000_000.0)
    b = Budget(team="search", limit_wh=10, period="day", actions=("webhook", "raise"),
               webhook_url=hook.url, thresholds=(0.5, 1.0))
    mgr = manager(tmp_path, [b], clock)
    hook.hold.clear()  # the webhook server hangs until released
    mgr.record(fp(wh=6))
    mgr.sync()  # the event is queued for the dispatcher; sync does not wait for it
    for _ in range(50):  # calls go on while the webhook is stuck
        mgr.check("search", {}, "openai", "gpt-4o", "chat")
        mgr.record(fp(wh=0.01))
    assert hook.bodies == []
    hook.hold.set()
    assert mgr.dispatcher.wait(10)
    (body,) = hook.bodies
    assert body["budget"] == "search/day/energy" and body["threshold"] == 0.5
    assert body["unit"] == "Wh" and body["used"] == pytest.approx(6.0)
    assert body["period_end"] > body["period_start"]
    mgr.close()


def test_default_webhook_url_from_configuration(tmp_path, hook: Hook) -> None:
    clock = Clock(1_780_000_000.0)
    b = Budget(team="search", limit_wh=10, period="day", actions=("webhook",))
    mgr = manager(tmp_path, [b], clock, webhook_url=hook.url)
    mgr.record(fp(wh=11))
    mgr.sync()
    assert mgr.dispatcher.wait(10)
    assert [x["threshold"] for x in hook.bodies] == [0.5, 0.8, 1.0]
    mgr.close()
