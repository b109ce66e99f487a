"""SalesData: one canonical dataset in memory (activities, reps, deals and the playbook)."""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from . import schema
from .files import atomic_path, write_text
from .playbook import Playbook

if TYPE_CHECKING:
    from .parquet_activities import ParquetActivities

__all__ = ["SalesData", "performed_activities"]

FORMATS = ("parquet", "csv", "duckdb")


def performed_activities(activities: pd.DataFrame) -> pd.DataFrame:
    """The performed rows of an activities frame: every row but those whose ``done`` is false.

    ``done`` (:data:`coachkit.schema.ACTIVITIES`) is false on a to-do that was not done (an open
    Salesforce task, a Pipedrive "To do"); empty or true is performed. Returns ``activities`` itself, not
    a copy, when no row is a to-do or the frame has no ``done`` column, so normal data costs one pass
    over a boolean column.
    """
    if "done" not in activities.columns:
        return activities
    done = activities["done"]
    if pd.api.types.is_bool_dtype(done.dtype):
        not_done = ~done.to_numpy(dtype=bool, na_value=True)
    else:  # a frame built by hand: anything but False counts as performed
        not_done = done.eq(False).to_numpy(dtype=bool, na_value=False)
    if not not_done.any():
        return activities
    return activities[~not_done].reset_index(drop=True)


class _Table:
    """A table field of :class:`SalesData` that may be held as a clean Parquet file read in place
    (:class:`~coachkit.parquet_activities.ParquetActivities`, as :func:`coachkit.load` keeps clean activities)
    or as a canonical Arrow table, and is turned into its pandas frame, with canonical dtypes, the first time it
    is read.

    Assigning a DataFrame replaces it (and forgets the file or the Arrow form).
    """

    def __set_name__(self, owner: type, name: str) -> None:
        self.name, self.slot = name, f"_{name}"

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        if obj is None:
            raise AttributeError(self.name)  # no default: the field is required
        value = obj.__dict__[self.slot]
        if isinstance(value, pa.Table):
            value = schema.from_arrow(value, self.name)
            obj.__dict__[self.slot] = value
        elif not isinstance(value, pd.DataFrame) and hasattr(value, "to_pandas"):
            value = value.to_pandas()
            obj.__dict__[self.slot] = value
        return value

    def __set__(self, obj: Any, value: Any) -> None:
        obj.__dict__[self.slot] = value


@dataclass
class SalesData:
    """A canonical dataset.

    ``activities``, ``reps`` and ``deals`` have the canonical columns, order and
    dtypes of :mod:`coachkit.schema`; a table a source did not have is an empty
    frame with those columns. Timestamps are tz-naive local wall time in
    ``playbook.timezone``. ``warnings`` lists the non-fatal findings of loading
    (:class:`coachkit.load.Issue` objects).
    """

    activities: pd.DataFrame = _Table()  # type: ignore[assignment]
    reps: pd.DataFrame
    deals: pd.DataFrame = field(default_factory=lambda: schema.empty("deals"))
    playbook: Playbook = field(default_factory=Playbook.default)
    warnings: list[Any] = field(default_factory=list)
    source: str = ""
    #: Optional stage history (:data:`coachkit.schema.DEAL_STAGES`); empty when the source has none.
    deal_stages: pd.DataFrame = field(default_factory=lambda: schema.empty("deal_stages"))
    #: table -> the columns read from the source, when :func:`coachkit.load` read only some (``columns=``);
    #: None when every column was read. The other columns are empty (missing) in the frames.
    columns_read: dict[str, tuple[str, ...]] | None = None

    def activity_file(self) -> ParquetActivities | None:
        """The activities as the clean Parquet file :func:`coachkit.load` checked in place, while they have not
        been read into pandas yet, else None.

        :func:`coachkit.kpi_table` scans the file with DuckDB (no pandas copy, no copy in memory at all);
        reading ``activities`` builds the frame.
        """
        from .parquet_activities import ParquetActivities

        value = self.__dict__.get("_activities")
        return value if isinstance(value, ParquetActivities) else None

    def arrow_activities(self) -> pa.Table | None:
        """The activities as a canonical Arrow table while they are held as one and not yet turned into pandas,
        else None."""
        value = self.__dict__.get("_activities")
        return value if isinstance(value, pa.Table) else None

    def content_key(self) -> str | None:
        """A digest of the dataset's content: every row of every table (values and order), the columns, the dtypes
        and the playbook. Two datasets with the same key hold the same data, so what was computed from one holds
        for the other (:func:`coachkit.review.team_tables` shares a team's tables between reviews this way).

        One hash pass over the rows (``pandas.util.hash_pandas_object``): about 13 ms for 40,000 activities.
        None when a table holds values that cannot be hashed (then nothing is shared).
        """
        import hashlib

        digest = hashlib.blake2b(digest_size=16)
        try:
            for name in ("activities", "reps", "deals", "deal_stages"):
                frame = getattr(self, name)
                digest.update(repr((name, len(frame), list(frame.columns), [str(t) for t in frame.dtypes])).encode())
                if len(frame) and len(frame.columns):
                    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
        except TypeError:
            return None
        digest.update(repr((self.playbook, self.columns_read)).encode())
        return digest.hexdigest()

    def n_activities(self) -> int:
        """Number of activities, without building the pandas frame."""
        value = self.__dict__.get("_activities")
        if isinstance(value, pd.DataFrame):
            return len(value)
        return value.num_rows if hasattr(value, "num_rows") else len(self.activities)

    @classmethod
    def from_frames(
        cls,
        activities: pd.DataFrame,
        reps: pd.DataFrame,
        deals: pd.DataFrame | None = None,
        playbook: Playbook | None = None,
        *,
        source: str = "",
        deal_stages: pd.DataFrame | None = None,
    ) -> SalesData:
        """Build a dataset from already-parsed frames, setting canonical columns and dtypes."""
        stages = deal_stages if deal_stages is not None else schema.empty("deal_stages")
        return cls(
            activities=schema.conform(activities, "activities"),
            reps=schema.conform(reps, "reps"),
            deals=schema.conform(deals if deals is not None else schema.empty("deals"), "deals"),
            playbook=playbook or Playbook.default(),
            source=source,
            deal_stages=schema.conform(stages, "deal_stages"),
        )

    def performed(self) -> SalesData:
        """The dataset of performed activities only: what every KPI, chart and review reads.

        Activities whose ``done`` is false (to-dos kept by an importer: open tasks, Pipedrive "To do") are
        left out; reps, deals and the rest are the same objects. Returns ``self`` when every activity is
        performed (the normal case), so calling it costs one pass over the ``done`` column.
        """
        held = self.activity_file()
        if held is not None:  # still the file (a clean Parquet load): read only its performed rows, no copy now
            performed = held.performed()
            return self if performed is held else replace(self, activities=performed)
        arrow = self.arrow_activities()
        if arrow is not None:  # still in Arrow form: filter it there, no pandas copy
            if "done" not in arrow.column_names:
                return self
            not_done = pc.fill_null(pc.equal(arrow.column("done"), False), False)
            if not pc.any(not_done).as_py():
                return self
            return replace(self, activities=arrow.filter(pc.invert(not_done)))
        acts = performed_activities(self.activities)
        return self if acts is self.activities else replace(self, activities=acts)

    def table(self, name: str) -> pd.DataFrame:
        """The table called ``name`` (activities, reps, deals or deal_stages)."""
        tables = {"activities": self.activities, "reps": self.reps, "deals": self.deals}
        return tables[name] if name in tables else self.deal_stages

    def save(self, folder: str | Path, format: str = "parquet") -> Path:
        """Write the dataset; :func:`coachkit.load` reads it back unchanged.

        ``format`` is ``parquet`` or ``csv``: ``folder`` becomes a dataset folder
        (``activities``, ``reps``, ``deals`` and ``playbook.toml``); files of the
        other format for the same table are removed so that the folder stays one
        unambiguous dataset. ``duckdb``: ``folder`` is the path of a DuckDB file
        holding tables ``activities``, ``reps``, ``deals`` and a one-row table
        ``playbook`` with a text column ``toml`` (NULL when the playbook has no text).

        CSV timestamps are ISO 8601 local wall time; empty cells are missing
        values. Every file is written atomically.
        """
        if format not in FORMATS:
            raise ValueError(f"format must be one of {FORMATS}, got {format!r}")
        if format == "duckdb":
            return self._save_duckdb(Path(folder))
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for name in schema.ALL_TABLES:
            frame = _without_empty_sparse(self.table(name), name)
            if name == "deal_stages" and frame.empty:  # optional: no file rather than an empty one
                for ext in ("csv", "parquet"):
                    (folder / f"{name}.{ext}").unlink(missing_ok=True)
                continue
            target = folder / f"{name}.{format}"
            with atomic_path(target) as tmp:
                if format == "parquet":
                    frame.to_parquet(tmp, index=False, engine="pyarrow")
                else:
                    _to_csv(frame, name, tmp)
            other = folder / f"{name}.{'csv' if format == 'parquet' else 'parquet'}"
            other.unlink(missing_ok=True)
        text = self.playbook.text
        if text is not None:
            write_text(folder / "playbook.toml", text)
        return folder

    def _save_duckdb(self, path: Path) -> Path:
        import duckdb

        if path.is_dir():
            raise ValueError(f"{path} is a folder; format='duckdb' writes a file such as {path / 'sales.duckdb'}")
        with atomic_path(path) as tmp:
            tmp.unlink()  # duckdb creates the database file itself
            con = duckdb.connect(str(tmp))
            try:
                con.execute("set enable_progress_bar = false")
                for name in schema.ALL_TABLES:
                    frame = _without_empty_sparse(self.table(name), name)
                    if name == "deal_stages" and frame.empty:
                        continue
                    con.register("_frame", frame)
                    con.execute(f'create table "{name}" as select * from _frame')
                    con.unregister("_frame")
                con.execute("create table playbook (toml varchar)")
                con.execute("insert into playbook values (?)", [self.playbook.text])
                con.execute("checkpoint")
            finally:
                con.close()
                Path(f"{tmp}.wal").unlink(missing_ok=True)
        return path

    def for_rep(self, rep_id: str) -> SalesData:
        """The same dataset restricted to one rep's activities, deals and reps row."""
        a = self.activities[self.activities["rep_id"] == rep_id].reset_index(drop=True)
        d = self.deals[self.deals["rep_id"] == rep_id].reset_index(drop=True)
        r = self.reps[self.reps["rep_id"] == rep_id].reset_index(drop=True)
        return replace(self, activities=a, deals=d, reps=r)

    def between(self, start: Any = None, end: Any = None) -> SalesData:
        """Activities with ``start <= occurred_at <= end``; deals created or closed in that span.

        A date, or a timestamp at midnight, as ``end`` includes that whole day.
        ``None`` leaves that side open. Reps are kept.
        """
        lo = pd.Timestamp(start) if start is not None else None
        hi = _end_exclusive(end)
        a = self.activities
        mask = pd.Series(True, index=a.index)
        if lo is not None:
            mask &= a["occurred_at"] >= lo
        if hi is not None:
            mask &= a["occurred_at"] < hi
        d = self.deals

        def inside(col: pd.Series) -> pd.Series:
            m = col.notna()
            if lo is not None:
                m &= col >= lo
            if hi is not None:
                m &= col < hi
            return m

        dmask = inside(d["created_at"]) | inside(d["closed_at"])
        return replace(
            self,
            activities=a[mask].reset_index(drop=True),
            deals=d[dmask].reset_index(drop=True),
        )

    def __repr__(self) -> str:
        return (
            f"SalesData({self.n_activities():,} activities, {len(self.reps):,} reps, "
            f"{len(self.deals):,} deals, timezone={self.playbook.timezone!r}, source={self.source!r})"
        )


def _without_empty_sparse(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """``frame`` without its :data:`coachkit.schema.SPARSE_COLUMNS` that hold no value (read back as empty)."""
    empty = [c for c in schema.SPARSE_COLUMNS.get(table, ()) if c in frame.columns and frame[c].isna().all()]
    return frame.drop(columns=empty) if empty else frame


def _end_exclusive(end: Any) -> pd.Timestamp | None:
    if end is None:
        return None
    ts = pd.Timestamp(end)
    if isinstance(end, dt.date) and not isinstance(end, dt.datetime):
        return ts + pd.Timedelta(days=1)
    if ts == ts.normalize() and not (isinstance(end, str) and ("T" in end or ":" in end)):
        return ts + pd.Timedelta(days=1)
    return ts + pd.Timedelta(1, "ns")


def _iso(s: pd.Series) -> pd.Series:
    """ISO 8601 text of tz-naive timestamps, exact to the nanosecond, without trailing zero fractions."""
    values = s.to_numpy(dtype="datetime64[ns]")
    text = np.datetime_as_string(values, unit="s").astype(object)
    ns = values.view("int64") % 1_000_000_000
    frac = np.flatnonzero((ns != 0) & ~np.isnat(values))
    if len(frac):  # rare: only timestamps with a fraction of a second get one
        text[frac] = [f"{t}.{n:09d}".rstrip("0") for t, n in zip(text[frac], ns[frac], strict=True)]
    text[np.isnat(values)] = np.nan
    return pd.Series(text, index=s.index, dtype=schema.STRING)


def _to_csv(frame: pd.DataFrame, table: str, path: Path) -> None:
    out = frame.copy()
    for col in schema.ALL_TABLES[table]:
        if col.name not in out.columns:  # a sparse column left out
            continue
        s = out[col.name]
        if col.kind == "timestamp":
            out[col.name] = _iso(s)
        elif col.kind == "date":
            out[col.name] = s.dt.strftime("%Y-%m-%d")
        elif col.kind == "boolean":
            out[col.name] = s.map({True: "true", False: "false"}).astype(schema.STRING)
    # The csv module quotes fields holding "\n" but not a lone "\r", which readers take as a line
    # break; quote every field in the rare file whose text holds one.
    text_cols = [c.name for c in schema.ALL_TABLES[table] if c.kind == "string"]
    has_cr = any(out[c].str.contains("\r", regex=False).any() for c in text_cols if len(out))
    out.to_csv(path, index=False, lineterminator="\n", quoting=csv.QUOTE_ALL if has_cr else csv.QUOTE_MINIMAL)
