"""coachkit.team on crafted panels: peer-group scorecards, week-over-week with overdispersion, funnels, medians."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sst

from coachkit import SalesData, stats, team
from coachkit.panel import peer_table
from coachkit.playbook import Playbook

W1, W2 = pd.Timestamp("2026-01-05"), pd.Timestamp("2026-01-12")
REPS = pd.DataFrame(
    {
        "rep_id": ["a", "b", "c", "d", "x", "y", "z", "w"],
        "team": ["T"] * 8,
        "role": ["SDR"] * 4 + ["AE"] * 4,
    }
)


def panel(kpi: str, data: list[tuple], exposure: float = 5.0) -> pd.DataFrame:
    """A team_panel-shaped frame from (rep, week, numerator or value, denominator or None[, exposure])."""
    out = []
    for rep, week, a, b, *e in data:
        ex = e[0] if e else exposure
        if b is None:
            out.append((rep, week, kpi, a, np.nan, np.nan, ex))
        else:
            out.append((rep, week, kpi, a / b if b else np.nan, a, b, ex))
    p = pd.DataFrame(out, columns=["rep_id", "period_start", "kpi", "value", "numerator", "denominator", "exposure"])
    p["full_exposure"] = 5.0
    p["partial"] = p["exposure"] < 5
    peers = peer_table(REPS, sorted(p["rep_id"].unique()))
    for c in ("peer_group", "peer_label", "peer_basis", "peers_n", "role_key"):
        p[c] = p["rep_id"].map(peers[c])
    p["role"] = p["rep_id"].map(REPS.set_index("rep_id")["role"])
    p["hired_at"] = pd.NaT
    p.attrs["playbook"] = Playbook.default()
    return p


def test_scorecard_shrinks_within_the_peer_group_and_ranks_there():
    # SDRs a-d: 40/100, 3/4, 30/100, 28/100; AEs x-w at 90%: the AEs neither rank with nor shape the SDRs' prior
    sdr = [("a", W1, 20, 50), ("a", W2, 20, 50), ("b", W1, 3, 4), ("c", W1, 30, 100), ("d", W1, 28, 100)]
    ae = [(r, W1, 90, 100) for r in "xyzw"]
    s = team.scorecard(panel("connect_rate", sdr + ae), "connect_rate").set_index("rep_id")
    assert s.loc["a", "raw"] == 0.4 and s.loc["a", "n"] == 100 and s.loc["b", "n"] == 4
    prior = stats.fit_beta_binomial([40, 3, 30, 28], [100, 4, 100, 100])
    expected = stats.shrink(pd.Series([40, 3, 30, 28], index=list("abcd")), [100, 4, 100, 100], prior=prior)
    assert s.loc[list("abcd"), "value"].tolist() == pytest.approx(expected["mean"].tolist())
    assert s.loc[list("abcd"), "rank"].tolist() == [1, 2, 3, 4]  # 40/100 above 3/4 after shrinkage
    assert (s.loc[list("abcd"), "peer_label"] == "T SDRs").all()
    # the AEs look alike (all 90/100): fully pooled, the group's Wilson interval, ranks 1-4 among AEs
    lo, hi = stats.wilson(360, 400)
    assert (s.loc[list("xyzw"), "value"] == 0.9).all() and s.loc["x", "ci_low"] == pytest.approx(float(lo))
    assert s.loc["x", "method"].startswith("pooled (reps look alike)")
    assert sorted(s.loc[list("xyzw"), "rank"]) == [1, 2, 3, 4]


def test_scorecard_counts_per_week_of_five_working_days_with_the_groups_dispersion():
    # a: 10, 30 over 5 + 5 days; b: 20, 20; c: 20, 20; d: 12 over 3 days (partial), 20 over 5.
    # a: mean 20: X2 = 10^2/20 x 2 = 10; d: lambda = 32/8 = 4/day: mu 12, 20: 0; b, c: 0; df = 8 - 4 = 4 -> phi 2.5
    p = panel("calls", [("a", W1, 10, None), ("a", W2, 30, None), ("b", W1, 20, None), ("b", W2, 20, None)])
    p = pd.concat(
        [p, panel("calls", [("c", W1, 20, None), ("c", W2, 20, None), ("d", W1, 12, None, 3.0), ("d", W2, 20, None)])]
    )
    s = team.scorecard(p, "calls").set_index("rep_id")
    assert s.loc["d", "value"] == pytest.approx(32 / 8 * 5) and s.loc["d", "n"] == 32
    lo, hi = stats.poisson_interval(32, phi=2.5)
    assert s.loc["d", ["ci_low", "ci_high"]].tolist() == pytest.approx([float(lo) / 8 * 5, float(hi) / 8 * 5])
    assert "φ = 2.5" in s.loc["d", "method"]


def test_scorecard_sums_get_a_t_interval_not_a_poisson_one():
    p = panel("talk_time_h", [("a", W1, 3.0, None), ("a", W2, 5.0, None)])
    s = team.scorecard(p, "talk_time_h").set_index("rep_id")
    half = sst.t.ppf(0.975, 1) * np.std([3, 5], ddof=1) / np.sqrt(2)
    assert s.loc["a", ["value", "ci_low", "ci_high", "n"]].tolist() == pytest.approx([4, max(4 - half, 0), 4 + half, 2])
    minutes = team.scorecard(panel("talk_time_h", [("a", W1, 180.0, None), ("a", W2, 300.0, None)]), "talk_time_h")
    assert minutes.loc[0, "ci_high"] / minutes.loc[0, "value"] == pytest.approx(s.loc["a", "ci_high"] / 4)


def test_activity_score_is_capped_per_target_and_says_which_run_over():
    # Default SDR targets: calls 50/day, emails 25/day, conversations 6/day, follow_ups 5/day, meetings 5/week;
    # weights 1, .5, 2, 1, 2. Rep a, one 5-day week: 375 calls (150%), 125 emails, 30 conversations, 25
    # follow-ups (all 100%), 0 meetings: 100 x (1 + .5 + 2 + 1 + 0) / 6.5 = 69.2, not 100 + 50/6.5.
    rows = [("calls", 375), ("emails", 125), ("conversations", 30), ("follow_ups", 25), ("meetings", 0)]
    p = pd.concat([panel(k, [("a", W1, v, None)]) for k, v in rows])
    p.attrs["playbook"] = Playbook.default()
    s = team.scorecard(p, "activity_score").set_index("rep_id")
    assert s.loc["a", "value"] == pytest.approx(100 * 4.5 / 6.5)
    assert s.loc["a", "note"] == "over target: Calls 150%"
    assert s.loc["a", "ci_low"] < s.loc["a", "value"] < s.loc["a", "ci_high"] <= 100
    assert s.loc["a", "n"] == 5


def test_week_over_week_allows_for_overdispersion_and_prorates_a_partial_week():
    # AEs over 4 weeks: w steady at 30/100; x 30, 30, 10 -> 50 (up); z 30, 30, 50 -> 10 (down); y 1/4 x3 -> 3/4
    weeks = [W1 - pd.Timedelta(weeks=2), W1 - pd.Timedelta(weeks=1), W1, W2]
    series = {"w": [30, 30, 30, 30], "x": [30, 30, 10, 50], "z": [30, 30, 50, 10]}
    rows = [(r, wk, k, 100) for r, ks in series.items() for wk, k in zip(weeks, ks, strict=True)]
    rows += [("y", wk, k, 4) for wk, k in zip(weeks, [1, 1, 1, 3], strict=True)]
    t = panel("connect_rate", rows)
    w = team.week_over_week(t).set_index("rep_id")
    assert w["change"].to_dict() == {"w": "no clear change", "x": "up", "y": "no clear change", "z": "down"}
    k = [r[2] for r in rows]
    n = [r[3] for r in rows]
    d = stats.rate_dispersion(k, n, [r[0] for r in rows])
    assert d.phi > 1 and w.loc["x", "phi"] == pytest.approx(d.phi)
    expected = stats.compare_rates(10, 100, 50, 100, phi=d.phi, df=d.df)
    assert w.loc["x", "p_value"] == pytest.approx(expected.loc[0, "p_value"])
    lo, hi = stats.wilson(10, 100, phi=d.phi)
    assert w.loc["x", ["ci_low_before", "ci_high_before"]].tolist() == pytest.approx([float(lo), float(hi)])
    # calls: 50 over 5 days, then 20 over the 2 days the data covers: the same rate, no change (not "down")
    c = panel("calls", [("a", W1, 50, None), ("a", W2, 20, None, 2.0), ("b", W1, 50, None), ("b", W2, 50, None)])
    c = pd.concat([c, panel("talk_time_h", [("a", W1, 1.0, None), ("a", W2, 9.0, None)])])
    wc = team.week_over_week(c)
    assert wc["kpi"].unique().tolist() == ["calls"]  # sums are left out
    a = wc.set_index("rep_id").loc["a"]
    assert a["change"] == "no clear change" and bool(a["partial_now"]) and a["exposure_now"] == 2
    assert team.week_over_week(panel("calls", [("a", W1, 1, None)])).empty


def test_team_medians_carry_their_n():
    p = panel("calls", [("a", W1, 10, None), ("b", W1, 20, None), ("c", W1, 60, None), ("x", W1, 5, None)])
    m = team.team_medians(p, ["calls"]).set_index("peer_label")
    # a, b, c are 3 SDRs (< 4): the role across teams; per week of 5 working days: 10, 20, 60 -> 20, n = 3
    assert m.loc["SDRs across teams", ["median", "reps"]].tolist() == [20, 3]
    assert m.loc["SDRs across teams", "peer_basis"] == "role across teams (team too small)"


def test_funnel_per_peer_group_with_dispersion():
    t = panel("connect_rate", [("a", W1, 1, 10), ("a", W2, 1, 10), ("b", W1, 18, 80), ("x", W1, 5, 10)])
    out = {label: (points, limits, p0) for label, points, limits, p0 in team.funnel(t, "connect_rate")}
    assert set(out) == {"SDRs across teams", "AEs across teams"}
    points, limits, p0 = out["SDRs across teams"]
    assert p0 == pytest.approx(20 / 100)
    assert points.set_index("rep_id")[["k", "n"]].values.tolist() == [[2, 20], [18, 80]]
    assert set(limits["level"]) == {0.95, 0.998}


def test_team_panel_on_a_dataset_has_peer_groups_and_exposure():
    acts = pd.DataFrame(
        {
            "activity_id": [f"a{i}" for i in range(6)],
            "rep_id": ["a", "a", "b", "b", "x", "x"],
            "activity_type": "call",
            "occurred_at": pd.to_datetime(
                [
                    "2026-01-05 09:00",
                    "2026-01-13 09:00",
                    "2026-01-06 09:00",
                    "2026-01-14 09:00",
                    "2026-01-07 10:00",
                    "2026-01-14 10:00",
                ]
            ),
        }
    )
    data = SalesData.from_frames(acts, REPS)
    p = team.team_panel(data, "2026-01-05", "2026-01-14")
    calls = p[p["kpi"] == "calls"].set_index(["rep_id", "period_start"])
    assert calls.loc[("a", W2), "exposure"] == 3 and bool(calls.loc[("a", W2), "partial"])  # cut on Wednesday
    assert calls.loc[("a", W1), "peer_label"] == "SDRs across teams"
    assert set(p["rep_id"]) == {"a", "b", "x"}  # reps with no data are not in it


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
