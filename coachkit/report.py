"""The validation report: every problem found in a dataset, as :class:`Issue` rows.

:class:`ValidationReport` groups the issues of one dataset (errors stop loading,
warnings do not); :class:`DataError` carries it when :func:`coachkit.load` fails.
``RawTable`` and ``Collector`` are the package-internal plumbing the readers and
checks use to report problems by file line without a Python loop over rows.

Row numbers (``Issue.row``) are line numbers as in the file: the header is line 1.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Issue", "ValidationReport", "DataError", "ERROR", "WARNING", "EXAMPLE_ROWS"]

ERROR = "error"
WARNING = "warning"

#: How many example rows the readable report shows per kind of problem.
EXAMPLE_ROWS = 5

# ---- report ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem found in a dataset.

    ``row`` is the line number as in the file (header = line 1; for Parquet and
    DuckDB the 1-based data row + 1), or None for a problem with a whole file or
    column. ``value`` is the offending raw value as text (None when missing).
    ``message`` says what is wrong and what would be right.
    """

    severity: str
    file: str
    row: int | None
    column: str | None
    value: str | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        """This issue as a JSON-serialisable dict."""
        return {
            "severity": self.severity,
            "file": self.file,
            "row": None if self.row is None else int(self.row),
            "column": self.column,
            "value": self.value,
            "message": self.message,
        }

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", line {self.row}"
        if self.column:
            where += f", column {self.column}"
        value = "" if self.value is None else f" (value {_show(self.value)})"
        return f"{self.severity}: {where}{value}: {self.message}"


@dataclass
class ValidationReport:
    """Every problem found in one dataset: errors (loading fails) and warnings."""

    source: str
    issues: list[Issue] = field(default_factory=list)

    @property
    def errors(self) -> list[Issue]:
        """The issues that stop a dataset from loading."""
        return [i for i in self.issues if i.severity == ERROR]

    @property
    def warnings(self) -> list[Issue]:
        """The issues that are reported but do not stop loading."""
        return [i for i in self.issues if i.severity == WARNING]

    @property
    def ok(self) -> bool:
        """True when there are no errors (warnings are allowed)."""
        return not any(i.severity == ERROR for i in self.issues)

    def to_dict(self) -> dict[str, Any]:
        """The report as a JSON-serialisable dict (``coachkit validate --json``)."""
        return {
            "source": self.source,
            "ok": self.ok,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "issues": [i.to_dict() for i in self.issues],
        }

    def to_text(self, max_lines: int | None = None) -> str:
        """A readable report: counts, then issues grouped by file, column and kind.

        A group of more than :data:`EXAMPLE_ROWS` issues is summarised as its count
        and the first rows. ``max_lines`` truncates the text (None = no limit).
        """
        n_err, n_warn = len(self.errors), len(self.warnings)
        lines = [f"{self.source}: {_plural(n_err, 'error')}, {_plural(n_warn, 'warning')}"]
        if not self.issues:
            lines[0] += " - the dataset is valid."
        for severity, title in ((ERROR, "Errors"), (WARNING, "Warnings")):
            groups: dict[tuple[str, str | None, str], list[Issue]] = {}
            for i in self.issues:
                if i.severity == severity:
                    groups.setdefault((i.file, i.column, i.message), []).append(i)
            if not groups:
                continue
            lines.append("")
            lines.append(f"{title}:")
            for (file, column, message), items in groups.items():
                where = file + (f", column {column}" if column else "")
                with_rows = [i for i in items if i.row is not None]
                if not with_rows:
                    value = items[0].value
                    shown = f" (value {_show(value)})" if value is not None else ""
                    lines.append(f"  {where}{shown}: {message}")
                    continue
                count = f"{len(items)} row" + ("s" if len(items) != 1 else "")
                lines.append(f"  {where}: {message} [{count}]")
                counts = Counter(i.value for i in items)
                if 1 < len(counts) < len(items):
                    top = ", ".join(f"{_show(v)} ({n})" for v, n in counts.most_common(10))
                    more = f" and {len(counts) - 10} more" if len(counts) > 10 else ""
                    lines.append(f"    values: {top}{more}")
                for i in with_rows[:EXAMPLE_ROWS]:
                    shown = "" if i.value is None and i.column is None else f": {_show(i.value)}"
                    lines.append(f"    line {i.row}{shown}")
                if len(with_rows) > EXAMPLE_ROWS:
                    lines.append(f"    ... and {len(with_rows) - EXAMPLE_ROWS} more")
        if max_lines is not None and len(lines) > max_lines:
            rest = len(lines) - max_lines
            lines = lines[:max_lines] + [f"... {rest} more lines; run coachkit.validate(source) for the full report"]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()


class DataError(Exception):
    """A dataset has errors. ``.report`` is the full :class:`ValidationReport`."""

    def __init__(self, report: ValidationReport) -> None:
        self.report = report
        super().__init__(report.to_text(max_lines=60))


def _show(value: str | None) -> str:
    if value is None:
        return "(empty)"
    text = value if len(value) <= 80 else value[:77] + "..."
    return repr(text)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


@dataclass
class RawTable:
    """One table as read: canonical columns only (raw text or typed), and how to find file lines."""

    name: str
    file: str
    frame: pd.DataFrame
    lines: Callable[[np.ndarray], np.ndarray]


class Collector:
    """Accumulates issues; builds per-row issues only for the rows that have them."""

    def __init__(self) -> None:
        self.issues: list[Issue] = []

    def add(
        self,
        severity: str,
        file: str,
        message: str,
        *,
        column: str | None = None,
        row: int | None = None,
        value: str | None = None,
    ) -> None:
        self.issues.append(Issue(severity, file, row, column, value, message))

    def rows(
        self,
        severity: str,
        raw: RawTable,
        mask: np.ndarray | pd.Series,
        column: str | None,
        message: str | Callable[[np.ndarray], Sequence[str]],
        values: pd.Series | None = None,
    ) -> None:
        """Add one issue per True row of ``mask``; ``message`` may be a function of the positions."""
        pos = np.flatnonzero(np.asarray(mask, dtype=bool))
        if not len(pos):
            return
        lines = raw.lines(pos)
        if values is None:
            values = raw.frame[column] if column is not None else None
        vals = [None] * len(pos) if values is None else _texts(values.iloc[pos])
        msgs = [message] * len(pos) if isinstance(message, str) else list(message(pos))
        self.issues.extend(
            Issue(severity, raw.file, int(ln), column, v, m) for ln, v, m in zip(lines, vals, msgs, strict=True)
        )


def _texts(values: pd.Series) -> list[str | None]:
    out: list[str | None] = []
    for v in values.tolist():
        if v is None or v == "" or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT or v is pd.NA:
            out.append(None)
        else:
            out.append(str(v))
    return out
