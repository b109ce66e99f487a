"""Section 8, pipeline (monitored, not managed): deals created, win rate, cycle and stages."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ...coverage import Coverage
from ...window import Window
from ..fmt import day_text, num, pct, plural, rate_text
from ..page import Section, Table, Text
from ..team import Team, team_for, team_median, window_count, window_total


def _currency(data: Any, rep_id: str, window: Window) -> str:
    """ " GBP" when the amounts are in one known currency: the playbook's base currency (amounts are converted to it),
    else the one currency of the rep's deals created in the window; '' when unknown."""
    base = getattr(data.playbook, "currency_base", None)
    if base:
        return f" {base}"
    d = data.deals
    if "currency" not in d.columns:
        return ""
    m = (d["rep_id"] == rep_id) & (d["created_at"] >= window.start) & (d["created_at"] < window.end_exclusive)
    cur = d.loc[m.to_numpy(dtype=bool, na_value=False), "currency"].dropna().astype(str).str.strip().str.upper()
    return f" {cur.iloc[0]}" if len(cur) and cur.nunique() == 1 else ""


def pipeline(
    data: Any, rep_id: str, window: Window, *, team: Team | None = None, profile: Coverage | None = None
) -> Section:
    """Deals created, pipeline created, win rate, sales cycle and deals by stage (a table): monitored, not managed.
    With a ``profile`` (:class:`coachkit.coverage.Coverage`) that has no deals, one "not in this data" line."""
    team = team_for(data, rep_id, window, team)
    pb = data.playbook
    sec = Section("pipeline", "Pipeline (monitored, not managed)")
    no_deals = profile.supports("deals_created") if profile is not None else ""
    if no_deals:
        sec.add(Text(f"Pipeline: not in this data ({no_deals}).", "note"))
        sec.frames["stages"] = pd.DataFrame(columns=["stage", "n"])
        return sec
    created, prior_created = window_count(team, "deals_created"), window_count(team, "deals_created", "prior")
    amount = window_count(team, "pipeline_created")
    win, cyc = window_total(team, "win_rate"), window_total(team, "cycle_days")
    sec.add(
        f"{plural(created, 'deal')} created in the window (prior window "
        f"{num(prior_created)}; peers' median {num(team_median(team, 'deals_created'))}), "
        f"worth {num(amount)}{_currency(data, rep_id, window)} in total."
    )
    if float(win["denominator"]) > 0:
        sec.add(
            f"Win rate {rate_text(win['numerator'], win['denominator'], noun='deals closed in the window')}; "
            f"peers' median {pct(team_median(team, 'win_rate'))}."
        )
    else:
        sec.add(f"Win rate: no deals closed in the window (peers' median {pct(team_median(team, 'win_rate'))}).")
    if float(cyc["denominator"]) > 0:
        sec.add(
            f"Sales cycle of the deals won in the window: {num(cyc['value'])} days on average "
            f"(n = {plural(cyc['denominator'], 'deal')}; peers' median {num(team_median(team, 'cycle_days'))} days)."
        )
    d = data.deals[data.deals["rep_id"] == rep_id]
    created_by = d["created_at"] < window.end_exclusive
    open_then = created_by & (d["closed_at"].isna() | (d["closed_at"] >= window.end_exclusive))
    closed_in = d["closed_at"].notna() & (d["closed_at"] >= window.start) & (d["closed_at"] < window.end_exclusive)
    stages = list(pb.stage_names)
    closed_names = {s.name for s in pb.stages if s.is_closed}
    open_stage = d.loc[open_then, "stage"].where(~d.loc[open_then, "stage"].isin(closed_names), "stage not recorded")
    counts = pd.concat(
        [
            open_stage.fillna("stage not recorded").map(lambda s: f"open: {s}"),
            d.loc[closed_in, "is_won"].map({True: "won in window", False: "lost in window"}).dropna(),
        ]
    ).value_counts()
    order = [f"open: {s}" for s in stages if s not in closed_names] + ["open: stage not recorded"]
    order += ["won in window", "lost in window"]
    order += [s for s in counts.index if s not in order]
    funnel = pd.DataFrame({"stage": order, "n": [int(counts.get(s, 0)) for s in order]})
    funnel = funnel[
        (funnel["n"] > 0) | funnel["stage"].str.startswith("open: ") & ~funnel["stage"].eq("open: stage not recorded")
    ]
    funnel = funnel.reset_index(drop=True)
    sec.frames["stages"] = funnel
    if funnel["n"].sum() > 0:
        shown = funnel[funnel["n"] > 0]
        sec.add(
            Table(
                pd.DataFrame({"Stage": shown["stage"], "Deals": shown["n"].map(num)}),
                f"Deals open on {day_text(window.end)} by stage, and closed in the window",
            )
        )
    return sec
