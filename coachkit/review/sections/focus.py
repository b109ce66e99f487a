""" "Talk about this week": the coaching focus (at most 3), each with its evidence in one plain sentence and a
next step chosen by its cause, then the comparison with the previous review; the statistics behind it collapsed.

The focus areas are the calibrated focus of :mod:`coachkit.coaching`: a leading KPI on which the rep is behind
its benchmark by more than week-to-week chance allows, selected with the Benjamini–Hochberg procedure over the
whole review run (the batch's pre-pass, :mod:`coachkit.focus_run`) or, for a review run on its own, over the
rep's peer group (and the review says which).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ...coaching import FOCUS_DEFINITION, FOCUS_KPIS, select_focus
from ...coverage import Coverage
from ...focus_run import family_candidates, flagged, read_focus
from ...kpis import registry
from ...window import Window, focus_as_of, focus_window
from ..actions import Action, Evidence, choose_action
from ..fmt import day_text, fmt_interval, fmt_n, fmt_value, is_missing, plural, short_day_text
from ..focus_history import compare_focus, status_words
from ..page import Bullet, Bullets, Details, Section, Table, Text
from ..rows import rep_row, window_activities
from ..team import Team, team_for
from .follow_up import open_follow_ups

__all__ = ["behind", "focus", "next_week_sentence", "plain_evidence", "rep_candidates", "team_topic"]


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


def plain_evidence(row: Mapping[str, Any], weeks: int | None = None) -> str:
    """A focus area's evidence in one plain sentence, without statistics: "4% of 1,134 calls, against the
    playbook benchmark of 10%; the peers' median is 8%", or against "the other 5 SMB SDRs" when the rep is
    compared with the peers. ``weeks``: the span of a count (default: the row's ``weeks``)."""
    kpi = str(row["kpi"])
    kind = registry[kpi].kind if kpi in registry else "count"
    value = fmt_value(kind, kpi, row["value"])
    bench = fmt_value(kind, kpi, row.get("benchmark_value"))
    what = str(row.get("benchmark") or "benchmark")
    span = weeks if weeks is not None else row.get("weeks")
    if kind == "rate":
        head = f"{value} of {fmt_n(kpi, kind, row.get('n'))}"
    else:
        unit = registry[kpi].unit if kpi in registry else ""
        unit = "" if unit.lower() == str(row.get("label", "")).lower() else unit
        head = f"{value} {unit}".strip() + (f" in {plural(span, 'week')}" if not is_missing(span) else "")
    if what in ("team median", "peer group"):
        others = row.get("peers_n")
        label = row.get("peer_label") or "peers"
        who = f"the other {plural(int(others) - 1, 'rep')} of the {label}" if not is_missing(others) else "the peers"
        return f"{head}, against {bench} for {who}."
    tail = ""
    med = row.get("team_median")
    if not is_missing(med):
        tail = f"; the peers' median is {fmt_value(kind, kpi, med)}"
    return f"{head}, against the {what} of {bench}{tail}."


def behind(rows: pd.DataFrame) -> dict[str, bool]:
    """KPI -> True where the rep is behind on it: a focus area, or behind its benchmark at the 5% level on its own
    (the one-sided test, before the run-wide selection): what the cause rules of the next steps look at."""
    if rows is None or rows.empty:
        return {}
    p = pd.to_numeric(rows["p_value"], errors="coerce")
    gap = pd.to_numeric(rows["std_gap"], errors="coerce")
    hit = (p < 0.05) & (gap > 0)
    if "flagged" in rows:
        hit |= rows["flagged"].astype(bool)
    return {str(k): bool(h) for k, h in zip(rows["kpi"], hit, strict=True)}


def rep_candidates(
    data: Any,
    rep_id: str,
    window: Window,
    *,
    run: str | Path | pd.DataFrame | None = None,
    profile: Coverage | None = None,
    time_off: pd.DataFrame | None = None,
    source: Any = None,
    playbook: Any = None,
) -> pd.DataFrame:
    """The rep's rows of the calibrated focus: one per focus KPI, selected (``q_value``, ``flagged``, ``family``).

    ``run``: the run's focus file (:func:`coachkit.focus_run.write_focus`) or its frame: the rows selected over
    the whole run. Without it, the candidates of the rep's peer group (:func:`coachkit.focus_run.family_candidates`,
    judged to :func:`coachkit.window.focus_as_of` of the window's end, without KPIs the ``profile`` cannot support
    and without volume in absent weeks) selected together (``family`` = "peer group"). When the rep's team has too
    few reps of the role, the peer group is the role across teams: with ``source`` (the dataset; ``playbook``: the
    playbook file or None), every rep of the role is read for it (a review reads only its team). Empty when the rep
    has no activity in the focus window.
    """
    if run is not None and not (isinstance(run, str) and not run):
        rows = run[run["rep_id"] == rep_id] if isinstance(run, pd.DataFrame) else read_focus(run, rep_id)
        return rows.reset_index(drop=True)
    as_of = focus_as_of(data.playbook, window.end)
    cut = data.between(None, window.end)
    unsupported = profile.unsupported(FOCUS_KPIS) if profile is not None else None
    cands = family_candidates(
        cut, as_of, window.weeks, None, end=window.end, unsupported=unsupported, time_off=time_off
    )
    mine = cands[cands["rep_id"] == rep_id] if len(cands) else cands
    if mine.empty:
        return mine.reset_index(drop=True)
    if str(mine["peer_basis"].iloc[0]).startswith("role across teams") and source is not None:
        from ...load import load, load_reps

        everyone = load_reps(source, playbook=playbook)
        role = data.reps.loc[data.reps["rep_id"] == rep_id, "role"].iloc[0]
        same = everyone["role"].isna() if pd.isna(role) else everyone["role"].eq(role)
        members = everyone.loc[same.to_numpy(dtype=bool), "rep_id"].astype(str).tolist()
        wider = load(source, playbook=playbook, reps=members)
        wider = dataclasses.replace(wider, playbook=data.playbook)  # the playbook as fitted to the data's coverage
        cands = family_candidates(
            wider.between(None, window.end),
            as_of,
            window.weeks,
            None,
            end=window.end,
            unsupported=unsupported,
            time_off=time_off,
        )
        mine = cands[cands["rep_id"] == rep_id]
        if mine.empty:
            return mine.reset_index(drop=True)
    group = mine["peer_group"].iloc[0]
    fam = cands[cands["peer_group"] == group]
    fam.attrs.update(cands.attrs)
    sel = select_focus(fam).assign(family="peer group")
    return sel[sel["rep_id"] == rep_id].reset_index(drop=True)


def _evidence(
    data: Any, rep_id: str, first: pd.Timestamp, last: pd.Timestamp, rows: pd.DataFrame, team: Team, profile: Any
) -> Evidence:
    pb = data.playbook
    me = rep_row(data, rep_id)
    acts = window_activities(data, rep_id, first, last)
    a = data.activities
    m = a["rep_id"].isin([p for p in team.peers if p != rep_id]) & (a["occurred_at"] >= first)
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
    if profile is not None:
        timed = profile.has_time_of_day
    else:
        ts = a["occurred_at"].dropna()
        timed = len(ts) > 0 and bool((ts != ts.dt.normalize()).mean() >= 0.5)
    return Evidence(
        acts=acts,
        peer_acts=peer_acts,
        behind=behind(rows),
        working_days=work,
        waiting=waiting,
        has_time_of_day=timed,
        day_target=day_target,
        peers=team.group,
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
    run: str | Path | pd.DataFrame | None = None,
    time_off: pd.DataFrame | None = None,
    source: Any = None,
    playbook: Any = None,
) -> Section:
    """The coaching focus for next week (:func:`rep_candidates`: the calibrated focus), with a next step per area
    (:func:`coachkit.review.actions.choose_action`), compared with the previous review.

    Judged on the full weeks up to :func:`focus_as_of`; data after the window's end is not used. A lagging result
    (deals, win rate) is never a focus; nor is a KPI the data cannot support (``profile``), nor volume in an absent
    week (``absences``, :func:`coachkit.review.absences`, says which weeks; the run's pre-pass and
    :func:`rep_candidates` leave them out). ``run``: the run's focus file; ``team``: the peers the next steps
    compare the rep with. ``previous``: the previous review's :func:`focus_record` list (None: no previous review).
    ``source``/``playbook``: the dataset and playbook file, read again for a small team's role across teams when
    the review runs on its own.

    Frames: ``focus`` (the areas shown, with ``action``, ``cause`` and ``why``), ``candidates`` (every focus KPI of
    the rep, selected), ``comparison`` (with ``previous``). Values: ``focus_window``, ``actions``, ``family``.
    """
    pb = data.playbook
    team = team_for(data, rep_id, window, team)
    sec = Section("focus", "Talk about this week")
    as_of = focus_as_of(pb, window.end)
    first, last = focus_window(as_of, window.weeks)
    rows = rep_candidates(
        data, rep_id, window, run=run, profile=profile, time_off=time_off, source=source, playbook=playbook
    )
    frame = flagged(rows, pb.max_focus).copy()
    ev = _evidence(data, rep_id, first, last, rows, team, profile)
    actions: list[Action] = [choose_action(k, ev, pb.actions) for k in frame["kpi"]]
    frame["action"] = [a.text for a in actions]
    frame["cause"] = [a.cause for a in actions]
    frame["why"] = [a.why for a in actions]
    family = str(rows["family"].iloc[0]) if len(rows) and "family" in rows else ""
    sec.frames["focus"] = frame
    sec.frames["candidates"] = rows
    sec.values.update(focus_window=(first, last), actions=actions, family=family)
    items = []
    for r, a in zip(frame.to_dict("records"), actions, strict=True):
        why = (f"Why this step: {a.why}",) if a.why else ()
        items.append(Bullet(str(r["label"]), f"{plain_evidence(r)} Next step: {a.text}", why))
    sec.add(Bullets(tuple(items), empty=next_week_sentence(frame), ordered=True))
    if absences is not None and len(absences):
        a = absences[absences["absent"].to_numpy(dtype=bool)]
        a = a[(a["period_start"] >= first) & (a["period_start"] <= last)]
        if len(a):
            weeks = ", ".join(short_day_text(w) for w in a["period_start"])
            sec.add(
                Text(
                    f"Volume is not judged this time: the week of {weeks} was far below the rep's usual activity "
                    "(leave or time off?).",
                    "note",
                )
            )
    topic = team_topic(rows)
    if topic:
        sec.add(Text(topic, "note"))
    if previous is not None:
        sec.add(*_comparison(sec, previous, previous_window, frame, rows, pb))
    sec.add(_details(frame, rows, first, last, family, profile))
    return sec


def team_topic(rows: pd.DataFrame) -> str:
    """One short line when the rep's peer group as a whole misses targets (team findings): a team topic in the index,
    not this rep's focus; '' otherwise."""
    if rows is None or rows.empty or "team_finding" not in rows:
        return ""
    team = rows[rows["team_finding"].astype(bool).to_numpy() & rows["kind"].eq("leading").to_numpy(dtype=bool)]
    if team.empty:
        return ""
    labels = [str(x).lower() for x in team["label"]]
    if len(labels) > 3:
        listed = ", ".join(labels[:3]) + f" and {len(labels) - 3} more"
    else:
        listed = labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]
    return (
        f"Team topic, not this rep's focus: the {rows.iloc[0]['peer_label']} as a group are below target on "
        f"{listed} (see the index); on these the rep is compared with the peers."
    )


def _comparison(
    sec: Section,
    previous: Sequence[Mapping[str, Any]],
    previous_window: Mapping[str, Any] | None,
    frame: pd.DataFrame,
    rows: pd.DataFrame,
    pb: Any,
) -> list[Any]:
    now = None
    if len(rows):
        now = pd.DataFrame(
            {
                "kpi": rows["kpi"].astype(str),
                "value": rows["value"],
                "benchmark_value": rows["benchmark_value"],
                "flagged": rows["flagged"].astype(bool) if "flagged" in rows else False,
            }
        )
    else:
        now = pd.DataFrame(columns=["kpi", "value", "benchmark_value", "flagged"])
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


def _p(x: Any) -> str:
    if is_missing(x):
        return "–"
    return "< 0.001" if float(x) < 0.001 else f"{float(x):.3f}"


def _details(
    frame: pd.DataFrame, rows: pd.DataFrame, first: pd.Timestamp, last: pd.Timestamp, family: str, profile: Any = None
) -> Details:
    if family == "run":
        fam = "the whole review run (every rep and KPI reviewed together)"
    elif family:
        fam = "the rep's peer group only (this review was run on its own, not by the batch)"
    else:
        fam = "nothing (no activity in the window)"
    peers = ""
    if len(rows):
        r0 = rows.iloc[0]
        n = plural(int(r0["peers_n"]), "rep")
        if str(r0["peer_basis"]).startswith("role across teams"):
            peers = f" Peers: the {n} of the {r0['peer_label']} (the team has too few reps of the role to compare)."
        else:
            peers = f" Peers: the {n} of the {r0['peer_label']}."
    parts: list[Any] = [
        Text(
            f"Judged on the full weeks {short_day_text(first)} – {day_text(last)}: a week still in progress is not "
            f"judged. The false-discovery rate is controlled over {fam}.{peers} {FOCUS_DEFINITION}",
            "note",
        )
    ]
    shown = rows[rows["kind"].eq("leading").to_numpy(dtype=bool)] if len(rows) else rows
    if len(shown):  # a KPI the data cannot support is not shown as a number, here either
        lacking = shown["reason"].astype(str).str.startswith(("the data has no", "outcomes are logged on only"))
        if profile is not None:
            lacking |= shown["kpi"].map(lambda k: bool(profile.supports(str(k)))).to_numpy(dtype=bool)
        shown = shown[~lacking.to_numpy(dtype=bool)]
    if len(shown):
        kinds = [registry[k].kind if k in registry else "count" for k in shown["kpi"]]
        cause = dict(zip(frame["kpi"], frame["cause"], strict=True)) if len(frame) else {}
        status = []
        for r in shown.to_dict("records"):
            if r.get("flagged"):
                status.append(
                    "focus area" + (f" (next step: {cause[r['kpi']].replace('_', ' ')})" if r["kpi"] in cause else "")
                )
            elif not r.get("eligible"):
                status.append(f"not judged: {r.get('reason') or ''}")
            else:
                status.append("not clearly behind")
        parts.append(
            Table(
                pd.DataFrame(
                    {
                        "KPI": shown["label"],
                        "Value": [
                            fmt_value(k, p, v) for k, p, v in zip(kinds, shown["kpi"], shown["value"], strict=True)
                        ],
                        "95% interval": [
                            fmt_interval(k, p, lo, hi)
                            for k, p, lo, hi in zip(kinds, shown["kpi"], shown["ci_low"], shown["ci_high"], strict=True)
                        ],
                        "n": [fmt_n(p, k, n) for p, k, n in zip(shown["kpi"], kinds, shown["n"], strict=True)],
                        "Compared with": [
                            f"{'the peers' if b == 'peer group' else 'the ' + b} {fmt_value(k, p, v)}"
                            for b, k, p, v in zip(
                                shown["benchmark"], kinds, shown["kpi"], shown["benchmark_value"], strict=True
                            )
                        ],
                        "Shortfall (s.e.)": shown["std_gap"].map(lambda x: "–" if is_missing(x) else f"{x:.1f}"),
                        "p": shown["p_value"].map(_p),
                        "q (run)" if family == "run" else "q": shown.get(
                            "q_value", pd.Series(np.nan, index=shown.index)
                        ).map(_p),
                        "Status": status,
                    }
                ),
                "Every leading KPI of the rep: value, its 95% interval (widened by the week-to-week variation), the "
                "one-sided p-value of being behind and the q-value after the false-discovery-rate selection",
            )
        )
    return Details("How these were chosen", tuple(parts))
