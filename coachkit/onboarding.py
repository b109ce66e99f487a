"""Onboarding ramps: cohorts by hire month, metrics by tenure week against earlier hires at the same tenure,
time to the first conversation / meeting / deal, progress against the playbook's ramp targets, and who is
behind the curve (with intervals).

Tenure week is the activity score's definition: for a week starting on ``period_start``,
``floor((period_start − hired_at) / 7 days) + 1``. So the first full week after the hire date is week 1
and a partial week in which the rep started (a week whose Monday is before ``hired_at``) is week 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .dataset import performed_activities
from .kpis import kpi_table
from .stats import poisson_interval

__all__ = [
    "RAMP_KPIS",
    "tenure_week",
    "cohorts",
    "tenure_table",
    "ramp_frame",
    "FIRSTS",
    "MIN_EARLIER_HIRES",
    "time_to_firsts",
    "firsts_table",
    "firsts_summary",
    "ramp_progress",
    "behind_curve",
]

#: Metrics followed by tenure week (weekly counts).
RAMP_KPIS = ("activities", "conversations", "deals_created")
_DAY = pd.Timedelta(days=1)


def tenure_week(period_start: Any, hired_at: Any) -> np.ndarray:
    """floor((period_start − hired_at) / 7 days) + 1, as float (NaN without a hire date)."""
    ps = pd.to_datetime(pd.Series(period_start)).to_numpy(dtype="datetime64[ns]")
    ha = pd.to_datetime(pd.Series(hired_at)).to_numpy(dtype="datetime64[ns]")
    days = (ps - ha).astype("timedelta64[D]")
    ok = ~np.isnat(days)
    out = np.full(len(ps), np.nan)
    out[ok] = np.floor_divide(days[ok].astype(np.int64), 7) + 1
    return out


def cohorts(reps: pd.DataFrame, since: Any = None) -> pd.DataFrame:
    """Reps with a hire date (on or after ``since`` when given) grouped by hire month: ``cohort`` (YYYY-MM),
    ``reps``, ``roles`` (e.g. ``"AE 1, SDR 2"``), ``names`` (in hire order), ``first_hired``, ``last_hired``."""
    r = reps[reps["hired_at"].notna()]
    if since is not None:
        r = r[r["hired_at"] >= pd.Timestamp(since)]
    r = r.sort_values(["hired_at", "rep_id"], kind="stable").assign(cohort=lambda x: x["hired_at"].dt.strftime("%Y-%m"))
    names = r["name"].fillna(r["rep_id"])
    rows = []
    for cohort, g in r.groupby("cohort", sort=True):
        roles = g["role"].fillna("?").value_counts().sort_index()
        rows.append(
            {
                "cohort": cohort,
                "reps": len(g),
                "roles": ", ".join(f"{k} {v}" for k, v in roles.items()),
                "names": ", ".join(names[g.index]),
                "first_hired": g["hired_at"].min(),
                "last_hired": g["hired_at"].max(),
            }
        )
    cols = ["cohort", "reps", "roles", "names", "first_hired", "last_hired"]
    return pd.DataFrame(rows, columns=cols)


def tenure_table(data: Any, kpis: Sequence[str] = RAMP_KPIS, *, start: Any = None, end: Any = None) -> pd.DataFrame:
    """Weekly kpi_table rows of the reps that have a hire date, with ``tenure_week``, ``hired_at``, ``role``,
    ``name`` and ``cohort`` (hire month YYYY-MM)."""
    table = kpi_table(data, freq="W", start=start, end=end, kpis=list(kpis))
    info = data.reps.drop_duplicates("rep_id").set_index("rep_id")[["name", "role", "hired_at"]]
    t = table.join(info, on="rep_id")
    t = t[t["hired_at"].notna()].copy()
    t["tenure_week"] = tenure_week(t["period_start"], t["hired_at"])
    t["cohort"] = t["hired_at"].dt.strftime("%Y-%m")
    return t.reset_index(drop=True)


def _band(g: pd.core.groupby.SeriesGroupBy) -> pd.DataFrame:
    return pd.DataFrame({"value": g.median(), "ci_low": g.quantile(0.25), "ci_high": g.quantile(0.75), "n": g.count()})


def ramp_frame(tt: pd.DataFrame, kpi: str, cohort: str, *, max_week: int | None = None) -> pd.DataFrame:
    """A weekly count ``kpi`` by tenure week for hire-month ``cohort`` against earlier hires, for
    ``charts.ramp_curves``: ``tenure_week``, ``cohort``, ``value``, ``ci_low``, ``ci_high``, ``n`` (reps).

    The cohort's value is the median over its reps; the band is their interquartile range, or the exact 95%
    Poisson interval of the count when the cohort has one rep. "earlier hires" are the reps of the same
    role(s) hired before the cohort's month, at the same tenure week: median and interquartile range.
    Only tenure weeks the cohort has reached (up to ``max_week``) are shown.
    """
    rows = tt[tt["kpi"] == kpi]
    mine = rows[rows["cohort"] == cohort]
    if mine.empty:
        raise ValueError(f"no rows for cohort {cohort!r}; cohorts: {sorted(rows['cohort'].unique())}")
    weeks = mine["tenure_week"].dropna()
    top = weeks.max() if max_week is None else min(weeks.max(), max_week)
    mine = mine[mine["tenure_week"] <= top]
    first_day = pd.Timestamp(f"{cohort}-01")
    earlier = rows[
        (rows["hired_at"] < first_day) & rows["role"].isin(mine["role"].unique()) & rows["tenure_week"].isin(weeks)
    ]
    earlier = earlier[earlier["tenure_week"] <= top]
    a = _band(mine.groupby("tenure_week")["value"]).assign(cohort=f"{cohort} hires")
    if mine["rep_id"].nunique() == 1:
        lo, hi = poisson_interval(a["value"])
        a["ci_low"], a["ci_high"] = lo, hi
    b = _band(earlier.groupby("tenure_week")["value"]).assign(cohort="earlier hires")
    out = pd.concat([a, b]).rename_axis("tenure_week").reset_index()
    out["n"] = out["n"].astype("int64")
    return out[["tenure_week", "cohort", "value", "ci_low", "ci_high", "n"]]


#: The firsts followed after a hire: label -> column of :func:`time_to_firsts`.
FIRSTS = {
    "first conversation": "days_to_conversation",
    "first held meeting": "days_to_meeting",
    "first deal created": "days_to_deal",
}


def time_to_firsts(data: Any, as_of: Any, reps: Sequence[str] | None = None) -> pd.DataFrame:
    """Days from ``hired_at`` to each rep's first conversation (call connected or meeting held), first held
    meeting and first deal created, by ``as_of``; one row per rep of ``reps`` (default: every rep hired on or
    after the first activity's date and by ``as_of``), in hire order, none left out.

    Columns: rep_id, name, role, hired_at, weeks_in (whole weeks from hire to as_of), ``in_data`` (the hire
    date is on or after the data's first day, so a first can be seen; False: hired before the data, or no
    hire date, and the firsts are unknown), days_to_conversation, days_to_meeting, days_to_deal (NaN when it
    has not happened by as_of, or is unknown). :func:`firsts_table` shows it in words, :func:`firsts_summary`
    counts it.
    """
    as_of = pd.Timestamp(as_of).normalize()
    acts = performed_activities(data.activities)  # a to-do not done is no first conversation
    end = as_of + _DAY
    coverage = acts["occurred_at"].min().normalize() if len(acts) else as_of
    info = data.reps.drop_duplicates("rep_id")
    if reps is None:
        chosen = info[info["hired_at"].between(coverage, as_of)]
    else:
        chosen = info.set_index("rep_id").reindex(list(dict.fromkeys(reps))).rename_axis("rep_id").reset_index()
    chosen = chosen.sort_values(["hired_at", "rep_id"], kind="stable", na_position="last")
    ids = chosen["rep_id"]
    a = acts[acts["rep_id"].isin(ids) & (acts["occurred_at"] < end)]
    conv = ((a["activity_type"] == "call") & (a["outcome"] == "connected")) | (
        (a["activity_type"] == "meeting") & (a["outcome"] == "held")
    )
    meet = (a["activity_type"] == "meeting") & (a["outcome"] == "held")
    d = data.deals[data.deals["rep_id"].isin(ids) & (data.deals["created_at"] < end)]
    out = chosen[["rep_id", "name", "role", "hired_at"]].set_index("rep_id")
    out["weeks_in"] = ((as_of - out["hired_at"]).dt.days // 7).astype("Int64")
    out["in_data"] = (out["hired_at"] >= coverage).fillna(False).astype(bool) & (out["hired_at"] <= as_of).fillna(False)
    for col, times in (
        ("days_to_conversation", a.loc[conv.fillna(False)].groupby("rep_id")["occurred_at"].min()),
        ("days_to_meeting", a.loc[meet.fillna(False)].groupby("rep_id")["occurred_at"].min()),
        ("days_to_deal", d.groupby("rep_id")["created_at"].min()),
    ):
        first = times.reindex(out.index)
        out[col] = ((first - out["hired_at"]) / _DAY).where(out["in_data"])
    return out.reset_index()


def _days_text(days: float) -> str:
    if pd.isna(days):
        return ""
    return "1 day" if round(days) == 1 else f"{days:.0f} days"


def firsts_table(t: pd.DataFrame) -> pd.DataFrame:
    """:func:`time_to_firsts` in words, one row per hire: ``rep``, ``role``, ``hired``, ``weeks in`` and, per
    first, ``"12 days"``, ``"not yet"`` (not by as_of) or ``"unknown: hired before the data"``."""
    out = pd.DataFrame(
        {
            "rep": t["name"].fillna(t["rep_id"]),
            "role": t["role"].fillna(""),
            "hired": t["hired_at"].dt.strftime("%Y-%m-%d").fillna("no hire date"),
            "weeks in": t["weeks_in"].astype("object").where(t["weeks_in"].notna(), ""),
        }
    )
    for label, col in FIRSTS.items():
        days = t[col]
        words = np.where(days.notna(), days.map(_days_text), "not yet")
        out[label] = np.where(t["in_data"], words, "unknown: hired before the data")
    return out


def firsts_summary(t: pd.DataFrame) -> pd.DataFrame:
    """How many of the hires reached each first: ``first``, ``hires`` (n), ``reached``, ``not yet``, ``unknown``
    (hired before the data) and ``median days`` among those who reached it (NaN when none did; a median of
    those who got there, not of every hire, while some have not)."""
    rows = []
    for label, col in FIRSTS.items():
        seen = t[t["in_data"]]
        reached = seen[col].dropna()
        rows.append(
            {
                "first": label,
                "hires": len(t),
                "reached": len(reached),
                "not yet": len(seen) - len(reached),
                "unknown": len(t) - len(seen),
                "median days": float(reached.median()) if len(reached) else np.nan,
            }
        )
    return pd.DataFrame(rows)


def ramp_progress(data: Any, rep_ids: Sequence[str], as_of: Any) -> pd.DataFrame:
    """Progress of each rep against their role's ramp-adjusted targets, from ``hired_at`` to ``as_of``.

    Per rep and target KPI k of the role: ``actual`` = Σ weekly values; ``expected`` = Σ over the rep's weeks
    of target × working days in the part of the week between hired_at and as_of (÷ 5 for per-week targets) ×
    the playbook's ramp factor for the tenure week; ``attainment`` = actual / expected (NaN when expected is 0).
    Columns: rep_id, kpi, per, target, weeks, actual, expected, attainment.
    """
    pb = data.playbook
    as_of = pd.Timestamp(as_of).normalize()
    cols = ["rep_id", "kpi", "per", "target", "weeks", "actual", "expected", "attainment"]
    reps = data.reps.drop_duplicates("rep_id").set_index("rep_id")
    rows = []
    for rep in rep_ids:
        role, hired = reps.at[rep, "role"], reps.at[rep, "hired_at"]
        targets = pb.targets_for(role)
        if not targets or pd.isna(hired) or hired > as_of:
            continue
        t = kpi_table(data, freq="W", start=hired, end=as_of, kpis=list(targets), reps=[rep])
        t = t[t["period_start"] <= as_of]
        starts = t["period_start"]
        lo = starts.where(starts >= hired, hired)
        hi = (starts + pd.Timedelta(days=7)).where(starts + pd.Timedelta(days=7) <= as_of + _DAY, as_of + _DAY)
        work = pb.working_days_between(lo, hi).astype("float64")
        weeks = tenure_week(starts, pd.Series(hired, index=t.index))
        ramp = np.array([pb.ramp_factor(int(w)) for w in weeks])
        t = t.assign(work=work, ramp=ramp)
        for k, (per, target) in targets.items():
            r = t[t["kpi"] == k]
            expected = float((target * r["work"] * (1.0 if per == "day" else 0.2) * r["ramp"]).sum())
            actual = float(r["value"].sum())
            rows.append([rep, k, per, target, len(r), actual, expected, actual / expected if expected > 0 else np.nan])
    return pd.DataFrame(rows, columns=cols)


#: "Behind the curve" needs at least this many earlier hires of the same role at the same tenure weeks: with
#: fewer, their mean is one or two people's weeks, not a curve (the status is then "too few to compare").
MIN_EARLIER_HIRES = 3


def behind_curve(
    tt: pd.DataFrame,
    kpi: str,
    rep_ids: Sequence[str],
    *,
    last_weeks: int = 4,
    min_earlier: int = MIN_EARLIER_HIRES,
) -> pd.DataFrame:
    """Is each rep behind earlier hires at the same tenure? On weekly count ``kpi`` over the rep's last
    ``last_weeks`` tenure weeks (week 1 or later):

    ``value`` = the rep's total / weeks (per week) with the exact 95% Poisson interval of the total ÷ weeks;
    ``benchmark`` = the mean per rep-week of reps of the same role hired before this rep, over the same tenure
    weeks (``benchmark_reps`` of them, ``benchmark_n`` rep-weeks). ``status``: ``"behind"`` when ci_high <
    benchmark, ``"ahead"`` when ci_low > benchmark, ``"on the curve"`` otherwise; ``"too few to compare"``
    when fewer than ``min_earlier`` earlier hires (:data:`MIN_EARLIER_HIRES`) have those tenure weeks (the
    benchmark is still shown when there is one). Every rep of ``rep_ids`` with a week 1 or later is listed.
    """
    rows = tt[(tt["kpi"] == kpi) & (tt["tenure_week"] >= 1)]
    cols = ["rep_id", "name", "role", "weeks", "value", "ci_low", "ci_high", "benchmark"]
    cols += ["benchmark_reps", "benchmark_n", "status"]
    out = []
    for rep in rep_ids:
        mine = rows[rows["rep_id"] == rep].sort_values("tenure_week").tail(last_weeks)
        if mine.empty:
            continue
        role, hired = mine["role"].iloc[0], mine["hired_at"].iloc[0]
        w = len(mine)
        total = float(mine["value"].sum())
        lo, hi = poisson_interval(total)
        peers = rows[
            (rows["hired_at"] < hired) & (rows["role"] == role) & rows["tenure_week"].isin(mine["tenure_week"])
        ]
        bench = float(peers["value"].mean()) if len(peers) else np.nan
        value, low, high = total / w, float(lo) / w, float(hi) / w
        earlier = peers["rep_id"].nunique()
        if earlier < max(min_earlier, 1):
            status = "too few to compare"
        elif high < bench:
            status = "behind"
        elif low > bench:
            status = "ahead"
        else:
            status = "on the curve"
        weeks = f"{int(mine['tenure_week'].min())}–{int(mine['tenure_week'].max())}"
        name = mine["name"].iloc[0]
        out.append([rep, name, role, weeks, value, low, high, bench, earlier, len(peers), status])
    return pd.DataFrame(out, columns=cols)
