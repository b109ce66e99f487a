"""The header: one line saying who the rep is (team, role, tenure) and the window, with links to the run's index
and definitions; the details (manager, hire date, the prior window, how fresh the data is) collapsed under it."""

from __future__ import annotations

import html as _html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ...window import Window
from ..fmt import day_text, is_missing, pct, plural
from ..page import Details, Section, Table, Text
from ..rows import rep_row, window_activities
from ..team import peers


@dataclass(frozen=True)
class HeaderLine:
    """The review's one header line: the rep's ``name`` (the page's h1), ``facts`` after it, and ``links``
    ((text, relative href) pairs, e.g. the run's index and definitions). Renders its own escaped HTML."""

    name: str
    facts: tuple[str, ...]
    links: tuple[tuple[str, str], ...] = ()

    def html(self) -> str:
        esc = _html.escape
        facts = " · ".join(esc(f) for f in self.facts if f)
        links = " · ".join(f'<a href="{esc(h, quote=True)}">{esc(t)}</a>' for t, h in self.links if h)
        nav = f'<nav class="ck-links">{links}</nav>' if links else ""
        return f'<header class="ck-head">{nav}<h1 class="ck-h1">{esc(self.name)} <span class="ck-facts">{facts}</span></h1></header>'


def header(data: Any, rep_id: str, window: Window, *, links: Sequence[tuple[str, str]] = ()) -> Section:
    """Who the rep is (name, team, role, tenure) and the window in one line (:class:`HeaderLine`, with ``links``),
    a note when the rep was not employed in the window or the data ends before it, and the details (manager, hire
    date, the prior window, the data's last activity, data warnings) in a collapsed block. Frame ``header``: the
    details as label/value rows."""
    me = rep_row(data, rep_id)
    pb = data.playbook
    sec = Section("header", str(me.get("name")) if not is_missing(me.get("name")) else str(rep_id))
    hired = me.get("hired_at")
    if is_missing(hired):
        tenure = "tenure not recorded"
        tenure_week = None
    else:
        days = int((window.end - pd.Timestamp(hired)).days)
        tenure_week = days // 7 + 1
        if days < 0:
            tenure = f"starts {day_text(hired)}"
        elif days < 7 * 26:
            tenure = f"week {tenure_week} since hire"
        else:
            years, months = divmod(int(days / 30.44), 12)
            parts = ([plural(years, "year")] if years else []) + ([plural(months, "month")] if months else [])
            tenure = f"{' '.join(parts)} in post"
    ramp = pb.ramp_factor(tenure_week) if tenure_week else 1.0
    ramping = f"ramping: targets at {pct(ramp)} of full" if tenure_week and ramp < 1 else ""
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
        (
            "Tenure",
            tenure + ("" if is_missing(hired) else f" (hired {day_text(hired)})") + (f"; {ramping}" if ramping else ""),
        ),
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
    n_window = len(window_activities(data, rep_id, window.start, window.end))
    note = not_employed_note(me.get("hired_at"), me.get("left_at"), window, n_window)
    sec.values.update(
        tenure_week=tenure_week, ramp=ramp, latest=latest, rep_latest=rep_latest, employed_in_window=note is None
    )
    team_role = " ".join(str(x) for x in (me.get("team"), me.get("role")) if not is_missing(x))
    facts = [team_role, tenure + (f", {ramping}" if ramping else ""), window.label]
    if not is_missing(me.get("left_at")):
        facts.append(f"left {day_text(me.get('left_at'))}")
    sec.add(HeaderLine(sec.title, tuple(facts), tuple(links)), note)
    if lag is not None and lag > 0 and not is_missing(latest):
        sec.add(Text(f"The data ends on {day_text(latest)}, {plural(lag, 'day')} before this window does.", "note"))
    sec.add(Details("About this review: manager, hire date, the prior window, the data", (Table(frame, header=False),)))
    return sec


def not_employed_note(hired: Any, left: Any, window: Window, activities: int) -> str | None:
    """One sentence when the rep was not employed in the window (``left`` before its first day, ``hired`` after
    its last, or ``left`` before ``hired``), else None. ``activities``: the rep's activities in the window.

    The KPI tables hold only the weeks a rep was employed (:func:`coachkit.kpi_table`), so such a rep's KPIs
    are empty while activities logged anyway still show where the review reads activities directly.
    """
    hired = None if is_missing(hired) else pd.Timestamp(hired)
    left = None if is_missing(left) else pd.Timestamp(left)
    if left is not None and left < window.start:
        when = f"left on {day_text(left)}, before this window"
    elif hired is not None and hired > window.end:
        when = f"starts on {day_text(hired)}, after this window"
    elif left is not None and hired is not None and left < hired:
        when = f"left on {day_text(left)}, before the hire date {day_text(hired)} (check the reps table)"
    else:
        return None
    if not activities:
        return f"The rep {when}: no weeks of employment and no activities to review."
    logged = plural(activities, "activity", "activities")
    return (
        f"The rep {when}: KPIs count only weeks of employment, so this review's KPIs are empty; the {logged} "
        "logged in the window show only where activities are read directly (`coachkit validate` warns about them)."
    )
