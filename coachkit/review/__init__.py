"""The weekly per-rep review, section by section, as data: sentences, tables and charts.

Every section is a pure function of a :class:`~coachkit.SalesData`, a rep id and a
:class:`Window`, returning a :class:`Section`: an ordered list of parts (headings,
plain-language sentences, tables with raw ``frames`` behind them, Altair charts over
aggregated data). The notebook ``notebooks/rep_review.ipynb`` calls one function per
cell and shows the result with :func:`show`; :func:`section_html` is the escaped HTML.

The review reads like a coach's 1:1 pre-read: activities first, then their outcomes
and the feedback they earned; pipeline results last (monitored, not managed); it
ends on what to work on next week.

Definitions used throughout:

- **Window.** The ``weeks`` calendar weeks (Monday starts) up to and including the
  week of ``as_of``, ending on ``as_of`` (see :func:`review_window`). The **prior
  window** is the same span moved back ``7 × weeks`` days, so both hold the same
  weekdays. Data after ``as_of`` is never used: the review shows what was known then.
  The coaching focus is judged on full weeks only (:mod:`coachkit.window`).
- **Team.** The reps of the same team *and* role as the rep (the rep included), as in
  :func:`coachkit.coaching.coaching_focus`. *Team median* is the median of those reps'
  window values (rates: Σ numerator / Σ denominator per rep; counts: the rep's weekly
  average × the reviewed rep's number of weeks). In charts, *team* is the other reps of
  that group pooled (Σ over them), so that it has one honest interval.
- **Rates** carry their n (the denominator) and a 95% Wilson interval; counts a 95%
  exact Poisson interval; the feedback score a 95% t interval.

The package, one idea per module (lower modules never import higher ones):

- :mod:`coachkit.window` (outside the package): the review window and the focus window;
- :mod:`.page`: the page model (:class:`Section` and its parts, :func:`show`, :func:`section_html`);
- :mod:`.fmt`: numbers, rates, intervals and dates in words;
- :mod:`.rows`, :mod:`.team`, :mod:`.targets`: the rep's rows, the team's KPI tables, the targets;
- :mod:`.compare`, :mod:`.trend`: change against the prior window and the benchmark; the longer trend;
- :mod:`.sections`: one module per section;
- :mod:`.focus_history`, :mod:`.record`: the focus kept for the next review; the index record;
- :mod:`.paths`: the notebook's paths.

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
from .sections.effort_vs_feedback import association_sentence, effort_vs_feedback
from .sections.feedback import feedback, notable_notes
from .sections.focus import focus, next_week_sentence
from .sections.follow_up import follow_up, open_follow_ups
from .sections.header import header
from .sections.outcomes import outcomes
from .sections.pipeline import pipeline
from .sections.summary import HEADLINE_KPIS, summary, summary_sentences
from .team import REVIEW_KPIS, Team, peers, team_tables
from .trend import TREND_SERIES, history, trend_sentence, trends

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
    "TREND_SERIES",
    "TYPE_KPIS",
    "Chart",
    "Columns",
    "Heading",
    "Section",
    "Table",
    "Team",
    "Text",
    "Window",
    "association_sentence",
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
    "trend_sentence",
    "trends",
]
