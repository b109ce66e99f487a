"""The record a review publishes for the team index and the next review (:func:`index_summary`):
rep, window, headline KPIs (:func:`headline`) and focus areas.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..window import Window
from .fmt import is_missing
from .focus_history import focus_record
from .rows import rep_row


def headline(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The summary frame as the headline records of the team index (``export.publish_summary``)."""
    out = []
    for r in frame.to_dict("records"):
        kind = r["kind"]
        fmt = "pct" if kind == "rate" else ("int" if kind in ("count", "score") else "float")
        item = {"key": r["kpi"], "label": r["label"], "value": r["value"], "format": fmt}
        if kind == "count":  # a count is its own n
            item |= {"low": r["ci_low"], "high": r["ci_high"]}
        elif kind == "rate" or r["kpi"] == "feedback_score":
            item |= {"low": r["ci_low"], "high": r["ci_high"], "n": r["n"]}
        out.append({k: (None if is_missing(v) else v) for k, v in item.items()})
    return out


def index_summary(
    data: Any, rep_id: str, window: Window, summary_frame: pd.DataFrame, focus_frame: pd.DataFrame | None = None
) -> dict[str, Any]:
    """The review's record for the team index and the next review: rep, window, headline KPIs, focus."""
    me = rep_row(data, rep_id)

    def text(v: Any) -> str:
        return "" if is_missing(v) else str(v)

    out = {
        "rep_id": rep_id,
        "name": text(me.get("name")),
        "team": text(me.get("team")),
        "role": text(me.get("role")),
        "window": {"start": window.start.date().isoformat(), "end": window.end.date().isoformat()},
        "headline": headline(summary_frame),
        "focus": focus_record(focus_frame) if focus_frame is not None else [],
    }
    if focus_frame is not None:
        out["headline"].append(
            {
                "key": "focus",
                "label": "Focus next week",
                "value": ", ".join(focus_frame["label"].astype(str)) or "none",
                "format": "text",
            }
        )
    return out
