"""coachkit.pipeline: stage conversion, days by stage, the process funnel and effort vs later pipeline."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import coachkit
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


def test_stage_reach_from_the_deals_table_alone():
    assert pipeline.stage_reach(deals(), PB).tolist() == [0, 0, 1, 3, 5, 5, 0, 0, 0, 0]


def test_without_stage_history_no_conversion_is_claimed():
    c = pipeline.stage_conversion(deals(), PB)
    assert c["stage"].tolist() == ["prospecting", "qualification", "discovery", "proposal", "negotiation", "closed_won"]
    assert c["n"].isna().tolist() == [True] * 5 + [False] and c["n"].iloc[-1] == 2  # only the won are known
    assert c["conversion"].isna().all() and c["lost_here"].isna().all()
    assert c["open_now"].tolist() == [2, 1, 0, 1, 0, 0]  # d9 has no stage: open, but at no stage
    note = pipeline.stage_note(deals(), PB)
    lo, hi = stats.wilson(2, 5)
    assert "no stage history" in note and "where the 3 lost deals were lost is not recorded" in note
    assert f"2 of 5 closed deals were won (40%, 95% interval {float(lo):.0%}–{float(hi):.0%})" in note


STAGES = Playbook.from_text(
    """
[[stages]]
name = "a"
[[stages]]
name = "b"
[[stages]]
name = "c"
[[stages]]
name = "won"
is_closed = true
is_won = true
[[stages]]
name = "lost"
is_closed = true
"""
)


def history_case() -> tuple[pd.DataFrame, pd.DataFrame]:
    """d1 won via A-B-C; d2 lost after B; d3 lost after A; d4 lost after C; d5 open at B; d6 lost without
    history; d7 won without history; d8 lost after skipping B (A then C)."""
    ids = ["d1", "d2", "d3", "d4", "d5", "d6", "d7", "d8"]
    stage = ["won", "lost", "lost", "lost", "b", "lost", "won", "lost"]
    won = [True, False, False, False, None, False, True, False]
    frame = pd.DataFrame(
        {
            "deal_id": ids,
            "rep_id": "R1",
            "created_at": T("2026-01-01"),
            "closed_at": [T("2026-02-01") if w is not None else pd.NaT for w in won],
            "stage": stage,
            "is_won": pd.array(won, dtype="boolean"),
            "is_closed": pd.array([w is not None for w in won], dtype="boolean"),
        }
    )
    path = {"d1": "abc", "d2": "ab", "d3": "a", "d4": "abc", "d5": "ab", "d8": "ac"}
    rows = [(d, st, T("2026-01-01") + pd.Timedelta(days=i)) for d, p in path.items() for i, st in enumerate(p)]
    rows.append(("d1", "won", T("2026-02-01")))
    rows.append(("dX", "b", T("2026-01-05")))  # a deal not in deals: ignored
    rows.append(("d3", "nurture", T("2026-01-06")))  # a stage not in the playbook: ignored
    history = pd.DataFrame(rows, columns=["deal_id", "stage", "entered_at"])
    return frame, history


def test_stage_history_attributes_each_lost_deal_to_its_last_stage():
    d, h = history_case()
    paths = pipeline.stage_paths(d, h, STAGES).set_index("deal_id")
    assert paths["reach"].tolist() == [3, 1, 0, 2, 1, -1, 3, 2]
    assert pd.isna(paths.loc["d6", "stage_reached"]) and not paths.loc["d6", "has_history"]
    c = pipeline.stage_conversion(d, STAGES, h).set_index("stage")
    assert c.index.tolist() == ["a", "b", "c", "won"]
    # closed deals with a known path: d1, d7 (won), d2, d3, d4, d8 (lost); d5 is open, d6 unknown
    # a deal reached every stage up to its furthest: d8 skipped B but reached C, so it passed B
    assert c["n"].tolist() == [6, 5, 4, 2]  # A: all 6; B: d1 d2 d4 d7 d8; C: d1 d4 d7 d8; won: d1 d7
    assert c["lost_here"].tolist() == [1, 1, 2, 0]  # d3 at A; d2 at B; d4 and d8 at C
    assert c["conversion"].tolist()[1:] == pytest.approx([5 / 6, 4 / 5, 2 / 4])
    lo, hi = stats.wilson(2, 4)
    assert c.loc["won", ["ci_low", "ci_high"]].tolist() == pytest.approx([float(lo), float(hi)])
    assert c["open_now"].tolist() == [0, 1, 0, 0]
    note = pipeline.stage_note(d, STAGES, h)
    assert "Stage history covers 6 of 8 deals" in note and "1 lost deals have no history" in note


def test_a_deal_stages_table_loads_from_every_format(tmp_path):
    d, h = history_case()
    acts = pd.DataFrame(
        {"activity_id": ["a1"], "rep_id": ["R1"], "activity_type": ["call"], "occurred_at": [T("2026-01-02")]}
    )
    reps = pd.DataFrame({"rep_id": ["R1"]})
    data = SalesData.from_frames(acts, reps, d, STAGES, deal_stages=h)
    for fmt, target in (("csv", tmp_path / "c"), ("parquet", tmp_path / "p"), ("duckdb", tmp_path / "x.duckdb")):
        back = coachkit.load(data.save(target, fmt))
        pd.testing.assert_frame_equal(back.deal_stages, data.deal_stages, check_dtype=False)
        assert any("not a stage of the playbook" in w.message for w in back.warnings)  # "nurture"
    plain = SalesData.from_frames(acts, reps, d, STAGES).save(tmp_path / "none", "csv")
    assert not (plain / "deal_stages.csv").exists()
    assert coachkit.load(plain).deal_stages.empty and list(coachkit.load(plain).deal_stages.columns) == [
        "deal_id",
        "stage",
        "entered_at",
    ]


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


def test_stage_bars_show_what_is_known():
    bars, title = pipeline.stage_bars(pipeline.stage_conversion(deals(), PB), deals(), PB)
    assert title.startswith("Deals by current stage (no stage history")
    assert bars[["stage", "n"]].values.tolist()[-2:] == [["closed_won", 2], ["lost (stage unknown)", 3]]
    assert bars["conversion"].isna().all()
    d, h = history_case()
    bars, title = pipeline.stage_bars(pipeline.stage_conversion(d, STAGES, h), d, STAGES)
    assert title.startswith("Closed deals reaching each stage")
    assert bars["n"].tolist() == [6, 5, 4, 2]
