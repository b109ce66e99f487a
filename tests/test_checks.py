"""coachkit.checks: the pure checks of data that parses but cannot be right, on hand-made values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coachkit import checks
from coachkit.schema import STRING

T = pd.Timestamp


# ---- clock changes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        # (start, end, gap, offset before, offset after), local wall time
        (
            "America/New_York",
            [
                ("2026-03-08 02:00", "2026-03-08 03:00", True, -5, -4),
                ("2026-11-01 01:00", "2026-11-01 02:00", False, -4, -5),
            ],
        ),
        (
            "Europe/London",
            [
                ("2026-03-29 01:00", "2026-03-29 02:00", True, 0, 1),
                ("2026-10-25 01:00", "2026-10-25 02:00", False, 1, 0),
            ],
        ),
        (  # half an hour of daylight saving time
            "Australia/Lord_Howe",
            [
                ("2026-04-05 01:30", "2026-04-05 02:00", False, 11, 10.5),
                ("2026-10-04 02:00", "2026-10-04 02:30", True, 10.5, 11),
            ],
        ),
        ("Asia/Kolkata", []),
        ("UTC", []),
    ],
)
def test_clock_changes_of_2026(zone, expected):
    got = checks.clock_changes(zone, T("2026-01-01"), T("2026-12-31 23:59"))
    hours = pd.Timedelta(hours=1)
    assert [(c.start, c.end, c.gap, c.before / hours, c.after / hours) for c in got] == [
        (T(a), T(b), gap, before, after) for a, b, gap, before, after in expected
    ]


def test_clock_changes_only_those_the_range_reaches():
    # a range inside summer time reaches no change; one ending inside the gap reaches it
    assert checks.clock_changes("America/New_York", T("2026-04-01"), T("2026-10-31 23:00")) == []
    got = checks.clock_changes("America/New_York", T("2026-03-01"), T("2026-03-08 02:00"))
    assert [c.start for c in got] == [T("2026-03-08 02:00")]
    assert checks.clock_changes("America/New_York", pd.NaT, pd.NaT) == []
    # the ends of the nanosecond range, and a change on New Year's night (Kiritimati skipped 1994-12-31)
    assert checks.clock_changes("Europe/London", T("1678-01-01"), T("1678-12-31")) == []
    assert len(checks.clock_changes("Europe/London", T("2261-01-01"), T("2261-12-31"))) == 2
    (skip,) = checks.clock_changes("Pacific/Kiritimati", T("1994-12-30"), T("1995-01-02"))
    assert (skip.start, skip.end, skip.gap) == (T("1994-12-31"), T("1995-01-01"), True)


def test_describe_a_clock_change():
    gap, fold = checks.clock_changes("America/New_York", T("2026-01-01"), T("2026-12-31"))
    assert gap.describe("America/New_York") == "the clocks in America/New_York jumped from 02:00 to 03:00 on 2026-03-08"
    assert fold.describe("America/New_York") == (
        "the clocks in America/New_York went back from 02:00 to 01:00 on 2026-11-01, so 01:00-02:00 happened twice"
    )


def test_in_clock_change_start_included_end_excluded_nat_never():
    gap, fold = checks.clock_changes("America/New_York", T("2026-01-01"), T("2026-12-31"))
    values = pd.to_datetime(
        [
            "2026-03-08 01:59:59",
            "2026-03-08 02:00:00",
            "2026-03-08 02:59:59.999999999",
            "2026-03-08 03:00:00",
            "2026-11-01 01:30:00",
            "2026-11-01 02:00:00",
            None,
            "1900-01-01",
        ],
        format="ISO8601",
    ).to_numpy()
    in_gap, in_fold = checks.in_clock_change(values, [gap, fold])
    assert in_gap.tolist() == [False, True, True, False, False, False, False, False]
    assert in_fold.tolist() == [False, False, False, False, True, False, False, False]


# ---- timestamp text ----------------------------------------------------------------------------


def test_not_extended_iso():
    text = pd.Series(
        [
            "2026",  # a year
            "2026-10",  # a month
            "20261013",  # compact
            "20261013T093000",  # compact with a time
            "2026-10-13",
            "2026-10-13T09:30:00+02:00",
            "2026-10-13 09:30",
            "",
            None,
            "13.10.2026",
            "2026/10/13",
        ],
        dtype=STRING,
    )
    assert checks.not_extended_iso(text).tolist() == [
        True,
        True,
        True,
        True,
        False,
        False,
        False,
        False,
        False,
        True,
        True,
    ]
    assert checks.not_extended_iso(pd.Series([], dtype=STRING)).tolist() == []
    assert checks.not_extended_iso(pd.Series(["", None], dtype=STRING)).tolist() == [False, False]


# ---- deals and reps ----------------------------------------------------------------------------


def test_closed_before_created():
    created = pd.to_datetime(["2026-10-01 09:00"] * 6 + [None], format="ISO8601")
    closed = pd.to_datetime(
        [
            "2026-10-01",  # a close date without time, on the day of creation: not before
            "2026-10-01 08:00",  # an hour before: before
            "2026-09-30",  # the day before
            "2026-10-01 09:00",  # at creation
            "2026-10-02",
            None,
            "2026-01-01",
        ],
        format="ISO8601",
    )
    got = checks.closed_before_created(pd.Series(created), pd.Series(closed))
    assert got.tolist() == [False, True, True, False, False, False, False]


def test_won_not_closed():
    is_won = pd.array([True, True, True, False, None, True], dtype="boolean")
    is_closed = pd.array([False, None, True, False, False, False], dtype="boolean")
    assert checks.won_not_closed(pd.Series(is_won), pd.Series(is_closed)).tolist() == [
        True,
        False,
        False,
        False,
        False,
        True,
    ]


def test_left_before_hired():
    hired = pd.Series(pd.to_datetime(["2025-01-06", "2025-01-06", "2025-01-06", None, "2025-01-06"]))
    left = pd.Series(pd.to_datetime(["2024-01-01", "2025-01-06", "2025-01-05", "2024-01-01", None]))
    assert checks.left_before_hired(hired, left).tolist() == [True, False, True, False, False]


def test_surrounded_by_space():
    got = checks.surrounded_by_space(["R1", "R1 ", " R1", "R 1", "\tR1", "R1\n", ""])
    assert got.tolist() == [False, True, True, False, True, True, False]


# ---- copies ------------------------------------------------------------------------------------


def _frame(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["activity_id", "rep_id", "occurred_at", "outcome"]).assign(
        occurred_at=lambda d: pd.to_datetime(d["occurred_at"])
    )


def _copies(frame: pd.DataFrame, rows=None) -> list[int]:
    rep = pd.factorize(frame["rep_id"])[0]
    columns = {c: frame[c] for c in frame.columns if c != "activity_id"}
    mask = checks.copies_but_id(columns, rep, frame["occurred_at"].to_numpy(), rows)
    return np.flatnonzero(mask).tolist()


def test_copies_but_id_hand_made():
    frame = _frame(
        [
            ("a1", "r1", "2026-10-12 09:00:01", "connected"),
            ("a2", "r1", "2026-10-12 09:00:01", "connected"),  # copy of a1
            ("a3", "r2", "2026-10-12 09:00:01", "connected"),  # another rep
            ("a4", "r1", "2026-10-12 09:00:01", "no_answer"),  # another outcome
            ("a5", "r1", "2026-10-12 09:00:01", "connected"),  # copy of a1 again
            ("a6", "r1", "2026-10-12 00:00:00", "connected"),  # date only: never a copy
            ("a7", "r1", "2026-10-12 00:00:00", "connected"),
            ("a8", "r1", "2026-10-12 09:00:02", "connected"),  # a second later
        ]
    )
    assert _copies(frame) == [1, 4]
    assert _copies(frame, rows=np.array([0, 2, 3, 4])) == [4]  # a2 dropped beforehand: a5 is still a copy
    assert _copies(frame.iloc[:1]) == [] and _copies(frame.iloc[:0]) == []


ROWS = st.tuples(
    st.sampled_from(["r1", "r2", "r3"]),
    st.sampled_from(["2026-10-12 09:00:00", "2026-10-12 09:00:01", "2026-10-12 00:00:00", "2026-10-13 09:00:00"]),
    st.sampled_from([None, "connected", "no_answer"]),
)


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(ROWS, max_size=30), order=st.sampled_from(["drawn", "rep_time", "time"]), data=st.data())
def test_copies_but_id_equals_pandas_duplicated(rows, order, data):
    frame = _frame([(f"a{i}", *r) for i, r in enumerate(rows)])
    if order != "drawn":  # each order takes its own path (adjacent rows, or a sort)
        keys = ["rep_id", "occurred_at"] if order == "rep_time" else ["occurred_at"]
        frame = frame.sort_values(keys, kind="stable").reset_index(drop=True)
    subset = data.draw(st.none() | st.lists(st.booleans(), min_size=len(frame), max_size=len(frame)))
    rows_ = None if subset is None else np.flatnonzero(subset)
    considered = frame if rows_ is None else frame.iloc[rows_]
    timed = considered[considered["occurred_at"] != considered["occurred_at"].dt.normalize()]
    expected = timed.index[timed.drop(columns="activity_id").duplicated(keep="first")].tolist()
    assert _copies(frame, rows_) == expected


def test_copies_but_id_sort_path_on_many_rows():
    rng = np.random.default_rng(3)
    n = 20_000
    frame = pd.DataFrame(
        {
            "activity_id": [f"a{i}" for i in range(n)],
            "rep_id": rng.choice(["r1", "r2", "r3", "r4"], n),
            "occurred_at": pd.to_datetime("2026-01-05 08:00") + pd.to_timedelta(rng.integers(0, 3000, n), unit="s"),
            "outcome": rng.choice(["connected", "no_answer"], n),
        }
    )
    expected = frame.index[frame.drop(columns="activity_id").duplicated(keep="first")].tolist()
    assert len(expected) > 1000  # the shuffled order takes the sort path
    assert _copies(frame) == expected
