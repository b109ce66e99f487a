"""The rep's team and its KPI tables: the peers (same team and role), the weekly KPI tables of the
window and the prior window (:func:`team_tables`, computed once per team and window in a process, and
shared by the reviews of its reps), and the window totals and team medians read from them.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
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

    ``shared``: what was computed once for the whole team from the same data and window, by key
    (:meth:`share`); the :class:`Team` of every rep of the team, in one process, holds the same dict.
    """

    rep_id: str
    peers: list[str]
    this: pd.DataFrame
    prior: pd.DataFrame
    totals: pd.DataFrame
    group: str
    shared: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)

    def share(self, key: Any, compute: Callable[[], Any]) -> Any:
        """``compute()``, computed once for the team: the value stored under ``key`` in :attr:`shared`.

        For team-wide results only: ``compute`` must read nothing but the data this team was computed from
        (the review's dataset) and what ``key`` names (e.g. the window). A result handed out again is the
        same object: callers must not change it in place.
        """
        if key not in self.shared:
            self.shared[key] = compute()
        return self.shared[key]

    def rows(self, which: str, kpi: str) -> dict[str, int]:
        """Positions in :attr:`totals` of the ``which`` window's rows for ``kpi``, by rep id (the first row of a rep
        when it has several): an index built once per team, as the sections read the totals some 60 times."""
        index = self.__dict__.get("_rows")
        if index is None or index[0] is not self.totals:
            t = self.totals
            built: dict[tuple[str, str], dict[str, int]] = {}
            if len(t):
                keys = zip(t["window"].tolist(), t["kpi"].tolist(), t["rep_id"].tolist(), strict=True)
                for pos, (w, k, r) in enumerate(keys):
                    built.setdefault((w, k), {}).setdefault(r, pos)
            index = self.__dict__["_rows"] = (t, built)
        return index[1].get((which, kpi), {})

    def totals_arrays(self) -> dict[str, np.ndarray]:
        """:attr:`totals`' ``value``, ``numerator``, ``denominator`` and ``weeks`` as float64 arrays (missing: NaN),
        by position, built once per team: :func:`team_median` reads them some 25 times per review."""
        cached = self.__dict__.get("_arrays")
        if cached is None or cached[0] is not self.totals:
            t = self.totals
            arrays = {
                c: (t[c].to_numpy(dtype="float64", na_value=np.nan) if c in t.columns else np.full(len(t), np.nan))
                for c in ("value", "numerator", "denominator", "weeks")
            }
            cached = self.__dict__["_arrays"] = (t, arrays)
        return cached[1]

    def for_rep(self, rep_id: str) -> Team:
        """The same team's tables for another of its reps (new frame objects over the same data, same
        :attr:`shared`)."""
        if rep_id not in self.peers:
            raise ValueError(f"rep {rep_id!r} is not one of this team's peers {self.peers}")
        team = replace(
            self,
            rep_id=rep_id,
            this=self.this.copy(deep=False),
            prior=self.prior.copy(deep=False),
            totals=self.totals.copy(deep=False),
        )
        self.rows("this", "")  # the index of the totals and their arrays, built once and handed on (same rows)
        team.__dict__["_rows"] = (team.totals, self.__dict__["_rows"][1])
        team.__dict__["_arrays"] = (team.totals, self.totals_arrays())
        return team

    def rep_rows(self, kpi: str, which: str = "this") -> pd.DataFrame:
        """The reviewed rep's rows of ``kpi`` in the ``which`` window's weekly table (:attr:`this` or :attr:`prior`),
        found once per :class:`Team` for every KPI."""
        table = self.this if which == "this" else self.prior
        cached = self.__dict__.get("_rep_rows")
        if cached is None or cached[0] is not self.this or cached[1] is not self.prior or cached[2] != self.rep_id:
            found: dict[tuple[str, str], pd.DataFrame] = {}
            for name, t in (("this", self.this), ("prior", self.prior)):
                mine = t[(t["rep_id"] == self.rep_id).to_numpy(dtype=bool, na_value=False)]
                found |= {(name, str(k)): rows for k, rows in mine.groupby("kpi", sort=False, dropna=True)}
            cached = self.__dict__["_rep_rows"] = (self.this, self.prior, self.rep_id, found)
        rows = cached[3].get((which, kpi))
        return rows if rows is not None else table.iloc[:0]

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


def team_tables(data: Any, rep_id: str, window: Window, *, share: bool = True) -> Team:
    """The weekly KPI tables of the rep's team (same team and role) for the window and the prior window.

    With ``share`` (the default), the process keeps the last :data:`SHARED_TEAMS` teams by content
    (:meth:`coachkit.SalesData.content_key`: the same rows and playbook), peers and window: the next rep of the
    same team, reviewed on the same data (a warm kernel of the batch), gets them without computing them again,
    with :attr:`Team.shared` (what the review computed once for the team). ``share=False`` computes anew.
    """
    group = peers(data, rep_id)
    key = None
    if share:
        content = data.content_key()
        key = None if content is None else (content, tuple(group), window)
        if key in _SHARED_TEAMS:
            _SHARED_TEAMS.move_to_end(key)
            return _SHARED_TEAMS[key].for_rep(rep_id)
    team = _team_tables(data, rep_id, group, window)
    if key is not None:
        _SHARED_TEAMS[key] = team
        while len(_SHARED_TEAMS) > SHARED_TEAMS:
            _SHARED_TEAMS.popitem(last=False)
        return team.for_rep(rep_id)
    return team


#: How many teams :func:`team_tables` keeps per process (a batch sends the reps of one team one after another).
SHARED_TEAMS = 4
_SHARED_TEAMS: OrderedDict[Any, Team] = OrderedDict()


def _team_tables(data: Any, rep_id: str, group: list[str], window: Window) -> Team:
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
    pos = team.rows(which, kpi).get(rep or team.rep_id)
    if pos is None:
        return pd.Series({"value": np.nan, "numerator": 0.0, "denominator": 0.0, "weeks": 0})
    return team.totals.iloc[pos]


def window_count(team: Team, kpi: str, which: str = "this", rep: str | None = None) -> float:
    """The rep's (default: the reviewed rep's) window total of a count KPI, e.g. deals created; 0.0 when the
    rep has no row for it (no week of the window in the KPI table: a rep who left before it or starts after it).
    """
    value = window_total(team, kpi, which, rep)["value"]
    return 0.0 if is_missing(value) else float(value)


def team_median(team: Team, kpi: str, which: str = "this") -> float:
    """Median over the peers of their window values (counts: weekly average × the reviewed rep's weeks)."""
    pos = np.array(sorted(team.rows(which, kpi).values()), dtype=np.intp)
    col = team.totals_arrays()
    kind = registry[kpi].kind
    if kind == "rate":
        num, den = col["numerator"][pos], col["denominator"][pos]
        keep = den > 0
        vals = num[keep] / den[keep]
    elif kind == "count":
        weeks = float(window_total(team, kpi, which)["weeks"])
        w = col["weeks"][pos]
        vals = col["value"][pos] / np.where(w > 0, w, np.nan) * weeks
    else:
        vals = col["value"][pos]
    vals = vals[~np.isnan(vals)]
    return float(np.median(vals)) if len(vals) else np.nan


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
