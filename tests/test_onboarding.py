"""coachkit.onboarding: tenure-week alignment, cohorts, time to firsts, ramp progress, behind the curve."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from coachkit import Playbook, SalesData, onboarding, stats

PB = Playbook.from_text(
    """
[targets.SDR.per_day]
calls = 10
[targets.SDR.per_week]
meetings = 5
[ramp]
factors = [0.5]
"""
)


def test_tenure_week_alignment():
    weeks = pd.to_datetime(["2026-01-05", "2026-01-12", "2026-01-19"])
    # hired on Wednesday 7 Jan: its partial week is week 0, the next Monday starts week 1
    assert onboarding.tenure_week(weeks, [pd.Timestamp("2026-01-07")] * 3).tolist() == [0, 1, 2]
    # hired on a Monday: that week is week 1
    assert onboarding.tenure_week(weeks, [pd.Timestamp("2026-01-05")] * 3).tolist() == [1, 2, 3]
    assert np.isnan(onboarding.tenure_week(weeks[:1], [pd.NaT])[0])


def test_cohorts_by_hire_month():
    reps = pd.DataFrame(
        {
            "rep_id": ["a", "b", "c", "d"],
            "name": ["Ann", None, "Cy", "Di"],
            "role": ["SDR", "AE", "SDR", "SDR"],
            "hired_at": pd.to_datetime(["2026-01-20", "2026-01-05", "2026-02-01", None]),
        }
    )
    c = onboarding.cohorts(reps)
    assert c[["cohort", "reps", "roles", "names"]].values.tolist() == [
        ["2026-01", 2, "AE 1, SDR 1", "b, Ann"],
        ["2026-02", 1, "SDR 1", "Cy"],
    ]
    assert onboarding.cohorts(reps, since="2026-01-10")["reps"].tolist() == [1, 1]


def ramp_data() -> SalesData:
    # new hire N (Mon 5 Jan 2026): 30 calls in week 1, 45 in week 2, 2 meetings held in week 2
    t1 = pd.date_range("2026-01-05 09:00", periods=30, freq="10min")
    t2 = pd.date_range("2026-01-12 09:00", periods=45, freq="10min")
    n = len(t1) + len(t2)
    acts = pd.DataFrame(
        {
            "activity_id": [f"n{i}" for i in range(n + 2)],
            "rep_id": "N",
            "activity_type": ["call"] * n + ["meeting"] * 2,
            "outcome": ["no_answer"] * 3 + ["connected"] + ["no_answer"] * (n - 4) + ["held", "held"],
            "occurred_at": [*t1, *t2, pd.Timestamp("2026-01-13 15:00"), pd.Timestamp("2026-01-14 15:00")],
        }
    )
    reps = pd.DataFrame({"rep_id": ["N", "E"], "role": ["SDR", "SDR"], "name": ["Nia", "Eve"]})
    reps["hired_at"] = pd.to_datetime(["2026-01-05", "2025-06-02"])
    deals = pd.DataFrame({"deal_id": ["d1"], "rep_id": ["N"], "created_at": [pd.Timestamp("2026-01-15 12:00")]})
    return SalesData.from_frames(acts, reps, deals, PB)


def test_ramp_progress_against_ramp_adjusted_targets():
    p = onboarding.ramp_progress(ramp_data(), ["N"], "2026-01-18").set_index("kpi")
    # calls: week 1 = 5 working days x 10 x 0.5 (ramp) = 25; week 2 = 5 x 10 x 1 = 50
    assert p.loc["calls", ["weeks", "actual", "expected", "attainment"]].tolist() == [2, 75.0, 75.0, 1.0]
    # meetings per week 5: 5/5 x 5 days x 0.5 + 5 = 7.5 expected, 2 held
    assert p.loc["meetings", ["actual", "expected"]].tolist() == [2.0, 7.5]
    # as_of mid-week counts only the working days up to as_of: Mon 12 + Tue 13 Jan
    q = onboarding.ramp_progress(ramp_data(), ["N"], "2026-01-13").set_index("kpi")
    assert q.loc["calls", "expected"] == 25 + 2 * 10


def test_time_to_firsts():
    t = onboarding.time_to_firsts(ramp_data(), "2026-01-31")
    assert t["rep_id"].tolist() == ["N"]  # by default: hires the data can see (E was hired before it begins)
    row = t.iloc[0]
    assert row["days_to_conversation"] == pytest.approx(9 / 24 + 30 / 1440)  # 4th call, Monday 09:30
    assert row["days_to_meeting"] == pytest.approx(8 + 15 / 24)
    assert row["days_to_deal"] == pytest.approx(10.5)
    assert row["weeks_in"] == 3 and row["in_data"]
    early = onboarding.time_to_firsts(ramp_data(), "2026-01-12").iloc[0]
    assert np.isnan(early["days_to_meeting"]) and np.isnan(early["days_to_deal"])


def test_time_to_firsts_lists_every_hire_asked_for_with_not_yet_and_n():
    t = onboarding.time_to_firsts(ramp_data(), "2026-01-12", reps=["E", "N", "ghost"])
    assert t["rep_id"].tolist() == ["E", "N", "ghost"]  # hire order; an unknown id is kept, last
    assert t["in_data"].tolist() == [False, True, False]
    words = onboarding.firsts_table(t).set_index("rep")
    assert words.loc["Nia"].tolist() == ["SDR", "2026-01-05", 1, "0 days", "not yet", "not yet"]
    assert words.loc["Eve", "first conversation"] == "unknown: hired before the data"
    assert words.loc["ghost", "hired"] == "no hire date"
    summary = onboarding.firsts_summary(t).set_index("first")
    assert summary.loc["first conversation"].tolist() == [3, 1, 0, 2, pytest.approx(9 / 24 + 30 / 1440)]
    assert summary.loc["first held meeting", ["reached", "not yet", "unknown"]].tolist() == [0, 1, 2]
    assert np.isnan(summary.loc["first held meeting", "median days"])


def tenure_rows() -> pd.DataFrame:
    rows = []
    for rep, hired, role, values in (
        ("new", "2026-03-02", "SDR", [2, 2]),
        ("old1", "2025-01-06", "SDR", [20, 20]),
        ("old2", "2025-02-03", "SDR", [10, 30]),
        ("ae", "2025-01-06", "AE", [0, 0]),
    ):
        for week, v in zip((1, 2), values, strict=True):
            rows.append((rep, "conversations", float(week), float(v), role, pd.Timestamp(hired), rep.upper()))
    t = pd.DataFrame(rows, columns=["rep_id", "kpi", "tenure_week", "value", "role", "hired_at", "name"])
    t["cohort"] = t["hired_at"].dt.strftime("%Y-%m")
    return t


def test_behind_curve_compares_same_role_at_same_tenure():
    b = onboarding.behind_curve(tenure_rows(), "conversations", ["new", "old2"], min_earlier=2).set_index("rep_id")
    lo, hi = stats.poisson_interval(4)
    assert b.loc["new", ["value", "ci_low", "ci_high"]].tolist() == pytest.approx([2.0, lo / 2, hi / 2])
    assert b.loc["new", ["benchmark", "benchmark_reps", "benchmark_n"]].tolist() == [20.0, 2, 4]
    assert b.loc["new", "status"] == "behind"
    assert b.loc["new", "weeks"] == "1–2"
    assert b.loc["old2", "benchmark"] == 20.0  # old1 alone: one earlier hire
    assert b.loc["old2", "status"] == "too few to compare"
    assert onboarding.behind_curve(tenure_rows(), "conversations", ["ae"]).loc[0, "status"] == "too few to compare"


def test_behind_curve_needs_the_documented_minimum_of_earlier_hires():
    assert onboarding.MIN_EARLIER_HIRES == 3
    b = onboarding.behind_curve(tenure_rows(), "conversations", ["new"])  # 2 earlier SDRs < 3
    assert b.loc[0, "status"] == "too few to compare" and b.loc[0, "benchmark_reps"] == 2
    assert b.loc[0, "benchmark"] == 20.0  # still shown


def test_ramp_frame_cohort_against_earlier_hires():
    f = onboarding.ramp_frame(tenure_rows(), "conversations", "2026-03")
    new = f[f["cohort"] == "2026-03 hires"]
    early = f[f["cohort"] == "earlier hires"]
    assert new["value"].tolist() == [2.0, 2.0] and new["n"].tolist() == [1, 1]
    lo, hi = stats.poisson_interval(2)
    assert new["ci_low"].tolist() == pytest.approx([float(lo)] * 2)  # one rep: Poisson interval
    # earlier SDRs (not the AE): week 1 values 20, 10; week 2 values 20, 30
    assert early["value"].tolist() == [15.0, 25.0] and early["n"].tolist() == [2, 2]
    assert early["ci_low"].tolist() == [12.5, 22.5]
    with pytest.raises(ValueError, match="no rows for cohort"):
        onboarding.ramp_frame(tenure_rows(), "conversations", "1999-01")


def test_tenure_table_adds_tenure_and_cohort():
    tt = onboarding.tenure_table(ramp_data(), ["calls"])
    n = tt[tt["rep_id"] == "N"]
    assert n[["tenure_week", "value"]].values.tolist() == [[1.0, 30.0], [2.0, 45.0]]
    assert n["cohort"].unique().tolist() == ["2026-01"]
