"""Reviews of reps at the edges: no activities or deals in the window, left before it, starting after it, alone in
their team, and a sparse team (calls only, no outcomes, notes or deals, date-only timestamps). Every section builds,
no value is written "nan", and validate case 11 (a rep who left before the window) gives a review, not a crash."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coachkit import SalesData, review
from coachkit.review.compare import change
from coachkit.review.fmt import plural
from coachkit.review.sections.header import not_employed_note
from coachkit.review.team import window_count

# as_of Friday 14 June 2024, one week: Mon 10 .. Fri 14 June; the prior window Mon 3 .. Fri 7 June.
AS_OF = "2024-06-14"
CASE_11 = Path(__file__).parent / "fixtures" / "validate_cases" / "11-review-crashes-for-rep-who-left-before-window"


def _act(i: int, rep: str, typ: str, when: str, outcome: str | None = None, notes: str | None = None) -> dict:
    return {
        "activity_id": f"a{i}",
        "rep_id": rep,
        "activity_type": typ,
        "occurred_at": pd.Timestamp(when),
        "outcome": outcome,
        "account_id": f"acc{i % 3}",
        "notes": notes,
        "feedback_score": 4.0 if notes else None,
    }


def edge_data() -> SalesData:
    """Team East SDRs: ``on`` (3 calls, 1 connected, this window), ``idle`` (employed, nothing at all), ``gone``
    (left 1 May 2024 but 2 calls logged this window), ``future`` (hired 1 July 2024); ``solo``: the only West AE,
    one task this window. Only ``on`` has a deal."""
    acts = [
        _act(1, "on", "call", "2024-06-10 09:00", "connected", "Asked about price"),
        _act(2, "on", "call", "2024-06-11 09:00", "no_answer"),
        _act(3, "on", "call", "2024-06-04 09:00", "no_answer"),
        _act(4, "gone", "call", "2024-06-12 10:00", "connected"),
        _act(5, "gone", "call", "2024-06-13 10:00", "no_answer"),
        _act(6, "solo", "task", "2024-06-12 11:00", "completed"),
    ]
    reps = pd.DataFrame(
        {
            "rep_id": ["on", "idle", "gone", "future", "solo"],
            "name": ["On Rep", "Idle Rep", "Gone Rep", "Future Rep", "Solo Rep"],
            "team": ["East", "East", "East", "East", "West"],
            "role": ["SDR", "SDR", "SDR", "SDR", "AE"],
            "manager": ["Max"] * 5,
            "hired_at": pd.to_datetime(["2020-01-06", "2020-01-06", "2020-01-06", "2024-07-01", "2020-01-06"]),
            "left_at": pd.to_datetime([None, None, "2024-05-01", None, None]),
        }
    )
    deals = pd.DataFrame(
        {
            "deal_id": ["d1"],
            "rep_id": ["on"],
            "account_id": ["acc1"],
            "created_at": pd.to_datetime(["2024-06-10 11:00"]),
            "closed_at": pd.to_datetime([None]),
            "stage": ["discovery"],
            "amount": [100.0],
            "is_won": [None],
            "is_closed": [False],
        }
    )
    return SalesData.from_frames(pd.DataFrame(acts), reps, deals)


def sparse_data() -> SalesData:
    """Calls only, no outcomes, no notes, no deals, date-only timestamps: two SDRs."""
    acts = [
        _act(i, rep, "call", day)
        for i, (rep, day) in enumerate(
            [
                ("s1", "2024-06-10"),
                ("s1", "2024-06-10"),
                ("s1", "2024-06-12"),
                ("s2", "2024-06-11"),
                ("s1", "2024-06-04"),
            ]
        )
    ]
    reps = pd.DataFrame(
        {
            "rep_id": ["s1", "s2"],
            "name": ["S One", "S Two"],
            "team": ["East", "East"],
            "role": ["SDR", "SDR"],
            "hired_at": pd.to_datetime(["2020-01-06", "2020-01-06"]),
        }
    )
    return SalesData.from_frames(pd.DataFrame(acts), reps, None)


def every_section(data: SalesData, rep: str, as_of: str = AS_OF, weeks: int = 1) -> dict:
    """Every section of the notebook, in its order, and the index record (JSON text)."""
    w = review.review_window(data, as_of, weeks)
    team = review.team_tables(data, rep, w)
    out = {"focus": review.focus(data, rep, w), "header": review.header(data, rep, w)}
    weekly = review.history(data, rep, w, 4)
    out["summary"] = review.summary(data, rep, w, team=team, focus_frame=out["focus"].frames["focus"], weekly=weekly)
    out["effort"] = review.effort(data, rep, w, team=team)
    out["outcomes"] = review.outcomes(data, rep, w, team=team)
    out["follow_up"] = review.follow_up(data, rep, w, team=team)
    out["feedback"] = review.feedback(data, rep, w, team=team)
    out["effort_vs_feedback"] = review.effort_vs_feedback(data, rep, w, weekly=weekly)
    out["pipeline"] = review.pipeline(data, rep, w, team=team)
    record = review.index_summary(data, rep, w, out["summary"].frames["summary"], out["focus"].frames["focus"])
    out["record"] = json.dumps(record, allow_nan=False)  # NaN would be invalid JSON in the index
    return out


def _text(sections: dict) -> str:
    return "\n".join(review.section_html(s) for k, s in sections.items() if k != "record")


def _assert_no_nan_text(sections: dict) -> None:
    found = re.findall(r".{0,60}\b(?:nan|inf|NaT)\b.{0,20}", _text(sections), flags=re.IGNORECASE)
    assert found == []


@pytest.fixture(scope="module")
def edge() -> SalesData:
    return edge_data()


# ---------------------------------------------------------------- the helpers that crashed


def test_plural_of_a_missing_count_is_a_dash_not_a_crash() -> None:
    assert plural(float("nan"), "deal") == "– deals"
    assert plural(None, "activity", "activities") == "– activities"
    assert plural(1.0, "deal") == "1 deal" and plural(0, "deal") == "0 deals" and plural(1234, "deal") == "1,234 deals"


def test_change_with_a_missing_value_is_no_data() -> None:
    nan = float("nan")
    assert change("count", nan, 0, 3, 0, 5, 5) == ""
    assert change("count", 3, 0, nan, 0, 5, 5) == ""
    assert change("rate", nan, 10, 2, 10) == ""
    assert change("count", 10, 0, 12, 0, 5, 5) == "same"  # unchanged with values


def test_window_count_is_zero_without_a_row_and_the_total_with_one(edge) -> None:
    w = review.review_window(edge, AS_OF, 1)
    gone = review.team_tables(edge, "gone", w)
    assert gone.totals[gone.totals["rep_id"] == "gone"].empty  # no week of employment in either window
    assert window_count(gone, "deals_created") == 0.0 and window_count(gone, "calls", "prior") == 0.0
    on = review.team_tables(edge, "on", w)
    assert window_count(on, "calls") == 2.0 and window_count(on, "calls", "prior") == 1.0
    assert window_count(on, "deals_created") == 1.0


def test_not_employed_note_by_hand() -> None:
    w = review.Window(pd.Timestamp("2024-06-10"), pd.Timestamp("2024-06-14"), 1)
    day = pd.Timestamp
    assert not_employed_note(day("2020-01-06"), None, w, 5) is None
    assert not_employed_note(None, day("2024-06-10"), w, 5) is None  # left on the first day: employed that day
    assert not_employed_note(day("2024-06-14"), None, w, 0) is None  # hired on the last day
    assert not_employed_note(None, day("2024-06-09"), w, 0) == (
        "The rep left on Sun 09 Jun 2024, before this window: no weeks of employment and no activities to review."
    )
    assert not_employed_note(day("2024-06-15"), np.nan, w, 0).startswith("The rep starts on Sat 15 Jun 2024, after")
    note = not_employed_note(day("2024-06-03"), day("2024-06-01"), w, 1)
    assert note.startswith("The rep left on Sat 01 Jun 2024, before this window:")  # before the window wins
    assert "the 1 activity logged in the window" in note
    odd = not_employed_note(day("2024-06-12"), day("2024-06-11"), w, 2)
    assert odd.startswith(
        "The rep left on Tue 11 Jun 2024, before the hire date Wed 12 Jun 2024 (check the reps table)"
    )
    assert "the 2 activities logged" in odd


# ---------------------------------------------------------------- whole reviews of edge reps


@pytest.mark.parametrize("rep", ["on", "idle", "gone", "future", "solo"])
def test_every_section_of_an_edge_rep_builds_without_nan(edge, rep) -> None:
    sections = every_section(edge, rep)
    _assert_no_nan_text(sections)


def test_a_rep_with_nothing_in_the_window_is_reviewed_as_zeros(edge) -> None:
    s = every_section(edge, "idle")
    assert (
        s["pipeline"].sentences[0]
        == "0 deals created in the window (prior window 0; peers' median 0), worth 0 in total."
    )
    assert s["header"].values["employed_in_window"] is True
    assert s["outcomes"].sentences[0].startswith("0 conversations: 0 connected calls and 0 held meetings")
    assert s["follow_up"].values["open_accounts"] == 0
    assert s["feedback"].sentences[1:] == [
        "No scored activities in the window.",
        "No notes on conversations in the window, so no themes to compare.",
    ]
    assert "Active on 0 of 5 working days (peers' median 1 active days)." in s["effort"].sentences


def test_a_rep_who_left_before_the_window_says_so_and_counts_nothing(edge) -> None:
    s = every_section(edge, "gone")
    assert s["header"].values["employed_in_window"] is False
    assert s["header"].sentences == [
        "The rep left on Wed 01 May 2024, before this window: KPIs count only weeks of employment, so this review's "
        "KPIs are empty; the 2 activities logged in the window show only where activities are read directly "
        "(`coachkit validate` warns about them).",
        "The data ends on Thu 13 Jun 2024, 1 day before this window does.",
    ]
    assert s["pipeline"].sentences[0].startswith("0 deals created in the window (prior window 0;")
    summary = s["summary"].frames["summary"].set_index("kpi")
    # not employed in either window: no week to compare, so no change is claimed
    assert summary.loc["conversations", "value"] == 0.0 and summary.loc["conversations", "change"] == ""
    assert np.isnan(summary.loc["connect_rate", "value"]) and summary.loc["connect_rate", "change"] == ""


def test_a_rep_who_starts_after_the_window_says_so(edge) -> None:
    s = every_section(edge, "future")
    assert s["header"].sentences == [
        "The rep starts on Mon 01 Jul 2024, after this window: no weeks of employment and no activities to review.",
        "The data ends on Thu 13 Jun 2024, 1 day before this window does.",
    ]


def test_a_sparse_team_builds_every_section(edge) -> None:
    data = sparse_data()
    for rep in ("s1", "s2"):
        s = every_section(data, rep)
        _assert_no_nan_text(s)
    s1 = every_section(data, "s1")
    assert s1["pipeline"].sentences[0].startswith("0 deals created in the window")
    assert s1["effort"].frames["volume"].set_index("kpi").loc["calls", "count"] == 3.0


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    hired=st.one_of(st.none(), st.integers(-60, 30)),
    left=st.one_of(st.none(), st.integers(-60, 30)),
    weeks=st.integers(1, 3),
)
def test_any_employment_dates_give_a_review_without_nan(edge, hired, left, weeks) -> None:
    """Whatever the rep's hire and leave dates (days from the window's last day; left may precede hired),
    every section builds and writes no NaN."""
    end = pd.Timestamp(AS_OF)
    reps = edge.reps.copy()
    i = reps.index[reps["rep_id"] == "gone"][0]
    reps.loc[i, "hired_at"] = pd.NaT if hired is None else end + pd.Timedelta(days=hired)
    reps.loc[i, "left_at"] = pd.NaT if left is None else end + pd.Timedelta(days=left)
    data = SalesData.from_frames(edge.activities, reps, edge.deals)
    sections = every_section(data, "gone", weeks=weeks)
    _assert_no_nan_text(sections)


# ---------------------------------------------------------------- validate case 11, end to end


def _md5s(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.mark.slow
def test_case_11_a_rep_who_left_before_the_window_gets_a_review(tmp_path: Path) -> None:
    from coachkit.batch import run_reviews
    from coachkit.report import DataError

    source = tmp_path / "input"
    shutil.copytree(CASE_11 / "input", source)
    # as filed, R002 also left (2026-01-01) before being hired (2026-08-03): validation now refuses that, in one line
    with pytest.raises(DataError, match="left_at is before hired_at"):
        run_reviews(source, tmp_path / "refused", reps=["R002"], workers=1, quiet=True)
    # hired before leaving, the case's point stays: a rep who left before the window, with activities logged in it
    reps = source / "reps.csv"
    reps.write_text(reps.read_text().replace("2026-08-03,2026-01-01", "2025-08-03,2026-01-01"))
    before = _md5s(source)
    result = run_reviews(source, tmp_path / "out", reps=["R002"], workers=1, quiet=True)
    assert result.exit_code == 0, result.summary()
    assert result.manifest["counts"] == {"ok": 1, "failed": 0, "skipped": 0}
    page = (result.folder / "R002.html").read_text(encoding="utf-8")
    assert "The rep left on Thu 01 Jan 2026, before this window" in page
    assert "the 471 activities logged in the window" in page  # validate's 471 'activity after left_at' rows
    assert "0 deals created in the window" in page
    assert _md5s(source) == before  # the user's files are never modified
