"""Reading a dataset's files (CSV, Parquet, a DuckDB file) into raw tables, before any parsing.

Each reader returns a :class:`~coachkit.report.RawTable` per table: the canonical
columns only (raw text, or typed when the format stores types) and a function from
data-row positions to file lines. Problems with a whole file (it cannot be read, it
is not CSV, a column is named twice, ...) are reported to the collector as issues;
nothing here raises for bad input, and nothing writes to the source.
"""

from __future__ import annotations

import csv
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
from .report import ERROR, WARNING, Collector, RawTable

__all__ = ["read_folder", "read_duckdb", "arrow_frame"]

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


def _wanted(table: str, names: Sequence[str], file: str, col: Collector) -> dict[str, str]:
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


def _read_csv(path: Path, table: str, file: str, col: Collector) -> RawTable | None:
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
    return RawTable(table, file, frame, _csv_lines(path, len(frame)))


def arrow_frame(table: pa.Table) -> pd.DataFrame:
    return table.to_pandas(types_mapper={pa.bool_(): pd.BooleanDtype()}.get, date_as_object=False)


def _read_parquet(path: Path, table: str, file: str, col: Collector, reps: list[str] | None = None) -> RawTable | None:
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
            frame, lines = arrow_frame(pf.read(columns=list(keep))), _plus_two
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
            frame = arrow_frame(pa.concat_tables(pieces))
            lines = lambda pos: positions[np.asarray(pos, dtype=np.int64)] + 2  # noqa: E731
    except (OSError, pa.ArrowException) as exc:
        col.add(ERROR, file, f"not a readable Parquet file: {exc}")
        return None
    return RawTable(table, file, frame.rename(columns=keep), lines)


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


def read_folder(
    folder: Path, col: Collector, reps: list[str] | None = None, tables: Sequence[str] = schema.TABLES
) -> tuple[dict[str, RawTable | None], str | None, str]:
    raws: dict[str, RawTable | None] = {}
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
            if table != "deals":
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


def read_duckdb(
    path: Path, col: Collector, reps: list[str] | None = None, tables: Sequence[str] = schema.TABLES
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
                if table != "deals":
                    col.add(ERROR, file, f"required table missing: {path.name} needs a table named {table}")
                raws[table] = None
                continue
            names = [r[0] for r in con.execute(f'select * from "{table}" limit 0').description]
            keep = _wanted(table, names, file, col)
            cols = ", ".join(_quote(n) for n in keep) or "NULL as _none"
            rep_col = next((name for name, canon in keep.items() if canon == "rep_id"), None)
            if reps is None or rep_col is None or table == "reps":
                frame = arrow_frame(con.sql(f'select {cols} from "{table}"').to_arrow_table())
                lines = _plus_two
            else:  # only the reps' rows; rowid keeps the row numbers of the whole table
                query = (
                    f'select rowid as "__row", {cols} from "{table}" '
                    f"where cast({_quote(rep_col)} as varchar) in (select unnest(?)) order by rowid"
                )
                got = arrow_frame(con.sql(query, params=[reps]).to_arrow_table())
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
