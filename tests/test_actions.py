"""Cause rules: each focus KPI's next step is chosen by the evidence, named in the sentence, worked out by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from coachkit import Playbook
from coachkit.review.actions import CAUSES, WHY, Evidence, best_hours, choose_action, fill, hour_ranges

ACTIONS = Playbook.default().actions


def _acts(rows: list[tuple]) -> pd.DataFrame:
    """rows: (type, 'YYYY-MM-DD HH:MM', outcome, account, notes)."""
    return pd.DataFrame(
        {
            "activity_type": [r[0] for r in rows],
            "occurred_at": pd.to_datetime([r[1] for r in rows]),
            "outcome": [r[2] for r in rows],
            "account_id": [r[3] if len(r) > 3 else None for r in rows],
            "notes": [r[4] if len(r) > 4 else None for r in rows],
        }
    )


def _calls(day: str, hours: list[int], outcome: str = "no_answer", n_connected: int = 0) -> list[tuple]:
    return [
        ("call", f"{day} {h:02d}:{i % 60:02d}", "connected" if i < n_connected else outcome)
        for i, h in enumerate(hours)
    ]


def _peers_with_good_mornings() -> pd.DataFrame:
    """Peers: 300 calls, 100 at 9:00 connecting 20%, 200 at 12:00-13:00 connecting 5%."""
    rows = []
    for d in range(10, 15):
        day = f"2024-06-{d:02d}"
        rows += _calls(day, [9] * 20, n_connected=4)
        rows += _calls(day, [12] * 20 + [13] * 20, n_connected=2)
    return _acts(rows)


def test_best_hours_and_ranges_by_hand() -> None:
    hours, rate_in, rate_out = best_hours(_peers_with_good_mornings())
    # hours ranked by connect rate: 9:00 (20/100 = 20%) holds 100 of 300 calls >= 30%: the best hours are [9]
    assert hours == [9]
    assert rate_in == pytest.approx(0.20) and rate_out == pytest.approx(10 / 200)
    assert hour_ranges([8, 9, 16, 17]) == "8:00–10:00 and 16:00–18:00"
    assert hour_ranges([9]) == "9:00–10:00"
    assert hour_ranges([8, 10, 12]) == "8:00–9:00, 10:00–11:00 and 12:00–13:00"


def test_connect_rate_from_call_times() -> None:
    # the rep calls only at midday: 0% of calls in 9:00-10:00 against a third for the peers
    rep = _acts(_calls("2024-06-10", [12] * 30 + [13] * 30, n_connected=2))
    ev = Evidence(rep, _peers_with_good_mornings(), behind={"connect_rate": True}, peers="SMB SDRs")
    a = choose_action("connect_rate", ev, ACTIONS)
    assert a.cause == "call_times"
    assert a.text == "Move two call blocks a day into 9:00–10:00, when the SMB SDRs connect most."
    assert a.why == (
        "Only 0% of the rep's calls were in 9:00–10:00, against 33% of the SMB SDRs' calls; "
        "there the SMB SDRs connect 20%, against 5% at other hours."
    )


def test_connect_rate_from_list_quality_when_call_times_are_fine() -> None:
    # the rep calls at the peers' hours (9:00 holds 40%) but 12 of 40 calls hit a gatekeeper or a wrong number
    rows = _calls("2024-06-10", [9] * 16, n_connected=1) + _calls("2024-06-10", [12] * 12)
    rows += _calls("2024-06-11", [13] * 8, outcome="gatekeeper") + _calls(
        "2024-06-11", [12] * 4, outcome="wrong_number"
    )
    ev = Evidence(_acts(rows), _peers_with_good_mornings(), behind={"connect_rate": True})
    a = choose_action("connect_rate", ev, ACTIONS)
    assert a.cause == "list_quality"
    assert a.why == "30% of the rep's calls reached a gatekeeper or a wrong number, against 0% for the peers."


def test_dates_only_never_choose_call_times() -> None:
    rep = _acts(_calls("2024-06-10", [12] * 30, n_connected=1))
    ev = Evidence(rep, _peers_with_good_mornings(), behind={"connect_rate": True}, has_time_of_day=False)
    assert choose_action("connect_rate", ev, ACTIONS).cause != "call_times"


def test_conversations_low_volume_vs_low_connect_vs_both() -> None:
    rep = _acts(_calls("2024-06-10", [9] * 50, n_connected=5))
    peers = _peers_with_good_mornings()
    base = {"working_days": 5.0, "day_target": {"calls": 50.0}}
    vol = choose_action("conversations", Evidence(rep, peers, behind={"calls": True}, **base), ACTIONS)
    assert vol.cause == "low_volume"
    assert vol.text == "The connect rate is fine; more conversations need more dials: aim for 50 calls a working day."
    assert vol.why == "The connect rate (10%) is in line, but 50 calls in 5 working days is 10.0 a day."
    conn = choose_action("conversations", Evidence(rep, peers, behind={"connect_rate": True}, **base), ACTIONS)
    assert conn.cause == "low_connect"
    assert conn.why == "Dials are there (50 calls) but only 10% of them connected, against 10% for the peers."
    both = choose_action(
        "conversations", Evidence(rep, peers, behind={"calls": True, "connect_rate": True}, **base), ACTIONS
    )
    assert both.cause == "both"
    assert both.text == "First restore the dialling volume (50 calls a day), then move the call blocks to 9:00–10:00."
    none = choose_action("conversations", Evidence(rep, peers), {"conversations": "Playbook says so."})
    assert (none.cause, none.text, none.why) == ("default", "Playbook says so.", "")


def test_calls_few_days_then_short_days() -> None:
    # 2 of 5 working days with calls
    rep = _acts(_calls("2024-06-10", [9] * 30) + _calls("2024-06-11", [9] * 30))
    ev = Evidence(rep, rep.iloc[:0], working_days=5.0, day_target={"calls": 50.0})
    a = choose_action("calls", ev, ACTIONS)
    assert (a.cause, a.why) == ("few_days", "Calls were logged on 2 of 5 working days.")
    assert a.text.startswith(
        "Put a call block in the calendar on every working day next week, starting with the 3 days"
    )
    # 5 of 5 days with 30 calls each against 50 a day
    rep = _acts([r for d in range(10, 15) for r in _calls(f"2024-06-{d}", [9] * 30)])
    a = choose_action("calls", Evidence(rep, rep.iloc[:0], working_days=5.0, day_target={"calls": 50.0}), ACTIONS)
    assert (a.cause, a.why) == (
        "short_days",
        "On the 5 days with calls, the rep made 30 calls a day against a target of 50.",
    )


def test_follow_up_waiting_then_late() -> None:
    waiting = pd.DataFrame({"account_id": ["A", "B", "C", "D"], "days_waiting": [0, 1, 4, 9]})
    ev = Evidence(_acts([]), _acts([]), waiting=waiting)
    a = choose_action("follow_up_24h_rate", ev, ACTIONS)
    assert a.cause == "waiting"
    assert a.text.startswith("Start Monday by following up on the 3 accounts still waiting (the oldest for 9 days)")
    # every conversation followed up, 2, 3 and 4 days later
    rows = []
    for i, acc in enumerate("XYZ"):
        rows += [("call", f"2024-06-10 09:0{i}", "connected", acc), ("email", f"2024-06-1{2 + i} 09:0{i}", "sent", acc)]
    a = choose_action("follow_up_24h_rate", Evidence(_acts(rows), _acts([]), waiting=waiting.iloc[:0]), ACTIONS)
    assert (a.cause, a.why) == ("late", "Follow-ups do happen, but a median of 3 days after the conversation.")


def test_meetings_low_conversion_and_no_shows() -> None:
    rep = _acts(_calls("2024-06-10", [9] * 10, n_connected=10) + [("meeting", "2024-06-11 10:00", "held")])
    peers = _acts(
        _calls("2024-06-10", [9] * 10, n_connected=10) + [("meeting", f"2024-06-11 1{i}:00", "held") for i in range(5)]
    )
    a = choose_action("meetings", Evidence(rep, peers, working_days=5.0), ACTIONS)
    assert a.cause == "low_conversion"
    assert a.why == "11 conversations led to 1 meeting: 9% of conversations, against 33% for the peers."
    shows = _acts([("meeting", "2024-06-11 10:00", o) for o in ("held", "no_show", "no_show", "held", "rescheduled")])
    a = choose_action("meeting_show_rate", Evidence(shows, shows.iloc[:0]), ACTIONS)
    assert a.why == "2 of 5 meetings with an outcome were no-shows."


def test_playbook_templates_replace_defaults_and_placeholders_are_only_names() -> None:
    rep = _acts(_calls("2024-06-10", [9] * 10))
    ev = Evidence(rep, rep.iloc[:0])
    a = choose_action(
        "outcome_logged_rate", ev, {"outcome_logged_rate.unlogged": "Log all {calls} calls. {x.__class__}"}
    )
    assert a.text == "Log all 10 calls. {x.__class__}"
    assert fill("{a} and {b}", {"a": "1"}) == "1 and {b}"
    # every cause has its evidence sentence, and the default playbook an action for it
    assert all((k, c) in WHY and f"{k}.{c}" in ACTIONS for k, cs in CAUSES.items() for c in cs)


def test_many_distinct_sentences_across_reps() -> None:
    """Different reps with the same focus get different sentences: the numbers are theirs."""
    peers = _peers_with_good_mornings()
    texts = set()
    for n in range(5, 25):
        rep = _acts(_calls("2024-06-10", [12] * (10 * n), n_connected=1))
        a = choose_action("connect_rate", Evidence(rep, peers, behind={"connect_rate": True}), ACTIONS)
        texts.add(a.why)
    # the share of calls in the best hours is 0% for every one of them: the same sentence; the volume differs
    assert texts == {
        "Only 0% of the rep's calls were in 9:00–10:00, against 33% of the peers' calls; "
        "there the peers connect 20%, against 5% at other hours."
    }
    vol = set()
    for n in range(5, 25):
        rep = _acts([r for d in range(10, 15) for r in _calls(f"2024-06-{d}", [9] * n)])
        a = choose_action("calls", Evidence(rep, peers, working_days=5.0, day_target={"calls": 50.0}), ACTIONS)
        vol.add(a.why)
    assert len(vol) == 20


def test_the_playbook_holds_the_actions_per_cause() -> None:
    from coachkit.playbook import PlaybookError

    # one string for a KPI sets its default and keeps the causes; a table replaces the sentences it names
    pb = Playbook.from_dict(
        {"coaching": {"actions": {"calls": "Call more.", "connect_rate": {"call_times": "Call at {best_hours}."}}}}
    )
    assert pb.actions["calls"] == "Call more."
    assert pb.actions["calls.short_days"] == ACTIONS["calls.short_days"]
    assert pb.actions["connect_rate.call_times"] == "Call at {best_hours}."
    assert pb.actions["connect_rate"] == ACTIONS["connect_rate"]
    with pytest.raises(PlaybookError, match=r"unknown cause `coaching.actions.calls.lazy`; the causes of calls are"):
        Playbook.from_dict({"coaching": {"actions": {"calls": {"lazy": "x"}}}})
    with pytest.raises(PlaybookError, match=r"`coaching.actions.calls.few_days` must be a string"):
        Playbook.from_dict({"coaching": {"actions": {"calls": {"few_days": 3}}}})
    # the sample playbook (one string per KPI) keeps every cause's sentence
    from coachkit.sample import sample_playbook

    assert all(f"{k}.{c}" in sample_playbook().actions for k, cs in CAUSES.items() for c in cs)


def test_the_playbook_chooses_the_scorecard_per_role() -> None:
    from coachkit.playbook import PlaybookError

    pb = Playbook.from_dict({"review": {"scorecard": {"SDR": ["calls", "connect_rate"]}}})
    assert pb.scorecard == {"SDR": ("calls", "connect_rate")}
    assert Playbook.default().scorecard == {}
    with pytest.raises(PlaybookError, match=r"`review.scorecard.AE` must be a list of KPI names"):
        Playbook.from_dict({"review": {"scorecard": {"AE": "calls"}}})
