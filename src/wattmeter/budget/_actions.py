"""What happens when a budget crosses a threshold: a log line, a callback, a webhook.

Events are delivered by one background thread, never on the call path: a slow webhook
or callback delays other events, not the application's requests. Webhooks are POSTed as
JSON with a timeout and a few retries with backoff.
"""

from __future__ import annotations

import queue
import threading
import time
from typing import Any, NamedTuple

from .._guard import logger
from ._budget import Budget
from ._units import format_amount

__all__ = ["BudgetEvent", "Dispatcher", "post_webhook"]


class BudgetEvent(NamedTuple):
    """One threshold crossed by one budget in one period (what callbacks and webhooks get)."""

    budget: Budget
    threshold: float
    used: float
    limit: float
    unit: str
    forecast: float
    period_start: float
    period_end: float | None
    at: float

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (the webhook body)."""
        return {
            "event": "wattmeter.budget.threshold", "budget": self.budget.name,
            "team": self.budget.team, "threshold": self.threshold, "used": self.used,
            "limit": self.limit, "unit": self.unit, "ratio": self.used / self.limit,
            "forecast": self.forecast, "period": self.budget.period.text,
            "period_start": self.period_start, "period_end": self.period_end, "at": self.at,
        }


def post_webhook(url: str, body: dict[str, Any], *, timeout_s: float = 2.0,
                 retries: int = 3, backoff_s: float = 0.5, session: Any = None) -> bool:
    """POST `body` as JSON; retry on errors, 5xx and 429 with doubling backoff; True if 2xx."""
    import requests

    http = session or requests
    delay = backoff_s
    for attempt in range(retries + 1):
        try:
            resp = http.post(url, json=body, timeout=timeout_s)
            if resp.status_code < 300:
                return True
            if resp.status_code < 500 and resp.status_code != 429:
                logger.warning("wattmeter budget webhook: %s answered HTTP %d; not retrying",
                               url, resp.status_code)
                return False
            reason = f"HTTP {resp.status_code}"
        except Exception as exc:
            reason = type(exc).__name__
        if attempt < retries:
            time.sleep(delay)
            delay *= 2
    logger.warning("wattmeter budget webhook: %s failed after %d attempts (%s)", url,
                   retries + 1, reason)
    return False


class Dispatcher:
    """Runs each event's actions on one daemon thread (started on the first event)."""

    def __init__(self, webhook_url: str | None = None, *, timeout_s: float = 2.0,
                 retries: int = 3, backoff_s: float = 0.5) -> None:
        self.webhook_url = webhook_url
        self.timeout_s, self.retries, self.backoff_s = timeout_s, retries, backoff_s
        self._queue: queue.Queue[BudgetEvent | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.delivered = 0
        self.failures: list[str] = []

    def submit(self, event: BudgetEvent) -> None:
        """Queue an event; its actions run on the dispatcher thread."""
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="wattmeter-budget-events",
                                                daemon=True)
                self._thread.start()
        self._queue.put(event)

    def _run(self) -> None:
        while True:
            event = self._queue.get()
            try:
                if event is None:
                    return
                self.deliver(event)
            finally:
                self._queue.task_done()

    def deliver(self, event: BudgetEvent) -> None:
        """Run the budget's actions for one event now (on the calling thread)."""
        b = event.budget
        if "log" in b.actions:
            logger.warning(
                "wattmeter budget %r (team %r): %d%% of %s used this %s (%s; forecast %s)",
                b.name, b.team, round(event.threshold * 100), format_amount(b.metric, b.limit),
                "window" if b.period.rolling else b.period.text,
                format_amount(b.metric, event.used), format_amount(b.metric, event.forecast))
        if "callback" in b.actions and b.callback is not None:
            try:
                b.callback(event)
            except Exception as exc:  # the user's code: report, don't stop other events
                self.failures.append(f"callback: {exc!r}")
                logger.warning("wattmeter budget %r: callback raised %r", b.name, exc)
        if "webhook" in b.actions:
            url = b.webhook_url or self.webhook_url
            if url is None:
                self.failures.append("webhook: no URL")
                logger.warning("wattmeter budget %r: webhook action without webhook_url",
                               b.name)
            elif not post_webhook(url, event.to_dict(), timeout_s=self.timeout_s,
                                  retries=self.retries, backoff_s=self.backoff_s):
                self.failures.append(f"webhook: {url}")
        self.delivered += 1

    def wait(self, timeout_s: float = 10.0) -> bool:
        """Block until queued events are delivered (tests, exit); False on timeout."""
        deadline = time.monotonic() + timeout_s
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def close(self, timeout_s: float = 5.0) -> None:
        """Deliver what is queued (up to `timeout_s`) and stop the thread."""
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout_s)
