"""The first screen of a review: scorecard and focus before every other section, what the data cannot support is
never a number, a target or a focus area, "Going well" by hand, the scorecard's KPIs and HTML, and the page of a
rep with no activity in the window."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from coachkit import Playbook, SalesData, review
from coachkit.coverage import coverage
from coachkit.review.going_well import going_well
from coachkit.review.scorecard import SCORECARD_MAX, Scorecard, scorecard_kpis

AS_OF = "2024-06-28"  # a Friday: the window is Mon 3 .. Fri 28 June (4 weeks), the prior Mon 6 .. Fri 31 May


#: The test's playbook: SDRs are asked for 50 calls and 5 emails a day and a meeting a week; the default benchmarks
#: stay (connect rate 10%, show rate 80%, follow-up within 24 h 80%, notes coverage 70%).
PLAYBOOK = Playbook.from_dict(
    {"targets": {"SDR": {"per_day": {"calls": 50, "emails": 5}, "per_week": {"meetings": 1}}}}
)


def team_data(*, outcomes: bool = True, times: bool = True, emails: bool = True) -> SalesData:
    """Four East SDRs over 8 weeks (Mon 6 May .. Fri 28 June 2024), every working day: ``calls`` calls (1 in
    ``every`` connected, with a note and an email to the same account an hour later; the rest no answer), 5 emails
    and a meeting on Wednesdays. r1 makes 40 calls a day and connects 1 in 40; r2-r4 make 50 and connect 1 in 10.
    ``idle`` is employed and logs nothing."""
    days = pd.bdate_range("2024-05-06", "2024-06-28")
    rows = []
    plan = {"r1": (40, 40), "r2": (50, 10), "r3": (50, 10), "r4": (50, 10)}
    n = 0
    for rep, (calls, every) in plan.items():
        for d in days:
            for i in range(calls):
                n += 1
                at = d + pd.Timedelta(hours=9, minutes=5 * i) if times else d
                hit = i % every == 0
                outcome = ("connected" if hit else "no_answer") if outcomes else None
                rows.append((rep, "call", at, outcome, f"acc{n}", "Asked about price" if hit and outcomes else None))
                if hit and emails:
                    rows.append(
                        (rep, "email", at + pd.Timedelta(hours=1), "sent" if outcomes else None, f"acc{n}", None)
                    )
            if emails:
                at = d + pd.Timedelta(hours=16) if times else d
                rows += [(rep, "email", at, "sent" if outcomes else None, None, None)] * 5
            if d.weekday() == 2:
                at = d + pd.Timedelta(hours=11) if times else d
                rows.append((rep, "meeting", at, "held" if outcomes else None, None, None))
    acts = pd.DataFrame(rows, columns=["rep_id", "activity_type", "occurred_at", "outcome", "account_id", "notes"])
    acts["activity_id"] = [f"a{i}" for i in range(len(acts))]
    reps = pd.DataFrame(
        {
            "rep_id": ["r1", "r2", "r3", "r4", "idle"],
            "name": ["Ann <Lee>", "Bo", "Cy", "Di", "Ed Idle"],
            "team": "East",
            "role": "SDR",
            "hired_at": pd.Timestamp("2020-01-06"),
        }
    )
    return SalesData.from_frames(acts, reps, None, PLAYBOOK)


def build(data: SalesData, rep: str, *, links: bool = False) -> tuple[review.Section, list[review.Section]]:
    """The first screen and the sections of ``rep``'s review, as the notebook builds them."""
    profile = coverage(data)
    full = data.playbook
    data, _ = review.fit_to_data(data, profile)
    w = review.review_window(data, AS_OF, 4)
    team = review.team_tables(data, rep, w)
    away = review.absences(data, rep, w)
    focus = review.focus(data, rep, w, profile=profile, absences=away, team=team)
    top = review.top(
        data, rep, w, team=team, focus=focus, profile=profile, links=links, original_playbook=full, absences=away
    )
    sections = [
        review.effort(data, rep, w, team=team, profile=profile, absences=away),
        review.outcomes(data, rep, w, team=team, profile=profile),
        review.follow_up(data, rep, w, team=team, profile=profile),
        review.feedback(data, rep, w, team=team, profile=profile),
        review.effort_vs_feedback(data, rep, w, profile=profile),
        review.pipeline(data, rep, w, team=team, profile=profile),
    ]
    return top, sections


@pytest.fixture(scope="module")
def full() -> SalesData:
    return team_data()


@pytest.fixture(scope="module")
def r1(full) -> tuple[review.Section, list[review.Section]]:
    return build(full, "r1", links=True)


def test_scorecard_and_focus_come_before_every_other_section(r1) -> None:
    top, sections = r1
    page = review.section_html(top, level=0) + "".join(
        review.section_html(s, number=i) for i, s in enumerate(sections, 1)
    )
    order = [
        page.index('<header class="ck-head">'),
        page.index('<table class="ck-scorecard">'),
        page.index("<h3>Talk about this week</h3>"),
        page.index("<h3>Going well</h3>"),
        page.index('<nav class="ck-toc">'),
    ]
    assert order == sorted(order)
    first_section = min(page.index(f'<h2 id="ck-{key}">') for key, _ in review.SECTIONS)
    assert order[-1] < first_section
    # the contents link every section below, in order
    assert re.findall(r'<a href="#ck-([a-z_]+)">', page) == [k for k, _ in review.SECTIONS]
    assert '<a href="index.html">All reps</a>' in page and '<a href="definitions.html">Definitions</a>' in page


def test_scorecard_rows_by_hand(r1) -> None:
    top, _ = r1
    card = top.frames["scorecard"].set_index("kpi")
    # the SDR scorecard: KPIs with a target or a benchmark, in priority order, at most 7
    assert list(card.index) == [
        "calls",
        "connect_rate",
        "meetings",
        "meeting_show_rate",
        "follow_up_24h_rate",
        "emails",
        "notes_coverage",
    ]
    # 20 working days x 40 calls; target 50 a day; the peer group is the 4 reps with activity (the idle rep is
    # not compared): the median of 40, 50, 50, 50 calls a working day x 20 days is 1,000
    assert card.loc["calls", "value"] == 800 and card.loc["calls", "target"] == 1000
    assert card.loc["calls", "team_median"] == 1000 and card.loc["calls", "peers_n"] == 4
    assert card.loc["calls", "per_day"] == 40
    assert card.loc["calls", "change_text"] == "no clear change"  # 800 in both windows
    # 8 weeks of series, the window from week 5; every week 200 calls
    assert card.loc["calls", "series"] == [200.0] * 8 and card.loc["calls", "window_from"] == 4
    assert card.loc["connect_rate", "value"] == pytest.approx(20 / 800)
    html = top.parts[0].html() if hasattr(top.parts[0], "html") else ""
    assert "Ann &lt;Lee&gt;" in html
    table = review.section_html(top, level=0)
    assert "<b>800</b>" in table and "40.0/day" in table
    assert "Not in this data" not in table


def test_focus_items_carry_evidence_and_a_next_step(r1) -> None:
    top, _ = r1
    focus = top.frames["focus_focus"]
    # conversations against the peers (no target: 24 against their median of 104), the connect rate against the
    # 10% benchmark, calls against the target of 1,000; most standard errors short first
    assert focus["kpi"].tolist() == ["conversations", "connect_rate", "calls"]
    assert focus["cause"].tolist() == ["both", "default", "short_days"]
    assert focus["kind"].eq("leading").all()
    bullets = [p for p in top.parts if isinstance(p, review.Columns)][0].right
    items = [p for p in bullets if isinstance(p, review.Bullets)][0].items
    assert [b.title for b in items] == focus["label"].tolist()
    assert all("Next step: " in b.text for b in items)


def test_a_kpi_the_data_lacks_is_never_a_number_a_target_or_a_focus() -> None:
    sparse = team_data(outcomes=False, times=False, emails=False)
    top, sections = build(sparse, "r1")
    focus = top.frames["focus_focus"]
    profile = coverage(sparse)
    assert set(focus["kpi"]) <= {"calls", "meetings", "active_days", "follow_ups"}
    assert all(profile.supports(k) == "" for k in focus["kpi"])
    card = top.frames["scorecard"]
    assert card["kpi"].tolist() == ["calls", "meetings"]  # the rest is not in this data
    html = review.section_html(top, level=0)
    assert (
        "Not in this data: Connect rate (the data has no call outcomes); Meeting show rate (the data has no meeting "
        "outcomes); Follow-up within 24 h (the data has no call outcomes); Emails (the data has no emails); Notes "
        "coverage (the data has no notes)." in html
    )
    assert "This data has no emails, follow-ups, call outcomes, meeting outcomes, notes, times of day" in html
    text = "\n".join(t for s in sections for t in s.sentences)
    assert "Conversations: not in this data (the data has no call outcomes)." in text
    assert "When in the day: not in this data (dates without times of day)." in text
    assert "Follow-up within 24 hours: not in this data (the data has no call outcomes)." in text
    assert "Nothing is waiting" not in text and "Busiest hour" not in text
    assert not re.search(r"\b0 conversations\b|Conversations 0", text)
    # no email target anywhere: not in the effort table, not in the activity score's playbook
    effort = sections[0].frames["volume"]
    assert "emails" not in set(effort["kpi"])


def test_going_well_by_hand() -> None:
    rows = pd.DataFrame(
        [
            # ahead: 95% interval 0.30-0.40 wholly above the 0.20 benchmark, lead 50% of it
            {
                "kpi": "connect_rate",
                "label": "Connect rate",
                "kind": "rate",
                "value": 0.35,
                "n": 400.0,
                "ci_low": 0.30,
                "ci_high": 0.40,
                "target": 0.20,
                "target_kind": "playbook benchmark",
                "team_median": 0.25,
                "prior": 0.3,
                "change": "same",
            },
            # improved and not behind
            {
                "kpi": "emails",
                "label": "Emails",
                "kind": "count",
                "value": 500.0,
                "n": 500.0,
                "ci_low": 457.0,
                "ci_high": 546.0,
                "target": 500.0,
                "target_kind": "role target",
                "team_median": 480.0,
                "prior": 400.0,
                "change": "up",
            },
            # improved but still clearly behind: not going well
            {
                "kpi": "calls",
                "label": "Calls",
                "kind": "count",
                "value": 700.0,
                "n": 700.0,
                "ci_low": 649.0,
                "ci_high": 754.0,
                "target": 1000.0,
                "target_kind": "role target",
                "team_median": 900.0,
                "prior": 500.0,
                "change": "up",
            },
            # ahead but by less than 10% of the benchmark
            {
                "kpi": "meetings",
                "label": "Meetings",
                "kind": "count",
                "value": 1070.0,
                "n": 1070.0,
                "ci_low": 1007.0,
                "ci_high": 1136.0,
                "target": 1000.0,
                "target_kind": "role target",
                "team_median": 1000.0,
                "prior": 1000.0,
                "change": "same",
            },
        ]
    )
    items = going_well(rows)
    assert [(b.title, b.text) for b in items] == [
        (
            "Connect rate",
            "35% of 400 calls, clearly ahead of the playbook benchmark of 10%.".replace("10%", "20%"),
        ),
        ("Emails", "up from 400 to 500 on the prior window."),
    ]
    assert going_well(rows, skip=["connect_rate", "emails"]) == []


def test_scorecard_kpis_and_html() -> None:
    pb = Playbook.default()
    assert scorecard_kpis(pb, "SDR") == [
        "calls",
        "conversations",
        "connect_rate",
        "meetings",
        "meeting_show_rate",
        "follow_up_24h_rate",
        "emails",
    ]
    assert scorecard_kpis(pb, "Nobody") == [
        "connect_rate",
        "meeting_show_rate",
        "follow_up_24h_rate",
        "notes_coverage",
    ]  # benchmarks only
    chosen = [
        "emails",
        "calls",
        "emails",
        "no_such_kpi",
        *["meetings"] * 3,
        "follow_ups",
        "notes_coverage",
        "connect_rate",
        "conversations",
        "active_days",
    ]
    assert scorecard_kpis(pb, "SDR", chosen=chosen) == [
        "emails",
        "calls",
        "meetings",
        "follow_ups",
        "notes_coverage",
        "connect_rate",
        "conversations",
    ]
    assert SCORECARD_MAX == 7
    rows = pd.DataFrame(
        [
            {
                "kpi": "calls",
                "label": "Calls <b>",
                "kind": "count",
                "value": 1234.0,
                "target": np.nan,
                "target_kind": "",
                "team_median": 1000.0,
                "change": "down",
                "change_text": "down from 1,500",
                "series": [1.0, np.nan, 3.0],
                "window_from": 1,
                "last_partial": True,
                "per_day": 61.7,
                "peers_n": 5,
                "ci_low": 1165.0,
                "ci_high": 1305.0,
                "n": 1234.0,
            }
        ]
    )
    html = Scorecard(rows, "East <SDRs>", 4, {"Emails": "the data has no emails"}).html()
    assert '<th scope="row">Calls &lt;b&gt;</th>' in html and "<b>1,234</b>" in html
    assert 'title="95% interval 1,165–1,305"' in html and "61.7/day" in html
    assert '<td class="ck-down">▼ down from 1,500</td>' in html
    assert "the 5 reps of the East &lt;SDRs&gt;" in html
    assert '<p class="ck-note">Not in this data: Emails (the data has no emails).</p>' in html
    assert html.count('<svg class="ck-spark"') == 1


def test_a_rep_with_no_activity_gets_a_page_saying_so(full) -> None:
    top, _ = build(full, "idle")
    assert top.values["active"] is False
    text = " ".join(top.sentences)
    assert "Ed Idle logged no activity in this window (Mon 03 Jun – Fri 28 Jun 2024 (4 weeks))." in text
    assert "There is nothing to review" in text
    assert not review.is_active(full, "idle", review.review_window(full, AS_OF, 4))
    assert review.is_active(full, "r1", review.review_window(full, AS_OF, 4))
    assert "ck-scorecard" not in review.section_html(top, level=0)


def test_an_absent_week_is_not_read_as_a_drop() -> None:
    """r1 logs nothing in the week of 17 June (leave): the window's calls fall from 800 to 600, but per working day
    on the weeks present (40 a day) nothing changed; the week is marked, and volume is not coached on."""
    data = team_data()
    a = data.activities
    leave = (a["rep_id"] == "r1") & (a["occurred_at"] >= "2024-06-17") & (a["occurred_at"] < "2024-06-22")
    data = SalesData.from_frames(a[~leave.to_numpy()].reset_index(drop=True), data.reps, None, PLAYBOOK)
    top, sections = build(data, "r1")
    card = top.frames["scorecard"].set_index("kpi")
    assert card.loc["calls", "value"] == 600 and card.loc["calls", "prior"] == 800
    assert card.loc["calls", "change"] == "same" and card.loc["calls", "change_text"] == "no clear change"
    assert "Absent: the week of Mon 17 Jun (0 activities against about" in sections[0].sentences[0]
    focus = top.frames["focus_focus"]
    assert not set(focus["kpi"]) & {"calls", "emails", "meetings", "conversations"}
    assert "Volume is not judged this time: the week of Mon 17 Jun was far below" in " ".join(top.sentences)


def test_a_new_hire_is_not_compared_with_weeks_before_the_hire() -> None:
    """r1 hired on Mon 3 June, the window's first day: the prior window has no week of employment, so the change is
    not "up from 0" but no earlier data; the targets are ramped (week 1-2: 25%, week 3-4: 50%)."""
    data = team_data()
    data.reps.loc[data.reps["rep_id"] == "r1", "hired_at"] = pd.Timestamp("2024-06-03")
    a = data.activities
    data = SalesData.from_frames(
        a[~((a["rep_id"] == "r1") & (a["occurred_at"] < "2024-06-03")).to_numpy()], data.reps, None, PLAYBOOK
    )
    top, _ = build(data, "r1")
    card = top.frames["scorecard"].set_index("kpi")
    assert np.isnan(card.loc["calls", "prior"]) and card.loc["calls", "change"] == ""
    assert card.loc["calls", "change_text"] == "no earlier data"
    # 50 calls a day x 5 days x (0.25 + 0.25 + 0.5 + 0.5) = 375
    assert card.loc["calls", "target"] == 375
    assert "week 4 since hire, ramping: targets at 50% of full" in review.section_html(top, level=0)


def test_activity_score_is_capped_and_names_the_targets_run_over(full) -> None:
    from coachkit.review.sections.effort import activity_score_text

    w = review.review_window(full, AS_OF, 4)
    team = review.team_tables(full, "r1", w)
    text = activity_score_text(full, "r1", w, team)
    # calls 800 of 1,000 (80%), emails 6 a day of 5 (120%, counts as 100%), meetings 4 of 4 (100%); weights 1, 0.5,
    # 2 (the default playbook's): 100 x (0.8 + 0.5 + 2) / 3.5 = 94
    assert text.startswith("Activity score 94/100 (95% CI ")
    assert "each of the role's 3 targets counts up to 100%, so 100 means every target met." in text
    assert "Over target: Emails 120% (running over one target does not make up for another)." in text


def test_the_effort_outcome_section_names_only_directions_the_interval_supports(full, monkeypatch) -> None:
    import coachkit.coaching

    rows = pd.DataFrame(
        {
            "effort": ["calls", "calls", "conversations", "conversations"],
            "outcome": ["conversations", "conversations", "meetings", "meetings"],
            "effect": ["within rep", "between reps"] * 2,
            "slope": [0.09, 0.05, 0.01, np.nan],
            "ci_low": [0.02, -0.1, -0.02, np.nan],
            "ci_high": [0.16, 0.2, 0.04, np.nan],
            "p_value": [0.01, 0.5, 0.6, np.nan],
            "reps": [4, 4, 4, 4],
            "rep_weeks": [44, 44, 44, 44],
            "lag": [1, 1, 1, 1],
            "direction": ["positive", "no clear direction", "no clear direction", ""],
            "label": "exploratory",
            "reason": ["", "", "", "effort does not vary"],
            "sentence": ["s1", "s2", "s3", "s4"],
        }
    )
    monkeypatch.setattr(coachkit.coaching, "effort_associations", lambda *a, **k: rows)
    w = review.review_window(full, AS_OF, 4)
    sec = review.effort_vs_feedback(full, "r1", w)
    assert sec.sentences[0] == (
        "Exploratory, on the peer group's last 12 weeks (4 reps, 44 rep-weeks), one week later: a rep's busier weeks "
        "in calls went with more conversations. An association, not a cause."
    )
    assert sec.sentences[1] == "No clear direction: calls → conversations; conversations → meetings."
    table = sec.tables[0]
    assert table["95% interval"].tolist() == ["+0.020 to +0.160", "-0.100 to +0.200", "-0.020 to +0.040", "–"]
    assert table["n"].iloc[0] == "4 reps, 44 rep-weeks"


def test_the_playbook_chooses_the_scorecard() -> None:
    data = team_data()
    pb = Playbook.from_dict(
        {
            "targets": {"SDR": {"per_day": {"calls": 50, "emails": 5}, "per_week": {"meetings": 1}}},
            "review": {"scorecard": {"SDR": ["meetings", "connect_rate", "active_days"]}},
        }
    )
    data = SalesData.from_frames(data.activities, data.reps, None, pb)
    top, _ = build(data, "r1")
    assert top.frames["scorecard"]["kpi"].tolist() == ["meetings", "connect_rate", "active_days"]


def test_a_team_that_misses_a_target_together_is_a_team_topic_not_each_reps_focus() -> None:
    """Every East SDR makes 40 calls a day against a target of 50: a team finding; no rep is told to call more,
    and each review says the team topic once, in its details."""
    data = team_data()
    a = data.activities
    calls = a[a["activity_type"] == "call"]
    n = calls.groupby(["rep_id", calls["occurred_at"].dt.normalize()]).cumcount()
    keep = ~((a["activity_type"] == "call") & n.reindex(a.index, fill_value=0).ge(40))
    data = SalesData.from_frames(a[keep.to_numpy()].reset_index(drop=True), data.reps, None, PLAYBOOK)
    for rep in ("r2", "r3"):
        top, _ = build(data, rep)
        cands = top.frames["focus_candidates"].set_index("kpi")
        assert bool(cands.loc["calls", "team_finding"]) and cands.loc["calls", "benchmark"] == "peer group"
        assert "calls" not in set(top.frames["focus_focus"]["kpi"])
        assert (
            "Team topic, not this rep's focus: the East SDRs as a group are below target on calls and connect rate "
            "(see the index); "
            "on these the rep is compared with the peers." in top.sentences
        )
        assert bool(top.frames["scorecard"].set_index("kpi").loc["calls", "team_finding"])
        assert ">team below</span>" in review.section_html(top, level=0)
