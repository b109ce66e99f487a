"""The rep's longer weekly history (:func:`history`) and the monotonic trend of its series
(:func:`trends`, :func:`trend_sentence`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..feedback import effort_feedback
from ..stats import lagged_association
from ..window import Window
from .fmt import is_missing, p_text, plural


def history(data: Any, rep_id: str, window: Window, weeks: int = 12) -> pd.DataFrame:
    """The rep's last ``weeks`` calendar weeks up to the window's end (at least the window and the prior
    window), one row per week: :func:`coachkit.feedback.effort_feedback` on the data cut at the end."""
    weeks = max(int(weeks), 2 * window.weeks)
    start = window.start - pd.Timedelta(days=7 * (weeks - window.weeks))
    return effort_feedback(data.between(start, window.end), rep_id, start=start, end=window.end)


#: Weekly series whose trend the summary describes: column -> words.
TREND_SERIES: dict[str, str] = {
    "activities": "activities",
    "conversations": "conversations",
    "connect_rate": "connect rate",
    "feedback_score": "feedback score",
}


def trends(weekly: pd.DataFrame, series: Mapping[str, str] = TREND_SERIES) -> pd.DataFrame:
    """Monotonic trend of each weekly series over the weeks of ``weekly`` (oldest first): Spearman ρ of the
    value against the week number, with n (weeks with a value) and a permutation p-value
    (:func:`coachkit.stats.lagged_association` at lag 0); ``direction`` is ``rising``/``falling`` when
    p < 0.05, else ``steady`` (``unknown`` when ρ cannot be computed)."""
    w = weekly.sort_values("period_start")
    rows = []
    for col, words in series.items():
        y = w[col].to_numpy(dtype="float64")
        r = lagged_association(np.arange(len(y), dtype="float64"), y, lags=(0,), n_perm=2000).iloc[0]
        if is_missing(r["rho"]):
            direction = "unknown"
        elif r["p_value"] < 0.05:
            direction = "rising" if r["rho"] > 0 else "falling"
        else:
            direction = "steady"
        rows.append({"series": col, "words": words, "rho": r["rho"], "p_value": r["p_value"], "n": int(r["n"])})
        rows[-1]["direction"] = direction
    return pd.DataFrame(rows, columns=["series", "words", "rho", "p_value", "n", "direction"])


def trend_sentence(trend: pd.DataFrame) -> str:
    """One sentence on the longer trend, e.g. "Over the last 12 weeks: activities rising (ρ = +0.71, ...)"."""
    if trend.empty:
        return ""
    weeks = int(trend["n"].max())
    bits = []
    for r in trend.to_dict("records"):
        if r["direction"] == "unknown":
            bits.append(f"{r['words']}: too few weeks to say")
            continue
        what = {"rising": "rising", "falling": "falling", "steady": "no clear trend"}[r["direction"]]
        bits.append(f"{r['words']} {what} (ρ = {r['rho']:+.2f}, n = {r['n']}, {p_text(r['p_value'])})")
    return f"Over the last {plural(weeks, 'week')} (Spearman ρ against time, exploratory): " + "; ".join(bits) + "."
