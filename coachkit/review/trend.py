"""The rep's longer weekly history (:func:`history`), one row per week, for the week-by-week table.

(Trends are :func:`coachkit.coaching.weekly_trend`'s: a quasi-Poisson trend with autocorrelation-robust errors,
stated only when its interval excludes no change; the per-rep Spearman trend sentences are gone.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from ..feedback import effort_feedback, effort_feedback_by_rep
from ..window import Window

if TYPE_CHECKING:
    from .team import Team


def history(data: Any, rep_id: str, window: Window, weeks: int = 12, *, team: Team | None = None) -> pd.DataFrame:
    """The rep's last ``weeks`` calendar weeks up to the window's end (at least the window and the prior
    window), one row per week: :func:`coachkit.feedback.effort_feedback` on the data cut at the end.

    ``team``: the rep's :func:`coachkit.review.team_tables` (computed from ``data``): the weeks of every rep of
    the team are computed once (:func:`coachkit.feedback.effort_feedback_by_rep`, kept in
    :attr:`~coachkit.review.team.Team.shared`) and the rep's are returned, the same rows.
    """
    weeks = max(int(weeks), 2 * window.weeks)
    start = window.start - pd.Timedelta(days=7 * (weeks - window.weeks))
    if team is None or team.rep_id != rep_id:
        return effort_feedback(data.between(start, window.end), rep_id, start=start, end=window.end)
    every = team.share(
        ("history", window, weeks),
        lambda: effort_feedback_by_rep(data.between(start, window.end), team.peers, start=start, end=window.end),
    )
    return every[(every["rep_id"] == rep_id).to_numpy(dtype=bool)].drop(columns="rep_id").reset_index(drop=True)
