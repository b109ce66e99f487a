"""The rep's longer weekly history (:func:`history`), one row per week, for the week-by-week table.

(Trends are :func:`coachkit.coaching.weekly_trend`'s: a quasi-Poisson trend with autocorrelation-robust errors,
stated only when its interval excludes no change; the per-rep Spearman trend sentences are gone.)
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..feedback import effort_feedback
from ..window import Window


def history(data: Any, rep_id: str, window: Window, weeks: int = 12) -> pd.DataFrame:
    """The rep's last ``weeks`` calendar weeks up to the window's end (at least the window and the prior
    window), one row per week: :func:`coachkit.feedback.effort_feedback` on the data cut at the end."""
    weeks = max(int(weeks), 2 * window.weeks)
    start = window.start - pd.Timedelta(days=7 * (weeks - window.weeks))
    return effort_feedback(data.between(start, window.end), rep_id, start=start, end=window.end)
