"""Budget webhooks under hostile or flaky receivers (issue 12, defect 9): secrets kept out
of logs, no body re-posted to another host, Retry-After and jitter. Loopback only."""

from __future__ import annotations

import logging

from fault_servers import Handler, Server

from wattmeter.budget import post_webhook


def test_a_failing_webhook_is_logged_without_path_query_or_credentials(caplog) -> None:
    with Server(lambda h: h.send(404)) as hook:
        url = hook.url.replace("http://", "http://ops:hunter2@") + "/T0KEN/s3cr3t?key=abc123"
        with caplog.at_level(logging.WARNING, logger="wattmeter"):
            assert not post_webhook(url, {"a": 1}, retries=0)
    text = " ".join(r.getMessage() for r in caplog.records)
    assert "127.0.0.1" in text  # the host is named, so the log is still useful
    for secret in ("T0KEN", "s3cr3t", "abc123", "hunter2", "ops:"):
        assert secret not in text


def test_a_307_to_another_host_does_not_re_post_the_body() -> None:
    with Server(lambda h: h.send(200), host="127.0.0.2") as elsewhere:
        def redirect(h: Handler) -> None:
            h.send(307, headers={"Location": elsewhere.url + "/collect"})

        with Server(redirect) as hook:
            assert not post_webhook(hook.url + "/hook", {"secret": 1}, retries=0)
            assert len(hook.requests) == 1
        assert elsewhere.requests == []


def test_a_307_on_the_same_host_is_followed() -> None:
    def reply(h: Handler) -> None:
        if h.path == "/old":
            h.send(307, headers={"Location": "/new"})
        else:
            h.send(200)

    with Server(reply) as hook:
        assert post_webhook(hook.url + "/old", {"a": 1}, retries=0)
        assert [p for _, p, _ in hook.requests] == ["/old", "/new"]
        assert hook.requests[1][2] == b'{"a": 1}'


def test_retry_after_is_honoured() -> None:
    statuses = [429, 200]

    def reply(h: Handler) -> None:
        status = statuses.pop(0)
        h.send(status, headers={"Retry-After": "1"} if status == 429 else None)

    with Server(reply) as hook:
        assert post_webhook(hook.url, {"a": 1}, retries=2, backoff_s=0.01)
        (t0, _, _), (t1, _, _) = hook.requests
    assert t1 - t0 >= 0.9  # the server asked for 1 s; backoff alone would be 0.01 s


def test_retries_back_off_with_jitter() -> None:
    from wattmeter.budget._actions import webhook_session

    session = webhook_session(retries=3, backoff_s=0.5)
    retry = session.get_adapter("https://example.com").max_retries
    session.close()
    assert retry.total == 3 and retry.backoff_factor == 0.5
    assert retry.backoff_jitter > 0
    assert retry.respect_retry_after_header
    assert "POST" in retry.allowed_methods
