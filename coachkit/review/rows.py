"""The rows of one rep that the sections read: the rep's reps-table row, their activities in a window,
which of them are conversations, and their feedback scores.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def rep_row(data: Any, rep_id: str) -> pd.Series:
    """The reps-table row of ``rep_id``; ``ValueError`` when the rep is not in the reps table."""
    reps = data.reps
    hit = np.flatnonzero((reps["rep_id"] == rep_id).to_numpy(dtype=bool, na_value=False))
    if not len(hit):
        raise ValueError(f"rep {rep_id!r} is not in the reps table")
    return reps.iloc[hit[0]]


def window_activities(data: Any, rep_id: str, start: Any, end: Any) -> pd.DataFrame:
    """The rep's activities with ``occurred_at`` from ``start`` to the end of the ``end`` day (both midnight timestamps)."""
    a = data.activities
    m = (
        (a["rep_id"] == rep_id)
        & (a["occurred_at"] >= start)
        & (a["occurred_at"] < pd.Timestamp(end) + pd.Timedelta(days=1))
    )
    return a[m.to_numpy(dtype=bool, na_value=False)]


def is_conversation(a: pd.DataFrame) -> pd.Series:
    """Per activity: a call with outcome connected or a meeting with outcome held (missing outcome: False)."""
    t, o = a["activity_type"], a["outcome"]
    return (((t == "call") & (o == "connected")) | ((t == "meeting") & (o == "held"))).fillna(False).astype(bool)


def feedback_scores(data: Any, rep_id: str, start: Any, end: Any) -> np.ndarray:
    """The rep's feedback scores (1–5, floats, missing ones dropped) from ``start`` to the end of the ``end`` day."""
    a = window_activities(data, rep_id, start, end)
    return a["feedback_score"].dropna().to_numpy(dtype="float64")
