"""The rep's team and its KPI tables: the peers (same team and role), the weekly KPI tables of the
window and the prior window (:func:`team_tables`, computed once per review), and the window totals
and team medians read from them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..coaching import peer_groups
from ..kpis import kpi_table, registry
from ..window import Window
from .fmt import is_missing
from .rows import rep_row

#: Every KPI the review computes per week for the team (one ``kpi_table`` call per window).
REVIEW_KPIS: tuple[str, ...] = (
    "activities",
    "calls",
    "meetings",
    "emails",
    "follow_ups",
    "active_days",
    "activity_score",
    "conversations",
    "connect_rate",
    "meeting_show_rate",
    "outcome_logged_rate",
    "follow_up_24h_rate",
    "notes_coverage",
    "feedback_score",
    "deals_created",
    "pipeline_created",
    "win_rate",
    "cycle_days",
)


def peers(data: Any, rep_id: str) -> list[str]:
    """The rep ids of the same team and role as ``rep_id`` (the rep included; a missing team/role matches missing).

    ``data``: a SalesData or its reps table.
    """
    key = peer_groups(data if isinstance(data, pd.DataFrame) else data.reps)
    if rep_id not in key.index:
        raise ValueError(f"rep {rep_id!r} is not in the reps table")
    return sorted(key.index[key == key[rep_id]].tolist())


@dataclass
class Team:
    """The team-level tables a review needs, computed once per notebook by :func:`team_tables`.

    ``this`` / ``prior``: weekly :func:`coachkit.kpi_table` rows of :data:`REVIEW_KPIS` for the
    peers over the window / prior window (data cut at each window's end). ``totals``: per
    window, rep and KPI, the window value with numerator, denominator and weeks.
    """

    rep_id: str
    peers: list[str]
    this: pd.DataFrame
    prior: pd.DataFrame
    totals: pd.DataFrame
    group: str

    def weekly(self, kpi: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        """``kpi`` by week over the prior and this window: the rep's rows, and per week the median
        ``value`` of the peers that have one (a rate with no denominator has none)."""
        both = pd.concat([self.prior, self.this], ignore_index=True)
        rows = both[both["kpi"] == kpi]
        mine = rows[rows["rep_id"] == self.rep_id]
        med = rows[rows["value"].notna()].groupby("period_start", as_index=False)["value"].median()
        return mine, med


def _aggregate(table: pd.DataFrame) -> pd.DataFrame:
    """Weekly KPI rows -> one row per (rep_id, kpi): the window value, numerator, denominator, weeks."""
    if table.empty:
        return pd.DataFrame(columns=["rep_id", "kpi", "value", "numerator", "denominator", "weeks"])
    g = table.groupby(["rep_id", "kpi"], observed=True, sort=False)
    out = g.agg(
        total=("value", "sum"),
        mean=("value", "mean"),
        numerator=("numerator", "sum"),
        denominator=("denominator", "sum"),
        weeks=("period_start", "size"),
    ).reset_index()
    kinds = out["kpi"].map(lambda k: registry[k].kind if k in registry else "count")
    ratio = out["numerator"] / out["denominator"].where(out["denominator"] > 0)
    out["value"] = np.where(kinds.isin(["rate", "mean"]), ratio, np.where(kinds == "score", out["mean"], out["total"]))
    return out[["rep_id", "kpi", "value", "numerator", "denominator", "weeks"]]


def team_tables(data: Any, rep_id: str, window: Window) -> Team:
    """The weekly KPI tables of the rep's team (same team and role) for the window and the prior window."""
    group = peers(data, rep_id)
    me = rep_row(data, rep_id)
    this = kpi_table(
        data.between(window.start, window.end), start=window.start, end=window.end, kpis=REVIEW_KPIS, reps=group
    )
    prior = kpi_table(
        data.between(window.prior_start, window.prior_end),
        start=window.prior_start,
        end=window.prior_end,
        kpis=REVIEW_KPIS,
        reps=group,
    )
    totals = pd.concat(
        [_aggregate(this).assign(window="this"), _aggregate(prior).assign(window="prior")], ignore_index=True
    )
    team, role = me.get("team"), me.get("role")
    label = " ".join(str(x) for x in (team, role) if not is_missing(x)) or "all reps"
    return Team(rep_id, group, this, prior, totals, f"{label}s" if not is_missing(role) else label)


def team_for(data: Any, rep_id: str, window: Window, team: Team | None) -> Team:
    """``team`` when it is the team tables of ``rep_id``, else :func:`team_tables` computed now."""
    if team is not None and team.rep_id == rep_id:
        return team
    return team_tables(data, rep_id, window)


def window_total(team: Team, kpi: str, which: str = "this", rep: str | None = None) -> pd.Series:
    """The rep's (default: the reviewed rep's) window row for ``kpi``; zeros/NaN when absent."""
    t = team.totals
    rows = t[(t["window"] == which) & (t["kpi"] == kpi) & (t["rep_id"] == (rep or team.rep_id))]
    if rows.empty:
        return pd.Series({"value": np.nan, "numerator": 0.0, "denominator": 0.0, "weeks": 0})
    return rows.iloc[0]


def window_count(team: Team, kpi: str, which: str = "this", rep: str | None = None) -> float:
    """The rep's (default: the reviewed rep's) window total of a count KPI, e.g. deals created; 0.0 when the
    rep has no row for it (no week of the window in the KPI table: a rep who left before it or starts after it).
    """
    value = window_total(team, kpi, which, rep)["value"]
    return 0.0 if is_missing(value) else float(value)


def team_median(team: Team, kpi: str, which: str = "this") -> float:
    """Median over the peers of their window values (counts: weekly average × the reviewed rep's weeks)."""
    t = team.totals
    rows = t[(t["window"] == which) & (t["kpi"] == kpi)]
    kind = registry[kpi].kind
    if kind == "rate":
        rows = rows[rows["denominator"] > 0]
        vals = rows["numerator"] / rows["denominator"]
    elif kind == "count":
        weeks = float(window_total(team, kpi, which)["weeks"])
        vals = rows["value"] / rows["weeks"].where(rows["weeks"] > 0) * weeks
    else:
        vals = rows["value"]
    vals = vals.dropna()
    return float(vals.median()) if len(vals) else np.nan


def peers_n(team: Team, which: str = "this") -> int:
    """How many reps of the team × role have a row in the window's KPI tables (employed in it): the n of
    :func:`team_median`."""
    t = team.totals
    return int(t.loc[t["window"] == which, "rep_id"].nunique()) if len(t) else 0


def others_total(team: Team, kpi: str, which: str = "this") -> tuple[float, float]:
    """(Σ numerator, Σ denominator) of ``kpi`` over the other peers (rates), or (Σ value, 0) for counts."""
    t = team.totals
    rows = t[(t["window"] == which) & (t["kpi"] == kpi) & (t["rep_id"] != team.rep_id)]
    if registry[kpi].kind == "count":
        return float(rows["value"].sum()), 0.0
    return float(rows["numerator"].sum()), float(rows["denominator"].sum())
