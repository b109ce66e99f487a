"""The definitions: every KPI shown, with its registry definition, and the review's terms (one page per run,
``definitions.html``, linked from every review and the index; at the end of a review run on its own)."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from ...coaching import TERMS as STATISTICS_TERMS
from ...kpis import registry
from ..page import Details, Section, Table, Text
from .summary import HEADLINE_KPIS

#: Terms used in the review that are not KPIs, with their definitions: the review's own, then the statistics' in
#: plain words (:data:`coachkit.coaching.TERMS`: peer group, focus area, team finding, intervals, change, trend,
#: effort and outcome, activity score).
TERMS: dict[str, str] = {
    "Conversation": "A call with outcome connected or a meeting with outcome held.",
    "Window": "The review's calendar weeks (Monday to Sunday) up to and including the week of the as-of day, "
    "ending on the as-of day. The prior window is the same span 7 × weeks days earlier. The focus is judged on "
    "full weeks only: a week still in progress is not judged.",
    "Scorecard": "The 5 to 7 KPIs of the rep's role (its targets and the playbook's benchmarks, or the playbook's "
    "[review] scorecard): this window's value with its n (hover for the 95% interval), the target (ramped for new "
    "hires), the median of the rep's peer group, the change from the prior window in words, and the weekly series "
    "of the prior and this window (the last point hollow when its week is not complete).",
    "Next step": "Chosen by the cause the rep's own activities show (e.g. too few conversations from too few dials, "
    "or from a low connect rate: call times, list quality, unanswered calls), named under 'Why this step'; the "
    "playbook's action for the KPI when no cause rule applies.",
    "Going well": "A KPI on which the rep is ahead of its benchmark by the same one-sided test as a focus area "
    "(Bonferroni-corrected over the rep's KPIs) and by at least the playbook's min_gap, or clearly up on the prior "
    "window and not behind.",
    "Absent week": "A week with time off on at least half its working days (the dataset's optional time_off "
    "table), or with activities per working day under a quarter of the rep's usual (the median of the last 12 "
    "weeks). Volume is not coached on an absent week, and a count's change is judged on the other weeks.",
    "Not in this data": "A KPI the dataset cannot support (no activities of its type, outcomes on fewer than 20% "
    "of calls or meetings, no notes, dates without times of day, no scores or deals) is not shown as a number, "
    "has no target, and is never a focus area or part of the activity score.",
    "Resolved": "A focus area of the previous review that is back within range now: at most the playbook's "
    "min_gap short of its benchmark. 'No longer in the top 3' says that it is still behind but others rank "
    "first; 'no longer clearly behind' that the evidence is gone but the value is not yet back within range.",
    "No follow-up yet": "An account with a conversation in the window on which the rep logged no call, meeting, "
    "email or follow-up (any outcome) after the latest such conversation, up to the end of the window.",
    "Theme share": "Conversations whose notes match a playbook theme's keywords (whole words, any case) / "
    "conversations with notes.",
    **STATISTICS_TERMS,
}


def definitions(kpis_shown: Iterable[str], *, notes: Iterable[str] = (), collapsed: bool = True) -> Section:
    """Every KPI shown, with its exact definition from the KPI registry, then the review's other terms, and
    ``notes`` (e.g. the targets left out because the data cannot support them). ``collapsed``: the tables in a
    closed block (a review run on its own; the batch writes one ``definitions.html`` per run instead)."""
    names = [k for k in dict.fromkeys(kpis_shown) if k in registry]
    frame = pd.DataFrame(
        {
            "KPI": [registry[k].label for k in names],
            "Name": names,
            "Unit": [registry[k].unit for k in names],
            "Definition": [registry[k].definition for k in names],
        }
    )
    terms = pd.DataFrame({"Term": list(TERMS), "Definition": list(TERMS.values())})
    sec = Section("definitions", "Definitions")
    sec.frames["kpis"] = frame
    sec.frames["terms"] = terms
    for n in notes:
        sec.add(Text(n, "note"))
    tables = (Table(frame), Table(terms))
    sec.add(Details("Every KPI shown and the review's terms", tables) if collapsed else tables[0])
    if not collapsed:
        sec.add(tables[1])
    return sec


#: The KPIs whose values the review shows (for :func:`definitions`).
SHOWN_KPIS: tuple[str, ...] = (
    *HEADLINE_KPIS,
    "calls",
    "emails",
    "meetings",
    "follow_ups",
    "activities",
    "active_days",
    "meeting_show_rate",
    "outcome_logged_rate",
    "deals_created",
    "pipeline_created",
    "win_rate",
    "cycle_days",
)
