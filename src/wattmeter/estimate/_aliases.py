"""Dated moving names (``chat-latest``, ``gemini-flash-latest``): what each points to, since when.

Providers repoint these names without notice, so each row of ``data/aliases.json`` carries the
month it was read (``as_of``) and where from; the registry resolves the target like any name.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any, NamedTuple

from ._model_entries import read_json_file

__all__ = ["DatedAlias", "read_aliases_file"]

_MONTH = re.compile(r"^(19[5-9]\d|20\d\d)-(0[1-9]|1[0-2])$")


class DatedAlias(NamedTuple):
    """A moving name, the name it pointed to in month `as_of` (``YYYY-MM``), and the source."""

    name: str
    target: str
    as_of: str
    source: str


def read_aliases_file(path: str | os.PathLike[str]) -> dict[str, DatedAlias]:
    """The validated aliases of a JSON file ``{"aliases": {name: {target, as_of, source}}}``.

    Raises ``ValueError`` naming the file, the alias and the field.
    """
    where = f"aliases file {os.fspath(path)!r}"
    data = read_json_file(path, "aliases file")
    rows = data.get("aliases") if isinstance(data, Mapping) else None
    if not isinstance(rows, Mapping):
        raise ValueError(f"{where}: expected an object with an 'aliases' object")
    return {name: _alias(where, name, row) for name, row in rows.items()}


def _alias(where: str, name: Any, row: Any) -> DatedAlias:
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"{where}: alias {name!r}: expected a non-empty name")
    if not isinstance(row, Mapping):
        raise ValueError(f"{where}: alias {name!r}: expected an object with target, as_of, "
                         "source")
    unknown = sorted(set(row) - {"target", "as_of", "source"})
    if unknown:
        raise ValueError(f"{where}: alias {name!r}: field {unknown[0]!r} is unknown; expected "
                         "target, as_of, source")
    for field in ("target", "as_of", "source"):
        value = row.get(field)
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{where}: alias {name!r}: field {field!r} is missing or empty")
    if not _MONTH.match(row["as_of"]):
        raise ValueError(f"{where}: alias {name!r}: field 'as_of': got {row['as_of']!r}; "
                         "expected the month it was read, e.g. '2026-11'")
    return DatedAlias(name.strip(), row["target"].strip(), row["as_of"], row["source"].strip())
