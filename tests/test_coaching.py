"""Tests of coachkit.coaching on crafted teams, with values worked out by hand.

The crafted reps work Mon-Fri in January 2024 (4 full weeks, 20 working days, 2024-01-01 .. 2024-01-28).
Weekly counts that are the same every week have no week-to-week variation, so the dispersion φ is floored
at 1 and every value below can be computed on paper.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sst
from statsmodels.stats.multitest import multipletests

from coachkit import SalesData
from coachkit.coaching import (
    CANDIDATE_COLUMNS,
    FOCUS_COLUMNS,
    coaching_focus,
    focus_candidates,
    focus_window,
    peer_groups,
    select_focus,
    team_findings,
)
from coachkit.playbook import Playbook
from coachkit.stats import poisson_interval, wilson

PLAYBOOK = """
[targets]
AE = false
[targets.SDR.per_day]
calls = 10

[coaching]
min_n = 8
max_focus = 3
benchmarks = {}
"""

AS_OF = "2024-01-28"  # a Sunday: the window is Mon 2024-01-01 .. Sun 2024-01-28, 20 working days
WEEKS = [pd.Timestamp("2024-01-01") + pd.Timedelta(weeks=w) for w in range(4)]


def _calls(
    rep: str, per_week: list[int], connected: list[int] | None = None, notes: bool = True, unlogged: int = 0
) -> pd.DataFrame:
    """``per_week[w]`` calls in week w (spread Mon-Fri from 09:00, a minute apart); the first ``connected[w]``
    of each week connected (with an account and notes), the last ``unlogged`` without an outcome, the others
    no_answer."""
    rows = []
    connected = connected or [0] * len(per_week)
    for w, (n, c) in enumerate(zip(per_week, connected, strict=True)):
        for i in range(n):
            when = WEEKS[w] + pd.Timedelta(days=i % 5, hours=9, minutes=i // 5)
            ok = i < c
            rows.append(
                {
                    "activity_id": f"{rep}-{w}-{i}",
                    "rep_id": rep,
                    "activity_type": "call",
                    "occurred_at": when,
                    "outcome": "connected" if ok else (None if i >= n - unlogged else "no_answer"),
                    "account_id": f"{rep}-acct-{w}-{i}",
                    "notes": "spoke with the buyer" if ok and notes else None,
                }
            )
    return pd.DataFrame(rows)


def _data(acts: list[pd.DataFrame], reps: list[tuple], playbook: str = PLAYBOOK) -> SalesData:
    r = pd.DataFrame(reps, columns=["rep_id", "team", "role", "hired_at"])
    r["hired_at"] = pd.to_datetime(r["hired_at"])
    return SalesData.from_frames(pd.concat(acts, ignore_index=True), r, playbook=Playbook.from_text(playbook))


def _sdrs(a_weeks: list[int], others: int) -> SalesData:
    acts = [_calls("a", a_weeks)] + [_calls(r, [others] * 4) for r in ("b", "c", "d")]
    return _data(acts, [(r, "T1", "SDR", None) for r in "abcd"])


def _row(frame: pd.DataFrame, rep: str, kpi: str) -> pd.Series:
    return frame[(frame["rep_id"] == rep) & (frame["kpi"] == kpi)].iloc[0]


def test_focus_window_is_full_weeks_ending_on_as_of():
    assert focus_window("2024-01-28") == (pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-28"))
    assert focus_window("2024-01-31", weeks=2) == (pd.Timestamp("2024-01-15"), pd.Timestamp("2024-01-28"))
    with pytest.raises(ValueError, match="weeks"):
        focus_window("2024-01-28", weeks=0)


def test_count_behind_its_role_target_by_hand():
    # a: 25 calls a week = 100; target 10 a working day x 20 = 200. b, c, d: 60 a week.
    # Every rep's weeks are constant: X2 = 0, phi = max(1, 0) = 1, df = 16 rep-weeks - 4 reps = 12.
    # The group: 100 + 720 = 820 calls in 80 working days = 10.25 a day, Garwood/80 = (9.56, 10.98) reaches 10:
    # no team finding, so a is compared with the target: z = (100 - 200) / sqrt(200) = -7.07.
    cands = focus_candidates(_sdrs([25] * 4, 60), AS_OF)
    assert list(cands.columns) == list(CANDIDATE_COLUMNS)
    r = _row(cands, "a", "calls")
    assert (r["value"], r["n"], r["exposure"], r["weeks"]) == (100, 100, 20, 4)
    assert (r["phi"], r["df"]) == (1.0, 12)
    lo, hi = poisson_interval(100)
    assert (r["ci_low"], r["ci_high"]) == (pytest.approx(float(lo)), pytest.approx(float(hi)))
    assert not r["team_finding"] and r["team_value"] == pytest.approx(820 / 80)
    assert r["team_ci_high"] == pytest.approx(float(poisson_interval(820)[1]) / 80)
    assert (r["benchmark"], r["benchmark_value"], r["target"]) == ("role target", 200, 50)  # 10 a day = 50 a week
    assert r["std_gap"] == pytest.approx(100 / np.sqrt(200))
    assert r["p_value"] == pytest.approx(sst.t.cdf(-100 / np.sqrt(200), 12))
    assert r["eligible"] and r["reason"] == ""
    assert r["evidence"] == "Calls 100 in 4 weeks (95% CI 81–122) vs role target 200."
    # the peers' median: rates per working day 5, 12, 12, 12 -> 12 x a's 20 days
    assert r["team_median"] == 240
    focus = coaching_focus(_sdrs([25] * 4, 60), "a", AS_OF)
    assert list(focus.columns) == list(FOCUS_COLUMNS)
    assert focus["kpi"].tolist() == ["calls"] and focus.loc[0, "family"] == "peer group"
    assert focus.loc[0, "peer_basis"] == "team × role" and focus.loc[0, "peers_n"] == 4
    # the reps at 12 a day are not behind: nothing for b
    assert coaching_focus(_sdrs([25] * 4, 60), "b", AS_OF).empty


def test_overdispersion_widens_the_test():
    # a: 10, 40, 10, 40 (mean 25): X2 = 4 x 15^2 / 25 = 36; b, c, d constant: 0. phi = 36 / 12 = 3.
    r = _row(focus_candidates(_sdrs([10, 40, 10, 40], 60), AS_OF), "a", "calls")
    assert r["phi"] == pytest.approx(3.0)
    assert r["std_gap"] == pytest.approx(100 / np.sqrt(3 * 200))
    assert r["p_value"] == pytest.approx(sst.t.cdf(-100 / np.sqrt(600), 12))
    lo, hi = poisson_interval(100, phi=3)
    assert r["ci_low"] == pytest.approx(float(lo)) and r["ci_high"] == pytest.approx(float(hi))


def test_a_group_that_misses_its_target_is_a_team_finding_and_reps_are_compared_with_peers():
    # b, c, d: 40 a week = 8 a day; a: 25 a week = 5 a day. The group: 580 / 80 = 7.25 a day,
    # Garwood(580) / 80 = (6.67, 7.86) < 10: a team finding, reported once.
    # a vs the other three pooled: lambda_o = 480 / 60 = 8, lambda = 7.25,
    # z = (5 - 8) / sqrt(7.25 x (1/20 + 1/60)) = -4.315; benchmark = 8 x 20 = 160 calls.
    cands = focus_candidates(_sdrs([25] * 4, 40), AS_OF)
    r = _row(cands, "a", "calls")
    assert r["team_finding"] and r["benchmark"] == "peer group" and r["benchmark_value"] == 160
    z = (5 - 8) / np.sqrt(7.25 * (1 / 20 + 1 / 60))
    assert r["std_gap"] == pytest.approx(-z) and r["p_value"] == pytest.approx(sst.t.cdf(z, 12))
    assert r["evidence"] == (
        "Calls 100 in 4 weeks (95% CI 81–122) vs the other 3 T1 SDRs 160; the whole group misses the role target "
        "(50 a week), so the rep is compared with the peers."
    )
    b = _row(cands, "b", "calls")
    assert b["benchmark"] == "peer group" and b["std_gap"] < 0  # above the others: not behind
    found = team_findings(cands)
    assert found[["peer_label", "kpi", "peers_n"]].values.tolist() == [["T1 SDRs", "calls", 4]]
    # per week of 5 working days: 7.25 x 5 = 36.25, Garwood(580) / 80 x 5 = (33.35, 39.32), target 10 x 5 = 50
    assert found.loc[0, "team_value"] == pytest.approx(36.25) and found.loc[0, "target"] == 50
    lo, hi = (5 * float(v) / 80 for v in poisson_interval(580))
    assert found.loc[0, "team_ci_low"] == pytest.approx(lo) and found.loc[0, "team_ci_high"] == pytest.approx(hi)
    assert found.loc[0, "evidence"] == (
        f"The T1 SDRs (4 reps) as a group: calls 36.2 a week (95% CI {lo:.1f}–{hi:.1f}), below the role target "
        "50 a week. A team finding: a process or target question, not one rep's."
    )
    # the whole team missing the target is not a focus area for b, c and d
    sel = select_focus(cands)
    assert sel.loc[sel["flagged"], "rep_id"].unique().tolist() == ["a"]


def test_rate_against_the_playbook_benchmark_and_benjamini_hochberg():
    # 50 calls a week each; connected a week: a 2 (4%), b, c, d 6 (12%). Constant weeks: phi = 1, df = 12.
    # group 80 / 800 = 10%: its Wilson interval (8.1%, 12.3%) reaches the 10% benchmark: no team finding.
    # a: z = (0.04 - 0.10) / sqrt(0.1 x 0.9 / 200) = -2.828
    text = PLAYBOOK.replace("benchmarks = {}", "benchmarks = { connect_rate = 0.10 }").replace(
        "calls = 10", "calls = 2"
    )
    acts = [_calls("a", [50] * 4, [2] * 4)] + [_calls(r, [50] * 4, [6] * 4) for r in "bcd"]
    data = _data(acts, [(r, "T1", "SDR", None) for r in "abcd"], text)
    cands = focus_candidates(data, AS_OF)
    r = _row(cands, "a", "connect_rate")
    assert (r["value"], r["n"], r["phi"]) == (0.04, 200, 1.0)
    assert (r["benchmark"], r["benchmark_value"]) == ("playbook benchmark", 0.10)
    z = (0.04 - 0.10) / np.sqrt(0.09 / 200)
    assert r["p_value"] == pytest.approx(sst.t.cdf(z, 12))
    lo, hi = wilson(8, 200)
    assert (r["ci_low"], r["ci_high"]) == (pytest.approx(float(lo)), pytest.approx(float(hi)))
    assert r["evidence"] == "Connect rate 4% (8 of 200 calls, 95% CI 2–8%) vs playbook benchmark 10%."
    sel = select_focus(cands)
    fam = sel["eligible"]
    expected_q = multipletests(sel.loc[fam, "p_value"], method="fdr_bh")[1]
    np.testing.assert_allclose(sel.loc[fam, "q_value"], expected_q)
    assert sel[~fam]["q_value"].isna().all()
    q = float(_row(sel, "a", "connect_rate")["q_value"])
    assert _row(sel, "a", "connect_rate")["flagged"] == (q <= 0.05)
    # a stricter FDR can only remove focus areas
    assert not select_focus(cands, q=q / 2)["flagged"].any() or q / 2 >= q


def test_lagging_results_and_missing_data_are_never_a_focus_and_say_why():
    acts = [_calls("a", [5] * 4, [1] * 4, notes=False)] + [_calls(r, [50] * 4, [6] * 4, notes=False) for r in "bcd"]
    text = PLAYBOOK.replace("benchmarks = {}", "benchmarks = { notes_coverage = 0.7 }")
    cands = focus_candidates(_data(acts, [(r, "T1", "SDR", None) for r in "abcd"], text), AS_OF)
    notes = _row(cands, "a", "notes_coverage")
    assert not notes["eligible"] and notes["reason"] == "the data has no notes"
    assert _row(cands, "a", "emails")["reason"] == "the data has no email activities"
    assert _row(cands, "a", "deals_created")["reason"] == "a lagging result: monitored, never a coaching focus"
    assert _row(cands, "a", "win_rate")["kind"] == "lagging"
    # a has 4 conversations: too few for a rate (min_n = 8)
    assert _row(cands, "a", "follow_up_24h_rate")["reason"] == "only 4 conversations with an account (need 8)"
    sel = select_focus(cands)
    assert not sel.loc[sel["kpi"].isin(["notes_coverage", "emails", "deals_created", "win_rate"]), "flagged"].any()


def test_small_team_falls_back_to_the_role_across_teams():
    # T2 has 2 SDRs (< 4): they are compared with all 5 SDRs; T1's 3 SDRs are < 4 as well.
    acts = [_calls(r, [50] * 4) for r in ("a", "b", "c", "x", "y")]
    reps = [(r, "T1", "SDR", None) for r in "abc"] + [(r, "T2", "SDR", None) for r in "xy"]
    cands = focus_candidates(_data(acts, reps), AS_OF)
    r = _row(cands, "x", "calls")
    assert r["peer_basis"] == "role across teams (team too small)" and r["peer_label"] == "SDRs across teams"
    assert r["peers_n"] == 5 and r["df"] == 5 * 4 - 5


def test_a_dataset_starting_mid_window_and_a_rep_hired_mid_window():
    # The data starts on Wednesday 10 Jan: weeks before it are not zero weeks, and its first week has
    # 3 working days of exposure. Rep h is hired on Monday 15 Jan: only 2 weeks.
    late = [df[df["occurred_at"] >= "2024-01-10"] for df in (_calls(r, [50] * 4) for r in "abcd")]
    hired = _calls("h", [50] * 4)
    hired = hired[hired["occurred_at"] >= "2024-01-15"]
    reps = [(r, "T1", "SDR", None) for r in "abcd"] + [("h", "T1", "SDR", "2024-01-15")]
    cands = focus_candidates(_data([*late, hired], reps), AS_OF)
    a = _row(cands, "a", "calls")
    # weeks of 8 (partial: Wed-Fri), 15 and 22 Jan; calls on Wed-Fri of week 2 = 30 of the 50
    assert (a["weeks"], a["exposure"], a["value"]) == (3, 13, 130)
    assert a["benchmark_value"] == 130  # 10 a day x 13 working days: on target
    h = _row(cands, "h", "calls")
    assert (h["weeks"], h["exposure"], h["value"]) == (2, 10, 100)


def test_run_family_and_unknown_rep():
    data = _sdrs([25] * 4, 60)
    run = select_focus(focus_candidates(data, AS_OF))
    focus = coaching_focus(data, "a", AS_OF, run=run)
    assert focus["kpi"].tolist() == ["calls"] and focus.loc[0, "family"] == "run"
    assert focus.loc[0, "q_value"] == pytest.approx(float(_row(run, "a", "calls")["q_value"]))
    with pytest.raises(ValueError, match="not in the reps table"):
        coaching_focus(data, "nobody", AS_OF)
    gone = _sdrs([25] * 4, 60)
    gone.reps.loc[gone.reps["rep_id"] == "a", "left_at"] = pd.Timestamp("2023-06-30")
    assert coaching_focus(gone, "a", AS_OF).empty


def test_min_gap_keeps_significant_but_negligible_shortfalls_out():
    # outcome logged on 960 of a's 1,000 calls (96%) vs a 98% benchmark; b, c, d log every call.
    # z = (0.96 - 0.98) / sqrt(0.98 x 0.02 / 1000) = -4.52: clearly behind, but by 2 points = 2.04% of 98%.
    text = PLAYBOOK.replace("benchmarks = {}", "benchmarks = { outcome_logged_rate = 0.98 }")
    text = text.replace("calls = 10", "calls = 50")
    acts = [_calls("a", [250] * 4, unlogged=10)] + [_calls(r, [250] * 4) for r in "bcd"]
    cands = focus_candidates(_data(acts, [(r, "T1", "SDR", None) for r in "abcd"], text), AS_OF)
    r = _row(cands, "a", "outcome_logged_rate")
    assert (r["value"], r["n"]) == (0.96, 1000) and not r["team_finding"]
    assert r["std_gap"] == pytest.approx(0.02 / np.sqrt(0.98 * 0.02 / 1000))
    for min_gap, expected in ((0.0, True), (0.02, True), (0.021, False), (0.1, False)):
        sel = select_focus(cands, min_gap=min_gap)
        assert _row(sel, "a", "outcome_logged_rate")["flagged"] is np.bool_(expected), min_gap
    assert _row(select_focus(cands, min_gap=0.0), "a", "outcome_logged_rate")["q_value"] < 0.05


def test_peer_groups_are_team_and_role_with_missing_matching_missing():
    reps = pd.DataFrame(
        {
            "rep_id": ["a", "b", "c", "d", "e", "f", "a"],
            "team": ["East", "East", "East", None, None, "West", "West"],
            "role": ["SDR", "SDR", "AE", "SDR", "SDR", None, "AE"],
        }
    )
    key = peer_groups(reps)
    assert key.index.tolist() == ["a", "b", "c", "d", "e", "f"]  # the first row of a repeated rep_id counts
    groups = {k: sorted(key.index[key == k]) for k in key.unique()}
    assert sorted(groups.values()) == [["a", "b"], ["c"], ["d", "e"], ["f"]]


def test_weekly_trend_has_no_pre_data_zero_weeks_and_no_false_rising():
    # The issue's case: sample --reps 8 --weeks 6; R001's real weekly activities are 432, 382, 234, 60, 287, 300.
    # A 12-week trend must not count the 6 weeks before the data as zero weeks (the old "rising, rho = +0.74").
    import coachkit
    from coachkit.coaching import weekly_trend

    data = coachkit.sample(reps=8, weeks=6, seed=0)
    t = weekly_trend(data, "R001", "2026-11-22", "activities", weeks=12)
    assert t["values"] == [432, 382, 234, 60, 287, 300] and t["weeks"] == 6
    assert t["direction"] == "no clear trend"
    with pytest.raises(ValueError, match="count KPI"):
        weekly_trend(data, "R001", "2026-11-22", "connect_rate")


def test_effort_associations_are_exploratory_within_and_between_with_n():
    from coachkit.coaching import effort_associations

    data = _sdrs([25, 30, 35, 40], 50)
    out = effort_associations(data, "a", AS_OF, weeks=4, pairs=(("calls", "conversations"),))
    assert out["effect"].tolist() == ["within rep", "between reps"]
    assert (out["label"] == "exploratory").all() and (out["lag"] == 1).all()
    assert (out["reps"] == 4).all() and (out["rep_weeks"] == 12).all()  # 3 lagged pairs per rep
    # no conversations at all: no variation to explain, and the sentence names no direction
    assert all("Exploratory" in s for s in out["sentence"])
    assert not any(" more conversations" in s or " less conversations" in s for s in out["sentence"])


def test_sparse_data_calls_only_no_outcomes_no_notes_date_only():
    # Calls only, no outcomes, no notes, timestamps without a time of day: only calls and active days can be
    # judged; nothing the data lacks becomes a focus area or a team finding, and every other KPI says why.
    acts = pd.concat([_calls(r, [40] * 4) for r in "abcd"], ignore_index=True)
    acts = acts.assign(outcome=None, notes=None, account_id=None, occurred_at=acts["occurred_at"].dt.normalize())
    text = PLAYBOOK.replace("benchmarks = {}", "benchmarks = { connect_rate = 0.1 }").replace(
        "calls = 10", "calls = 10\nemails = 5"
    )
    cands = focus_candidates(_data([acts], [(r, "T1", "SDR", None) for r in "abcd"], text), AS_OF)
    assert sorted(cands.loc[cands["eligible"], "kpi"].unique()) == ["active_days", "calls"]
    reasons = cands.drop_duplicates("kpi").set_index("kpi")["reason"]
    assert reasons["connect_rate"] == "the data has no call outcomes logged"
    assert reasons["emails"] == "the data has no email activities"
    assert reasons["notes_coverage"] == "the data has no notes"
    # all 4 SDRs make 8 calls a day against 10: a team finding; emails (none at all) is not one
    assert team_findings(cands)["kpi"].tolist() == ["calls"]
