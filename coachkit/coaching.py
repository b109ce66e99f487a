"""Coaching focus: the few KPIs where a rep is clearly behind, with the evidence and a next step.

A gap is only shown when the rep's own 95% interval cannot reach the benchmark:
a rep with 3 connects out of 40 dials is not flagged against a 10% benchmark,
because 3/40 is compatible with 10%. Leading activity KPIs (what a rep controls
this week) rank before lagging results (what follows weeks later).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from . import schema
from .kpis import kpi_table, registry
from .playbook import Playbook
from .stats import poisson_interval, wilson
from .window import focus_window

__all__ = ["FOCUS_KPIS", "FOCUS_COLUMNS", "coaching_focus", "focus_window", "peer_groups"]

#: KPIs considered for coaching focus -> ``leading`` (activity the rep controls) or ``lagging`` (results).
#: Only count KPIs of whole events and rate KPIs are considered: they have an honest interval
#: (pipeline amounts, talk time, means and scores do not).
FOCUS_KPIS: dict[str, str] = {
    "calls": "leading",
    "emails": "leading",
    "meetings": "leading",
    "follow_ups": "leading",
    "conversations": "leading",
    "active_days": "leading",
    "connect_rate": "leading",
    "meeting_show_rate": "leading",
    "follow_up_24h_rate": "leading",
    "notes_coverage": "leading",
    "outcome_logged_rate": "leading",
    "deals_created": "lagging",
    "win_rate": "lagging",
}

#: What the denominator of each rate counts, for the evidence sentence.
_DENOMINATOR_NOUNS: dict[str, str] = {
    "connect_rate": "calls with an outcome",
    "meeting_show_rate": "meetings held or no-show",
    "follow_up_24h_rate": "conversations with an account",
    "notes_coverage": "conversations",
    "outcome_logged_rate": "calls",
    "win_rate": "closed deals",
}

#: Columns of :func:`coaching_focus`, in order.
FOCUS_COLUMNS: tuple[str, ...] = (
    "kpi",
    "label",
    "kind",
    "value",
    "n",
    "ci_low",
    "ci_high",
    "team_median",
    "target",
    "benchmark",
    "benchmark_value",
    "gap",
    "std_gap",
    "evidence",
    "action",
)

_BENCHMARK_NAMES = {"target": "role target", "playbook": "playbook benchmark", "team": "team median"}


def _empty() -> pd.DataFrame:
    kinds = {
        "kpi": schema.STRING,
        "label": schema.STRING,
        "kind": schema.STRING,
        "benchmark": schema.STRING,
        "evidence": schema.STRING,
        "action": schema.STRING,
    }
    return pd.DataFrame({c: pd.Series(dtype=kinds.get(c, "float64")) for c in FOCUS_COLUMNS})


def _ramp(pb: Playbook, starts: pd.Series, hired_at: Any) -> np.ndarray:
    """Ramp factor for each week start: tenure week = floor((start − hired_at) / 7 days) + 1; 1 without hired_at."""
    if hired_at is None or pd.isna(hired_at):
        return np.ones(len(starts))
    tenure_days = (starts - pd.Timestamp(hired_at)).dt.days.to_numpy()
    return np.array([pb.ramp_factor(int(d // 7) + 1) for d in tenure_days], dtype="float64")


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def _num(x: float) -> str:
    # whole numbers from 10 up; one decimal below, where it matters (a CI of 1.1-10 vs 0-10)
    return f"{x:,.0f}" if abs(x - round(x)) < 0.05 or abs(x) >= 10 else f"{x:,.1f}"


def peer_groups(reps: pd.DataFrame) -> pd.Series:
    """rep_id -> the rep's peer group: its team and role (a missing team or role matches a missing one).

    A rep is compared with the reps of its peer group (the rep included): the team median of the
    coaching focus and of a review.
    """
    reps = reps.drop_duplicates("rep_id")
    key = reps["team"].fillna("\0").astype(str) + "\x1f" + reps["role"].fillna("\0").astype(str)
    return pd.Series(key.to_numpy(), index=pd.Index(reps["rep_id"].astype(str), name="rep_id"), name="peer_group")


def coaching_focus(data: Any, rep_id: str, as_of: Any, weeks: int = 4) -> pd.DataFrame:
    """The rep's focus areas over the ``weeks`` full weeks ending on ``as_of``, most important first.

    The window is :func:`focus_window` (Monday to Sunday weeks; only weeks the rep
    was employed count). For each KPI of :data:`FOCUS_KPIS`:

    - **value and interval.** Rates: Σ numerator / Σ denominator over the
      window's weeks, with the 95% Wilson interval on those sums; ``n`` is Σ
      denominator. Counts: the window total, with the exact (Garwood) 95% Poisson
      interval χ²-based; ``n`` is the total.
    - **benchmark**, the first that exists: (1) ``role target``: the playbook target
      of the rep's role. For counts it is scaled to the window like activity_score:
      Σ over the rep's weeks of per-day target × working days, or per-week target ×
      working days / 5, × the ramp factor of the tenure week; for a rate the target
      is the rate itself. (2) ``playbook benchmark``: ``[coaching] benchmarks``
      (a rate, or a count per week × the rep's weeks). (3) ``team median``: the
      median over the reps of the same team AND role (the rep included) of their
      window rate, or of their weekly average count × the rep's weeks.
    - **flagged** only when the interval cannot reach the benchmark: ci_high <
      benchmark (ci_low > benchmark when lower is better), and for rates also
      n ≥ ``playbook.min_n``; and the gap |value − benchmark| is at least
      ``playbook.min_gap`` × benchmark (default 10%), so that a significant but
      negligible shortfall is not raised. Benchmarks of 0 (nothing expected) are not judged.

    Columns :data:`FOCUS_COLUMNS`: ``team_median`` (as above, in the value's unit),
    ``target`` (the role target or playbook benchmark; NaN if neither),
    ``benchmark`` (which one was used), ``benchmark_value``, ``gap`` = value −
    benchmark_value, ``std_gap`` = shortfall in standard errors under the
    benchmark ((b − p)/√(b(1 − b)/n) for rates, (E − k)/√E for counts),
    ``evidence`` (one sentence with n), ``action`` (``playbook.action_for``) and
    ``kind`` (leading or lagging). Leading rows come first, then by ``std_gap``,
    at most ``playbook.max_focus`` rows; an empty frame with these columns when
    nothing can be flagged.
    """
    pb: Playbook = data.playbook
    reps = data.reps.drop_duplicates("rep_id")
    me = reps[reps["rep_id"] == rep_id]
    if me.empty:
        raise ValueError(f"rep {rep_id!r} is not in the reps table")
    me = me.iloc[0]
    first, last = focus_window(as_of, weeks)

    key = peer_groups(reps)
    peers = key.index[key == key[rep_id]].tolist()

    names = [k for k in FOCUS_KPIS if k in registry and registry[k].kind in ("count", "rate")]
    table = kpi_table(data, freq="W", start=first, end=last, kpis=names, reps=peers)
    table = table[(table["period_start"] >= first) & (table["period_start"] <= last)]
    sums = table.groupby(["kpi", "rep_id"], observed=True).agg(
        value=("value", "sum"),
        numerator=("numerator", "sum"),
        denominator=("denominator", "sum"),
        weeks=("period_start", "size"),
    )
    mine = table[table["rep_id"] == rep_id]
    my_weeks = pd.Series(pd.unique(mine["period_start"])).sort_values(ignore_index=True)
    if my_weeks.empty:
        return _empty()
    n_weeks = len(my_weeks)
    work = pb.working_days_between(my_weeks, my_weeks + pd.Timedelta(days=7)).astype("float64")
    ramp = _ramp(pb, my_weeks, me["hired_at"])
    targets = pb.targets_for(me["role"])

    rows = []
    for name in names:
        d = registry[name]
        s = sums.loc[name]
        sign = 1.0 if d.higher_is_better else -1.0
        is_rate = d.kind == "rate"
        if is_rate:
            ok = s["denominator"] > 0
            peer_values = (s["numerator"][ok] / s["denominator"][ok]).to_numpy()
            team_median = float(np.median(peer_values)) if len(peer_values) else np.nan
            k = float(s.at[rep_id, "numerator"])
            n = float(s.at[rep_id, "denominator"])
            if n <= 0:
                continue
            value = k / n
            lo, hi = (float(v) for v in wilson(k, n))
            target = np.nan
            if name in targets:
                target, bench_kind = targets[name][1], "target"
            elif name in pb.benchmarks:
                target, bench_kind = pb.benchmarks[name], "playbook"
            else:
                bench_kind = "team"
            bench = target if bench_kind != "team" else team_median
            if np.isnan(bench) or n < pb.min_n:
                continue
            b = min(max(bench, 0.5 / n), 1 - 0.5 / n)
            std_gap = sign * (bench - value) / np.sqrt(b * (1 - b) / n)
            noun = _DENOMINATOR_NOUNS.get(name, "events")
            evidence = (
                f"{d.label} {_pct(value)} ({k:,.0f} of {n:,.0f} {noun}, 95% CI {100 * lo:.0f}–{100 * hi:.0f}%) "
                f"vs {_BENCHMARK_NAMES[bench_kind]} {_pct(bench)}."
            )
        else:
            per_week = (s["value"] / s["weeks"]).to_numpy()
            team_median = float(np.median(per_week)) * n_weeks if len(per_week) else np.nan
            k = float(s.at[rep_id, "value"])
            n = k
            value = k
            lo, hi = (float(v[0]) for v in poisson_interval([k]))
            target = np.nan
            if name in targets:
                per, t = targets[name]
                target = float(np.sum(t * work * (1.0 if per == "day" else 0.2) * ramp))
                bench_kind = "target"
            elif name in pb.benchmarks:
                target, bench_kind = pb.benchmarks[name] * n_weeks, "playbook"
            else:
                bench_kind = "team"
            bench = target if bench_kind != "team" else team_median
            if np.isnan(bench) or bench <= 0:
                continue
            std_gap = sign * (bench - value) / np.sqrt(bench)
            span = f"{n_weeks} week" + ("s" if n_weeks != 1 else "")
            evidence = (
                f"{d.label} {_num(value)} in {span} (95% CI {_num(lo)}–{_num(hi)}) "
                f"vs {_BENCHMARK_NAMES[bench_kind]} {_num(bench)}."
            )
        flagged = hi < bench if d.higher_is_better else lo > bench
        # A real but tiny shortfall (96% vs 98%) is not worth a coaching conversation.
        if not flagged or abs(value - bench) < pb.min_gap * bench:
            continue
        rows.append(
            {
                "kpi": name,
                "label": d.label,
                "kind": FOCUS_KPIS[name],
                "value": value,
                "n": n,
                "ci_low": lo,
                "ci_high": hi,
                "team_median": team_median,
                "target": target,
                "benchmark": _BENCHMARK_NAMES[bench_kind],
                "benchmark_value": float(bench),
                "gap": value - bench,
                "std_gap": float(std_gap),
                "evidence": evidence,
                "action": pb.action_for(name),
            }
        )
    if not rows:
        return _empty()
    out = pd.DataFrame(rows, columns=list(FOCUS_COLUMNS))
    out["_order"] = (out["kind"] != "leading").astype(int)
    out = out.sort_values(["_order", "std_gap"], ascending=[True, False], kind="stable").drop(columns="_order")
    out = out.head(max(pb.max_focus, 0)).reset_index(drop=True)
    return out.astype(_empty().dtypes.to_dict())
