"""Team overview for managers: scorecards ranked by shrunk estimates, funnel plots, honest week-over-week changes
and how activity is spread across reps. Pure functions over :func:`coachkit.kpi_table` rows and activities."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .kpis import registry
from .stats import Z95, funnel_limits, poisson_interval, shrink, wilson

__all__ = ["SCORECARD_KPIS", "FUNNEL_KPIS", "scorecard", "funnel", "week_over_week", "activity_spread"]

#: The scorecard: the activity score, then the leading KPIs (effort and its quality before results).
SCORECARD_KPIS = (
    "activity_score",
    "calls",
    "conversations",
    "meetings",
    "connect_rate",
    "meeting_show_rate",
    "follow_up_24h_rate",
    "notes_coverage",
)
#: Rate KPIs shown as funnel plots.
FUNNEL_KPIS = ("connect_rate", "meeting_show_rate", "follow_up_24h_rate")

SCORECARD_COLUMNS = ["rank", "rep_id", "kpi", "value", "ci_low", "ci_high", "n", "raw", "method"]


def scorecard(table: pd.DataFrame, kpi: str) -> pd.DataFrame:
    """Reps ranked on ``kpi`` over all periods of ``table`` (kpi_table rows), highest first (lowest first
    when lower is better), never by raw rates.

    - rate: k = Σ numerator, n = Σ denominator; ``value`` is the empirical-Bayes shrunk rate
      (:func:`coachkit.stats.shrink`) with its 95% credible interval; ``raw`` = k / n.
    - count: ``value`` = Σ value / number of periods (per period), with the exact Poisson interval of the
      total divided by the periods; ``n`` = periods.
    - mean / score: ``value`` = mean of the periods' values, interval ± z·sd/√periods; ``n`` = periods with a value.

    ``rank`` is 1 for the best; reps with no data (n = 0) come last. Columns: rank, rep_id, kpi, value,
    ci_low, ci_high, n, raw, method.
    """
    d = registry[kpi]
    rows = table[table["kpi"] == kpi]
    g = rows.groupby("rep_id", sort=True)
    if d.kind == "rate":
        k = g["numerator"].sum()
        s = shrink(k, g["denominator"].sum())
        out = pd.DataFrame(
            {
                "value": s["mean"],
                "ci_low": s["ci_low"],
                "ci_high": s["ci_high"],
                "n": s["n"],
                "raw": s["raw"],
                "method": "shrunk (" + s["method"] + ")",
            }
        )
    elif d.kind == "count":
        total = g["value"].sum()
        periods = g["value"].count().astype("float64")
        lo, hi = poisson_interval(total)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = pd.DataFrame(
                {"value": total / periods, "ci_low": lo / periods, "ci_high": hi / periods, "n": periods},
                index=total.index,
            )
        out["raw"] = out["value"]
        out["method"] = "per period (Poisson)"
    else:
        mean = g["value"].mean()
        m = g["value"].count().astype("float64")
        with np.errstate(divide="ignore", invalid="ignore"):
            half = Z95 * g["value"].std(ddof=1) / np.sqrt(m)
        out = pd.DataFrame({"value": mean, "ci_low": mean - half, "ci_high": mean + half, "n": m})
        out["raw"] = out["value"]
        out["method"] = "mean of periods"
    out = out.reset_index().assign(kpi=kpi)
    key = out["value"] if d.higher_is_better else -out["value"]
    out = out.assign(_key=key.where(out["n"] > 0)).sort_values(
        ["_key", "rep_id"], ascending=[False, True], na_position="last", kind="stable"
    )
    out["rank"] = np.arange(1, len(out) + 1)
    return out[SCORECARD_COLUMNS].reset_index(drop=True)


def funnel(table: pd.DataFrame, kpi: str) -> tuple[pd.DataFrame, pd.DataFrame, float]:
    """Funnel-plot data for rate ``kpi`` over all periods of ``table``: (points, limits, team rate).

    points: per rep ``rep_id``, ``k``, ``n``, ``rate`` and ``flag_95`` / ``flag_99.8`` (above / below /
    within the exact binomial control limits around the team rate, :func:`coachkit.stats.funnel_limits`).
    """
    rows = table[table["kpi"] == kpi]
    s = rows.groupby("rep_id", sort=True)[["numerator", "denominator"]].sum()
    f = funnel_limits(s["numerator"], s["denominator"])
    return f.reps.rename_axis("rep_id").reset_index(), f.limits, f.p0


def week_over_week(table: pd.DataFrame, kpis: Sequence[str] | None = None) -> pd.DataFrame:
    """Each rep's change from the previous period to the latest period of ``table``, per rate or count KPI.

    Intervals: 95% Wilson for rates, exact Poisson for counts (other kinds are skipped). ``change`` is
    ``"up"`` when this period's interval lies wholly above last period's (ci_low_now > ci_high_before),
    ``"down"`` when wholly below, else ``""``: overlapping intervals are noise, not news. Columns: rep_id,
    kpi, before, now, delta, ci_low_before, ci_high_before, ci_low_now, ci_high_now, n_before, n_now, change.
    """
    names = [k for k in (kpis or table["kpi"].unique()) if registry[k].kind in ("rate", "count")]
    periods = np.sort(table["period_start"].unique())
    cols = ["rep_id", "kpi", "before", "now", "delta", "ci_low_before", "ci_high_before"]
    cols += ["ci_low_now", "ci_high_now", "n_before", "n_now", "change"]
    if len(periods) < 2 or not names:
        return pd.DataFrame(columns=cols)
    rows = table[table["kpi"].isin(names) & table["period_start"].isin(periods[-2:])].copy()
    is_rate = rows["kpi"].map(lambda k: registry[k].kind == "rate").to_numpy(dtype=bool)
    wl, wh = wilson(rows["numerator"], rows["denominator"])
    pl, ph = poisson_interval(rows["value"])
    rows["lo"] = np.where(is_rate, wl, pl)
    rows["hi"] = np.where(is_rate, wh, ph)
    rows["n"] = np.where(is_rate, rows["denominator"], rows["value"])
    rows["when"] = np.where(rows["period_start"] == periods[-1], "now", "before")
    wide = rows.pivot_table(
        index=["rep_id", "kpi"], columns="when", values=["value", "lo", "hi", "n"], aggfunc="first", dropna=False
    )
    wide.columns = [f"{a}_{b}" for a, b in wide.columns]
    wide = wide.reset_index()
    out = pd.DataFrame(
        {
            "rep_id": wide["rep_id"],
            "kpi": wide["kpi"],
            "before": wide["value_before"],
            "now": wide["value_now"],
            "delta": wide["value_now"] - wide["value_before"],
            "ci_low_before": wide["lo_before"],
            "ci_high_before": wide["hi_before"],
            "ci_low_now": wide["lo_now"],
            "ci_high_now": wide["hi_now"],
            "n_before": wide["n_before"],
            "n_now": wide["n_now"],
        }
    )
    out["change"] = np.select(
        [out["ci_low_now"] > out["ci_high_before"], out["ci_high_now"] < out["ci_low_before"]], ["up", "down"], ""
    )
    order = {k: i for i, k in enumerate(names)}
    out = out.assign(_o=out["kpi"].map(order)).sort_values(["_o", "rep_id"], kind="stable")
    return out.drop(columns="_o").reset_index(drop=True)


def activity_spread(
    activities: pd.DataFrame, reps: pd.DataFrame, start: Any = None, end: Any = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """How activity is spread across reps: (per_rep, summary). Reps who left before ``start`` or were hired
    after ``end`` (when given) are left out.

    per_rep: ``rep_id``, ``team``, ``activities`` (all types), ``share`` of the team's activities, and one
    column per activity type; every rep of ``reps`` appears (0 when idle), most active first within a team.
    summary per team: ``reps``, ``activities``, ``median``, ``min``, ``max``, ``top_share`` = share of the
    team's activities done by its busiest fifth of reps (at least one rep), and ``idle_reps`` (no activity).
    """
    if start is not None:
        reps = reps[~(reps["left_at"] < pd.Timestamp(start))]
    if end is not None:
        reps = reps[~(reps["hired_at"] > pd.Timestamp(end))]
    counts = pd.crosstab(activities["rep_id"], activities["activity_type"])
    base = reps[["rep_id", "team"]].drop_duplicates("rep_id").set_index("rep_id")
    per = base.join(counts).fillna(0)
    type_cols = list(counts.columns)
    per[type_cols] = per[type_cols].astype("int64")
    per["activities"] = per[type_cols].sum(axis=1).astype("int64")
    per["team"] = per["team"].fillna("(no team)")
    team_total = per.groupby("team")["activities"].transform("sum")
    per["share"] = per["activities"] / team_total.where(team_total > 0)
    per = per.reset_index().sort_values(["team", "activities", "rep_id"], ascending=[True, False, True])
    per = per[["rep_id", "team", "activities", "share", *type_cols]].reset_index(drop=True)

    def top(x: pd.Series) -> float:
        k = max(1, int(np.ceil(len(x) / 5)))
        total = x.sum()
        return float(np.sort(x.to_numpy())[::-1][:k].sum() / total) if total > 0 else np.nan

    g = per.groupby("team")["activities"]
    summary = pd.DataFrame(
        {
            "reps": g.size(),
            "activities": g.sum(),
            "median": g.median(),
            "min": g.min(),
            "max": g.max(),
            "top_share": g.apply(top),
            "idle_reps": g.apply(lambda x: int((x == 0).sum())),
        }
    ).reset_index()
    return per, summary
