"""Pipedrive export -> canonical dataset.

``SRC`` holds ``activities.csv``, ``deals.csv`` and ``users.csv`` with API field
names (optional ``stages.csv`` with ``id,name``). Pipedrive stores times in UTC;
they are converted to the playbook timezone.

- Activities: ``user_id`` -> rep; ``type`` through the mapping's
  ``[activity_types]`` (custom types), then the built-in types (call, meeting,
  email, task, deadline -> task, lunch -> meeting), then "follow up" in the type
  or subject -> follow_up, else task (reported). occurred_at = ``due_date`` +
  ``due_time`` (UTC), else ``marked_as_done_time``, else the all-day ``due_date``.
  ``duration`` "HH:MM" or "HH:MM:SS". ``note`` HTML -> text. ``deal_id``,
  ``org_id`` -> account_id, ``person_id`` -> contact_id. Outcome from ``done``:
  a done task or follow-up is completed, a done email sent, a done meeting held,
  a meeting not yet done scheduled; calls carry no outcome (Pipedrive has none).
- Deals: ``status`` won / lost / open (``deleted`` dropped); closed_at = won_time
  or lost_time (else close_time) for closed deals only; ``stage_id`` of open deals
  through ``stages.csv`` names and the mapping's ``[stages]``.
- Users: ``id``, ``name``, ``created`` -> hired_at; inactive users keep left_at empty.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .. import schema
from ..playbook import Playbook
from .common import (
    CrmMapping,
    ExportError,
    ImportReport,
    ImportResult,
    classify_activity,
    column,
    finish,
    html_to_text,
    normalise_stage,
    open_export,
    parse_bools,
    parse_dates,
    parse_hms,
    parse_money,
    parse_timestamps,
    require_columns,
)

__all__ = ["import_pipedrive", "map_pipedrive", "FILE_NAMES", "TYPES"]

FILE_NAMES: dict[str, list[str]] = {
    "activities": ["activities.csv"],
    "deals": ["deals.csv"],
    "users": ["users.csv"],
    "stages": ["stages.csv"],
}

#: Pipedrive's default activity types -> canonical types.
TYPES: dict[str, str] = {
    "call": "call",
    "meeting": "meeting",
    "email": "email",
    "task": "task",
    "deadline": "task",
    "lunch": "meeting",
}
_UTC = "UTC"


def import_pipedrive(
    src: str | Path,
    *,
    mapping: str | Path | CrmMapping | None = None,
    playbook: Playbook | str | Path | None = None,
) -> ImportResult:
    """Import a Pipedrive export folder (see the module docstring for the rules)."""
    src = Path(src)
    mp, pb, report, frames = open_export(src, FILE_NAMES, mapping, playbook)
    for required in ("activities", "users"):
        if required not in frames:
            raise ExportError(f"{FILE_NAMES[required][0]} is missing from the export folder", file=src)
    return map_pipedrive(frames, pb, mp, report)


def map_pipedrive(
    frames: dict[str, tuple[pd.DataFrame, str]],
    playbook: Playbook,
    mapping: CrmMapping,
    report: ImportReport,
) -> ImportResult:
    """Map already-read Pipedrive files (object -> (frame with snake_case headers, file name))."""
    acts = _activities(*frames["activities"], playbook, mapping, report)
    deals = _deals(*frames["deals"], frames.get("stages"), playbook, mapping, report) if "deals" in frames else None
    reps = _users(*frames["users"], playbook.timezone, report)
    return finish([acts], reps, deals, playbook, report, users_file=frames["users"][1])


def _activities(a: pd.DataFrame, file: str, pb: Playbook, mp: CrmMapping, report: ImportReport) -> pd.DataFrame:
    require_columns(a, ["id", "user_id", "type"], file)
    if "due_date" not in a.columns and "marked_as_done_time" not in a.columns:
        raise ExportError("needs due_date (+ due_time) or marked_as_done_time", file=file, column="due_date")
    tz = pb.timezone
    due_date = column(a, "due_date").str.strip()
    due_time = column(a, "due_time").str.strip()
    has_time = due_date.notna() & due_time.notna() & (due_time.str.len() > 0)
    stamp = (due_date + " " + due_time).where(has_time)
    occurred = parse_timestamps(stamp, file=file, column="due_date + due_time", timezone=tz, assume=_UTC)
    done_at = parse_timestamps(
        column(a, "marked_as_done_time"), file=file, column="marked_as_done_time", timezone=tz, assume=_UTC
    )
    all_day = parse_dates(due_date.where(~has_time), file=file, column="due_date")
    occurred = occurred.fillna(done_at).fillna(all_day)
    owner = column(a, "user_id").str.strip()
    report.drop(file, "no due_date, due_time or marked_as_done_time", int(occurred.isna().sum()))
    report.drop(file, "no user_id", int((occurred.notna() & owner.isna()).sum()))
    keep = occurred.notna() & owner.notna()
    a, occurred, owner = a[keep], occurred[keep], owner[keep]

    raw_type = column(a, "type")
    kind, unknown = classify_activity(raw_type, column(a, "subject"), built_in=TYPES, custom=mp.activity_types)
    report.unmapped_values(file, "type (imported as task)", raw_type[unknown])
    bad_type = ~kind.isin(pb.activity_types)
    if bad_type.any():
        raise ExportError(
            f"the mapping maps to activity type {kind[bad_type].iloc[0]!r}, which the playbook does not list "
            f"({', '.join(pb.activity_types)})",
            file=file,
            column="type",
            value=raw_type[bad_type].iloc[0],
        )
    done = parse_bools(column(a, "done"), file=file, column="done").fillna(False).astype(bool)
    outcome = pd.Series(np.nan, index=a.index, dtype=schema.STRING)
    outcome[done & kind.isin(["task", "follow_up"])] = "completed"
    outcome[done & kind.eq("email")] = "sent"
    outcome[done & kind.eq("meeting")] = "held"
    outcome[~done & kind.eq("meeting")] = "scheduled"
    return pd.DataFrame(
        {
            "activity_id": column(a, "id").str.strip(),
            "rep_id": owner,
            "activity_type": kind,
            "occurred_at": occurred,
            "duration_s": parse_hms(column(a, "duration"), file=file, column="duration"),
            "outcome": outcome,
            "notes": html_to_text(column(a, "note")),
            "account_id": column(a, "org_id"),
            "contact_id": column(a, "person_id"),
            "deal_id": column(a, "deal_id"),
        }
    )


def _deals(
    d: pd.DataFrame,
    file: str,
    stages: tuple[pd.DataFrame, str] | None,
    pb: Playbook,
    mp: CrmMapping,
    report: ImportReport,
) -> pd.DataFrame:
    require_columns(d, ["id", "user_id", "status", "add_time"], file)
    tz = pb.timezone
    status = column(d, "status").str.strip().str.lower()
    deleted = status.eq("deleted").fillna(False).astype(bool)
    report.drop(file, "status deleted", int(deleted.sum()))
    d, status = d[~deleted], status[~deleted]
    bad = status.notna() & ~status.isin(["won", "lost", "open"])
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0]) + 2
        raise ExportError(
            "status must be won, lost or open", file=file, column="status", row=row, value=status[bad].iloc[0]
        )
    created = parse_timestamps(d["add_time"], file=file, column="add_time", timezone=tz, assume=_UTC)
    owner = column(d, "user_id").str.strip()
    report.drop(file, "no add_time", int(created.isna().sum()))
    report.drop(file, "no user_id", int((created.notna() & owner.isna()).sum()))
    keep = created.notna() & owner.notna()
    d, status, created, owner = d[keep], status[keep], created[keep], owner[keep]

    def ts(col: str) -> pd.Series:
        return parse_timestamps(column(d, col), file=file, column=col, timezone=tz, assume=_UTC)

    won, lost = status.eq("won").fillna(False).astype(bool), status.eq("lost").fillna(False).astype(bool)
    closed_at = ts("won_time").where(won).fillna(ts("lost_time").where(lost)).fillna(ts("close_time").where(won | lost))
    stage_id = column(d, "stage_id").str.strip()
    label = stage_id
    if stages is not None:
        s, sfile = stages
        require_columns(s, ["id", "name"], sfile)
        names = dict(zip(s["id"].astype(str).str.strip(), s["name"].astype(str), strict=True))
        label = stage_id.map(names).astype(schema.STRING).fillna(stage_id)
    stage, unknown = normalise_stage(label, mp.stages, pb)
    by_id, _ = normalise_stage(stage_id, mp.stages, pb)
    stage = stage.fillna(by_id)
    won_stage = next((s.name for s in pb.stages if s.is_closed and s.is_won), None)
    lost_stage = next((s.name for s in pb.stages if s.is_closed and not s.is_won), None)
    stage[won] = won_stage
    stage[lost] = lost_stage
    report.unmapped_values(file, "stage_id (open deals)", label[stage.isna() & label.notna()])
    is_closed = pd.Series(won | lost, dtype="boolean").where(status.notna(), pd.NA)
    is_won = pd.Series(won, dtype="boolean").where(won | lost, pd.NA)
    return pd.DataFrame(
        {
            "deal_id": column(d, "id").str.strip(),
            "rep_id": owner,
            "account_id": column(d, "org_id"),
            "created_at": created,
            "closed_at": closed_at,
            "stage": stage,
            "amount": parse_money(column(d, "value"), file=file, column="value"),
            "is_won": is_won,
            "is_closed": is_closed,
        }
    )


def _users(u: pd.DataFrame, file: str, tz: str, report: ImportReport) -> pd.DataFrame:
    require_columns(u, ["id"], file)
    hired = parse_timestamps(column(u, "created"), file=file, column="created", timezone=tz, assume=_UTC)
    if "active_flag" in u.columns:
        inactive = int(
            (~parse_bools(u["active_flag"], file=file, column="active_flag").fillna(True).astype(bool)).sum()
        )
        if inactive:
            report.warn(f"{inactive} inactive user(s) in {file} have no known leave date; left_at left empty")
    return pd.DataFrame(
        {
            "rep_id": column(u, "id").str.strip(),
            "name": column(u, "name").fillna(column(u, "email")),
            "hired_at": hired.dt.normalize(),
        }
    )
