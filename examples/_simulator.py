"""Where the examples send their calls: $WATTMETER_EXAMPLE_BASE_URL, or a local simulator.

Shared by the example scripts (``from _simulator import base_url``, which works because
``python examples/x.py`` puts ``examples/`` on the import path); not an example itself.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import wattmeter

__all__ = ["base_url", "endpoint"]


@contextlib.contextmanager
def endpoint(path: str = "/v1", provider: str = "openai") -> Iterator[tuple[str, dict[str, str]]]:
    """($WATTMETER_EXAMPLE_BASE_URL, {}), or a local simulator's URL + `path` and the
    ``provider_hosts`` that name its loopback host `provider` (else it is "self-hosted")."""
    url = os.environ.get("WATTMETER_EXAMPLE_BASE_URL")
    if url:
        yield url, {}
        return
    from wattmeter.testing.simulator import Simulator

    with Simulator() as sim:
        yield sim.url + path, {sim.host: provider}


@contextlib.contextmanager
def base_url(path: str = "/v1", provider: str | None = "openai") -> Iterator[str]:
    """$WATTMETER_EXAMPLE_BASE_URL, or the URL of a local simulator started for the run.

    With the simulator, calls to it are metered as `provider`'s (configured here), so the
    footprint is the one a real call would get; None leaves the configuration alone.
    """
    with endpoint(path, provider or "") as (url, hosts):
        if provider and hosts:
            wattmeter.configure(provider_hosts=hosts)
        yield url
