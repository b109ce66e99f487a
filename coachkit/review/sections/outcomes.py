"""Section 4, outcomes of the effort: conversations, connect and show rates, the outcome mix."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from ... import charts
from ...kpis import registry
from ...stats import wilson
from ...window import Window
from ..fmt import N_NOUNS, is_missing, num, pct, plural, rate_text
from ..page import Chart, Section
from ..rows import is_conversation, window_activities
from ..targets import rate_target
from ..team import Team, others_total, team_for, team_median, window_total


def _rate_rows(team: Team, kpis: Iterable[str]) -> pd.DataFrame:
    rows = []
    for k in kpis:
        this = window_total(team, k)
        kk, n = float(this["numerator"]), float(this["denominator"])
        ok, on = others_total(team, k)
        for who, a, b in (("this rep", kk, n), (f"team: other {team.group}", ok, on)):
            lo, hi = (float(v) for v in wilson(a, b))
            rows.append(
                {
                    "kpi": k,
                    "label": registry[k].label,
                    "who": who,
                    "value": a / b if b > 0 else np.nan,
                    "ci_low": lo,
                    "ci_high": hi,
                    "k": a,
                    "n": b,
                }
            )
    return pd.DataFrame(rows)


def outcomes(data: Any, rep_id: str, window: Window, *, team: Team | None = None) -> Section:
    """What the effort produced: connect rate, meeting show rate, outcomes logged, the outcome mix and conversations."""
    team = team_for(data, rep_id, window, team)
    sec = Section("outcomes", "Outcomes of the effort")
    a = window_activities(data, rep_id, window.start, window.end)
    conv = is_conversation(a)
    calls_conn = int((conv & (a["activity_type"] == "call")).sum())
    meets_held = int((conv & (a["activity_type"] == "meeting")).sum())
    total = calls_conn + meets_held
    med = team_median(team, "conversations")
    sec.add(
        f"{plural(total, 'conversation')}: {plural(calls_conn, 'connected call')} and "
        f"{plural(meets_held, 'held meeting')} (team median {num(med)})."
    )
    rates = _rate_rows(team, ["connect_rate", "meeting_show_rate", "outcome_logged_rate"])
    sec.frames["rates"] = rates
    for k in ("connect_rate", "meeting_show_rate", "outcome_logged_rate"):
        r = rates[(rates["kpi"] == k) & (rates["who"] == "this rep")].iloc[0]
        target, tk = rate_target(data, rep_id, k)
        bench = f"; {tk} {pct(target)}" if tk else ""
        sec.add(
            f"{r['label']} {rate_text(r['k'], r['n'], noun=N_NOUNS[k])}; "
            f"team median {pct(team_median(team, k))}{bench}."
        )
    if rates["n"].sum() > 0:
        sec.add(Chart(charts.rate_bars(rates, title="Rates with 95% intervals: this rep and the rest of the team")))
    # outcome mix
    sub = a[a["activity_type"].isin(["call", "meeting", "email"])]
    mix = (
        sub.assign(outcome=sub["outcome"].fillna("not logged"))
        .groupby(["activity_type", "outcome"], observed=True)
        .size()
        .rename("n")
        .reset_index()
    )
    sec.frames["outcome_mix"] = mix
    if len(mix):
        sec.add(Chart(charts.outcome_mix(mix, title="Outcomes by activity type (this window)")))
    # weekly connect rate over both windows
    mine, med_w = team.weekly("connect_rate")
    if (mine["denominator"] > 0).any():
        target, _ = rate_target(data, rep_id, "connect_rate")
        top = np.nanmax([mine["ci_high"].max(), med_w["value"].max(), 0.0 if is_missing(target) else target])
        sec.add(
            Chart(
                charts.kpi_trend(
                    mine[["period_start", "value", "ci_low", "ci_high", "denominator"]],
                    title=f"Connect rate by week, {2 * window.weeks} weeks (n = calls with an outcome)",
                    unit="%",
                    target=None if is_missing(target) else target,
                    team=med_w,
                    rate_max=min(1.0, math.ceil(top * 1.1 / 0.05) * 0.05) if top > 0 else None,
                )
            )
        )
    return sec
