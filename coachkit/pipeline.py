"""The sales process: stage conversion and time in pipeline by stage (from the playbook's stages and the deals),
the activity → conversation → meeting → deal → won funnel per team and rep, and the exploratory lagged
association of weekly effort with later pipeline creation.

The deals table holds each deal's *current* stage, not its history. So a deal is known to have reached every
open stage up to its current one; a won deal reached every open stage and the won stage; a lost deal is only
known to have reached the first stage (where it was lost is not recorded). Stage conversion is therefore a
lower bound for the stages after the first, and "time in stage" is the deal's age in its current stage's
group (days since created for open deals, created → closed for closed ones).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .stats import lagged_association, wilson

__all__ = ["FUNNEL_STEPS", "stage_reach", "stage_conversion", "days_by_stage", "process_funnel", "effort_vs_pipeline"]

#: The process funnel's steps, in order.
FUNNEL_STEPS = ("activities", "conversations", "meetings held", "deals created", "deals won")
_DAY = pd.Timedelta(days=1)


def stage_reach(deals: pd.DataFrame, playbook: Any) -> np.ndarray:
    """For each deal, the index of the furthest stage it is known to have reached, counting the open stages
    0..m−1 in playbook order and the won stage as m: its own index when open; m when won (``is_won`` true or
    a won stage); 0 when lost or when its stage is unknown."""
    open_names = [s.name for s in playbook.stages if not s.is_closed]
    won_names = {s.name for s in playbook.stages if s.is_closed and s.is_won}
    idx = deals["stage"].map({n: i for i, n in enumerate(open_names)})
    won = deals["is_won"].fillna(False).astype(bool) | deals["stage"].isin(won_names)
    reach = np.where(won, len(open_names), idx.fillna(0).to_numpy(dtype="float64"))
    return reach.astype(np.int64)


def stage_conversion(deals: pd.DataFrame, playbook: Any) -> pd.DataFrame:
    """Deals that reached each stage (open stages in order, then the won stage) and the conversion from the
    previous stage: ``stage``, ``n`` (deals known to have reached it), ``conversion`` = n / previous n,
    ``ci_low``/``ci_high`` (95% Wilson), ``lost_here`` (for the first stage: the lost deals, whose last
    stage is unknown). See the module docstring for why later conversions are lower bounds."""
    open_names = [s.name for s in playbook.stages if not s.is_closed]
    won_name = next((s.name for s in playbook.stages if s.is_closed and s.is_won), "won")
    reach = stage_reach(deals, playbook)
    names = [*open_names, won_name]
    n = np.array([(reach >= i).sum() for i in range(len(names))], dtype="float64")
    prev = np.concatenate([[np.nan], n[:-1]])
    lo, hi = wilson(n, prev)
    with np.errstate(divide="ignore", invalid="ignore"):
        conv = np.where(prev > 0, n / prev, np.nan)
    lost = deals["is_won"].eq(False).fillna(False).astype(bool) & deals["is_closed"].ne(False).fillna(True)
    lost_here = np.zeros(len(names), dtype="int64")
    lost_here[0] = int(lost.sum())
    return pd.DataFrame(
        {
            "stage": names,
            "n": n.astype("int64"),
            "conversion": conv,
            "ci_low": lo,
            "ci_high": hi,
            "lost_here": lost_here,
        }
    )


def days_by_stage(deals: pd.DataFrame, playbook: Any, as_of: Any) -> pd.DataFrame:
    """Days in the pipeline per current stage, in playbook order: open deals (created by ``as_of``) count
    as_of − created_at; closed deals closed_at − created_at. Columns: stage, deals, median_days, p25_days,
    p75_days, amount (Σ). Stages without deals are listed with 0 deals."""
    end = pd.Timestamp(as_of).normalize() + _DAY
    d = deals[deals["created_at"] < end]
    stop = d["closed_at"].where(d["closed_at"].notna() & (d["closed_at"] < end), end)
    days = (stop - d["created_at"]) / _DAY
    g = pd.DataFrame({"stage": d["stage"].fillna("(unknown)"), "days": days, "amount": d["amount"]}).groupby("stage")
    out = pd.DataFrame(
        {
            "deals": g.size(),
            "median_days": g["days"].median(),
            "p25_days": g["days"].quantile(0.25),
            "p75_days": g["days"].quantile(0.75),
            "amount": g["amount"].sum(),
        }
    )
    order = [*playbook.stage_names, *sorted(set(out.index) - set(playbook.stage_names))]
    out = out.reindex(order)
    out["deals"] = out["deals"].fillna(0).astype("int64")
    out["amount"] = out["amount"].fillna(0.0)
    return out.rename_axis("stage").reset_index()


def process_funnel(data: Any, start: Any, end: Any, *, by: str = "team") -> pd.DataFrame:
    """The process funnel per group (``by`` = ``"team"`` or ``"rep_id"``; ``"all"`` for the whole team) for
    activities with ``start <= occurred_at`` on or before the day ``end``:

    activities (any type) → conversations (calls connected + meetings held) → meetings held → deals created
    (created_at in the window) → deals won (of those deals, is_won true by now). Columns: ``group``, ``step``,
    ``n``, ``conversion`` = n / previous step's n with ``ci_low``/``ci_high`` (95% Wilson, NaN where n exceeds
    the previous step, e.g. deals created without a logged meeting), ``of_activities`` = n / activities.
    """
    if by not in ("team", "rep_id", "all"):
        raise ValueError(f"by must be 'team', 'rep_id' or 'all', got {by!r}")
    window = data.between(start, end)
    lo, hi = pd.Timestamp(start), pd.Timestamp(end).normalize() + _DAY
    teams = data.reps.drop_duplicates("rep_id").set_index("rep_id")["team"]

    def group(rep_ids: pd.Series) -> pd.Series:
        if by == "all":
            return pd.Series("all", index=rep_ids.index)
        return rep_ids.map(teams).fillna("(no team)") if by == "team" else rep_ids

    a = window.activities
    typ, out = a["activity_type"], a["outcome"]
    held = ((typ == "meeting") & (out == "held")).fillna(False)
    conv = (((typ == "call") & (out == "connected")) | held).fillna(False)
    d = data.deals[(data.deals["created_at"] >= lo) & (data.deals["created_at"] < hi)]
    g_a, g_d = group(a["rep_id"]), group(d["rep_id"])
    counts = pd.DataFrame(
        {
            "activities": a.groupby(g_a).size(),
            "conversations": conv.groupby(g_a).sum(),
            "meetings held": held.groupby(g_a).sum(),
            "deals created": d.groupby(g_d).size(),
            "deals won": d["is_won"].fillna(False).astype(bool).groupby(g_d).sum(),
        }
    ).fillna(0)
    long = counts.rename_axis("group").reset_index().melt("group", var_name="step", value_name="n")
    long["_s"] = long["step"].map({s: i for i, s in enumerate(FUNNEL_STEPS)})
    long = long.sort_values(["group", "_s"], kind="stable").drop(columns="_s").reset_index(drop=True)
    long["n"] = long["n"].astype("int64")
    prev = long.groupby("group")["n"].shift(1)
    with np.errstate(divide="ignore", invalid="ignore"):
        long["conversion"] = np.where(prev > 0, long["n"] / prev, np.nan)
    ok = prev.notna() & (long["n"] <= prev)
    clo, chi = wilson(long["n"].where(ok), prev.where(ok))
    long["ci_low"], long["ci_high"] = clo, chi
    first = long.groupby("group")["n"].transform("first")
    long["of_activities"] = long["n"] / first.where(first > 0)
    return long


def effort_vs_pipeline(
    table: pd.DataFrame,
    effort: str = "conversations",
    outcome: str = "pipeline_created",
    lags: Sequence[int] = (1, 2, 3, 4),
    *,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(weekly, association): the team's weekly Σ ``effort`` and Σ ``outcome`` from weekly kpi_table rows,
    and :func:`coachkit.stats.lagged_association` of effort in week t with the outcome in week t + lag
    (Spearman ρ, permutation p-value, n pairs; exploratory)."""
    rows = table[table["kpi"].isin([effort, outcome])]
    weekly = rows.pivot_table(index="period_start", columns="kpi", values="value", aggfunc="sum")
    weekly = weekly.reindex(columns=[effort, outcome]).sort_index()
    assoc = lagged_association(weekly[effort], weekly[outcome], lags=lags, seed=seed)
    return weekly.rename_axis(columns=None).reset_index(), assoc
