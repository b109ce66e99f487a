"""The sales process: stage conversion and time in pipeline by stage (from the playbook's stages, the deals and,
when present, their stage history), the activity → conversation → meeting → deal → won funnel per team and
rep, and the exploratory lagged association of weekly effort with later pipeline creation.

**Stage conversion needs stage history.** The deals table holds each deal's *current* stage only: a lost deal's
stage is "closed_lost", so where it was lost is not recorded, and no stage-to-stage conversion can be known
from it (counting lost deals at the first stage made "negotiation → won" look like 92% while 209 deals were
won and 556 lost). With the optional ``deal_stages`` table (one row each time a deal entered a stage, e.g.
Salesforce's OpportunityHistory), :func:`stage_conversion` attributes each lost deal to the furthest stage it
reached and computes each stage's conversion among closed deals; without it, it says what it cannot know
(:func:`stage_note`) and shows only what is known: deals open at each stage now, won and lost.

"Time in stage" is the deal's age in its current stage's group (days since created for open deals, created →
closed for closed ones).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .dataset import performed_activities
from .stats import lagged_association, wilson

__all__ = [
    "FUNNEL_STEPS",
    "stage_reach",
    "stage_paths",
    "stage_conversion",
    "stage_note",
    "stage_bars",
    "days_by_stage",
    "process_funnel",
    "effort_vs_pipeline",
]

#: The process funnel's steps, in order.
FUNNEL_STEPS = ("activities", "conversations", "meetings held", "deals created", "deals won")
_DAY = pd.Timedelta(days=1)


def _stage_names(playbook: Any) -> tuple[list[str], str, set[str], set[str]]:
    """(open stage names in order, the won stage's name, won stage names, lost stage names)."""
    open_names = [s.name for s in playbook.stages if not s.is_closed]
    won = {s.name for s in playbook.stages if s.is_closed and s.is_won}
    lost = {s.name for s in playbook.stages if s.is_closed and not s.is_won}
    return open_names, next(iter(sorted(won)), "won"), won, lost


def _status(deals: pd.DataFrame, playbook: Any) -> pd.Series:
    """``"won"``, ``"lost"`` or ``"open"`` per deal, from ``is_won``/``is_closed`` and the stage's kind."""
    _, _, won_names, lost_names = _stage_names(playbook)
    won = deals["is_won"].fillna(False).astype(bool) | deals["stage"].isin(won_names)
    closed = deals["is_closed"].fillna(False).astype(bool) | deals["stage"].isin(won_names | lost_names)
    closed |= deals["is_won"].notna() & deals["closed_at"].notna()
    return pd.Series(np.where(won, "won", np.where(closed, "lost", "open")), index=deals.index)


def stage_reach(deals: pd.DataFrame, playbook: Any) -> np.ndarray:
    """For each deal, the index of the furthest stage it is known to have reached from the deals table alone,
    counting the open stages 0..m−1 in playbook order and the won stage as m: its own index when open; m when
    won (``is_won`` true or a won stage); 0 when lost or when its stage is unknown."""
    open_names, _, won_names, _ = _stage_names(playbook)
    idx = deals["stage"].map({n: i for i, n in enumerate(open_names)})
    won = deals["is_won"].fillna(False).astype(bool) | deals["stage"].isin(won_names)
    reach = np.where(won, len(open_names), idx.fillna(0).to_numpy(dtype="float64"))
    return reach.astype(np.int64)


def stage_paths(deals: pd.DataFrame, history: pd.DataFrame, playbook: Any) -> pd.DataFrame:
    """Each deal's furthest stage from its stage history and its current stage: one row per deal with
    ``deal_id``, ``status`` (won / lost / open), ``has_history``, ``reach`` (index of the furthest open stage
    entered, in playbook order; the number of open stages when won; -1 when unknown) and ``stage_reached``
    (its name). History rows of other deals or of stages not in the playbook are ignored."""
    open_names, won_name, _, _ = _stage_names(playbook)
    order = {n: i for i, n in enumerate(open_names)}
    h = history[history["deal_id"].isin(deals["deal_id"])]
    from_history = h["stage"].map(order).groupby(h["deal_id"]).max()
    status = _status(deals, playbook)
    current = deals["stage"].map(order).where(status == "open")
    best = pd.DataFrame({"history": from_history.reindex(deals["deal_id"]).to_numpy(), "now": current.to_numpy()})
    best = best.max(axis=1)
    reach = np.where(status == "won", len(open_names), best.fillna(-1).to_numpy()).astype(np.int64)
    names = [*open_names, won_name]
    return pd.DataFrame(
        {
            "deal_id": deals["deal_id"].to_numpy(),
            "status": status.to_numpy(),
            "has_history": deals["deal_id"].isin(h["deal_id"]).to_numpy(),
            "reach": reach,
            "stage_reached": [names[r] if r >= 0 else None for r in reach],
        }
    )


def stage_conversion(deals: pd.DataFrame, playbook: Any, history: pd.DataFrame | None = None) -> pd.DataFrame:
    """Stage by stage: how many deals reached it and, with stage history, the conversion from the previous stage.

    Rows: the open stages in playbook order, then the won stage. Columns: ``stage``; ``open_now`` (open deals
    whose current stage it is); and, **with** ``history`` (the ``deal_stages`` table, non-empty):

    - ``n``: closed deals (won or lost) that reached the stage. A deal reached every stage up to the furthest
      it entered (its history and its current stage; a won deal reached them all). Lost deals without any
      history row are left out (their last stage is unknown; :func:`stage_note` counts them).
    - ``conversion`` = n / the previous stage's n, with ``ci_low``/``ci_high`` (95% Wilson): of the closed
      deals that reached the previous stage, the share that reached this one. Among closed deals only, so
      that deals still open do not count as lost.
    - ``lost_here``: lost deals whose furthest stage was this one (n of a stage = n of the next + lost_here).

    **Without** history, where lost deals were lost is not recorded, so ``n``, ``conversion``, ``ci_low``,
    ``ci_high`` and ``lost_here`` are NaN (unknown), except the won stage's ``n`` (deals won); ``open_now``
    is known. :func:`stage_note` says so in a sentence with the overall win rate of closed deals.
    """
    open_names, won_name, _, _ = _stage_names(playbook)
    names = [*open_names, won_name]
    status = _status(deals, playbook)
    open_now = [int(((deals["stage"] == n) & (status == "open")).sum()) for n in open_names] + [0]
    nan = np.full(len(names), np.nan)
    if history is None or history.empty:
        n = nan.copy()
        n[-1] = float((status == "won").sum())
        return pd.DataFrame(
            {"stage": names, "n": n, "conversion": nan, "ci_low": nan, "ci_high": nan, "lost_here": nan}
        ).assign(open_now=open_now)
    paths = stage_paths(deals, history, playbook)
    closed = paths[(paths["status"] == "won") | ((paths["status"] == "lost") & (paths["reach"] >= 0))]
    closed = closed[(closed["status"] == "won") | closed["has_history"]]
    n = np.array([(closed["reach"] >= i).sum() for i in range(len(names))], dtype="float64")
    prev = np.concatenate([[np.nan], n[:-1]])
    lo, hi = wilson(n, prev)
    with np.errstate(divide="ignore", invalid="ignore"):
        conv = np.where(prev > 0, n / prev, np.nan)
    lost = closed[closed["status"] == "lost"]
    lost_here = np.array([(lost["reach"] == i).sum() for i in range(len(names))], dtype="float64")
    return pd.DataFrame(
        {"stage": names, "n": n, "conversion": conv, "ci_low": lo, "ci_high": hi, "lost_here": lost_here}
    ).assign(open_now=open_now)


def stage_note(deals: pd.DataFrame, playbook: Any, history: pd.DataFrame | None = None) -> str:
    """One paragraph saying what :func:`stage_conversion` can and cannot tell from these deals and history."""
    status = _status(deals, playbook)
    won, lost, open_ = (int((status == k).sum()) for k in ("won", "lost", "open"))
    closed = won + lost
    if closed:
        lo, hi = wilson(won, closed)
        rate = f"{won:,} of {closed:,} closed deals were won ({won / closed:.0%}, 95% interval {lo:.0%}–{hi:.0%})"
    else:
        rate = "no deal is closed yet"
    if history is None or history.empty:
        return (
            "This data has no stage history (a deal_stages table, such as Salesforce's OpportunityHistory), so "
            f"where the {lost:,} lost deals were lost is not recorded, and no stage-to-stage conversion can be "
            f"known. What is known: {rate}; {open_:,} deals are open, by current stage below."
        )
    paths = stage_paths(deals, history, playbook)
    unknown = int(((paths["status"] == "lost") & ~paths["has_history"]).sum())
    with_history = int(paths["has_history"].sum())
    tail = f" {unknown:,} lost deals have no history and are left out of the conversions." if unknown else ""
    return (
        f"Stage history covers {with_history:,} of {len(deals):,} deals: each lost deal counts as lost at the "
        f"furthest stage it reached, and conversions are among closed deals ({rate}).{tail}"
    )


def stage_bars(stages: pd.DataFrame, deals: pd.DataFrame, playbook: Any) -> tuple[pd.DataFrame, str]:
    """(frame, title) for ``charts.stage_funnel`` from :func:`stage_conversion`'s table.

    With stage history (``n`` known): closed deals reaching each stage, with the conversions. Without: what is
    known, deals open at each stage now, then the won deals and the lost deals (stage unknown), no conversion.
    """
    if stages["n"].iloc[:-1].notna().any():
        cols = ["stage", "n", "conversion", "ci_low", "ci_high"]
        return stages[cols].astype({"n": "int64"}), "Closed deals reaching each stage (from the stage history)"
    status = _status(deals, playbook)
    rows = [*zip(stages["stage"].iloc[:-1], stages["open_now"].iloc[:-1], strict=True)]
    rows += [
        (stages["stage"].iloc[-1], int((status == "won").sum())),
        ("lost (stage unknown)", int((status == "lost").sum())),
    ]
    frame = pd.DataFrame(rows, columns=["stage", "n"]).assign(conversion=np.nan)
    return frame, "Deals by current stage (no stage history: no conversion between stages)"


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

    a = performed_activities(window.activities)  # to-dos not done are not effort
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
