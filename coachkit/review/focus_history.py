"""The focus history: a review's focus areas as records stored in its summary (:func:`focus_record`), read back
by the next review (:func:`previous_focus`) and compared with its own (:func:`compare_focus`), in honest words.

The statuses of :func:`compare_focus`:

- ``kept``: a focus area then and now;
- ``new``: a focus area now, not then;
- ``resolved``: a focus area then, and now **back within range**: the value is at most ``min_gap`` (10%) of the
  benchmark short of it (or better);
- ``out of top``: a focus area then, still clearly behind now, but others rank before it (says exactly that:
  "no longer in the top 3");
- ``not clearly behind``: a focus area then, no longer clearly behind now (the test no longer holds), but not back
  within range either;
- ``not judged``: a focus area then, with no value or benchmark now (no data in the window, not shown for this
  data, or nothing to compare with).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..kpis import registry
from .fmt import fmt_value, is_missing

__all__ = ["STATUS_WORDS", "compare_focus", "focus_record", "previous_focus", "status_words"]


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


#: Status -> how the review says it.
STATUS_WORDS: dict[str, str] = {
    "kept": "still a focus",
    "new": "new",
    "resolved": "resolved: back within range",
    "out of top": "no longer in the top {n}, but still behind",
    "not clearly behind": "no longer clearly behind, but not yet back within range",
    "not judged": "not judged this time (nothing to compare with in this window)",
}


def status_words(status: str, max_focus: int = 3) -> str:
    """The words for a :func:`compare_focus` status ("no longer in the top 3, but still behind")."""
    return STATUS_WORDS.get(status, status).replace("{n}", str(max_focus))


def _within_range(kpi: str, value: float, bench: float, min_gap: float) -> bool:
    better = registry[kpi].higher_is_better if kpi in registry else True
    gap = (value - bench) if better else (bench - value)
    return gap >= -min_gap * abs(bench)


def compare_focus(
    previous: Sequence[Mapping[str, Any]] | None,
    current: pd.DataFrame,
    now: pd.DataFrame | None = None,
    *,
    min_gap: float = 0.1,
) -> pd.DataFrame:
    """Compare the previous review's focus areas with the current ones, by KPI (statuses: module docstring).

    ``current``: this review's focus areas (``kpi``, ``label``, ``value``, ``evidence``). ``now``: this window's
    value of every KPI that may have been a focus then (``kpi``, ``value``, ``benchmark_value``, ``flagged``: still
    clearly behind); without it a previous area that is not a focus now is ``not clearly behind`` at best (its
    range cannot be checked). Columns ``kpi``, ``label``, ``status``, ``previous_value``, ``value``,
    ``benchmark_value``, ``previous_evidence``, ``evidence``; current areas first in their rank order, then the
    previous ones in their previous order.
    """
    prev = {str(p["kpi"]): p for p in previous or [] if p.get("kpi")}
    by_kpi = {} if now is None else {str(r["kpi"]): r for r in now.to_dict("records")}
    rows = []
    shown = set()
    for r in current.to_dict("records"):
        k = str(r["kpi"])
        shown.add(k)
        p = prev.get(k)
        rows.append(
            {
                "kpi": k,
                "label": r["label"],
                "status": "kept" if p else "new",
                "previous_value": np.nan if p is None or p.get("value") is None else float(p["value"]),
                "value": float(r["value"]),
                "benchmark_value": float(r.get("benchmark_value", np.nan)),
                "previous_evidence": "" if p is None else str(p.get("evidence") or ""),
                "evidence": str(r["evidence"]),
            }
        )
    for k, p in prev.items():
        if k in shown:
            continue
        cur = by_kpi.get(k, {})
        value, bench = cur.get("value", np.nan), cur.get("benchmark_value", np.nan)
        if now is not None and (not cur or is_missing(value) or is_missing(bench)):
            status = "not judged"
        elif bool(cur.get("flagged", False)):
            status = "out of top"
        elif not is_missing(value) and not is_missing(bench) and _within_range(k, float(value), float(bench), min_gap):
            status = "resolved"
        else:
            status = "not clearly behind"
        evidence = ""
        if not is_missing(value) and not is_missing(bench):
            kind = registry[k].kind if k in registry else "count"
            evidence = f"now {fmt_value(kind, k, value)} against {fmt_value(kind, k, bench)}"
        rows.append(
            {
                "kpi": k,
                "label": str(p.get("label") or k),
                "status": status,
                "previous_value": np.nan if p.get("value") is None else float(p["value"]),
                "value": np.nan if is_missing(value) else float(value),
                "benchmark_value": np.nan if is_missing(bench) else float(bench),
                "previous_evidence": str(p.get("evidence") or ""),
                "evidence": evidence,
            }
        )
    cols = ["kpi", "label", "status", "previous_value", "value", "benchmark_value", "previous_evidence", "evidence"]
    return pd.DataFrame(rows, columns=cols)
