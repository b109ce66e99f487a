"""Effort: volume by activity type against target and peers, the days with activity, absent weeks, and when in
the day the activities happen (only when the data has times of day)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ... import charts
from ...coverage import Coverage
from ...kpis import registry
from ...window import Window, focus_as_of, focus_window
from ..fmt import is_missing, num, pct, plural, short_day_text
from ..page import Chart, Details, Section, Table, Text
from ..rows import rep_row, window_activities
from ..targets import count_target, ramp_factors
from ..team import Team, peers_n, team_for, team_median, window_count

#: Activity-type count KPI -> activity type.
TYPE_KPIS: dict[str, str] = {"calls": "call", "emails": "email", "meetings": "meeting", "follow_ups": "follow_up"}


def _daily_volume(data: Any, rep_id: str, window: Window, types: dict[str, str] = TYPE_KPIS) -> pd.DataFrame:
    """Per day of the window (working days, plus any other day with activity) and main activity type:
    count and the day's target (per-day target, or per-week target / 5, × ramp; NaN without one)."""
    pb = data.playbook
    me = rep_row(data, rep_id)
    a = window_activities(data, rep_id, window.start, window.end)
    days = pd.date_range(window.start, window.end, freq="D")
    work = pb.working_days_between(days, days + pd.Timedelta(days=1)) > 0
    if not is_missing(me.get("hired_at")):
        work &= days >= pd.Timestamp(me.get("hired_at"))
    if not is_missing(me.get("left_at")):
        work &= days <= pd.Timestamp(me.get("left_at"))
    counts = (
        a.assign(day=a["occurred_at"].dt.normalize())
        .groupby(["day", "activity_type"], observed=True)
        .size()
        .rename("count")
    )
    active = set(counts.index.get_level_values(0)) if len(counts) else set()
    keep = [d for d, w in zip(days, work, strict=True) if w or d in active]
    targets = pb.targets_for(me.get("role"))
    mondays = pd.Series([d - pd.Timedelta(days=d.weekday()) for d in keep])
    ramp = ramp_factors(pb, mondays, me.get("hired_at")) if keep else np.array([])
    rows = []
    for kpi, t in types.items():
        tgt = targets.get(kpi)
        for i, d in enumerate(keep):
            is_work = bool(work[days.get_loc(d)])
            target = np.nan
            if tgt is not None:
                target = (tgt[1] if tgt[0] == "day" else tgt[1] / 5) * ramp[i] if is_work else 0.0
            rows.append({"period_start": d, "activity_type": t, "count": int(counts.get((d, t), 0)), "target": target})
    return pd.DataFrame(rows, columns=["period_start", "activity_type", "count", "target"])


def activity_score_text(data: Any, rep_id: str, window: Window, team: Team) -> str:
    """One sentence on the rep's activity score over the window (:func:`coachkit.coaching.activity_scores`: each of
    the role's targets counts up to 100%, so 100 means every target met), with its 95% interval from the counts'
    own variation and the targets run over; '' when the role has no target the data supports."""
    from ...coaching import activity_scores
    from ...panel import rep_week_panel

    pb = data.playbook
    me = rep_row(data, rep_id)
    targets = pb.targets_for(me.get("role"))
    if not targets:
        return ""

    def team_scores() -> pd.DataFrame:  # the same for every rep of the team: computed once (Team.share)
        cut = data.between(None, window.end)
        panel = rep_week_panel(cut, window.start, window.end, list(targets), reps=team.peers)
        panel = panel[panel["exposure"] > 0]
        if panel.empty:
            return pd.DataFrame(columns=["score"])
        info = data.reps.drop_duplicates("rep_id").set_index("rep_id")
        panel = panel.assign(role=panel["rep_id"].map(info["role"]), hired_at=panel["rep_id"].map(info["hired_at"]))
        return activity_scores(panel, pb).set_index("rep_id")

    scores = team.share(("activity_scores", window), team_scores)  # peers share the role, so its targets
    if rep_id not in scores.index or is_missing(scores.at[rep_id, "score"]):
        return ""
    r = scores.loc[rep_id]
    over = (
        f" Over target: {r['over_target']} (running over one target does not make up for another)."
        if r["over_target"]
        else ""
    )
    return (
        f"Activity score {r['score']:.0f}/100 (95% CI {r['ci_low']:.0f}–{r['ci_high']:.0f}): each of the role's "
        f"{plural(r['targets'], 'target')} counts up to 100%, so 100 means every target met.{over}"
    )


def trend_text(data: Any, rep_id: str, window: Window, weeks: int = 12, team: Team | None = None) -> str:
    """One sentence on the trend of the rep's weekly activities over the last ``weeks`` full weeks
    (:func:`coachkit.coaching.weekly_trend`: rising or falling only when the 95% interval excludes no change;
    weeks before the data or the hire are not zero weeks); '' with too few weeks. ``team``: the rep's
    :func:`coachkit.review.team_tables`: the team's weekly activities are computed once for all its reps."""
    from ...coaching import weekly_trend
    from ...panel import rep_week_panel

    as_of = focus_as_of(data.playbook, window.end)
    cut = data.between(None, window.end)
    panel = None
    if team is not None and team.rep_id == rep_id:
        first, last = focus_window(as_of, weeks)
        key = ("weekly_activities_panel", first, last)
        panel = team.share(key, lambda: rep_week_panel(cut, first, last, ["activities"], reps=team.peers))
    t = weekly_trend(cut, rep_id, as_of, "activities", weeks=weeks, panel=panel)
    if not t.get("direction"):
        return ""
    n = plural(t["weeks"], "full week")
    if t["direction"] == "no clear trend":
        return f"Over the last {n}: no clear trend in activities (weekly volume varies, but no steady rise or fall)."
    lo, hi = np.expm1(t["ci_low"]), np.expm1(t["ci_high"])
    word = "rising" if t["direction"] == "rising" else "falling"
    a, b = sorted((abs(lo), abs(hi)))
    return (
        f"Over the last {n}: activities {word} by about {pct(abs(t['weekly_change']))} a week (95% CI {pct(a)} to "
        f"{pct(b)})."
    )


def absent_note(absences: pd.DataFrame | None, window: Window) -> str:
    """One sentence naming the window's absent weeks (:func:`coachkit.review.absences`), or ''."""
    if absences is None or absences.empty:
        return ""
    a = absences[absences["absent"].to_numpy(dtype=bool)]
    a = a[(a["period_start"] >= window.start) & (a["period_start"] <= window.end)]
    if a.empty:
        return ""
    bits = []
    for r in a.to_dict("records"):
        usual = r.get("norm_per_day")
        why = (
            "time off"
            if r["reason"] == "time off"
            else (
                f"{plural(r['activities'], 'activity', 'activities')} against about {num(usual * 5)} in a usual week"
                if not is_missing(usual)
                else plural(r["activities"], "activity", "activities")
            )
        )
        bits.append(f"the week of {short_day_text(r['period_start'])} ({why})")
    weeks = bits[0] if len(bits) == 1 else ", ".join(bits[:-1]) + " and " + bits[-1]
    return f"Absent: {weeks}. Volume is not coached on {'it' if len(bits) == 1 else 'them'}."


def effort(
    data: Any,
    rep_id: str,
    window: Window,
    *,
    team: Team | None = None,
    profile: Coverage | None = None,
    absences: pd.DataFrame | None = None,
) -> Section:
    """Volume by activity type against target and the peers (a table, and a chart of daily volume), the days with
    activity, absent weeks (``absences``: :func:`coachkit.review.absences`), and the weekday × hour pattern.

    With a ``profile`` (:class:`coachkit.coverage.Coverage`), activity types the data does not have are one "not in
    this data" line, and the hour pattern needs times of day."""
    team = team_for(data, rep_id, window, team)
    pb = data.playbook
    sec = Section("effort", "Effort")
    work_days = window.working_days(pb)
    me = rep_row(data, rep_id)
    targets = pb.targets_for(me.get("role"))
    types = {k: t for k, t in TYPE_KPIS.items() if profile is None or not profile.supports(k)}
    lacking = {k: profile.supports(k) for k in TYPE_KPIS if profile is not None and profile.supports(k)}
    note = absent_note(absences, window)
    if note:
        sec.add(note)

    # volume per type against target
    rows = []
    for kpi, t in types.items():
        k = window_count(team, kpi)
        target = count_target(data, rep_id, window, kpi)
        med = team_median(team, kpi)
        rows.append(
            {
                "type": t,
                "kpi": kpi,
                "count": k,
                "per_day": k / work_days if work_days else np.nan,
                "target": target,
                "target_per_day": target / work_days if work_days and not is_missing(target) else np.nan,
                "share_of_target": k / target if not is_missing(target) and target > 0 else np.nan,
                "team_median": med,
                "per": targets[kpi][0] if kpi in targets else "",
            }
        )
    vol = pd.DataFrame(rows)
    sec.frames["volume"] = vol
    texts = []
    for r in vol.to_dict("records"):
        label = registry[r["kpi"]].label.lower()
        if is_missing(r["target"]):
            texts.append(f"{num(r['count'])} {label} (peers' median {num(r['team_median'])})")
        else:
            texts.append(
                f"{num(r['count'])} {label} against a target of {num(r['target'])} "
                f"({pct(r['share_of_target'])}; peers' median {num(r['team_median'])})"
            )
    sec.add(f"In {plural(work_days, 'working day')}: " + "; ".join(texts) + ".")
    if lacking:
        listed = "; ".join(f"{registry[k].label.lower()} ({why})" for k, why in lacking.items())
        sec.add(Text(f"Not in this data: {listed}.", "note"))
    disp = pd.DataFrame(
        {
            "Activity": [registry[k].label for k in vol["kpi"]],
            "This window": vol["count"].map(num),
            "Per working day": vol["per_day"].map(lambda x: num(x, 1)),
            "Target": [
                "–" if is_missing(t) else f"{num(t)} ({num(tp, 1)}/day)"
                for t, tp in zip(vol["target"], vol["target_per_day"], strict=True)
            ],
            "% of target": vol["share_of_target"].map(pct),
            f"Peers' median ({plural(peers_n(team), 'rep')})": vol["team_median"].map(num),
        }
    )
    sec.add(Table(disp, "Volume by activity type (targets are ramp-adjusted for new hires)"))
    daily = _daily_volume(data, rep_id, window, types)
    sec.frames["daily"] = daily
    if len(daily) and daily["count"].sum() > 0:
        sec.add(Chart(charts.volume_vs_target(daily, title="Daily volume against target (tick = the day's target)")))
    sec.frames["mix"] = _mix(team)
    score = activity_score_text(data, rep_id, window, team)
    if score:
        sec.add(score)
    trend = trend_text(data, rep_id, window, team=team)
    if trend:
        sec.add(Text(trend, "note"))
    # active days
    a = window_activities(data, rep_id, window.start, window.end)
    days = a["occurred_at"].dt.normalize().drop_duplicates()
    on_work = int((pb.working_days_between(days, days + pd.Timedelta(days=1)) > 0).sum()) if len(days) else 0
    off = len(days) - on_work
    med_active = team_median(team, "active_days")
    text = f"Active on {on_work} of {work_days} working days"
    text += f" (peers' median {num(med_active)} active days)" if not is_missing(med_active) else ""
    text += f", plus {plural(off, 'non-working day')}." if off else "."
    sec.values.update(active_work_days=on_work, active_other_days=off, working_days=work_days)
    sec.add(text)
    # weekday x hour: only with times of day (a date-only export puts every activity at 00:00)
    timed = profile.has_time_of_day if profile is not None else True
    if len(a) and not timed:
        sec.add(Text("When in the day: not in this data (dates without times of day).", "note"))
    elif len(a):
        heat = (
            pd.DataFrame({"weekday": a["occurred_at"].dt.day_of_week, "hour": a["occurred_at"].dt.hour})
            .value_counts()
            .rename("count")
            .reset_index()
        )
        sec.frames["weekday_hour"] = heat
        busiest = heat.sort_values("count", ascending=False).iloc[0]
        sec.add(
            Text(
                f"Busiest hour: {charts.WEEKDAYS[int(busiest['weekday'])]} {int(busiest['hour']):02d}:00 "
                f"({plural(busiest['count'], 'activity', 'activities')}).",
                "note",
            ),
            Chart(charts.weekday_hour_heatmap(heat, title="When the activities happen (this window)")),
        )
    if absences is not None and len(absences):
        sec.add(_absence_details(absences))
    return sec


def _mix(team: Team) -> pd.DataFrame:
    t = team.totals
    t = t[(t["window"] == "this") & t["kpi"].isin(["activities", *TYPE_KPIS])]
    rows = []
    for who, mask in (
        ("this rep", t["rep_id"] == team.rep_id),
        (f"team: other {team.group}", t["rep_id"] != team.rep_id),
    ):
        s = t[mask].groupby("kpi")["value"].sum()
        total = float(s.get("activities", 0.0))
        if total <= 0:
            continue
        other = total - sum(float(s.get(k, 0.0)) for k in TYPE_KPIS)
        for kpi, typ in [*TYPE_KPIS.items(), ("other", "task")]:
            n = other if kpi == "other" else float(s.get(kpi, 0.0))
            rows.append({"who": who, "activity_type": typ if kpi != "other" else "other", "share": n / total, "n": n})
    return pd.DataFrame(rows, columns=["who", "activity_type", "share", "n"])


def _absence_details(absences: pd.DataFrame) -> Details:
    """The weekly activities behind the absent-week rule, collapsed."""
    a = absences.sort_values("period_start")
    frame = pd.DataFrame(
        {
            "Week of": pd.to_datetime(a["period_start"]).dt.strftime("%d %b %Y"),
            "Activities": a["activities"].map(num),
            "Working days": a["working_days"].map(num),
            "Per working day": a["per_day"].map(lambda x: num(x, 1)),
            "Absent": [("yes: " + r) if ab else "" for ab, r in zip(a["absent"], a["reason"], strict=True)],
        }
    )
    norm = a["norm_per_day"].dropna()
    rule = (
        f"A week is absent when time off covers half its working days, or when its activities per working day are "
        f"under a quarter of the rep's usual {num(norm.iloc[0], 1)} (the median of these weeks)."
        if len(norm)
        else "Too few weeks to know the rep's usual activity: only time off marks a week absent."
    )
    return Details("Absent weeks: how they are found", (Text(rule, "note"), Table(frame)))
