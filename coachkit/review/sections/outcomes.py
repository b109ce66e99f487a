"""Section 4, outcomes of the effort: conversations, connect and show rates, the outcome mix."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from ... import charts
from ...coverage import Coverage
from ...kpis import registry
from ...stats import wilson
from ...window import Window
from ..fmt import N_NOUNS, num, pct, plural, rate_text
from ..page import Chart, Section, Table, Text
from ..rows import is_conversation, window_activities
from ..targets import rate_target
from ..team import Team, others_total, peers_n, team_for, team_median, window_total


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


def outcomes(
    data: Any, rep_id: str, window: Window, *, team: Team | None = None, profile: Coverage | None = None
) -> Section:
    """What the effort produced: conversations, the connect, meeting show and outcome-logged rates (a table with n
    and 95% intervals, the rep against the rest of the peer group) and the outcome mix.

    With a ``profile`` (:class:`coachkit.coverage.Coverage`), a KPI the data cannot support is one "not in this
    data" line instead of a number (no "Conversations 0" when no outcome is logged)."""
    team = team_for(data, rep_id, window, team)
    sec = Section("outcomes", "Outcomes of the effort")

    def why(kpi: str) -> str:
        return profile.supports(kpi) if profile is not None else ""

    a = window_activities(data, rep_id, window.start, window.end)
    conv = is_conversation(a)
    if why("conversations"):
        sec.add(Text(f"Conversations: not in this data ({why('conversations')}).", "note"))
    else:
        calls_conn = int((conv & (a["activity_type"] == "call")).sum())
        meets_held = int((conv & (a["activity_type"] == "meeting")).sum())
        total = calls_conn + meets_held
        med = team_median(team, "conversations")
        sec.add(
            f"{plural(total, 'conversation')}: {plural(calls_conn, 'connected call')} and "
            f"{plural(meets_held, 'held meeting')} (peers' median {num(med)})."
        )
    kpis = [k for k in ("connect_rate", "meeting_show_rate", "outcome_logged_rate") if not why(k)]
    missing = {
        registry[k].label: why(k) for k in ("connect_rate", "meeting_show_rate", "outcome_logged_rate") if why(k)
    }
    rates = (
        _rate_rows(team, kpis)
        if kpis
        else pd.DataFrame(columns=["kpi", "label", "who", "value", "ci_low", "ci_high", "k", "n"])
    )
    sec.frames["rates"] = rates
    rows = []
    for k in kpis:
        r = rates[(rates["kpi"] == k) & (rates["who"] == "this rep")].iloc[0]
        o = rates[(rates["kpi"] == k) & (rates["who"] != "this rep")].iloc[0]
        target, tk = rate_target(data, rep_id, k)
        rows.append(
            {
                "Rate": r["label"],
                "This rep": rate_text(r["k"], r["n"], noun=N_NOUNS[k]),
                f"Other {team.group} (pooled)": rate_text(o["k"], o["n"]),
                f"Peers' median ({plural(peers_n(team), 'rep')})": pct(team_median(team, k)),
                "Target": f"{pct(target)} ({tk})" if tk else "–",
            }
        )
    if rows:
        sec.add(Table(pd.DataFrame(rows), "Rates with their n and 95% intervals"))
    if missing:
        listed = "; ".join(f"{k.lower()} ({v})" for k, v in missing.items())
        sec.add(Text(f"Not in this data: {listed}.", "note"))
    # outcome mix: only where outcomes are logged
    sub = a[a["activity_type"].isin(["call", "meeting", "email"])]
    if profile is not None:
        logged_types = [t for t, ok in (("call", profile.call_outcomes), ("meeting", profile.meeting_outcomes)) if ok]
        logged_types += ["email"] if profile.has_type("email") else []
        sub = sub[sub["activity_type"].isin(logged_types)]
    mix = (
        sub.assign(outcome=sub["outcome"].fillna("not logged"))
        .groupby(["activity_type", "outcome"], observed=True)
        .size()
        .rename("n")
        .reset_index()
    )
    sec.frames["outcome_mix"] = mix
    if len(mix) and (mix["outcome"] != "not logged").any():
        sec.add(Chart(charts.outcome_mix(mix, title="Outcomes by activity type (this window)")))
    return sec
