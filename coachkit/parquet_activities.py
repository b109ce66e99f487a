"""Clean activities read in place: a Parquet file proved clean by :func:`coachkit.load`, kept as the file.

:func:`coachkit.load` checks the activities of a clean Parquet dataset without reading them into memory
(:mod:`coachkit.parquet_check`) and keeps them as a :class:`ParquetActivities`: the file, and the SQL that
reads its rows in canonical form (labels in the playbook's spelling, empty text and NaN missing, timestamps
in nanoseconds). The KPIs defined in SQL scan the file with DuckDB (:mod:`coachkit.kpi_sql`), streaming
it, so that 80 million activities need no more memory than a few thousand; ``SalesData.activities`` reads
it into the canonical pandas frame the first time it is asked for (through the same SQL).

**The file is pinned.** It is opened once, when it is checked, and every later read goes through that open
file (on Linux and macOS): a dataset folder replaced by a new export (a new file under the same name) or
deleted after loading does not change what was loaded. A file changed in place (same file, new size or
modification time) raises :class:`DatasetChanged` at the next read: load the dataset again. Where open
files cannot be read by path (Windows), the file is read by its name and checked the same way.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from . import duck, schema

__all__ = ["ParquetActivities", "DatasetChanged"]


class DatasetChanged(RuntimeError):
    """The activities file changed after it was loaded and checked."""


def _fingerprint(st: os.stat_result) -> tuple[int, int]:
    return st.st_size, st.st_mtime_ns


class _Pin:
    """The file held open since it was checked; ``path`` reads it (``/proc/self/fd/N`` or ``/dev/fd/N``)."""

    def __init__(self, path: Path, expect: tuple[int, int] | None = None) -> None:
        self.name = Path(path)
        fd = os.open(self.name, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        self._finalizer = weakref.finalize(self, os.close, fd)
        self.fd = fd
        self.stamp = _fingerprint(os.fstat(fd))
        if expect is not None and self.stamp != tuple(expect):
            self._finalizer()
            raise DatasetChanged(
                f"{self.name}: the activities file changed since this dataset was loaded; load the dataset again"
            )
        self.path = str(self.name)
        for through in (f"/proc/self/fd/{fd}", f"/dev/fd/{fd}"):
            try:
                if os.path.samestat(os.stat(through), os.fstat(fd)):
                    self.path = through
                    break
            except OSError:
                continue

    def check(self) -> None:
        """Raise :class:`DatasetChanged` when the file was changed in place (or, read by name, replaced)."""
        st = os.fstat(self.fd) if self.path != str(self.name) else os.stat(self.name)
        if _fingerprint(st) != self.stamp or (
            self.path == str(self.name) and not os.path.samestat(st, os.fstat(self.fd))
        ):
            raise DatasetChanged(
                f"{self.name}: the activities file changed after coachkit.load checked it (its size or "
                "modification time differ); load the dataset again"
            )


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _case(column: str, mapping: Mapping[str, str | None]) -> str:
    """SQL mapping raw values to canonical ones (a value not in ``mapping`` becomes NULL)."""
    whens = " ".join(
        f"WHEN {duck.literal(raw)} THEN {'NULL' if canon is None else duck.literal(canon)}"
        for raw, canon in mapping.items()
    )
    return f"CASE {column} {whens} ELSE NULL END" if whens else "NULL::VARCHAR"


@dataclass(frozen=True)
class _Column:
    """One canonical column of the file: the file's column name, its Arrow type and, for labels, raw -> canonical."""

    file: str
    type: pa.DataType
    labels: Mapping[str, str | None] | None = None


class ParquetActivities:
    """Canonical activities held in a Parquet file (see the module docstring).

    ``columns``: canonical column -> (the file's column name, its Arrow type, raw -> canonical label map for
    labels whose raw values are not all canonical). ``rows``: the file's rows; ``not_done``: how many have
    ``done`` false. ``performed_only``: read only the performed rows (``done`` not false).
    """

    def __init__(
        self,
        path: str | Path | _Pin,
        columns: Mapping[str, _Column],
        *,
        rows: int,
        not_done: int = 0,
        performed_only: bool = False,
        bounds: tuple[int, int] | None = None,
    ) -> None:
        self._pin = path if isinstance(path, _Pin) else _Pin(Path(path))
        self.columns = dict(columns)
        self.rows = int(rows)
        self.not_done = int(not_done)
        self.performed_only = performed_only
        self.bounds = bounds

    @classmethod
    def from_file(
        cls, path: str | Path, file_columns: Mapping[str, str], types: Mapping[str, pa.DataType]
    ) -> ParquetActivities:
        """The activities of ``path`` (not yet checked): canonical column -> file column, and their types."""
        cols = {
            c.name: _Column(file_columns[c.name], types[c.name]) for c in schema.ACTIVITIES if c.name in file_columns
        }
        return cls(path, cols, rows=0)

    # -- what it holds --
    @property
    def path(self) -> Path:
        """The activities file, as named when it was loaded."""
        return self._pin.name

    @property
    def reader_path(self) -> str:
        """The path that reads the pinned file (``/proc/self/fd/N`` where the system has it)."""
        return self._pin.path

    @property
    def column_names(self) -> list[str]:
        """The canonical columns the file has (in canonical order)."""
        return list(self.columns)

    @property
    def num_rows(self) -> int:
        """Number of activities (the performed ones when ``performed_only``)."""
        return self.rows - self.not_done if self.performed_only else self.rows

    def with_labels(
        self,
        labels: Mapping[str, Mapping[str, str | None]],
        *,
        rows: int,
        not_done: int,
        bounds: tuple[int, int] | None = None,
    ) -> ParquetActivities:
        """A copy knowing how to read the checked labels (column -> raw -> canonical), the row counts and, when
        known, the earliest and latest occurred_at of all rows (``bounds``, int64 ns)."""
        cols = {
            name: _Column(c.file, c.type, labels.get(name) or None) if name in labels else c
            for name, c in self.columns.items()
        }
        return ParquetActivities(self._pin, cols, rows=rows, not_done=not_done, bounds=bounds)

    def performed(self) -> ParquetActivities:
        """The performed activities (``done`` not false): ``self`` when every activity is."""
        if not self.not_done or self.performed_only:
            return self
        return ParquetActivities(self._pin, self.columns, rows=self.rows, not_done=self.not_done, performed_only=True)

    # -- SQL --
    def expression(self, name: str) -> str:
        """SQL of the canonical column ``name`` over the file's row (``read_parquet`` columns)."""
        c = self.columns[name]
        q = _quote(c.file)
        kind = next(col.kind for col in schema.ACTIVITIES if col.name == name)
        if c.labels is not None:
            return _case(q, c.labels)
        if kind == "string":
            return q if name in ("activity_id", "rep_id", "activity_type") else f"nullif({q}, '')"
        if kind == "timestamp":
            return q if c.type == pa.timestamp("ns") else f"CAST({q} AS TIMESTAMP_NS)"
        if kind == "float":
            if pa.types.is_floating(c.type):  # NaN is a missing value, as in pandas
                return f"CASE WHEN isnan({q}) THEN NULL ELSE {q}::DOUBLE END"
            return f"{q}::DOUBLE"
        return q

    def scan(self, *, file_row_number: bool = False) -> str:
        """``read_parquet`` of the pinned file (after checking that it did not change)."""
        self._pin.check()
        extra = ", file_row_number = true" if file_row_number else ""
        return f"read_parquet({duck.literal(self.reader_path)}{extra})"

    def sql(self, columns: Sequence[str] | None = None) -> str:
        """A subquery of the canonical activities (``columns``: only those), for ``FROM``."""
        names = [c for c in (columns or self.columns) if c in self.columns]
        parts = ", ".join(f"{self.expression(n)} AS {_quote(n)}" for n in names) or "NULL AS _none"
        where = ""
        if self.performed_only:
            where = f" WHERE {_quote(self.columns['done'].file)} IS DISTINCT FROM false"
        return f"(SELECT {parts} FROM {self.scan()}{where})"

    # -- reading it --
    def to_arrow(self, columns: Sequence[str] | None = None) -> pa.Table:
        """The canonical activities (``columns``: only those) as Arrow, in file order."""
        cur = duck.cursor()
        try:
            return cur.sql(f"SELECT * FROM {self.sql(columns)}").to_arrow_table()
        finally:
            cur.close()

    def to_pandas(self) -> pd.DataFrame:
        """The canonical activities frame (every canonical column, canonical dtypes), as the full validation gives it."""
        return schema.from_arrow(self.to_arrow(), "activities")

    def time_bounds(self) -> tuple[Any, Any]:
        """(earliest, latest) occurred_at as ``datetime64[ns]`` (None, None without activities): the ``bounds``
        the check found when they hold for these rows, else by a query."""
        if self.bounds is not None and (not self.performed_only or not self.not_done):
            lo, hi = self.bounds
            return pd.Timestamp(int(lo)).to_datetime64(), pd.Timestamp(int(hi)).to_datetime64()
        cur = duck.cursor()
        try:
            lo, hi = cur.sql(
                f"SELECT epoch_ns(min(occurred_at)), epoch_ns(max(occurred_at)) FROM {self.sql(['occurred_at', 'done'])}"
            ).fetchall()[0]
        finally:
            cur.close()
        if lo is None:
            return None, None
        return pd.Timestamp(lo).to_datetime64(), pd.Timestamp(hi).to_datetime64()

    def __reduce__(self) -> tuple[Any, ...]:
        # In another process the file is opened again by name, and must be the one that was loaded.
        state = (
            str(self._pin.name),
            self._pin.stamp,
            self.columns,
            self.rows,
            self.not_done,
            self.performed_only,
            self.bounds,
        )
        return (_reopen, state)

    def __repr__(self) -> str:
        return f"ParquetActivities({str(self.path)!r}, {self.num_rows:,} rows, columns={self.column_names})"


def _reopen(
    name: str,
    stamp: tuple[int, int],
    columns: Mapping[str, _Column],
    rows: int,
    not_done: int,
    performed_only: bool,
    bounds: tuple[int, int] | None = None,
) -> ParquetActivities:
    return ParquetActivities(
        _Pin(Path(name), expect=stamp),
        columns,
        rows=rows,
        not_done=not_done,
        performed_only=performed_only,
        bounds=bounds,
    )
