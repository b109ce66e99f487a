"""Absent weeks: far below the rep's own norm, or covered by time off; the time-off file's one-line errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coachkit import Playbook
from coachkit.absence import (
    ABSENT_SHARE,
    MIN_NORM_WEEKS,
    TimeOffError,
    absent_weeks,
    read_time_off,
    time_off_days,
)

PB = Playbook.from_dict({"calendar": {"holidays": ["2024-06-19"]}})  # a Wednesday holiday in the week of 17 June
MONDAYS = pd.date_range("2024-05-20", periods=6, freq="7D")  # 20 May .. 24 June


def _weekly(counts: list[int], rep: str = "r1") -> pd.DataFrame:
    return pd.DataFrame({"rep_id": rep, "period_start": MONDAYS[: len(counts)], "activities": counts})


def test_a_week_of_one_activity_is_absent() -> None:
    # per working day: 200/5 = 40 in the usual weeks; the week of 10 June has 1 (0.2 a day)
    out = absent_weeks(_weekly([200, 210, 190, 1, 200, 205]), PB)
    assert out["working_days"].tolist() == [5, 5, 5, 5, 4, 5]  # 19 June is a holiday
    assert out["norm_per_day"].iloc[0] == pytest.approx(np.median([40, 42, 38, 0.2, 50, 41]))
    assert out["absent"].tolist() == [False, False, False, True, False, False]
    assert out.loc[3, "reason"] == "far below the rep's usual activity"
    assert (out.loc[~out["absent"], "reason"] == "").all()


def test_the_threshold_is_a_quarter_of_the_norm_per_working_day() -> None:
    assert ABSENT_SHARE == 0.25
    # norm 40 a day; 10 a day is exactly a quarter (not below), 9.8 a day is below
    assert not absent_weeks(_weekly([200, 200, 200, 50, 200]), PB)["absent"].iloc[3]
    assert absent_weeks(_weekly([200, 200, 200, 49, 200]), PB)["absent"].iloc[3]
    # the holiday week has 4 working days: 45 activities are 11.25 a day, above 10: not absent
    assert not absent_weeks(_weekly([200, 200, 200, 200, 45]), PB)["absent"].iloc[4]


def test_no_norm_without_enough_weeks_or_with_thin_activity() -> None:
    assert MIN_NORM_WEEKS == 4
    out = absent_weeks(_weekly([200, 1, 200]), PB)  # 3 weeks: too few for a norm
    assert out["norm_per_day"].isna().all() and not out["absent"].any()
    out = absent_weeks(_weekly([3, 4, 0, 3, 4]), PB)  # under one activity a day: too thin to judge
    assert not out["absent"].any()


def test_time_off_marks_a_week_and_leaves_the_norm() -> None:
    off = pd.DataFrame(
        {
            "rep_id": ["r1", "r1", "r2"],
            "start": pd.to_datetime(["2024-05-27", "2024-05-29", "2024-05-20"]),
            "end": pd.to_datetime(["2024-05-29", "2024-05-31", "2024-06-30"]),
            "reason": ["leave", "leave", "other rep"],
        }
    )
    # r1 is off Mon 27 - Fri 31 May (two overlapping periods: 5 working days, counted once) and logged 120 anyway
    out = absent_weeks(_weekly([200, 120, 200, 200, 200]), PB, off)
    assert out["time_off_days"].tolist() == [0, 5, 0, 0, 0]
    assert out["absent"].tolist() == [False, True, False, False, False]
    assert out.loc[1, "reason"] == "time off"
    assert out["norm_per_day"].iloc[0] == 40  # the time-off week is not part of the norm


def test_time_off_days_counts_working_days_only() -> None:
    off = pd.DataFrame(
        {"rep_id": ["r1"], "start": pd.to_datetime(["2024-06-15"]), "end": pd.to_datetime(["2024-06-20"])}
    )
    weeks = pd.DataFrame(
        {"rep_id": ["r1", "r1", "r2"], "period_start": pd.to_datetime(["2024-06-10", "2024-06-17", "2024-06-17"])}
    )
    # Sat 15 and Sun 16 are not working days; Mon 17, Tue 18, Thu 20 are (Wed 19 is a holiday)
    assert time_off_days(off, PB, weeks).tolist() == [0, 3, 0]
    assert time_off_days(None, PB, weeks).tolist() == [0, 0, 0]


def test_reps_are_judged_on_their_own_norm() -> None:
    both = pd.concat([_weekly([200, 200, 200, 30, 200]), _weekly([30, 30, 30, 30, 30], rep="r2")])
    out = absent_weeks(both, PB)
    assert out["absent"].tolist() == [False, False, False, True, False] + [False] * 5


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, 400), min_size=1, max_size=12))
def test_absent_weeks_are_below_the_norm_and_scaling_changes_nothing(counts: list[int]) -> None:
    weekly = pd.DataFrame(
        {
            "rep_id": "r1",
            "period_start": pd.date_range("2024-01-01", periods=len(counts), freq="7D"),
            "activities": counts,
        }
    )
    out = absent_weeks(weekly, Playbook.default())
    absent = out["absent"].to_numpy()
    if absent.any():
        assert (out.loc[absent, "per_day"] < out.loc[absent, "norm_per_day"]).all()
    # the busiest week is never absent
    assert not absent[int(np.argmax(counts))] or max(counts) == 0
    # doubling every week's activities marks the same weeks (the rule is relative to the rep's own norm)
    doubled = absent_weeks(weekly.assign(activities=weekly["activities"] * 2), Playbook.default())
    low_norm = out["norm_per_day"].fillna(0) < 1
    assert (doubled["absent"].to_numpy()[~low_norm] == absent[~low_norm]).all()


def test_read_time_off_csv_and_its_errors(tmp_path) -> None:
    assert read_time_off(tmp_path) is None
    (tmp_path / "time_off.csv").write_text(
        "rep_id,start,end,reason\nR1,2024-06-10,2024-06-14,leave\nR2,2024-06-12,2024-06-12,\n"
    )
    t = read_time_off(tmp_path)
    assert t["rep_id"].tolist() == ["R1", "R2"]
    assert t["end"].tolist() == [pd.Timestamp("2024-06-14"), pd.Timestamp("2024-06-12")]
    assert t["reason"].isna().tolist() == [False, True]
    cases = {
        "rep_id,start\nR1,2024-06-10\n": "missing column(s) end; a time-off table has columns rep_id, start, end",
        "rep_id,start,end\n,2024-06-10,2024-06-11\n": "row 2, column rep_id is empty",
        "rep_id,start,end\nR1,2024-06-10,2024-06-11\nR1,10/06/2024,2024-06-11\n": (
            "row 3, column start: '10/06/2024' is not a date; write it as YYYY-MM-DD"
        ),
        "rep_id,start,end\nR1,2024-06-10,2024-06-01\n": "row 2, column end: 2024-06-01 is before the start 2024-06-10",
    }
    for text, message in cases.items():
        (tmp_path / "time_off.csv").write_text(text)
        with pytest.raises(TimeOffError) as err:
            read_time_off(tmp_path)
        assert message in str(err.value) and "\n" not in str(err.value)
        assert str(tmp_path / "time_off.csv") in str(err.value)
    (tmp_path / "time_off.csv").write_bytes(b"rep_id,start,end\n\xff\xfe,2024-06-10,2024-06-11\n")
    with pytest.raises(TimeOffError, match="cannot be read as a UTF-8 CSV"):
        read_time_off(tmp_path)


def test_read_time_off_parquet(tmp_path) -> None:
    pd.DataFrame({"rep_id": ["R1"], "start": ["2024-06-10"], "end": ["2024-06-11"]}).to_parquet(
        tmp_path / "time_off.parquet"
    )
    t = read_time_off(tmp_path)
    assert t.loc[0, "start"] == pd.Timestamp("2024-06-10") and pd.isna(t.loc[0, "reason"])
