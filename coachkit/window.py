"""The time windows of a review: which days a review reports on, and which weeks its coaching focus judges.

One definition each, used by the batch (:mod:`coachkit.batch`: which reps are active, the index's title),
the review (:mod:`coachkit.review`) and the coaching focus (:mod:`coachkit.coaching`). This module imports
nothing else of coachkit, so that any of them can import it.

Two windows, because they answer different questions:

- **The review window** (:func:`window_bounds`, :class:`Window`, :func:`review_window`): the ``weeks``
  calendar weeks (Monday starts) up to and including the week of ``as_of``, *cut at* ``as_of``: its
  last week is partial when ``as_of`` is not a Sunday. It shows everything known on ``as_of``, week
  by week in line with the weekly KPI tables. Its **prior window** is the same span ``7 × weeks``
  days earlier, so both hold the same weekdays.
- **The focus window** (:func:`focus_window`): the ``weeks`` *full* Monday-Sunday weeks ending on the
  last Sunday on or before ``as_of``. A focus area is a judgement against weekly targets, so a week
  still in progress is never judged. The review judges its focus to :func:`focus_as_of` of its
  window's end: that week's Sunday when no working day of it is left (then both windows have the same
  weeks), else the end itself (then the focus window is the review window without its partial week).

All bounds are midnight timestamps, and an end day is included whole (``SalesData.between(start, end)``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

__all__ = ["Window", "focus_as_of", "focus_window", "review_window", "window_bounds"]


def _check_weeks(weeks: Any) -> int:
    weeks = int(weeks)
    if weeks < 1:
        raise ValueError(f"weeks must be at least 1, got {weeks}")
    return weeks


def _monday(day: pd.Timestamp) -> pd.Timestamp:
    return day - pd.Timedelta(days=day.weekday())


def window_bounds(activities: pd.DataFrame, as_of: Any = None, weeks: int = 4) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The review window ``(start, end)``: the ``weeks`` Monday-Sunday weeks up to and including the week
    of ``as_of``, cut at ``as_of`` (the last week is partial when ``as_of`` is not a Sunday).

    ``activities``: the dataset's activities table (column ``occurred_at``). ``as_of`` empty or None means
    the date of the latest activity in ``activities``. Both are midnight timestamps; ``start`` is a Monday
    and ``SalesData.between(start, end)`` includes the whole end day. Raises ``ValueError`` for ``weeks``
    below 1, an ``as_of`` that is not a date, or no activities to default ``as_of`` from.
    """
    weeks = _check_weeks(weeks)
    if as_of is None or (isinstance(as_of, str) and not as_of.strip()):
        latest = activities["occurred_at"].max() if len(activities) else pd.NaT
        if pd.isna(latest):
            raise ValueError("the dataset has no activities, so as_of cannot default to the latest activity date")
        end = pd.Timestamp(latest).normalize()
    else:
        try:
            end = pd.Timestamp(as_of).normalize()
        except (ValueError, TypeError) as exc:
            raise ValueError(f"as_of must be a date like 2024-06-30, got {as_of!r}") from exc
    return _monday(end) - pd.Timedelta(days=7 * (weeks - 1)), end


def _date_text(ts: pd.Timestamp, year: bool = True) -> str:
    return ts.strftime("%a %d %b %Y" if year else "%a %d %b")


@dataclass(frozen=True)
class Window:
    """The review window: ``start`` (a Monday, midnight) to ``end`` (``as_of``, whole day included)."""

    start: pd.Timestamp
    end: pd.Timestamp
    weeks: int

    @property
    def prior_start(self) -> pd.Timestamp:
        """First day of the prior window (``7 × weeks`` days earlier)."""
        return self.start - pd.Timedelta(days=7 * self.weeks)

    @property
    def prior_end(self) -> pd.Timestamp:
        """Last day of the prior window."""
        return self.end - pd.Timedelta(days=7 * self.weeks)

    @property
    def end_exclusive(self) -> pd.Timestamp:
        """Midnight after the last day."""
        return self.end + pd.Timedelta(days=1)

    @property
    def label(self) -> str:
        """E.g. "Mon 26 Oct – Fri 20 Nov 2026 (4 weeks)"."""
        span = f"{self.weeks:,} week{'' if self.weeks == 1 else 's'}"
        return f"{_date_text(self.start, year=False)} – {_date_text(self.end)} ({span})"

    @property
    def prior_label(self) -> str:
        """The prior window, e.g. "Mon 28 Sep – Fri 23 Oct 2026"."""
        return f"{_date_text(self.prior_start, year=False)} – {_date_text(self.prior_end)}"

    def working_days(self, playbook: Any, prior: bool = False) -> int:
        """Working days of the playbook in the window (or the prior window)."""
        s, e = (self.prior_start, self.prior_end) if prior else (self.start, self.end)
        return int(playbook.working_days_between([s], [e + pd.Timedelta(days=1)])[0])


def review_window(data: Any, as_of: Any = "", weeks: int = 4) -> Window:
    """The review window ending on ``as_of`` (:func:`window_bounds`) as a :class:`Window`.

    ``data``: a :class:`coachkit.SalesData` (or its activities table); ``as_of`` empty or None means the
    date of its latest activity. The batch chooses reps and titles the index with the same window.
    """
    activities = data if isinstance(data, pd.DataFrame) else data.activities
    start, end = window_bounds(activities, as_of, weeks)
    return Window(start=start, end=end, weeks=int(weeks))


def focus_window(as_of: Any, weeks: int = 4) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The first Monday and the last Sunday of the ``weeks`` full calendar weeks ending on ``as_of``.

    The last week is the latest Monday-Sunday week whose Sunday is on or before
    ``as_of``: ``as_of`` itself when it is a Sunday, else the Sunday before (so a
    week still in progress is never judged). Raises ``ValueError`` for ``weeks`` below 1.
    """
    weeks = _check_weeks(weeks)
    day = pd.Timestamp(as_of).normalize()
    last = day - pd.Timedelta(days=(day.weekday() + 1) % 7)
    first = last - pd.Timedelta(days=7 * weeks - 1)
    return first, last


def focus_as_of(playbook: Any, end: Any) -> pd.Timestamp:
    """The day coaching focus is judged to: the Sunday of ``end``'s week when no working day of that week is
    left after ``end`` (e.g. a Friday in a Mon-Fri team), else ``end`` itself (then the week in progress is
    not judged, see :func:`focus_window`). ``playbook``: a :class:`coachkit.Playbook` (its working days)."""
    end = pd.Timestamp(end).normalize()
    sunday = end + pd.Timedelta(days=6 - end.weekday())
    left = int(playbook.working_days_between([end + pd.Timedelta(days=1)], [sunday + pd.Timedelta(days=1)])[0])
    return sunday if left == 0 else end
