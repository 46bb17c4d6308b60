"""Reports built from the ledger: the self-contained HTML report, the CSRD/GHG export and
the "what each team could change" estimates (``wattmeter report --html / --export``).

Everything here reads the ledger file and the estimator; nothing runs on a caller's thread.
Charts need matplotlib (the ``report`` extra); the export and the estimates do not.
"""

from __future__ import annotations

from datetime import tzinfo

from ._advice import Change, changes
from ._data import Data, load
from ._export import export_csv, export_json

__all__ = ["Change", "Data", "changes", "export_csv", "export_json", "html", "load"]


def html(data: Data, tz: tzinfo, ledger: str, *, team: str | None = None,
         now: float | None = None) -> str:
    """The HTML report of `data` (read from the ledger file `ledger`) as one document."""
    import sqlite3

    from ._budgets import statuses
    from ._html import render

    try:
        budgets = statuses(ledger, tz, team, now)
    except sqlite3.Error:  # a read-only copy of a ledger: no budgets section, still a report
        budgets = []
    return render(data, tz, team=team, statuses=budgets, changes=changes(data),
                  ledger=ledger, now=now)
