"""Validated loaders: read a dataset folder or a DuckDB file into a canonical :class:`SalesData`.

A **dataset** is either

* a folder holding ``activities.csv`` or ``activities.parquet`` (required),
  ``reps.csv`` or ``reps.parquet`` (required), ``deals.csv`` or ``deals.parquet``
  (optional) and ``playbook.toml`` (optional); or
* a ``.duckdb`` file holding tables ``activities``, ``reps`` and optionally
  ``deals``, and optionally a one-row table ``playbook`` with a text column
  ``toml`` holding the playbook (this is what ``SalesData.save(path, "duckdb")``
  writes).

:func:`validate` lists every problem as an :class:`Issue`; :func:`load` returns the
canonical data and raises :class:`DataError` (carrying the report) when there
are errors. Warnings are kept in ``SalesData.warnings``.

Row numbers (``Issue.row``) are line numbers as in the file: the header is line 1.
A CSV record spanning several lines (a quoted note with line breaks) is reported
at the line it starts on. Parquet files and DuckDB tables have no lines; their
row number is the 1-based data row + 1, so that a CSV and a Parquet export of
the same table report the same numbers.

Rules applied while reading:

* Timestamps are ISO 8601. Without an offset they are local time in the
  playbook's timezone; with an offset (``Z``, ``+02:00``) they are converted to
  it. Both may be mixed in one column. In memory they are tz-naive local wall
  time. Dates (``hired_at``, ``left_at``) are ``YYYY-MM-DD``; a full timestamp
  counts as its (local) date.
* Empty cells are missing values. Booleans are ``true``/``false`` (any case)
  or ``1``/``0``.
* Activity types and directions match case- and spacing-insensitively; raw
  outcome labels are mapped with :meth:`Playbook.map_outcome` before checking.
* Column names must be the canonical names (surrounding spaces are ignored);
  other columns are reported as warnings and ignored.

Nothing here ever writes to the source.
"""

from __future__ import annotations

import csv
import re
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from . import schema
from .dataset import SalesData
from .playbook import Playbook, PlaybookError, normalize_label

__all__ = ["load", "load_reps", "validate", "DataError", "ValidationReport", "Issue"]

ERROR = "error"
WARNING = "warning"

#: How many example rows the readable report shows per kind of problem.
EXAMPLE_ROWS = 5

_EXTS = ("csv", "parquet")
# An offset after a time of day: Z, +02, +0200, +02:00 (a date's "-02" does not count).
_OFFSET_RE = r"\d:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:[Zz]|[+-]\d{2}(?::?\d{2})?)$"
_TS_MIN = pd.Timestamp.min.as_unit("us")
_TS_MAX = pd.Timestamp.max.as_unit("us")
_TS_HINT = "write an ISO 8601 timestamp such as 2026-03-02T14:30:00 or 2026-03-02T14:30:00+01:00"
_DATE_HINT = "write a date such as 2026-03-02 (YYYY-MM-DD)"
_BOOL_TRUE = ("true", "1")
_BOOL_FALSE = ("false", "0")


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
                    lines.append(f"    line {i.row}: {_show(i.value)}")
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


# ---- reading --------------------------------------------------------------------------------


@dataclass
class _Raw:
    """One table as read: canonical columns only (raw text or typed), and how to find file lines."""

    name: str
    file: str
    frame: pd.DataFrame
    lines: Callable[[np.ndarray], np.ndarray]


def _plus_two(pos: np.ndarray) -> np.ndarray:
    return np.asarray(pos, dtype=np.int64) + 2


class _Collector:
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
        raw: _Raw,
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


def _csv_lines(path: Path, n_rows: int) -> Callable[[np.ndarray], np.ndarray]:
    """Map data-row positions to the file line each record starts on (computed on first use)."""
    cache: dict[str, np.ndarray] = {}

    def lines(pos: np.ndarray) -> np.ndarray:
        if "starts" not in cache:
            cache["starts"] = _record_start_lines(path, n_rows)
        return cache["starts"][np.asarray(pos, dtype=np.int64)]

    return lines


def _record_start_lines(path: Path, n_rows: int) -> np.ndarray:
    """Line numbers (1-based) where each data record of a CSV file starts.

    A newline ends a record unless it is inside a quoted field, i.e. preceded by
    an odd number of quote characters. Blank lines are skipped (as pandas does).
    Falls back to the csv module if the count disagrees with what pandas read.
    """
    data = np.fromfile(path, dtype=np.uint8)
    nl = np.flatnonzero(data == 10)
    inside = np.bitwise_xor.accumulate((data == 34).astype(np.uint8)) if len(data) else data
    ends = nl[inside[nl] == 0] if len(nl) else nl
    starts = np.concatenate(([0], ends + 1))
    stops = np.concatenate((ends, [len(data)]))
    length = stops - starts
    # blank records: empty or a lone "\r"
    blank = (length == 0) | ((length == 1) & (data[np.minimum(starts, max(len(data) - 1, 0))] == 13))
    starts = starts[~blank]
    if len(starts) == n_rows + 1:
        return np.searchsorted(nl, starts[1:], side="left").astype(np.int64) + 1
    return _record_start_lines_slow(path, n_rows)


def _record_start_lines_slow(path: Path, n_rows: int) -> np.ndarray:
    starts = []
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        prev = 0
        for row in reader:
            start, prev = prev + 1, reader.line_num
            if row:  # a blank line reads as []
                starts.append(start)
    out = np.array(starts[1:], dtype=np.int64)
    if len(out) < n_rows:  # cannot happen for files pandas read; keep numbering total anyway
        out = np.concatenate((out, np.arange(len(out), n_rows, dtype=np.int64) + 2))
    return out[:n_rows]


def _wanted(table: str, names: Sequence[str], file: str, col: _Collector) -> dict[str, str]:
    """Original column name -> canonical name for the canonical columns present; warn about the rest."""
    canon = set(schema.columns(table))
    keep: dict[str, str] = {}
    for name in names:
        key = str(name).strip()
        if key in canon and key not in keep.values():
            keep[name] = key
        else:
            col.add(
                WARNING,
                file,
                f"unknown column ignored; the {table} columns are: {', '.join(schema.columns(table))}",
                column=key,
            )
    return keep


def _read_csv(path: Path, table: str, file: str, col: _Collector) -> _Raw | None:
    opts: dict[str, Any] = {
        "dtype": str,
        "keep_default_na": False,
        "na_filter": False,
        "encoding": "utf-8-sig",
        "index_col": False,
    }
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", pd.errors.ParserWarning)
            frame = pd.read_csv(path, **opts)
        if caught:
            col.add(
                ERROR,
                file,
                "a line has more fields than the header; quote fields that hold commas, "
                "and give every line the same number of fields",
            )
            return None
        keep = _wanted(table, list(frame.columns), file, col)
        frame = frame[list(keep)]
    except pd.errors.EmptyDataError:
        col.add(ERROR, file, f"the file is empty; it needs a header line naming the {table} columns")
        return None
    except UnicodeDecodeError as exc:
        data = path.read_bytes()
        try:
            data.decode("utf-8")
            line = None
        except UnicodeDecodeError as exc2:
            line = data.count(b"\n", 0, exc2.start) + 1
        col.add(ERROR, file, f"not UTF-8 text ({exc.reason}); save the file as UTF-8", row=line)
        return None
    except (pd.errors.ParserError, csv.Error, ValueError) as exc:
        m = re.search(r"line (\d+)", str(exc))
        col.add(
            ERROR,
            file,
            f"not a readable CSV file: {exc}; each line needs the same number of comma-separated fields, "
            "with fields that hold commas, quotes or line breaks in double quotes",
            row=int(m.group(1)) if m else None,
        )
        return None
    frame = frame.rename(columns=keep)
    return _Raw(table, file, frame, _csv_lines(path, len(frame)))


def _arrow_frame(table: pa.Table) -> pd.DataFrame:
    return table.to_pandas(types_mapper={pa.bool_(): pd.BooleanDtype()}.get, date_as_object=False)


def _read_parquet(path: Path, table: str, file: str, col: _Collector, reps: list[str] | None = None) -> _Raw | None:
    """Read the canonical columns; with ``reps``, only the row groups whose rep_id statistics may hold them."""
    try:
        schema_ = pq.read_schema(path)
        keep = _wanted(table, schema_.names, file, col)
        # Labels with few distinct values are read as dictionaries: checked per distinct value, not per row.
        text = (pa.types.is_string, pa.types.is_large_string)
        labels = [
            name
            for name, canon in keep.items()
            if canon in _LABEL_COLUMNS and any(t(schema_.field(name).type) for t in text)
        ]
        pf = pq.ParquetFile(path, read_dictionary=labels)
        rep_col = next((name for name, canon in keep.items() if canon == "rep_id"), None)
        if reps is None or rep_col is None:
            frame, lines = _arrow_frame(pf.read(columns=list(keep))), _plus_two
        else:
            # Row group by row group, keeping only the reps' rows, so that memory holds little more than them.
            # Text rep ids are filtered here; other types are kept whole and filtered after parsing.
            by_text = pa.types.is_string(schema_.field(rep_col).type) or pa.types.is_large_string(
                schema_.field(rep_col).type
            )
            wanted = pa.array(reps, type=pa.string())
            pieces, rows = [pf.schema_arrow.empty_table().select(list(keep))], [np.zeros(0, dtype=np.int64)]
            for g, start, stop in _row_groups_with(pf.metadata, rep_col, reps):
                piece = pf.read_row_group(g, columns=list(keep))
                if by_text:
                    mask = pc.fill_null(pc.is_in(piece[rep_col], value_set=wanted), False)
                    piece = piece.filter(mask)
                    rows.append(start + np.flatnonzero(mask.to_numpy(zero_copy_only=False)))
                else:
                    rows.append(np.arange(start, stop))
                pieces.append(piece)
            positions = np.concatenate(rows)
            frame = _arrow_frame(pa.concat_tables(pieces))
            lines = lambda pos: positions[np.asarray(pos, dtype=np.int64)] + 2  # noqa: E731
    except (OSError, pa.ArrowException) as exc:
        col.add(ERROR, file, f"not a readable Parquet file: {exc}")
        return None
    return _Raw(table, file, frame.rename(columns=keep), lines)


_LABEL_COLUMNS = ("activity_type", "outcome", "direction", "stage")


def _row_groups_with(meta: pq.FileMetaData, column: str, values: list[str]) -> list[tuple[int, int, int]]:
    """(row group, first row, end row) of the row groups whose min/max of ``column`` may hold one of ``values``.

    Without usable text statistics a row group is kept (it is read and filtered).
    """
    if meta.num_row_groups == 0:
        return []
    leaf = next((j for j in range(meta.num_columns) if meta.row_group(0).column(j).path_in_schema == column), None)
    out, start = [], 0
    for g in range(meta.num_row_groups):
        rg = meta.row_group(g)
        stats = rg.column(leaf).statistics if leaf is not None else None
        lo, hi = (stats.min, stats.max) if stats is not None and stats.has_min_max else (None, None)
        if not (isinstance(lo, str) and isinstance(hi, str)) or any(lo <= v <= hi for v in values):
            out.append((g, start, start + rg.num_rows))
        start += rg.num_rows
    return out


def _read_folder(
    folder: Path, col: _Collector, reps: list[str] | None = None, tables: Sequence[str] = schema.ALL_TABLES
) -> tuple[dict[str, _Raw | None], str | None, str]:
    raws: dict[str, _Raw | None] = {}
    for table in tables:
        present = [folder / f"{table}.{ext}" for ext in _EXTS if (folder / f"{table}.{ext}").is_file()]
        if len(present) > 1:
            col.add(
                ERROR,
                present[0].name,
                f"both {present[0].name} and {present[1].name} exist; keep only one of them "
                "so that the dataset is unambiguous",
            )
            raws[table] = None
            continue
        if not present:
            if table not in schema.OPTIONAL_TABLES:
                col.add(
                    ERROR,
                    f"{table}.csv",
                    f"required file missing: put {table}.csv or {table}.parquet in {folder}",
                )
            raws[table] = None
            continue
        path = present[0]
        if path.suffix == ".csv":  # CSV has no index to skip by: read it all, keep the reps' rows later
            raws[table] = _read_csv(path, table, path.name, col)
        else:
            raws[table] = _read_parquet(path, table, path.name, col, None if table == "reps" else reps)
    pb_path = folder / "playbook.toml"
    if pb_path.is_file():
        return raws, pb_path.read_text(encoding="utf-8"), str(pb_path)
    return raws, None, ""


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _read_duckdb(
    path: Path, col: _Collector, reps: list[str] | None = None, tables: Sequence[str] = schema.ALL_TABLES
) -> tuple[dict[str, _Raw | None], str | None, str]:
    import duckdb

    raws: dict[str, _Raw | None] = {}
    try:
        con = duckdb.connect(str(path), read_only=True)
        con.execute("set enable_progress_bar = false")
    except duckdb.Error as exc:
        col.add(ERROR, path.name, f"not a readable DuckDB file: {exc}")
        return dict.fromkeys(tables), None, ""
    try:
        present = {
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema = 'main'"
            ).fetchall()
        }
        for table in tables:
            file = f"{path.name}:{table}"
            if table not in present:
                if table not in schema.OPTIONAL_TABLES:
                    col.add(ERROR, file, f"required table missing: {path.name} needs a table named {table}")
                raws[table] = None
                continue
            names = [r[0] for r in con.execute(f'select * from "{table}" limit 0').description]
            keep = _wanted(table, names, file, col)
            cols = ", ".join(_quote(n) for n in keep) or "NULL as _none"
            rep_col = next((name for name, canon in keep.items() if canon == "rep_id"), None)
            if reps is None or rep_col is None or table == "reps":
                frame = _arrow_frame(con.sql(f'select {cols} from "{table}"').to_arrow_table())
                lines = _plus_two
            else:  # only the reps' rows; rowid keeps the row numbers of the whole table
                query = (
                    f'select rowid as "__row", {cols} from "{table}" '
                    f"where cast({_quote(rep_col)} as varchar) in (select unnest(?)) order by rowid"
                )
                got = _arrow_frame(con.sql(query, params=[reps]).to_arrow_table())
                positions = got.pop("__row").to_numpy(dtype=np.int64)
                frame = got
                lines = lambda pos, positions=positions: positions[np.asarray(pos, dtype=np.int64)] + 2  # noqa: E731
            if not keep:
                frame = frame.iloc[:, :0]
            raws[table] = _Raw(table, file, frame.rename(columns=keep), lines)
        text, pb_source = None, ""
        if "playbook" in present:
            rows = con.execute('select * from "playbook"').fetchall()
            names = [r[0] for r in con.execute('select * from "playbook" limit 0').description]
            if "toml" not in names or len(rows) != 1:
                col.add(
                    ERROR,
                    f"{path.name}:playbook",
                    "the playbook table must have one row and a text column named toml holding the playbook",
                )
            elif rows[0][names.index("toml")] is not None:
                text, pb_source = str(rows[0][names.index("toml")]), f"{path}:playbook"
    finally:
        con.close()
    return raws, text, pb_source


# ---- parsing columns -----------------------------------------------------------------------


def _is_text(s: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(s.dtype) or s.dtype == object or isinstance(s.dtype, pd.CategoricalDtype)


def _as_text(s: pd.Series) -> pd.Series:
    """Text view of a column (object columns, e.g. dates from DuckDB, become strings)."""
    if pd.api.types.is_string_dtype(s.dtype) and s.dtype != object:
        return s
    return s.astype(schema.STRING)


def _missing_text(s: pd.Series) -> np.ndarray:
    """Rows that are missing or blank (empty cells are missing values)."""
    if isinstance(s.dtype, pd.StringDtype) and s.dtype.storage == "pyarrow":
        arr = pa.array(s.array)  # no copy: run the check in Arrow
        blank = pc.or_kleene(pc.equal(pc.utf8_length(arr), 0), pc.utf8_is_space(arr))
        return pc.fill_null(blank, True).to_numpy(zero_copy_only=False).astype(bool)
    return (s.isna() | (s.str.strip() == "")).to_numpy(dtype=bool, na_value=True)


def _lookup(values: pd.Series, keys: pd.Index) -> np.ndarray:
    """Position of each value in ``keys`` (-1 when absent or missing), hashing each distinct value once."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    found = np.append(keys.get_indexer(uniques), -1)
    return found[codes]


def _to_string(s: pd.Series) -> pd.Series:
    """A column as canonical text: whole floats without ".0", empty cells missing."""
    if pd.api.types.is_float_dtype(s.dtype):
        whole = s.dropna()
        if len(whole) and (whole == np.floor(whole)).all():
            s = s.astype("Int64")
    t = s if pd.api.types.is_string_dtype(s.dtype) and s.dtype != object else s.astype(schema.STRING)
    empty = (t == "").to_numpy(dtype=bool, na_value=False)
    return t.where(~empty) if empty.any() else t


def _only_reps(raw: _Raw, reps: list[str]) -> _Raw:
    """The rows of ``raw`` whose rep_id is one of ``reps``, keeping the file's line numbers."""
    if "rep_id" not in raw.frame.columns:
        return raw
    keep = np.flatnonzero(_to_string(raw.frame["rep_id"]).isin(reps).to_numpy(dtype=bool))
    if len(keep) == len(raw.frame):
        return raw
    frame = raw.frame.iloc[keep].reset_index(drop=True)
    return _Raw(raw.name, raw.file, frame, lambda pos: raw.lines(keep[np.asarray(pos, dtype=np.int64)]))


def _type_error(col: _Collector, raw: _Raw, name: str, kind: str, s: pd.Series) -> None:
    col.add(ERROR, raw.file, f"column has type {s.dtype}; expected {kind} values", column=name)


class _Parser:
    """Parses one raw table into typed columns, reporting problems row by row."""

    def __init__(self, raw: _Raw, playbook: Playbook, col: _Collector) -> None:
        self.raw = raw
        self.pb = playbook
        self.col = col
        self.n = len(raw.frame)
        self.out: dict[str, pd.Series] = {}

    def series(self, name: str) -> pd.Series | None:
        return self.raw.frame[name] if name in self.raw.frame.columns else None

    def flag(self, mask: np.ndarray, name: str, message: str | Callable[[np.ndarray], Sequence[str]]) -> None:
        mask = np.asarray(mask, dtype=bool)
        if mask.any():
            self.col.rows(ERROR, self.raw, mask, name, message)

    # -- kinds --
    def timestamp(self, name: str, *, date: bool = False) -> pd.Series:
        s = self.series(name)
        hint = _DATE_HINT if date else _TS_HINT
        if s is None:
            return pd.Series(pd.NaT, index=range(self.n), dtype="datetime64[ns]")
        if isinstance(s.dtype, pd.DatetimeTZDtype):
            parsed = s.dt.tz_convert(self.pb.timezone).dt.tz_localize(None)
        elif pd.api.types.is_datetime64_dtype(s.dtype):
            parsed = s
        elif _is_text(s):
            t = _as_text(s)
            missing = _missing_text(t)
            parsed = _parse_timestamps(t.str.strip(), self.pb.timezone)
            kind = "date" if date else "timestamp"
            self.flag(~missing & parsed.isna().to_numpy(), name, f"not a valid {kind}; {hint}")
        else:
            _type_error(self.col, self.raw, name, "date" if date else "timestamp", s)
            return pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
        if parsed.dtype != "datetime64[ns]":  # nanoseconds (canonical) cannot be out of range
            out_of_range = (parsed.notna() & ((parsed < _TS_MIN) | (parsed > _TS_MAX))).to_numpy()
            if out_of_range.any():
                self.flag(out_of_range, name, f"year out of the supported range 1678-2261; {hint}")
                parsed = parsed.where(~out_of_range)
            parsed = parsed.astype("datetime64[ns]")
        if date:
            parsed = parsed.dt.normalize()
        return parsed

    def number(self, name: str) -> pd.Series:
        s = self.series(name)
        if s is None:
            return pd.Series(np.nan, index=range(self.n), dtype="float64")
        if _is_text(s):
            t = _as_text(s)
            missing = _missing_text(t)
            num = pd.to_numeric(t.where(~missing), errors="coerce").astype("float64")
        elif pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
            missing = s.isna().to_numpy()
            num = s.astype("float64")
        else:
            _type_error(self.col, self.raw, name, "numeric", s)
            return pd.Series(np.nan, index=s.index, dtype="float64")
        arr = num.to_numpy()
        self.flag(~missing & ~np.isfinite(arr), name, "not a number; write a plain number such as 42 or 3.5")
        return num.where(np.isfinite(arr))

    def boolean(self, name: str) -> pd.Series:
        s = self.series(name)
        if s is None:
            return pd.Series(pd.NA, index=range(self.n), dtype="boolean")
        if pd.api.types.is_bool_dtype(s.dtype):
            return s.astype("boolean")
        if _is_text(s):
            t = _as_text(s)
            missing = _missing_text(t)
            low = t.str.strip().str.lower()
            is_true = low.isin(_BOOL_TRUE).to_numpy()
            is_false = low.isin(_BOOL_FALSE).to_numpy()
        elif pd.api.types.is_numeric_dtype(s.dtype):
            missing = s.isna().to_numpy()
            is_true = (s == 1).to_numpy(dtype=bool, na_value=False)
            is_false = (s == 0).to_numpy(dtype=bool, na_value=False)
        else:
            _type_error(self.col, self.raw, name, "boolean", s)
            return pd.Series(pd.NA, index=s.index, dtype="boolean")
        self.flag(~missing & ~is_true & ~is_false, name, "not a boolean; write true or false (or 1 or 0)")
        out = pd.Series(pd.NA, index=s.index, dtype="boolean")
        out[is_true] = True
        out[is_false] = False
        return out

    def string(self, name: str) -> pd.Series:
        s = self.series(name)
        if s is None:
            return pd.Series(np.nan, index=range(self.n), dtype=schema.STRING)
        return _to_string(s)

    def required(self, name: str) -> None:
        """Flag rows with no value in the required column ``name``."""
        s = self.series(name)
        if s is None:
            return
        if isinstance(s.dtype, pd.CategoricalDtype):  # check the few categories, not every row
            blank = _missing_text(pd.Series(s.cat.categories, dtype=object).astype(schema.STRING))
            missing = np.append(blank, True)[s.cat.codes.to_numpy()]
        else:
            missing = _missing_text(_as_text(s)) if _is_text(s) else s.isna().to_numpy()
        self.flag(missing, name, f"{name} is required; this row has no value")

    def category(self, name: str, allowed: Sequence[str]) -> tuple[pd.Series, np.ndarray, np.ndarray]:
        """Normalise labels of a categorical column (case/spacing-insensitive).

        Returns the canonical values, codes into ``allowed`` (-1 = missing or unknown)
        and the mask of rows holding an unknown label.
        """
        s, codes, uniques = self.labels(name)
        canon = [normalize_label(u) for u in uniques]
        index = {a: i for i, a in enumerate(allowed)}
        ucodes = np.array([index.get(c, -1) for c in canon] + [-1], dtype=np.int64)
        row_codes = ucodes[codes]  # codes == -1 (missing) picks the sentinel -1
        unknown = (row_codes < 0) & (codes >= 0)
        return _relabel(s, codes, uniques, canon), row_codes, unknown

    def labels(self, name: str) -> tuple[pd.Series | None, np.ndarray, list[str]]:
        """A text column as (its text, or None for a categorical column; codes, -1 = missing; distinct values).

        A categorical column (e.g. dictionary-encoded Parquet) is coded without hashing every row.
        """
        s = self.series(name)
        if s is not None and isinstance(s.dtype, pd.CategoricalDtype):
            cats = _to_string(pd.Series(s.cat.categories, dtype=object)).to_numpy(dtype=object, na_value=None)
            uniques = np.unique(np.array([c for c in cats if c is not None], dtype=object))
            remap = np.array([-1 if c is None else int(np.searchsorted(uniques, c)) for c in cats] + [-1])
            return None, remap[s.cat.codes.to_numpy()].astype(np.intp), list(uniques)
        s = self.string(name)
        codes, uniques = pd.factorize(s, use_na_sentinel=True)
        return s, codes, list(uniques)


def _relabel(s: pd.Series | None, codes: np.ndarray, uniques: list[str], canon: list[str | None]) -> pd.Series:
    """Text with each unique value replaced by its canonical form (``s`` itself when nothing changes)."""
    if s is not None and uniques == canon:
        return s
    arr = pa.array(canon, type=pa.large_string())  # the str dtype's own storage: no cast afterwards
    taken = arr.take(pa.array(codes, mask=codes < 0))
    return pd.Series(taken, dtype=schema.STRING)


def _parse_timestamps(t: pd.Series, timezone: str) -> pd.Series:
    """Parse ISO 8601 text to tz-naive local wall time in ``timezone`` (NaT where unparseable)."""
    has_offset = t.str.contains(_OFFSET_RE, regex=True, na=False).to_numpy(dtype=bool)
    if not has_offset.any():
        return pd.to_datetime(t, format="ISO8601", errors="coerce")
    out = pd.Series(pd.NaT, index=t.index, dtype="datetime64[us]")
    if (~has_offset).any():
        out[~has_offset] = pd.to_datetime(t[~has_offset], format="ISO8601", errors="coerce").astype("datetime64[us]")
    aware = pd.to_datetime(t[has_offset], format="ISO8601", errors="coerce", utc=True)
    out[has_offset] = aware.dt.tz_convert(timezone).dt.tz_localize(None).astype("datetime64[us]")
    return out


# ---- table checks --------------------------------------------------------------------------


def _parse_table(raw: _Raw, pb: Playbook, col: _Collector) -> _Parser:
    """Check that required columns exist, then parse every canonical column of ``raw``."""
    p = _Parser(raw, pb, col)
    missing = [c for c in schema.required_columns(raw.name) if c not in raw.frame.columns]
    for c in missing:
        col.add(
            ERROR,
            raw.file,
            f"required column {c} is missing; the header must name the columns "
            f"{', '.join(schema.required_columns(raw.name))}",
            column=c,
        )
    for c in schema.ALL_TABLES[raw.name]:
        if c.kind == "timestamp":
            p.out[c.name] = p.timestamp(c.name)
        elif c.kind == "date":
            p.out[c.name] = p.timestamp(c.name, date=True)
        elif c.kind == "float":
            p.out[c.name] = p.number(c.name)
        elif c.kind == "boolean":
            p.out[c.name] = p.boolean(c.name)
        elif c.name not in ("activity_type", "outcome", "direction", "stage"):
            p.out[c.name] = p.string(c.name)
        if c.required:
            p.required(c.name)
    return p


def _check_activities(p: _Parser, pb: Playbook) -> None:
    raw = p.raw
    types, tcodes, unknown = p.category("activity_type", pb.activity_types)
    p.out["activity_type"] = types
    known = ", ".join(pb.activity_types)
    p.flag(
        unknown,
        "activity_type",
        f"not an activity type of the playbook; use one of: {known} "
        "(or add the type to [activities] types in playbook.toml)",
    )

    outcomes = pb.all_outcomes
    s, codes, uniques = p.labels("outcome")
    canon = [pb.map_outcome(u) for u in uniques]
    oindex = {o: i for i, o in enumerate(outcomes)}
    ucodes = np.array([oindex[c] if c is not None else -1 for c in canon] + [-1], dtype=np.int64)
    ocodes = ucodes[codes]
    p.out["outcome"] = _relabel(s, codes, uniques, canon)
    p.flag(
        (ocodes < 0) & (codes >= 0),
        "outcome",
        f"not a known outcome; use one of: {', '.join(outcomes)} "
        "(or map the label under [outcomes.labels] in playbook.toml)",
    )
    allowed = np.zeros((len(pb.activity_types), len(outcomes)), dtype=bool)
    for ti, t in enumerate(pb.activity_types):
        for o in pb.outcomes_for(t):
            allowed[ti, oindex[o]] = True
    both = (tcodes >= 0) & (ocodes >= 0)
    wrong = both.copy()
    wrong[both] = ~allowed[tcodes[both], ocodes[both]]

    def wrong_msg(pos: np.ndarray) -> list[str]:
        out = []
        for t, o in zip(tcodes[pos], ocodes[pos], strict=True):
            typ = pb.activity_types[t]
            out.append(
                f"outcome {outcomes[o]} does not apply to a {typ}; a {typ} can be: {', '.join(pb.outcomes_for(typ))}"
            )
        return out

    p.flag(wrong, "outcome", wrong_msg)

    directions, _, unknown_dir = p.category("direction", schema.DIRECTIONS)
    p.out["direction"] = directions
    if unknown_dir.any():
        p.col.rows(
            WARNING, raw, unknown_dir, "direction", f"direction should be one of: {', '.join(schema.DIRECTIONS)}"
        )

    dur = p.out["duration_s"].to_numpy()
    p.flag(dur < 0, "duration_s", "negative duration; duration_s is seconds, 0 or more")
    score = p.out["feedback_score"].to_numpy()
    p.flag((score < 1) | (score > 5), "feedback_score", "feedback_score must be between 1 and 5")


def _check_deals(p: _Parser, pb: Playbook) -> None:
    stages, _, unknown = p.category("stage", pb.stage_names)
    p.out["stage"] = stages
    if unknown.any() and pb.stage_names:
        p.col.rows(
            WARNING,
            p.raw,
            unknown,
            "stage",
            f"not a stage of the playbook; stages are: {', '.join(pb.stage_names)}",
        )


_MAX_LENGTHS = 64


def _surely_distinct(ids: pd.Series) -> bool:
    """True when the non-missing values of a text column are certainly pairwise distinct.

    False means "maybe not" (the caller then checks exactly). Values of different byte
    lengths differ, so each length is checked alone: its values are packed into
    fixed-width words, folded into one uint64 key (exact up to 8 bytes), sorted, and
    neighbours compared. A sort of integers is several times faster than hashing
    millions of strings.
    """
    arr = pa.array(ids.array)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    arr = arr.drop_null().cast(pa.large_binary())
    lengths = pc.binary_length(arr).to_numpy()
    distinct_lengths = np.flatnonzero(np.bincount(lengths))  # a count per length: no sort of every row
    if len(distinct_lengths) > _MAX_LENGTHS:
        return len(pd.unique(ids.dropna())) == len(arr)
    for width in distinct_lengths:
        part = arr if len(distinct_lengths) == 1 else arr.filter(pa.array(lengths == width))
        if len(part) < 2:
            continue
        if width == 0:  # several empty strings
            return False
        offsets = np.frombuffer(part.buffers()[1], dtype=np.int64)[part.offset : part.offset + len(part) + 1]
        data = np.frombuffer(part.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
        words = np.zeros((len(part), -(-int(width) // 8) * 8), dtype=np.uint8)
        words[:, :width] = data.reshape(len(part), width)
        packed = words.view(np.uint64)
        key = packed[:, 0].copy()
        for j in range(1, packed.shape[1]):
            key = key * np.uint64(0x100000001B3) ^ packed[:, j]
        key.sort()
        if (key[1:] == key[:-1]).any():
            return False
    return True


def _duplicates(p: _Parser, key: str) -> np.ndarray:
    """Report duplicate ids; return the mask of exact duplicate rows to drop (all but the first)."""
    if key not in p.raw.frame.columns:
        return np.zeros(p.n, dtype=bool)
    ids = p.out[key]
    drop = np.zeros(p.n, dtype=bool)
    present = ids.notna().to_numpy()
    if _surely_distinct(ids):  # the common case, without hashing millions of strings
        return drop
    dup = ids.duplicated(keep=False).to_numpy() & present
    sub = p.raw.frame[dup].astype(schema.STRING).fillna("")
    exact = sub.duplicated(keep="first").to_numpy()
    drop[np.flatnonzero(dup)[exact]] = True
    if drop.any():
        p.col.rows(
            WARNING,
            p.raw,
            drop,
            key,
            _DUPLICATE_MESSAGE,
        )
    kept_ids = ids[dup & ~drop]
    conflict = np.zeros(p.n, dtype=bool)
    conflict[np.flatnonzero(dup & ~drop)[kept_ids.duplicated(keep=False).to_numpy()]] = True
    p.flag(
        conflict,
        key,
        f"{key} is not unique: other rows (listed with it) have the same {key} and different content; "
        "give each row its own id",
    )
    return drop


_DUPLICATE_MESSAGE = "exact duplicate of an earlier row; this copy was dropped"


def _forget_dropped(col: _Collector, parsed: dict[str, _Parser], drops: dict[str, np.ndarray]) -> None:
    """Drop issues about dropped duplicate rows (their first copy carries the same issues)."""
    gone = set()
    for name, mask in drops.items():
        if mask.any():
            raw = parsed[name].raw
            gone.update((raw.file, int(ln)) for ln in raw.lines(np.flatnonzero(mask)))
    if gone:
        col.issues[:] = [i for i in col.issues if (i.file, i.row) not in gone or i.message == _DUPLICATE_MESSAGE]


def _check_reps_exist(p: _Parser, idx: np.ndarray, reps_file: str) -> None:
    unknown = (idx < 0) & p.out["rep_id"].notna().to_numpy()
    p.flag(unknown, "rep_id", f"rep_id is not in {reps_file}; add the rep there or correct the id")


def _check_tenure(p: _Parser, idx: np.ndarray, reps: pd.DataFrame, reps_file: str) -> None:
    """Warn about activities before the rep's hired_at or after their left_at (``idx``: row in ``reps``)."""
    if reps[["hired_at", "left_at"]].isna().all().all():
        return
    # As int64 nanoseconds, with the bounds chosen so that a missing date never flags (NaT is the
    # smallest int64): a few whole-array passes instead of masked datetime comparisons.
    nat, top = np.iinfo(np.int64).min, np.iinfo(np.int64).max
    at = p.out["occurred_at"].to_numpy(dtype="datetime64[ns]").view(np.int64)
    hired = reps["hired_at"].to_numpy(dtype="datetime64[ns]").view(np.int64)
    left = reps["left_at"].to_numpy(dtype="datetime64[ns]").view(np.int64)
    left_end = np.where(left == nat, top, left + 86_400 * 10**9)  # the whole left_at day is still employed
    before = (at < np.append(hired, nat)[idx]) & (at != nat)  # idx -1 (unknown rep) picks the appended bound
    after = at >= np.append(left_end, top)[idx]
    for mask, text in ((before, "before the rep's hired_at"), (after, "after the rep's left_at")):
        if mask.any():
            p.col.rows(WARNING, p.raw, mask, "occurred_at", f"activity {text} in {reps_file}")


def _check_future(p: _Parser, columns: Sequence[str]) -> None:
    now = pd.Timestamp.now(tz=p.pb.timezone).tz_localize(None)
    for c in columns:
        if c not in p.raw.frame.columns:
            continue
        future = (p.out[c] > now).to_numpy(dtype=bool, na_value=False)
        if future.any():
            p.col.rows(
                WARNING,
                p.raw,
                future,
                c,
                f"timestamp is in the future (now is {now:%Y-%m-%d %H:%M} in {p.pb.timezone})",
            )


# ---- entry points --------------------------------------------------------------------------


def _resolve_playbook(
    playbook: str | Path | Playbook | None, text: str | None, source: str, col: _Collector
) -> Playbook:
    try:
        if isinstance(playbook, Playbook):
            return playbook
        if playbook is not None:
            return Playbook.from_toml(playbook)
        if text is not None:
            return Playbook.from_text(text, source=source)
    except PlaybookError as exc:
        col.add(ERROR, Path(str(playbook or source)).name or "playbook", str(exc))
    return Playbook.default()


def _rep_list(reps: Iterable[str] | str | None) -> list[str] | None:
    if reps is None:
        return None
    return list(dict.fromkeys([reps] if isinstance(reps, str) else (str(r) for r in reps)))


def _run(
    source: str | Path,
    playbook: str | Path | Playbook | None,
    reps: Iterable[str] | str | None = None,
    tables: Sequence[str] = schema.ALL_TABLES,
) -> tuple[ValidationReport, SalesData | None]:
    src = Path(source)
    col = _Collector()
    report = ValidationReport(str(source), col.issues)
    only = _rep_list(reps)
    if src.is_dir():
        raws, text, pb_source = _read_folder(src, col, only, tables)
    elif src.is_file() and src.suffix.lower() in (".duckdb", ".db", ".ddb"):
        raws, text, pb_source = _read_duckdb(src, col, only, tables)
    elif src.exists():
        col.add(ERROR, src.name, "not a dataset: give a dataset folder or a .duckdb file")
        return report, None
    else:
        col.add(ERROR, str(src), "no such folder or file; give a dataset folder or a .duckdb file")
        return report, None
    pb = _resolve_playbook(playbook, text, pb_source, col)
    if only is not None:
        for name in ("activities", "deals"):
            raw = raws.get(name)
            if raw is not None:
                raws[name] = _only_reps(raw, only)

    parsed: dict[str, _Parser] = {}
    for name, raw in raws.items():
        if raw is not None:
            parsed[name] = _parse_table(raw, pb, col)
    if "activities" in parsed:
        _check_activities(parsed["activities"], pb)
    if "deals" in parsed:
        _check_deals(parsed["deals"], pb)
    if "deal_stages" in parsed:
        _check_deals(parsed["deal_stages"], pb)  # the same stage names and matching as deals.stage
    drops = {name: _duplicates(p, schema.KEYS.get(name, "")) for name, p in parsed.items()}
    reps_p = parsed.get("reps")
    if reps_p is not None and "rep_id" in reps_p.raw.frame.columns:
        reps = pd.DataFrame(reps_p.out)[~drops["reps"]]
        reps = reps[reps["rep_id"].notna()].drop_duplicates("rep_id").reset_index(drop=True)
        keys = pd.Index(reps["rep_id"])
        if only is not None:
            for r in [r for r in only if r not in keys]:
                col.add(ERROR, reps_p.raw.file, f"rep_id {r!r} was asked for (reps=) but is not in this file", value=r)
        for name in ("activities", "deals"):
            p = parsed.get(name)
            if p is not None and "rep_id" in p.raw.frame.columns:
                idx = _lookup(p.out["rep_id"], keys)
                _check_reps_exist(p, idx, reps_p.raw.file)
                if name == "activities":
                    _check_tenure(p, idx, reps, reps_p.raw.file)
    if "activities" in parsed:
        _check_future(parsed["activities"], ["occurred_at"])
    if "deals" in parsed:
        _check_future(parsed["deals"], ["created_at", "closed_at"])

    _forget_dropped(col, parsed, drops)
    if not report.ok:
        return report, None
    frames = {}
    for name in schema.ALL_TABLES:
        p = parsed.get(name)
        if p is None:
            frames[name] = schema.empty(name)
            continue
        frame = pd.DataFrame({c: s.reset_index(drop=True) for c, s in p.out.items()}, copy=False)
        if drops[name].any():
            frame = frame[~drops[name]]
        frames[name] = schema.conform(frame, name)
    if only is not None:  # the reps table was read whole for validation; keep the reps asked for
        frames["reps"] = frames["reps"][frames["reps"]["rep_id"].isin(only)].reset_index(drop=True)
    data = SalesData(
        activities=frames["activities"],
        reps=frames["reps"],
        deals=frames["deals"],
        deal_stages=frames["deal_stages"],
        playbook=pb,
        warnings=report.warnings,
        source=str(source),
    )
    return report, data


def validate(
    source: str | Path, *, playbook: str | Path | Playbook | None = None, reps: Iterable[str] | str | None = None
) -> ValidationReport:
    """Check a dataset folder or ``.duckdb`` file and list every problem found.

    ``playbook`` is a playbook file, a :class:`Playbook`, or None for the
    dataset's own ``playbook.toml`` (else the default playbook). Never raises for
    problems in the data: they are issues in the returned report. ``reps``
    checks only those reps' activities and deals (see :func:`load`).
    """
    return _run(source, playbook, reps)[0]


def load(
    source: str | Path, *, playbook: str | Path | Playbook | None = None, reps: Iterable[str] | str | None = None
) -> SalesData:
    """Read a dataset folder or ``.duckdb`` file into canonical :class:`SalesData`.

    ``playbook`` is a playbook file, a :class:`Playbook`, or None for the
    dataset's own ``playbook.toml`` (else the default playbook). Exact duplicate
    rows are dropped. Raises :class:`DataError` carrying the full
    :class:`ValidationReport` when the dataset has errors; warnings are kept in
    ``SalesData.warnings``.

    ``reps`` (rep ids; None = all) reads only those reps' activities and deals,
    so that reviewing one rep does not load the whole dataset: Parquet files
    skip the row groups whose rep_id statistics cannot hold them (this pays when
    rows are grouped by rep, e.g. a file sorted by rep_id); DuckDB filters with
    ``WHERE rep_id IN (...)``; CSV files are read whole and then filtered. The
    reps table is read whole, so that rep ids are still checked against it, and
    then limited to those reps; asking for a rep it lacks is an error. Problems
    are reported for the rows read, with the line numbers of the whole file.
    """
    report, data = _run(source, playbook, reps)
    if data is None:
        raise DataError(report)
    return data


def load_reps(source: str | Path, *, playbook: str | Path | Playbook | None = None) -> pd.DataFrame:
    """The reps table of a dataset folder or ``.duckdb`` file alone, checked and in canonical dtypes.

    Reads only the reps file (or table), so that choosing whose rows to :func:`load` costs little. Raises :class:`DataError` for problems in
    the reps table, as :func:`load` would.
    """
    report, data = _run(source, playbook, None, tables=("reps",))
    if data is None:
        raise DataError(report)
    return data.reps
