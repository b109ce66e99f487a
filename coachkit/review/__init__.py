"""The weekly per-rep review, as data: sentences, tables and charts, section by section.

Every section is a pure function of a :class:`~coachkit.SalesData`, a rep id and a :class:`Window`, returning a
:class:`Section`: an ordered list of parts (headings, plain-language sentences, tables with raw ``frames`` behind
them, Altair charts over aggregated data, collapsed details). The notebook ``notebooks/rep_review.ipynb`` calls one
function per cell and shows the result with :func:`show`; :func:`section_html` is the escaped HTML.

The first screen (:func:`top`) is the review a manager reads in three minutes: the header line, what the data
lacks, the role's scorecard, "Talk about this week" (the calibrated focus of :mod:`coachkit.coaching` with a next
step chosen by its cause) and "Going well". The sections follow: effort, outcomes, follow-up, feedback, effort and
what it earned (exploratory), pipeline (monitored, not managed). The definitions are one page per run.

Definitions used throughout:

- **Window.** The ``weeks`` calendar weeks (Monday starts) up to and including the week of ``as_of``, ending on
  ``as_of`` (see :func:`review_window`). The **prior window** is the same span moved back ``7 × weeks`` days. Data
  after ``as_of`` is never used. The coaching focus is judged on full weeks only (:mod:`coachkit.window`).
- **Peers.** The rep's peer group of :mod:`coachkit.panel` (team × role, or the role across teams when the team
  has too few reps of the role), with its size; in tables, "other … (pooled)" is the other reps of the team × role
  pooled (Σ over them), so that it has one honest interval.
- **Intervals and changes** allow for the week-to-week variation of the peer group (:mod:`coachkit.stats`).
- **What the data supports**: :mod:`coachkit.coverage`; **absent weeks**: :mod:`coachkit.absence`.

The package, one idea per module (lower modules never import higher ones):

- :mod:`.page`: the page model (:class:`Section` and its parts, :func:`show`, :func:`section_html`, the CSS);
- :mod:`.fmt`: numbers, rates, intervals and dates in words; :mod:`.sparkline`: the scorecard's inline SVG;
- :mod:`.rows`, :mod:`.team`, :mod:`.targets`: the rep's rows, the team's KPI tables, the targets;
- :mod:`.compare`, :mod:`.kpi_rows`: change and benchmark in words; one row per KPI with its statistics;
- :mod:`.scorecard`, :mod:`.going_well`, :mod:`.actions`: the scorecard, "Going well", the next steps' cause rules;
- :mod:`.sections`: one module per section (``top`` is the first screen);
- :mod:`.compose`: the steps the notebook calls (coverage, absences, the first screen);
- :mod:`.focus_history`, :mod:`.record`: the comparison with the previous review; the index record;
- :mod:`.trend`, :mod:`.paths`: the weekly history; the notebook's paths.

Every public name is re-exported here, so ``from coachkit import review; review.header(...)`` works.
"""

from __future__ import annotations

from ..window import Window, focus_as_of, review_window
from .compose import LINKS, SECTIONS, absences, data_profile, fit_to_data, is_active, time_off, top
from .fmt import N_NOUNS, num, pct, rate_text
from .focus_history import compare_focus, focus_record, previous_focus
from .page import Bullet, Bullets, Chart, Columns, Contents, Details, Heading, Section, Table, Text, section_html, show
from .paths import resolve_path
from .record import headline, index_summary
from .sections.definitions import SHOWN_KPIS, TERMS, definitions
from .sections.effort import TYPE_KPIS, effort
from .sections.effort_vs_feedback import effort_vs_feedback
from .sections.feedback import feedback, notable_notes
from .sections.focus import focus, next_week_sentence
from .sections.follow_up import follow_up, open_follow_ups
from .sections.header import header
from .sections.outcomes import outcomes
from .sections.pipeline import pipeline
from .sections.summary import HEADLINE_KPIS, summary, summary_sentences
from .team import REVIEW_KPIS, Team, peers, team_tables
from .trend import history

__all__ = [
    "LINKS",
    "SECTIONS",
    "is_active",
    "time_off",
    "Bullet",
    "Bullets",
    "Contents",
    "Details",
    "absences",
    "data_profile",
    "fit_to_data",
    "top",
    "HEADLINE_KPIS",
    "N_NOUNS",
    "REVIEW_KPIS",
    "SHOWN_KPIS",
    "TERMS",
    "TYPE_KPIS",
    "Chart",
    "Columns",
    "Heading",
    "Section",
    "Table",
    "Team",
    "Text",
    "Window",
    "compare_focus",
    "definitions",
    "effort",
    "effort_vs_feedback",
    "feedback",
    "focus",
    "focus_as_of",
    "focus_record",
    "follow_up",
    "header",
    "headline",
    "history",
    "index_summary",
    "next_week_sentence",
    "notable_notes",
    "num",
    "open_follow_ups",
    "outcomes",
    "pct",
    "peers",
    "pipeline",
    "previous_focus",
    "rate_text",
    "resolve_path",
    "review_window",
    "section_html",
    "show",
    "summary",
    "summary_sentences",
    "team_tables",
]
