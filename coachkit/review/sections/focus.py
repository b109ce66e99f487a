""" "Talk about this week": the coaching focus (at most 3), each with its evidence in one plain sentence and a
next step chosen by its cause, then the comparison with the previous review; the statistics behind it collapsed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from ...coaching import FOCUS_KPIS, coaching_focus
from ...coverage import Coverage
from ...kpis import registry
from ...window import Window, focus_as_of, focus_window
from ..actions import Action, Evidence, choose_action
from ..fmt import day_text, fmt_interval, fmt_n, fmt_value, is_missing, plural, short_day_text
from ..focus_history import compare_focus, status_words
from ..kpi_rows import kpi_rows
from ..page import Bullet, Bullets, Details, Section, Table, Text
from ..rows import rep_row, window_activities
from ..team import Team, team_for
from .follow_up import open_follow_ups

__all__ = ["focus", "next_week_sentence", "plain_evidence"]

_COUNT_KINDS = ("count",)


def next_week_sentence(focus_frame: pd.DataFrame) -> str:
    """One sentence: the top focus area and its action, or that nothing is clearly behind."""
    if focus_frame is None or focus_frame.empty:
        return (
            "Nothing is clearly behind once week-to-week chance is allowed for: keep the rhythm, and pick one "
            "habit from the sections below to sharpen."
        )
    top = focus_frame.iloc[0]
    more = len(focus_frame) - 1
    rest = f" (and {plural(more, 'more area')})" if more else ""
    action = top["action"] if "action" in focus_frame.columns else ""
    return f"Next week: work on {str(top['label']).lower()}{rest}. {action}".strip()


def plain_evidence(row: Mapping[str, Any], weeks: int) -> str:
    """A focus area's evidence in one plain sentence, without statistics: "4% of 1,134 calls, against the
    playbook benchmark of 10%; the peers' median is 8%"."""
    kpi = str(row["kpi"])
    kind = registry[kpi].kind if kpi in registry else "count"
    value = fmt_value(kind, kpi, row["value"])
    bench = fmt_value(kind, kpi, row.get("benchmark_value"))
    what = str(row.get("benchmark") or "benchmark")
    if kind == "rate":
        head = f"{value} of {fmt_n(kpi, kind, row.get('n'))}"
    else:
        unit = registry[kpi].unit if kpi in registry else ""
        unit = "" if unit.lower() == str(row.get("label", "")).lower() else unit
        head = f"{value} {unit} in {plural(weeks, 'week')}".replace("  ", " ")
    against = (
        f"against the {what} of {bench}"
        if what not in ("team median", "peer group")
        else f"against {bench} for the peers"
    )
    med = row.get("team_median")
    tail = ""
    if what not in ("team median", "peer group") and not is_missing(med):
        tail = f"; the peers' median is {fmt_value(kind, kpi, med)}"
    return f"{head}, {against}{tail}."


def _behind_rows(flags: pd.DataFrame) -> dict[str, bool]:
    return {str(k): True for k in flags["kpi"]}


def _evidence(
    data: Any, rep_id: str, first: pd.Timestamp, last: pd.Timestamp, flags: pd.DataFrame, peers: list[str], label: str
) -> Evidence:
    pb = data.playbook
    me = rep_row(data, rep_id)
    acts = window_activities(data, rep_id, first, last)
    a = data.activities
    m = a["rep_id"].isin([p for p in peers if p != rep_id]) & (a["occurred_at"] >= first)
    m &= a["occurred_at"] < last + pd.Timedelta(days=1)
    peer_acts = a[m.to_numpy(dtype=bool, na_value=False)]
    lo, hi = first, last + pd.Timedelta(days=1)
    if not is_missing(me.get("hired_at")):
        lo = max(lo, pd.Timestamp(me.get("hired_at")))
    if not is_missing(me.get("left_at")):
        hi = min(hi, pd.Timestamp(me.get("left_at")) + pd.Timedelta(days=1))
    work = float(pb.working_days_between([lo], [hi])[0]) if hi > lo else 0.0
    targets = pb.targets_for(me.get("role"))
    day_target = {k: (v if per == "day" else v / 5) for k, (per, v) in targets.items()}
    waiting = open_follow_ups(a[a["rep_id"] == rep_id], first, last)
    ts = a["occurred_at"].dropna()
    timed = len(ts) > 0 and bool((ts != ts.dt.normalize()).mean() >= 0.5)
    return Evidence(
        acts=acts,
        peer_acts=peer_acts,
        behind=_behind_rows(flags),
        working_days=work,
        waiting=waiting,
        has_time_of_day=timed,
        day_target=day_target,
        peers=label,
    )


def focus(
    data: Any,
    rep_id: str,
    window: Window,
    *,
    previous: Sequence[Mapping[str, Any]] | None = None,
    previous_window: Mapping[str, Any] | None = None,
    profile: Coverage | None = None,
    absences: pd.DataFrame | None = None,
    team: Team | None = None,
) -> Section:
    """The coaching focus for next week (:func:`coachkit.coaching.coaching_focus`), with a next step per area
    (:func:`coachkit.review.actions.choose_action`), compared with the previous review.

    Judged on the full weeks up to :func:`focus_as_of`; data after the window's end is not used. A lagging result
    (deals, win rate) is never a focus; nor is a KPI the data cannot support (``profile``,
    :class:`coachkit.coverage.Coverage`). ``absences``: :func:`coachkit.review.absences`: when an absent week is in
    the focus window, volume (count KPIs) is not judged. ``team``: the peers the next steps compare the rep with. ``previous``: the previous review's :func:`focus_record` list (None: no previous review).

    Frames: ``focus`` (the areas shown, with ``action``, ``cause`` and ``why``), ``flagged`` (every KPI clearly
    behind), ``comparison`` (with ``previous``). Values: ``focus_window``, ``actions``.
    """
    pb = data.playbook
    team = team_for(data, rep_id, window, team)
    unsupported = profile.unsupported(FOCUS_KPIS) if profile is not None else {}
    absent: list[pd.Timestamp] = []
    if absences is not None and len(absences):
        absent = [pd.Timestamp(w) for w in absences.loc[absences["absent"].to_numpy(dtype=bool), "period_start"]]
    sec = Section("focus", "Talk about this week")
    as_of = focus_as_of(pb, window.end)
    cut = data.between(None, window.end)
    wide = dataclasses.replace(cut, playbook=dataclasses.replace(pb, max_focus=99))
    flags = coaching_focus(wide, rep_id, as_of, window.weeks)
    first, last = focus_window(as_of, window.weeks)
    notes: list[str] = []
    if len(flags):
        keep = flags["kind"].eq("leading").to_numpy(dtype=bool).copy()
        keep &= ~flags["kpi"].isin(list(unsupported or {})).to_numpy(dtype=bool)
        absent_in = [w for w in absent if first <= pd.Timestamp(w) <= last]
        if absent_in:
            volume = flags["kpi"].map(lambda k: registry[k].kind in _COUNT_KINDS if k in registry else False)
            keep &= ~volume.to_numpy(dtype=bool)
            weeks = ", ".join(short_day_text(w) for w in absent_in)
            notes.append(
                f"Volume is not judged this time: the week of {weeks} was far below the rep's usual activity "
                "(leave or time off?)."
            )
        flags = flags[keep].reset_index(drop=True)
    frame = flags.head(max(pb.max_focus, 0)).copy()
    ev = _evidence(data, rep_id, first, last, flags, team.peers, team.group)
    actions: list[Action] = [choose_action(k, ev, pb.actions) for k in frame["kpi"]]
    frame["action"] = [a.text for a in actions]
    frame["cause"] = [a.cause for a in actions]
    frame["why"] = [a.why for a in actions]
    sec.frames["focus"] = frame
    sec.frames["flagged"] = flags
    sec.values.update(focus_window=(first, last), actions=actions)
    items = []
    for r, a in zip(frame.to_dict("records"), actions, strict=True):
        why = (f"Why this step: {a.why}",) if a.why else ()
        items.append(Bullet(str(r["label"]), f"{plain_evidence(r, window.weeks)} Next step: {a.text}", why))
    sec.add(Bullets(tuple(items), empty=next_week_sentence(frame), ordered=True))
    for n in notes:
        sec.add(Text(n, "note"))
    if previous is not None:
        sec.add(*_comparison(data, rep_id, window, team, sec, previous, previous_window, frame, flags, pb))
    sec.add(_details(frame, first, last, window))
    return sec


def _now(data: Any, rep_id: str, window: Window, team: Team, kpis: list[str], flags: pd.DataFrame) -> pd.DataFrame:
    """This window's value, benchmark (the target, else the peers' median) and flag of each of ``kpis``."""
    rows = kpi_rows(data, rep_id, window, team, kpis) if kpis else None
    if rows is None or rows.empty:
        return pd.DataFrame(columns=["kpi", "value", "benchmark_value", "flagged"])
    bench = rows["target"].where(rows["target"].notna() & rows["target_kind"].ne("on target"), rows["team_median"])
    return pd.DataFrame(
        {
            "kpi": rows["kpi"],
            "value": rows["value"],
            "benchmark_value": bench,
            "flagged": rows["kpi"].isin(list(flags["kpi"])),
        }
    )


def _comparison(
    data: Any,
    rep_id: str,
    window: Window,
    team: Team,
    sec: Section,
    previous: Sequence[Mapping[str, Any]],
    previous_window: Mapping[str, Any] | None,
    frame: pd.DataFrame,
    flags: pd.DataFrame,
    pb: Any,
) -> list[Any]:
    now = _now(data, rep_id, window, team, [str(p.get("kpi")) for p in previous if p.get("kpi") in registry], flags)
    cmp = compare_focus(previous, frame, now, min_gap=pb.min_gap)
    sec.frames["comparison"] = cmp
    when = ""
    if previous_window and previous_window.get("start") and previous_window.get("end"):
        when = f" ({day_text(previous_window['start'])} – {day_text(previous_window['end'])})"
    if cmp.empty:
        return [Text(f"The previous review{when} had no focus areas either.", "note")]
    bits = []
    for status in ("kept", "new"):
        labels = cmp.loc[cmp["status"] == status, "label"].astype(str).tolist()
        if labels:
            bits.append(f"{status_words(status)}: " + ", ".join(labels))
    bits += [
        f"{r['label']} {status_words(r['status'], pb.max_focus)}"
        for r in cmp.to_dict("records")
        if r["status"] not in ("kept", "new")
    ]
    return [Text(f"Since the previous review{when}: " + "; ".join(bits) + ".", "note")]


def _details(frame: pd.DataFrame, first: pd.Timestamp, last: pd.Timestamp, window: Window) -> Details:
    parts: list[Any] = [
        Text(
            f"Judged on the full weeks {short_day_text(first)} – {day_text(last)}: a week still in progress is not "
            "judged. A focus area is a leading KPI clearly behind its benchmark once the numbers' uncertainty is "
            "allowed for (see the definitions).",
            "note",
        )
    ]
    if len(frame):
        kinds = [registry[k].kind if k in registry else "count" for k in frame["kpi"]]
        parts.append(
            Table(
                pd.DataFrame(
                    {
                        "Area": frame["label"],
                        "Value": [
                            fmt_value(k, p, v) for k, p, v in zip(kinds, frame["kpi"], frame["value"], strict=True)
                        ],
                        "95% interval": [
                            fmt_interval(k, p, lo, hi)
                            for k, p, lo, hi in zip(kinds, frame["kpi"], frame["ci_low"], frame["ci_high"], strict=True)
                        ],
                        "n": [fmt_n(p, k, n) for p, k, n in zip(frame["kpi"], kinds, frame["n"], strict=True)],
                        "Compared with": [
                            f"{b} {fmt_value(k, p, v)}"
                            for b, k, p, v in zip(
                                frame["benchmark"], kinds, frame["kpi"], frame["benchmark_value"], strict=True
                            )
                        ],
                        "Shortfall (standard errors)": frame["std_gap"].map(
                            lambda x: "–" if is_missing(x) else f"{x:.1f}"
                        ),
                        "Next step chosen by": frame["cause"].str.replace("_", " "),
                    }
                )
            )
        )
    return Details("How these were chosen", tuple(parts))
