"""coachkit.explore_app: the explorer's widgets, driven by setting control values as a click does.

No frontend is needed: ipywidgets run without a kernel (their comms are inert), and every callback runs
synchronously when a value is set.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import coachkit
from coachkit import explore, explore_app
from coachkit.kpis import registry
from coachkit.notebook import SAMPLE_DIR

T = pd.Timestamp


@pytest.fixture(scope="module")
def sample() -> coachkit.SalesData:
    return coachkit.load(SAMPLE_DIR)


@pytest.fixture(scope="module")
def busy() -> coachkit.SalesData:
    """One rep with 250 activities in the week of Mon 5 Jan 2026 and one on the 12th; a peer; a rep who left."""
    n = 250
    times = T("2026-01-05 08:00") + pd.to_timedelta(np.arange(n) * 7, unit="min")
    acts = pd.DataFrame(
        {
            "activity_id": [f"b{i:04d}" for i in range(n)] + ["c1", "d1"],
            "rep_id": ["R1"] * n + ["R1", "R2"],
            "activity_type": ["call"] * n + ["meeting", "call"],
            "occurred_at": [*times, T("2026-01-12 10:00"), T("2026-01-06 09:00")],
            "outcome": ["connected" if i % 10 == 0 else "no_answer" for i in range(n)] + ["held", "connected"],
            "notes": [f"note {i} about <b>price</b>" if i % 50 == 0 else None for i in range(n)] + [None, "price"],
        }
    )
    reps = pd.DataFrame(
        {
            "rep_id": ["R1", "R2", "R3"],
            "name": ["Ann", "Bob", "Cy"],
            "team": ["A", "A", "A"],
            "role": ["SDR", "SDR", "SDR"],
            "left_at": [pd.NaT, pd.NaT, T("2025-06-30")],
        }
    )
    return coachkit.SalesData.from_frames(acts, reps)


def make(data, **sel) -> explore_app.ExplorerApp:
    return explore_app.ExplorerApp(data, explore.Selection.of(**sel))


def test_the_app_starts_on_the_selection_with_names_and_labels(busy):
    app = make(busy, team="A", reps=["R1"], kpi="calls")
    assert app.controls["reps"].options == (("Ann", "R1"), ("Bob", "R2"), ("Cy (left 30 Jun 2025)", "R3"))
    assert ("Calls", "calls") in app.controls["kpi"].options
    assert app.status.value == "<p><b>Ann</b>, from Mon 05 Jan 2026 to Mon 12 Jan 2026</p>"
    assert all(app.charts[k] is not None for k in ("trend", "rep_vs_team", "heatmap", "outcomes"))
    assert app.refreshes == 1
    assert "coachkit explorer: its controls appear when this cell runs in a live kernel" in repr(app.widget)


def test_one_rebuild_per_change_and_only_the_views_that_depend_on_it(busy):
    app = make(busy, team="A", reps=["R1"], kpi="calls")
    steps = [
        ("keyword", "price", ("notes",)),
        ("kpi", "connect_rate", ("trend",)),
        ("types", ("call",), ("heatmap", "outcomes", "notes", "drill")),
        ("freq", "D", ("trend", "drill")),
        ("reps", ("R2",), ("trend", "rep_vs_team", "heatmap", "outcomes", "notes", "drill")),
    ]
    for i, (key, value, updated) in enumerate(steps, start=2):
        app.controls[key].value = value
        assert app.refreshes == i, key  # exactly one rebuild per change
        assert app.last_update == updated, key


def test_a_team_change_rebuilds_once_with_the_team_reps(sample):
    app = make(sample, team="SMB", reps=["R003"], start="2026-09-28", end="2026-11-22", kpi="connect_rate")
    before = app.refreshes
    app.controls["team"].value = "Enterprise"
    assert app.refreshes == before + 1
    assert app.controls["reps"].value == ()
    assert {r for _, r in app.controls["reps"].options} == set(explore.team_reps(sample, "Enterprise"))
    assert app.status.value.startswith("<p><b>Enterprise</b>")


def test_going_back_to_a_selection_is_served_from_the_cache(busy):
    app = make(busy, team="A", reps=["R1"], kpi="calls")
    app.controls["kpi"].value = "connect_rate"
    misses = app.explorer.misses
    app.controls["kpi"].value = "calls"
    app.controls["kpi"].value = "connect_rate"
    assert app.explorer.misses == misses


def test_the_drill_down_pages_through_every_activity_and_exports_them_all(busy):
    app = make(busy, team="A", reps=["R1"], start="2026-01-05", end="2026-01-11")
    assert app.drill_rep.value == "R1" and app.drill_period.value == T("2026-01-05")
    assert "Ann, week of Mon 05 Jan 2026</b>: 250 activities" in app.drill_title.value
    assert app.drill_pager.label.value == "rows 1–100 of 250"
    assert app.drill_table.value.count("<tr>") == 101
    app.drill_pager.next.click()
    app.drill_pager.next.click()
    assert app.drill_pager.label.value == "rows 201–250 of 250" and app.drill_pager.next.disabled
    assert app.drill_table.value.count("<tr>") == 51
    app.drill_pager.prev.click()
    assert app.drill_pager.label.value == "rows 101–200 of 250"
    link = re.search(r'download="([^"]+)" href="data:text/csv;charset=utf-8;base64,([^"]+)"', app.drill_csv.value)
    assert link and link.group(1) == "R1_W_2026-01-05.csv"
    csv = pd.read_csv(io.StringIO(base64.b64decode(link.group(2)).decode("utf-8")))
    assert len(csv) == 250 and csv["activity_id"].iloc[-1] == "b0249"


def test_clicking_a_trend_point_picks_that_rep_period(busy):
    app = make(busy, team="A", reps=["R1"], start="2026-01-05", end="2026-01-12")
    assert app.drill_period.value == T("2026-01-12")  # the latest week with activity
    pick = type("Pick", (), {"value": [{"rep_id": "R1", "period": "2026-01-05"}]})()
    app._on_pick({"new": pick})
    assert app.drill_period.value == T("2026-01-05")
    assert "250 activities" in app.drill_title.value
    app._on_pick({"new": type("Pick", (), {"value": [{"rep_id": None, "period": "2026-01-12"}]})()})  # the median
    assert app.drill_period.value == T("2026-01-05")  # a click on the peers' median changes nothing


def test_the_notes_search_shows_the_total_and_highlights_escaped(busy):
    app = make(busy, team="A", reps=["R1"], keyword="PRICE", start="2026-01-05", end="2026-01-12")
    assert "<b>5</b> of 5 notes contain" in app.notes.value
    assert "&lt;b&gt;<mark" in app.notes.value and "<b>price</b>" not in app.notes.value


def test_a_selection_with_nothing_to_show_says_why_and_recovers(busy):
    app = make(busy, team="A", reps=["R1"], start="2026-01-05", end="2026-01-12")
    app.controls["start"].value = dt.date(2026, 1, 20)
    assert "is after To" in app.status.value and app.last_update == ("status",)
    assert all(app._chart_boxes[k].layout.display == "none" for k in app.VIEWS)
    app.controls["start"].value = dt.date(2026, 1, 5)
    assert app.status.value.startswith("<p><b>Ann</b>")
    assert all(app._chart_boxes[k].layout.display == "" for k in app.VIEWS)
    app.controls["reps"].value = ("R3",)
    assert "Cy left on Mon 30 Jun 2025" in app.status.value


def test_an_unexpected_error_is_one_line_not_a_traceback(busy, monkeypatch):
    app = make(busy, team="A", reps=["R1"])
    monkeypatch.setattr(app.explorer, "trend", lambda sel: 1 / 0)
    app.controls["kpi"].value = "connect_rate"
    assert app.status.value == "<p style='color:#b00020'>Could not update: ZeroDivisionError: division by zero</p>"


# ---- no selection crashes the explorer: random widget states on the sample ---------------------------------

DAYS = st.one_of(st.none(), st.dates(min_value=dt.date(2026, 4, 1), max_value=dt.date(2027, 1, 31)))


@st.composite
def states(draw, data: coachkit.SalesData) -> dict:
    reps = sorted(data.reps["rep_id"])
    teams = [explore.ALL_TEAMS, *sorted(data.reps["team"].dropna().unique())]
    return {
        "team": draw(st.sampled_from(teams)),
        "reps": draw(st.lists(st.sampled_from(reps), max_size=3, unique=True)),
        "start": draw(DAYS),
        "end": draw(DAYS),
        "freq": draw(st.sampled_from(["D", "W", "M"])),
        "kpi": draw(st.sampled_from(sorted(registry))),
        "types": draw(st.lists(st.sampled_from(list(coachkit.schema.ACTIVITY_TYPES)), max_size=2, unique=True)),
        "keyword": draw(st.sampled_from(["", "budget", "<script>", ".*", "  ", "zzzz", "price"])),
    }


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_random_selections_on_the_sample_never_raise(sample, draws):
    state = draws.draw(states(sample))
    v = explore.view(sample, explore.Selection.of(**state))
    if v["problem"] is not None:
        assert "\n" not in v["problem"] and v["problem"].endswith((".", ")"))
        return
    for key in ("trend", "rep_vs_team", "heatmap", "outcomes"):
        part = v[key]
        assert part.ok != bool(part.message), key  # a chart, or one line saying why not
        if part.ok:
            part.chart.to_dict(validate=False)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_random_widget_changes_on_the_sample_never_fail(sample, draws):
    app = make(sample, team="SMB", reps=["R003"], start="2026-09-28", end="2026-11-22")
    for _ in range(4):
        state = draws.draw(states(sample))
        key = draws.draw(st.sampled_from(sorted(state)))
        value = state[key]
        if key == "reps":
            allowed = {r for _, r in app.controls["reps"].options}
            value = tuple(r for r in value if r in allowed)
        elif key == "types":
            value = tuple(value)
        before = app.refreshes
        app.controls[key].value = value
        assert app.refreshes - before <= 1
        assert "Could not update" not in app.status.value, (key, value, app.status.value)
