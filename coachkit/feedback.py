"""Feedback linkage: what buyers said (themes in conversation notes) next to the effort that produced it.

Themes come from the playbook (``[themes.*]``): notes matching any of a theme's
keywords as whole words, in any case, carry the theme. Periods, the rep x period
grid and "conversation" are exactly those of :func:`coachkit.kpis.kpi_table`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from . import schema
from .kpis import KpiInput, kpi_table

__all__ = ["THEME_COLUMNS", "EFFORT_COLUMNS", "feedback_themes", "effort_feedback", "effort_feedback_by_rep"]

#: Columns of :func:`feedback_themes`, in order.
THEME_COLUMNS: tuple[str, ...] = (
    "rep_id",
    "period_start",
    "theme",
    "kind",
    "count",
    "conversations",
    "with_notes",
    "share",
)

#: Activity-type count KPIs whose shares make up the activity mix in :func:`effort_feedback`.
_MIX = ("calls", "meetings", "emails", "follow_ups")

#: Columns of :func:`effort_feedback`, in order.
EFFORT_COLUMNS: tuple[str, ...] = (
    "period_start",
    # effort
    "activities",
    *_MIX,
    "active_days",
    *(f"mix_{m}" for m in _MIX),
    "mix_other",
    # feedback
    "feedback_score",
    "feedback_n",
    "notes_coverage",
    "objection_share",
    "signal_share",
    "top_theme",
    # outcomes
    "conversations",
    "connect_rate",
    "connect_n",
    "meeting_show_rate",
    "show_n",
    "follow_up_24h_rate",
    "follow_up_n",
)


def _theme_hits(inp: KpiInput) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(conversation mask, notes-present mask, matrix activity x theme of matches), over conversations on the grid.

    Each theme's regex runs once over the notes of all those conversations (vectorised).
    """
    conv = inp.is_conversation() & (inp.activity_cells() >= 0)
    rows = np.flatnonzero(conv)
    notes = inp.activities["notes"].iloc[rows].astype(schema.STRING)
    noted = np.zeros(len(conv), dtype=bool)
    noted[rows] = notes.str.contains(r"\S", regex=True).to_numpy(dtype=bool, na_value=False)
    themes = inp.playbook.themes
    hits = np.zeros((len(conv), len(themes)), dtype=bool)
    for j, theme in enumerate(themes):
        hits[rows, j] = notes.str.contains(theme.pattern, regex=True).to_numpy(dtype=bool, na_value=False)
    return conv, noted, hits


def feedback_themes(
    data: Any,
    *,
    freq: str = "W",
    start: Any = None,
    end: Any = None,
    reps: Any = None,
) -> pd.DataFrame:
    """Per rep, period and playbook theme: how many conversations' notes carry the theme.

    For every rep x period of :func:`coachkit.kpi_table`'s grid (same ``freq``,
    ``start``, ``end`` and ``reps``) and every theme of ``data.playbook.themes``:

    - ``conversations``: calls with outcome connected + meetings with outcome held;
    - ``with_notes``: those whose notes contain at least one non-whitespace character;
    - ``count``: those whose notes match the theme's keywords (whole words, any case);
    - ``share`` = count / conversations (NaN when there were no conversations).

    Long format, one row per rep x period x theme (themes in playbook order, then
    rep_id, then period_start), columns :data:`THEME_COLUMNS`; ``kind`` is
    ``objection`` or ``signal``. A conversation can carry several themes.
    """
    inp = KpiInput.from_data(data, freq=freq, start=start, end=end, reps=reps)
    themes = inp.playbook.themes
    conv, noted, hits = _theme_hits(inp)
    n_conv = inp.count(conv)
    n_noted = inp.count(noted)
    counts = [inp.count(hits[:, j]) for j in range(len(themes))]
    idx = inp.index
    n, k = len(idx), len(themes)
    count = np.concatenate(counts) if counts else np.array([], dtype="float64")
    conversations = np.tile(n_conv, k)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(conversations > 0, count / np.where(conversations > 0, conversations, 1.0), np.nan)
    return pd.DataFrame(
        {
            "rep_id": pd.array(np.tile(idx.get_level_values(0).to_numpy(), k), dtype=schema.STRING),
            "period_start": np.tile(idx.get_level_values(1).to_numpy(dtype="datetime64[ns]"), k),
            "theme": pd.array(np.repeat(np.array([t.name for t in themes], dtype=object), n), dtype=schema.STRING),
            "kind": pd.array(np.repeat(np.array([t.kind for t in themes], dtype=object), n), dtype=schema.STRING),
            "count": count.astype("int64"),
            "conversations": conversations.astype("int64"),
            "with_notes": np.tile(n_noted, k).astype("int64"),
            "share": share,
        },
        columns=list(THEME_COLUMNS),
    )


def effort_feedback(data: Any, rep_id: str, *, start: Any = None, end: Any = None) -> pd.DataFrame:
    """One row per week for ``rep_id``: the effort put in, the feedback heard, and the outcomes.

    Weeks (Monday starts) and the window are those of ``kpi_table(data, freq="W",
    start=start, end=end, reps=[rep_id])``; every value is that week's KPI:

    - effort: ``activities``, ``calls``, ``meetings``, ``emails``, ``follow_ups``,
      ``active_days``; the mix ``mix_<type>`` = that type's activities / activities
      and ``mix_other`` = the rest (tasks, notes, ...) / activities (NaN when there
      were no activities);
    - feedback: ``feedback_score`` (mean score of the week's scored activities) and
      ``feedback_n`` (how many were scored); ``notes_coverage``;
      ``objection_share`` / ``signal_share`` = conversations whose notes match at
      least one objection / signal theme ÷ conversations; ``top_theme`` = the theme
      matched by the most conversations (the first in playbook order on a tie;
      missing when none matched);
    - outcomes: ``conversations``, ``connect_rate`` with ``connect_n`` (calls with an
      outcome), ``meeting_show_rate`` with ``show_n`` (meetings held or no-show),
      ``follow_up_24h_rate`` with ``follow_up_n`` (conversations with an account).

    Rates are NaN when their n is 0. Columns :data:`EFFORT_COLUMNS`.
    """
    out = effort_feedback_by_rep(data, [rep_id], start=start, end=end)
    return out.drop(columns="rep_id").reset_index(drop=True)


def effort_feedback_by_rep(data: Any, reps: list[str], *, start: Any = None, end: Any = None) -> pd.DataFrame:
    """:func:`effort_feedback` of each rep of ``reps`` at once (one KPI table for all): a rep's rows are those
    :func:`effort_feedback` gives for them alone. Columns ``rep_id`` then :data:`EFFORT_COLUMNS`, sorted by rep
    and week."""
    wanted = [
        "activities",
        *_MIX,
        "active_days",
        "feedback_score",
        "notes_coverage",
        "conversations",
        "connect_rate",
        "meeting_show_rate",
        "follow_up_24h_rate",
    ]
    table = kpi_table(data, freq="W", start=start, end=end, kpis=wanted, reps=list(reps))
    keys = ["rep_id", "period_start"]
    wide = table.pivot(index=keys, columns="kpi", values="value").reindex(columns=wanted)
    dens = table.pivot(index=keys, columns="kpi", values="denominator").reindex(columns=wanted)
    out = pd.DataFrame(index=wide.index)
    for name in ("activities", *_MIX, "active_days"):
        out[name] = wide[name]
    total = out["activities"].to_numpy(dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        for m in _MIX:
            out[f"mix_{m}"] = np.where(total > 0, out[m] / np.where(total > 0, total, 1.0), np.nan)
        other = total - out[list(_MIX)].sum(axis=1).to_numpy()
        out["mix_other"] = np.where(total > 0, other / np.where(total > 0, total, 1.0), np.nan)
    out["feedback_score"] = wide["feedback_score"]
    out["feedback_n"] = dens["feedback_score"]

    # Theme shares per week: any objection / any signal, and the most frequent theme.
    inp = KpiInput.from_data(data, freq="W", start=start, end=end, reps=list(reps))
    conv, _, hits = _theme_hits(inp)
    themes = inp.playbook.themes
    weeks = inp.index  # (rep_id, period_start), as ``wide``
    n_conv = inp.count(conv)
    is_obj = np.array([t.kind == "objection" for t in themes], dtype=bool)
    obj = inp.count(hits[:, is_obj].any(axis=1)) if is_obj.any() else np.zeros(len(weeks))
    sig = inp.count(hits[:, ~is_obj].any(axis=1)) if (~is_obj).any() else np.zeros(len(weeks))
    per_theme = np.column_stack([inp.count(hits[:, j]) for j in range(len(themes))]) if themes else None
    with np.errstate(divide="ignore", invalid="ignore"):
        safe = np.where(n_conv > 0, n_conv, 1.0)
        obj_share = pd.Series(np.where(n_conv > 0, obj / safe, np.nan), index=weeks)
        sig_share = pd.Series(np.where(n_conv > 0, sig / safe, np.nan), index=weeks)
    if per_theme is not None and len(weeks):
        best = per_theme.argmax(axis=1)  # argmax takes the first maximum: playbook order breaks ties
        names = np.array([t.name for t in themes], dtype=object)[best]
        top = pd.Series(np.where(per_theme.max(axis=1) > 0, names, None), index=weeks, dtype=schema.STRING)
    else:
        top = pd.Series(pd.NA, index=weeks, dtype=schema.STRING)
    out["notes_coverage"] = wide["notes_coverage"]
    out["objection_share"] = obj_share.reindex(out.index)
    out["signal_share"] = sig_share.reindex(out.index)
    out["top_theme"] = top.reindex(out.index)

    out["conversations"] = wide["conversations"]
    out["connect_rate"] = wide["connect_rate"]
    out["connect_n"] = dens["connect_rate"]
    out["meeting_show_rate"] = wide["meeting_show_rate"]
    out["show_n"] = dens["meeting_show_rate"]
    out["follow_up_24h_rate"] = wide["follow_up_24h_rate"]
    out["follow_up_n"] = dens["follow_up_24h_rate"]
    out = out.reset_index()
    out.columns.name = None
    return out[["rep_id", *EFFORT_COLUMNS]]
