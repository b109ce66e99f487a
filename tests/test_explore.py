"""coachkit.explore: the functions behind the explore notebook's widgets, on tiny crafted data."""

from __future__ import annotations

import altair as alt
import pandas as pd
import pytest

from coachkit import SalesData, explore

T = pd.Timestamp


def data() -> SalesData:
    acts = pd.DataFrame(
        {
            "activity_id": ["a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8"],
            "rep_id": ["R1", "R1", "R1", "R1", "R2", "R3", "R1", "R2"],
            "activity_type": ["call", "call", "email", "call", "call", "call", "meeting", "call"],
            # a1: Sunday before the week; a2/a3/a7 inside the week of Mon 2026-01-05; a4 the next Monday
            "occurred_at": [
                T("2026-01-04 23:59:59"),
                T("2026-01-05 00:00:00"),
                T("2026-01-11 23:59:59"),
                T("2026-01-12 00:00:00"),
                T("2026-01-07 10:15"),
                T("2026-01-08 09:00"),
                T("2026-01-06 14:30"),
                T("2026-01-13 11:00"),
            ],
            "outcome": ["connected", "no_answer", "sent", None, "connected", "voicemail", "held", "connected"],
            "notes": [
                "Price is (too) HIGH",
                None,
                "pricing sheet sent",
                "c++ shop; wants a demo",
                "no match here",
                "Budget frozen",
                "  ",
                "PRICE ok",
            ],
            "account_id": ["X"] * 8,
        }
    )
    reps = pd.DataFrame(
        {"rep_id": ["R1", "R2", "R3"], "name": ["Ann", "Bob", "Cy"], "team": ["A", "A", "B"], "role": ["SDR"] * 3}
    )
    return SalesData.from_frames(acts, reps)


def test_search_notes_is_case_insensitive_and_literal():
    a = explore.activities_view(data())
    assert list(explore.search_notes(a, "price")["notes"]) == ["PRICE ok", "Price is (too) HIGH"]
    assert list(explore.search_notes(a, "PRIC")["notes"]) == ["PRICE ok", "pricing sheet sent", "Price is (too) HIGH"]
    assert list(explore.search_notes(a, "(TOO)")["notes"]) == ["Price is (too) HIGH"]
    assert list(explore.search_notes(a, "c++")["notes"]) == ["c++ shop; wants a demo"]
    assert explore.search_notes(a, ".*").empty  # a regex would match everything
    assert explore.search_notes(a, "[").empty  # an invalid regex is just text
    assert explore.search_notes(a, "   ").empty
    assert list(explore.search_notes(a, "price", limit=1)["notes"]) == ["PRICE ok"]


def test_search_notes_columns_show_date_rep_type_outcome():
    out = explore.search_notes(explore.activities_view(data()), "budget")
    assert out.to_dict("records") == [
        {
            "occurred_at": T("2026-01-08 09:00"),
            "rep_id": "R3",
            "name": "Cy",
            "activity_type": "call",
            "outcome": "voicemail",
            "notes": "Budget frozen",
        }
    ]


def test_drill_down_returns_exactly_the_rep_week():
    d = data()
    assert list(explore.drill_down(d, "R1", "2026-01-09")["activity_id"]) == ["a2", "a7", "a3"]
    assert list(explore.drill_down(d, "R1", "2026-01-05", types=["call"])["activity_id"]) == ["a2"]
    assert list(explore.drill_down(d, "R1", "2026-01-04", freq="D")["activity_id"]) == ["a1"]
    assert list(explore.drill_down(d, "R1", "2026-01-31", freq="M")["activity_id"]) == ["a1", "a2", "a7", "a3", "a4"]
    assert explore.drill_down(d, "R2", "2026-01-20").empty


def test_activities_view_filters_team_reps_dates_and_types():
    d = data()
    assert list(explore.activities_view(d, team="B")["activity_id"]) == ["a6"]
    a = explore.activities_view(d, team="A", start="2026-01-05", end="2026-01-11", types=["call"])
    assert list(a["activity_id"]) == ["a2", "a5"]
    assert list(a["name"]) == ["Ann", "Bob"]
    assert list(explore.activities_view(d, reps=["R2"])["activity_id"]) == ["a5", "a8"]
    with pytest.raises(ValueError, match="unknown team 'Z'"):
        explore.activities_view(d, team="Z")
    with pytest.raises(ValueError, match="unknown rep"):
        explore.activities_view(d, reps=["R9"])


def test_heatmap_and_outcome_frames():
    a = explore.activities_view(data(), team="A", start="2026-01-05", end="2026-01-11")
    h = explore.heatmap_frame(a)
    # a2 Mon 0h, a7 Tue 14h, a5 Wed 10h, a3 Sun 23h
    assert h.values.tolist() == [[0, 0, 1], [1, 14, 1], [2, 10, 1], [6, 23, 1]]
    o = explore.outcome_frame(explore.activities_view(data()))
    assert o.values.tolist() == [
        ["call", "connected", 3],
        ["call", "no_answer", 1],
        ["call", "not logged", 1],
        ["call", "voicemail", 1],
        ["meeting", "held", 1],
        ["email", "sent", 1],
    ]


def test_kpi_trend_frame_team_median():
    rows, team = explore.kpi_trend_frame(data(), "calls", team="A", reps=["R1"], start="2026-01-05", end="2026-01-18")
    # R1: week of 5 Jan has a2 (a1 is the day before the window); week of 12 Jan has a4
    assert rows[["rep_id", "value"]].values.tolist() == [["R1", 1.0], ["R1", 1.0]]
    # team A per week: R1 1, R2 1 -> median 1; next week R1 1, R2 1 (a8)
    assert team["value"].tolist() == [1.0, 1.0]
    assert team["team_n"].tolist() == [2, 2]
    rows, _ = explore.kpi_trend_frame(data(), "connect_rate", team="A", start="2026-01-05", end="2026-01-11")
    r = rows.set_index("rep_id")
    assert r.loc["R2", "value"] == 1.0 and r.loc["R2", "n"] == 1.0
    assert r.loc["R1", "value"] == 0.0 and r.loc["R1", "n"] == 1.0  # a2 no_answer (logged)


def test_rep_vs_team_frame_pools_counts():
    f = explore.rep_vs_team_frame(data(), ["R1"], team="A", kpis=["connect_rate"])
    # R1 calls (dials): a1 connected, a2 no_answer, a4 without an outcome -> 1/3; team A adds a5, a8 connected -> 3/5
    assert f[["who", "value", "n"]].values.tolist() == [["Ann", 1 / 3, 3.0], ["team", 0.6, 5.0]]
    assert (f["ci_low"] < f["value"]).all() and (f["ci_high"] > f["value"]).all()


def test_view_builds_every_part_and_show_displays(capsys):
    sel = explore.Selection(team="A", reps=("R1",), kpi="connect_rate", keyword="price")
    v = explore.view(data(), sel)
    for key in ("trend", "rep_vs_team", "heatmap", "outcomes"):
        assert isinstance(v[key], alt.TopLevelMixin)
        v[key].to_dict()  # a valid spec
    assert list(v["notes"]["notes"]) == ["Price is (too) HIGH"]
    assert list(v["drill_down"]["activity_id"]) == ["a4"]  # R1's latest week
    explore.show(data(), team="A", reps=["R2"], kpi="calls", types=["call"], keyword="", freq="D")
    out = capsys.readouterr().out
    assert "a8" in out and "a5" not in out  # the drill-down: R2's latest day only


def test_controls_follow_the_team():
    c = explore.controls(data(), explore.Selection(team="A"))
    assert c["reps"].options == ("R1", "R2")
    c["team"].value = "B"
    assert c["reps"].options == ("R3",)
    assert c["kpi"].value == "activity_score"


def test_app_wires_controls_to_show():
    box = explore.app(data(), explore.Selection(team="A", kpi="calls"))
    out = box.children[-1]
    assert type(out).__name__ == "Output"
    assert len(box.children) == 4
