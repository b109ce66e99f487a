"""The rep-week panel: peer groups, and one row per rep, full week and KPI with its exposure (working days).

The unit of evidence of the coaching statistics (:mod:`coachkit.coaching`) is the
rep-week. A week counts for a rep only while the data and the rep's employment
cover it: weeks before the dataset's first activity, before the rep's
``hired_at`` or after their ``left_at`` are not zero weeks, they are not weeks at
all. A week the data or the employment covers only partly (the data starts on a
Wednesday, the rep was hired on a Thursday, the data ends mid-week) is kept with
its exposure prorated to the working days covered, and flagged ``partial``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from .kpis import kpi_table, registry
from .kpis.table import TABLE_COLUMNS
from .playbook import Playbook

__all__ = [
    "MIN_PEERS",
    "PANEL_COLUMNS",
    "peer_groups",
    "peer_table",
    "peer_members",
    "rep_week_panel",
    "kpi_availability",
    "active_reps",
]

#: A team × role peer group smaller than this (reps with data in the window) is compared
#: within its role across teams instead: with 3 or fewer reps, a team median or a leave-one-out
#: peer mean rests on one or two other people.
MIN_PEERS = 4

#: Columns of :func:`rep_week_panel`.
#: (the long KPI table's columns up to denominator, then the exposure of each rep-week)
PANEL_COLUMNS = (*TABLE_COLUMNS[:6], "exposure", "full_exposure", "partial")

_MISSING = "\0"


def peer_groups(reps: pd.DataFrame) -> pd.Series:
    """rep_id -> the rep's team × role group key (a missing team or role matches a missing one).

    This is the grouping before the size rule of :func:`peer_table`; the batch uses it to queue a
    team's reps together, and the review to read a rep's team.
    """
    reps = reps.drop_duplicates("rep_id")
    key = reps["team"].fillna(_MISSING).astype(str) + "\x1f" + reps["role"].fillna(_MISSING).astype(str)
    return pd.Series(key.to_numpy(), index=pd.Index(reps["rep_id"].astype(str), name="rep_id"), name="peer_group")


def _plural_role(role: Any) -> str:
    return "reps" if pd.isna(role) else f"{role}s"


def peer_table(reps: pd.DataFrame, active: Iterable[str] | None = None, *, min_peers: int = MIN_PEERS) -> pd.DataFrame:
    """Each rep's peer group, with the size rule.

    The peer group is the rep's team × role. When fewer than ``min_peers`` reps of that team and role
    are ``active`` (default: every rep of ``reps``), the group is the role across all teams instead
    (every active rep of that role, whatever their team), and says so. Returns a frame indexed by
    rep_id (the active reps) with ``team``, ``role``, ``peer_group`` (a key), ``peer_basis``
    (``"team × role"`` or ``"role across teams (team too small)"``), ``peer_label`` (e.g. "SMB SDRs",
    "SDRs across teams"), ``peers_n`` (active reps in the group, the rep included) and ``role_key``.
    The members of a group are :func:`peer_members`.
    """
    r = reps.drop_duplicates("rep_id").set_index("rep_id")
    ids = pd.Index(r.index.astype(str)) if active is None else pd.Index([str(x) for x in active])
    r = r.reindex(ids)
    team = r["team"] if "team" in r else pd.Series(np.nan, index=ids)
    role = r["role"] if "role" in r else pd.Series(np.nan, index=ids)
    tkey = team.fillna(_MISSING).astype(str) + "\x1f" + role.fillna(_MISSING).astype(str)
    size = tkey.map(tkey.value_counts())
    small = size < min_peers
    rkey = "*\x1f" + role.fillna(_MISSING).astype(str)
    key = tkey.where(~small, rkey)
    team_label = team.fillna("(no team)").astype(str) + " " + role.map(_plural_role)
    role_label = role.map(_plural_role) + " across teams"
    out = pd.DataFrame(
        {
            "team": team,
            "role": role,
            "peer_group": key,
            "peer_basis": np.where(small, "role across teams (team too small)", "team × role"),
            "peer_label": team_label.where(~small, role_label),
        },
        index=pd.Index(ids, name="rep_id"),
    )
    out["role_key"] = rkey
    team_n = out["peer_group"].map(out["peer_group"].value_counts())
    role_n = out["role_key"].map(out["role_key"].value_counts())
    out["peers_n"] = np.where(small, role_n, team_n).astype("int64")
    return out


def peer_members(peers: pd.DataFrame, key: str) -> pd.Index:
    """The rep ids of peer group ``key`` of :func:`peer_table`: the team × role, or every rep of the role."""
    if key.startswith("*\x1f"):
        return peers.index[peers["role_key"] == key]
    return peers.index[peers["peer_group"] == key]


def active_reps(data: Any, first: Any, last: Any, reps: Iterable[str] | None = None) -> list[str]:
    """The rep ids with at least one activity from ``first`` to ``last`` (whole days), sorted.

    A rep employed but with no activity at all in the window (a long leave, or not using the CRM) is
    not compared: there is nothing to coach on, and counting them would make peer groups look bigger.
    """
    a = data.activities
    hi = pd.Timestamp(last).normalize() + pd.Timedelta(days=1)
    m = (a["occurred_at"] >= pd.Timestamp(first).normalize()) & (a["occurred_at"] < hi)
    ids = pd.unique(a.loc[m.to_numpy(dtype=bool), "rep_id"].dropna().astype(str))
    if reps is not None:
        wanted = {str(r) for r in reps}
        ids = [r for r in ids if r in wanted]
    return sorted(ids)


def _days(x: Any) -> np.ndarray:
    if isinstance(x, pd.Timestamp | np.datetime64):
        return np.datetime64(pd.Timestamp(x).to_datetime64(), "D")
    return pd.to_datetime(x).to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")


def rep_week_panel(
    data: Any,
    first: Any,
    last: Any,
    kpis: Iterable[str],
    reps: Iterable[str] | None = None,
) -> pd.DataFrame:
    """The weekly KPI values of ``reps`` for the Monday-Sunday weeks from ``first`` to ``last``, one row per
    rep-week-KPI, only where the data and the rep's employment cover the week.

    Built from :func:`coachkit.kpi_table` (``freq="W"``). ``exposure`` = the working days of the week
    (playbook calendar, holidays excluded) that lie on or after the dataset's first activity day, on or
    before its last activity day, on or after the rep's ``hired_at`` and on or before their ``left_at``;
    ``full_exposure`` = the week's working days; ``partial`` = exposure < full_exposure. Weeks with no
    covered day at all are dropped (they are not zero weeks). Counts are compared per working day of
    exposure; rates use their own numerator and denominator. Columns :data:`PANEL_COLUMNS`.
    """
    pb: Playbook = data.playbook
    names = list(dict.fromkeys(kpis))
    acts = data.activities["occurred_at"]
    cols = {c: pd.Series(dtype="float64") for c in PANEL_COLUMNS}
    if acts.notna().sum() == 0:
        return pd.DataFrame(cols)
    d_first, d_last = _days(acts.min()), _days(acts.max())
    table = kpi_table(data, freq="W", start=first, end=last, kpis=names, reps=reps)
    table = table[(table["period_start"] >= pd.Timestamp(first).normalize()) & (table["period_start"] <= last)]
    keys = table[["rep_id", "period_start"]].drop_duplicates()
    r = data.reps.drop_duplicates("rep_id").set_index("rep_id")
    start = keys["period_start"].to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
    end = start + 7  # exclusive
    hired = _days(keys["rep_id"].map(r["hired_at"]))
    left = _days(keys["rep_id"].map(r["left_at"]))
    lo = np.maximum(start, d_first)
    lo = np.where(np.isnat(hired), lo, np.maximum(lo, hired))
    hi = np.minimum(end, d_last + 1)
    hi = np.where(np.isnat(left), hi, np.minimum(hi, left + 1))
    hol = np.array(pb.holidays, dtype="datetime64[D]")
    mask = pb.working_days_mask()
    full = np.busday_count(start, end, weekmask=mask, holidays=hol).astype("float64")
    cover = np.where(hi > lo, np.busday_count(lo, np.maximum(hi, lo), weekmask=mask, holidays=hol), 0)
    # a week whose covered days are all non-working (a weekend) still counts when covered at all
    covered = hi > lo
    ex = pd.DataFrame(
        {
            "rep_id": keys["rep_id"].to_numpy(),
            "period_start": keys["period_start"].to_numpy(),
            "exposure": cover.astype("float64"),
            "full_exposure": full,
            "_covered": covered,
        }
    )
    out = table.merge(ex, on=["rep_id", "period_start"], how="inner")
    out = out[out["_covered"].to_numpy(dtype=bool)].drop(columns=["_covered", "ci_low", "ci_high"])
    out["partial"] = out["exposure"] < out["full_exposure"]
    return out[list(PANEL_COLUMNS)].reset_index(drop=True)


def kpi_availability(data: Any, kpis: Iterable[str]) -> dict[str, str]:
    """KPI -> why the dataset cannot support it as a coaching focus ('' when it can).

    A KPI whose raw data the dataset does not have at all is never a focus area: with no outcomes
    logged, every rep's connect rate is 0% and comparing them says nothing. Checked on the whole
    dataset: calls / emails / meetings / follow_ups need activities of that type; connect_rate and
    outcome_logged_rate need call outcomes, conversations call or meeting outcomes; meeting_show_rate
    and meeting_held_rate need meeting outcomes; notes_coverage needs notes; follow_up_24h_rate needs conversations with
    an account_id and timestamps with a time of day (not dates only).
    """
    a = data.activities
    types = set(a["activity_type"].dropna().unique())
    logged = a["outcome"].notna()
    call_out = bool((logged & a["activity_type"].eq("call")).any())
    meet_out = bool((logged & a["activity_type"].eq("meeting")).any())
    ts = a["occurred_at"].dropna()
    date_only = len(ts) > 0 and bool((ts == ts.dt.normalize()).all())
    has_notes = bool(a["notes"].fillna("").str.strip().ne("").any())
    has_accounts = bool(a["account_id"].notna().any())
    out = {}
    for k in kpis:
        reason = ""
        need_type = {"calls": "call", "emails": "email", "meetings": "meeting", "follow_ups": "follow_up"}.get(k)
        if need_type and need_type not in types:
            reason = f"the data has no {need_type.replace('_', '-')} activities"
        elif k in ("connect_rate", "connect_rate_logged", "outcome_logged_rate") and not call_out:
            reason = "the data has no call outcomes logged"
        elif k == "conversations" and not (call_out or meet_out):
            reason = "the data has no call or meeting outcomes logged, so no conversations"
        elif k in ("meeting_show_rate", "meeting_held_rate") and not meet_out:
            reason = "the data has no meeting outcomes logged"
        elif k == "notes_coverage" and not has_notes:
            reason = "the data has no notes"
        elif k == "follow_up_24h_rate":
            if not (call_out or meet_out):
                reason = "the data has no outcomes logged, so no conversations"
            elif not has_accounts:
                reason = "the data has no account_id, so follow-ups cannot be matched"
            elif date_only:
                reason = "the timestamps have no time of day, so 24 hours cannot be measured"
        elif k not in registry:
            reason = "unknown KPI"
        out[k] = reason
    return out
