"""coachkit.pipeline: stage conversion, days by stage, the process funnel and effort vs later pipeline."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from coachkit import Playbook, SalesData, pipeline, stats

T = pd.Timestamp
PB = Playbook.default()  # prospecting, qualification, discovery, proposal, negotiation, closed_won, closed_lost


def deals() -> pd.DataFrame:
    stage = ["prospecting", "prospecting", "qualification", "proposal", "closed_won", "closed_won"]
    stage += ["closed_lost"] * 3 + [None]
    won = [None, None, None, None, True, True, False, False, False, None]
    closed = [None] * 4 + ["2026-02-01", "2026-01-21"] + ["2026-01-11"] * 3 + [None]
    frame = pd.DataFrame(
        {
            "deal_id": [f"d{i}" for i in range(10)],
            "rep_id": ["R1"] * 5 + ["R2"] * 5,
            "created_at": pd.to_datetime(["2026-01-01"] * 10),
            "closed_at": pd.to_datetime(closed),
            "stage": stage,
            "amount": [100.0] * 10,
            "is_won": pd.array(won, dtype="boolean"),
            "is_closed": pd.array([w is not None for w in won], dtype="boolean"),
        }
    )
    return frame


def test_stage_reach_and_conversion_counts():
    d = deals()
    assert pipeline.stage_reach(d, PB).tolist() == [0, 0, 1, 3, 5, 5, 0, 0, 0, 0]
    c = pipeline.stage_conversion(d, PB)
    assert c["stage"].tolist() == ["prospecting", "qualification", "discovery", "proposal", "negotiation", "closed_won"]
    assert c["n"].tolist() == [10, 4, 3, 3, 2, 2]
    assert c["conversion"].tolist()[1:] == pytest.approx([4 / 10, 3 / 4, 1.0, 2 / 3, 1.0])
    assert np.isnan(c["conversion"].iloc[0])
    lo, hi = stats.wilson(4, 10)
    assert c.loc[1, ["ci_low", "ci_high"]].tolist() == pytest.approx([float(lo), float(hi)])
    assert c["lost_here"].tolist() == [3, 0, 0, 0, 0, 0]


def test_days_by_stage_open_age_and_closed_cycle():
    out = pipeline.days_by_stage(deals(), PB, "2026-01-30").set_index("stage")
    # open deals: created 1 Jan, as_of 30 Jan (end of day) -> 30 days; won: 20 days (closed 21 Jan) and 30 days
    # (closed 1 Feb is after as_of, so still counted to as_of); lost: 10 days
    assert out.loc["prospecting", ["deals", "median_days"]].tolist() == [2, 30.0]
    assert out.loc["closed_won", ["deals", "median_days", "p25_days", "p75_days"]].tolist() == [2, 25.0, 22.5, 27.5]
    assert out.loc["closed_lost", "median_days"] == 10.0
    assert out.loc["discovery", "deals"] == 0
    assert out.index.tolist()[-1] == "(unknown)"


def data() -> SalesData:
    acts = pd.DataFrame(
        {
            "activity_id": [f"a{i}" for i in range(9)],
            "rep_id": ["R1"] * 6 + ["R2"] * 3,
            "activity_type": ["call", "call", "call", "meeting", "meeting", "email", "call", "meeting", "call"],
            "outcome": ["connected", "no_answer", None, "held", "no_show", "sent", "connected", "held", "connected"],
            "occurred_at": pd.to_datetime(["2026-01-05 10:00"] * 8 + ["2026-02-02 10:00"]),
        }
    )
    reps = pd.DataFrame({"rep_id": ["R1", "R2"], "team": ["A", "B"]})
    d = pd.DataFrame(
        {
            "deal_id": ["d1", "d2", "d3", "d4"],
            "rep_id": ["R1", "R1", "R2", "R2"],
            "created_at": pd.to_datetime(["2026-01-06", "2026-01-07", "2026-01-08", "2025-12-01"]),
            "is_won": pd.array([True, None, False, True], dtype="boolean"),
        }
    )
    return SalesData.from_frames(acts, reps, d)


def test_process_funnel_counts_per_team_and_rep():
    f = pipeline.process_funnel(data(), "2026-01-01", "2026-01-31")
    a = f[f["group"] == "A"].set_index("step")
    # R1: 6 activities, 2 conversations (call connected + meeting held), 1 meeting held, 2 deals, 1 won
    assert a["n"].tolist() == [6, 2, 1, 2, 1]
    assert a["conversion"].tolist()[1:] == pytest.approx([2 / 6, 1 / 2, 2.0, 1 / 2])
    assert np.isnan(a.loc["deals created", "ci_low"])  # more deals than meetings: no Wilson interval
    assert a.loc["deals won", "of_activities"] == pytest.approx(1 / 6)
    b = f[f["group"] == "B"].set_index("step")
    assert b["n"].tolist() == [2, 2, 1, 1, 0]  # the Feb call and the Dec deal are outside the window
    r = pipeline.process_funnel(data(), "2026-01-01", "2026-01-31", by="rep_id")
    assert sorted(r["group"].unique()) == ["R1", "R2"]
    allg = pipeline.process_funnel(data(), "2026-01-01", "2026-01-31", by="all")
    assert allg["n"].tolist() == [8, 4, 2, 3, 1]
    with pytest.raises(ValueError, match="by must be"):
        pipeline.process_funnel(data(), "2026-01-01", "2026-01-31", by="manager")


def test_effort_vs_pipeline_sums_reps_per_week():
    weeks = pd.date_range("2026-01-05", periods=8, freq="7D")
    rows = []
    for i, w in enumerate(weeks):
        for rep, k in (("R1", 1), ("R2", 2)):
            rows.append((rep, w, "conversations", float(k * (i % 4))))
            rows.append((rep, w, "pipeline_created", float(k * ((i - 1) % 4) * 100)))
    t = pd.DataFrame(rows, columns=["rep_id", "period_start", "kpi", "value"])
    weekly, assoc = pipeline.effort_vs_pipeline(t, lags=(1,))
    assert weekly["conversations"].tolist() == [0, 3, 6, 9, 0, 3, 6, 9]
    assert weekly["pipeline_created"].tolist()[1:] == [0, 300, 600, 900, 0, 300, 600]
    assert assoc.loc[0, "n"] == 7
    assert assoc.loc[0, "rho"] == pytest.approx(1.0)  # pipeline repeats effort one week later
    assert assoc.loc[0, "label"] == "exploratory"
