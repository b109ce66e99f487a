"""The run-wide coaching focus: one Benjamini–Hochberg family over every rep × KPI of a review run.

A rep is flagged only when the evidence survives multiplicity across all KPIs and reps of the run
(:func:`coachkit.coaching.select_focus`), but each review runs in its own kernel. So the batch makes a cheap
pre-pass first (:func:`run_focus`):

1. per peer group, read only those reps (``coachkit.load(source, reps=...)``): a team × role at a time, so that
   the batch never holds the whole dataset; the candidates of every rep × focus KPI
   (:func:`coachkit.coaching.focus_candidates`), with the exclusions of :func:`exclude` (KPIs the data cannot
   support, volume in a rep's absent weeks). A team × role with fewer than
   :data:`coachkit.panel.MIN_PEERS` active reps is compared within its role across teams: those reps are read
   again with every rep of their role, once per role;
2. concatenate, and select once over the run (:func:`coachkit.coaching.select_focus`);
3. hand each review its rows (:func:`write_focus`, :func:`read_focus`: one Parquet file in the run's staging
   folder, passed to the notebook as a parameter) and the index the team findings
   (:func:`coachkit.coaching.team_findings`).

A review run on its own (no run file) computes its peer group's candidates (:func:`family_candidates`) and
selects over them: its family is the peer group, and it says so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from .absence import absent_weeks
from .coaching import FOCUS_KPIS, focus_candidates, select_focus, team_findings
from .files import atomic_path
from .kpis import kpi_columns, kpi_table, registry
from .panel import peer_groups
from .window import focus_window

__all__ = [
    "ABSENT_REASON",
    "absent_mondays",
    "exclude",
    "family_candidates",
    "flagged",
    "read_focus",
    "run_focus",
    "write_focus",
]

#: Why a count KPI is not judged for a rep with an absent week in the focus window.
ABSENT_REASON = "an absent week in the window: volume is not judged"

#: Weeks of history behind the absent-week rule (the review's default ``history_weeks``).
HISTORY_WEEKS = 12


def exclude(
    candidates: pd.DataFrame,
    *,
    unsupported: Mapping[str, str] | None = None,
    absent: Mapping[str, Sequence[Any]] | None = None,
    window: tuple[Any, Any] | None = None,
) -> pd.DataFrame:
    """``candidates`` with rows made ineligible for focus (``eligible`` False, ``reason`` set), before selection:

    - a KPI the data cannot support (``unsupported``: KPI -> why, :meth:`coachkit.coverage.Coverage.unsupported`);
    - a count KPI (volume) of a rep with an absent week (``absent``: rep -> Mondays,
      :func:`absent_mondays`) inside ``window`` (the focus window's first Monday and last Sunday).

    Rows already ineligible keep their reason. Returns a copy (``attrs`` kept).
    """
    out = candidates.copy()
    eligible = out["eligible"].to_numpy(dtype=bool).copy()
    reason = out["reason"].astype(object).to_numpy().copy()
    if unsupported:
        why = out["kpi"].map(lambda k: unsupported.get(str(k), "")).to_numpy(dtype=object)
        hit = eligible & (why != "")
        reason[hit] = why[hit]
        eligible &= ~hit
    if absent and window is not None:
        first, last = (pd.Timestamp(x) for x in window)
        away = {r for r, mondays in absent.items() if any(first <= pd.Timestamp(m) <= last for m in mondays)}
        volume = out["kpi"].map(lambda k: k in registry and registry[k].kind == "count").to_numpy(dtype=bool)
        hit = eligible & volume & out["rep_id"].isin(away).to_numpy(dtype=bool)
        reason[hit] = ABSENT_REASON
        eligible &= ~hit
    out["eligible"] = eligible
    out["reason"] = pd.array(reason, dtype=candidates["reason"].dtype)
    out.attrs.update(candidates.attrs)
    return out


def absent_mondays(
    data: Any, reps: Iterable[str], end: Any, *, weeks: int = HISTORY_WEEKS, time_off: pd.DataFrame | None = None
) -> dict[str, list[pd.Timestamp]]:
    """rep -> the Mondays of the rep's absent weeks (:func:`coachkit.absence.absent_weeks`) among the ``weeks``
    calendar weeks up to the week of ``end``, only weeks the rep was employed and the data covers."""
    end = pd.Timestamp(end).normalize()
    start = end - pd.Timedelta(days=end.weekday()) - pd.Timedelta(days=7 * (weeks - 1))
    reps = [str(r) for r in reps]
    if not reps:
        return {}
    table = kpi_table(data.between(start, end), start=start, end=end, kpis=["activities"], reps=reps)
    first = data.activities["occurred_at"].min()
    if not pd.isna(first):
        table = table[table["period_start"] >= pd.Timestamp(first).normalize() - pd.Timedelta(days=6)]
    weekly = table[["rep_id", "period_start", "value"]].rename(columns={"value": "activities"})
    marked = absent_weeks(weekly, data.playbook, time_off)
    a = marked[marked["absent"].to_numpy(dtype=bool)]
    out: dict[str, list[pd.Timestamp]] = {r: [] for r in reps}
    for rep, monday in zip(a["rep_id"].astype(str), a["period_start"], strict=True):
        out.setdefault(rep, []).append(pd.Timestamp(monday))
    return out


def family_candidates(
    data: Any,
    as_of: Any,
    weeks: int,
    reps: Sequence[str] | None,
    *,
    end: Any = None,
    unsupported: Mapping[str, str] | None = None,
    time_off: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The candidates of ``reps`` (:func:`coachkit.coaching.focus_candidates` over the full weeks ending on
    ``as_of``) with the exclusions of :func:`exclude`: KPIs in ``unsupported``, and volume for reps with an
    absent week in the focus window (absences judged over :data:`HISTORY_WEEKS` weeks up to ``end``, default
    ``as_of``). Not yet selected: :func:`coachkit.coaching.select_focus` makes the family."""
    cands = focus_candidates(data, as_of, weeks, reps=reps)
    if cands.empty:
        return cands
    absent = absent_mondays(data, cands["rep_id"].unique(), as_of if end is None else end, time_off=time_off)
    return exclude(cands, unsupported=unsupported, absent=absent, window=focus_window(as_of, weeks))


def run_focus(
    source: str | Path,
    as_of: Any,
    weeks: int,
    reps: Sequence[str],
    *,
    end: Any = None,
    playbook: Any = None,
    unsupported: Mapping[str, str] | None = None,
    time_off: pd.DataFrame | None = None,
    reps_table: pd.DataFrame | None = None,
    load: Callable[..., Any] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The run's focus: (selected candidates of every rep of ``reps``, the team findings); see the module docstring.

    ``source``/``playbook``: the dataset and playbook, read one peer group at a time with ``load`` (default
    :func:`coachkit.load` of the columns the focus KPIs read, :func:`coachkit.kpis.kpi_columns`); ``reps_table``: the dataset's reps table (default: read with
    :func:`coachkit.load_reps`). ``as_of``: the day the focus is judged to (:func:`coachkit.window.focus_as_of`
    of the review window's end ``end``). The selection adds ``q_value`` and ``flagged`` and sets ``family`` to
    "run" on every row.
    """
    if load is None:  # only the columns the focus KPIs and the absent-week rule read (about 100 MB less per group)
        import functools

        from .load import load as load_all

        load = functools.partial(load_all, columns=kpi_columns([*FOCUS_KPIS, "activities"]))
    if reps_table is None:
        from .load import load_reps

        reps_table = load_reps(source, playbook=playbook)
    wanted = [str(r) for r in reps]
    key = peer_groups(reps_table)
    parts: list[pd.DataFrame] = []
    deferred: dict[Any, list[str]] = {}
    role_of = reps_table.drop_duplicates("rep_id").set_index("rep_id")["role"]
    attrs: dict[str, Any] = {}
    for group in sorted(set(key.reindex(wanted).dropna())):
        members = key.index[key == group].tolist()
        mine = [r for r in wanted if key.get(r) == group]
        data = load(source, playbook=playbook, reps=members)
        cands = family_candidates(data, as_of, weeks, mine, end=end, unsupported=unsupported, time_off=time_off)
        if cands.empty:
            continue
        attrs = dict(cands.attrs)
        small = cands["peer_basis"].astype(str).str.startswith("role across teams")
        for rep in cands.loc[small, "rep_id"].astype(str).unique():
            deferred.setdefault(role_of.get(rep), []).append(rep)
        parts.append(cands[~small.to_numpy(dtype=bool)])
        del data
    for role, mine in deferred.items():  # small teams: compared within the role across teams
        same = reps_table["role"].isna() if pd.isna(role) else reps_table["role"].eq(role)
        members = reps_table.loc[same.to_numpy(dtype=bool), "rep_id"].astype(str).tolist()
        data = load(source, playbook=playbook, reps=members)
        cands = family_candidates(data, as_of, weeks, mine, end=end, unsupported=unsupported, time_off=time_off)
        attrs = dict(cands.attrs) or attrs
        parts.append(cands)
        del data
    if not parts:
        return pd.DataFrame(), pd.DataFrame()
    allc = pd.concat(parts, ignore_index=True)
    allc.attrs.update(attrs)
    selected = select_focus(allc).assign(family="run")
    return selected, team_findings(selected)


def write_focus(path: str | Path, selected: pd.DataFrame) -> Path:
    """Write the run's selected candidates (:func:`run_focus`) to ``path`` (Parquet, atomically)."""
    out = selected.copy()
    out.attrs = {}  # the selection's settings (window timestamps) are not Parquet metadata
    with atomic_path(path) as tmp:
        out.to_parquet(tmp, index=False)
    return Path(path)


def read_focus(path: str | Path, rep_id: str) -> pd.DataFrame:
    """The rows of ``rep_id`` in the run's focus file (:func:`write_focus`): every focus KPI of the rep, selected
    over the whole run (``q_value``, ``flagged``, ``family`` "run"). Empty when the rep has none."""
    rows = pd.read_parquet(path, filters=[("rep_id", "==", str(rep_id))])
    for c in ("eligible", "flagged", "team_finding"):
        if c in rows:
            rows[c] = rows[c].astype(bool)
    return rows.reset_index(drop=True)


def flagged(rows: pd.DataFrame, max_focus: int) -> pd.DataFrame:
    """The rep's focus areas from its selected rows: the flagged leading KPIs, the largest shortfall first, at
    most ``max_focus``."""
    if rows.empty or "flagged" not in rows:
        return rows.iloc[:0]
    f = rows[rows["flagged"].to_numpy(dtype=bool) & rows["kpi"].map(FOCUS_KPIS).eq("leading").to_numpy(dtype=bool)]
    return f.sort_values("std_gap", ascending=False, kind="stable").head(max(int(max_focus), 0)).reset_index(drop=True)
