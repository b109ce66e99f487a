"""The data-coverage profile: counts worked out by hand, what each KPI needs, the merge of parts, the playbook
without the targets the data cannot support, and the one line saying what the data lacks."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coachkit import Playbook, SalesData
from coachkit.coverage import MIN_LOGGED_SHARE, Coverage, coverage, without_unsupported


def _data(rows: list[tuple], deals: pd.DataFrame | None = None) -> SalesData:
    """rows: (rep, type, when, outcome, notes, account, duration, score)."""
    acts = pd.DataFrame(
        [
            {
                "activity_id": f"a{i}",
                "rep_id": r[0],
                "activity_type": r[1],
                "occurred_at": pd.Timestamp(r[2]),
                "outcome": r[3],
                "notes": r[4],
                "account_id": r[5],
                "duration_s": r[6],
                "feedback_score": r[7],
            }
            for i, r in enumerate(rows)
        ]
    )
    reps = pd.DataFrame({"rep_id": sorted({r[0] for r in rows}), "team": "East", "role": "SDR"})
    return SalesData.from_frames(acts, reps, deals)


FULL = [
    ("r1", "call", "2024-06-10 09:00", "connected", "Asked about price", "acc1", 300.0, 4.0),
    ("r1", "call", "2024-06-10 10:00", "no_answer", None, "acc2", 20.0, None),
    ("r1", "call", "2024-06-10 11:00", None, None, "acc3", None, None),
    ("r1", "meeting", "2024-06-11 00:00", "held", "   ", "acc1", None, None),
    ("r2", "email", "2024-06-11 14:00", "sent", "hello", None, None, None),
    ("r2", "follow_up", "2024-06-12 15:30", "completed", None, "acc1", None, None),
]


def test_counts_by_hand() -> None:
    deals = pd.DataFrame(
        {
            "deal_id": ["d1", "d2", "d3"],
            "rep_id": ["r1", "r1", "r2"],
            "created_at": pd.to_datetime(["2024-06-01", "2024-06-02", "2024-06-03"]),
            "closed_at": pd.to_datetime(["2024-06-20", None, "2024-06-21"]),
            "amount": [100.0, None, 5.0],
            "is_won": [True, None, False],
            "is_closed": [True, False, True],
        }
    )
    c = coverage(_data(FULL, deals))
    assert c.activities == 6
    assert c.types == {"call": 3, "email": 1, "follow_up": 1, "meeting": 1}
    assert (c.calls, c.calls_with_outcome, c.meetings, c.meetings_with_outcome) == (3, 2, 1, 1)
    # conversations: the connected call and the held meeting; the meeting's notes are blank
    assert (c.conversations, c.conversations_with_notes, c.conversations_with_account) == (2, 1, 2)
    assert c.notes == 2  # the call's note and the email's; "   " is blank
    assert c.timed == 5  # the meeting at exactly 00:00 has no time of day
    assert (c.with_duration, c.calls_with_duration, c.scored) == (2, 2, 1)
    assert (c.deals, c.deals_closed, c.deals_won, c.deals_with_amount) == (3, 2, 1, 2)
    assert c.call_outcome_share == pytest.approx(2 / 3)
    assert c.notes_share == pytest.approx(0.5)
    assert c.has_time_of_day and c.call_outcomes and c.conversations_known
    assert c.missing == []
    assert c.lacks() == ""
    assert all(c.supports(k) == "" for k in ("calls", "connect_rate", "follow_up_24h_rate", "notes_coverage"))


def test_sparse_data_supports_only_volume() -> None:
    """Calls and meetings only, no outcomes, no notes, no emails, dates without times (the Zoho export's shape)."""
    rows = [("r1", "call", f"2024-06-{d:02d}", None, None, None, None, None) for d in range(10, 15)]
    rows += [("r1", "meeting", "2024-06-12", None, None, None, None, None)]
    c = coverage(_data(rows))
    assert c.supports("calls") == "" and c.supports("meetings") == "" and c.supports("active_days") == ""
    assert c.supports("emails") == "the data has no emails"
    assert c.supports("follow_ups") == "the data has no follow-ups"
    assert c.supports("conversations") == "the data has no call outcomes"
    assert c.supports("connect_rate") == "the data has no call outcomes"
    assert c.supports("outcome_logged_rate") == "the data has no call outcomes"
    assert c.supports("meeting_show_rate") == "the data has no meeting outcomes"
    assert c.supports("notes_coverage") == "the data has no notes"
    assert c.supports("follow_up_24h_rate") == "the data has no call outcomes"
    assert c.supports("feedback_score") == "the data has no feedback scores"
    assert c.supports("win_rate") == "the data has no closed deals"
    assert not c.has_time_of_day
    assert c.missing == [
        "emails",
        "follow-ups",
        "call outcomes",
        "meeting outcomes",
        "notes",
        "times of day (dates only)",
        "feedback scores",
        "deals",
    ]
    assert c.lacks() == (
        "This data has no emails, follow-ups, call outcomes, meeting outcomes, notes, times of day (dates only), "
        "feedback scores or deals: the numbers built on them are not shown."
    )


def test_outcomes_on_few_calls_are_not_enough_for_connect_rate() -> None:
    # 1 call in 10 with an outcome (10% < MIN_LOGGED_SHARE): connect rate and conversations are not in this data,
    # but how often outcomes are logged is
    assert MIN_LOGGED_SHARE == 0.2
    rows = [
        ("r1", "call", f"2024-06-10 {9 + i:02d}:00", "connected" if i == 0 else None, None, "a", None, None)
        for i in range(10)
    ]
    c = coverage(_data(rows))
    assert c.supports("connect_rate") == "outcomes are logged on only 10% of calls"
    assert c.supports("conversations") == "outcomes are logged on only 10% of calls"
    assert c.supports("outcome_logged_rate") == ""
    assert "call outcomes on most calls" in c.missing
    # 2 in 10 is enough (the threshold is inclusive)
    rows[1] = ("r1", "call", "2024-06-10 10:00", "no_answer", None, "a", None, None)
    assert coverage(_data(rows)).supports("connect_rate") == ""


def test_meetings_only_data_counts_conversations_from_meetings() -> None:
    rows = [("r1", "meeting", "2024-06-10 10:00", "held", "ok", "a", None, None)]
    c = coverage(_data(rows))
    assert c.supports("conversations") == "" and c.supports("notes_coverage") == ""
    assert c.supports("connect_rate") == "the data has no calls"


def test_follow_up_needs_accounts_and_times() -> None:
    rows = [("r1", "call", "2024-06-10 10:00", "connected", None, None, None, None)]
    assert coverage(_data(rows)).supports("follow_up_24h_rate") == (
        "the data has no account on its conversations, so follow-ups cannot be matched"
    )
    rows = [("r1", "call", "2024-06-10", "connected", None, "a", None, None)]
    assert coverage(_data(rows)).supports("follow_up_24h_rate") == "the data has dates without times of day"


def test_no_activities_and_unknown_kpis() -> None:
    c = Coverage()
    assert c.supports("calls") == "the data has no activities"
    assert c.missing == ["activities"]
    assert c.supports("deals_created") == "the data has no deals"
    assert Coverage(activities=3, types={"call": 3}, calls=3).supports("my_custom_kpi") == ""


def test_scope_is_named_in_the_line() -> None:
    rows = [("r1", "call", "2024-06-10", None, None, None, None, None)]
    c = coverage(_data(rows), scope="the rep's team")
    assert c.lacks().startswith("The data of the rep's team has no meetings, emails, ")


_counts = st.integers(0, 50)


@st.composite
def _profiles(draw: st.DrawFn) -> Coverage:
    calls, meetings = draw(_counts), draw(_counts)
    conv = draw(st.integers(0, calls + meetings))
    return Coverage(
        activities=calls + meetings + draw(_counts),
        types={k: v for k, v in {"call": calls, "meeting": meetings}.items() if v},
        calls=calls,
        calls_with_outcome=draw(st.integers(0, calls)),
        meetings=meetings,
        meetings_with_outcome=draw(st.integers(0, meetings)),
        conversations=conv,
        conversations_with_notes=draw(st.integers(0, conv)),
        conversations_with_account=draw(st.integers(0, conv)),
        timed=draw(_counts),
        scored=draw(_counts),
        deals=draw(_counts),
    )


@settings(max_examples=60, deadline=None)
@given(_profiles(), _profiles())
def test_merge_adds_and_round_trips(a: Coverage, b: Coverage) -> None:
    m = a.merge(b)
    assert m.activities == a.activities + b.activities
    assert m.calls_with_outcome == a.calls_with_outcome + b.calls_with_outcome
    assert m.types.get("call", 0) == a.types.get("call", 0) + b.types.get("call", 0)
    assert m.merge(Coverage()) == m
    assert Coverage.from_dict(json.loads(json.dumps(m.to_dict()))) == m
    # a KPI supported by both parts' union never needs more than the parts hold: volume KPIs
    for k in ("calls", "meetings"):
        if a.supports(k) == "" or b.supports(k) == "":
            assert m.supports(k) == ""


def test_merge_of_parts_is_the_profile_of_the_whole() -> None:
    data = _data(FULL)
    parts = [
        coverage(SalesData.from_frames(data.activities[data.activities["rep_id"] == r], data.reps))
        for r in ("r1", "r2")
    ]
    assert parts[0].merge(parts[1]) == coverage(data)


def test_without_unsupported_drops_targets_and_benchmarks_with_a_note() -> None:
    pb = Playbook.default()
    rows = [("r1", "call", f"2024-06-{d:02d}", None, None, None, None, None) for d in range(10, 15)]
    c = coverage(_data(rows))
    lean, notes = without_unsupported(pb, c)
    # calls keep their target; emails, meetings, conversations and follow-ups (no such data) lose theirs
    assert lean.targets_for("SDR") == {"calls": ("day", 50.0)}
    assert lean.targets_for("AE") == {"calls": ("day", 15.0)}
    assert lean.benchmarks == {}  # connect, show, follow-up and notes benchmarks all need outcomes
    assert "Targets and benchmarks for emails are left out: the data has no emails." in notes
    assert "Targets and benchmarks for connect rate are left out: the data has no call outcomes." in notes
    assert len(notes) == 8
    # the playbook given is not changed, and full data drops nothing
    assert pb.targets_for("SDR")["emails"] == ("day", 25.0)
    full_cov = Coverage(
        activities=10,
        types={"call": 2, "email": 2, "meeting": 2, "follow_up": 2},
        calls=2,
        calls_with_outcome=2,
        meetings=2,
        meetings_with_outcome=2,
        conversations=2,
        conversations_with_notes=1,
        conversations_with_account=2,
        notes=1,
        timed=10,
    )
    same, none = without_unsupported(pb, full_cov)
    assert same is pb and none == []


# ---------------------------------------------------------------- the batch's profile, read a few groups at a time


@pytest.mark.parametrize("chunk", [1, 5, 1000])
def test_the_batch_profile_read_by_chunks_of_peer_groups_equals_the_whole_datasets(
    tmp_path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    from pathlib import Path

    from coachkit import batch, load, load_reps

    sample = Path(__file__).resolve().parents[1] / "data" / "sample"
    monkeypatch.setattr(batch, "COVERAGE_CHUNK", chunk)
    profile, book = batch._coverage_by_group(sample, None, load_reps(sample))
    whole = load(sample)
    assert profile.to_dict() == coverage(whole).to_dict()
    assert book == whole.playbook


def test_the_batch_profile_counts_reps_without_a_team_or_role_once(tmp_path) -> None:
    from coachkit import batch, load_reps

    reps = pd.DataFrame(
        {"rep_id": ["a", "b", "c", "d"], "team": ["T", "T", None, "U"], "role": ["AE", "AE", "AE", None]}
    )
    acts = pd.DataFrame(
        {
            "activity_id": ["1", "2", "3", "4", "5"],
            "rep_id": ["a", "b", "c", "c", "d"],
            "activity_type": ["call", "call", "email", "meeting", "call"],
            "occurred_at": pd.to_datetime(["2024-06-03 10:00"] * 4 + ["2024-06-04 00:00"]),
            "outcome": ["connected", None, None, "held", None],
            "notes": ["spoke to the buyer", None, None, " ", None],
        }
    )
    folder = tmp_path / "data"
    SalesData.from_frames(acts, reps).save(folder, "csv")
    profile, _ = batch._coverage_by_group(folder, None, load_reps(folder))
    # by hand: 5 activities (3 calls, 1 email, 1 meeting); calls with an outcome 1; meetings with one 1;
    # conversations: the connected call and the held meeting, 1 with notes (a blank note is none); 4 timed
    assert (profile.activities, profile.calls, profile.calls_with_outcome) == (5, 3, 1)
    assert (profile.meetings, profile.meetings_with_outcome, profile.conversations) == (1, 1, 2)
    assert (profile.conversations_with_notes, profile.notes, profile.timed) == (1, 1, 4)
    assert profile.types == {"call": 3, "email": 1, "meeting": 1}
