"""Integrations that other programs load by name: the LiteLLM proxy's ``CustomLogger``.

Each module here imports its host library at import time (it is only ever imported by
that host), so ``import wattmeter`` never imports them.
"""

from __future__ import annotations

__all__: list[str] = []
