"""Timestamps and calendar dates as exports write them.

:func:`parse_timestamps` reads, per value:

1. **Epoch milliseconds**: 11-14 digits (``1711846800000``), UTC.
2. **Excel serial dates** when ``formats`` names ``"excel"``: ``45355`` is 2024-03-04,
   ``45355.5`` noon that day (days since 1899-12-30, wall time).
3. **With a UTC offset**: an offset counts only after a time of day
   (``2021-04-16T09:30:00-05:00``, ``09:30 +0200``, ``10:00:00Z``, ``10:00 UTC``), so the
   ``-2015`` of ``08-10-2015`` is never taken for one. Converted to the playbook timezone.
4. **Without an offset**: the ``formats`` (strptime patterns) in order, then ISO 8601,
   then, when no ``formats`` are given, the usual spreadsheet shapes:
   ``31/12/2024``, ``12-31-2024``, ``31.12.2024``, ``2024/12/31``, each optionally
   followed by ``09:30``, ``09:30:15`` or ``9:30 PM``. Whether ``03/04/2024`` is
   3 April or 4 March is ``dayfirst`` when given; otherwise the column's values
   decide (a first number above 12 is a day, a second number above 12 is a day);
   a column where nothing decides, or where both orders occur, is refused.
   Wall time in ``assume``, converted to ``timezone``.

A non-empty value that nothing reads raises :class:`ExportError` naming the
file, row, column and value, the formats tried and the mapping key to add.

Two kinds of value are read but not usable, as ``coachkit validate`` would refuse
them: a year alone, a year and month or a compact date (``2026``, ``2026-10``,
``20261013``, which ISO 8601 allows but which would be read as the first day of
the year or month: a guess), unless a ``formats`` pattern of the user reads
them; and a year outside 1678-2261 (nanosecond timestamps; e.g. Salesforce's
``4000-12-31`` "no end" placeholder). With a ``report``, each is left empty and
counted with its file rows (a row whose required time is then empty is dropped
by the importer, and counted); without one, the first stops the import.

:func:`parse_dates` reads calendar dates the same way, never shifted by a
timezone, keeping the date as written (``2024-03-01T23:30:00Z`` is 1 March).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from .. import schema
from .numbers import row_of
from .report import ExportError, ImportReport

__all__ = ["parse_timestamps", "parse_dates", "EXCEL"]

#: The named format for Excel serial day numbers.
EXCEL = "excel"
_EXCEL_EPOCH = pd.Timestamp("1899-12-30")

_TIME = r"\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?"
_OFFSET = rf"(?i:{_TIME})\s*(?:[zZ]|(?i:UTC|GMT)|[+-]\d{{2}}(?::?\d{{2}})?)$"
_OFFSET_TAIL = r"\s*(?:[zZ]|(?i:UTC|GMT)|[+-]\d{2}(?::?\d{2})?)$"
_EPOCH = r"\d{11,14}(?:\.\d+)?"
_SERIAL = r"\d{1,7}(?:\.\d+)?"
_CLOCK = r"(?:,?\s+|T)(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?\s*([AaPp]\.?[Mm]\.?)?"
#: Values ISO 8601 would read as the first day of a year or month, or from a compact date: never guessed.
_PARTIAL = r"\d{4}|\d{4}-\d{1,2}|\d{6}|\d{8}(?:[T ].*)?"
_NS_MIN, _NS_MAX = pd.Timestamp.min.ceil("s"), pd.Timestamp.max.floor("s")
_EXCEL_DAYS = (
    _NS_MAX.to_pydatetime() - _EXCEL_EPOCH.to_pydatetime()
).days  # serial numbers from here on are past the nanosecond range
_DMY = rf"^(\d{{1,2}})([./-])(\d{{1,2}})\2(\d{{4}}|\d{{2}})(?:{_CLOCK})?$"
_YMD = rf"^(\d{{4}})([./-])(\d{{1,2}})\2(\d{{1,2}})(?:{_CLOCK})?$"


def _present(values: pd.Series) -> pd.Series:
    s = values.astype(schema.STRING).str.strip()
    return s.where(s.str.len() > 0)


def _flag(s: pd.Series, pattern: str) -> pd.Series:
    return s.str.fullmatch(pattern).fillna(False).astype(bool)


def _localize(naive: pd.Series, zone: str, target: str) -> pd.Series:
    """Naive wall times in ``zone`` as naive wall times in ``target`` (DST gaps shift forward)."""
    if zone == target or naive.empty:
        return naive
    aware = naive.dt.tz_localize(zone, ambiguous=False, nonexistent="shift_forward")
    return aware.dt.tz_convert(target).dt.tz_localize(None)


def _hint(formats: list[str] | None, key: str | None, shapes: bool, value: object) -> str:
    tried = [f for f in (formats or []) if f != EXCEL] + ["ISO 8601"]
    if EXCEL in (formats or []):
        tried.append("Excel serial numbers")
    if shapes:
        tried.append("31/12/2024, 12-31-2024, 31.12.2024 (with an optional time)")
    serial = isinstance(value, str) and re.fullmatch(r"[1-9]\d{4}(?:\.\d+)?", value.strip())
    looks = "it looks like an Excel serial day number; " if serial else ""
    if key:
        fix = (
            f"add the pattern that reads it to `formats` of {key} "
            '(e.g. formats = ["%d/%m/%Y %H:%M"]; formats = ["excel"] for Excel serial numbers)'
        )
    else:
        fix = "export the dates as ISO 8601 (2024-03-01T09:30:00Z), or import the files with `coachkit import csv` and a mapping that gives `formats`"
    return f"formats tried: {'; '.join(tried)}; {looks}{fix}"


def _shape_order(s: pd.Series, parts: pd.DataFrame, dayfirst: bool | None, file: str, column: str, key: str | None):
    """Whether the day comes first in the d/m/y values of this column (see the module docstring)."""
    if dayfirst is not None:
        return dayfirst
    a = pd.to_numeric(parts[0]).to_numpy()
    b = pd.to_numeric(parts[2]).to_numpy()
    day_first, month_first = a > 12, b > 12
    where = f" to {key}" if key else " under [options] in a --mapping file (or pass --dayfirst / --monthfirst)"
    if day_first.any() and month_first.any():
        idx = parts.index[month_first][0]
        row, value = row_of(s, pd.Series(s.index == idx, index=s.index))
        other = s[parts.index[day_first][0]]
        raise ExportError(
            f"this column has day-first ({other!r}) and month-first dates; correct them, or give the order"
            f" with dayfirst = true or false{where}",
            file=file,
            column=column,
            row=row,
            value=value,
        )
    if day_first.any():
        return True
    if month_first.any():
        return False
    differ = a != b
    if differ.any():
        idx = parts.index[differ][0]
        row, value = row_of(s, pd.Series(s.index == idx, index=s.index))
        raise ExportError(
            f"is ambiguous: day {int(a[differ][0])} of month {int(b[differ][0])}, or month {int(a[differ][0])} "
            f"day {int(b[differ][0])}? No date in the column has a day above 12; add dayfirst = true "
            f"(31/12/2024) or dayfirst = false (12/31/2024){where}",
            file=file,
            column=column,
            row=row,
            value=value,
        )
    return True


def _from_parts(year, month, day, hour, minute, second, frac, ampm) -> pd.Series:
    year = pd.to_numeric(year)
    year = year.where(year >= 100, year + np.where(year < 70, 2000, 1900))
    hour = pd.to_numeric(hour).fillna(0)
    pm = ampm.fillna("").str.lower().str.startswith("p")
    am = ampm.fillna("").str.lower().str.startswith("a")
    hour = hour.where(~(pm & (hour < 12)), hour + 12).where(~(am & (hour == 12)), 0)
    frame = pd.DataFrame(
        {
            "year": year,
            "month": pd.to_numeric(month),
            "day": pd.to_numeric(day),
            "hour": hour,
            "minute": pd.to_numeric(minute).fillna(0),
            "second": pd.to_numeric(second).fillna(0),
        }
    )
    out = pd.to_datetime(frame, errors="coerce")
    ns = pd.to_numeric(frac.fillna("0").str.ljust(9, "0").str[:9])
    return (out + pd.to_timedelta(ns, unit="ns")).astype("datetime64[ns]")


def _shapes(s: pd.Series, dayfirst: bool | None, file: str, column: str, key: str | None) -> pd.Series:
    """Spreadsheet shapes (d/m/y or m/d/y, y/m/d; optional time and AM/PM) as naive datetimes; NaT otherwise."""
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    ymd = s.str.extract(_YMD)
    on = ymd[0].notna()
    if on.any():
        p = ymd[on]
        out[on] = _from_parts(p[0], p[2], p[3], p[4], p[5], p[6], p[7], p[8])
    dmy = s.str.extract(_DMY)
    on = dmy[0].notna() & out.isna()
    if on.any():
        p = dmy[on]
        first = _shape_order(s, p, dayfirst, file, column, key)
        day, month = (p[0], p[2]) if first else (p[2], p[0])
        out[on] = _from_parts(p[3], month, day, p[4], p[5], p[6], p[7], p[8])
    return out


def _ns(parsed: pd.Series, far: pd.Series) -> pd.Series:
    """``parsed`` as datetime64[ns]; values outside its range (years before 1678 or after 2261) become NaT and are
    marked in ``far`` (same index)."""
    if parsed.dtype == "datetime64[ns]":
        return parsed
    out_of_range = parsed.notna() & ((parsed < _NS_MIN) | (parsed > _NS_MAX))
    if out_of_range.any():
        far[out_of_range[out_of_range].index] = True
        parsed = parsed.where(~out_of_range)
    return parsed.astype("datetime64[ns]")


def _wall(
    s: pd.Series,
    formats: list[str] | None,
    dayfirst: bool | None,
    file: str,
    column: str,
    key: str | None,
    far: pd.Series | None = None,
) -> pd.Series:
    """Naive values (no offset) as naive datetimes, by the formats, ISO 8601 and (without formats) the shapes.

    A year, a year and month or a compact date is left to the formats (never read by ISO 8601: NaT); a value
    outside the nanosecond range is NaT and marked in ``far``.
    """
    far = far if far is not None else pd.Series(False, index=s.index)
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    if EXCEL in (formats or []):
        serial = _flag(s, _SERIAL)
        if serial.any():
            days = pd.to_numeric(s[serial])
            ok = (days >= 1) & (days < _EXCEL_DAYS)
            far[days.index[(days >= _EXCEL_DAYS).to_numpy()]] = True
            out[serial] = (_EXCEL_EPOCH + pd.to_timedelta(days.where(ok) * 86400.0, unit="s")).astype("datetime64[ns]")
    for fmt in formats or []:
        todo = out.isna()
        if fmt == EXCEL or not todo.any():
            continue
        out[todo] = _ns(pd.to_datetime(s[todo], errors="coerce", format=fmt), far)
    todo = out.isna() & ~_flag(s, _PARTIAL)
    if todo.any():
        out[todo] = _ns(pd.to_datetime(s[todo], errors="coerce", format="ISO8601"), far)
    todo = out.isna() & ~far.reindex(s.index, fill_value=False)
    if todo.any() and not formats:
        out[todo] = _shapes(s[todo], dayfirst, file, column, key)
    return out


def _unusable(
    s: pd.Series,
    unread: pd.Series,
    far: pd.Series,
    report: ImportReport | None,
    *,
    file: str,
    column: str,
    what: str,
) -> pd.Series:
    """Of the ``unread`` values, those that are partial dates or out of range (see the module docstring): counted
    in ``report`` with their file rows, or, without a report, an :class:`ExportError` for the first. Returns
    the unread values left (those nothing reads: the caller's error)."""
    partial = unread & _flag(s, _PARTIAL)
    far = unread & far.reindex(s.index, fill_value=False) & ~partial
    kinds = (
        (partial, "not a full date (a year, a month or a compact date such as 20261013, which would be a guess)",
         "write the full date, e.g. 2026-10-13, or add a `formats` pattern that reads these values"),
        (far, "a year outside 1678-2261 (e.g. a 4000-12-31 'no end' placeholder)", "write a real date or none"),
    )  # fmt: skip
    for mask, why, fix in kinds:
        if not mask.any():
            continue
        if report is None:
            row, value = row_of(s, mask)
            raise ExportError(f"{why}: refused, never guessed; {fix}", file=file, column=column, row=row, value=value)
        rows = [int(i) + 2 if isinstance(i, (int, np.integer)) else i for i in mask[mask].index]
        report.change(file, f"{what} of {column} left empty: {why}", int(mask.sum()), ids=[f"row {r}" for r in rows])
    return unread & ~partial & ~far


def parse_timestamps(
    values: pd.Series,
    *,
    file: str,
    column: str,
    timezone: str,
    assume: str | None = None,
    formats: list[str] | None = None,
    dayfirst: bool | None = None,
    key: str | None = None,
    report: ImportReport | None = None,
) -> pd.Series:
    """Timestamps as tz-naive wall time in ``timezone`` (the playbook's); see the module docstring.

    ``assume`` is the zone of values without an offset (default: ``timezone``); ``key`` names the
    mapping key to extend in the error (e.g. ``[activities.columns] occurred_at``). ``report``: where
    partial dates and years out of range are counted (left empty); without it they stop the import.
    """
    s = _present(values)
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    far = pd.Series(False, index=s.index)
    present = s.notna()
    epoch = present & _flag(s, _EPOCH)
    offset = present & ~epoch & s.str.contains(_OFFSET, regex=True).fillna(False).astype(bool)
    naive = present & ~epoch & ~offset
    if epoch.any():
        ts = pd.to_datetime(pd.to_numeric(s[epoch]).to_numpy().astype("int64"), unit="ms", utc=True)
        local = pd.Series(ts.tz_convert(timezone).tz_localize(None), index=s[epoch].index)
        out[epoch] = _ns(local.astype("datetime64[ms]"), far)
    if offset.any():
        text = s[offset].str.replace(r"\s*(?i:UTC|GMT)$", "+00:00", regex=True)
        ts = pd.to_datetime(text.where(~_flag(text.str.replace(_OFFSET_TAIL, "", regex=True), _PARTIAL)), utc=True,
                            errors="coerce", format="ISO8601")  # fmt: skip
        for fmt in formats or []:
            todo = ts.isna()
            if fmt != EXCEL and "%z" in fmt and todo.any():
                ts[todo] = pd.to_datetime(text[todo], utc=True, errors="coerce", format=fmt)
        todo = ts.isna()
        if todo.any():  # e.g. "04/03/2024 09:30 +0200": the shapes, then the offset
            m = text[todo].str.extract(r"^(.*?)\s*([+-]\d{2}):?(\d{2})?$")
            wall = _wall(m[0].fillna(text[todo]), formats, dayfirst, file, column, key, far)
            minutes = pd.to_numeric(m[1]).fillna(0) * 60 + np.sign(pd.to_numeric(m[1]).fillna(0)) * pd.to_numeric(
                m[2]
            ).fillna(0)
            ts[todo] = (wall - pd.to_timedelta(minutes, unit="min")).dt.tz_localize("UTC")
        out[offset] = _ns(ts.dt.tz_convert(timezone).dt.tz_localize(None), far)
    if naive.any():
        parsed = _wall(s[naive], formats, dayfirst, file, column, key, far)
        out[naive] = _localize(parsed.astype("datetime64[ns]"), assume or timezone, timezone)
    bad = _unusable(s, present & out.isna(), far, report, file=file, column=column, what="timestamps")
    if bad.any():
        row, value = row_of(s, bad)
        raise ExportError(
            f"cannot read this timestamp; {_hint(formats, key, not formats, value)}",
            file=file,
            column=column,
            row=row,
            value=value,
        )
    return out


def parse_dates(
    values: pd.Series,
    *,
    file: str,
    column: str,
    formats: list[str] | None = None,
    dayfirst: bool | None = None,
    key: str | None = None,
    report: ImportReport | None = None,
) -> pd.Series:
    """Calendar dates (never shifted by a timezone) at midnight; a time part, if any, is discarded.

    ``2018-12-19 00:00:00`` and ``2024-03-01T23:30:00Z`` are the dates written. Formats, shapes,
    errors and ``report`` as :func:`parse_timestamps`.
    """
    s = _present(values)
    present = s.notna()
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    far = pd.Series(False, index=s.index)
    if present.any():
        p = s[present]
        iso = p.str.match(r"^\d{4}-\d{1,2}-\d{1,2}(?:[T ]|$)").fillna(False).astype(bool)
        head = p.where(~iso, p.str.replace(r"[T ].*$", "", regex=True))
        # an offset after a time does not move the date: drop it before the formats see the value
        off = head.str.contains(_OFFSET, regex=True).fillna(False).astype(bool)
        head = head.where(~off, head.str.replace(_OFFSET_TAIL, "", regex=True))
        out[present] = _wall(head, formats, dayfirst, file, column, key, far).dt.normalize()
    bad = _unusable(s, present & out.isna(), far, report, file=file, column=column, what="dates")
    if bad.any():
        row, value = row_of(s, bad)
        raise ExportError(
            f"cannot read this date; {_hint(formats, key, not formats, value)}",
            file=file,
            column=column,
            row=row,
            value=value,
        )
    return out
