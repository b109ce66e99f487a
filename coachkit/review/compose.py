"""How one review is put together: the data's coverage, the playbook fitted to it, the absent weeks, and the
first screen (header line, scorecard, focus, going well, contents). The notebook calls these, one per step.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ..absence import absent_weeks, read_time_off
from ..coverage import Coverage, coverage, without_unsupported
from ..kpis import kpi_table
from ..window import Window
from .fmt import day_text, is_missing
from .kpi_rows import kpi_rows
from .page import Section, Text
from .rows import rep_row, window_activities
from .scorecard import Scorecard, not_in_data, score_rows, scorecard_kpis
from .sections.header import header
from .sections.top import first_screen
from .team import Team

__all__ = ["LINKS", "SECTIONS", "absences", "data_profile", "fit_to_data", "is_active", "time_off", "top"]

#: The links of a review published by the batch: the run's index and its definitions page (relative: same folder).
LINKS: tuple[tuple[str, str], ...] = (("All reps", "index.html"), ("Definitions", "definitions.html"))

#: The sections after the first screen: (key, title), in reading order.
SECTIONS: tuple[tuple[str, str], ...] = (
    ("effort", "Effort"),
    ("outcomes", "Outcomes of the effort"),
    ("follow_up", "Follow-up discipline"),
    ("feedback", "Feedback"),
    ("effort_vs_feedback", "Effort and what it earned"),
    ("pipeline", "Pipeline (monitored, not managed)"),
)


def data_profile(data: Any, path: str | Path | None = None) -> Coverage:
    """The data-coverage profile a review works with: the run's profile of the whole dataset, read from ``path``
    (a JSON file the batch writes, :meth:`Coverage.to_dict`), else the profile of ``data`` (the rep's team, as
    loaded), scoped "the rep's team"."""
    if path and Path(path).is_file():
        return Coverage.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
    return coverage(data, scope="the rep's team")


def fit_to_data(data: Any, profile: Coverage) -> tuple[Any, list[str]]:
    """``data`` with its playbook fitted to what the data holds (:func:`coachkit.coverage.without_unsupported`:
    no target or benchmark for a KPI the data cannot support), and the notes saying what was dropped."""
    pb, notes = without_unsupported(data.playbook, profile)
    if pb is data.playbook:
        return data, notes
    return dataclasses.replace(data, playbook=pb), notes


def time_off(source: str | Path | None) -> pd.DataFrame | None:
    """The dataset's optional time-off table (:func:`coachkit.absence.read_time_off`), or None."""
    return read_time_off(source) if source else None


def absences(
    data: Any,
    rep_id: str,
    window: Window,
    *,
    weeks: int = 12,
    source: str | Path | None = None,
    time_off: pd.DataFrame | None = None,
    team: Team | None = None,
) -> pd.DataFrame:
    """The rep's weeks up to the window's end (``weeks`` of them, at least the window and the prior window) marked
    absent or not (:func:`coachkit.absence.absent_weeks`), with the dataset's time-off table when ``source`` (the
    dataset folder) has one, or the ``time_off`` table given. Only weeks the rep was employed and the data
    covers. ``team``: the rep's :func:`coachkit.review.team_tables` (computed from ``data``): the weekly
    activities of the whole team are counted once (kept in :attr:`~coachkit.review.team.Team.shared`)."""
    weeks = max(int(weeks), 2 * window.weeks)
    start = window.start - pd.Timedelta(days=7 * (weeks - window.weeks))

    def weekly_activities(reps: list[str]) -> pd.DataFrame:
        return kpi_table(data.between(start, window.end), start=start, end=window.end, kpis=["activities"], reps=reps)

    if team is None or team.rep_id != rep_id:
        table = weekly_activities([rep_id])
    else:
        every = team.share(("weekly_activities", start, window.end), lambda: weekly_activities(team.peers))
        table = every[(every["rep_id"] == rep_id).to_numpy(dtype=bool)].reset_index(drop=True)
    first = data.activities["occurred_at"].min()
    if not pd.isna(first):
        table = table[table["period_start"] >= pd.Timestamp(first).normalize() - pd.Timedelta(days=6)]
    weekly = table[["rep_id", "period_start", "value"]].rename(columns={"value": "activities"})
    if time_off is None and source:
        time_off = read_time_off(source)
    return absent_weeks(weekly, data.playbook, time_off)


def is_active(data: Any, rep_id: str, window: Window) -> bool:
    """True when the rep has at least one activity in the window (else the review is one short page)."""
    return len(window_activities(data, rep_id, window.start, window.end)) > 0


def _inactive(data: Any, rep_id: str, window: Window, head: Section) -> Section:
    """The first screen of a rep with no activity in the window: the header and one paragraph saying so."""
    me = rep_row(data, rep_id)
    a = data.activities
    before = a.loc[(a["rep_id"] == rep_id) & (a["occurred_at"] < window.start), "occurred_at"]
    last = f" Their last activity before it was on {day_text(before.max())}." if len(before) else ""
    sec = Section("top", str(head.title))
    sec.frames.update(head.frames)
    sec.frames["scorecard"] = pd.DataFrame(columns=["kpi", "label", "kind", "value"])
    sec.add(*head.parts)
    who = "The rep" if is_missing(me.get("name")) else str(me.get("name"))
    sec.add(
        Text(
            f"{who} logged no activity in this window ({window.label}).{last} There is nothing to review: they may "
            "have been on leave, have left, or log their work under another rep id."
        )
    )
    sec.values["active"] = False
    return sec


def top(
    data: Any,
    rep_id: str,
    window: Window,
    *,
    team: Team,
    focus: Section,
    profile: Coverage,
    links: bool | Sequence[tuple[str, str]] = (),
    chosen: Mapping[str, Sequence[str]] | None = None,
    original_playbook: Any = None,
    absences: pd.DataFrame | None = None,
) -> Section:
    """The review's first screen (:func:`coachkit.review.sections.top.first_screen`) for ``rep_id``.

    The scorecard KPIs are :func:`coachkit.review.scorecard.scorecard_kpis` of the rep's role (from
    ``original_playbook``, the playbook before :func:`fit_to_data`, so that a KPI the data lacks is named in the
    "not in this data" line rather than silently missing); ``chosen``: role -> KPIs to show instead (default: the
    playbook's ``[review] scorecard``). ``links``:
    True for :data:`LINKS` (a review published by the batch), or (text, href) pairs. ``absences``
    (:func:`absences`): a count's change is judged on the weeks that were not absent. A rep with no activity in
    the window gets the header and one paragraph saying so.
    """
    links = LINKS if links is True else (() if links is False else tuple(links))
    head = header(data, rep_id, window, links=links)
    if not is_active(data, rep_id, window):
        return _inactive(data, rep_id, window, head)
    me = rep_row(data, rep_id)
    role = me.get("role")
    pb0 = original_playbook or data.playbook
    kpis = scorecard_kpis(pb0, role, chosen=(chosen or getattr(pb0, "scorecard", {}) or {}).get(str(role)))
    missing = profile.unsupported(kpis)
    shown = [k for k in kpis if k not in missing]
    absent = []
    if absences is not None and len(absences):
        absent = list(absences.loc[absences["absent"].to_numpy(dtype=bool), "period_start"])
    candidates = focus.frames.get("candidates")
    rows = kpi_rows(data, rep_id, window, team, shown, absent=absent, candidates=candidates)
    peers = team.group
    if candidates is not None and len(candidates):
        peers = str(candidates["peer_label"].iloc[0])
    card = Scorecard(score_rows(rows, team, window, data.playbook), peers, window.weeks, not_in_data(kpis, missing))
    extra = [k for k in ("notes_coverage", "follow_ups", "emails", "feedback_score") if k not in shown]
    extra = [k for k in extra if not profile.supports(k)]
    judged = pd.concat(
        [rows, kpi_rows(data, rep_id, window, team, extra, absent=absent, candidates=candidates)] if extra else [rows],
        ignore_index=True,
    )
    contents = [(k, f"{i}. {t}") for i, (k, t) in enumerate(SECTIONS, 1)]
    sec = first_screen(
        head,
        card,
        focus,
        judged,
        lacks=profile.lacks(),
        contents=contents,
        min_gap=data.playbook.min_gap,
        candidates=candidates,
    )
    sec.values["active"] = True
    return sec
