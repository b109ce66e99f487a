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

Rules applied while reading (an error when a KPI from the row would be wrong,
a warning when every KPI stays right; the checks themselves are in
:mod:`coachkit.checks`, the reading of files in :mod:`coachkit.readers`):

* Timestamps are ISO 8601 and start with a full date ``YYYY-MM-DD`` (a year,
  a month or a compact ``20261013`` is an error). Without an offset they are
  local time in the playbook's timezone; with an offset (``Z``, ``+02:00``) they
  are converted to it. Both may be mixed in one column. In memory they are
  tz-naive local wall time. A naive time in a DST gap or fold of the timezone
  is kept as written, with a warning. Dates (``hired_at``, ``left_at``) are
  ``YYYY-MM-DD``; a full timestamp counts as its (local) date.
* Empty cells are missing values. Booleans are ``true``/``false`` (any case)
  or ``1``/``0``. A rep_id with spaces around it is read without them (warning).
* Activity types, directions and stages match case- and spacing-insensitively
  (stages take the playbook's spelling); raw outcome labels are mapped with
  :meth:`Playbook.map_outcome` before checking.
* Column names must be the canonical names (surrounding spaces are ignored);
  other columns are reported as warnings and ignored. A canonical column named
  twice is an error when the copies disagree, else a warning.
* Deals: ``closed_at`` before ``created_at``, ``is_won`` true with ``is_closed``
  false and a negative ``amount`` are errors. Reps: ``left_at`` before
  ``hired_at`` is an error. Activity rows that repeat an earlier row in all but
  ``activity_id`` are a warning per type when they are :data:`COPY_SHARE` of it.

Nothing here ever writes to the source.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from . import checks, duck, parquet_check, schema
from .checks import surely_distinct as _surely_distinct
from .dataset import SalesData
from .files import os_reason, unreadable
from .playbook import Playbook, PlaybookError, normalize_label
from .readers import ArrowRawTable, read_duckdb, read_folder, read_now
from .report import ERROR, WARNING, Collector, DataError, Issue, RawTable, ValidationReport

__all__ = ["load", "load_reps", "validate", "DataError", "ValidationReport", "Issue"]

# An offset after a time of day: Z, +02, +0200, +02:00 (a date's "-02" does not count).
_OFFSET_RE = r"\d:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:[Zz]|[+-]\d{2}(?::?\d{2})?)$"
_TS_MIN = pd.Timestamp.min.as_unit("us")
_TS_MAX = pd.Timestamp.max.as_unit("us")
_TS_HINT = "write an ISO 8601 timestamp such as 2026-03-02T14:30:00 or 2026-03-02T14:30:00+01:00"
_DATE_HINT = "write a date such as 2026-03-02 (YYYY-MM-DD)"
_BOOL_TRUE = ("true", "1")
_BOOL_FALSE = ("false", "0")


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


def _to_string(s: pd.Series) -> pd.Series:
    """A column as canonical text: whole floats without ".0", empty cells missing."""
    if pd.api.types.is_float_dtype(s.dtype):
        whole = s.dropna()
        if len(whole) and (whole == np.floor(whole)).all():
            s = s.astype("Int64")
    t = s if pd.api.types.is_string_dtype(s.dtype) and s.dtype != object else s.astype(schema.STRING)
    empty = (t == "").to_numpy(dtype=bool, na_value=False)
    return t.where(~empty) if empty.any() else t


def _only_reps(raw: RawTable, reps: list[str]) -> RawTable:
    """The rows of ``raw`` whose rep_id is one of ``reps``, keeping the file's line numbers."""
    if "rep_id" not in raw.frame.columns:
        return raw
    ids = _to_string(raw.frame["rep_id"]).str.strip()  # as the ids are read: without spaces around them
    keep = np.flatnonzero(ids.isin(reps).to_numpy(dtype=bool))
    if len(keep) == len(raw.frame):
        return raw
    frame = raw.frame.iloc[keep].reset_index(drop=True)
    return RawTable(raw.name, raw.file, frame, lambda pos: raw.lines(keep[np.asarray(pos, dtype=np.int64)]))


def _type_error(col: Collector, raw: RawTable, name: str, kind: str, s: pd.Series) -> None:
    col.add(ERROR, raw.file, f"column has type {s.dtype}; expected {kind} values", column=name)


class _Parser:
    """Parses one raw table into typed columns, reporting problems row by row."""

    def __init__(self, raw: RawTable, playbook: Playbook, col: Collector) -> None:
        self.raw = raw
        self.pb = playbook
        self.col = col
        self.n = len(raw.frame)
        self.out: dict[str, pd.Series] = {}
        self.codes: dict[str, np.ndarray] = {}  # codes of label columns into the playbook's lists
        self._ids: dict[str, tuple[np.ndarray, pd.Index]] = {}

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
        naive: np.ndarray | bool = True  # which values were written without an offset
        if isinstance(s.dtype, pd.DatetimeTZDtype):
            parsed = s.dt.tz_convert(self.pb.timezone).dt.tz_localize(None)
            naive = False
        elif pd.api.types.is_datetime64_dtype(s.dtype):
            parsed = s
        elif _is_text(s):
            t = _as_text(s)
            missing = _missing_text(t)
            stripped = t.str.strip()
            short = checks.not_extended_iso(stripped) & ~missing
            parsed, has_offset = _parse_timestamps(stripped, self.pb.timezone)
            naive = ~has_offset
            kind = "date" if date else "timestamp"
            self.flag(
                short,
                name,
                f"not a valid {kind}: it must start with a full date, year-month-day; a year alone, a year and "
                f"month, or a compact date such as 20261013 is refused rather than guessed; {hint}",
            )
            if short.any():
                parsed = parsed.where(~short)
            self.flag(~missing & ~short & parsed.isna().to_numpy(), name, f"not a valid {kind}; {hint}")
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
            return parsed.dt.normalize()
        if naive is not False:
            self.clock_changes(name, parsed, naive)
        return parsed

    def clock_changes(self, name: str, parsed: pd.Series, naive: np.ndarray | bool) -> None:
        """Warn about naive wall times that the playbook's timezone skips (a gap) or repeats (a fold)."""
        pick = parsed if naive is True else parsed[np.asarray(naive, dtype=bool)]
        first, last = pick.min(), pick.max()
        if pd.isna(first):
            return
        zone = self.pb.timezone
        changes = checks.clock_changes(zone, first, last)
        if not changes:
            return
        inside = checks.in_clock_change(parsed.to_numpy(dtype="datetime64[ns]"), changes)
        for change, mask in zip(changes, inside, strict=True):
            if naive is not True:
                mask &= np.asarray(naive, dtype=bool)
            if not mask.any():
                continue
            shift = abs(change.after - change.before)
            minutes = int(shift.total_seconds() // 60)
            what = "does not exist" if change.gap else "happens twice"
            self.col.rows(
                WARNING,
                self.raw,
                mask,
                name,
                f"this local time {what} in {zone}: {change.describe(zone)}. Kept as written (wall time), so days, "
                f"weeks and hours are right; a duration across the change (e.g. the 24-hour follow-up window) may "
                f"be off by {minutes} minutes. Check that the export writes local time in {zone}, or add the UTC "
                "offset (e.g. +01:00) to these timestamps",
            )

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

    def ids(self, name: str) -> tuple[np.ndarray, pd.Index]:
        """Codes (-1 = missing) and distinct values of the id column ``name``, factorised once.

        Ids written with spaces around them (``'R001 '``) are read without them, with a warning on
        their rows, so that they match the same id elsewhere; the parsed column is rewritten.
        """
        if name in self._ids:
            return self._ids[name]
        codes, uniques = pd.factorize(self.out[name], use_na_sentinel=True)
        values = [str(u) for u in uniques]
        spaced = checks.surrounded_by_space(values)
        if spaced.any():
            stripped = [v.strip() or None for v in values]
            self.col.rows(
                WARNING,
                self.raw,
                spaced[codes] & (codes >= 0),
                name,
                f"{name} has spaces around it; it is read without them, so that it matches the same {name} in the "
                "other files; remove the spaces in this file",
                values=self.raw.frame[name] if name in self.raw.frame.columns else None,
            )
            self.out[name] = _relabel(self.out[name], codes, values, stripped)
            codes, uniques = pd.factorize(self.out[name], use_na_sentinel=True)
        self._ids[name] = (codes, pd.Index(uniques))
        return self._ids[name]

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
        """Match labels of a categorical column to ``allowed``, ignoring case and spacing on both sides.

        Returns the values as spelled in ``allowed`` (an unknown label in its normalised form), codes
        into ``allowed`` (-1 = missing or unknown) and the mask of rows holding an unknown label.
        """
        s, codes, uniques = self.labels(name)
        index = {normalize_label(a): i for i, a in enumerate(allowed)}
        ucodes = np.array([index.get(normalize_label(u), -1) for u in uniques] + [-1], dtype=np.int64)
        canon = [allowed[c] if c >= 0 else normalize_label(u) for u, c in zip(uniques, ucodes, strict=False)]
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


def _parse_timestamps(t: pd.Series, timezone: str) -> tuple[pd.Series, np.ndarray]:
    """Parse ISO 8601 text to tz-naive local wall time in ``timezone`` (NaT where unparseable).

    Also returns the mask of values written with a UTC offset (converted to ``timezone``).
    """
    has_offset = t.str.contains(_OFFSET_RE, regex=True, na=False).to_numpy(dtype=bool)
    if not has_offset.any():
        return pd.to_datetime(t, format="ISO8601", errors="coerce"), has_offset
    out = pd.Series(pd.NaT, index=t.index, dtype="datetime64[us]")
    if (~has_offset).any():
        out[~has_offset] = pd.to_datetime(t[~has_offset], format="ISO8601", errors="coerce").astype("datetime64[us]")
    aware = pd.to_datetime(t[has_offset], format="ISO8601", errors="coerce", utc=True)
    out[has_offset] = aware.dt.tz_convert(timezone).dt.tz_localize(None).astype("datetime64[us]")
    return out, has_offset


# ---- table checks --------------------------------------------------------------------------


def _parse_table(raw: RawTable, pb: Playbook, col: Collector) -> _Parser:
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
    p.codes["activity_type"] = tcodes
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


def _check_stages(p: _Parser, pb: Playbook) -> None:
    """Match ``stage`` to the playbook's stage names (case and spacing aside); warn about unknown ones."""
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


def _check_deals(p: _Parser, pb: Playbook) -> None:
    _check_stages(p, pb)
    d = p.out
    p.flag(
        checks.closed_before_created(d["created_at"], d["closed_at"]),
        "closed_at",
        "closed_at is before this deal's created_at, so its cycle time would be negative; correct either date "
        "(a deal migrated from another CRM keeps its original created date)",
    )
    p.flag(
        checks.won_not_closed(d["is_won"], d["is_closed"]),
        "is_won",
        "is_won is true but is_closed is false: a won deal is closed, and win rate and the pipeline would count "
        "it differently; set is_closed to true, or leave is_won empty while the deal is open",
    )
    p.flag(
        (d["amount"] < 0).to_numpy(dtype=bool, na_value=False),
        "amount",
        "negative amount: pipeline created sums the amounts of deals, so a deal's amount is 0 or more; "
        "correct the sign (a refund or credit note is not a deal)",
    )


def _check_reps(p: _Parser) -> np.ndarray:
    """Flag reps whose left_at is before hired_at; return that mask (their dates cannot be used)."""
    wrong = checks.left_before_hired(p.out["hired_at"], p.out["left_at"])
    p.flag(
        wrong,
        "left_at",
        "left_at is before hired_at, so tenure and whether the rep is active cannot both be right; "
        "if the rep was rehired, empty left_at (hired_at is then the rehire date), else correct the dates",
    )
    return wrong


#: Copies of activity rows that differ only in activity_id are reported when they are this share of
#: an activity type's rows or more (below it, identical rows are as likely coincidences).
COPY_SHARE = checks.COPY_SHARE


def _check_copies(p: _Parser, drop: np.ndarray) -> None:
    """Warn, per activity type, when rows repeat an earlier row in every column but activity_id."""
    if "activity_type" not in p.codes or "occurred_at" not in p.raw.frame.columns:
        return
    kinds = p.codes["activity_type"]
    reps = p.ids("rep_id")[0] if "rep_id" in p.raw.frame.columns else np.zeros(p.n, dtype=np.int64)
    columns = {c: s for c, s in p.out.items() if c in p.raw.frame.columns and c != "activity_id"}
    at = p.out["occurred_at"].to_numpy(dtype="datetime64[ns]")
    copies = checks.copies_but_id(columns, reps, at, np.flatnonzero(~drop) if drop.any() else None)
    if not copies.any():
        return
    size = len(p.pb.activity_types) + 1  # code -1 (unknown type) counts in bin 0
    total = np.bincount(kinds + 1, minlength=size) - np.bincount(kinds[drop] + 1, minlength=size)
    found = np.bincount(kinds[copies] + 1, minlength=size)
    total, found = total[1:], found[1:]
    for k in np.flatnonzero(found):
        share = found[k] / total[k]
        if share < COPY_SHARE:
            continue
        first = np.flatnonzero(copies & (kinds == k))[0]
        typ = p.pb.activity_types[k]
        p.col.add(
            WARNING,
            p.raw.file,
            f"{share:.0%} of {typ} rows ({found[k]:,} of {total[k]:,}) are copies of an earlier row differing only in "
            f"activity_id (the first copy is on this line), and every count of {typ}s includes them; if the export "
            "repeats activities (e.g. one row per attendee or per linked record), keep one row of each",
            column="activity_id",
            row=int(p.raw.lines(np.array([first]))[0]),
            value=str(p.out["activity_id"].iloc[first]),
        )


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


def _forget_dropped(col: Collector, parsed: dict[str, _Parser], drops: dict[str, np.ndarray]) -> None:
    """Drop issues about dropped duplicate rows (their first copy carries the same issues)."""
    gone = set()
    for name, mask in drops.items():
        if mask.any():
            raw = parsed[name].raw
            gone.update((raw.file, int(ln)) for ln in raw.lines(np.flatnonzero(mask)))
    if gone:
        col.issues[:] = [i for i in col.issues if (i.file, i.row) not in gone or i.message == _DUPLICATE_MESSAGE]


def _lookup(p: _Parser, keys: pd.Index) -> np.ndarray:
    """Position of each row's rep_id in ``keys`` (-1 when absent or missing), hashing each distinct id once."""
    codes, uniques = p.ids("rep_id")
    found = np.append(keys.get_indexer(uniques), -1)
    return found[codes]


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
        if "done" in p.out:  # a to-do not done (done false) is due later, not logged in advance
            future = future & ~p.out["done"].eq(False).to_numpy(dtype=bool, na_value=False)
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
    playbook: str | Path | Playbook | None, text: str | None, source: str, col: Collector
) -> Playbook:
    try:
        if isinstance(playbook, Playbook):
            return playbook
        if playbook is not None:
            return Playbook.from_toml(playbook)
        if text is not None:
            return Playbook.from_text(text, source=source)
    except PlaybookError as exc:
        where = str(playbook or source)
        message = str(exc)
        for prefix in (f"{where}, line {exc.line}: ", f"{where}: "):  # the issue names the file and line
            message = message.removeprefix(prefix)
        col.add(ERROR, Path(where).name or "playbook", message, row=exc.line)
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
    columns: dict[str, tuple[str, ...]] | None = None,
    fast: bool = True,
) -> tuple[ValidationReport, SalesData | None]:
    src = Path(source)
    col = Collector()
    report = ValidationReport(str(source), col.issues)
    only = _rep_list(reps)
    try:
        st = os.stat(src)
    except OSError as exc:
        if exc.errno == errno.ENOENT and not os.path.lexists(src):
            reason = "no such folder or file; give a dataset folder or a .duckdb file"
        else:
            reason = os_reason(exc, src, what="dataset")
        col.add(ERROR, str(src), reason)
        return report, None
    if stat.S_ISDIR(st.st_mode):
        if fast and only is None and (src / "activities.parquet").is_file():
            duck.open_soon()  # the Parquet check's first query runs in DuckDB
        raws, text, pb_source = read_folder(src, col, only, tables, playbook=playbook is None, columns=columns)
    elif src.suffix.lower() in (".duckdb", ".db", ".ddb"):
        problem = unreadable(src)
        if problem is not None:
            col.add(ERROR, src.name, problem)
            return report, None
        raws, text, pb_source = read_duckdb(src, col, only, tables)
    else:
        col.add(ERROR, src.name, "not a dataset: give a dataset folder or a .duckdb file")
        return report, None
    pb = _resolve_playbook(playbook, text, pb_source, col)
    if columns is not None:  # tables not asked for are not read; reps always are (the KPI grid needs them)
        raws = {name: raw if name in columns or name == "reps" else None for name, raw in raws.items()}
    if only is not None:
        for name in ("activities", "deals"):
            raw = raws.get(name)
            if raw is not None:
                raws[name] = _only_reps(raw, only)
    # Copies "in every column but the id" cannot be judged from some columns: not checked with columns=.
    copies = columns is None or "activities" not in columns
    data = _clean_fast(raws, pb, col, report, only, source, copies) if fast else None
    if data is None:
        raws = {name: read_now(raw, col) for name, raw in raws.items()}  # rows left to read are read now
        report, data = _validate(raws, pb, col, report, only, source, copies)
    if data is not None and columns is not None:
        # a column asked for that the file does not have is read as missing, as a load of every column reads it
        data.columns_read = {
            name: tuple(dict.fromkeys([*_file_columns(raws.get(name)), *columns[name]])) for name in columns
        }
    return report, data


def _file_columns(raw: RawTable | ArrowRawTable | None) -> tuple[str, ...]:
    """The canonical columns a table's file has (none when there is no such file)."""
    if raw is None:
        return ()
    return tuple(raw.column_names if isinstance(raw, ArrowRawTable) else raw.frame.columns)


def _clean_fast(
    raws: dict[str, RawTable | None],
    pb: Playbook,
    col: Collector,
    report: ValidationReport,
    only: list[str] | None,
    source: str | Path,
    copies: bool = True,
) -> SalesData | None:
    """The dataset when its activities are a Parquet file about which, as about every other table, nothing at all
    would be reported (:mod:`coachkit.parquet_check`: checked in place, not read into memory), else None (then
    the full validation runs and reports every issue).

    The other tables (small) go through the full validation with the activities' rows left out; any issue
    there also means None. The activities are kept as the file (:class:`~coachkit.parquet_activities.ParquetActivities`).
    """
    acts = raws.get("activities")
    if not isinstance(acts, ArrowRawTable) or acts.path is None or only is not None or not report.ok:
        return None
    pending = parquet_check.start(acts, pb, copies=copies)  # the activities' scans run meanwhile
    if pending is None:
        return None
    try:
        scratch = Collector()
        scratch.issues.extend(col.issues)
        empty = ArrowRawTable(acts.name, acts.file, acts.schema.empty_table(), acts.lines)
        _, data = _validate(
            {**raws, "activities": empty}, pb, scratch, ValidationReport(str(source), scratch.issues), only, source
        )
        if data is None or len(scratch.issues) != len(col.issues):
            return None
        checked = pending.finish(data.reps)
    finally:
        pending.cancel()
    if checked is None:
        return None
    data.activities = checked
    return data


def _validate(
    raws: dict[str, RawTable | None],
    pb: Playbook,
    col: Collector,
    report: ValidationReport,
    only: list[str] | None,
    source: str | Path,
    copies: bool = True,
) -> tuple[ValidationReport, SalesData | None]:
    """Parse and check every table read, reporting each problem to ``col``; the dataset when there is no error.
    ``copies``: look for activity rows repeated in all but their id (only meaningful when every column was read)."""
    parsed: dict[str, _Parser] = {}
    for name, raw in raws.items():
        if raw is not None:
            parsed[name] = _parse_table(raw, pb, col)
    if "activities" in parsed:
        _check_activities(parsed["activities"], pb)
    if "deals" in parsed:
        _check_deals(parsed["deals"], pb)
    if "deal_stages" in parsed:
        _check_stages(parsed["deal_stages"], pb)  # the same stage names and matching as deals.stage
    bad_dates = _check_reps(parsed["reps"]) if "reps" in parsed else None
    for p in parsed.values():
        if "rep_id" in p.raw.frame.columns:
            p.ids("rep_id")  # ids with spaces around them are read without, before any matching
    drops = {name: _duplicates(p, schema.KEYS.get(name, "")) for name, p in parsed.items()}
    if "activities" in parsed and copies:
        _check_copies(parsed["activities"], drops["activities"])
    reps_p = parsed.get("reps")
    if reps_p is not None and "rep_id" in reps_p.raw.frame.columns:
        reps = pd.DataFrame(reps_p.out)
        if bad_dates is not None and bad_dates.any():  # contradictory dates: no tenure check for that rep
            reps["left_at"] = reps["left_at"].where(~bad_dates)
        reps = reps[~drops["reps"]]
        reps = reps[reps["rep_id"].notna()].drop_duplicates("rep_id").reset_index(drop=True)
        keys = pd.Index(reps["rep_id"])
        if only is not None:
            for r in [r for r in only if r not in keys]:
                col.add(ERROR, reps_p.raw.file, f"rep_id {r!r} was asked for (reps=) but is not in this file", value=r)
        for name in ("activities", "deals"):
            p = parsed.get(name)
            if p is not None and "rep_id" in p.raw.frame.columns:
                idx = _lookup(p, keys)
                _check_reps_exist(p, idx, reps_p.raw.file)
                if name == "activities":
                    _check_tenure(p, idx, reps, reps_p.raw.file)
        if "timezone" in reps.columns:  # a rep's own timezone must be an IANA name
            from .timezones import bad_timezones

            reps_p.flag(
                bad_timezones(reps_p.out["timezone"]) & ~drops["reps"],
                "timezone",
                "not an IANA timezone; use a name such as 'America/New_York' or 'Europe/Berlin', or leave it empty "
                f"for the playbook's ({pb.timezone})",
            )
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


def _columns_asked(columns: Iterable[str] | dict[str, Iterable[str]] | None) -> dict[str, tuple[str, ...]] | None:
    """``columns`` of :func:`load` as table -> column names (a plain list names activities columns)."""
    if columns is None:
        return None
    asked = dict(columns) if isinstance(columns, dict) else {"activities": columns}
    out = {}
    for table, names in asked.items():
        if table not in schema.ALL_TABLES or table == "reps":
            raise ValueError(
                f"columns: {table!r} is not a table whose columns can be chosen; use activities, deals or deal_stages"
            )
        names = (names,) if isinstance(names, str) else tuple(dict.fromkeys(names))
        unknown = [c for c in names if c not in schema.columns(table)]
        if unknown:
            raise ValueError(
                f"columns: {', '.join(map(repr, unknown))} not a column of {table}; its columns are "
                f"{', '.join(schema.columns(table))}"
            )
        # done is always read where the file has it: a to-do not done is never counted, whatever is asked
        always = ("done",) if table == "activities" else ()
        out[table] = tuple(dict.fromkeys([*schema.required_columns(table), *names, *always]))
    return out


def load(
    source: str | Path,
    *,
    playbook: str | Path | Playbook | None = None,
    reps: Iterable[str] | str | None = None,
    columns: Iterable[str] | dict[str, Iterable[str]] | None = None,
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

    ``columns`` reads only some columns (the rest are left empty): a list of activities columns, or a dict
    table -> columns (``{"activities": [...], "deals": [...]}``); the required columns of each table named are
    always read, a table not named (other than reps, always read whole) is not read at all.
    :func:`coachkit.kpis.kpi_columns` gives what KPIs need, e.g.
    ``load(src, columns=kpi_columns(["calls", "connect_rate"]))``. Only Parquet files skip the other columns
    (CSV and DuckDB sources are read whole and the other columns dropped). Validation covers the columns
    read (rows repeated in all but their id are not looked for: that needs every column; and two rows with the
    same id are exact duplicates when the columns read agree); ``SalesData.columns_read`` says which they were, and :func:`coachkit.kpi_table` refuses a KPI
    that needs a column that was not read.

    A clean Parquet dataset (nothing to report) is checked in place, without reading its activities into
    memory (:mod:`coachkit.parquet_check`), and the activities are kept as the file, pinned open
    (:mod:`coachkit.parquet_activities`): KPIs scan it with DuckDB, and ``SalesData.activities`` reads it the
    first time it is asked for. Data with any issue is validated row by row as always, so the report is the
    same either way.
    """
    report, data = _run(source, playbook, reps, columns=_columns_asked(columns))
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
