"""The review batch: rep selection, the window, safe names, files, manifest, index, failure isolation, CLI.

End-to-end tests start real kernels (about 2-3 s each); they use 1-4 reps.
"""

from __future__ import annotations

import hashlib
import html
import importlib
import json
import re
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from click.testing import CliRunner
from fake_review import write_fake_review  # tests/fake_review.py
from hypothesis import given, settings
from hypothesis import strategies as st
from nbformat.v4 import new_code_cell, new_notebook

from coachkit import SalesData, batch, engine, export
from coachkit.batch import (
    UnknownRepError,
    execute_notebook,
    find_rep,
    review_window,
    run_reviews,
    select_reps,
)
from coachkit.naming import safe_name
from coachkit.review_cli import review_command

NOTE_SCRIPT = "<script>alert(1)</script>"
NOTE_IMG = "<img src=x onerror=alert(2)>"
EVIL = "../evil"
EVIL_NAME = '<script>alert("name")</script>'
AS_OF = "2024-06-30"  # a Sunday; with weeks=2 the window is 2024-06-17 .. 2024-06-30


def _activity(i: int, rep: str, kind: str, when: str, outcome: str, notes: str | None = None) -> dict:
    return {
        "activity_id": f"a{i}",
        "rep_id": rep,
        "activity_type": kind,
        "occurred_at": pd.Timestamp(when),
        "outcome": outcome,
        "notes": notes,
        "account_id": f"acc{i}",
    }


def _dataset() -> SalesData:
    reps = pd.DataFrame(
        {
            "rep_id": ["R1", EVIL, "idle", "w1"],
            "name": ["Ann Lee", EVIL_NAME, "Ida", "Wes"],
            "team": ["East", "East", "West", "West"],
            "role": ["SDR", "AE", "SDR", "SDR"],
            "manager": ["Mia", "Mia", "Ned", "Ned"],
        }
    )
    acts = [
        _activity(1, "R1", "call", "2024-06-16 12:00", "connected"),  # the day before the window
        _activity(2, "R1", "call", "2024-06-17 09:00", "connected"),  # first day of the window
        _activity(3, "R1", "call", "2024-06-17 14:00", "no_answer"),
        _activity(4, "R1", "email", "2024-06-24 10:00", "sent", NOTE_SCRIPT),
        _activity(5, "R1", "meeting", "2024-06-30 23:30", "held"),  # last minutes of the window
        _activity(6, "R1", "call", "2024-07-01 08:00", "connected"),  # after as_of
        _activity(7, EVIL, "call", "2024-06-20 11:00", "connected", NOTE_IMG),
        _activity(8, "idle", "call", "2024-05-01 11:00", "connected"),
        _activity(9, "w1", "call", "2024-06-25 11:00", "connected"),
    ]
    return SalesData.from_frames(pd.DataFrame(acts), reps)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("data")
    _dataset().save(folder, "parquet")
    return folder


# ---------------------------------------------------------------- window and selection (no kernel)


def test_review_window_by_hand() -> None:
    acts = _dataset().activities
    assert review_window(acts, AS_OF, 2) == (pd.Timestamp("2024-06-17"), pd.Timestamp("2024-06-30"))
    assert review_window(acts, "2024-06-30T15:00", 1) == (pd.Timestamp("2024-06-24"), pd.Timestamp("2024-06-30"))
    # empty as_of: the date of the latest activity (2024-07-01 08:00)
    # the latest activity is on Monday 2024-07-01: its week plus the 3 weeks before start on Monday 06-10
    assert review_window(acts, "", 4) == (pd.Timestamp("2024-06-10"), pd.Timestamp("2024-07-01"))
    assert review_window(acts, None, 1)[1] == pd.Timestamp("2024-07-01")


def test_review_window_errors() -> None:
    acts = _dataset().activities
    with pytest.raises(ValueError, match="weeks must be at least 1"):
        review_window(acts, AS_OF, 0)
    with pytest.raises(ValueError, match="as_of must be a date"):
        review_window(acts, "last friday", 2)
    with pytest.raises(ValueError, match="no activities"):
        review_window(acts.iloc[:0], "", 2)


def test_select_reps() -> None:
    data = _dataset()
    window = review_window(data.activities, AS_OF, 2)
    # default: reps with >= 1 activity in the window; idle's only activity is in May
    assert select_reps(data, window) == sorted([EVIL, "R1", "w1"])
    assert select_reps(data, review_window(data.activities, "2024-06-18", 1)) == ["R1"]
    # named reps in the given order, even inactive or unknown; then the active reps of named teams
    assert select_reps(data, window, ["idle", "nope", "idle"]) == ["idle", "nope"]
    assert select_reps(data, window, teams=["West"]) == ["w1"]
    assert select_reps(data, window, ["w1"], ["East", "West"]) == ["w1", EVIL, "R1"]
    with pytest.raises(ValueError, match=r"unknown team\(s\) \['North'\]; the dataset's teams are \['East', 'West'\]"):
        select_reps(data, window, teams=["North"])


def test_skip_reasons_by_hand() -> None:
    reps = pd.DataFrame(
        {
            "rep_id": ["on", "left_before", "left_in", "hire", "hire_in", "away", "no_dates"],
            "hired_at": pd.to_datetime(["2020-01-01", None, None, "2024-07-01", "2024-06-25", "2020-01-01", None]),
            "left_at": pd.to_datetime([None, "2024-06-16", "2024-06-20", None, None, None, None]),
        }
    )
    acts = pd.DataFrame([_activity(1, "on", "call", "2024-06-17 09:00", "connected")])
    data = SalesData.from_frames(acts, reps)
    window = (pd.Timestamp("2024-06-17"), pd.Timestamp("2024-06-30"))
    span = "no activity in the window 2024-06-17 to 2024-06-30"
    assert batch.skip_reasons(data, window, [*reps["rep_id"], "unknown"]) == {
        # 'on' is active; an unknown id is not skipped (it fails, as before)
        "left_before": {"kind": "left", "message": f"left on 2024-06-16; {span}"},  # the day before the window
        "left_in": {"kind": "left", "message": f"left on 2024-06-20; {span}"},
        "hire": {"kind": "not yet hired", "message": "starts on 2024-07-01, after the window 2024-06-17 to 2024-06-30"},
        "hire_in": {"kind": "no activity", "message": span},  # hired in the window, no activity yet
        "away": {"kind": "no activity", "message": span},
        "no_dates": {"kind": "no activity", "message": span},
    }


def test_the_summary_names_failed_and_at_most_ten_skipped_reps() -> None:
    reps = {f"s{i:02d}": {"status": "skipped", "reason": {"kind": "left", "message": f"left {i}"}} for i in range(12)}
    reps["ok"] = {"status": "ok"}
    reps["bad"] = {"status": "failed", "error": {"type": "DataChangedError", "kind": "data changed", "message": "x"}}
    data = {"changed": True, "changes": ["reps.parquet modified"]}
    text = batch.BatchResult(Path("/o"), {"reps": reps, "data": data}, Path("/o/2024-W26")).summary()
    assert text.splitlines() == [
        "1 review(s) written to /o/2024-W26, 1 failed, 12 skipped.",
        "  FAILED 'bad': DataChangedError: x",
        *[f"  skipped 's{i:02d}': left {i}" for i in range(10)],
        "  ... and 2 more skipped (see the manifest or the week's index)",
        "The dataset changed during the run (reps.parquet modified): the reviews written used the data as it was "
        "at the start; run again for the others.",
    ]
    del reps["bad"]  # a change after the last review: no review failed for it
    text = batch.BatchResult(Path("/o"), {"reps": reps, "data": data}, Path("/o/2024-W26")).summary()
    assert text.splitlines()[-1] == (
        "The dataset changed during the run (reps.parquet modified): after the last review; "
        "every review used the data as it was at the start."
    )
    failed = {"status": "failed", "error": {"type": "ValueError", "kind": "cell error", "message": "boom\nline 2"}}
    text = batch.BatchResult(Path("/o"), {"reps": {"bad": failed}}, Path("/o/W")).summary()
    assert text.splitlines() == ["0 review(s) written to /o/W, 1 failed.", "  FAILED 'bad': ValueError: boom"]


def test_find_rep() -> None:
    data = _dataset()
    assert find_rep(data, EVIL)["name"] == EVIL_NAME
    with pytest.raises(UnknownRepError, match=r"rep 'nope' is not in the dataset's reps table \(4 reps: '\.\./evil'"):
        find_rep(data, "nope")


def test_load_for_review_reads_only_the_reps_team(data_dir: Path) -> None:
    # R1 is East SDR alone (EVIL is East AE; idle and w1 are West SDRs)
    east_sdr = batch.load_for_review(data_dir, "R1")
    assert east_sdr.reps["rep_id"].tolist() == ["R1"]
    assert east_sdr.activities["activity_id"].tolist() == ["a1", "a2", "a3", "a4", "a5", "a6"]
    west = batch.load_for_review(data_dir, "w1")
    assert west.reps["rep_id"].tolist() == ["idle", "w1"]
    assert sorted(west.activities["activity_id"]) == ["a8", "a9"]
    # the rows equal the full load's rows of those reps
    full = batch.load_dataset(data_dir)
    expected = full.activities[full.activities["rep_id"].isin(["idle", "w1"])].reset_index(drop=True)
    pd.testing.assert_frame_equal(west.activities, expected)
    with pytest.raises(UnknownRepError, match=r"rep 'nope' is not in the dataset's reps table \(4 reps: "):
        batch.load_for_review(data_dir, "nope")


def test_load_for_review_reuses_the_last_team_until_a_file_changes(tmp_path: Path, monkeypatch) -> None:
    loader = importlib.import_module("coachkit.load")  # the module (coachkit.load is the function)
    folder = tmp_path / "data"
    _dataset().save(folder, "parquet")
    reads: list[object] = []
    real = loader.load
    monkeypatch.setattr(loader, "load", lambda *a, **k: reads.append(k.get("reps")) or real(*a, **k))
    batch._LAST_READ.clear()
    first = batch.load_for_review(folder, "w1")
    first.activities.loc[0, "notes"] = "changed in place"  # a review that edits its data...
    first.activities["score"] = 0  # a new column, in place
    second = batch.load_for_review(folder, "idle")  # ...same team: not read again, and not changed
    assert reads == [["idle", "w1"]]
    assert "score" not in second.activities.columns
    pd.testing.assert_frame_equal(second.activities, real(folder, reps=["idle", "w1"]).activities)
    batch.load_for_review(folder, "R1")  # another team: read
    batch.load_for_review(folder, "w1")
    assert reads == [["idle", "w1"], ["R1"], ["idle", "w1"]]
    batch.load_for_review(folder, "w1")
    assert len(reads) == 3
    data = _dataset()
    data.activities.loc[data.activities["activity_id"] == "a9", "outcome"] = "no_answer"
    data.save(folder, "parquet")  # the file changed: read again, with the new value
    changed = batch.load_for_review(folder, "w1")
    assert len(reads) == 4
    assert changed.activities.set_index("activity_id").loc["a9", "outcome"] == "no_answer"


# ---------------------------------------------------------------- safe names (no kernel)


def _h(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()[:10]


@pytest.mark.parametrize(
    ("rep_id", "stem"),
    [
        ("R1", "R1"),
        ("REP_007-B", "REP_007-B"),
        ("12345", "12345"),
        ("r1", f"r1-{_h('r1')}"),  # lowercase letters: hashed, so that R1 and r1 differ on any disk
        (EVIL, f"evil-{_h(EVIL)}"),
        ("a/b", f"a-b-{_h('a/b')}"),
        (" spaced ", f"spaced-{_h(' spaced ')}"),
        ("ünï", f"uni-{_h('ünï')}"),
        (".hidden", f"hidden-{_h('.hidden')}"),
        ("<script>", f"script-{_h('<script>')}"),
        ("Ann", f"ann-{_h('Ann')}"),  # case: Ann, ann, ANN must not share a file on macOS/Windows
        ("ann", f"ann-{_h('ann')}"),
        ("ANN", "ANN"),
        ("index", f"index-{_h('index')}"),  # would overwrite the team index
        ("CON", f"con-{_h('CON')}"),
        ("INDEX", f"index-{_h('INDEX')}"),
        ("nul", f"nul-{_h('nul')}"),
        ("X-0123456789", f"x-0123456789-{_h('X-0123456789')}"),  # looks hashed: hashed
        ("X-ABCDEF0123", f"x-abcdef0123-{_h('X-ABCDEF0123')}"),
        ("", f"rep-{_h('')}"),
        ("..", f"rep-{_h('..')}"),
        ("日本", f"rep-{_h('日本')}"),
        ("a" * 80, f"{'a' * 40}-{_h('a' * 80)}"),
    ],
)
def test_safe_name(rep_id: str, stem: str) -> None:
    assert safe_name(rep_id) == stem


SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


@settings(max_examples=50, deadline=None)
@given(st.lists(st.text(max_size=12) | st.text("Aa1-_", max_size=4), min_size=1, max_size=8, unique=True))
def test_safe_names_are_safe_stable_and_unique(ids: list[str]) -> None:
    stems = [safe_name(i) for i in ids]
    assert all(SAFE.match(s) for s in stems)
    assert all(s.lower() not in {"index", "manifest", "con", "nul"} for s in stems)
    assert len({s.lower() for s in stems}) == len(ids)  # unique even on case-insensitive disks
    assert stems == [safe_name(i) for i in ids]


# ---------------------------------------------------------------- the real review notebook, end to end
# Only what the batch guarantees whatever the review's content: files, manifest, parameters,
# a summary for the index, self-contained and escaped HTML with charts.


@pytest.fixture(scope="module")
def review_run(data_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("reviews")
    return run_reviews(data_dir, out, teams=["East"], as_of=AS_OF, weeks=2, workers=2, quiet=True)


@pytest.mark.slow
def test_files_and_manifest(review_run, data_dir: Path) -> None:
    out = review_run.folder
    evil = safe_name(EVIL)
    assert review_run.exit_code == 0, review_run.summary()
    # the window ends on Sunday 2024-06-30: ISO week 2024-W26; OUT holds the weeks, their list and the lock
    assert out == review_run.out / "2024-W26"
    assert sorted(p.name for p in review_run.out.iterdir()) == [".coachkit-lock", "2024-W26", "index.html"]
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["index.html", "definitions.html", "manifest.json", "R1.ipynb", "R1.html", f"{evil}.ipynb", f"{evil}.html"]
    )
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest == review_run.manifest
    assert list(manifest["reps"]) == [EVIL, "R1"]  # team East, active in the window, sorted
    params = manifest["parameters"]
    assert params["window"] == {"start": "2024-06-17", "end": "2024-06-30"}
    assert (params["as_of"], params["weeks"], params["teams"], params["isolation"]) == (AS_OF, 2, ["East"], "warm")
    assert params["source"] == str(data_dir.resolve())
    assert {"python", "coachkit", "pandas", "altair", "papermill"} <= set(manifest["versions"])
    r1 = manifest["reps"]["R1"]
    assert r1["status"] == "ok" and r1["error"] is None and r1["seconds"] > 0
    assert r1["files"] == {"ipynb": "R1.ipynb", "html": "R1.html"}
    assert manifest["reps"][EVIL]["files"] == {"ipynb": f"{evil}.ipynb", "html": f"{evil}.html"}
    assert manifest["counts"] == {"ok": 2, "failed": 0, "skipped": 0}
    assert manifest["week"] == "2024-W26" and manifest["previous_week"] is None and r1["previous"] is None
    # the data snapshot: the dataset's files (SalesData.save writes the playbook too), as they were
    fingerprint = manifest["data"]["fingerprint"]
    assert sorted(Path(f).name for f in fingerprint) == [
        "activities.parquet",
        "deals.parquet",
        "playbook.toml",
        "reps.parquet",
    ]
    assert manifest["data"]["changed"] is False and manifest["data"]["changes"] == []


@pytest.mark.slow
def test_review_summary_reaches_the_index(review_run) -> None:
    reps = review_run.manifest["reps"]
    r1 = reps["R1"]["summary"]
    assert (r1["rep_id"], r1["name"], r1["team"], r1["role"]) == ("R1", "Ann Lee", "East", "SDR")
    assert r1["window"] == {"start": "2024-06-17", "end": "2024-06-30"}
    assert r1["headline"] and all({"key", "label", "value"} <= set(h) for h in r1["headline"])
    page = (review_run.folder / "index.html").read_text()
    for item in r1["headline"][:3]:  # the first three scorecard KPIs are the index's key numbers
        assert f"{html.escape(item['label'])} <b>" in page
    assert '<a href="R1.html">Ann Lee</a>' in page and f'<a href="{safe_name(EVIL)}.html">' in page
    assert "&lt;script&gt;alert(&quot;name&quot;)&lt;/script&gt;" in page and "<script" not in page
    assert "2 reviewed." in page and '<a href="definitions.html">Definitions</a>' in page
    assert export.external_references(page) == [] and export.external_urls(page) == []


@pytest.mark.slow
def test_executed_notebook_records_parameters(review_run, data_dir: Path) -> None:
    nb = nbformat.read(review_run.folder / "R1.ipynb", as_version=4)
    params = nb.metadata["papermill"]["parameters"]
    assert params["rep_id"] == "R1" and params["as_of"] == AS_OF and params["weeks"] == 2
    assert params["data"] == str(data_dir.resolve()) and params["previous"] == ""
    assert any("injected-parameters" in c.metadata.get("tags", []) for c in nb.cells)


@pytest.mark.slow
def test_review_html_is_self_contained_and_escaped(review_run) -> None:
    for name in ("R1.html", f"{safe_name(EVIL)}.html"):
        page = (review_run.folder / name).read_text()
        body = page.split("<body", 1)[1]
        assert export.external_references(page) == [] and export.external_urls(page) == []
        assert "<script" not in page  # no script at all: charts are inline SVG
        # every svg is a chart (vl-convert's, class "marks") or a scorecard sparkline (drawn by coachkit)
        assert body.count('class="marks"') >= 1
        assert body.count("<svg") == body.count('class="marks"') + body.count('class="ck-spark"')
        assert "<img" not in body and "jp-InputArea" not in body  # no hostile tag, no code
    evil = (review_run.folder / f"{safe_name(EVIL)}.html").read_text()
    assert '&lt;script&gt;alert("name")&lt;/script&gt;' in evil  # the rep's name, as text


@pytest.mark.slow
def test_unknown_rep_in_the_notebook_is_a_clear_error(data_dir: Path, tmp_path: Path) -> None:
    from papermill.exceptions import PapermillExecutionError

    from coachkit.batch import DEFAULT_NOTEBOOK

    with pytest.raises(PapermillExecutionError) as info:
        execute_notebook(DEFAULT_NOTEBOOK, tmp_path / "x.ipynb", {"rep_id": "nope", "data": str(data_dir)}, timeout=120)
    assert info.value.ename == "UnknownRepError"
    assert "rep 'nope' is not in the dataset's reps table" in info.value.evalue


# ---------------------------------------------------------------- a probe notebook: values by hand
# A small notebook of our own on the batch's helpers, so that values can be worked out by hand.

PROBE_CELLS = [
    'rep_id: str = ""  # the rep\ndata: str = ""  # dataset\nas_of: str = ""  # last day\nweeks: int = 4  # weeks\n'
    'playbook: str = ""  # playbook\nprevious: str = ""  # previous review',
    "import altair as alt\nfrom IPython.display import display\nfrom coachkit import batch, export\n"
    'alt.renderers.enable("svg")\n'
    "dataset = batch.load_dataset(data, playbook or None)\n"
    "rep = batch.find_rep(dataset, rep_id)\n"
    "start, end = batch.review_window(dataset.activities, as_of, weeks)\n"
    "acts = dataset.for_rep(rep_id).between(start, end).activities",
    'export.heading(rep["name"], f"Window: {start:%Y-%m-%d} to {end:%Y-%m-%d}, {len(acts)} activities")',
    'weekly = acts.assign(week=acts["occurred_at"].dt.to_period("W-SUN").dt.start_time.dt.strftime("%Y-%m-%d"))\n'
    'weekly = weekly.groupby(["week", "activity_type"]).size().rename("n").reset_index()\n'
    'alt.Chart(weekly).mark_bar().encode(x="week:O", y="n:Q", color="activity_type:N")',
    'export.table(acts.loc[acts["notes"].notna(), ["activity_type", "notes"]])',
    'export.publish_summary({"rep_id": rep_id, "name": rep["name"], "team": rep["team"], "role": rep["role"],\n'
    ' "headline": [{"key": "activities", "label": "Activities", "value": len(acts), "format": "int"},\n'
    '  {"key": "active_days", "label": "Active days", "value": acts["occurred_at"].dt.normalize().nunique()}]})',
]


@pytest.fixture(scope="module")
def probe_run(data_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("probe")
    nb = new_notebook(cells=[new_code_cell(src) for src in PROBE_CELLS])
    nb.cells[0].metadata["tags"] = ["parameters"]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, folder / "probe.ipynb")
    return run_reviews(
        data_dir,
        folder / "out",
        reps=["R1", EVIL],
        as_of=AS_OF,
        weeks=2,
        workers=2,
        quiet=True,
        notebook=folder / "probe.ipynb",
    )


@pytest.mark.slow
def test_summary_values_by_hand(probe_run) -> None:
    reps = probe_run.manifest["reps"]
    assert probe_run.exit_code == 0, probe_run.summary()
    # R1 in 2024-06-17..30: activities a2, a3, a4, a5 on 3 distinct days (06-17, 06-24, 06-30);
    # a1 (06-16) and a6 (07-01) are outside
    assert {h["key"]: h["value"] for h in reps["R1"]["summary"]["headline"]} == {"activities": 4, "active_days": 3}
    assert {h["key"]: h["value"] for h in reps[EVIL]["summary"]["headline"]} == {"activities": 1, "active_days": 1}
    page = (probe_run.folder / "index.html").read_text()
    assert '<span class="kpi">Activities <b>4</b></span><span class="kpi">Active days <b>3.0</b></span>' in page


@pytest.mark.slow
def test_probe_html_escapes_notes_and_inlines_the_chart(probe_run) -> None:
    page = (probe_run.folder / "R1.html").read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script" not in page
    assert "<p>Window: 2024-06-17 to 2024-06-30, 4 activities</p>" in page
    # weekly bars: week of 06-17: call; week of 06-24 (06-30 is its Sunday): email, meeting
    assert page.count('aria-roledescription="bar"') == 3
    evil = (probe_run.folder / f"{safe_name(EVIL)}.html").read_text()
    assert "&lt;img src=x onerror=alert(2)&gt;" in evil and "<img" not in evil.split("<body", 1)[1]
    assert export.external_references(evil) == [] and export.external_urls(evil) == []


# ---------------------------------------------------------------- warm kernels: order does not matter


def _outputs(nb) -> list:
    """Every code cell's source, execution count and outputs: what the review shows.

    vl-convert numbers SVG gradients per process (``gradient_0`` in a new kernel, ``gradient_1``
    for the next chart with a legend gradient): they are renumbered in order of appearance.
    """

    def canonical(text: str) -> str:
        names = list(dict.fromkeys(re.findall(r"gradient_[0-9]+", text)))
        return re.sub(r"gradient_[0-9]+", lambda m: f"gradient#{names.index(m.group(0))}", text)

    return [
        (c.source, c.get("execution_count"), canonical(json.dumps(c.get("outputs"), sort_keys=True)))
        for c in nb.cells
        if c.cell_type == "code"
    ]


def _page(nb) -> str:
    return re.sub(r"cell-id=[0-9a-zA-Z_-]+", "cell-id=?", export.export_html(nb))


@pytest.mark.slow
def test_warm_review_does_not_depend_on_the_reps_before_it(data_dir: Path, tmp_path: Path) -> None:
    def review(rep: str, isolation: str = "warm"):
        params = {"rep_id": rep, "data": str(data_dir), "as_of": AS_OF, "weeks": 2}
        path = tmp_path / f"{safe_name(rep)}-{isolation}.ipynb"
        return execute_notebook(batch.DEFAULT_NOTEBOOK, path, params, timeout=300, isolation=isolation)

    engine.shutdown_kernels()
    try:
        a_first, b_after_a = review("R1"), review(EVIL)  # one kernel: R1 then EVIL
        engine.shutdown_kernels()
        b_first, a_after_b = review(EVIL), review("R1")  # a new kernel: EVIL then R1
    finally:
        engine.shutdown_kernels()
    assert _outputs(a_first) == _outputs(a_after_b)
    assert _outputs(b_first) == _outputs(b_after_a)
    assert _outputs(a_first) != _outputs(b_first)  # the two reviews differ, so the comparison means something
    # the renumbering above is needed ...
    assert any("gradient_1" in json.dumps(c.get("outputs")) for c in b_after_a.cells if c.cell_type == "code")
    # ... and the pages managers get are the same but for the cell ids (papermill gives its
    # injected-parameters cell a new random id in every run)
    assert _page(a_first) == _page(a_after_b)
    assert _page(b_first) == _page(b_after_a)
    fresh = review("R1", "fresh")  # a warm review is the fresh kernel's review
    assert _outputs(fresh) == _outputs(a_after_b)
    assert _page(fresh) == _page(a_after_b)


# ---------------------------------------------------------------- failure isolation (a notebook of our own)


def _failing_notebook(path: Path) -> Path:
    return write_fake_review(
        path,
        "import os, time\n"
        'if rep_id == "crash":\n    os._exit(1)\n'
        'if rep_id == "slow":\n    time.sleep(120)\n'
        'if rep_id == "boom":\n    raise ValueError("boom <b>bad</b>")\n'
        'print("previous:", previous)',
    )


@pytest.fixture(scope="module")
def failing_nb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _failing_notebook(tmp_path_factory.mktemp("nb") / "failing.ipynb")


GOOD = "a/b ünï"


@pytest.mark.slow
def test_failure_isolation(tmp_path: Path, failing_nb: Path) -> None:
    reps = pd.DataFrame({"rep_id": [GOOD, "boom", "slow", "crash"], "team": ["T"] * 4})
    acts = pd.DataFrame(
        [_activity(i, r, "call", "2024-06-20 10:00", "connected") for i, r in enumerate(reps["rep_id"])]
    )
    data = tmp_path / "data"
    SalesData.from_frames(acts, reps).save(data, "parquet")
    result = run_reviews(
        data,
        tmp_path / "out",
        reps=[GOOD, "boom", "slow", "crash", "nope"],
        workers=2,
        timeout=10,
        quiet=True,
        notebook=failing_nb,
    )
    out = result.folder
    assert result.ok == [GOOD] and result.exit_code == 1
    failed = result.failed
    assert set(failed) == {"boom", "slow", "crash", "nope"}
    assert (failed["boom"]["type"], failed["boom"]["kind"]) == ("ValueError", "cell error")
    assert failed["boom"]["message"] == "boom <b>bad</b> (cell 2)"  # cell 2: after the injected parameters
    assert (failed["slow"]["type"], failed["slow"]["kind"]) == ("CellTimeoutError", "timeout")
    assert "after 10 seconds" in failed["slow"]["message"]
    assert (failed["crash"]["type"], failed["crash"]["kind"]) == ("DeadKernelError", "dead kernel")
    assert (failed["nope"]["type"], failed["nope"]["kind"]) == ("UnknownRepError", "unknown rep")

    good = safe_name(GOOD)
    reps_out = result.manifest["reps"]
    assert reps_out[GOOD]["files"] == {"ipynb": f"{good}.ipynb", "html": f"{good}.html"}
    assert reps_out[GOOD]["summary"]["headline"] == [{"key": "len", "label": "Length", "value": len(GOOD)}]
    # failed notebooks are kept (no HTML), and say they failed: a dead kernel's notebook looks complete
    for rep in ("boom", "slow", "crash"):
        assert reps_out[rep]["files"] == {"ipynb": f"{safe_name(rep)}.ipynb"}
        kept = nbformat.read(out / f"{safe_name(rep)}.ipynb", as_version=4)
        assert kept.metadata["coachkit"]["status"] == "failed"
        assert kept.metadata["coachkit"]["error"]["type"] == failed[rep]["type"]
    assert reps_out["nope"]["files"] == {}
    boom_nb = nbformat.read(out / f"{safe_name('boom')}.ipynb", as_version=4)
    assert any(o.get("ename") == "ValueError" for c in boom_nb.cells for o in c.get("outputs", []))
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["index.html", "definitions.html", "manifest.json", f"{good}.ipynb", f"{good}.html"]
        + [f"{safe_name(r)}.ipynb" for r in ("boom", "slow", "crash")]
    )

    index = (out / "index.html").read_text()
    assert '1 reviewed · <span class="failed">4 failed (listed below)</span>.' in index
    assert "<td>boom</td><td><b>ValueError</b><pre>boom &lt;b&gt;bad&lt;/b&gt; (cell 2)</pre>" in index
    for rep in ("slow", "crash", "nope"):
        assert f"<td>{rep}</td>" in index
    text = result.summary()
    assert text.startswith(f"1 review(s) written to {out}, 4 failed.")
    for rep in ("boom", "slow", "crash", "nope"):
        assert f"FAILED {rep!r}" in text


def _printed_previous(folder: Path, rep: str) -> str:
    """What the failing notebook printed for its ``previous`` parameter."""
    nb = nbformat.read(folder / f"{safe_name(rep)}.ipynb", as_version=4)
    return nb.cells[2].outputs[0]["text"].strip()


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.slow
def test_history_weeks_and_the_previous_review(tmp_path: Path, data_dir: Path, failing_nb: Path) -> None:
    out = tmp_path / "out"

    def run(as_of: str, reps: list[str]):
        return run_reviews(data_dir, out, reps=reps, as_of=as_of, weeks=2, workers=1, quiet=True, notebook=failing_nb)

    w26 = run(AS_OF, ["R1"])  # window 06-17 .. 06-30: ISO week 26
    assert w26.folder == out / "2024-W26" and w26.ok == ["R1"]
    assert _printed_previous(w26.folder, "R1") == "previous:"  # no earlier week
    (w26.folder / "my-notes.txt").write_text("mine")
    (out / "team-notes.txt").write_text("ours")
    before = _files(w26.folder)

    w27 = run("2024-07-07", ["R1"])  # the next week (R1's a4 on 06-24 and a6 on 07-01 are in its window)
    assert w27.folder == out / "2024-W27"
    assert _printed_previous(w27.folder, "R1") == f"previous: {out.resolve() / '2024-W26' / 'R1.ipynb'}"
    assert w27.manifest["previous_week"] == "2024-W26"
    assert w27.manifest["reps"]["R1"]["previous"] == "2024-W26/R1.ipynb"
    assert _files(w26.folder) == before  # last week's files are never written to

    again = run("2024-07-07", ["R1"])  # a rerun of the week compares with the week before, never with itself
    assert _printed_previous(again.folder, "R1") == f"previous: {out.resolve() / '2024-W26' / 'R1.ipynb'}"
    assert again.manifest["run"]["tag"] != w27.manifest["run"]["tag"]
    assert json.loads((out / "2024-W27" / "manifest.json").read_text())["run"] == again.manifest["run"]

    redo = run(AS_OF, [EVIL])  # a rerun of week 26 with another rep: the week holds exactly the new run ...
    assert sorted(p.name for p in redo.folder.iterdir()) == sorted(
        [
            "index.html",
            "definitions.html",
            "manifest.json",
            "my-notes.txt",
            f"{safe_name(EVIL)}.ipynb",
            f"{safe_name(EVIL)}.html",
        ]
    )
    assert (redo.folder / "my-notes.txt").read_text() == "mine"  # ... and the files you put there
    assert _printed_previous(redo.folder, EVIL) == "previous:"
    assert sorted(p.name for p in out.iterdir()) == [
        ".coachkit-lock",
        "2024-W26",
        "2024-W27",
        "index.html",
        "team-notes.txt",
    ]
    top = (out / "index.html").read_text()
    assert '<p>Latest: <a href="2024-W27/index.html">2024-W27</a>, Mon 24 Jun 2024 – Sun 07 Jul 2024.</p>' in top
    assert top.index('href="2024-W27/index.html">2024-W27</a></td>') < top.index('href="2024-W26/index.html">2024-W26')
    assert '<a href="../index.html">All review weeks</a>' in (redo.folder / "index.html").read_text()


def test_a_flat_run_of_an_earlier_coachkit_moves_into_its_week_and_nothing_outside_is_touched(
    data_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    outside = tmp_path / "outside.html"
    for f in (out / "old.ipynb", out / "old.html", out / "keep.txt", out / "index.html", outside):
        f.write_text("x")
    flat = {
        "coachkit_review_manifest": 1,
        "parameters": {"window": {"start": "2024-05-13", "end": "2024-06-09"}, "weeks": 4},  # ISO week 23
        "reps": {
            "old": {"status": "ok", "files": {"ipynb": "old.ipynb", "html": "old.html"}},
            "bad": {"status": "ok", "files": {"html": "../outside.html", "x": "/etc/passwd"}},
        },
    }
    (out / "manifest.json").write_text(json.dumps(flat))
    result = run_reviews(data_dir, out, reps=["nope"], as_of=AS_OF, quiet=True)  # no kernel: unknown rep
    assert result.failed["nope"]["type"] == "UnknownRepError"
    assert sorted(p.name for p in out.iterdir()) == [".coachkit-lock", "2024-W23", "2024-W26", "index.html", "keep.txt"]
    assert sorted(p.name for p in (out / "2024-W23").iterdir()) == [
        "index.html",
        "manifest.json",
        "old.html",
        "old.ipynb",
    ]
    moved = json.loads((out / "2024-W23" / "manifest.json").read_text())
    assert moved["week"] == "2024-W23" and moved["reps"] == flat["reps"]
    assert outside.read_text() == "x" and Path("/etc/passwd").exists()
    assert any("moved the review run of 2024-W23" in n for n in result.notices)
    assert result.manifest["previous_week"] == "2024-W23"
    top = (out / "index.html").read_text()
    assert 'href="2024-W26/index.html"' in top and 'href="2024-W23/index.html"' in top


def test_bad_arguments_raise_before_running(data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="isolation must be one of"):
        run_reviews(data_dir, tmp_path / "o", isolation="tepid")
    with pytest.raises(FileNotFoundError, match="review notebook"):
        run_reviews(data_dir, tmp_path / "o", notebook=tmp_path / "missing.ipynb")
    monkeypatch.setitem(batch.ISOLATION_ENGINES, "warm", "coachkit-missing")
    with pytest.raises(ValueError, match="needs the papermill engine 'coachkit-missing'"):
        run_reviews(data_dir, tmp_path / "o", isolation="warm")
    assert not (tmp_path / "o").exists()


# ---------------------------------------------------------------- the CLI (no kernel)


def test_cli_exits_1_naming_failed_reps(data_dir: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(
        review_command, [str(data_dir), "--out", str(tmp_path / "o"), "--rep", "nope", "--as-of", AS_OF, "--quiet"]
    )
    assert res.exit_code == 1, res.output
    assert "0 review(s) written" in res.output and "FAILED 'nope': UnknownRepError" in res.output
    assert len(list((tmp_path / "o").glob("*/manifest.json"))) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--team", "North"], "unknown team(s) ['North']"),
        (["--as-of", "someday"], "as_of must be a date"),
        (["--weeks", "0"], "Invalid value for '--weeks'"),
        (["--isolation", "tepid"], "Invalid value for '--isolation'"),
    ],
)
def test_cli_usage_errors(data_dir: Path, tmp_path: Path, args: list[str], message: str) -> None:
    res = CliRunner().invoke(review_command, [str(data_dir), "--out", str(tmp_path / "o"), *args])
    assert res.exit_code == 2, res.output
    assert message in res.output
