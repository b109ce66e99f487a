"""What a review computes once for its whole team and hands to the next rep of the team (review.team.Team.shared):
the same values as computed for the rep alone, recomputed when the data differs in any value."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from coachkit import SalesData, coaching, feedback, review
from coachkit.review import team as team_module
from coachkit.review.sections import effort as effort_section
from coachkit.review.team import team_median, window_total

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"


@pytest.fixture(scope="module")
def sample() -> SalesData:
    if not (SAMPLE / "reps.parquet").exists() and not (SAMPLE / "reps.csv").exists():
        pytest.skip(f"the sample dataset is not at {SAMPLE}")
    from coachkit.batch import load_for_review

    return load_for_review(SAMPLE, "R001")  # what a review reads: the rep's team only


@pytest.fixture(scope="module")
def window(sample) -> review.Window:
    return review.review_window(sample, "", 4)


def _tiny(score: float = 4.0) -> SalesData:
    acts = pd.DataFrame(
        {
            "activity_id": ["a1", "a2", "a3"],
            "rep_id": ["r1", "r2", "r1"],
            "activity_type": ["call", "call", "meeting"],
            "occurred_at": pd.to_datetime(["2026-03-02 10:00", "2026-03-03 11:00", "2026-03-04 09:00"]),
            "outcome": ["connected", "no_answer", "held"],
            "feedback_score": [score, np.nan, np.nan],
        }
    )
    reps = pd.DataFrame({"rep_id": ["r1", "r2"], "team": ["T", "T"], "role": ["SDR", "SDR"]})
    return SalesData.from_frames(acts, reps)


def test_the_content_key_changes_with_any_value_and_only_then() -> None:
    base = _tiny()
    assert base.content_key() == _tiny().content_key()  # the same rows, built again
    assert _tiny(score=5.0).content_key() != base.content_key()  # one feedback score differs
    moved = dataclasses.replace(base, activities=base.activities.iloc[::-1].reset_index(drop=True))
    assert moved.content_key() != base.content_key()  # row order counts
    other_pb = dataclasses.replace(base, playbook=dataclasses.replace(base.playbook, follow_up_hours=48))
    assert other_pb.content_key() != base.content_key()
    renamed = dataclasses.replace(base, reps=base.reps.assign(team=["T", "U"]))
    assert renamed.content_key() != base.content_key()


def test_a_team_is_computed_once_for_its_reps_and_again_for_other_data(monkeypatch) -> None:
    monkeypatch.setattr(team_module, "_SHARED_TEAMS", type(team_module._SHARED_TEAMS)())
    calls = []
    real = team_module._team_tables
    monkeypatch.setattr(team_module, "_team_tables", lambda *a: calls.append(a[1]) or real(*a))
    data = _tiny()
    w = review.review_window(data, "2026-03-08", 1)
    one = review.team_tables(data, "r1", w)
    two = review.team_tables(_tiny(), "r2", w)  # another rep of the team, the same data built again
    assert calls == ["r1"]
    assert (one.rep_id, two.rep_id) == ("r1", "r2") and two.shared is one.shared
    alone = review.team_tables(data, "r2", w, share=False)
    assert calls == ["r1", "r2"]  # share=False computes anew
    pd.testing.assert_frame_equal(two.totals, alone.totals)
    pd.testing.assert_frame_equal(two.this, alone.this)
    assert window_total(two, "calls")["value"] == 1.0 and window_total(one, "calls")["value"] == 1.0
    assert window_total(one, "conversations")["value"] == 2.0  # the connected call and the held meeting
    review.team_tables(_tiny(score=5.0), "r2", w)  # one value differs: computed again
    assert calls == ["r1", "r2", "r2"]
    changed = review.team_tables(_tiny(score=5.0), "r1", w)
    assert calls == ["r1", "r2", "r2"] and changed.shared is not one.shared


def test_totals_read_through_the_index_match_a_scan_of_the_rows(sample, window) -> None:
    team = review.team_tables(sample, "R001", window, share=False)
    t = team.totals
    for which in ("this", "prior"):
        for kpi in review.REVIEW_KPIS:
            for rep in team.peers:
                rows = t[(t["window"] == which) & (t["kpi"] == kpi) & (t["rep_id"] == rep)]
                got = window_total(team, kpi, which, rep)
                if rows.empty:
                    assert np.isnan(got["value"]) and got["denominator"] == 0.0
                else:
                    pd.testing.assert_series_equal(got, rows.iloc[0])
            kind = review.team.registry[kpi].kind
            rows = t[(t["window"] == which) & (t["kpi"] == kpi)]
            for rep in team.peers:  # a count's median is in the reviewed rep's weeks
                mine = team.for_rep(rep)
                if kind == "rate":
                    ok = rows[rows["denominator"] > 0]
                    expected = (ok["numerator"] / ok["denominator"]).median()
                elif kind == "count":
                    weeks = float(window_total(mine, kpi, which)["weeks"])
                    expected = (rows["value"] / rows["weeks"].where(rows["weeks"] > 0) * weeks).median()
                else:
                    expected = rows["value"].median()
                got = team_median(mine, kpi, which)
                assert (np.isnan(got) and np.isnan(expected)) or got == expected  # the same float, bit for bit


def test_what_the_team_shares_is_what_each_rep_gets_alone(sample, window, monkeypatch) -> None:
    monkeypatch.setattr(team_module, "_SHARED_TEAMS", type(team_module._SHARED_TEAMS)())
    peers = review.team.peers(sample, "R001")
    assert len(peers) >= 3
    computed = []
    real = coaching._effort_associations
    monkeypatch.setattr(coaching, "_effort_associations", lambda *a: computed.append(1) or real(*a))
    for rep in peers:
        team = review.team_tables(sample, rep, window)
        alone = review.team_tables(sample, rep, window, share=False)
        pd.testing.assert_frame_equal(
            review.history(sample, rep, window, 12, team=team), review.history(sample, rep, window, 12)
        )
        pd.testing.assert_frame_equal(
            review.absences(sample, rep, window, team=team), review.absences(sample, rep, window)
        )
        assert effort_section.trend_text(sample, rep, window, team=team) == effort_section.trend_text(
            sample, rep, window
        )
        assert effort_section.activity_score_text(sample, rep, window, team) == effort_section.activity_score_text(
            sample, rep, window, alone
        )
        shared = review.effort_vs_feedback(sample, rep, window, team=team).frames["association"]
        own = review.effort_vs_feedback(sample, rep, window).frames["association"]
        pd.testing.assert_frame_equal(shared, own)
    # the associations: once for the team (all its reps share one focus peer group here), plus once per rep alone
    assert len(computed) == 1 + len(peers)
    keys = {k[0] for k in team.shared}
    assert {"history", "weekly_activities", "weekly_activities_panel", "activity_scores"} <= keys


def test_effort_feedback_of_several_reps_is_each_reps_own(sample, window) -> None:
    start = window.start - pd.Timedelta(days=56)
    cut = sample.between(start, window.end)
    reps = sorted(sample.reps["rep_id"].astype(str))
    every = feedback.effort_feedback_by_rep(cut, reps, start=start, end=window.end)
    assert list(every.columns) == ["rep_id", *feedback.EFFORT_COLUMNS]
    for rep in reps:
        mine = every[every["rep_id"] == rep].drop(columns="rep_id").reset_index(drop=True)
        pd.testing.assert_frame_equal(mine, feedback.effort_feedback(cut, rep, start=start, end=window.end))


def test_a_weekly_trend_from_a_team_panel_is_the_reps_own(sample, window) -> None:
    from coachkit.panel import rep_week_panel
    from coachkit.window import focus_as_of, focus_window

    as_of = focus_as_of(sample.playbook, window.end)
    first, last = focus_window(as_of, 12)
    peers = review.team.peers(sample, "R001")
    panel = rep_week_panel(sample, first, last, ["activities"], reps=peers)
    for rep in peers:
        assert coaching.weekly_trend(sample, rep, as_of, panel=panel) == coaching.weekly_trend(sample, rep, as_of)


def test_the_reps_rows_are_those_of_weekly(sample, window) -> None:
    team = review.team_tables(sample, "R001", window, share=False)
    for rep in team.peers:
        t = team.for_rep(rep)
        for kpi in (*review.REVIEW_KPIS, "not_a_kpi"):
            mine, _ = t.weekly(kpi)
            both = pd.concat([t.rep_rows(kpi, "prior"), t.rep_rows(kpi, "this")])
            pd.testing.assert_frame_equal(both.reset_index(drop=True), mine.reset_index(drop=True))


def _present_count_by_scan(team, kpi, window, playbook, absent, which):
    """present_count as it was written with pandas filters (the reference for its numpy form)."""
    start, end = (window.start, window.end) if which == "this" else (window.prior_start, window.prior_end)
    table = team.this if which == "this" else team.prior
    rows = table[(table["kpi"] == kpi) & (table["rep_id"] == team.rep_id)]
    away = {pd.Timestamp(a) for a in absent}
    weeks = pd.Series(pd.date_range(start, end, freq="7D"))
    weeks = weeks[~weeks.isin(away) & weeks.isin(list(rows["period_start"]))]
    if weeks.empty:
        return 0.0, 0.0
    lo = weeks.clip(lower=start)
    hi = (weeks + pd.Timedelta(days=7)).clip(upper=end + pd.Timedelta(days=1))
    days = float(playbook.working_days_between(lo, hi).sum())
    count = float(rows.loc[rows["period_start"].isin(list(weeks)), "value"].fillna(0).sum())
    return count, days


def test_present_counts_match_a_scan_of_the_rows(sample) -> None:
    from coachkit.review.kpi_rows import present_count

    for as_of in ("", "2026-10-28"):  # a window ending on a Monday, Sunday or mid-week
        w = review.review_window(sample, as_of, 4)
        team = review.team_tables(sample, "R001", w, share=False)
        mondays = list(pd.date_range(w.prior_start, w.end, freq="7D"))
        for rep in team.peers:
            mine = team.for_rep(rep)
            for kpi in ("activities", "calls", "meetings", "deals_created", "emails"):
                for absent in ([], mondays[1:2], mondays[::2], mondays):
                    for which in ("this", "prior"):
                        got = present_count(mine, kpi, w, sample.playbook, absent, which)
                        assert got == _present_count_by_scan(mine, kpi, w, sample.playbook, absent, which)
