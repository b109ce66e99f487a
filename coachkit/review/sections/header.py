"""Section 1, the header: who the rep is, the window, and how fresh the data is."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ...window import Window
from ..fmt import day_text, is_missing, pct, plural
from ..page import Section, Table
from ..rows import rep_row
from ..team import peers


def header(data: Any, rep_id: str, window: Window) -> Section:
    """Who the rep is (name, team, role, manager, tenure), the window, and how fresh the data is."""
    me = rep_row(data, rep_id)
    pb = data.playbook
    sec = Section("header", str(me.get("name")) if not is_missing(me.get("name")) else str(rep_id))
    hired = me.get("hired_at")
    if is_missing(hired):
        tenure = "hire date not recorded"
        tenure_week = None
    else:
        days = int((window.end - pd.Timestamp(hired)).days)
        tenure_week = days // 7 + 1
        if days < 0:
            tenure = f"starts {day_text(hired)}"
        elif days < 7 * 26:
            tenure = f"week {tenure_week} (hired {day_text(hired)})"
        else:
            years, months = divmod(int(days / 30.44), 12)
            parts = ([plural(years, "year")] if years else []) + ([plural(months, "month")] if months else [])
            tenure = f"{' '.join(parts)} (hired {day_text(hired)})"
    ramp = pb.ramp_factor(tenure_week) if tenure_week else 1.0
    if tenure_week and ramp < 1:
        tenure += f"; ramping: targets this week are {pct(ramp)} of full"
    # the team's latest activity: the same whether the whole dataset or only the team was loaded
    acts = data.activities
    latest = acts.loc[acts["rep_id"].isin(peers(data, rep_id)), "occurred_at"].max()
    mine = acts.loc[acts["rep_id"] == rep_id, "occurred_at"]
    mine_before = mine[mine < window.end_exclusive]
    rep_latest = mine_before.max() if len(mine_before) else pd.NaT
    lag = (window.end - pd.Timestamp(latest).normalize()).days if not is_missing(latest) else None
    if is_missing(latest):
        fresh = "no activities for the team"
    elif lag is not None and lag > 0:
        fresh = f"the team's activities run to {pd.Timestamp(latest):%a %d %b %Y %H:%M}: {plural(lag, 'day')} before the window ends"
    else:
        fresh = f"the team's activities run to {pd.Timestamp(latest):%a %d %b %Y %H:%M}"
    rows = [
        ("Rep", f"{'' if is_missing(me.get('name')) else me.get('name')} ({rep_id})"),
        ("Team", "–" if is_missing(me.get("team")) else str(me.get("team"))),
        ("Role", "–" if is_missing(me.get("role")) else str(me.get("role"))),
        ("Manager", "–" if is_missing(me.get("manager")) else str(me.get("manager"))),
        ("Tenure", tenure),
        ("Window", window.label),
        ("Compared with", f"the prior window {window.prior_label}"),
        ("Data", fresh),
        ("Rep's last activity", "none" if is_missing(rep_latest) else f"{pd.Timestamp(rep_latest):%a %d %b %Y %H:%M}"),
    ]
    if not is_missing(me.get("left_at")):
        rows.insert(5, ("Left", day_text(me.get("left_at"))))
    if getattr(data, "warnings", None):
        rows.append(
            ("Data warnings", f"{len(data.warnings)} in the rows read for this review (`coachkit validate` lists all)")
        )
    frame = pd.DataFrame(rows, columns=["", "value"])
    sec.frames["header"] = frame
    sec.values.update(tenure_week=tenure_week, ramp=ramp, latest=latest, rep_latest=rep_latest)
    sec.add(Table(frame, header=False))
    return sec
