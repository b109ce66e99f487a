"""A whole review run on a sparse dataset, the shape of a real Zoho export: calls and meetings only, no outcomes,
no notes, no emails, dates without times of day. Every review says only what the data supports."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from coachkit import SalesData, sample
from coachkit.batch import run_reviews
from coachkit.coverage import coverage

pytestmark = pytest.mark.slow


def sparse(data: SalesData) -> SalesData:
    """``data`` as a sparse CRM export: calls and meetings only, without outcome, notes, score or duration, on
    dates without a time of day."""
    a = data.activities
    a = a[a["activity_type"].isin(["call", "meeting"])].copy()
    a["occurred_at"] = a["occurred_at"].dt.normalize()
    for col in ("outcome", "notes", "feedback_score", "duration_s", "direction"):
        a[col] = None
    return SalesData.from_frames(a.reset_index(drop=True), data.reps, data.deals, data.playbook)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory):
    data = sparse(sample(reps=8, weeks=6, seed=3))
    folder = tmp_path_factory.mktemp("sparse")
    data.save(folder, "parquet")
    out = tmp_path_factory.mktemp("reviews")
    return data, run_reviews(folder, out, weeks=4, workers=2, quiet=True)


def test_the_profile_sees_a_sparse_export(run) -> None:
    data, _ = run
    c = coverage(data)
    assert c.types.keys() == {"call", "meeting"} and c.calls_with_outcome == 0 and c.timed == 0
    assert c.missing[:6] == [
        "emails",
        "follow-ups",
        "call outcomes",
        "meeting outcomes",
        "notes",
        "times of day (dates only)",
    ]


def test_every_review_says_only_what_the_data_supports(run) -> None:
    data, result = run
    assert result.exit_code == 0, result.summary()
    assert result.ok
    for rep in result.ok:
        page = (result.folder / f"{rep}.html").read_text(encoding="utf-8")
        text = re.sub(r"<[^>]+>", " ", page)
        # the one line saying what the data lacks
        assert "This data has no emails, follow-ups, call outcomes, meeting outcomes, notes, times of day" in text
        # no number where the data has none
        assert not re.search(r"\b0 conversations\b|Conversations\s+0\b", text), rep
        assert "Nothing is waiting" not in text and "Busiest hour" not in text
        assert "Conversations: not in this data (the data has no call outcomes)." in text
        assert "When in the day: not in this data (dates without times of day)." in text
        # emails: no target, no focus, no number
        assert "Emails 0" not in text and "0 emails" not in text
        focus = [f["kpi"] for f in result.manifest["reps"][rep]["summary"]["focus"]]
        assert set(focus) <= {"calls", "meetings", "active_days"}, (rep, focus)
        headline = [h["key"] for h in result.manifest["reps"][rep]["summary"]["headline"]]
        assert set(headline) <= {"calls", "meetings"}, (rep, headline)
    index = (result.folder / "index.html").read_text(encoding="utf-8")
    assert "Emails" not in re.sub(r"<[^>]+>", " ", index)
    profile = json.loads(json.dumps(result.manifest["reps"][result.ok[0]]["summary"]))
    assert profile["active"] is True


def test_definitions_say_which_targets_were_left_out(run) -> None:
    _, result = run
    page = (result.folder / "definitions.html").read_text(encoding="utf-8")
    assert "Targets and benchmarks for emails are left out: the data has no emails." in page
    assert "Targets and benchmarks for connect rate are left out: the data has no call outcomes." in page


def test_the_sparse_helper_keeps_volume(run) -> None:
    data, _ = run
    full = sample(reps=8, weeks=6, seed=3)
    a = full.activities
    assert len(data.activities) == int(a["activity_type"].isin(["call", "meeting"]).sum())
    assert (data.activities["occurred_at"] == data.activities["occurred_at"].dt.normalize()).all()
    assert pd.isna(data.activities["outcome"]).all()


def test_nothing_is_written_beside_the_reviews(run) -> None:
    _, result = run
    names = sorted(p.name for p in Path(result.folder).iterdir())
    # the run's profile and focus file live in its staging folder only
    assert "coverage.json" not in names and "focus.parquet" not in names and ".coachkit-run-data" not in names
