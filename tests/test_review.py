"""Tests of coachkit.review: every section on small crafted datasets with hand-computed values."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coachkit import SalesData, review
from coachkit.kpis import registry
from coachkit.review.compare import change
from coachkit.stats import wilson

# Window used throughout: as_of Friday 2024-06-14, one week -> Mon 10 Jun .. Fri 14 Jun;
# the prior window is Mon 3 Jun .. Fri 7 Jun.
AS_OF = "2024-06-14"


def _act(i, rep, typ, when, outcome=None, account=None, notes=None, score=None, duration=None):
    return {
        "activity_id": f"a{i}",
        "rep_id": rep,
        "activity_type": typ,
        "occurred_at": pd.Timestamp(when),
        "outcome": outcome,
        "account_id": account,
        "notes": notes,
        "feedback_score": score,
        "duration_s": duration,
    }


def _reps() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "rep_id": ["r1", "r2", "r3"],
            "name": ["Ann <b>Lee</b>", "Bo Chen", "Cy Dee"],
            "team": ["East", "East", "East"],
            "role": ["SDR", "SDR", "AE"],
            "manager": ["Max", "Max", "Max"],
            "hired_at": pd.to_datetime(["2020-01-06", "2020-01-06", "2020-01-06"]),
        }
    )


def crafted() -> SalesData:
    """r1: 10 calls with an outcome this week (2 connected), 5 last week (1 connected); r2: 4/8 this week."""
    rows = []
    i = 0

    def add(*args, **kw):
        nonlocal i
        i += 1
        rows.append(_act(i, *args, **kw))

    # r1 this window (Mon 10 .. Fri 14 June)
    add("r1", "call", "2024-06-10 09:00", "connected", "A", notes="Price is too expensive for them", score=4)
    add("r1", "email", "2024-06-10 12:00", "sent", "A")  # follow-up on A within 24 h
    add("r1", "call", "2024-06-11 10:00", "connected", "B", notes="Asked for a demo next week", score=2)
    for k in range(8):
        add("r1", "call", f"2024-06-12 {9 + k:02d}:00", "no_answer", f"X{k}")
    add("r1", "call", "2024-06-12 17:30", None, "Y")  # no outcome: a dial that did not connect (connect rate 2/11)
    add("r1", "task", "2024-06-13 09:00", "completed", "B")  # a task is not a follow-up
    # r1 prior window (Mon 3 .. Fri 7 June)
    add("r1", "call", "2024-06-03 09:00", "connected", "P", notes="Happy with current vendor", score=5)
    for k in range(4):
        add("r1", "call", f"2024-06-04 {9 + k:02d}:00", "voicemail", f"Q{k}")
    # r2 this window: 4 connected of 8
    for k in range(8):
        add("r2", "call", f"2024-06-11 {9 + k:02d}:00", "connected" if k < 4 else "busy", f"R{k}")
    # r3 (other role) this window
    add("r3", "meeting", "2024-06-12 10:00", "held", "Z", notes="Good meeting", score=3)
    acts = pd.DataFrame(rows)
    deals = pd.DataFrame(
        {
            "deal_id": ["d1", "d2", "d3"],
            "rep_id": ["r1", "r1", "r1"],
            "account_id": ["A", "B", "P"],
            "created_at": pd.to_datetime(["2024-06-10 11:00", "2024-06-11 11:00", "2024-05-01 10:00"]),
            "closed_at": pd.to_datetime([None, "2024-06-13 12:00", "2024-06-12 12:00"]),
            "stage": ["discovery", "closed_won", "closed_lost"],
            "amount": [100.0, 200.0, 300.0],
            "is_won": [None, True, False],
            "is_closed": [False, True, True],
        }
    )
    return SalesData.from_frames(acts, _reps(), deals)


@pytest.fixture(scope="module")
def data() -> SalesData:
    return crafted()


@pytest.fixture(scope="module")
def window(data) -> review.Window:
    return review.review_window(data, AS_OF, 1)


@pytest.fixture(scope="module")
def team(data, window) -> review.Team:
    return review.team_tables(data, "r1", window)


# ---------------------------------------------------------------- window


def test_review_window_is_calendar_weeks_ending_on_as_of(data) -> None:
    w = review.review_window(data, "2024-06-14", 2)
    assert (w.start, w.end) == (pd.Timestamp("2024-06-03"), pd.Timestamp("2024-06-14"))
    assert (w.prior_start, w.prior_end) == (pd.Timestamp("2024-05-20"), pd.Timestamp("2024-05-31"))
    assert w.label == "Mon 03 Jun – Fri 14 Jun 2024 (2 weeks)"
    # a Sunday as_of gives whole weeks; a Monday a one-day last week
    assert review.review_window(data, "2024-06-16", 1).start == pd.Timestamp("2024-06-10")
    assert review.review_window(data, "2024-06-10", 1).start == pd.Timestamp("2024-06-10")
    # empty: the date of the latest activity (Fri 14 June has none; the latest is Thu 13 June)
    assert review.review_window(data, "", 1).end == pd.Timestamp("2024-06-13")
    assert w.working_days(data.playbook) == 10


@pytest.mark.parametrize(("as_of", "weeks", "match"), [("soon", 1, "as_of must be a date"), ("", 0, "at least 1")])
def test_review_window_rejects_bad_input(data, as_of, weeks, match) -> None:
    with pytest.raises(ValueError, match=match):
        review.review_window(data, as_of, weeks)


def test_focus_as_of_skips_a_weekend_left_but_not_working_days() -> None:
    from coachkit import Playbook

    pb = Playbook.default()
    assert review.focus_as_of(pb, "2024-06-14") == pd.Timestamp("2024-06-16")  # Friday -> Sunday
    assert review.focus_as_of(pb, "2024-06-12") == pd.Timestamp("2024-06-12")  # Wednesday stays


def test_team_is_same_team_and_role(data, team) -> None:
    assert team.peers == ["r1", "r2"]
    assert team.group == "East SDRs"


# ---------------------------------------------------------------- header


def test_header_names_rep_window_and_freshness(data, window) -> None:
    sec = review.header(data, "r1", window)
    table = dict(zip(sec.frames["header"][""], sec.frames["header"]["value"], strict=True))
    assert table["Rep"] == "Ann <b>Lee</b> (r1)"
    assert table["Team"] == "East" and table["Role"] == "SDR" and table["Manager"] == "Max"
    assert table["Tenure"] == "4 years 5 months in post (hired Mon 06 Jan 2020)"
    assert table["Window"] == "Mon 10 Jun – Fri 14 Jun 2024 (1 week)"
    assert "1 day before the window ends" in table["Data"]
    assert table["Rep's last activity"] == "Thu 13 Jun 2024 09:00"
    html = review.section_html(sec, level=0)
    assert "Ann &lt;b&gt;Lee&lt;/b&gt;" in html and "<b>Lee" not in html
    # one header line: name, team and role, tenure, window; the details collapsed under it
    assert html.startswith(
        '<header class="ck-head"><h1 class="ck-h1">Ann &lt;b&gt;Lee&lt;/b&gt; <span class="ck-facts">East SDR · '
        "4 years 5 months in post · Mon 10 Jun – Fri 14 Jun 2024 (1 week)</span></h1></header>"
    )
    assert "The data ends on Thu 13 Jun 2024, 1 day before this window does." in sec.sentences
    assert '<details class="ck-details"><summary>About this review' in html
    linked = review.section_html(review.header(data, "r1", window, links=review.LINKS), level=0)
    assert (
        '<nav class="ck-links"><a href="index.html">All reps</a> · <a href="definitions.html">Definitions</a></nav>'
        in linked
    )


def test_header_of_a_new_hire_says_ramping(window) -> None:
    d = crafted()
    d.reps.loc[d.reps["rep_id"] == "r1", "hired_at"] = pd.Timestamp("2024-05-27")
    sec = review.header(d, "r1", window)
    tenure = sec.frames["header"].set_index("")["value"]["Tenure"]
    # 14 June - 27 May = 18 days -> tenure week 3, ramp factor 0.5 in the default playbook
    assert tenure == "week 3 since hire (hired Mon 27 May 2024); ramping: targets at 50% of full"
    assert "week 3 since hire, ramping: targets at 50% of full" in review.section_html(sec, level=0)


# ---------------------------------------------------------------- summary


def test_summary_values_this_prior_team_target(data, window, team) -> None:
    sec = review.summary(data, "r1", window, team=team)
    s = sec.frames["summary"].set_index("kpi")
    cr = s.loc["connect_rate"]
    assert (cr["numerator"], cr["n"], cr["value"]) == (2, 11, 2 / 11)
    lo, hi = wilson(2, 11)
    assert cr["ci_low"] == pytest.approx(lo) and cr["ci_high"] == pytest.approx(hi)
    assert cr["prior"] == pytest.approx(1 / 5) and cr["prior_n"] == 5
    assert cr["team_median"] == pytest.approx((2 / 11 + 0.5) / 2)  # r1 2/11, r2 4/8
    assert cr["target"] == 0.10 and cr["target_kind"] == "playbook benchmark"
    conv = s.loc["conversations"]
    assert (conv["value"], conv["prior"]) == (2, 1)
    assert conv["target"] == 6 * 5  # default SDR target: 6 a working day x 5 working days
    assert conv["team_median"] == pytest.approx((2 + 4) / 2)
    fu = s.loc["follow_up_24h_rate"]
    assert (fu["numerator"], fu["n"]) == (1, 2)  # A emailed 3 h later; B only got a task
    fs = s.loc["feedback_score"]
    assert (fs["value"], fs["n"], fs["prior"]) == (3.0, 2, 5.0)
    # t interval of [4, 2]: 3 ± t(0.975, 1) * sqrt(2) / sqrt(2)
    assert fs["ci_high"] == pytest.approx(3 + 12.7062047, rel=1e-6)
    notes = s.loc["notes_coverage"]
    assert (notes["numerator"], notes["n"]) == (2, 2)


def test_summary_sentences_carry_numbers_n_and_intervals(data, window, team) -> None:
    frame = review.summary(data, "r1", window, team=team).frames["summary"]
    focus = pd.DataFrame(
        [{"kpi": "calls", "label": "Calls", "action": "Block two call sessions a day."}],
        columns=["kpi", "label", "action"],
    )
    text = review.summary_sentences(frame, window, focus_frame=focus, team_group="East SDRs")
    joined = "\n".join(text)
    assert "Connect rate 18% (2/11 calls, 95% CI 5–48%)" in joined
    assert "East SDRs median 34%" in joined
    assert "Conversations: 2 in the window" in joined
    assert "below the role target of 30" in joined
    assert text[-1] == "Next week: work on calls. Block two call sessions a day."
    # order: effort, outcomes, follow-up, notes, feedback, next week
    heads = [t.split()[0] for t in text]
    assert heads == ["Effort:", "Conversations:", "Connect", "Follow-up", "Notes", "Feedback", "Next"]


def test_change_against_prior_uses_tests_at_5_percent() -> None:
    assert change("rate", 50, 100, 10, 100) == "up"
    assert change("rate", 5, 10, 4, 10) == "same"
    assert change("rate", 1, 0, 1, 5) == ""
    assert change("count", 100, 0, 40, 0, 5, 5) == "up"
    assert change("count", 10, 0, 12, 0, 5, 5) == "same"


def test_rate_text_and_zero_denominator() -> None:
    assert review.rate_text(12, 150, noun="calls") == "8% (12/150 calls, 95% CI 5–13%)"
    assert review.rate_text(0, 0, noun="calls") == "no data (n = 0 calls)"
    assert review.pct(0.004) == "0.4%" and review.pct(np.nan) == "–"


def test_headline_records_for_the_index(data, window, team) -> None:
    frame = review.summary(data, "r1", window, team=team).frames["summary"]
    items = {i["key"]: i for i in review.headline(frame)}
    assert list(items) == list(review.HEADLINE_KPIS)
    assert items["connect_rate"]["format"] == "pct" and items["connect_rate"]["n"] == 11
    assert items["conversations"]["format"] == "int" and "n" not in items["conversations"]
    assert items["activity_score"]["format"] == "int" and "low" not in items["activity_score"]
    rec = review.index_summary(data, "r1", window, frame, pd.DataFrame(columns=["kpi", "label"]))
    json.dumps(rec, allow_nan=False)  # JSON-ready: NaN became None
    assert rec["window"] == {"start": "2024-06-10", "end": "2024-06-14"}
    assert rec["focus"] == [] and rec["attention"] == 0.0 and rec["active"] is True
    assert "comparison" not in rec and "absent_weeks" not in rec
    focus = pd.DataFrame(
        {"kpi": ["calls", "emails"], "label": ["Calls", "Emails"], "value": [1.0, 2.0], "std_gap": [2.5, 0.4]}
    )
    assert review.index_summary(data, "r1", window, frame, focus)["attention"] == 3.5  # 2.5 + at least 1


# ---------------------------------------------------------------- effort and outcomes


def test_effort_volume_daily_targets_and_active_days(data, window, team) -> None:
    sec = review.effort(data, "r1", window, team=team)
    vol = sec.frames["volume"].set_index("kpi")
    assert vol.loc["calls", "count"] == 11 and vol.loc["emails", "count"] == 1
    assert vol.loc["calls", "target"] == 50 * 5
    daily = sec.frames["daily"]
    calls = daily[daily["activity_type"] == "call"].set_index("period_start")
    assert calls["count"].tolist() == [1, 1, 9, 0, 0]  # Mon..Fri, zero days included
    assert calls["target"].tolist() == [50.0] * 5
    meetings = daily[daily["activity_type"] == "meeting"]
    assert meetings["target"].iloc[0] == 5 / 5  # per-week target spread over five days
    assert "Active on 4 of 5 working days" in "\n".join(sec.sentences)
    mix = sec.frames["mix"]
    mine = mix[mix["who"] == "this rep"].set_index("activity_type")
    assert mine.loc["call", "share"] == pytest.approx(11 / 13) and mine.loc["other", "n"] == 1
    # fewer charts: daily volume and the weekday x hour pattern (the mix is the table, the trends the sparklines)
    assert len(sec.charts) == 2


def test_outcomes_rates_rep_and_pooled_team(data, window, team) -> None:
    sec = review.outcomes(data, "r1", window, team=team)
    rates = sec.frames["rates"]
    cr = rates[rates["kpi"] == "connect_rate"].set_index("who")
    assert (cr.loc["this rep", "k"], cr.loc["this rep", "n"]) == (2, 11)
    assert (cr.loc["team: other East SDRs", "k"], cr.loc["team: other East SDRs", "n"]) == (4, 8)
    assert sec.sentences[0] == "2 conversations: 2 connected calls and 0 held meetings (peers' median 3)."
    table = sec.tables[0].set_index("Rate")
    assert table.loc["Connect rate", "This rep"] == "18% (2/11 calls, 95% CI 5–48%)"  # connected / dials
    assert table.loc["Connect rate", "Other East SDRs (pooled)"] == "50% (4/8, 95% CI 22–78%)"
    assert sec.charts  # the outcome mix
    mix = sec.frames["outcome_mix"].set_index(["activity_type", "outcome"])["n"]
    assert mix[("call", "not logged")] == 1 and mix[("call", "no_answer")] == 8


# ---------------------------------------------------------------- follow-up


def test_open_follow_ups_definition() -> None:
    rows = [
        _act(1, "r", "call", "2024-06-10 10:00", "connected", "A"),
        _act(2, "r", "email", "2024-06-10 12:00", "sent", "A"),  # A followed up
        _act(3, "r", "call", "2024-06-11 10:00", "connected", "B", notes="call me"),  # B open
        _act(4, "r", "meeting", "2024-06-12 09:00", "held", "C"),
        _act(5, "r", "follow_up", "2024-06-12 11:00", "completed", "C"),
        _act(6, "r", "call", "2024-06-13 15:00", "connected", "C"),  # C: latest conversation not followed
        _act(7, "r", "call", "2024-06-05 10:00", "connected", "D"),  # D: before the window
        _act(8, "r", "call", "2024-06-14 15:00", "connected", "E"),
        _act(9, "r", "email", "2024-06-15 09:00", "sent", "E"),  # after the window end: ignored
        _act(10, "r", "call", "2024-06-11 11:00", "connected", "F"),
        _act(11, "r", "task", "2024-06-11 12:00", "completed", "F"),  # a task is no follow-up
        _act(12, "r", "call", "2024-06-11 13:00", "no_answer", "G"),  # not a conversation
        _act(13, "r", "call", "2024-06-11 14:00", "connected", None),  # no account
    ]
    acts = pd.DataFrame(rows)
    out = review.open_follow_ups(acts, "2024-06-10", "2024-06-14")
    assert out["account_id"].tolist() == ["B", "F", "C", "E"]
    assert out["days_waiting"].tolist() == [3, 3, 1, 0]  # whole days until Sat 15 June 00:00
    assert out["via"].tolist() == ["call"] * 4
    assert out.set_index("account_id").loc["C", "conversations"] == 2
    assert out.set_index("account_id").loc["B", "note"] == "call me"
    # with the window ending Sat 15 June, E's email counts
    later = review.open_follow_ups(acts, "2024-06-10", "2024-06-15")
    assert "E" not in later["account_id"].tolist()
    assert review.open_follow_ups(acts.iloc[:0], "2024-06-10", "2024-06-14").empty


def test_follow_up_section(data, window, team) -> None:
    sec = review.follow_up(data, "r1", window, team=team)
    assert sec.frames["open"]["account_id"].tolist() == ["B"]
    text = "\n".join(sec.sentences)
    assert sec.sentences[0] == (
        "Followed up within 24 hours after 50% (1/2 conversations with an account, 95% CI 9–91%); against the "
        "playbook benchmark of 80%; peers' median 25%."
    )  # no 'below' and no 'up': the judgement is the calibrated focus's, the change the scorecard's
    assert "1 account had a conversation in the window" in text


# ---------------------------------------------------------------- feedback


def test_notable_notes_themes_extremes_and_escaping(data, window) -> None:
    d = crafted()
    hostile = "<script>alert('x')</script> says the budget is too much"
    d.activities.loc[d.activities["notes"] == "Price is too expensive for them", "notes"] = hostile
    acts = d.activities[d.activities["rep_id"] == "r1"]
    acts = acts[(acts["occurred_at"] >= window.start) & (acts["occurred_at"] < window.end_exclusive)]
    notes = review.notable_notes(acts, d.playbook.themes)
    # the demo note (Tue) is the latest signal; the price note (Mon) the latest price objection
    assert notes["why"].tolist() == [
        "latest demo requested buying signal; lowest score",
        "latest price objection; highest score",
    ]
    assert notes["themes"].tolist() == ["demo requested", "price"]
    sec = review.feedback(d, "r1", window)
    html = review.section_html(sec)
    assert "&lt;script&gt;alert('x')&lt;/script&gt;" in html
    assert "<script>" not in html


def test_notable_notes_clip_long_notes() -> None:
    acts = pd.DataFrame([_act(1, "r", "call", "2024-06-10 10:00", "connected", "A", notes="price " + "x" * 400)])
    from coachkit import Playbook

    note = review.notable_notes(acts, Playbook.default().themes)["note"].iloc[0]
    assert len(note) == 280 and note.endswith("…")


def test_feedback_themes_against_team(data, window, team) -> None:
    sec = review.feedback(data, "r1", window, team=team)
    th = sec.frames["themes"]
    mine = th[th["who"] == "this rep"].set_index("theme")
    assert mine.loc["price", "count"] == 1 and mine.loc["price", "n"] == 2  # 1 of 2 noted conversations
    assert mine.loc["demo requested", "value"] == 0.5
    text = "\n".join(sec.sentences)
    assert "Notes written after 100% (2/2 conversations" in text
    assert "Feedback score 3.0 out of 5 over 2 scored activities" in text
    # 2 noted conversations are fewer than the playbook's min_n (8): no theme chart, a sentence instead
    assert "Only 2 conversations with notes in the window: too few to compare themes" in text
    assert not any("Themes" in str(c.to_dict().get("title", "")) for c in sec.charts)


# ---------------------------------------------------------------- effort vs feedback, pipeline


def test_effort_vs_feedback_is_exploratory_with_n(data, window) -> None:
    sec = review.effort_vs_feedback(data, "r1", window, history_weeks=2)
    assert len(sec.frames["weekly"]) == 2
    text = "\n".join(sec.sentences)
    assert (
        "Exploratory, on the peer group's last 2 weeks (2 reps, 2 rep-weeks), one week later: not estimated (only 2 reps with pairs (need 4))."
        in text
    )
    assert "Exploratory" in text


def test_pipeline_counts_win_rate_and_stages(data, window, team) -> None:
    sec = review.pipeline(data, "r1", window, team=team)
    text = "\n".join(sec.sentences)
    assert "2 deals created in the window (prior window 0" in text
    assert "worth 300 in total" in text
    assert "Win rate 50% (1/2 deals closed in the window" in text  # d2 won, d3 lost
    assert "Sales cycle of the deals won in the window: 2 days" in text
    stages = sec.frames["stages"].set_index("stage")["n"]
    assert stages["open: discovery"] == 1 and stages["won in window"] == 1 and stages["lost in window"] == 1


# ---------------------------------------------------------------- focus


def test_compare_focus_kept_new_resolved() -> None:
    previous = [
        {"kpi": "connect_rate", "label": "Connect rate", "value": 0.04, "evidence": "then 4%"},
        {"kpi": "notes_coverage", "label": "Notes coverage", "value": 0.3, "evidence": "then 30%"},
    ]
    current = pd.DataFrame(
        [
            {"kpi": "calls", "label": "Calls", "value": 400.0, "evidence": "now 400"},
            {"kpi": "connect_rate", "label": "Connect rate", "value": 0.05, "evidence": "now 5%"},
        ]
    )
    out = review.compare_focus(previous, current)
    assert out[["kpi", "status"]].values.tolist() == [
        ["calls", "new"],
        ["connect_rate", "kept"],
        ["notes_coverage", "not clearly behind"],  # without this window's values, "resolved" cannot be claimed
    ]
    assert out.set_index("kpi").loc["connect_rate", "previous_value"] == 0.04
    assert np.isnan(out.set_index("kpi").loc["notes_coverage", "value"])


@pytest.mark.parametrize(
    ("value", "flagged", "status"),
    [
        (0.64, False, "resolved"),  # 0.64 >= 0.7 - 10% of 0.7 = 0.63: back within range
        (0.62, False, "not clearly behind"),  # below the range, but no longer clearly behind
        (0.5, True, "out of top"),  # still clearly behind, others rank before it
        (np.nan, False, "not judged"),
    ],
)
def test_compare_focus_says_resolved_only_when_back_within_range(value, flagged, status) -> None:
    previous = [{"kpi": "notes_coverage", "label": "Notes coverage", "value": 0.3, "evidence": "then 30%"}]
    current = pd.DataFrame(columns=["kpi", "label", "value", "evidence"])
    now = pd.DataFrame({"kpi": ["notes_coverage"], "value": [value], "benchmark_value": [0.7], "flagged": [flagged]})
    out = review.compare_focus(previous, current, now, min_gap=0.1)
    assert out["status"].tolist() == [status]
    words = review.focus_history.status_words(status, 3)
    assert (
        words
        == {
            "resolved": "resolved: back within range",
            "not clearly behind": "no longer clearly behind, but not yet back within range",
            "out of top": "no longer in the top 3, but still behind",
            "not judged": "not judged this time (nothing to compare with in this window)",
        }[status]
    )
    # a lower-is-better KPI is within range when at most 10% above its benchmark
    low = pd.DataFrame({"kpi": ["cycle_days"], "value": [32.0], "benchmark_value": [30.0], "flagged": [False]})
    prev = [{"kpi": "cycle_days", "label": "Sales cycle", "value": 40.0}]
    assert review.compare_focus(prev, current, low)["status"].tolist() == ["resolved"]


@settings(max_examples=50, deadline=None)
@given(st.sets(st.sampled_from(list(registry)[:12])), st.lists(st.sampled_from(list(registry)[:12]), unique=True))
def test_compare_focus_partitions_areas(prev, now) -> None:
    previous = [{"kpi": k, "label": k, "value": 1.0} for k in prev]
    current = pd.DataFrame(
        {"kpi": now, "label": now, "value": 1.0, "evidence": ""}, columns=["kpi", "label", "value", "evidence"]
    )
    out = review.compare_focus(previous, current)
    status = dict(zip(out["kpi"], out["status"], strict=True))
    assert len(out) == len(set(now) | prev)
    assert all(status[k] == ("kept" if k in prev else "new") for k in now)
    assert all(status[k] == "not clearly behind" for k in prev - set(now))


def test_previous_focus_from_summary() -> None:
    assert review.previous_focus(None) == ([], {})
    items, win = review.previous_focus(
        {"focus": [{"kpi": "calls", "label": "Calls"}, {"bad": 1}], "window": {"start": "a", "end": "b"}}
    )
    assert items == [{"kpi": "calls", "label": "Calls"}] and win == {"start": "a", "end": "b"}


def test_focus_section_with_and_without_previous(data, window) -> None:
    sec = review.focus(data, "r1", window, previous=None)
    assert "previous review" not in "\n".join(sec.sentences)
    prev = [
        {"kpi": "win_rate", "label": "Win rate", "value": 0.1, "evidence": "Win rate 10%"},
        {"kpi": "connect_rate", "label": "Connect rate", "value": 0.05, "evidence": "Connect rate 5%"},
    ]
    sec = review.focus(data, "r1", window, previous=prev, previous_window={"start": "2024-06-03", "end": "2024-06-07"})
    cmp = sec.frames["comparison"].set_index("kpi")
    # r1's connect rate is now 2 of 11 dials (18%) against the 10% benchmark: back within range; the win rate has
    # no peer with a closed deal to compare with
    assert cmp.loc["connect_rate", "status"] == "resolved" and cmp.loc["win_rate", "status"] == "not judged"
    assert (
        "Since the previous review (Mon 03 Jun 2024 – Fri 07 Jun 2024): Win rate not judged this time (nothing to "
        "compare with in this window); Connect rate resolved: back within range." in sec.sentences
    )
    assert sec.frames["focus"].empty  # 2 SDRs and one week: nothing is clearly behind
    records = review.focus_record(sec.frames["focus"])
    json.dumps(records, allow_nan=False)
    assert [r["kpi"] for r in records] == sec.frames["focus"]["kpi"].tolist()


# ---------------------------------------------------------------- definitions, rendering


def test_definitions_are_the_registry_definitions() -> None:
    sec = review.definitions(["connect_rate", "calls", "connect_rate", "unknown"])
    frame = sec.frames["kpis"]
    assert frame["Name"].tolist() == ["connect_rate", "calls"]
    assert frame["Definition"].tolist() == [registry["connect_rate"].definition, registry["calls"].definition]
    assert "No follow-up yet" in sec.frames["terms"]["Term"].tolist()


def test_section_html_escapes_text_tables_and_headings() -> None:
    sec = review.Section("x", "T <i>")
    sec.add("a <b>", review.Heading("h & <h>"), review.Table(pd.DataFrame({"c<": ["<td>"]}), "cap <x>"))
    html = review.section_html(sec)
    for raw in ("<b>", "<i>", "<h>", "<td><td>", "<x>"):
        assert raw not in html
    assert "a &lt;b&gt;" in html and "&lt;td&gt;" in html and "cap &lt;x&gt;" in html


# ---------------------------------------------------------------- the sample team

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"


@pytest.fixture(scope="module")
def sample():
    if not (SAMPLE / "reps.parquet").exists() and not (SAMPLE / "reps.csv").exists():
        pytest.skip(f"the sample dataset is not at {SAMPLE}")
    from coachkit.load import load

    return load(SAMPLE)


def test_every_section_is_filled_for_a_typical_sample_rep(sample) -> None:
    rep = "R001"
    w = review.review_window(sample, "", 4)
    team = review.team_tables(sample, rep, w)
    summary = review.summary(sample, rep, w, team=team)
    assert summary.frames["summary"]["value"].notna().all()
    sections = [
        review.header(sample, rep, w),
        summary,
        review.effort(sample, rep, w, team=team),
        review.outcomes(sample, rep, w, team=team),
        review.follow_up(sample, rep, w, team=team),
        review.feedback(sample, rep, w, team=team),
        review.effort_vs_feedback(sample, rep, w),
        review.pipeline(sample, rep, w, team=team),
        review.focus(sample, rep, w, previous=None),
        review.definitions(review.SHOWN_KPIS),
    ]
    for sec in sections:
        assert sec.parts, sec.key
    for sec in sections[2:8]:
        assert (sec.charts or sec.tables) and sec.sentences, sec.key
    assert [len(sec.charts) for sec in sections[2:8]] == [2, 1, 0, 0, 0, 0]  # fewer, better charts
    assert len(review.summary_sentences(summary.frames["summary"], w)) == len(review.HEADLINE_KPIS)


def test_kpi_trend_zoomed_rate_axis_and_score_target_label() -> None:
    """The two small charts.kpi_trend additions the review relies on."""
    from coachkit import charts

    weeks = pd.to_datetime(["2024-06-03", "2024-06-10"])
    rate = pd.DataFrame({"period_start": weeks, "value": [0.04, 0.06], "ci_low": [0.02, 0.04]})
    rate = rate.assign(ci_high=[0.08, 0.09], n=[100, 120])
    spec = charts.kpi_trend(rate, title="t", unit="%", rate_max=0.2).to_dict()
    domains = [
        layer["encoding"]["y"].get("scale", {}).get("domain") for layer in spec["layer"] if "y" in layer["encoding"]
    ]
    assert [0, 0.2] in domains
    score = pd.DataFrame({"period_start": weeks, "value": [80.0, 95.0]})
    spec = charts.kpi_trend(score, title="t", unit="score", target=100.0).to_dict()
    texts = [layer["encoding"].get("text", {}).get("value") for layer in spec["layer"]]
    assert "target 100" in texts


def test_trend_text_only_when_the_interval_says_so(monkeypatch) -> None:
    import coachkit.coaching
    from coachkit.review.sections.effort import trend_text

    d = crafted()
    w = review.review_window(d, AS_OF, 1)
    out = {"direction": "falling", "weeks": 12, "weekly_change": -0.0412, "ci_low": -0.0726, "ci_high": -0.0101}
    monkeypatch.setattr(coachkit.coaching, "weekly_trend", lambda *a, **k: out)
    # e^-0.0726 - 1 = -7.0%, e^-0.0101 - 1 = -1.0%
    assert (
        trend_text(d, "r1", w)
        == "Over the last 12 full weeks: activities falling by about 4% a week (95% CI 1% to 7%)."
    )
    monkeypatch.setattr(coachkit.coaching, "weekly_trend", lambda *a, **k: out | {"direction": "no clear trend"})
    assert trend_text(d, "r1", w).startswith("Over the last 12 full weeks: no clear trend in activities")
    monkeypatch.setattr(coachkit.coaching, "weekly_trend", lambda *a, **k: out | {"direction": "", "weeks": 2})
    assert trend_text(d, "r1", w) == ""  # too few weeks: nothing said


def test_summary_ends_on_next_week_without_a_spearman_trend(data, window, team) -> None:
    weekly = review.history(data, "r1", window, weeks=2)
    assert weekly["period_start"].tolist() == [pd.Timestamp("2024-06-03"), pd.Timestamp("2024-06-10")]
    focus = pd.DataFrame(columns=["kpi", "label", "action"])
    sec = review.summary(data, "r1", window, team=team, focus_frame=focus, weekly=weekly)
    assert not any("Spearman" in t for t in sec.sentences)  # two weeks: no trend at all
    assert sec.sentences[-1].startswith("Nothing is clearly behind once week-to-week chance is allowed for")


def test_show_displays_escaped_html_and_charts_as_the_svg_renderer_does(monkeypatch) -> None:
    import altair as alt
    import IPython.display

    from coachkit import charts

    shown: list[tuple[object, dict]] = []
    monkeypatch.setattr(IPython.display, "display", lambda obj, **kw: shown.append((obj, kw)))
    chart = charts.rate_bars(
        pd.DataFrame({"label": ["<b>r1</b>"], "value": [0.25], "ci_low": [0.1], "ci_high": [0.5], "n": [8]})
    )
    sec = review.Section("s", "A & B").add(review.Text("x < y"), review.Chart(chart), review.Text("after"))
    review.show(sec, number=2)
    assert [type(o).__name__ for o, _ in shown] == ["HTML", "dict", "HTML"]
    first, (bundle, kw), last = shown[0][0], shown[1], shown[2][0]
    assert '<h2 id="ck-s">2. A &amp; B</h2>' in first.data and "<p>x &lt; y</p>" in first.data
    assert last.data == "<p>after</p>"
    assert kw == {"raw": True}
    assert set(bundle) == {"image/svg+xml", "text/plain"}
    assert bundle["text/plain"] == "alt.LayerChart(...)"
    renderer = alt.renderers.active
    try:
        alt.renderers.enable("svg")
        expected = chart._repr_mimebundle_()["image/svg+xml"]
    finally:
        alt.renderers.enable(renderer)
    assert bundle["image/svg+xml"] == expected
    assert "&lt;b&gt;r1&lt;/b&gt;" in expected


def test_team_weekly_gives_the_reps_rows_and_the_median_of_peers_with_a_value():
    def rows(week, values):
        return pd.DataFrame(
            {
                "rep_id": list(values),
                "period_start": pd.Timestamp(week),
                "kpi": "connect_rate",
                "value": list(values.values()),
                "denominator": [0.0 if pd.isna(v) else 10.0 for v in values.values()],
            }
        )

    prior = rows("2026-11-02", {"A": 0.1, "B": 0.3, "C": float("nan")})
    this = rows("2026-11-09", {"A": float("nan"), "B": 0.2, "C": 0.6})
    team = review.Team("A", ["A", "B", "C"], this, prior, pd.DataFrame(), "SDRs")
    mine, med = team.weekly("connect_rate")
    assert mine["rep_id"].tolist() == ["A", "A"]
    # week 1: median of A 0.1, B 0.3 (C has no denominator) = 0.2; week 2: median of B 0.2, C 0.6 = 0.4
    assert med["period_start"].tolist() == [pd.Timestamp("2026-11-02"), pd.Timestamp("2026-11-09")]
    assert med["value"].tolist() == pytest.approx([0.2, 0.4])
    assert team.weekly("feedback_score")[1].empty


def test_pipeline_amounts_carry_their_currency(data, window, team) -> None:
    import dataclasses

    from coachkit import Playbook

    d = crafted()
    d.deals["currency"] = ["GBP", "GBP", "EUR"]  # r1's deals created in the window (d1, d2) are in GBP
    assert "worth 300 GBP in total" in review.pipeline(d, "r1", window).sentences[0]
    d.deals["currency"] = ["GBP", "EUR", "EUR"]  # mixed: no currency claimed
    assert "worth " in review.pipeline(d, "r1", window).sentences[0]
    assert " GBP" not in review.pipeline(d, "r1", window).sentences[0]
    based = dataclasses.replace(d, playbook=Playbook.from_dict({"currency": {"base": "EUR", "rates": {"GBP": 1.17}}}))
    assert " EUR in total" in review.pipeline(based, "r1", window).sentences[0]


def test_peer_medians_carry_their_n(data, window, team) -> None:
    table = review.effort(data, "r1", window, team=team).tables[0]
    assert "Peers' median (2 reps)" in table.columns  # r1 and r2, the East SDRs employed in the window
