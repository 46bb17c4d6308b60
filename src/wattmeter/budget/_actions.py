"""What happens when a budget crosses a threshold: a log line, a callback, a webhook.

Events are delivered by one background thread, never on the call path: a slow webhook
or callback delays other events, not the application's requests. Webhooks are POSTed as
JSON through a `requests` session with urllib3 `Retry`: a few retries on errors, 429 and
5xx, exponential backoff with jitter, ``Retry-After`` honoured (capped); redirects are
followed only to the same scheme, host and port (a 307 never re-posts the body elsewhere);
logs name the webhook by scheme and host only, never its path, query or credentials.
"""

from __future__ import annotations

import queue
import threading
import time
from typing import Any, NamedTuple

from .._guard import logger
from ._budget import Budget
from ._fleet import redact_url
from ._units import format_amount

__all__ = ["BudgetEvent", "Dispatcher", "post_webhook", "webhook_session"]

#: Longest wait a ``Retry-After`` header may impose on the event thread (seconds).
MAX_RETRY_AFTER_S = 30.0
#: Same-origin redirects followed per delivery.
MAX_REDIRECTS = 3
_RETRY_STATUSES = (429, 500, 502, 503, 504)


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


def webhook_session(retries: int = 3, backoff_s: float = 0.5) -> Any:
    """A `requests.Session` that retries webhook POSTs (errors, 429, 5xx) with
    exponential backoff plus jitter and honours ``Retry-After`` up to a cap."""
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    class _Retry(Retry):
        def get_retry_after(self, response: Any) -> float | None:
            after = super().get_retry_after(response)
            return None if after is None else min(after, MAX_RETRY_AFTER_S)

    common: dict[str, Any] = dict(
        total=retries, connect=retries, read=retries, status=retries, redirect=0,
        backoff_factor=backoff_s, status_forcelist=_RETRY_STATUSES,
        allowed_methods=frozenset({"POST"}), respect_retry_after_header=True,
        raise_on_status=False, raise_on_redirect=False)
    try:  # urllib3 2: jitter and a backoff cap
        retry = _Retry(other=0, backoff_jitter=backoff_s, backoff_max=MAX_RETRY_AFTER_S,
                       **common)
    except TypeError:  # urllib3 1.26 (requests allows it): exponential backoff only
        retry = _Retry(**common)
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def _origin(url: str) -> tuple[str, str, int | None]:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port


def post_webhook(url: str, body: dict[str, Any], *, timeout_s: float = 2.0,
                 retries: int = 3, backoff_s: float = 0.5, session: Any = None) -> bool:
    """POST `body` as JSON; retry on errors, 5xx and 429 (backoff with jitter,
    ``Retry-After`` honoured); follow same-origin 307/308 only; True if 2xx."""
    from urllib.parse import urljoin

    own = session is None
    http = webhook_session(retries, backoff_s) if own else session
    safe = redact_url(url)
    target = url
    try:
        for _ in range(MAX_REDIRECTS + 1):
            try:
                resp = http.post(target, json=body, timeout=timeout_s, allow_redirects=False)
            except Exception as exc:
                logger.warning("wattmeter budget webhook: %s failed after %d attempts (%s)",
                               safe, retries + 1, type(exc).__name__)
                return False
            status = resp.status_code
            if status < 300:
                return True
            if status in (307, 308) and resp.headers.get("Location"):
                nxt = urljoin(target, resp.headers["Location"])
                if _origin(nxt) == _origin(url):
                    target = nxt
                    continue
                logger.warning("wattmeter budget webhook: %s redirected to another host "
                               "(%s); not followed, so the body is not sent there", safe,
                               redact_url(nxt))
                return False
            if 300 <= status < 400:
                logger.warning("wattmeter budget webhook: %s answered HTTP %d (a redirect "
                               "that would drop the body); not followed", safe, status)
            elif status in _RETRY_STATUSES:
                logger.warning("wattmeter budget webhook: %s failed after %d attempts "
                               "(HTTP %d)", safe, retries + 1, status)
            else:
                logger.warning("wattmeter budget webhook: %s answered HTTP %d; not retrying",
                               safe, status)
            return False
        logger.warning("wattmeter budget webhook: %s redirected more than %d times",
                       safe, MAX_REDIRECTS)
        return False
    finally:
        if own:
            http.close()


class Dispatcher:
    """Runs each event's actions on one daemon thread (started on the first event)."""

    def __init__(self, webhook_url: str | None = None, *, timeout_s: float = 2.0,
                 retries: int = 3, backoff_s: float = 0.5) -> None:
        self.webhook_url = webhook_url
        self.timeout_s, self.retries, self.backoff_s = timeout_s, retries, backoff_s
        self._queue: queue.Queue[BudgetEvent | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._session: Any = None  # made on the event thread, on the first webhook
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
            else:
                if self._session is None:
                    self._session = webhook_session(self.retries, self.backoff_s)
                if not post_webhook(url, event.to_dict(), timeout_s=self.timeout_s,
                                    retries=self.retries, backoff_s=self.backoff_s,
                                    session=self._session):
                    self.failures.append(f"webhook: {redact_url(url)}")
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
        if self._session is not None and (self._thread is None or not self._thread.is_alive()):
            self._session.close()
            self._session = None
