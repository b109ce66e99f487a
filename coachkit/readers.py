"""Reading a dataset's files (CSV, Parquet, a DuckDB file) into raw tables, before any parsing.

Each reader returns a :class:`~coachkit.report.RawTable` per table: the canonical
columns only (raw text, or typed when the format stores types) and a function from
data-row positions to file lines. Problems with a whole file (it cannot be read, it
is not CSV, a column is named twice, ...) are reported to the collector as issues;
nothing here raises for bad input, and nothing writes to the source.
"""

from __future__ import annotations

import csv
import os
import re
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from . import schema
from .files import FileReadError, decode_error_line, os_reason, read_text, unreadable
from .report import ERROR, WARNING, Collector, Issue, RawTable

__all__ = ["read_folder", "read_duckdb", "arrow_frame", "read_now", "ArrowRawTable"]

_EXTS = ("csv", "parquet")


def _plus_two(pos: np.ndarray) -> np.ndarray:
    return np.asarray(pos, dtype=np.int64) + 2


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


def _columns(table: str, names: Sequence[str], file: str, col: Collector) -> dict[int, str]:
    """Position -> canonical name of every column named like a canonical one (surrounding spaces ignored,
    a name given twice kept twice); warns once about each other name."""
    canon = set(schema.columns(table))
    keep: dict[int, str] = {}
    warned: set[str] = set()
    for pos, name in enumerate(names):
        key = str(name).strip()
        if key in canon:
            keep[pos] = key
        elif key not in warned:
            warned.add(key)
            if key:
                text = f"unknown column ignored; the {table} columns are: {', '.join(schema.columns(table))}"
            else:
                text = f"column {pos + 1} has no name in the header; it is ignored (name it, or delete it)"
            col.add(WARNING, file, text, column=key or None)
    return keep


def _first_of_each(keep: dict[int, str]) -> tuple[list[int], dict[str, list[int]]]:
    """The positions of the first column of each canonical name, and the names given more than once
    with all their positions."""
    seen: dict[str, list[int]] = {}
    for pos, name in keep.items():
        seen.setdefault(name, []).append(pos)
    return [v[0] for v in seen.values()], {k: v for k, v in seen.items() if len(v) > 1}


def _report_duplicate_columns(
    dups: dict[str, list[int]],
    column: Callable[[int], pd.Series],
    where: Sequence[int],
    lines: Callable[[np.ndarray], np.ndarray],
    file: str,
    col: Collector,
) -> None:
    """Report each canonical column the header names more than once: an error when a copy disagrees with
    the first on some row (the first such row is shown), else a warning (the first column is read).

    ``column(k)`` is the k-th read column; ``where[k]`` its 1-based position in the file's header.
    """
    for name, positions in dups.items():
        times = "twice" if len(positions) == 2 else f"{len(positions)} times"
        numbers = [str(where[k]) for k in positions]
        cols = f"columns {', '.join(numbers[:-1])} and {numbers[-1]}"
        first = _cells(column(positions[0]))
        differ = None
        for other in positions[1:]:
            second = _cells(column(other))
            same = (first == second).to_numpy(dtype=bool, na_value=False) | (first.isna() & second.isna()).to_numpy()
            if not same.all():
                rows = np.flatnonzero(~same)
                if differ is None or rows[0] < differ[0][0]:
                    differ = (rows, other, second)
        if differ is None:
            col.add(
                WARNING,
                file,
                f"the header names {name} {times} ({cols}), with the same value on every row; "
                "the first is read; delete the copies",
                column=name,
            )
            continue
        rows, other, second = differ
        i = int(rows[0])
        a, b = first.iloc[i], second.iloc[i]
        shown_a = "(empty)" if pd.isna(a) else repr(a)
        shown_b = "(empty)" if pd.isna(b) else repr(b)
        two = "the two columns" if len(positions) == 2 else f"columns {where[positions[0]]} and {where[other]}"
        col.add(
            ERROR,
            file,
            f"the header names {name} {times} ({cols}) and {two} disagree: {shown_a} vs {shown_b} on this line "
            f"({len(rows):,} of {len(first):,} rows differ); keep one {name} column, and delete or rename the others",
            column=name,
            row=int(lines(np.array([i]))[0]),
            value=None if pd.isna(b) else b,
        )


def _cells(s: pd.Series) -> pd.Series:
    """A column's cells as text for comparison, empty text missing."""
    t = s.astype(schema.STRING)
    return t.mask((t == "").to_numpy(dtype=bool, na_value=False))


_SEPARATORS = {";": "';'", "\t": "a tab", "|": "'|'"}


def _check_head(path: Path, table: str, file: str, col: Collector) -> list[str] | None:
    """The header's field names as written (None when the file cannot be read as comma-separated UTF-8,
    which is then reported: UTF-16, or another separator than the comma)."""
    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        col.add(
            ERROR,
            file,
            "UTF-16 text, not UTF-8; save the file as CSV UTF-8 (in Excel: Save As, CSV UTF-8)",
            row=1,
        )
        return None
    text = head.removeprefix(b"\xef\xbb\xbf").decode("utf-8", errors="replace")
    line = text.split("\n", 1)[0].rstrip("\r")
    header = next(csv.reader([line]), [])
    canon = set(schema.columns(table))
    found = sum(h.strip() in canon for h in header)
    for sep, shown in _SEPARATORS.items():
        split = [h.strip() for h in line.split(sep)]
        if line.count(sep) and sum(h in canon for h in split) > max(found, 1):
            col.add(
                ERROR,
                file,
                f"not comma-separated: read with commas, the header is {_plural(len(header), 'column')} "
                f"({', '.join(repr(_cut(h)) for h in header[:3])}{', ...' if len(header) > 3 else ''}); "
                f"the separator looks like {shown}. Save the file with commas between fields",
                row=1,
                value=line,
            )
            return None
    return header


def _cut(text: str, width: int = 40) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _first_long_line(path: Path, width: int) -> tuple[int, int] | None:
    """(line, fields) of the first CSV record with more than ``width`` fields, or None."""
    with open(path, encoding="utf-8-sig", newline="", errors="replace") as fh:
        reader = csv.reader(fh)
        prev = 0
        for row in reader:
            start, prev = prev + 1, reader.line_num
            if len(row) > width:
                return start, len(row)
    return None


_FIELDS_FIX = "quote fields that hold commas, and give every line the same number of fields"


def _read_csv(path: Path, table: str, file: str, col: Collector) -> RawTable | None:
    opts: dict[str, Any] = {
        "dtype": str,
        "keep_default_na": False,
        "na_filter": False,
        "encoding": "utf-8-sig",
        "index_col": False,
    }
    try:
        header = _check_head(path, table, file, col)
        if header is None:
            return None
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", pd.errors.ParserWarning)
            frame = pd.read_csv(path, **opts)
        if caught:
            width = len(frame.columns)
            found = _first_long_line(path, width)
            where = (
                f"line {found[0]} has {found[1]} fields, the header {width}"
                if found
                else "a line has more fields than the header"
            )
            col.add(
                ERROR,
                file,
                f"{where}; {_FIELDS_FIX}",
                row=found[0] if found else None,
            )
            return None
    except pd.errors.EmptyDataError:
        col.add(ERROR, file, f"the file is empty; it needs a header line naming the {table} columns")
        return None
    except UnicodeDecodeError as exc:
        data = path.read_bytes()
        try:
            data.removeprefix(b"\xef\xbb\xbf").decode("utf-8")
            line = None
        except UnicodeDecodeError as exc2:
            line = decode_error_line(data.removeprefix(b"\xef\xbb\xbf"), exc2)
        col.add(ERROR, file, f"not UTF-8 text ({exc.reason}); save the file as UTF-8", row=line)
        return None
    except OSError as exc:
        col.add(ERROR, file, os_reason(exc, path))
        return None
    except (pd.errors.ParserError, csv.Error, ValueError) as exc:
        text = " ".join(str(exc).split())
        fields = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", text)
        if fields:
            width, line, seen = (int(g) for g in fields.groups())
            col.add(ERROR, file, f"line {line} has {seen} fields, the header {width}; {_FIELDS_FIX}", row=line)
            return None
        m = re.search(r"line (\d+)", text)
        col.add(
            ERROR,
            file,
            f"not a readable CSV file: {text}; each line needs the same number of comma-separated fields, "
            "with fields that hold commas, quotes or line breaks in double quotes",
            row=int(m.group(1)) if m else None,
        )
        return None
    names = header if len(header) == len(frame.columns) else [str(c) for c in frame.columns]
    keep = _columns(table, names, file, col)
    firsts, dups = _first_of_each(keep)
    lines = _csv_lines(path, len(frame))
    if dups:
        _report_duplicate_columns(dups, lambda k: frame.iloc[:, k], range(1, len(names) + 1), lines, file, col)
    frame = frame.iloc[:, firsts]
    frame.columns = [keep[k] for k in firsts]
    return RawTable(table, file, frame, lines)


def read_now(raw: RawTable | None, col: Collector) -> RawTable | None:
    """``raw`` with its rows read, if they were left to read when asked (:class:`ArrowRawTable`); a file that
    cannot be read is reported as it would have been when it was opened (the issue at the same place in the
    report) and gives None."""
    if not isinstance(raw, ArrowRawTable) or raw._read is None or raw._arrow is not None:
        return raw
    try:
        raw.arrow  # noqa: B018  (reads the rows)
    except OSError as exc:
        message = os_reason(exc, raw.path) if exc.errno else f"not a readable Parquet file: {exc}"
    except pa.ArrowException as exc:
        message = f"not a readable Parquet file: {exc}"
    else:
        return raw
    col.issues.insert(raw.issue_at, Issue(ERROR, raw.file, None, None, None, message))
    return None


def arrow_frame(table: pa.Table) -> pd.DataFrame:
    return table.to_pandas(types_mapper={pa.bool_(): pd.BooleanDtype()}.get, date_as_object=False)


class ArrowRawTable(RawTable):
    """A :class:`RawTable` read from a typed source, kept as Arrow: ``arrow`` holds the canonical columns as read
    (first copy of each), and ``frame``, its pandas form, is built only when something asks for it.

    ``arrow`` may be given as a function reading it, called the first time it is needed: a whole Parquet file
    (``path``) is then not read at all when its rows are checked in place (:mod:`coachkit.parquet_check`);
    ``file_columns`` (canonical name -> the file's column name) and ``schema`` (canonical names) describe it.
    """

    def __init__(
        self,
        name: str,
        file: str,
        arrow: pa.Table | Callable[[], pa.Table],
        lines: Callable[[np.ndarray], np.ndarray],
        *,
        path: Path | None = None,
        file_columns: dict[str, str] | None = None,
        schema: pa.Schema | None = None,
    ) -> None:
        self.name, self.file, self.lines = name, file, lines
        self.path, self.file_columns = path, file_columns
        self._arrow = arrow if isinstance(arrow, pa.Table) else None
        self._read = None if isinstance(arrow, pa.Table) else arrow
        self.schema = arrow.schema if isinstance(arrow, pa.Table) else schema
        self._frame: pd.DataFrame | None = None
        self.issue_at = 0  # where in the report a failure to read the rows belongs (see :func:`read_now`)

    @property
    def arrow(self) -> pa.Table:
        if self._arrow is None:
            assert self._read is not None
            self._arrow = self._read()
        return self._arrow

    @property
    def column_names(self) -> list[str]:
        """The canonical columns read (without reading the rows)."""
        return list(self.schema.names) if self.schema is not None else list(self.arrow.column_names)

    @property  # type: ignore[override]
    def frame(self) -> pd.DataFrame:
        if self._frame is None:
            self._frame = arrow_frame(self.arrow)
        return self._frame


def _read_parquet(
    path: Path,
    table: str,
    file: str,
    col: Collector,
    reps: list[str] | None = None,
    columns: Sequence[str] | None = None,
) -> RawTable | None:
    """Read the canonical columns (``columns``: only those, plus the required ones); with ``reps``, only the row
    groups whose rep_id statistics may hold them."""
    try:
        schema_ = pq.read_schema(path)
        names = schema_.names
        keep = _columns(table, names, file, col)
        if columns is not None:
            wanted = set(columns) | set(schema.required_columns(table))
            keep = {k: v for k, v in keep.items() if v in wanted}
        # pyarrow returns every column of a requested name, in file order: note where each read column sits.
        request = list(dict.fromkeys(names[k] for k in keep))
        read_at = [k for name in request for k in keep if names[k] == name]
        firsts, dups = _first_of_each({i: keep[k] for i, k in enumerate(read_at)})
        # Labels with few distinct values are read as dictionaries: checked per distinct value, not per row.
        text = (pa.types.is_string, pa.types.is_large_string)
        labels = [
            names[k] for k in read_at if keep[k] in _DICTIONARY_COLUMNS and any(t(schema_.field(k).type) for t in text)
        ]
        pf = pq.ParquetFile(path, read_dictionary=list(dict.fromkeys(labels)))
        rep_col = next((names[k] for k in read_at if keep[k] == "rep_id"), None)
        if table == "activities" and reps is None and not dups:
            # The whole file, each canonical column once: read only if asked (a clean file is checked in place).
            def read() -> pa.Table:
                got = pf.read(columns=request)
                return got.select(firsts).rename_columns([keep[read_at[i]] for i in firsts])

            fields = []
            for i in firsts:
                f = schema_.field(read_at[i]).with_name(keep[read_at[i]])
                fields.append(f.with_type(pa.dictionary(pa.int32(), f.type)) if names[read_at[i]] in labels else f)
            raw = ArrowRawTable(
                table,
                file,
                read,
                _plus_two,
                path=path,
                file_columns={keep[read_at[i]]: names[read_at[i]] for i in firsts},
                schema=pa.schema(fields),
            )
            raw.issue_at = len(col.issues)
            return raw
        if reps is None or rep_col is None:
            got, lines = pf.read(columns=request), _plus_two
        else:
            # Row group by row group, keeping only the reps' rows, so that memory holds little more than them.
            # Text rep ids are filtered here; other types are kept whole and filtered after parsing.
            rep_at = read_at.index(next(k for k in read_at if keep[k] == "rep_id"))
            rep_type = schema_.field(read_at[rep_at]).type
            by_text = pa.types.is_string(rep_type) or pa.types.is_large_string(rep_type)
            wanted = pa.array(reps, type=pa.string())
            pieces, rows = [pf.schema_arrow.empty_table().select(read_at)], [np.zeros(0, dtype=np.int64)]
            for g, start, stop in _row_groups_with(pf.metadata, rep_col, reps):
                piece = pf.read_row_group(g, columns=request)
                if by_text:
                    ids = piece.column(rep_at)
                    if pa.types.is_dictionary(ids.type):
                        ids = ids.cast(ids.type.value_type)
                    ids = pc.utf8_trim_whitespace(ids)
                    mask = pc.fill_null(pc.is_in(ids, value_set=wanted), False)
                    piece = piece.filter(mask)
                    rows.append(start + np.flatnonzero(mask.to_numpy(zero_copy_only=False)))
                else:
                    rows.append(np.arange(start, stop))
                pieces.append(piece)
            positions = np.concatenate(rows)
            got = pa.concat_tables(pieces)
            lines = lambda pos: positions[np.asarray(pos, dtype=np.int64)] + 2  # noqa: E731
        if dups:
            _report_duplicate_columns(
                dups, lambda i: got.column(i).to_pandas(), [k + 1 for k in read_at], lines, file, col
            )
        arrow = got.select(firsts).rename_columns([keep[read_at[i]] for i in firsts])
    except OSError as exc:
        col.add(ERROR, file, os_reason(exc, path) if exc.errno else f"not a readable Parquet file: {exc}")
        return None
    except pa.ArrowException as exc:
        col.add(ERROR, file, f"not a readable Parquet file: {exc}")
        return None
    return ArrowRawTable(table, file, arrow, lines)


_LABEL_COLUMNS = ("activity_type", "outcome", "direction", "stage")
#: Text columns read as dictionaries: labels, rep ids and account ids have few distinct values, so they are
#: decoded once per distinct value instead of once per row (8M rep ids: about 0.3 s instead of 3 s), checked per
#: distinct value, and held as 4-byte codes.
_DICTIONARY_COLUMNS = (*_LABEL_COLUMNS, "rep_id", "account_id")


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
        # ids are matched without the spaces around them: 'r1 ' holds r1 (so compare with lo.rstrip()), and
        # a group whose smallest id starts with a space may hold any id
        usable = isinstance(lo, str) and isinstance(hi, str) and not lo[:1].isspace()
        if not usable or any(lo.rstrip() <= v <= hi for v in values):
            out.append((g, start, start + rg.num_rows))
        start += rg.num_rows
    return out


def read_folder(
    folder: Path,
    col: Collector,
    reps: list[str] | None = None,
    tables: Sequence[str] = schema.ALL_TABLES,
    *,
    playbook: bool = True,
    columns: dict[str, Sequence[str]] | None = None,
) -> tuple[dict[str, RawTable | None], str | None, str]:
    """Read ``tables`` of a dataset folder and, with ``playbook``, its ``playbook.toml`` text (None when
    absent or unreadable). ``columns``: table -> the columns to read from a Parquet file (the required ones
    are always read; a table not named is read whole; CSV files are always read whole).

    A name that exists but cannot be read (a directory, a dangling link, a link loop, no permission)
    is reported with its cause, never as missing.
    """
    raws: dict[str, RawTable | None] = dict.fromkeys(tables)
    try:
        os.lstat(folder / "playbook.toml")  # can names in the folder be looked up at all?
    except FileNotFoundError:
        pass
    except OSError as exc:
        col.add(ERROR, str(folder), os_reason(exc, folder, what="folder"))
        return raws, None, ""
    for table in tables:
        present = [folder / f"{table}.{ext}" for ext in _EXTS if os.path.lexists(folder / f"{table}.{ext}")]
        if len(present) > 1:
            col.add(
                ERROR,
                present[0].name,
                f"both {present[0].name} and {present[1].name} exist; keep only one of them "
                "so that the dataset is unambiguous",
            )
            continue
        if not present:
            if table not in schema.OPTIONAL_TABLES:
                col.add(
                    ERROR,
                    f"{table}.csv",
                    f"required file missing: put {table}.csv or {table}.parquet in {folder}",
                )
            continue
        path = present[0]
        problem = unreadable(path)
        if problem is not None:
            col.add(ERROR, path.name, problem)
        elif path.suffix == ".csv":  # CSV has no index to skip by: read it all, keep the reps' rows later
            raws[table] = _read_csv(path, table, path.name, col)
        else:
            cols = None if columns is None else columns.get(table)
            raws[table] = _read_parquet(path, table, path.name, col, None if table == "reps" else reps, cols)
    pb_path = folder / "playbook.toml"
    if playbook and os.path.lexists(pb_path):
        try:
            return raws, read_text(pb_path), str(pb_path)
        except FileReadError as exc:
            col.add(ERROR, pb_path.name, exc.reason, row=exc.line)
    return raws, None, ""


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def read_duckdb(
    path: Path, col: Collector, reps: list[str] | None = None, tables: Sequence[str] = schema.ALL_TABLES
) -> tuple[dict[str, RawTable | None], str | None, str]:
    import duckdb

    raws: dict[str, RawTable | None] = {}
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
            keep = {names[k]: canon for k, canon in _columns(table, names, file, col).items()}
            cols = ", ".join(_quote(n) for n in keep) or "NULL as _none"
            rep_col = next((name for name, canon in keep.items() if canon == "rep_id"), None)
            if reps is None or rep_col is None or table == "reps":
                frame = arrow_frame(con.sql(f'select {cols} from "{table}"').to_arrow_table())
                lines = _plus_two
            else:  # only the reps' rows; rowid keeps the row numbers of the whole table
                # An exact IN list keeps DuckDB's min/max pruning; it names each id also with the one space
                # around it that spreadsheets leave (ids are read without the spaces around them).
                padded = [*reps, *(f"{r} " for r in reps), *(f" {r}" for r in reps)]
                query = (
                    f'select rowid as "__row", {cols} from "{table}" '
                    f"where cast({_quote(rep_col)} as varchar) in (select unnest(?)) order by rowid"
                )
                got = arrow_frame(con.sql(query, params=[padded]).to_arrow_table())
                positions = got.pop("__row").to_numpy(dtype=np.int64)
                frame = got
                lines = lambda pos, positions=positions: positions[np.asarray(pos, dtype=np.int64)] + 2  # noqa: E731
            if not keep:
                frame = frame.iloc[:, :0]
            raws[table] = RawTable(table, file, frame.rename(columns=keep), lines)
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
