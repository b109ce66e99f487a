"""The first screen of a review, what a manager reads at 1280 × 800 before scrolling: the header line, what the
data lacks (one line), the scorecard, "Talk about this week", "Going well", and the contents of the sections
below."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ..going_well import going_well
from ..page import Bullets, Columns, Contents, Details, Heading, Section, Text
from ..scorecard import Scorecard

__all__ = ["first_screen"]


def first_screen(
    header: Section,
    scorecard: Scorecard,
    focus: Section,
    summary_rows: Any,
    *,
    lacks: str = "",
    contents: Sequence[tuple[str, str]] = (),
    min_gap: float = 0.1,
    skip_going_well: Iterable[str] = (),
    candidates: Any = None,
) -> Section:
    """The first screen from its parts: ``header`` (:func:`coachkit.review.header`), the ``scorecard``, the
    ``focus`` section (:func:`coachkit.review.focus`), ``summary_rows`` (the KPI rows "Going well" is judged on,
    :func:`coachkit.review.going_well.going_well`), ``lacks`` (:meth:`coachkit.coverage.Coverage.lacks`) and the
    ``contents`` ((section key, title) pairs of the sections below); ``candidates``: the rep's focus candidates,
    which decide what is "ahead" for their KPIs."""
    sec = Section("top", str(header.title))
    sec.frames.update(header.frames)
    sec.frames["scorecard"] = scorecard.rows
    sec.frames.update({f"focus_{k}": v for k, v in focus.frames.items()})
    sec.add(*header.parts)
    if lacks:
        sec.add(Text(lacks, "note"))
    skip = set(skip_going_well) | set(focus.frames["focus"]["kpi"]) if "focus" in focus.frames else set(skip_going_well)
    good = going_well(summary_rows, candidates=candidates, min_gap=min_gap, skip=skip)
    sec.values["going_well"] = good
    well = Bullets(
        tuple(good),
        empty="Nothing stands out this window: no KPI is clearly ahead of its benchmark or clearly up on the prior "
        "window.",
    )
    # the statistics behind the focus open full width below the two columns, not inside the narrow one
    talk = [p for p in focus.parts if not isinstance(p, Details)]
    stats = [p for p in focus.parts if isinstance(p, Details)]
    sec.add(Columns((scorecard,), (Heading(focus.title), *talk, Heading("Going well"), well)))
    sec.add(*stats)
    if contents:
        sec.add(Contents(tuple(contents)))
    return sec
