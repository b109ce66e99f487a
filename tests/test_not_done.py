"""Activities not done (``done`` false: open tasks, Pipedrive "To do") are kept in the dataset and ignored by
every analysis: the same KPIs, explorer views, reviews and helpers as the dataset without them."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import coachkit
from coachkit import SalesData, batch, explore, feedback, notebook, onboarding, pipeline, schema, team
from coachkit.dataset import performed_activities

SAMPLE = notebook.SAMPLE_DIR
T = pd.Timestamp


# ---- the rule, on a crafted frame -------------------------------------------------------------------


def acts(done: list) -> pd.DataFrame:
    n = len(done)
    return pd.DataFrame(
        {
            "activity_id": [f"a{i}" for i in range(n)],
            "rep_id": ["R1"] * n,
            "activity_type": ["call"] * n,
            "occurred_at": pd.date_range("2026-01-05 09:00", periods=n, freq="h"),
            "done": pd.array(done, dtype="boolean"),
        }
    )


def test_performed_keeps_empty_and_true_and_drops_false():
    a = acts([None, True, False, None, False])
    assert list(performed_activities(a).activity_id) == ["a0", "a1", "a3"]
    assert list(performed_activities(a).index) == [0, 1, 2]  # a fresh positional index


def test_performed_is_the_same_object_when_nothing_is_a_to_do():
    a = acts([None, True, None])
    assert performed_activities(a) is a
    assert performed_activities(a.drop(columns="done")) is not None
    no_column = a.drop(columns="done")
    assert performed_activities(no_column) is no_column
    data = SalesData.from_frames(a, pd.DataFrame({"rep_id": ["R1"]}))
    assert data.performed() is data  # normal data: no copy, no cost beyond one pass


def test_performed_dataset_keeps_reps_deals_and_playbook():
    data = SalesData.from_frames(acts([False, None]), pd.DataFrame({"rep_id": ["R1"]}))
    p = data.performed()
    assert list(p.activities.activity_id) == ["a1"] and p.reps is data.reps and p.deals is data.deals
    assert p.playbook is data.playbook and len(data.activities) == 2  # the dataset itself is unchanged


def test_a_hand_built_object_column_counts_only_false_as_not_done():
    a = acts([None] * 3).assign(done=[False, None, True])
    assert list(performed_activities(a).activity_id) == ["a1", "a2"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from([None, True, False]), max_size=40))
def test_performed_rows_are_exactly_those_not_false(done):
    a = acts(done)
    out = performed_activities(a)
    want = [f"a{i}" for i, d in enumerate(done) if d is not False]
    assert list(out.activity_id) == want
    assert (out is a) == (False not in done)
    assert performed_activities(out) is out  # idempotent


# ---- stored and read back ---------------------------------------------------------------------------------


def test_done_is_written_only_when_some_row_has_it(tmp_path):
    reps = pd.DataFrame({"rep_id": ["R1"]})
    plain = SalesData.from_frames(acts([None, None]), reps)
    for fmt in ("csv", "parquet"):
        out = plain.save(tmp_path / f"plain-{fmt}", fmt)
        frame = pd.read_csv(out / "activities.csv") if fmt == "csv" else pd.read_parquet(out / "activities.parquet")
        assert "done" not in frame.columns  # datasets without to-dos stay as they were, byte for byte
        assert coachkit.load(out).activities["done"].isna().all()
    todo = SalesData.from_frames(acts([None, False]), reps)
    out = todo.save(tmp_path / "todo", "csv")
    assert (out / "activities.csv").read_text().splitlines()[0].endswith(",done")
    assert (out / "activities.csv").read_text().splitlines()[2].endswith(",false")
    back = coachkit.load(out)
    pd.testing.assert_frame_equal(back.activities, todo.activities)
    db = todo.save(tmp_path / "todo.duckdb", "duckdb")
    pd.testing.assert_frame_equal(coachkit.load(db).activities, todo.activities)


def test_validate_reads_done_as_a_boolean_and_names_a_bad_value(tmp_path):
    (tmp_path / "reps.csv").write_text("rep_id\nR1\n")
    (tmp_path / "activities.csv").write_text(
        "activity_id,rep_id,activity_type,occurred_at,done\n"
        "a1,R1,call,2026-01-05T09:00:00,\n"
        "a2,R1,task,2026-01-05T10:00:00,FALSE\n"
        "a3,R1,task,2026-01-05T11:00:00,maybe\n"
    )
    problems = coachkit.validate(tmp_path).errors
    assert [(i.row, i.column, i.value) for i in problems] == [(4, "done", "maybe")]
    assert "not a boolean" in problems[0].message


def test_a_to_do_due_in_the_future_is_not_a_future_timestamp_warning(tmp_path):
    (tmp_path / "reps.csv").write_text("rep_id\nR1\n")
    later = (pd.Timestamp.now() + pd.Timedelta(days=30)).strftime("%Y-%m-%dT09:00:00")
    (tmp_path / "activities.csv").write_text(
        "activity_id,rep_id,activity_type,occurred_at,done\n"
        f"a1,R1,task,{later},false\n"  # a to-do due next month: expected
        f"a2,R1,call,{later},\n"  # a call logged next month: suspicious
    )
    future = [i for i in coachkit.validate(tmp_path).warnings if "future" in i.message]
    assert [i.row for i in future] == [3]


# ---- the same analysis with and without to-dos --------------------------------------------------------------

TEAM = "Mid-Market"


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """(folder without to-dos, folder with them): one team of the sample, plus a rep who has only to-dos.

    The to-dos copy real activities (same types, outcomes, notes, durations and scores, so any that leaked
    would change a number), at shifted times, some before the data's first day and after its last.
    """
    base = coachkit.load(SAMPLE)
    reps = base.reps[base.reps["team"] == TEAM]
    only = replace(
        base,
        activities=base.activities[base.activities["rep_id"].isin(reps["rep_id"])].reset_index(drop=True),
        deals=base.deals[base.deals["rep_id"].isin(reps["rep_id"])].reset_index(drop=True),
    )
    todo_rep = reps.iloc[[0]].assign(rep_id="R_TODO", name="Tess To-Do")
    only = replace(only, reps=pd.concat([reps, todo_rep], ignore_index=True))
    rng = np.random.default_rng(7)
    a = only.activities
    picked = a.iloc[np.sort(rng.choice(len(a), size=len(a) // 10, replace=False))]
    shift = pd.to_timedelta(rng.integers(-3, 4, size=len(picked)), unit="D")
    extra = picked.assign(
        activity_id="todo-" + picked["activity_id"].astype(str),
        occurred_at=picked["occurred_at"] + shift,
        done=pd.array([False] * len(picked), dtype="boolean"),
    )
    first, last = a["occurred_at"].min(), a["occurred_at"].max()
    edges = a.iloc[:3].assign(
        activity_id=["todo-early", "todo-late", "todo-rep"],
        occurred_at=[first - pd.Timedelta(days=40), last + pd.Timedelta(days=9), last - pd.Timedelta(days=2)],
        rep_id=[a.iloc[0]["rep_id"], a.iloc[1]["rep_id"], "R_TODO"],
        done=pd.array([False] * 3, dtype="boolean"),
    )
    mixed = pd.concat([a, extra, edges], ignore_index=True).sort_values("occurred_at", kind="stable")
    root = tmp_path_factory.mktemp("todo")
    without = only.save(root / "without", "parquet")
    with_ = replace(only, activities=schema.conform(mixed, "activities")).save(root / "with", "parquet")
    return without, with_


def test_load_keeps_the_to_dos_and_performed_leaves_them_out(pair):
    without, with_ = pair
    w, wo = coachkit.load(with_), coachkit.load(without)
    todo = w.activities["done"].eq(False).fillna(False)
    assert int(todo.sum()) == len(w.activities) - len(wo.activities) > 100
    assert w.activities.loc[todo, "activity_id"].str.startswith("todo-").all()
    assert wo.performed() is wo
    perf = w.performed().activities.sort_values("activity_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(perf, wo.activities.sort_values("activity_id").reset_index(drop=True))


@pytest.mark.parametrize("freq", ["W", "M"])
def test_kpi_table_is_exactly_the_same(pair, freq):
    without, with_ = pair
    got = coachkit.kpi_table(coachkit.load(with_), freq=freq)
    want = coachkit.kpi_table(coachkit.load(without), freq=freq)
    pd.testing.assert_frame_equal(got, want)
    assert "R_TODO" in set(want["rep_id"])  # employed: on the grid, with nothing done
    assert want.loc[(want["rep_id"] == "R_TODO") & (want["kpi"] == "activities"), "value"].eq(0).all()


def test_load_columns_reads_done_too(pair, tmp_path):
    # load(columns=...) for some KPIs still reads done (not asked for): the to-dos are left out all the same
    without, with_ = pair
    simple = ["activities", "calls", "connect_rate", "active_days"]
    columns = coachkit.kpis.kpi_columns(simple)
    csv = coachkit.load(with_).save(tmp_path / "csv", "csv")
    want = coachkit.kpi_table(coachkit.load(without, columns=columns), kpis=simple)
    for folder in (with_, csv):
        part = coachkit.load(folder, columns=columns)
        assert "done" in part.columns_read["activities"]
        pd.testing.assert_frame_equal(coachkit.kpi_table(part, kpis=simple), want)


def _parts(v: dict) -> dict:
    out = {}
    for key, value in v.items():
        if isinstance(value, explore.Part):
            out[key] = (value.message, value.title, value.ok, value.frame.reset_index(drop=True))
        elif isinstance(value, pd.DataFrame):
            out[key] = value.reset_index(drop=True)
        else:
            out[key] = value
    return out


@pytest.mark.parametrize(
    "selection",
    [
        {"team": TEAM, "kpi": "activities", "freq": "W"},
        {"team": TEAM, "kpi": "connect_rate", "freq": "M", "keyword": "price"},
        {"reps": ["R_TODO"], "kpi": "activities"},  # a rep with to-dos only: nothing to show
    ],
)
def test_explorer_views_are_exactly_the_same(pair, selection):
    without, with_ = pair
    got_data, want_data = notebook.open_data(with_), notebook.open_data(without)
    end = notebook.as_of_date(None, want_data.activities)
    assert notebook.as_of_date(None, got_data.activities) == end  # a later to-do does not move "latest"
    sel = explore.Selection.of(start=end - pd.Timedelta(weeks=8), end=end, **selection)
    got, want = _parts(explore.view(got_data, sel)), _parts(explore.view(want_data, sel))
    assert got.keys() == want.keys()
    for key in want:
        if isinstance(want[key], tuple):
            assert got[key][:3] == want[key][:3], key
            pd.testing.assert_frame_equal(got[key][3], want[key][3], obj=key)
        elif isinstance(want[key], pd.DataFrame):
            pd.testing.assert_frame_equal(got[key], want[key], obj=key)
        else:
            assert got[key] == want[key], key


def test_the_served_explorer_reads_performed_activities(pair, monkeypatch):
    from coachkit import app, explore_app

    seen = []
    monkeypatch.setattr(explore_app, "app", lambda data: seen.append(data) or "widget")
    without, with_ = pair
    assert app.explorer_cell(str(with_)) == "widget"
    assert not seen[0].activities["done"].eq(False).any()
    assert len(seen[0].activities) == len(coachkit.load(without).activities)


def test_the_review_reads_performed_activities(pair):
    without, with_ = pair
    rep = coachkit.load(without).reps.iloc[0]["rep_id"]
    got, want = batch.load_for_review(with_, rep), batch.load_for_review(without, rep)
    key = ["activity_id"]
    pd.testing.assert_frame_equal(
        got.activities.sort_values(key).reset_index(drop=True), want.activities.sort_values(key).reset_index(drop=True)
    )


def test_helpers_given_a_raw_dataset_leave_the_to_dos_out(pair):
    without, with_ = pair
    w, wo = coachkit.load(with_), coachkit.load(without)
    end = wo.activities["occurred_at"].max().normalize()
    start = end - pd.Timedelta(weeks=6) + pd.Timedelta(days=1)
    pd.testing.assert_frame_equal(onboarding.time_to_firsts(w, end), onboarding.time_to_firsts(wo, end))
    pd.testing.assert_frame_equal(onboarding.tenure_table(w, end=end), onboarding.tenure_table(wo, end=end))
    for by in ("team", "rep_id"):
        pd.testing.assert_frame_equal(
            pipeline.process_funnel(w, start, end, by=by), pipeline.process_funnel(wo, start, end, by=by)
        )
    for got, want in zip(
        team.activity_spread(w.activities, w.reps, start, end),
        team.activity_spread(wo.activities, wo.reps, start, end),
        strict=True,
    ):
        pd.testing.assert_frame_equal(got, want)
    pd.testing.assert_frame_equal(team.team_panel(w, start, end), team.team_panel(wo, start, end))
    rep = wo.reps.iloc[1]["rep_id"]
    pd.testing.assert_frame_equal(
        feedback.effort_feedback(w, rep, start=start, end=end), feedback.effort_feedback(wo, rep, start=start, end=end)
    )
    pd.testing.assert_frame_equal(
        feedback.feedback_themes(w, start=start, end=end), feedback.feedback_themes(wo, start=start, end=end)
    )


def test_a_rep_with_only_to_dos_is_not_active(pair):
    _, with_ = pair
    w = coachkit.load(with_)
    end = w.performed().activities["occurred_at"].max().normalize()
    panel = team.team_panel(w, end - pd.Timedelta(weeks=4), end)
    assert "R_TODO" not in set(panel["rep_id"])
    per_rep, _ = team.activity_spread(w.activities, w.reps)
    assert per_rep.set_index("rep_id").loc["R_TODO", "activities"] == 0
