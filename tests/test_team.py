"""coachkit.team: scorecards ranked by shrunk estimates, week-over-week changes, funnel data, activity spread."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from coachkit import stats, team
from coachkit.kpis import registry

W1, W2 = pd.Timestamp("2026-01-05"), pd.Timestamp("2026-01-12")


def rows(kpi: str, data: list[tuple[str, pd.Timestamp, float, float | None]]) -> pd.DataFrame:
    """kpi_table-shaped rows from (rep, week, numerator or value, denominator or None)."""
    out = []
    for rep, week, a, b in data:
        if b is None:
            out.append((rep, week, kpi, a, np.nan, np.nan))
        else:
            out.append((rep, week, kpi, a / b if b else np.nan, a, b))
    return pd.DataFrame(out, columns=["rep_id", "period_start", "kpi", "value", "numerator", "denominator"])


def test_scorecard_ranks_by_shrunk_estimate_not_raw_rate():
    team_rows = [("a", W1, 30, 100), ("b", W1, 32, 100), ("c", W1, 35, 100), ("d", W1, 28, 100)]
    t = rows("connect_rate", [("big", W1, 20, 50), ("big", W2, 20, 50), ("tiny", W1, 3, 4), *team_rows])
    s = team.scorecard(t, "connect_rate").set_index("rep_id")
    assert s.loc["tiny", "raw"] == 0.75 and s.loc["big", "raw"] == 0.4  # 40/100 pooled over the weeks
    assert s.loc["big", "n"] == 100 and s.loc["tiny", "n"] == 4
    assert s.loc["big", "rank"] == 1 and s.loc["tiny", "rank"] == 2  # 40/100 above 3/4
    # posterior mean (alpha + k) / (alpha + beta + n) with the prior fitted across the six reps
    prior = stats.fit_beta_binomial([40, 3, 30, 32, 35, 28], [100, 4, 100, 100, 100, 100])
    assert s.loc["tiny", "value"] == pytest.approx((prior.alpha + 3) / (prior.strength + 4))
    assert s.loc["big", "value"] == pytest.approx((prior.alpha + 40) / (prior.strength + 100))
    assert s.loc["tiny", "ci_low"] < s.loc["tiny", "value"] < s.loc["tiny", "ci_high"]
    assert s["rank"].tolist() == [1, 2, 3, 4, 5, 6]
    assert s.loc["d", "rank"] == 6


def test_scorecard_counts_per_period_with_poisson_interval_and_lower_is_better():
    t = rows("calls", [("a", W1, 4, None), ("a", W2, 6, None), ("b", W1, 30, None), ("b", W2, 0, None)])
    s = team.scorecard(t, "calls").set_index("rep_id")
    assert s.loc["a", "value"] == 5.0 and s.loc["b", "value"] == 15.0
    lo, hi = stats.poisson_interval(10)
    assert s.loc["a", ["ci_low", "ci_high"]].tolist() == pytest.approx([lo / 2, hi / 2])
    assert s.loc["b", "rank"] == 1
    c = rows("cycle_days", [("a", W1, 10, None), ("b", W1, 30, None)])
    assert registry["cycle_days"].higher_is_better is False
    assert team.scorecard(c, "cycle_days")["rep_id"].tolist() == ["a", "b"]


def test_scorecard_mean_kind_interval_and_no_data_last():
    t = rows("activity_score", [("a", W1, 80, None), ("a", W2, 100, None), ("z", W1, np.nan, None)])
    s = team.scorecard(t, "activity_score").set_index("rep_id")
    half = stats.Z95 * np.std([80, 100], ddof=1) / np.sqrt(2)
    assert s.loc["a", ["value", "ci_low", "ci_high"]].tolist() == pytest.approx([90, 90 - half, 90 + half])
    assert s.loc["z", "rank"] == 2 and s.loc["z", "n"] == 0


def test_week_over_week_flags_only_separated_intervals():
    t = rows(
        "connect_rate",
        [
            ("x", W1, 10, 100),  # Wilson ~(0.055, 0.174)
            ("x", W2, 50, 100),  # ~(0.404, 0.596): separated -> up
            ("y", W1, 1, 4),  # (0.046, 0.699)
            ("y", W2, 3, 4),  # (0.301, 0.954): overlap -> not flagged although +50 points
            ("z", W1, 50, 100),
            ("z", W2, 10, 100),  # down
        ],
    )
    w = team.week_over_week(t).set_index("rep_id")
    assert w["change"].to_dict() == {"x": "up", "y": "", "z": "down"}
    assert w.loc["y", "delta"] == pytest.approx(0.5)
    lo, hi = stats.wilson(10, 100)
    assert w.loc["x", ["ci_low_before", "ci_high_before"]].tolist() == pytest.approx([float(lo), float(hi)])
    assert w.loc["x", "n_now"] == 100


def test_week_over_week_counts_use_poisson_and_skip_other_kinds():
    t = pd.concat(
        [
            rows("calls", [("a", W1, 10, None), ("a", W2, 40, None), ("b", W1, 10, None), ("b", W2, 14, None)]),
            rows("activity_score", [("a", W1, 10, None), ("a", W2, 90, None)]),
        ]
    )
    w = team.week_over_week(t)
    assert w["kpi"].unique().tolist() == ["calls"]
    assert w.set_index("rep_id")["change"].to_dict() == {"a": "up", "b": ""}
    one_week = team.week_over_week(rows("calls", [("a", W1, 1, None)]))
    assert one_week.empty and "change" in one_week.columns


def test_funnel_points_and_team_rate():
    t = rows("connect_rate", [("a", W1, 1, 10), ("a", W2, 1, 10), ("b", W1, 18, 80)])
    points, limits, p0 = team.funnel(t, "connect_rate")
    assert p0 == pytest.approx(20 / 100)
    assert points.set_index("rep_id")[["k", "n"]].values.tolist() == [[2, 20], [18, 80]]
    assert set(limits["level"]) == {0.95, 0.998}


def test_activity_spread_counts_shares_and_idle_reps():
    acts = pd.DataFrame(
        {"rep_id": ["a"] * 6 + ["b"] * 3 + ["c"], "activity_type": ["call"] * 5 + ["email"] + ["call"] * 3 + ["call"]}
    )
    reps = pd.DataFrame(
        {
            "rep_id": ["a", "b", "c", "d", "gone"],
            "team": ["T", "T", "U", "T", "T"],
            "hired_at": pd.to_datetime([None] * 5),
            "left_at": pd.to_datetime([None, None, None, None, "2025-12-01"]),
        }
    )
    per, summary = team.activity_spread(acts, reps, start="2026-01-01")
    assert per[["rep_id", "activities", "call", "email"]].values.tolist() == [
        ["a", 6, 5, 1],
        ["b", 3, 3, 0],
        ["d", 0, 0, 0],
        ["c", 1, 1, 0],
    ]
    assert per.set_index("rep_id")["share"].to_dict() == pytest.approx({"a": 6 / 9, "b": 3 / 9, "d": 0.0, "c": 1.0})
    s = summary.set_index("team")
    assert s.loc["T", ["reps", "activities", "median", "max", "idle_reps"]].tolist() == [3, 9, 3, 6, 1]
    assert s.loc["T", "top_share"] == pytest.approx(6 / 9)  # busiest fifth of 3 reps = 1 rep
