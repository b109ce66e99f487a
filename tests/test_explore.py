"""coachkit.explore: the explorer's views, on tiny crafted data with hand-worked values."""

from __future__ import annotations

import io

import altair as alt
import numpy as np
import pandas as pd
import pytest

from coachkit import SalesData, explore

T = pd.Timestamp
HOSTILE = "<script>alert(1)</script>"


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
            "duration_s": [245.0, 12.4, np.nan, 60.0, 3600.0, np.nan, 1800.0, 59.6],
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
            "feedback_score": [4.0, np.nan, np.nan, np.nan, 3.5, np.nan, 5.0, np.nan],
            "account_id": ["X"] * 8,
        }
    )
    reps = pd.DataFrame(
        {
            "rep_id": ["R1", "R2", "R3", "R4"],
            "name": ["Ann", "Bob", "Cy", "Dee"],
            "team": ["A", "A", "B", "A"],
            "role": ["SDR", "SDR", "SDR", "AE"],
            "hired_at": [T("2025-01-01"), T("2025-01-01"), T("2025-06-01"), T("2026-03-01")],
            "left_at": [pd.NaT, pd.NaT, T("2026-01-09"), pd.NaT],
        }
    )
    return SalesData.from_frames(acts, reps)


# ---- notes -----------------------------------------------------------------------------------------


def test_search_notes_is_case_insensitive_literal_and_complete():
    a = explore.activities_view(data())
    assert list(explore.search_notes(a, "price")["notes"]) == ["PRICE ok", "Price is (too) HIGH"]
    assert list(explore.search_notes(a, "PRIC")["notes"]) == ["PRICE ok", "pricing sheet sent", "Price is (too) HIGH"]
    assert list(explore.search_notes(a, "(TOO)")["notes"]) == ["Price is (too) HIGH"]
    assert list(explore.search_notes(a, "c++")["notes"]) == ["c++ shop; wants a demo"]
    assert explore.search_notes(a, ".*").empty  # a regex would match everything
    assert explore.search_notes(a, "[").empty  # an invalid regex is just text
    assert explore.search_notes(a, "   ").empty
    assert list(explore.search_notes(a, "price", limit=1)["notes"]) == ["PRICE ok"]
    many = pd.concat([a] * 40, ignore_index=True)  # 80 matches: no silent cap at 50 any more
    assert len(explore.search_notes(many, "price")) == 80


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


def test_highlight_escapes_then_marks_every_occurrence():
    mark = '<mark style="background:#ffe58a">'
    assert explore.highlight("<b>Price</b> and price", "PRICE") == (
        f"&lt;b&gt;{mark}Price</mark>&lt;/b&gt; and {mark}price</mark>"
    )
    assert explore.highlight("a c++ b", "c++") == f"a {mark}c++</mark> b"
    assert explore.highlight(f"x {HOSTILE} y", "<script>") == f"x {mark}&lt;script&gt;</mark>alert(1)&lt;/script&gt; y"
    assert explore.highlight(None, "x") == "" and explore.highlight(np.nan, "x") == ""
    assert explore.highlight("plain <i>", "") == "plain &lt;i&gt;"


def test_notes_html_says_the_total_and_shows_notes_in_full():
    long_note = "budget " + "word " * 1500 + "END"
    acts = explore.activities_view(data()).assign(notes=lambda f: f["notes"].where(f["activity_id"] != "a1", long_note))
    found = explore.search_notes(acts, "BUDGET")
    text = explore.notes_html(found, "BUDGET", total_notes=7)
    assert "<b>2</b> of 7 notes contain" in text
    assert "END</td>" in text  # the 7,500-character note is there to its last word
    page = explore.notes_html(found, "budget", total_notes=7, start=1, size=1)
    assert "showing 2–2" in page and "Budget frozen" not in page.split("showing")[0]
    assert "No note contains <b>zzz</b> (7 notes searched)" in explore.notes_html(found.iloc[0:0], "zzz", total_notes=7)
    assert "Type a word to search the 7 notes" in explore.notes_html(found, " ", total_notes=7)
    assert HOSTILE not in explore.notes_html(found, HOSTILE, total_notes=7)


def test_table_html_escapes_every_cell_and_scrolls():
    frame = pd.DataFrame({"rep": [HOSTILE], "notes": [f"said {HOSTILE}"], "n": [np.nan]})
    out = explore.table_html(frame, caption=HOSTILE)
    assert "<script>" not in out
    assert out.count("&lt;script&gt;") == 3
    assert "overflow:auto" in out and "<td></td>" in out  # a missing value is an empty cell


# ---- drill-down --------------------------------------------------------------------------------------


def test_drill_down_returns_exactly_the_rep_period():
    d = data()
    assert list(explore.drill_down(d, "R1", "2026-01-09")["activity_id"]) == ["a2", "a7", "a3"]
    assert list(explore.drill_down(d, "R1", "2026-01-05", types=["call"])["activity_id"]) == ["a2"]
    assert list(explore.drill_down(d, "R1", "2026-01-04", freq="D")["activity_id"]) == ["a1"]
    assert list(explore.drill_down(d, "R1", "2026-01-31", freq="M")["activity_id"]) == ["a1", "a2", "a7", "a3", "a4"]
    assert explore.drill_down(d, "R2", "2026-01-20").empty
    assert list(explore.drill_down(d, "R1", "2026-01-09").columns) == explore.DRILL_COLUMNS


def test_drill_down_of_a_busy_week_is_never_cut():
    n = 600
    acts = pd.DataFrame(
        {
            "activity_id": [f"b{i:04d}" for i in range(n)],
            "rep_id": "R1",
            "activity_type": "call",
            "occurred_at": T("2026-01-05 08:00") + pd.to_timedelta(np.arange(n), unit="min"),
        }
    )
    d = SalesData.from_frames(acts, data().reps)
    frame = explore.drill_down(d, "R1", "2026-01-06")
    assert len(frame) == n
    assert explore.table_html(explore.drill_display(frame)).count("<tr>") == n + 1  # header + every row


def test_drill_display_reads_as_a_coach_reads_it():
    frame = explore.drill_down(data(), "R1", "2026-01-05")
    shown = explore.drill_display(frame)
    assert list(shown.columns[:6]) == ["time", "type", "outcome", "duration", "notes", "feedback score"]
    rows = shown.set_index("activity").loc[["a2", "a7", "a3"]]
    assert rows["time"].tolist() == ["Mon 05 Jan 00:00", "Tue 06 Jan 14:30", "Sun 11 Jan 23:59"]
    assert rows["duration"].tolist() == ["0:12", "30:00", ""]  # 12.4 s rounds to 0:12; missing is blank
    assert rows["feedback score"].tolist() == ["", "5", ""]
    dates = frame.assign(occurred_at=frame["occurred_at"].dt.normalize())
    assert explore.drill_display(dates)["time"].tolist() == ["Mon 05 Jan", "Tue 06 Jan", "Sun 11 Jan"]


def test_drill_csv_round_trips_every_row_and_hostile_text():
    frame = explore.drill_down(data(), "R1", "2026-01-05").assign(notes=["a,b", 'say "hi"\nnext', HOSTILE])
    back = pd.read_csv(io.StringIO(explore.drill_csv(frame)))
    assert back["activity_id"].tolist() == ["a2", "a7", "a3"]
    assert back["occurred_at"].tolist() == ["2026-01-05T00:00:00", "2026-01-06T14:30:00", "2026-01-11T23:59:59"]
    assert back["notes"].tolist() == ["a,b", 'say "hi"\nnext', HOSTILE]


def test_window_periods_mark_what_the_range_or_the_data_covers_in_part():
    d = data()  # activities from Sun 4 Jan to Tue 13 Jan 2026
    w = explore.window_periods(d, explore.Selection(start="2026-01-07", end="2026-01-20", freq="W"))
    # the range starts on a Wednesday; the data ends on Tuesday 13th
    assert w[["period_start", "days", "partial"]].values.tolist() == [
        [T("2026-01-12"), 2, True],
        [T("2026-01-05"), 5, True],
    ]
    assert w["label"].tolist() == [
        "week of Mon 12 Jan 2026 (partial: 2 of 7 days)",
        "week of Mon 05 Jan 2026 (partial: 5 of 7 days)",
    ]
    m = explore.window_periods(d, explore.Selection(freq="M"))
    assert m[["period_start", "days", "partial"]].values.tolist() == [[T("2026-01-01"), 10, True]]
    days = explore.window_periods(d, explore.Selection(start="2026-01-12", end="2026-01-13", freq="D"))
    assert days["partial"].tolist() == [False, False]
    assert explore.window_periods(d, explore.Selection(start="2026-02-01", end="2026-01-01")).empty


# ---- selections with nothing to show ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sel", "expected"),
    [
        (dict(start="2026-01-10", end="2026-01-08"), "From (Sat 10 Jan 2026) is after To (Thu 08 Jan 2026)"),
        (dict(start="2026-02-01", end="2026-02-28"), "The data ends on Tue 13 Jan 2026; the range from"),
        (dict(start="2025-12-01", end="2025-12-31"), "The data starts on Sun 04 Jan 2026; the range from"),
        (dict(team="B", reps=("R3",), start="2026-01-12", end="2026-01-13"), "Cy left on Fri 09 Jan 2026: no activity"),
        (dict(team="A", reps=("R4",)), "Dee was hired on Sun 01 Mar 2026: no activity"),
        (dict(team="A", reps=("R2",), start="2026-01-10", end="2026-01-11"), "(no working day in the range)"),
        (dict(team="Z"), "Unknown team 'Z'"),
        (dict(reps=("R9",)), "Unknown rep id(s) ['R9']"),
        (dict(kpi="nope"), "Unknown KPI 'nope'"),
    ],
)
def test_selection_problem_explains_in_one_line(sel, expected):
    problem = explore.selection_problem(data(), explore.Selection.of(**sel))
    assert problem is not None and expected in problem and "\n" not in problem


def test_selection_problem_is_none_for_a_fine_selection():
    assert explore.selection_problem(data(), explore.Selection(team="A", reps=("R1",))) is None
    assert explore.selection_problem(data(), explore.Selection()) is None


def displayed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What ``explore.show`` displays, as text: markdown, HTML, or the chart's title."""
    import IPython.display

    out: list[str] = []

    def grab(*objs, **_):
        for o in objs:
            for method in ("_repr_markdown_", "_repr_html_"):
                if hasattr(o, method):
                    out.append(getattr(o, method)() or "")
                    break
            else:
                out.append(repr(o))

    monkeypatch.setattr(IPython.display, "display", grab)
    return out


def test_view_never_raises_and_show_prints_the_one_line(monkeypatch):
    sel = explore.Selection.of(team="A", reps=["R1"], start="2026-01-10", end="2026-01-08")
    v = explore.view(data(), sel)
    assert v["problem"].startswith("From (Sat 10 Jan 2026) is after To")
    assert not v["trend"].ok and v["drill_down"].empty
    out = displayed(monkeypatch)
    explore.show(data(), team="A", reps=["R1"], start="2026-01-10", end="2026-01-08")
    assert len(out) == 1 and "is after To" in out[0]


# ---- trend, peers, rep vs peers -----------------------------------------------------------------------------


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


def test_peers_are_team_and_role():
    d = data()
    assert explore.peers_of(d, ["R1"]) == ["R1", "R2"]  # Dee (A, AE) and Cy (B, SDR) are not peers
    assert explore.peers_of(d, ["R1", "R4"]) == ["R1", "R2", "R4"]
    assert explore.peer_label(d, ["R1", "R2", "R4"]) == "A SDR, A AE"


def test_kpi_trend_frame_peer_median_names_and_partial_periods():
    rows, med = explore.kpi_trend_frame(data(), "calls", team="A", reps=["R1"], start="2026-01-05", end="2026-01-18")
    # R1: week of 5 Jan has a2 (a1 is the day before the range); week of 12 Jan has a4
    assert rows[["rep_id", "name", "value"]].values.tolist() == [["R1", "Ann", 1.0], ["R1", "Ann", 1.0]]
    # the data ends on Tue 13 Jan: the second week is covered for 2 of its 7 days
    assert rows["days"].tolist() == [7.0, 2.0] and rows["partial"].tolist() == [False, True]
    # peers of R1 (A, SDR): R1 and R2 -> per week 1 and 1 (a5), then 1 and 1 (a8); Dee (AE) is not counted
    assert med["value"].tolist() == [1.0, 1.0] and med["team_n"].tolist() == [2, 2]
    rows, _ = explore.kpi_trend_frame(data(), "connect_rate", team="A", start="2026-01-05", end="2026-01-11")
    r = rows.set_index("rep_id")
    assert r.loc["R2", "value"] == 1.0 and r.loc["R2", "n"] == 1.0
    assert r.loc["R1", "value"] == 0.0 and r.loc["R1", "n"] == 1.0  # a2 no_answer (logged)


def test_rep_vs_team_frame_pools_the_peers():
    f = explore.rep_vs_team_frame(data(), ["R1"], team="A", kpis=["connect_rate"])
    # R1 calls (dials): a1 connected, a2 no_answer, a4 without an outcome -> 1/3; peers R1+R2 add a5, a8
    # connected -> 3/5
    assert f[["who", "value", "n"]].values.tolist() == [["Ann", 1 / 3, 3.0], ["peers (A SDR, 2 reps)", 0.6, 5.0]]
    assert (f["ci_low"] < f["value"]).all() and (f["ci_high"] > f["value"]).all()
    team = explore.rep_vs_team_frame(data(), [], team="A", kpis=["connect_rate"])
    assert team[["who", "value", "n"]].values.tolist() == [["A (3 reps)", 0.6, 5.0]]


def test_trend_part_explains_a_kpi_without_data():
    sel = explore.Selection(team="A", reps=("R2",), kpi="meeting_show_rate", start=T("2026-01-05"), end=T("2026-01-13"))
    part = explore.trend_part(data(), sel)
    assert not part.ok
    assert part.message.startswith("Meeting show rate has no value for Bob from Mon 05 Jan 2026 to Tue 13 Jan 2026")
    ok = explore.trend_part(data(), explore.Selection(team="A", reps=("R1",), kpi="calls"))
    assert ok.ok and ok.title == "Calls per week: Ann"


def test_activity_parts_explain_sparse_data():
    d = data()
    acts = explore.activities_view(d)
    dates_only = acts.assign(occurred_at=acts["occurred_at"].dt.normalize(), outcome=pd.NA)
    parts = explore.activity_parts(dates_only, explore.Selection())
    assert parts["heatmap"].message.startswith("The activities have dates but no times of day")
    assert parts["outcomes"].message.startswith("No outcome is logged")
    none = explore.activity_parts(acts.iloc[0:0], explore.Selection(types=("meeting",)))
    assert none["heatmap"].message == "There are no meeting activities in this selection."


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


def test_view_builds_every_part_with_names_and_show_displays(monkeypatch):
    sel = explore.Selection(team="A", reps=("R1",), kpi="connect_rate", keyword="price")
    v = explore.view(data(), sel)
    assert v["problem"] is None
    for key in ("trend", "rep_vs_team", "heatmap", "outcomes"):
        assert isinstance(v[key].chart, alt.TopLevelMixin)
        v[key].chart.to_dict()  # a valid spec
    assert list(v["notes"]["notes"]) == ["Price is (too) HIGH"] and v["notes_total"] == 3  # a1, a3, a4 (a7 is blank)
    assert list(v["drill_down"]["activity_id"]) == ["a4"]  # R1's latest week
    out = displayed(monkeypatch)
    explore.show(data(), team="A", reps=["R2"], kpi="calls", types=["call"], keyword="", freq="D")
    assert out[0] == "**Bob, from Sun 04 Jan 2026 to Tue 13 Jan 2026**"
    assert len(out) == 7  # title, 4 charts, notes, drill-down
    drill = out[-1]
    assert "Bob, day of Tue 13 Jan 2026: 1 activity (every one" in drill
    assert "a8" in drill and "a5" not in drill  # the drill-down: R2's latest day only
