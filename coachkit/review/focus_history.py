"""The focus history: a review's focus areas as records stored in its summary
(:func:`focus_record`), read back by the next review (:func:`previous_focus`) and compared with
its own (:func:`compare_focus`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .fmt import is_missing


def focus_record(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Focus areas as JSON-ready records (kpi, label, value, n, benchmark, benchmark_value, evidence, action),
    stored in the review summary so that the next review can compare."""
    keep = ["kpi", "label", "kind", "value", "n", "benchmark", "benchmark_value", "evidence", "action"]
    out = []
    for r in frame.to_dict("records"):
        out.append(
            {
                k: (None if is_missing(r.get(k)) else (float(r[k]) if isinstance(r[k], float | np.floating) else r[k]))
                for k in keep
            }
        )
    return out


def previous_focus(summary: Mapping[str, Any] | None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(focus records, window) from a previous review's summary (``export.read_summary``); empty when absent."""
    if not summary:
        return [], {}
    items = summary.get("focus") or []
    good = [dict(i) for i in items if isinstance(i, Mapping) and i.get("kpi")]
    win = summary.get("window") if isinstance(summary.get("window"), Mapping) else {}
    return good, dict(win)


def compare_focus(previous: Sequence[Mapping[str, Any]] | None, current: pd.DataFrame) -> pd.DataFrame:
    """Compare the previous review's focus areas with the current ones, by KPI.

    ``status``: ``kept`` (in both), ``new`` (only now), ``resolved`` (only before: no longer
    among the focus areas, because it is no longer clearly behind or others now rank higher). Columns ``kpi``, ``label``, ``status``, ``previous_value``, ``value``,
    ``previous_evidence``, ``evidence``; current areas first in their rank order, then the
    resolved ones in their previous order.
    """
    prev = {str(p["kpi"]): p for p in previous or [] if p.get("kpi")}
    rows = []
    now = set()
    for r in current.to_dict("records"):
        k = str(r["kpi"])
        now.add(k)
        p = prev.get(k)
        rows.append(
            {
                "kpi": k,
                "label": r["label"],
                "status": "kept" if p else "new",
                "previous_value": np.nan if p is None or p.get("value") is None else float(p["value"]),
                "value": float(r["value"]),
                "previous_evidence": "" if p is None else str(p.get("evidence") or ""),
                "evidence": str(r["evidence"]),
            }
        )
    for k, p in prev.items():
        if k in now:
            continue
        rows.append(
            {
                "kpi": k,
                "label": str(p.get("label") or k),
                "status": "resolved",
                "previous_value": np.nan if p.get("value") is None else float(p["value"]),
                "value": np.nan,
                "previous_evidence": str(p.get("evidence") or ""),
                "evidence": "",
            }
        )
    cols = ["kpi", "label", "status", "previous_value", "value", "previous_evidence", "evidence"]
    return pd.DataFrame(rows, columns=cols)
