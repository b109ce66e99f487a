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

import importlib
import importlib.util
from typing import Any

#: Every public name, and the module it lives in: imported on first use (PEP 562), so that a process that needs one
#: module of the package (e.g. the batch rendering the definitions page) does not import them all, Altair included.
_EXPORTS = {
    "Window": "..window",
    "focus_as_of": "..window",
    "review_window": "..window",
    "LINKS": ".compose",
    "SECTIONS": ".compose",
    "absences": ".compose",
    "data_profile": ".compose",
    "fit_to_data": ".compose",
    "is_active": ".compose",
    "time_off": ".compose",
    "top": ".compose",
    "N_NOUNS": ".fmt",
    "num": ".fmt",
    "pct": ".fmt",
    "rate_text": ".fmt",
    "compare_focus": ".focus_history",
    "focus_record": ".focus_history",
    "previous_focus": ".focus_history",
    "Bullet": ".page",
    "Bullets": ".page",
    "Chart": ".page",
    "Columns": ".page",
    "Contents": ".page",
    "Details": ".page",
    "Heading": ".page",
    "Section": ".page",
    "Table": ".page",
    "Text": ".page",
    "section_html": ".page",
    "show": ".page",
    "resolve_path": ".paths",
    "headline": ".record",
    "index_summary": ".record",
    "SHOWN_KPIS": ".sections.definitions",
    "TERMS": ".sections.definitions",
    "definitions": ".sections.definitions",
    "TYPE_KPIS": ".sections.effort",
    "effort": ".sections.effort",
    "effort_vs_feedback": ".sections.effort_vs_feedback",
    "feedback": ".sections.feedback",
    "notable_notes": ".sections.feedback",
    "focus": ".sections.focus",
    "next_week_sentence": ".sections.focus",
    "follow_up": ".sections.follow_up",
    "open_follow_ups": ".sections.follow_up",
    "header": ".sections.header",
    "outcomes": ".sections.outcomes",
    "pipeline": ".sections.pipeline",
    "HEADLINE_KPIS": ".sections.summary",
    "summary": ".sections.summary",
    "summary_sentences": ".sections.summary",
    "REVIEW_KPIS": ".team",
    "Team": ".team",
    "peers": ".team",
    "team_tables": ".team",
    "history": ".trend",
}

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

#: Every module behind the public names: what a warm kernel imports before its first review (``coachkit.engine``).
MODULES = tuple(sorted({importlib.util.resolve_name(m, __name__) for m in _EXPORTS.values()}))


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
