"""Absent weeks: weeks a rep was away (leave, sickness, an event), which volume coaching must not be built on.

A rep who logged one activity in a week was almost surely not at work; telling them to "block two 90-minute
call sessions a day" is wrong. A week is **absent** for a rep (:func:`absent_weeks`) when either:

- **time off** (an optional ``time_off`` table, :func:`read_time_off`) covers at least half of the week's
  working days; or
- its activities per working day fall below :data:`ABSENT_SHARE` (a quarter) of the rep's own norm: the median
  of the rep's activities per working day over the weeks given (at least :data:`MIN_NORM_WEEKS` weeks with
  working days, time-off weeks left out), when that norm is at least :data:`MIN_NORM_PER_DAY`.

The time-off table (``time_off.csv`` or ``time_off.parquet`` in a dataset folder) has one row per period:
``rep_id``, ``start``, ``end`` (dates, both included) and optionally ``reason``. It is optional; when present,
a bad row is a :class:`TimeOffError` naming the file, row, column, value and the fix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "ABSENT_SHARE",
    "MIN_NORM_PER_DAY",
    "MIN_NORM_WEEKS",
    "TIME_OFF_COLUMNS",
    "TimeOffError",
    "absent_weeks",
    "read_time_off",
    "time_off_days",
]

#: A week below this share of the rep's usual activities per working day is absent.
ABSENT_SHARE = 0.25
#: The rep's norm needs at least this many weeks with working days (else only time off marks a week).
MIN_NORM_WEEKS = 4
#: A norm below this many activities per working day is too thin to call a week "far below" it.
MIN_NORM_PER_DAY = 1.0

#: Columns of the time-off table, in order (``reason`` may be missing).
TIME_OFF_COLUMNS = ("rep_id", "start", "end", "reason")

_WEEK = pd.Timedelta(days=7)


class TimeOffError(ValueError):
    """A bad time-off table: the message names the file, row, column, value and the fix (one line)."""


def read_time_off(source: str | Path) -> pd.DataFrame | None:
    """The time-off table of the dataset at ``source`` (a folder), or None when it has none.

    Reads ``time_off.csv`` (UTF-8, a header line) or ``time_off.parquet``. Returns columns
    :data:`TIME_OFF_COLUMNS`: ``rep_id`` (string), ``start`` and ``end`` (midnight timestamps, ``end`` included),
    ``reason`` (string, may be missing). Raises :class:`TimeOffError` for a missing column, an empty rep_id, a date
    that is not YYYY-MM-DD, or an end before its start. The file is only read.
    """
    folder = Path(source)
    if not folder.is_dir():
        return None
    csv, parquet = folder / "time_off.csv", folder / "time_off.parquet"
    if csv.is_file():
        path = csv
        try:
            raw = pd.read_csv(csv, dtype=str, keep_default_na=False, encoding="utf-8")
        except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise TimeOffError(f"{csv}: cannot be read as a UTF-8 CSV with a header line ({first})") from exc
        first_row = 2  # line 1 is the header
    elif parquet.is_file():
        path = parquet
        raw = pd.read_parquet(parquet).astype("string").fillna("")
        first_row = 1
    else:
        return None
    return parse_time_off(raw, str(path), first_row=first_row)


def parse_time_off(raw: pd.DataFrame, file: str = "time_off", *, first_row: int = 1) -> pd.DataFrame:
    """Check and type a raw time-off table (text cells; see :func:`read_time_off`). ``first_row``: the file's row
    number of ``raw``'s first row, for the messages."""
    missing = [c for c in ("rep_id", "start", "end") if c not in raw.columns]
    if missing:
        raise TimeOffError(
            f"{file}: missing column(s) {', '.join(missing)}; a time-off table has columns rep_id, start, end "
            "(dates YYYY-MM-DD, both included) and optionally reason"
        )
    rep = raw["rep_id"].astype("string").str.strip()
    empty = rep.isna() | rep.eq("")
    if empty.any():
        i = int(np.flatnonzero(empty.to_numpy())[0])
        raise TimeOffError(f"{file}: row {i + first_row}, column rep_id is empty; give the rep_id of the rep away")
    dates = {}
    for col in ("start", "end"):
        text = raw[col].astype("string").str.strip()
        parsed = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
        bad = parsed.isna()
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise TimeOffError(
                f"{file}: row {i + first_row}, column {col}: {str(text.iloc[i])!r} is not a date; write it as YYYY-MM-DD"
            )
        dates[col] = parsed
    back = dates["end"] < dates["start"]
    if back.any():
        i = int(np.flatnonzero(back.to_numpy())[0])
        raise TimeOffError(
            f"{file}: row {i + first_row}, column end: {dates['end'].iloc[i].date()} is before the start "
            f"{dates['start'].iloc[i].date()}; swap them or fix the date"
        )
    reason = (
        raw["reason"].astype("string").str.strip() if "reason" in raw.columns else pd.Series(pd.NA, index=raw.index)
    )
    return pd.DataFrame(
        {
            "rep_id": rep.astype("string"),
            "start": dates["start"],
            "end": dates["end"],
            "reason": reason.replace("", pd.NA).astype("string"),
        },
        columns=list(TIME_OFF_COLUMNS),
    ).reset_index(drop=True)


def time_off_days(time_off: pd.DataFrame | None, playbook: Any, weeks: pd.DataFrame) -> np.ndarray:
    """Per row of ``weeks`` (``rep_id``, ``period_start``: a Monday), the working days of that week covered by the
    rep's time off (overlapping periods counted once). 0 everywhere without a time-off table."""
    out = np.zeros(len(weeks))
    if time_off is None or time_off.empty or weeks.empty:
        return out
    hol = np.array(playbook.holidays, dtype="datetime64[D]")
    mask = playbook.working_days_mask()
    for rep, idx in weeks.groupby("rep_id", sort=False).indices.items():
        mine = time_off[time_off["rep_id"] == rep]
        if mine.empty:
            continue
        days = np.unique(
            np.concatenate(
                [
                    np.arange(np.datetime64(s.date()), np.datetime64(e.date()) + 1)
                    for s, e in zip(mine["start"], mine["end"], strict=True)
                ]
            )
        )
        days = days[np.is_busday(days, weekmask=mask, holidays=hol)]
        starts = weeks["period_start"].to_numpy()[idx].astype("datetime64[D]")
        lo = np.searchsorted(days, starts)
        hi = np.searchsorted(days, starts + 7)
        out[idx] = hi - lo
    return out


def absent_weeks(weekly: pd.DataFrame, playbook: Any, time_off: pd.DataFrame | None = None) -> pd.DataFrame:
    """Mark each rep-week of ``weekly`` absent or not (see the module docstring).

    ``weekly``: one row per rep and week, columns ``rep_id``, ``period_start`` (the Monday) and ``activities``
    (the rep's activities that week); optional ``working_days`` (else the playbook's working days of the week,
    holidays excluded). Weeks the rep was not employed should not be in it. ``playbook``: a
    :class:`coachkit.Playbook`; ``time_off``: :func:`read_time_off`'s table or None.

    Returns ``weekly``'s rows (same order) with ``working_days``, ``time_off_days``, ``per_day`` (activities per
    working day; NaN without working days), ``norm_per_day`` (the rep's median ``per_day`` over its weeks with
    working days and no time off; NaN when fewer than :data:`MIN_NORM_WEEKS`), ``absent`` (bool) and ``reason``
    ("" when not absent; "time off" or "far below the rep's usual activity").
    """
    w = weekly.reset_index(drop=True).copy()
    starts = pd.to_datetime(w["period_start"])
    if "working_days" not in w.columns:
        w["working_days"] = playbook.working_days_between(starts, starts + _WEEK).astype("float64")
    w["time_off_days"] = time_off_days(time_off, playbook, w.assign(period_start=starts))
    work = w["working_days"].to_numpy(dtype="float64")
    acts = w["activities"].to_numpy(dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        per_day = np.where(work > 0, acts / np.where(work > 0, work, 1.0), np.nan)
    w["per_day"] = per_day
    off = (w["time_off_days"].to_numpy() >= 0.5 * work) & (work > 0)
    ref = pd.Series(np.where(off | ~(work > 0), np.nan, per_day), index=w.index)
    grouped = ref.groupby(w["rep_id"], sort=False)
    norm = grouped.transform("median")
    enough = grouped.transform("count") >= MIN_NORM_WEEKS
    norm = norm.where(enough)
    w["norm_per_day"] = norm.to_numpy()
    low = (
        (work > 0)
        & (norm.to_numpy() >= MIN_NORM_PER_DAY)
        & (per_day < ABSENT_SHARE * np.nan_to_num(norm.to_numpy(), nan=0.0))
    )
    w["absent"] = off | low
    w["reason"] = np.where(off, "time off", np.where(low, "far below the rep's usual activity", ""))
    return w
