"""How to read an export's files and values: encoding, delimiter, decimal mark, date order, blanks.

Every importer takes these from a mapping file's ``[options]`` table, and the
``coachkit import`` options (``--encoding``, ``--delimiter``, ``--decimal``,
``--dayfirst/--monthfirst``) override them. Unset values are detected per
file or per column (see :mod:`coachkit.importers.reading`,
:mod:`coachkit.importers.numbers` and :mod:`coachkit.importers.dates`).
"""

from __future__ import annotations

import codecs
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from .report import ExportError

__all__ = ["ImportOptions", "DEFAULT_BLANKS", "DELIMITERS"]

#: Cell texts read as empty unless ``blanks`` says otherwise: the Salesforce CLI writes ``null`` for an
#: empty field (forcedotcom/cli #1430, #1447); SQL tools write ``NULL``; spreadsheets ``N/A`` and ``#N/A``.
DEFAULT_BLANKS: tuple[str, ...] = ("null", "NULL", "Null", "N/A", "n/a", "#N/A")

#: Delimiters that are sniffed, in the order ties are broken.
DELIMITERS: tuple[str, ...] = (",", ";", "\t", "|")
_DELIMITER_WORDS = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}


@dataclass(frozen=True)
class ImportOptions:
    """Reading options; ``None`` means detect.

    - ``encoding``: a Python codec name (``utf-8``, ``cp1252``, ``latin-1``, ``utf-16``); default: a
      byte-order mark, else UTF-8, else detected (Windows-1252 preferred among equally good guesses).
    - ``delimiter``: ``,`` ``;`` tab or ``|``; default: sniffed from the first records.
    - ``decimal``: ``.`` or ``,``; default: per column from values that can only be read one way.
    - ``dayfirst``: True for 31/12/2024, False for 12/31/2024; default: per column from values > 12.
    - ``blanks``: cell texts read as empty (default :data:`DEFAULT_BLANKS`).
    - ``source_timezone``: the zone of timestamps without an offset (generic CSV mapping only).
    """

    encoding: str | None = None
    delimiter: str | None = None
    decimal: str | None = None
    dayfirst: bool | None = None
    blanks: tuple[str, ...] = DEFAULT_BLANKS
    source_timezone: str | None = None

    @classmethod
    def from_table(
        cls, table: Mapping[str, Any], *, where: str = "[options]", file: str | None = None
    ) -> ImportOptions:
        """Options from a TOML table; a bad key or value raises :class:`ExportError` saying what is allowed."""
        allowed = [f.name for f in fields(cls)]
        unknown = sorted(set(table) - set(allowed))
        if unknown:
            raise ExportError(f"unknown key(s) in {where}: {unknown}; allowed: {', '.join(allowed)}", file=file)
        return cls().merged(**dict(table), where=where, file=file)

    def merged(self, *, where: str = "options", file: str | None = None, **given: Any) -> ImportOptions:
        """These options with the given non-``None`` values checked and put over them."""
        out = {}
        for key, value in given.items():
            if value is None:
                continue
            out[key] = _check(key, value, where, file)
        return replace(self, **out)


def _check(key: str, value: Any, where: str, file: str | None) -> Any:
    def bad(msg: str) -> ExportError:
        return ExportError(f"{where} {key} = {value!r}: {msg}", file=file)

    if key == "encoding":
        if not isinstance(value, str):
            raise bad('give a codec name, e.g. "utf-8", "cp1252", "latin-1" or "utf-16"')
        try:
            return codecs.lookup(value).name
        except LookupError:
            raise bad('unknown encoding; e.g. "utf-8", "cp1252", "latin-1", "utf-16"') from None
    if key == "delimiter":
        v = _DELIMITER_WORDS.get(str(value).lower(), value) if isinstance(value, str) else value
        if v not in DELIMITERS:
            raise bad('use ",", ";", "tab" or "|"')
        return v
    if key == "decimal":
        if value not in (".", ","):
            raise bad('use "." (12,500.00) or "," (12.500,00)')
        return value
    if key == "dayfirst":
        if not isinstance(value, bool):
            raise bad("use true (31/12/2024) or false (12/31/2024)")
        return value
    if key == "blanks":
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise bad('give a list of texts, e.g. ["null", "N/A"] (or [] to read every text as written)')
        return tuple(value)
    if key == "source_timezone":
        if not isinstance(value, str):
            raise bad('give an IANA zone name like "UTC" or "Europe/Berlin"')
        return value
    raise bad("unknown option")
