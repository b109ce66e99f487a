"""The record a review publishes for the team index and the next review (:func:`index_summary`): rep, window,
the scorecard as headline KPIs (:func:`headline`), the focus areas, the comparison with the previous review, the
absent weeks, and how much attention the rep needs (the index's order).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..window import Window
from .fmt import is_missing
from .focus_history import focus_record, status_words
from .rows import rep_row


def headline(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """KPI rows (the scorecard's or the summary's) as the headline records of the team index
    (``export.publish_summary``): key, label, value, format, the 95% interval (low, high), n for rates and
    scores, the target and the change (``up``/``down``/``same``/'')."""
    out = []
    for r in frame.to_dict("records"):
        kind = r["kind"]
        fmt = "pct" if kind == "rate" else ("int" if kind in ("count", "score") else "float")
        item = {"key": r["kpi"], "label": r["label"], "value": r["value"], "format": fmt}
        if kind == "count":  # a count is its own n
            item |= {"low": r.get("ci_low"), "high": r.get("ci_high")}
        elif kind == "rate" or r["kpi"] == "feedback_score":
            item |= {"low": r.get("ci_low"), "high": r.get("ci_high"), "n": r.get("n")}
        target = r.get("target")
        if not is_missing(target) and r.get("target_kind") not in (None, "", "on target"):
            item["target"] = target
        if r.get("change"):
            item["change"] = r["change"]
        out.append({k: (None if is_missing(v) else v) for k, v in item.items()})
    return out


def attention(focus_frame: pd.DataFrame | None) -> float:
    """How much attention the rep needs, for the index's order: the summed shortfall of the focus areas in
    standard errors (``std_gap``; each area counts at least 1), 0 without focus areas."""
    if focus_frame is None or focus_frame.empty:
        return 0.0
    gaps = pd.to_numeric(focus_frame.get("std_gap"), errors="coerce").fillna(1.0).clip(lower=1.0)
    return float(np.round(gaps.sum(), 3))


def index_summary(
    data: Any,
    rep_id: str,
    window: Window,
    summary_frame: pd.DataFrame,
    focus_frame: pd.DataFrame | None = None,
    *,
    comparison: pd.DataFrame | None = None,
    absences: pd.DataFrame | None = None,
    active: bool = True,
    max_focus: int = 3,
) -> dict[str, Any]:
    """The review's record for the team index and the next review: ``rep_id``, ``name``, ``team``, ``role``,
    ``window``, ``active`` (any activity in the window), ``headline`` (:func:`headline` of ``summary_frame``, the
    scorecard's rows), ``focus`` (:func:`focus_record`), ``comparison`` (with the previous review: kpi, label,
    status and its words), ``absent_weeks`` (Mondays, ISO dates, within the window) and ``attention``
    (:func:`attention`)."""
    me = rep_row(data, rep_id)

    def text(v: Any) -> str:
        return "" if is_missing(v) else str(v)

    out: dict[str, Any] = {
        "rep_id": rep_id,
        "name": text(me.get("name")),
        "team": text(me.get("team")),
        "role": text(me.get("role")),
        "window": {"start": window.start.date().isoformat(), "end": window.end.date().isoformat()},
        "active": bool(active),
        "headline": headline(summary_frame) if len(summary_frame) else [],
        "focus": focus_record(focus_frame) if focus_frame is not None else [],
        "attention": attention(focus_frame),
    }
    if comparison is not None and len(comparison):
        out["comparison"] = [
            {"kpi": r["kpi"], "label": r["label"], "status": r["status"], "words": status_words(r["status"], max_focus)}
            for r in comparison.to_dict("records")
        ]
    if absences is not None and len(absences):
        a = absences[absences["absent"].to_numpy(dtype=bool)]
        a = a[(a["period_start"] >= window.start) & (a["period_start"] <= window.end)]
        out["absent_weeks"] = [pd.Timestamp(d).date().isoformat() for d in a["period_start"]]
    return out
