"""Section 9, coaching focus for next week, compared with the previous review."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from ...coaching import coaching_focus
from ...window import Window, focus_as_of, focus_window
from ..fmt import day_text, plural, short_day_text
from ..focus_history import compare_focus
from ..page import Heading, Section, Table, Text


def next_week_sentence(focus_frame: pd.DataFrame) -> str:
    """The closing sentence: the top focus area and its action, or that nothing is clearly behind."""
    if focus_frame is None or focus_frame.empty:
        return (
            "Next week: no KPI is clearly behind its benchmark once the numbers' uncertainty is allowed for; "
            "keep the rhythm and pick one habit from the sections below to sharpen."
        )
    top = focus_frame.iloc[0]
    more = len(focus_frame) - 1
    rest = f" (and {plural(more, 'more area')} in section 9)" if more else ""
    return f"Next week: work on {str(top['label']).lower()}{rest}. {top['action']}"


def focus(
    data: Any,
    rep_id: str,
    window: Window,
    *,
    previous: Sequence[Mapping[str, Any]] | None = None,
    previous_window: Mapping[str, Any] | None = None,
) -> Section:
    """Coaching focus for next week (:func:`coachkit.coaching.coaching_focus`), compared with the previous review.

    Judged on the full weeks up to :func:`focus_as_of`; data after the window's end is not used.
    ``previous``: the previous review's :func:`focus_record` list (None: no previous review).
    """
    sec = Section("focus", "Coaching focus for next week")
    as_of = focus_as_of(data.playbook, window.end)
    cut = data.between(None, window.end)
    frame = coaching_focus(cut, rep_id, as_of, window.weeks)
    first, last = focus_window(as_of, window.weeks)
    sec.frames["focus"] = frame
    sec.values["focus_window"] = (first, last)
    if first != window.start:
        sec.add(
            Text(
                f"Judged on the full weeks {short_day_text(first)} – {day_text(min(last, window.end))}; "
                "a week still in progress is not judged.",
                "note",
            )
        )
    if frame.empty:
        sec.add(next_week_sentence(frame))
    else:
        for i, r in enumerate(frame.to_dict("records"), 1):
            lead = (
                "Leading: the rep can change this next week."
                if r["kind"] == "leading"
                else ("Lagging: a result that follows the activities weeks later.")
            )
            sec.add(Heading(f"{i}. {r['label']}"))
            sec.add(f"{r['evidence']} {lead}")
            sec.add(f"Suggested action: {r['action']}")
    if previous is not None:
        cmp = compare_focus(previous, frame)
        sec.frames["comparison"] = cmp
        when = ""
        if previous_window and previous_window.get("start") and previous_window.get("end"):
            when = f" ({previous_window['start']} to {previous_window['end']})"
        groups = {s: cmp.loc[cmp["status"] == s, "label"].tolist() for s in ("kept", "new", "resolved")}
        if cmp.empty:
            sec.add(f"The previous review{when} had no focus areas either.")
        else:
            parts = []
            if groups["kept"]:
                parts.append("still a focus: " + ", ".join(groups["kept"]))
            if groups["new"]:
                parts.append("new: " + ", ".join(groups["new"]))
            if groups["resolved"]:
                parts.append("no longer among the focus areas: " + ", ".join(groups["resolved"]))
            sec.add(Heading("Compared with the previous review"))
            sec.add(f"Against the previous review{when}: " + "; ".join(parts) + ".")
            sec.add(
                Table(
                    pd.DataFrame(
                        {
                            "Area": cmp["label"],
                            "Status": cmp["status"],
                            "Then": cmp["previous_evidence"].replace("", "–"),
                            "Now": cmp["evidence"].replace("", "–"),
                        }
                    )
                )
            )
    else:
        sec.add(Text("No previous review of this rep in the output folder to compare with.", "note"))
    return sec
