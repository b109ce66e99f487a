"""Tests of coachkit.feedback on a crafted two-week dataset worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from coachkit import SalesData
from coachkit.feedback import EFFORT_COLUMNS, THEME_COLUMNS, effort_feedback, feedback_themes
from coachkit.playbook import Playbook

PLAYBOOK = """
[themes.price]
kind = "objection"
keywords = ["price", "too expensive"]

[themes.timing]
kind = "objection"
keywords = ["next quarter"]

[themes.demo]
kind = "signal"
keywords = ["demo"]
"""

W1, W2 = pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-08")  # Mondays


def _acts() -> pd.DataFrame:
    rows = [
        # id, rep, type, occurred_at, outcome, notes, score, account
        ("a1", "r1", "call", "2024-01-01 09:00", "connected", "PRICE is the issue", 4.0, "X"),
        ("a6", "r1", "email", "2024-01-01 15:00", "sent", "price", np.nan, "X"),  # follows a1 within 24 h
        ("a2", "r1", "call", "2024-01-02 10:00", "connected", "Wants a Demo next  quarter", np.nan, "Y"),
        ("a3", "r1", "call", "2024-01-02 11:00", "no_answer", "price", np.nan, "Y"),  # follows a2; not a conversation
        ("a4", "r1", "meeting", "2024-01-03 10:00", "held", "   ", 2.0, "X"),  # conversation without notes
        ("a7", "r1", "meeting", "2024-01-05 10:00", "no_show", None, np.nan, None),
        # Sunday 23:59:59: still week 1; "prices" and "demonstration" are not whole-word matches
        ("a5", "r1", "call", "2024-01-07 23:59:59", "connected", "prices went up; demonstration", np.nan, None),
        # Monday 00:00:00: week 2; hostile regex characters in notes are just text
        ("b1", "r1", "call", "2024-01-08 00:00:00", "connected", "price? (too \n expensive) [regex.*]", np.nan, "Z"),
        ("b2", "r1", "call", "2024-01-09 09:00", "voicemail", None, np.nan, None),
        ("b3", "r1", "follow_up", "2024-01-09 00:00:00", "completed", None, np.nan, "Z"),  # exactly 24 h after b1
        ("b4", "r1", "task", "2024-01-10 09:00", "completed", "demo", np.nan, None),
        ("c1", "r2", "call", "2024-01-03 09:00", "connected", "demo please", np.nan, None),
    ]
    cols = ["activity_id", "rep_id", "activity_type", "occurred_at", "outcome", "notes", "feedback_score", "account_id"]
    df = pd.DataFrame(rows, columns=cols)
    df["occurred_at"] = pd.to_datetime(df["occurred_at"], format="ISO8601")
    return df


@pytest.fixture
def data() -> SalesData:
    reps = pd.DataFrame({"rep_id": ["r1", "r2"], "team": ["A", "A"], "role": ["SDR", "SDR"]})
    return SalesData.from_frames(_acts(), reps, playbook=Playbook.from_text(PLAYBOOK))


def _cell(themes: pd.DataFrame, rep: str, week: pd.Timestamp, theme: str) -> pd.Series:
    hit = themes[(themes["rep_id"] == rep) & (themes["period_start"] == week) & (themes["theme"] == theme)]
    assert len(hit) == 1
    return hit.iloc[0]


def test_feedback_themes_by_hand(data):
    t = feedback_themes(data)
    assert list(t.columns) == list(THEME_COLUMNS)
    assert len(t) == 2 * 2 * 3  # reps x weeks x themes
    # r1 week 1: conversations a1, a2, a4, a5; notes on a1, a2, a5; price a1, timing a2, demo a2
    price = _cell(t, "r1", W1, "price")
    assert (price["conversations"], price["with_notes"], price["count"]) == (4, 3, 1)
    assert price["share"] == 0.25 and price["kind"] == "objection"
    assert _cell(t, "r1", W1, "timing")["count"] == 1
    demo = _cell(t, "r1", W1, "demo")
    assert demo["count"] == 1 and demo["kind"] == "signal"
    # r1 week 2: b1 only (Monday 00:00 belongs to week 2); keywords across a newline still match
    p2 = _cell(t, "r1", W2, "price")
    assert (p2["conversations"], p2["with_notes"], p2["count"], p2["share"]) == (1, 1, 1, 1.0)
    assert _cell(t, "r1", W2, "demo")["count"] == 0  # the task's "demo" is not a conversation
    # r2: a conversation in week 1, none in week 2 -> share NaN, counts 0
    assert _cell(t, "r2", W1, "demo")["share"] == 1.0
    empty = _cell(t, "r2", W2, "demo")
    assert empty["conversations"] == 0 and empty["count"] == 0 and np.isnan(empty["share"])


def test_feedback_themes_filters_like_kpi_table(data):
    t = feedback_themes(data, reps=["r2"], start="2024-01-03", end="2024-01-03")
    assert set(t["rep_id"]) == {"r2"} and set(t["period_start"]) == {W1}
    assert len(t) == 3
    m = feedback_themes(data, freq="M")
    assert set(m["period_start"]) == {pd.Timestamp("2024-01-01")}
    assert _cell(m, "r1", pd.Timestamp("2024-01-01"), "price")["count"] == 2


def test_feedback_themes_without_themes_is_empty_with_columns(data):
    data.playbook = Playbook.from_text("[themes]\n")
    t = feedback_themes(data)
    assert t.empty and list(t.columns) == list(THEME_COLUMNS)


def test_effort_feedback_by_hand(data):
    e = effort_feedback(data, "r1")
    assert list(e.columns) == list(EFFORT_COLUMNS)
    assert e["period_start"].tolist() == [W1, W2]
    w1, w2 = e.iloc[0], e.iloc[1]
    # effort, week 1: 7 activities (4 calls, 2 meetings, 1 email) on 5 distinct dates
    assert (w1["activities"], w1["calls"], w1["meetings"], w1["emails"], w1["follow_ups"]) == (7, 4, 2, 1, 0)
    assert w1["active_days"] == 5
    assert w1["mix_calls"] == pytest.approx(4 / 7) and w1["mix_meetings"] == pytest.approx(2 / 7)
    assert w1["mix_emails"] == pytest.approx(1 / 7) and w1["mix_other"] == pytest.approx(0.0)
    # feedback, week 1: scores 4 and 2; notes on 3 of 4 conversations; objections on a1, a2; signal on a2
    assert (w1["feedback_score"], w1["feedback_n"]) == (3.0, 2.0)
    assert w1["notes_coverage"] == 0.75
    assert (w1["objection_share"], w1["signal_share"]) == (0.5, 0.25)
    assert w1["top_theme"] == "price"  # price, timing and demo tie at 1: playbook order
    # outcomes, week 1: 3 of 4 logged calls connected; 1 of 2 meetings held;
    # follow-ups: a1 (email after 6 h) and a2 (call after 1 h) of a1, a2, a4 (a5 has no account)
    assert (w1["conversations"], w1["connect_rate"], w1["connect_n"]) == (4, 0.75, 4)
    assert (w1["meeting_show_rate"], w1["show_n"]) == (0.5, 2)
    assert w1["follow_up_24h_rate"] == pytest.approx(2 / 3) and w1["follow_up_n"] == 3
    # week 2: b1 call connected, b2 voicemail, b3 follow-up exactly 24 h later, b4 task
    assert (w2["activities"], w2["calls"], w2["follow_ups"], w2["active_days"]) == (4, 2, 1, 3)
    assert (w2["mix_calls"], w2["mix_follow_ups"], w2["mix_other"]) == (0.5, 0.25, 0.25)
    assert np.isnan(w2["feedback_score"]) and w2["feedback_n"] == 0
    assert (w2["objection_share"], w2["signal_share"], w2["top_theme"]) == (1.0, 0.0, "price")
    assert (w2["connect_rate"], w2["connect_n"]) == (0.5, 2)
    assert np.isnan(w2["meeting_show_rate"]) and w2["show_n"] == 0
    assert (w2["follow_up_24h_rate"], w2["follow_up_n"]) == (1.0, 1)


def test_effort_feedback_empty_week_and_unknown_rep(data):
    e = effort_feedback(data, "r2")
    w2 = e.iloc[1]
    assert w2["activities"] == 0 and np.isnan(w2["mix_calls"]) and np.isnan(w2["objection_share"])
    assert pd.isna(w2["top_theme"])
    with pytest.raises(ValueError, match="nobody"):
        effort_feedback(data, "nobody")


def test_results_do_not_depend_on_row_order(data):
    before_t = feedback_themes(data)
    before_e = effort_feedback(data, "r1")
    data.activities = data.activities.sample(frac=1.0, random_state=3).reset_index(drop=True)
    pd.testing.assert_frame_equal(feedback_themes(data), before_t)
    pd.testing.assert_frame_equal(effort_feedback(data, "r1"), before_e)
