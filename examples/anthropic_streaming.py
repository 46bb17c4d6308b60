"""Stream Anthropic messages with attribution: the ``messages.stream()`` helper and
``messages.create(stream=True)``, each metered once when the stream ends.

Streams behave exactly as without wattmeter; the footprint is recorded from the usage in
the final events. Attribution is taken when the request starts, so a stream read later,
outside the ``attribute`` block, still counts for the team that opened it.

Run it with no API key against wattmeter's local provider simulator::

    python examples/anthropic_streaming.py

or against the real API::

    WATTMETER_EXAMPLE_BASE_URL=https://api.anthropic.com ANTHROPIC_API_KEY=sk-ant-... \
        python examples/anthropic_streaming.py
"""

from __future__ import annotations

import os

import anthropic
from _simulator import base_url

import wattmeter
from wattmeter.testing import capture

MODEL = "claude-haiku-4-5"


@wattmeter.attribute(team="support", feature="ticket-reply")  # also works as a decorator
def draft_reply(client: anthropic.Anthropic, ticket: str) -> str:
    """Stream a reply with the ``messages.stream()`` helper, printing text as it arrives."""
    with client.messages.stream(
        model=MODEL, max_tokens=60,
        messages=[{"role": "user", "content": f"Draft a short reply to: {ticket}"}],
    ) as stream:
        for text in stream.text_stream:
            print(text, end="", flush=True)
        print()
        return "".join(block.text for block in stream.get_final_message().content
                       if block.type == "text")


def main() -> None:
    """Run both streaming styles and print each call's footprint."""
    wattmeter.instrument("anthropic")
    with base_url("", provider=None) as url:  # Anthropic routes sit at the root
        client = anthropic.Anthropic(base_url=url,
                                     api_key=os.environ.get("ANTHROPIC_API_KEY", "simulator"))
        with capture() as footprints:
            # 1. The stream helper, attributed by the decorator above.
            draft_reply(client, "My invoice shows the wrong address.")

            # 2. create(stream=True): raw server-sent events, attributed by a with-block.
            with wattmeter.attribute(team="research", feature="summaries"):
                events = client.messages.create(
                    model=MODEL, max_tokens=30, stream=True,
                    messages=[{"role": "user", "content": "Summarise the last paper."}],
                )
            # Read outside the block: the call still belongs to "research".
            kinds = [event.type for event in events]
            print(f"events: {kinds[0]} ... {kinds[-1]} ({len(kinds)} in all)")

        for fp in footprints:
            print(f"team={fp.team} feature={fp.labels.get('feature')} model={fp.model}"
                  f" tokens={fp.input_tokens}+{fp.output_tokens}"
                  f" energy={fp.energy_wh:.5f} Wh co2e={fp.co2e_g:.5f} g")
    wattmeter.uninstrument()


if __name__ == "__main__":
    main()
