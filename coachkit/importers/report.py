"""What an import did, and the error it raises when it cannot go on.

:class:`ImportReport` is filled by every importer and printed by ``coachkit
import``: each file read once (rows, encoding, delimiter, footer lines), rows
mapped per table, rows dropped and why, rows folded (a reps table built from an
activity file keeps one row per owner: that is not data loss), values changed
on the way in (placeholders read as empty, Salesforce empty ids, the time
source of a task...), activities kept as to-dos not done (``done`` false), labels no map knew with what was applied to them, and
warnings. :class:`ExportError` names the file, row, column and value of what
stops an import, and says what would be right.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..dataset import SalesData

__all__ = ["ExportError", "FileRead", "ImportReport", "ImportResult"]


class ExportError(ValueError):
    """An export lacks required data: a file, a column, or a value that cannot be read.

    ``file``, ``column``, ``row`` (as in the file: the header is row 1; for a
    file that cannot be decoded, its line) and ``value`` say where; the message
    also says what would be right.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        column: str | None = None,
        row: int | None = None,
        value: object = None,
        line: int | None = None,
    ) -> None:
        self.file = str(file) if file is not None else None
        self.column = column
        self.row = row
        self.line = line
        self.value = value
        where = []
        if self.file:
            where.append(self.file)
        if line is not None:
            where.append(f"line {line}")
        if row is not None:
            where.append(f"row {row}")
        if column:
            where.append(f"column {column!r}")
        if value is not None:
            where.append(f"value {value!r}")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)


@dataclass
class FileRead:
    """How one file was read: data rows, text encoding (and how it was chosen), delimiter, footer lines."""

    rows: int = 0
    encoding: str = "utf-8"
    encoding_source: str = "detected"  # "detected", "byte-order mark" or "given"
    delimiter: str = ","
    delimiter_source: str = "detected"
    footer: list[str] = field(default_factory=list)

    def describe(self) -> str:
        """``12 rows (utf-8; delimiter ",")``, with the encoding's name and source when not plain UTF-8."""
        enc = _ENCODING_NAMES.get(self.encoding, self.encoding)
        parts = [f"encoding {enc}, {self.encoding_source}" if self.encoding not in ("utf-8", "ascii") else "utf-8"]
        parts.append(f"delimiter {_DELIMITER_NAMES.get(self.delimiter, repr(self.delimiter))}")
        return f"{self.rows:,} row{'' if self.rows == 1 else 's'} ({'; '.join(parts)})"


#: How many ids (or rows) of a dropped or changed kind the text report prints.
SHOWN_IDS = 10

_ENCODING_NAMES = {
    "cp1252": "cp1252 (Windows-1252, a superset of ISO-8859-1 / latin-1)",
    "latin_1": "ISO-8859-1 (latin-1)",
    "utf-8-sig": "utf-8 with a byte-order mark",
    "utf-16": "utf-16",
    "utf_16": "utf-16",
}
_DELIMITER_NAMES = {",": '","', ";": '";"', "\t": "tab", "|": '"|"'}


@dataclass
class ImportReport:
    """What an import did: files read, rows mapped, drops, folds, changed values, unmapped values, warnings.

    - ``files``: file -> :class:`FileRead` (each file once, even when it feeds two tables);
    - ``rows_mapped``: table -> rows in the dataset;
    - ``dropped``: (file, reason) -> rows left out;
    - ``folded``: (table, file, reason) -> rows merged into another (e.g. one rep per owner);
    - ``not_done``: (file, what) -> activities kept as to-dos not done (``done`` false: in the dataset, but
      no KPI counts them), e.g. open Salesforce tasks, Pipedrive "To do";
    - ``changed``: (file, what) -> values changed on the way in (placeholders, empty ids, sources used);
    - ``unmapped``: (file, column) -> raw value counts no map knew; ``applied``: (file, column) -> what was
      done with them ("left empty", "imported as task", ...);
    - ``ids``: (file, reason or what) -> the ids (or file rows) of the rows a drop, a to-do count or a change
      was about, when the importer recorded them (:data:`SHOWN_IDS` are printed);
    - ``warnings``: findings the user should check.
    """

    source: str = ""
    files: dict[str, FileRead] = field(default_factory=dict)
    rows_mapped: dict[str, int] = field(default_factory=dict)
    dropped: Counter = field(default_factory=Counter)
    folded: Counter = field(default_factory=Counter)
    not_done: Counter = field(default_factory=Counter)
    changed: Counter = field(default_factory=Counter)
    unmapped: dict[tuple[str, str], Counter] = field(default_factory=dict)
    applied: dict[tuple[str, str], str] = field(default_factory=dict)
    ids: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def rows_read(self) -> dict[str, int]:
        """File -> data rows read (each file once)."""
        return {f: r.rows for f, r in self.files.items()}

    def read(self, file: str, rows: int, info: FileRead | None = None) -> None:
        """Record that ``file`` had ``rows`` data rows (a file read again replaces, never adds)."""
        info = info or self.files.get(file) or FileRead()
        info.rows = int(rows)
        self.files[file] = info

    def drop(self, file: str, reason: str, rows: int, ids: Iterable[object] | None = None) -> None:
        """Record that ``rows`` rows of ``file`` were left out for ``reason`` (no-op for 0), and which (``ids``)."""
        if rows:
            self.dropped[(file, reason)] += int(rows)
            self._ids(file, reason, ids)

    def _ids(self, file: str, what: str, ids: Iterable[object] | None) -> None:
        if ids is not None:
            self.ids.setdefault((file, what), []).extend("" if i is None else str(i) for i in ids)

    def fold(self, table: str, file: str, reason: str, rows: int) -> None:
        """Record that ``rows`` rows of ``file`` were merged into an earlier row of ``table`` (no-op for 0)."""
        if rows:
            self.folded[(table, file, reason)] += int(rows)

    def to_do(self, file: str, what: str, rows: int) -> None:
        """Record that ``rows`` activities of ``file`` were kept as not done (``done`` false), ``what`` says which."""
        if rows:
            self.not_done[(file, what)] += int(rows)

    def change(self, file: str, what: str, count: int, ids: Iterable[object] | None = None) -> None:
        """Record that ``count`` values of ``file`` were changed or chosen as ``what`` says (no-op for 0), and on
        which rows (``ids``)."""
        if count:
            self.changed[(file, what)] += int(count)
            self._ids(file, what, ids)

    def shown_ids(self, file: str, what: str) -> str:
        """`` (ids: a, b and 3 more)`` for a line of the text report, or "" when no ids were recorded."""
        ids = self.ids.get((file, what))
        if not ids:
            return ""
        more = f" and {len(ids) - SHOWN_IDS:,} more" if len(ids) > SHOWN_IDS else ""
        return f" ({', '.join(ids[:SHOWN_IDS])}{more})"

    def unmapped_values(self, file: str, column: str, values: pd.Series, applied: str = "left empty") -> None:
        """Record raw values of ``column`` in ``file`` that no map knew (with their counts) and what was applied."""
        values = values.dropna()
        if values.empty:
            return
        counter = self.unmapped.setdefault((file, column), Counter())
        counter.update(values.astype(str).value_counts().to_dict())
        self.applied.setdefault((file, column), applied)

    def warn(self, message: str) -> None:
        """Add a warning (a non-fatal finding the user should know about)."""
        if message not in self.warnings:
            self.warnings.append(message)

    @property
    def rows_dropped(self) -> int:
        """Total rows dropped over all files and reasons."""
        return sum(self.dropped.values())

    def to_text(self) -> str:
        """A readable multi-line summary."""
        lines = [f"Import report for {self.source}" if self.source else "Import report"]
        lines.append("Files read:")
        for f, info in self.files.items():
            lines.append(f"  {f}: {info.describe()}")
        lines.append("Rows mapped:")
        for t, n in self.rows_mapped.items():
            lines.append(f"  {t}: {n:,}")
        if self.dropped:
            lines.append("Rows dropped:")
            for (f, reason), n in sorted(self.dropped.items()):
                lines.append(f"  {f}: {n:,} ({reason}){self.shown_ids(f, reason)}")
        if self.folded:
            lines.append("Rows folded (merged into an earlier row, not lost):")
            for (t, f, reason), n in sorted(self.folded.items()):
                lines.append(f"  {t} from {f}: {n:,} ({reason})")
        if self.not_done:
            lines.append("Activities kept as not done (done = false: in the dataset, but no KPI counts them):")
            for (f, what), n in sorted(self.not_done.items()):
                lines.append(f"  {f}: {n:,} {what}")
        if self.changed:
            lines.append("Values changed or chosen on the way in:")
            for (f, what), n in sorted(self.changed.items()):
                lines.append(f"  {f}: {n:,} {what}{self.shown_ids(f, what)}")
        if self.unmapped:
            lines.append("Unmapped values (extend the mapping file to map them):")
            for (f, col), counts in self.unmapped.items():
                top = ", ".join(f"{v!r} x{n}" for v, n in counts.most_common(10))
                more = f" and {len(counts) - 10} more" if len(counts) > 10 else ""
                lines.append(f"  {f} [{col}]: {top}{more} -> {self.applied.get((f, col), 'left empty')}")
        if self.warnings:
            lines.append("Warnings:")
            lines.extend(f"  - {w}" for w in self.warnings)
        return "\n".join(lines)


@dataclass
class ImportResult:
    """The canonical dataset an importer built, and the report of how."""

    data: SalesData
    report: ImportReport
