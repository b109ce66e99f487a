"""Tests of coachkit.window: the review window and the focus window, by hand and as invariants."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from coachkit import batch, coaching, review
from coachkit.window import Window, focus_window, review_window, window_bounds

ACTS = pd.DataFrame({"occurred_at": pd.to_datetime(["2024-06-03 09:00", "2024-06-13 17:30"])})


def test_one_definition_is_shared_by_the_batch_the_review_and_the_coaching_focus() -> None:
    assert batch.review_window is window_bounds
    assert review.review_window is review_window
    assert coaching.focus_window is focus_window


def test_the_review_window_by_hand() -> None:
    # Thursday 13 June 2024, 2 weeks: Monday 3 June to Thursday 13 June (the last week partial)
    assert window_bounds(ACTS, "2024-06-13", 2) == (pd.Timestamp("2024-06-03"), pd.Timestamp("2024-06-13"))
    # as_of defaults to the latest activity's day
    w = review_window(ACTS, "", 1)
    assert (w.start, w.end, w.weeks) == (pd.Timestamp("2024-06-10"), pd.Timestamp("2024-06-13"), 1)
    assert w.prior_start == pd.Timestamp("2024-06-03") and w.prior_end == pd.Timestamp("2024-06-06")
    assert w.end_exclusive == pd.Timestamp("2024-06-14")
    assert w.label == "Mon 10 Jun – Thu 13 Jun 2024 (1 week)"
    assert w.prior_label == "Mon 03 Jun – Thu 06 Jun 2024"
    assert Window(pd.Timestamp("2024-05-20"), pd.Timestamp("2024-06-13"), 4).label.endswith("(4 weeks)")


def test_the_focus_window_by_hand() -> None:
    # Thursday 13 June: the week in progress is not judged; the last full week ends Sunday 9 June
    assert focus_window("2024-06-13", 2) == (pd.Timestamp("2024-05-27"), pd.Timestamp("2024-06-09"))
    # a Sunday judges its own week: then it is the review window of the same day
    assert focus_window("2024-06-16", 2) == window_bounds(ACTS, "2024-06-16", 2)


@pytest.mark.parametrize("weeks", [0, -1])
def test_both_windows_reject_fewer_than_one_week(weeks: int) -> None:
    with pytest.raises(ValueError, match="weeks must be at least 1"):
        window_bounds(ACTS, "2024-06-13", weeks)
    with pytest.raises(ValueError, match="weeks must be at least 1"):
        focus_window("2024-06-13", weeks)


def test_bad_as_of_and_no_activities_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="as_of must be a date like 2024-06-30, got 'last friday'"):
        window_bounds(ACTS, "last friday", 1)
    with pytest.raises(ValueError, match="no activities"):
        window_bounds(ACTS.iloc[:0], None, 1)


@given(
    day=st.dates(min_value=pd.Timestamp("2000-01-01").date(), max_value=pd.Timestamp("2100-01-01").date()),
    hour=st.integers(0, 23),
    weeks=st.integers(1, 60),
)
def test_window_invariants(day, hour, weeks) -> None:
    as_of = pd.Timestamp(day) + pd.Timedelta(hours=hour)
    start, end = window_bounds(ACTS, as_of, weeks)
    first, last = focus_window(as_of, weeks)
    assert start.weekday() == 0 and first.weekday() == 0 and last.weekday() == 6
    assert end == as_of.normalize() and start <= end
    # the review window: whole weeks up to the week of as_of, cut at as_of
    assert (end - start).days == 7 * (weeks - 1) + end.weekday()
    # the focus window: `weeks` full weeks, the last ending on or before as_of, within a week of it
    assert (last - first).days == 7 * weeks - 1
    assert last <= end < last + pd.Timedelta(days=7)
    # the same weeks when as_of is a Sunday, else the focus window is one week earlier
    shift = pd.Timedelta(days=0 if end.weekday() == 6 else 7)
    assert first == start - shift
