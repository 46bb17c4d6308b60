"""Enforce a team's energy budget: a warning callback at 50% and 80%, then
`BudgetExceededError` at 100%, raised before the refused request is sent.

Budgets are opt-in per action: ``"raise"`` refuses calls once the limit is reached (the
one exception wattmeter raises on purpose); ``"callback"``, ``"log"`` and ``"webhook"``
report thresholds from a background thread, never on the call path. Use is kept in a
SQLite ledger (here a temporary file, so every run starts afresh).

Run it with no API key against wattmeter's local provider simulator::

    python examples/budgets_enforced.py

or against a real endpoint::

    WATTMETER_EXAMPLE_BASE_URL=https://api.openai.com/v1 OPENAI_API_KEY=sk-... \
        python examples/budgets_enforced.py
"""

from __future__ import annotations

import os
import tempfile
import time
from typing import Any

import openai
from _simulator import base_url

import wattmeter
import wattmeter.budget


def on_threshold(event: wattmeter.budget.BudgetEvent) -> None:
    """Budget callback: runs on wattmeter's event thread when a threshold is crossed."""
    print(f"callback: budget {event.budget.name!r} crossed {event.threshold:.0%}"
          f" ({event.used:.4f} of {event.limit:.4f} {event.unit})", flush=True)


def main() -> None:
    """Call until the budget refuses, counting the requests that actually left."""
    sent: list[str] = []  # every HTTP request the client really sent

    def count_request(request: Any) -> None:
        sent.append(request.url.path)

    with tempfile.TemporaryDirectory() as tmp, base_url() as url:
        # A budget of about seven calls, sized with the same estimator the meter uses.
        per_call_wh = wattmeter.estimate("gpt-4o", provider="openai", input_tokens=10,
                                         output_tokens=50).energy_wh
        wattmeter.configure(
            ledger_path=os.path.join(tmp, "ledger.sqlite3"),  # keep it somewhere durable
            ledger_flush_s=0.05,
            budgets=[wattmeter.Budget(
                team="search", limit_wh=7.5 * per_call_wh, period="day",
                actions=("callback", "raise"), thresholds=(0.5, 0.8, 1.0),
                callback=on_threshold,
            )],
        )
        wattmeter.instrument("openai")
        client = openai.OpenAI(
            base_url=url, api_key=os.environ.get("OPENAI_API_KEY", "simulator"),
            # the SDK's own HTTP client class (httpx, or httpx2 in openai 3.x), not a
            # separate import: the example needs nothing beyond `wattmeter[openai]`
            http_client=openai.DefaultHttpxClient(event_hooks={"request": [count_request]}),
        )
        with wattmeter.attribute(team="search"):
            for attempt in range(1, 21):
                try:
                    client.chat.completions.create(
                        model="gpt-4o",
                        messages=[{"role": "user", "content": "Rank these ten results."}],
                        max_tokens=50,
                    )
                except wattmeter.BudgetExceededError as exc:
                    print(f"call {attempt}: refused: {exc}")
                    print(f"refused before sending: {len(sent)} requests sent for"
                          f" {attempt} calls; used {exc.used:.4f} of {exc.limit:.4f} {exc.unit}")
                    break
                print(f"call {attempt}: sent", flush=True)
                time.sleep(0.1)  # calls spread over time let the event thread report between them
        # Other teams are not affected by the search team's budget.
        with wattmeter.attribute(team="ads"):
            client.chat.completions.create(model="gpt-4o", max_tokens=5,
                                           messages=[{"role": "user", "content": "hi"}])
            print("team ads: call sent")

        manager = wattmeter.budget.current_manager()
        if manager is not None:
            manager.flush()  # what the background thread does every ledger_flush_s
            for status in manager.status():
                print(f"status: {status.name} used {status.used:.4f} of {status.limit:.4f}"
                      f" {status.unit} ({status.ratio:.0%}, {status.period})")
        wattmeter.budget.close()  # flush the ledger and deliver queued callbacks
        wattmeter.uninstrument()


if __name__ == "__main__":
    main()
