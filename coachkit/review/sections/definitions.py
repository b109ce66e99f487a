"""Section 10, definitions: every KPI shown, with its registry definition, and the review's terms."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from ...coaching import FOCUS_DEFINITION
from ...kpis import registry
from ..page import Details, Section, Table, Text
from .summary import HEADLINE_KPIS

#: Terms used in the review that are not KPIs, with their definitions.
TERMS: dict[str, str] = {
    "Conversation": "A call with outcome connected or a meeting with outcome held.",
    "Window": "The review's calendar weeks (Monday to Sunday) up to and including the week of the as-of day, "
    "ending on the as-of day. The prior window is the same span 7 × weeks days earlier.",
    "Team": "The reps of the same team and role (the rep included). Team median: the median of their window "
    "values (counts: weekly average × this rep's weeks). In charts, 'team: other …' pools the other reps.",
    "No follow-up yet": "An account with a conversation in the window on which the rep logged no call, meeting, "
    "email or follow-up (any outcome) after the latest such conversation, up to the end of the window.",
    "Intervals": "95%: Wilson score interval for rates, exact Poisson (Garwood) for counts, t interval for the "
    "mean feedback score. 'Up'/'down' against the prior window means a difference at the 5% level "
    "(two-proportion z test, exact binomial test on counts, Welch t test on scores); otherwise 'no clear change'.",
    "Theme share": "Conversations whose notes match a playbook theme's keywords (whole words, any case) / "
    "conversations with notes.",
    "Trend": "Spearman ρ of a weekly value against the week number over the last weeks, with a permutation "
    "p-value: 'rising'/'falling' when p < 0.05, else 'no clear trend'. Exploratory.",
    "Focus area": FOCUS_DEFINITION,
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
