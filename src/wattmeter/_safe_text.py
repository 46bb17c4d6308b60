"""Text that came from outside (team, model, label names) made safe where it is printed.

A team name is chosen by whoever sends the request: printed raw it can drive the reader's
terminal (OSC 52 clipboard writes, OSC 8 links, window titles, BEL, backspace), run as a
formula when a CSV file is opened in a spreadsheet, or become markup in the HTML report.
One function per destination; each leaves ordinary names unchanged. Depends on nothing.
"""

from __future__ import annotations

import html
import re
from typing import Any

__all__ = ["for_csv", "for_html", "for_terminal", "lines_for_terminal"]

# C0 controls (tab too: it would misalign a table), DEL, C1 controls
# (U+0080-U+009F, incl. the 8-bit CSI/OSC/ST), and the Unicode bidi controls that reorder
# what is displayed (Trojan Source, CVE-2021-42574): LRM/RLM/ALM, embeddings, overrides,
# isolates; and the Unicode line and paragraph separators. An ESC sequence is removed
# whole (ESC [ ... final, ESC ] ... BEL/ST), so no stray "]52;c;..." payload is left behind.
_ESC_SEQ = re.compile(
    r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC ... (BEL or ST terminated, or cut)
    r"|\x1b[P^_X][^\x1b]*(?:\x1b\\)?"  # DCS / PM / APC / SOS strings
    r"|\x1b\[[0-?]*[ -/]*[@-~]?"  # CSI
    r"|\x1b[ -/]*[0-~]?"  # other two-char escapes
    r"|\x9b[0-?]*[ -/]*[@-~]?"  # 8-bit CSI
    r"|\x9d[^\x07\x9c]*[\x07\x9c]?")  # 8-bit OSC
_CONTROLS = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
#: A cell starting with one of these is a formula (or becomes one) in Excel, LibreOffice
#: and Google Sheets: OWASP's CSV injection guidance.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def for_terminal(value: Any) -> str:
    """`value` as text with escape sequences, control and bidi characters removed."""
    text = value if isinstance(value, str) else str(value)
    if text.isprintable() and text.isascii():
        return text
    return _CONTROLS.sub("", _ESC_SEQ.sub("", text))


_CONTROLS_BUT_LINES = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029"
    "\u202a-\u202e\u2066-\u2069]|\r(?!\n)")  # a bare CR rewrites the line on screen


def lines_for_terminal(text: str) -> str:
    """A document (CSV, JSON) bound for a terminal: as `for_terminal`, but its line breaks
    (LF, CR LF) and tabs kept; a bare CR inside a quoted cell goes too."""
    if _CONTROLS_BUT_LINES.search(text) is None:  # ESC is one of them
        return text
    return _CONTROLS_BUT_LINES.sub("", _ESC_SEQ.sub("", text))


def for_csv(value: Any) -> Any:
    """A CSV cell that no spreadsheet runs as a formula: text starting with = + - @ tab or
    CR gets a leading apostrophe (OWASP). Numbers are returned unchanged (a negative number
    is data, not a formula); the csv module quotes cells holding CR or LF."""
    if not isinstance(value, str) or not value:
        return value
    if value.startswith(_FORMULA_START):
        return "'" + value
    return value


def for_html(value: Any) -> str:
    """`value` as HTML text: markup characters and quotes escaped, controls removed."""
    return html.escape(for_terminal(value), quote=True)
