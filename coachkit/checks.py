"""Data that parses but cannot be right: pure, vectorised checks on parsed columns.

Each function takes typed arrays or Series (as :mod:`coachkit.load` parses them) and
returns boolean masks or small tables; :mod:`coachkit.load` turns them into issues
with file, line, column, value and fix. Whether a finding is an error or a warning
follows one rule: an error when a KPI computed from the row would be wrong, a
warning when every KPI stays right (the row is kept as it is, or read in the one
way that is right). Nothing here reads files or loops over rows in Python.
"""

from __future__ import annotations

import calendar
import datetime as _dt
import functools
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "ClockChange",
    "clock_changes",
    "in_clock_change",
    "not_extended_iso",
    "closed_before_created",
    "won_not_closed",
    "left_before_hired",
    "surrounded_by_space",
    "copies_but_id",
    "surely_distinct",
    "DistinctStream",
    "blank_text",
]

_DAY_NS = 86_400 * 10**9

#: Copies of activity rows that differ only in activity_id are reported when they are this share of
#: an activity type's rows or more (below it, identical rows are as likely coincidences).
COPY_SHARE = 0.01


# ---- timestamps ------------------------------------------------------------------------------


def not_extended_iso(text: pd.Series) -> np.ndarray:
    """Rows of (stripped) timestamp text that do not start with an ISO 8601 extended date.

    A timestamp must begin ``YYYY-MM-DD`` (at least 10 characters, ``-`` at positions 5 and 8): a year
    alone (``2026``, e.g. a number-formatted spreadsheet cell), a year and month (``2026-10``) and the
    compact form (``20261013``) are refused, because pandas would read them as the first day of the
    year or month, or guess. Empty and missing values are False (they are checked as missing
    elsewhere). Reads the Arrow string buffers directly: two byte lookups per row.
    """
    arr = pa.array(text.array)
    chunks = arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]
    parts = [np.zeros(0, dtype=bool)]
    for ch in chunks:
        if not pa.types.is_large_string(ch.type):
            ch = ch.cast(pa.large_string())
        off = np.frombuffer(ch.buffers()[1], dtype=np.int64)[ch.offset : ch.offset + len(ch) + 1]
        buf = ch.buffers()[2]
        data = np.frombuffer(buf, dtype=np.uint8) if buf is not None else np.zeros(0, dtype=np.uint8)
        start = off[:-1]
        length = off[1:] - start
        ok = length >= 10
        if len(data) >= 10:
            at = np.where(ok, start, 0)
            ok &= (data[at + 4] == ord("-")) & (data[at + 7] == ord("-"))
        else:
            ok[:] = False
        parts.append(~ok & (length > 0))
    return np.concatenate(parts)


@dataclass(frozen=True)
class ClockChange:
    """One change of a timezone's clocks, as local wall time.

    The wall times in ``[start, end)`` do not exist (``gap``: the clocks jumped forward) or happen
    twice (a fold: the clocks went back). ``before``/``after`` are the UTC offsets around it.
    """

    start: pd.Timestamp
    end: pd.Timestamp
    gap: bool
    before: pd.Timedelta
    after: pd.Timedelta

    def describe(self, zone: str) -> str:
        """One line: what happened to the clocks, e.g. 'the clocks jumped from 02:00 to 03:00 on 2026-03-08'."""
        if self.gap:
            return f"the clocks in {zone} jumped from {self.start:%H:%M} to {self.end:%H:%M} on {self.start:%Y-%m-%d}"
        return (
            f"the clocks in {zone} went back from {self.end:%H:%M} to {self.start:%H:%M} on {self.start:%Y-%m-%d}, "
            f"so {self.start:%H:%M}-{self.end:%H:%M} happened twice"
        )


def _offsets(instants: pd.DatetimeIndex, zone: str) -> np.ndarray:
    """UTC offset (ns) in ``zone`` at each UTC instant."""
    local = instants.tz_convert(zone).tz_localize(None)
    return (local - instants.tz_localize(None)).to_numpy(dtype="timedelta64[ns]").view(np.int64)


def clock_changes(zone: str, first: pd.Timestamp, last: pd.Timestamp) -> list[ClockChange]:
    """Every change of ``zone``'s UTC offset between the local wall times ``first`` and ``last``.

    Found from the timezone database by pandas (days where the offset changes, then the second it
    changes), once per zone and year in a process.
    """
    if pd.isna(first) or pd.isna(last):
        return []
    first, last = pd.Timestamp(first), pd.Timestamp(last)
    # a change on New Year's night may reach back a year; nanosecond timestamps span 1678-2261
    years = range(max(first.year - 1, 1678), min(last.year, 2261) + 1)
    return [c for y in years for c in _changes_in_year(zone, y) if c.end > first and c.start <= last]


@functools.lru_cache(maxsize=256)
def _changes_in_year(zone: str, year: int) -> tuple[ClockChange, ...]:
    """The offset changes of ``zone`` whose UTC instant falls in ``year`` (UTC), in order.

    The offset is read from the timezone database (:mod:`zoneinfo`) at each UTC midnight of the year; within a
    day whose offset differs from the next one's, the second it changes is found by bisection (about 17
    lookups), and the rest of that day is searched again, for a day with two changes.
    """
    tz = zoneinfo.ZoneInfo(zone)

    def offset(t: int) -> int:  # seconds east of UTC at the UTC instant t (seconds since 1970)
        return int(_dt.datetime.fromtimestamp(t, tz).utcoffset().total_seconds())  # type: ignore[union-attr]

    lo = calendar.timegm((year, 1, 1, 0, 0, 0))
    days = range(lo, calendar.timegm((year + 1, 1, 1, 0, 0, 0)) + 1, 86_400)
    offs = [offset(t) for t in days]
    out = []
    for i in range(len(days) - 1):
        t, end = days[i], days[i + 1]
        while offset(t) != offs[i + 1]:
            a, b = t, end  # offset(a) != offset(b): the first second after a with another offset is in (a, b]
            while b - a > 1:
                mid = (a + b) // 2
                if offset(mid) == offset(a):
                    a = mid
                else:
                    b = mid
            at = pd.Timestamp(b * 10**9)  # the UTC instant the offset changes (as nanoseconds)
            before, after = pd.Timedelta(offset(a) * 10**9), pd.Timedelta(offset(b) * 10**9)
            if after > before:
                out.append(ClockChange(at + before, at + after, True, before, after))
            else:
                out.append(ClockChange(at + after, at + before, False, before, after))
            t = b
    return tuple(out)


def in_clock_change(values: np.ndarray, changes: list[ClockChange]) -> list[np.ndarray]:
    """For each of ``changes``, the mask of the naive local datetime64[ns] ``values`` inside its gap or
    fold (NaT is never inside)."""
    v = np.asarray(values, dtype="datetime64[ns]").view(np.int64)
    buf = np.empty_like(v)
    out = []
    for c in changes:
        np.subtract(v, np.int64(c.start.value), out=buf)  # start <= v < end as one unsigned comparison
        out.append(buf.view(np.uint64) < np.uint64(c.end.value - c.start.value))
    return out


# ---- deals and reps --------------------------------------------------------------------------


def closed_before_created(created: pd.Series, closed: pd.Series) -> np.ndarray:
    """Deals whose closed_at is before created_at.

    A close date without a time of day (midnight) on the day the deal was created is not before it
    (CRMs such as Salesforce store the close date as a date, the creation as a timestamp).
    """
    c = created.to_numpy(dtype="datetime64[ns]").view(np.int64)
    x = closed.to_numpy(dtype="datetime64[ns]").view(np.int64)
    nat = np.iinfo(np.int64).min
    known = (c != nat) & (x != nat)
    date_only_same_day = (x % _DAY_NS == 0) & (x == c - c % _DAY_NS)
    return known & (x < c) & ~date_only_same_day


def won_not_closed(is_won: pd.Series, is_closed: pd.Series) -> np.ndarray:
    """Deals with is_won true and is_closed false (a missing is_closed is not false)."""
    won = is_won.to_numpy(dtype=bool, na_value=False)
    open_ = is_closed.eq(False).to_numpy(dtype=bool, na_value=False)
    return won & open_


def left_before_hired(hired: pd.Series, left: pd.Series) -> np.ndarray:
    """Reps whose left_at date is before their hired_at date (both present)."""
    h = hired.to_numpy(dtype="datetime64[ns]")
    lft = left.to_numpy(dtype="datetime64[ns]")
    return ~np.isnat(h) & ~np.isnat(lft) & (lft < h)


# ---- ids and copies ----------------------------------------------------------------------------


def surrounded_by_space(values: list[str]) -> np.ndarray:
    """Which of ``values`` (distinct ids) have spaces, tabs or line breaks before or after them."""
    return np.array([v != v.strip() for v in values], dtype=bool)


def copies_but_id(
    columns: Mapping[str, pd.Series] | pa.Table, rep: np.ndarray, at: np.ndarray, rows: np.ndarray | None = None
) -> np.ndarray:
    """Rows that repeat an earlier row in every one of ``columns`` (every column but the id): the copies,
    not their first. Returns a mask as long as ``at``.

    ``columns`` may also be an Arrow table (only the candidate rows are turned into pandas).
    ``rep`` holds integer codes of the rep per row (any coding) and ``at`` the timestamps
    (datetime64[ns]); they must also be among ``columns`` in some form. ``rows``: positions of the rows
    to consider (None: all). Rows at midnight (a date without a time of day) are never copies: with
    dates alone, same-day activities of one rep look alike.

    Only rows sharing their rep and timestamp with another row are compared column by column. They
    are found without hashing every row: adjacent rows when the rows are in (rep, time) or time order,
    as exports usually are; else a sort of one 64-bit key per row.
    """
    out = np.zeros(len(at), dtype=bool)
    rep = np.asarray(rep, dtype=np.int64)
    t = np.asarray(at, dtype="datetime64[ns]").view(np.int64)
    if rows is None:
        cand = _same_rep_and_time(rep, t) if len(t) > 1 else np.zeros(0, dtype=np.int64)
    else:
        cand = rows[_same_rep_and_time(rep[rows], t[rows])] if len(rows) > 1 else np.zeros(0, dtype=np.int64)
    cand = cand[t[cand] % _DAY_NS != 0]
    if len(cand) < 2:
        return out
    if isinstance(columns, pa.Table):
        sub = columns.take(pa.array(cand)).to_pandas()
    else:
        sub = pd.DataFrame({name: s.take(cand).reset_index(drop=True) for name, s in columns.items()}, copy=False)
    out[cand[sub.duplicated(keep="first").to_numpy()]] = True
    return out


def _same_rep_and_time(rep: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Sorted positions of the rows whose (rep, at) pair occurs more than once (a superset is allowed)."""
    same_rep = rep[1:] == rep[:-1]
    step = at[1:] - at[:-1]
    if bool(((rep[1:] > rep[:-1]) | (same_rep & (step >= 0))).all()):  # in (rep, time) order
        pair = same_rep & (step == 0)
        return np.flatnonzero(np.append(pair, False) | np.insert(pair, 0, False))
    if bool((step >= 0).all()):  # in time order: equal times are adjacent
        pair = step == 0
        return np.flatnonzero(np.append(pair, False) | np.insert(pair, 0, False))
    key = rep.view(np.uint64) * np.uint64(0xC2B2AE3D27D4EB4F)
    key += at.view(np.uint64)
    key *= np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing: the top bits are well mixed
    ordered = np.sort(key)
    repeated = ordered[1:][ordered[1:] == ordered[:-1]]
    if not len(repeated):
        return np.zeros(0, dtype=np.int64)
    top = np.uint64(64 - 22)
    seen = np.zeros(1 << 22, dtype=bool)  # which top-22-bit buckets hold a repeated key: one gather per row
    seen[repeated >> top] = True
    cand = np.flatnonzero(seen[key >> top])
    keys = np.unique(repeated)
    pos = np.minimum(np.searchsorted(keys, key[cand]), len(keys) - 1)
    return cand[keys[pos] == key[cand]]


_MAX_LENGTHS = 64


def _increasing(buffer: pa.Buffer, start: int, n: int, width: int) -> bool:
    """Whether ``n`` texts of ``width`` (<= 16) bytes stored back to back from ``start`` are in strictly increasing
    byte order: compared as one or two big-endian words (the first 8 bytes, then the rest, zero-padded)."""
    data = np.frombuffer(buffer, dtype=np.uint8, count=n * width, offset=start)
    if width == 8:  # the buffer is the keys
        hi = data.view(">u8")
        return bool((hi[1:] > hi[:-1]).all())
    rows = data.reshape(n, width)
    words = np.zeros((n, 16 if width > 8 else 8), dtype=np.uint8)
    words[:, :width] = rows
    keys = words.view(">u8")
    hi = keys[:, 0]
    up = hi[1:] > hi[:-1]
    if width <= 8:
        return bool(up.all())
    lo = keys[:, 1]
    return bool((up | ((hi[1:] == hi[:-1]) & (lo[1:] > lo[:-1]))).all())


def surely_distinct(ids: pd.Series | pa.ChunkedArray | pa.Array) -> bool:
    """True when the non-missing values of a text column are certainly pairwise distinct.

    False means "maybe not" (the caller then checks exactly). Values of different byte
    lengths differ, so each length is checked alone: its values are packed into
    fixed-width words, folded into one uint64 key (exact up to 8 bytes), sorted, and
    neighbours compared. A sort of integers is several times faster than hashing
    millions of strings; ids of up to 8 bytes already in increasing order (as exports number
    them) need no sort at all.
    """
    arr = ids if isinstance(ids, (pa.Array, pa.ChunkedArray)) else pa.array(ids.array)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if pa.types.is_dictionary(arr.type):
        arr = arr.cast(arr.type.value_type)
    arr = arr.drop_null().cast(pa.large_binary())
    if len(arr) < 2:
        return True
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset : arr.offset + len(arr) + 1]
    lengths = np.diff(offsets)
    width = int(lengths[0])
    if 0 < width <= 16 and (lengths == width).all() and _increasing(arr.buffers()[2], int(offsets[0]), len(arr), width):
        return True  # ids of one width in increasing order, as exports number them: no sort at all
    distinct_lengths = np.flatnonzero(np.bincount(lengths))  # a count per length: no sort of every row
    if len(distinct_lengths) > _MAX_LENGTHS:
        return pc.count_distinct(arr).as_py() == len(arr)
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
        if width <= 8:  # big-endian: the key orders as the text does, so ids in increasing order need no sort
            key = packed[:, 0].byteswap()
            if (key[1:] > key[:-1]).all():
                continue
        else:
            key = packed[:, 0].copy()
            for j in range(1, packed.shape[1]):
                key = key * np.uint64(0x100000001B3) ^ packed[:, j]
        key.sort()
        if (key[1:] == key[:-1]).any():
            return False
    return True


class DistinctStream:
    """Whether a text column read in pieces (e.g. row group by row group) surely holds distinct values.

    :meth:`add` each piece in order, then read :attr:`distinct` (False: maybe not, check exactly). While every
    value has one width of up to 16 bytes and the values are in strictly increasing order, across pieces too
    (as exports number their ids), nothing is kept: :attr:`restart` turns True the first time that fails, and
    the pieces must then be given again to a ``DistinctStream(ordered=False)``, which keeps one 64-bit key
    per value (exact up to 8 bytes, a hash beyond: a collision only means "maybe not") and sorts them at the
    end, as :func:`surely_distinct` does.
    """

    def __init__(self, *, ordered: bool = True) -> None:
        self.ordered = ordered
        self.restart = False
        self._width: int | None = None
        self._last: bytes | None = None
        self._keys: dict[int, list[np.ndarray]] = {}
        self._lengths: set[int] = set()

    def add(self, values: pa.Array | pa.ChunkedArray) -> None:
        """The next piece of the column (nulls are ignored)."""
        chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
        for ch in chunks:
            if self.restart:
                return
            if pa.types.is_dictionary(ch.type):
                ch = ch.cast(ch.type.value_type)
            ch = ch.drop_null().cast(pa.large_binary())
            if not len(ch):
                continue
            offsets = np.frombuffer(ch.buffers()[1], dtype=np.int64)[ch.offset : ch.offset + len(ch) + 1]
            if self.ordered:
                self._add_ordered(ch, offsets)
            else:
                self._add_keys(ch, offsets)

    def _add_ordered(self, ch: pa.Array, offsets: np.ndarray) -> None:
        lengths = np.diff(offsets)
        width = self._width if self._width is not None else int(lengths[0])
        first, last = ch[0].as_py(), ch[len(ch) - 1].as_py()
        ok = (
            0 < width <= 16
            and bool((lengths == width).all())
            and (self._last is None or first > self._last)
            and _increasing(ch.buffers()[2], int(offsets[0]), len(ch), width)
        )
        if not ok:
            self.restart = True
            return
        self._width, self._last = width, last

    def _add_keys(self, ch: pa.Array, offsets: np.ndarray) -> None:
        lengths = np.diff(offsets)
        found = np.flatnonzero(np.bincount(lengths))
        self._lengths.update(int(w) for w in found)
        for width in found:
            part = ch if len(found) == 1 else ch.filter(pa.array(lengths == width))
            off = np.frombuffer(part.buffers()[1], dtype=np.int64)[part.offset : part.offset + len(part) + 1]
            if width == 0:
                key = np.zeros(len(part), dtype=np.uint64)
            else:
                data = np.frombuffer(part.buffers()[2], dtype=np.uint8)[off[0] : off[-1]]
                words = np.zeros((len(part), -(-int(width) // 8) * 8), dtype=np.uint8)
                words[:, :width] = data.reshape(len(part), width)
                packed = words.view(np.uint64)
                key = packed[:, 0].copy()
                for j in range(1, packed.shape[1]):
                    key = key * np.uint64(0x100000001B3) ^ packed[:, j]
            self._keys.setdefault(int(width), []).append(key)

    @property
    def distinct(self) -> bool:
        """True when the values added are certainly pairwise distinct (False after a restart was asked)."""
        if self.restart:
            return False
        if self.ordered:
            return True
        for parts in self._keys.values():
            key = np.concatenate(parts)
            if len(key) < 2:
                continue
            key.sort()
            if (key[1:] == key[:-1]).any():
                return False
        return True


def blank_text(values: pa.Array) -> np.ndarray:
    """Empty or all-whitespace text (what the loader reads as missing); nulls count as blank.

    Only a value whose first byte is an ASCII whitespace or starts a multi-byte character can be all
    whitespace, so only those few are checked character by character (Arrow's ``utf8_is_space``: the
    characters of Python's ``str.isspace``).
    """
    if pa.types.is_dictionary(values.type):
        values = values.cast(values.type.value_type)
    values = values.cast(pa.large_string())
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int64)[values.offset : values.offset + len(values) + 1]
    starts, lengths = offsets[:-1], np.diff(offsets)
    data = values.buffers()[2]
    out = lengths == 0
    if data is not None and len(data):
        first = np.frombuffer(data, dtype=np.uint8)[np.minimum(starts, len(data) - 1)]
        maybe = np.flatnonzero(
            ~out & (((first >= 9) & (first <= 13)) | ((first >= 28) & (first <= 32)) | (first >= 128))
        )
        if len(maybe):
            out[maybe] = pc.fill_null(pc.utf8_is_space(values.take(pa.array(maybe))), False).to_numpy(
                zero_copy_only=False
            )
    if values.null_count:
        out |= ~values.is_valid().to_numpy(zero_copy_only=False)
    return out
