"""Tests of coachkit.coaching.coaching_focus on crafted teams, with values worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from coachkit import SalesData
from coachkit.coaching import FOCUS_COLUMNS, coaching_focus, focus_window, peer_groups
from coachkit.playbook import Playbook
from coachkit.stats import poisson_interval, wilson

# SDR has a calls target of 10 a working day; AE has no targets (benchmarks come from the playbook or the team).
PLAYBOOK = """
[targets.SDR.per_day]
calls = 10

[coaching]
min_n = 8
max_focus = 3
benchmarks = { connect_rate = 0.10, meeting_show_rate = 0.80, notes_coverage = 0.70, win_rate = 0.5 }
"""

AS_OF = "2024-01-28"  # a Sunday: the window is Mon 2024-01-01 .. Sun 2024-01-28, 20 working days
WORKDAYS = pd.bdate_range("2024-01-01", "2024-01-26")


def _calls(rep: str, total: int, connected: int) -> pd.DataFrame:
    """``total`` calls spread over the window's 20 working days; the first ``connected`` connected (with notes)."""
    i = np.arange(total)
    when = WORKDAYS[i % len(WORKDAYS)] + pd.to_timedelta(9 * 3600 + i // len(WORKDAYS) * 60, unit="s")
    ok = i < connected
    return pd.DataFrame(
        {
            "activity_id": [f"{rep}-c{j}" for j in i],
            "rep_id": rep,
            "activity_type": "call",
            "occurred_at": when,
            "outcome": np.where(ok, "connected", "no_answer"),
            "notes": np.where(ok, "spoke with the buyer", None),
        }
    )


def _meetings(rep: str, held: int, no_show: int) -> pd.DataFrame:
    n = held + no_show
    return pd.DataFrame(
        {
            "activity_id": [f"{rep}-m{j}" for j in range(n)],
            "rep_id": rep,
            "activity_type": "meeting",
            "occurred_at": WORKDAYS[np.arange(n) % len(WORKDAYS)] + pd.Timedelta(hours=14),
            "outcome": ["held"] * held + ["no_show"] * no_show,
            "notes": "agenda reviewed",
        }
    )


def _data(acts: list[pd.DataFrame], reps: list[tuple], deals: pd.DataFrame | None = None, playbook=PLAYBOOK):
    r = pd.DataFrame(reps, columns=["rep_id", "team", "role", "hired_at"])
    r["hired_at"] = pd.to_datetime(r["hired_at"])
    return SalesData.from_frames(pd.concat(acts, ignore_index=True), r, deals, playbook=Playbook.from_text(playbook))


def test_focus_window_is_full_weeks_ending_on_as_of():
    assert focus_window("2024-01-28") == (pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-28"))
    # mid-week: the week in progress is not judged
    assert focus_window("2024-01-31", weeks=2) == (pd.Timestamp("2024-01-15"), pd.Timestamp("2024-01-28"))
    assert focus_window("2024-01-29 17:00", weeks=1) == (pd.Timestamp("2024-01-22"), pd.Timestamp("2024-01-28"))
    with pytest.raises(ValueError, match="weeks"):
        focus_window("2024-01-28", weeks=0)


def test_clear_rate_gap_with_large_n_is_flagged():
    # 4 of 200 calls connected = 2%; Wilson (0.78%, 5.03%) lies below the 10% playbook benchmark
    data = _data([_calls("a", 200, 4)], [("a", "T1", "AE", None)])
    focus = coaching_focus(data, "a", AS_OF)
    assert list(focus.columns) == list(FOCUS_COLUMNS)
    assert focus["kpi"].tolist() == ["connect_rate"]
    row = focus.iloc[0]
    lo, hi = wilson(4, 200)
    assert (row["value"], row["n"]) == (0.02, 200)
    assert (row["ci_low"], row["ci_high"]) == (pytest.approx(float(lo)), pytest.approx(float(hi)))
    assert row["benchmark"] == "playbook benchmark" and row["benchmark_value"] == 0.10 and row["target"] == 0.10
    assert row["team_median"] == 0.02  # alone in the team
    assert row["gap"] == pytest.approx(-0.08)
    assert row["std_gap"] == pytest.approx(0.08 / np.sqrt(0.1 * 0.9 / 200))
    assert row["kind"] == "leading"
    assert row["evidence"] == "Connect rate 2% (4 of 200 calls with an outcome, 95% CI 1–5%) vs playbook benchmark 10%."
    assert row["action"] == data.playbook.action_for("connect_rate")


def test_same_rate_with_small_n_is_not_flagged():
    # 1 of 50 = 2% too, but Wilson (0.35%, 10.5%) still reaches 10%
    data = _data([_calls("b", 50, 1)], [("b", "T1", "AE", None)])
    assert float(wilson(1, 50)[1]) > 0.10
    focus = coaching_focus(data, "b", AS_OF)
    assert focus.empty and list(focus.columns) == list(FOCUS_COLUMNS)


def test_rates_need_min_n_even_when_the_interval_separates():
    # 0 of 7 meetings held: Wilson high 35% < 80%, but n = 7 < min_n = 8; 0 of 8 is flagged
    seven = _data([_calls("m", 100, 10), _meetings("m", 0, 7)], [("m", "T1", "AE", None)])
    assert float(wilson(0, 7)[1]) < 0.8
    assert "meeting_show_rate" not in coaching_focus(seven, "m", AS_OF)["kpi"].tolist()
    eight = _data([_calls("m", 100, 10), _meetings("m", 0, 8)], [("m", "T1", "AE", None)])
    focus = coaching_focus(eight, "m", AS_OF)
    assert focus["kpi"].tolist() == ["meeting_show_rate"]
    assert focus.iloc[0]["evidence"].startswith("Meeting show rate 0% (0 of 8 meetings held or no-show, 95% CI 0–32%)")


def test_leading_gap_ranks_above_a_larger_lagging_gap():
    # leading: connect 4/200 vs 10% -> std gap 3.77; lagging: 0 of 100 deals won vs 50% -> std gap 10
    deals = pd.DataFrame(
        {
            "deal_id": [f"d{i}" for i in range(100)],
            "rep_id": "a",
            "created_at": pd.Timestamp("2023-10-02"),  # created before the window: deals_created is 0
            "closed_at": WORKDAYS[np.arange(100) % 20] + pd.Timedelta(hours=12),
            "is_won": False,
            "is_closed": True,
        }
    )
    data = _data([_calls("a", 200, 4)], [("a", "T1", "AE", None)], deals)
    focus = coaching_focus(data, "a", AS_OF)
    assert focus["kpi"].tolist() == ["connect_rate", "win_rate"]
    assert focus["kind"].tolist() == ["leading", "lagging"]
    assert focus.loc[1, "std_gap"] > focus.loc[0, "std_gap"]
    assert focus.loc[1, "evidence"] == "Win rate 0% (0 of 100 closed deals, 95% CI 0–4%) vs playbook benchmark 50%."
    # max_focus caps the list, keeping the leading one
    one = _data(
        [_calls("a", 200, 4)], [("a", "T1", "AE", None)], deals, PLAYBOOK.replace("max_focus = 3", "max_focus = 1")
    )
    assert coaching_focus(one, "a", AS_OF)["kpi"].tolist() == ["connect_rate"]


def test_rep_at_target_gets_nothing():
    # SDR target 10 calls a day x 20 working days = 200; 200 calls, 20 connected (10%), all with notes
    data = _data([_calls("s", 200, 20)], [("s", "T1", "SDR", None)])
    focus = coaching_focus(data, "s", AS_OF)
    assert focus.empty and list(focus.columns) == list(FOCUS_COLUMNS)


def test_count_gap_against_role_target_uses_poisson_and_ramp():
    # 100 calls vs 200 expected: Garwood (81.4, 121.6) < 200 -> flagged
    data = _data([_calls("s", 100, 10)], [("s", "T1", "SDR", None)])
    focus = coaching_focus(data, "s", AS_OF)
    assert focus["kpi"].tolist() == ["calls"]
    row = focus.iloc[0]
    lo, hi = poisson_interval([100])
    assert (row["value"], row["n"], row["benchmark_value"], row["target"]) == (100, 100, 200, 200)
    assert (row["ci_low"], row["ci_high"]) == (pytest.approx(lo[0]), pytest.approx(hi[0]))
    assert row["benchmark"] == "role target"
    assert row["std_gap"] == pytest.approx(100 / np.sqrt(200))
    assert row["evidence"] == "Calls 100 in 4 weeks (95% CI 81–122) vs role target 200."
    # hired on 2024-01-01: ramp 0.25, 0.25, 0.5, 0.5 -> expected 50 x 1.5 = 75; 100 calls is not a gap
    hired = _data([_calls("s", 100, 10)], [("s", "T1", "SDR", "2024-01-01")])
    assert coaching_focus(hired, "s", AS_OF).empty


def test_team_median_uses_same_team_and_role_only():
    # x: 40 calls, 4 connected (10%); AE peers p1, p2 in team T: 400 calls, 40 connected.
    # SDRs in team T (d1, d2) with 1 call each, and an AE in team U with 1 call, are not peers.
    acts = [_calls("x", 40, 4), _calls("p1", 400, 40), _calls("p2", 400, 40)]
    acts += [_calls(r, 1, 0) for r in ("d1", "d2", "u1")]
    reps = [("x", "T", "AE", None), ("p1", "T", "AE", None), ("p2", "T", "AE", None)]
    reps += [("d1", "T", "SDR", None), ("d2", "T", "SDR", None), ("u1", "U", "AE", None)]
    focus = coaching_focus(_data(acts, reps), "x", AS_OF).set_index("kpi")
    # calls: weekly averages 10, 100, 100 -> median 100 x 4 weeks = 400; conversations: 1, 10, 10 -> 40
    assert focus.index.tolist() == ["calls", "conversations"]
    assert focus.loc["calls", "team_median"] == 400 and focus.loc["calls", "benchmark"] == "team median"
    assert np.isnan(focus.loc["calls", "target"])
    assert focus.loc["conversations", "team_median"] == 40 and focus.loc["conversations", "value"] == 4
    assert focus.loc["conversations", "evidence"] == "Conversations 4 in 4 weeks (95% CI 1.1–10) vs team median 40."


def test_only_the_window_counts_and_unknown_rep_errors():
    # 200 calls in the window at 2%, plus 100 connected calls just before and just after it
    outside = _calls("a", 100, 100)
    outside["activity_id"] = "out" + outside["activity_id"]
    outside["occurred_at"] = np.where(
        np.arange(100) % 2 == 0, pd.Timestamp("2023-12-31 23:59:59"), pd.Timestamp("2024-01-29 00:00:00")
    )
    data = _data([_calls("a", 200, 4), outside], [("a", "T1", "AE", None)])
    focus = coaching_focus(data, "a", "2024-01-31")  # mid-week: same window as Sunday the 28th
    assert focus["kpi"].tolist() == ["connect_rate"] and focus.iloc[0]["n"] == 200
    with pytest.raises(ValueError, match="not in the reps table"):
        coaching_focus(data, "nobody", AS_OF)
    # a rep who left before the window has nothing to judge
    gone = _data([_calls("a", 200, 4)], [("a", "T1", "AE", None)])
    gone.reps["left_at"] = pd.Timestamp("2023-06-30")
    assert coaching_focus(gone, "a", AS_OF).empty


def test_a_role_target_for_a_rate_takes_precedence_over_the_playbook_benchmark():
    # 20 of 200 = 10% meets the 10% playbook benchmark,
    # but the AE role's own 20% connect-rate target is out of reach (Wilson 6.6%-15%)
    data = _data([_calls("a", 200, 20)], [("a", "T1", "AE", None)], playbook=PLAYBOOK)
    assert coaching_focus(data, "a", AS_OF).empty
    text = "[targets.AE.per_week]\nconnect_rate = 0.2\n\n" + PLAYBOOK
    focus = coaching_focus(_data([_calls("a", 200, 20)], [("a", "T1", "AE", None)], playbook=text), "a", AS_OF)
    assert focus["kpi"].tolist() == ["connect_rate"]
    row = focus.iloc[0]
    assert (row["benchmark"], row["benchmark_value"], row["target"]) == ("role target", 0.2, 0.2)
    assert row["evidence"] == "Connect rate 10% (20 of 200 calls with an outcome, 95% CI 7–15%) vs role target 20%."


def test_large_counts_in_evidence_have_thousands_separators():
    data = _data([_calls("a", 2000, 20)], [("a", "T1", "AE", None)])
    (evidence,) = coaching_focus(data, "a", AS_OF)["evidence"]
    assert evidence.startswith("Connect rate 1% (20 of 2,000 calls with an outcome")


def test_min_gap_keeps_significant_but_negligible_shortfalls_out():
    """Hand-worked: 960 of 1,000 calls have an outcome (96%, Wilson 95% CI 94.6-97.1%) against a 98%
    benchmark. The interval excludes 98%, but the gap of 2 points is 2.04% of the benchmark: flagged only
    when min_gap is below that."""
    n = 1000
    times = pd.date_range("2026-03-02 09:00", periods=n, freq="1min")
    acts = pd.DataFrame(
        {
            "activity_id": [f"A{i}" for i in range(n)],
            "rep_id": "R1",
            "activity_type": "call",
            "occurred_at": times,
            "outcome": ["connected"] * 100 + ["no_answer"] * 860 + [None] * 40,
        }
    )
    reps = pd.DataFrame({"rep_id": ["R1"], "team": ["T"], "role": ["X"]})
    base = "[coaching]\nbenchmarks = { outcome_logged_rate = 0.98 }\n"
    for min_gap, expected in ((0.0, True), (0.02, True), (0.021, False), (0.1, False)):
        pb = Playbook.from_text(base + f"min_gap = {min_gap}\n")
        data = SalesData.from_frames(acts, reps, playbook=pb)
        focus = coaching_focus(data, "R1", "2026-03-08", weeks=1)
        assert ("outcome_logged_rate" in set(focus["kpi"])) is expected, min_gap


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
