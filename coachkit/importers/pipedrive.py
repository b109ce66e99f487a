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
  ``org_id`` -> account_id, ``person_id`` -> contact_id. ``done`` 0 ("To do" in a
  UI export) is a planned activity, not effort: kept with ``done`` false, so that no
  KPI counts it, and counted in the report (a file without ``done``: every activity
  is taken as done). Outcome from ``done``: a done task or follow-up is completed,
  a done email sent, a done meeting held, a meeting not yet done scheduled; calls
  carry no outcome (Pipedrive has none).
- Deals: ``status`` won / lost / open (``deleted`` dropped); closed_at = won_time
  or lost_time (else close_time) for closed deals only; ``stage_id`` of open deals
  through ``stages.csv`` names and the mapping's ``[stages]``.
- Users: ``id``, ``name``, ``created`` -> hired_at; inactive users keep left_at empty.
  ``users.csv`` is optional: without it each owner id becomes a rep with unknown
  name (a warning says so).
- **UI exports** ("Export data" / list-view export): headers ``Activity - Subject``,
  ``Activity - Due date``, ``Activity - Done`` (Done / To do), ``Activity - Assigned
  to user`` (a user *name*), ``Deal - Owner``, ``Deal - Status`` (Open / Won /
  Lost), ``Deal - Value``, ``Deal - Currency of value``, ``Deal - Stage`` (a stage
  name) ... (:data:`UI_LABELS`). Owners are names: matched to ``users.csv`` ids when
  it is present, else each owner name is a rep (rep_id = name), with a warning;
  Pipedrive's UI has no user export with ids, so none is required. Times are wall
  time in the playbook timezone (as the user saw them). An activity's ``Deal``
  (the deal's title) is linked to the deal with that title in ``deals.csv`` when
  exactly one has it. ``Organization`` and ``Contact person`` names are the
  account and contact ids. Amounts follow the decimal rule of
  :mod:`coachkit.importers.numbers` (in a ``,``-delimited file ``12,500`` is 12500).
- Stage names of Pipedrive's default pipelines are built in (:data:`STAGES`).
- No stage history: Pipedrive's exports (API field dumps and the UI's "Export data") hold a
  deal's current stage and ``stage_change_time`` (its last change) only; the stage-change log
  is only in the API (a deal's "flow" / "changelog" endpoints). No ``deal_stages`` table is
  written, and the pipeline notebook says that stage-to-stage conversion cannot be known.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import schema
from ..playbook import Playbook
from .common import (
    CrmMapping,
    ExportError,
    ImportOptions,
    ImportReport,
    ImportResult,
    classify_activity,
    column,
    finish,
    html_to_text,
    normalise_stage,
    number_options,
    open_export,
    owners_by_name,
    parse_bools,
    parse_dates,
    parse_hms,
    parse_money,
    parse_timestamps,
    reps_from_names,
    require_columns,
)

__all__ = ["import_pipedrive", "map_pipedrive", "FILE_NAMES", "TYPES", "STAGES", "UI_LABELS"]

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

#: Stage names of Pipedrive's default pipelines -> default playbook stages (the mapping's [stages] wins).
STAGES: dict[str, str] = {
    "Lead In": "prospecting",
    "Qualified": "qualification",
    "Contact Made": "qualification",
    "Needs Defined": "discovery",
    "Demo Scheduled": "discovery",
    "Proposal Made": "proposal",
    "Negotiations Started": "negotiation",
}

_OWNER_NAME = "_owner_name"
#: UI-export headers (snake_case of "Activity - Subject" ...) -> the API field they hold, per file.
UI_LABELS: dict[str, dict[str, str]] = {
    "activities": {
        "activity_pipedrive_system_id": "id",
        "activity_id": "id",
        "activity_subject": "subject",
        "activity_type": "type",
        "activity_due_date": "due_date",
        "activity_due_time": "due_time",
        "activity_duration": "duration",
        "activity_done": "done",
        "activity_marked_as_done_time": "marked_as_done_time",
        "activity_assigned_to_user": _OWNER_NAME,
        "activity_owner": _OWNER_NAME,
        "activity_note": "note",
        "deal": "_deal_title",
        "activity_deal": "_deal_title",
        "organization": "org_id",
        "activity_organization": "org_id",
        "contact_person": "person_id",
        "activity_contact_person": "person_id",
    },
    "deals": {
        "deal_pipedrive_system_id": "id",
        "deal_id": "id",
        "deal_title": "title",
        "deal_value": "value",
        "deal_currency_of_value": "currency",
        "deal_currency": "currency",
        "deal_owner": _OWNER_NAME,
        "deal_stage": "_stage_name",
        "deal_status": "status",
        "deal_deal_created": "add_time",
        "deal_add_time": "add_time",
        "deal_created": "add_time",
        "deal_won_time": "won_time",
        "deal_lost_time": "lost_time",
        "deal_deal_closed_on": "close_time",
        "deal_close_time": "close_time",
        "organization": "org_id",
        "deal_organization": "org_id",
    },
}
_UTC = "UTC"
_DONE = {"Done": True, "To do": False, "Todo": False}


def import_pipedrive(
    src: str | Path,
    *,
    mapping: str | Path | CrmMapping | None = None,
    playbook: Playbook | str | Path | None = None,
    options: ImportOptions | Mapping[str, Any] | None = None,
) -> ImportResult:
    """Import a Pipedrive export folder, API fields or UI export (see the module docstring for the rules).

    ``options`` (encoding, delimiter, decimal, dayfirst, blanks) override the mapping's ``[options]``.
    """
    src = Path(src)
    mp, pb, report, frames = open_export(src, FILE_NAMES, mapping, playbook, options)
    if "activities" not in frames:
        raise ExportError(f"{FILE_NAMES['activities'][0]} is missing from the export folder", file=src)
    return map_pipedrive(frames, pb, mp, report)


def _ui(frame: pd.DataFrame, obj: str) -> tuple[pd.DataFrame, bool]:
    """A UI export's columns renamed to API fields, and whether the file is a UI export."""
    table = UI_LABELS[obj]
    ui = any(c.startswith(("activity_", "deal_")) and c in table for c in frame.columns) and "id" not in frame.columns
    if not ui:
        return frame, False
    rename: dict[str, str] = {}
    for label, field in table.items():
        if label in frame.columns and field not in frame.columns and field not in rename.values():
            rename[label] = field
    return frame.rename(columns=rename), True


def map_pipedrive(
    frames: dict[str, tuple[pd.DataFrame, str]],
    playbook: Playbook,
    mapping: CrmMapping,
    report: ImportReport,
) -> ImportResult:
    """Map already-read Pipedrive files (object -> (frame with snake_case headers, file name))."""
    users = _users(*frames["users"], playbook.timezone, report) if "users" in frames else None
    named: list[tuple[pd.Series, str]] = []
    ui: dict[str, bool] = {}
    for obj in ("activities", "deals"):
        if obj in frames:
            frame, file = frames[obj]
            frame, ui[obj] = _ui(frame, obj)
            frames = {**frames, obj: (frame, file)}
            if "user_id" not in frame.columns and _OWNER_NAME in frame.columns:
                named.append((frame[_OWNER_NAME], file))
    by_name = users
    if named and users is None:
        by_name = reps_from_names(pd.concat([n for n, _ in named]), report, source=", ".join(f for _, f in named))
    for obj in ("activities", "deals"):
        if obj in frames and "user_id" not in frames[obj][0].columns and _OWNER_NAME in frames[obj][0].columns:
            frame, file = frames[obj]
            ids = owners_by_name(frame[_OWNER_NAME], by_name, report, file=file, column="owner")
            frames = {**frames, obj: (frame.assign(user_id=ids), file)}
    deals = None
    if "deals" in frames:
        deals = _deals(*frames["deals"], frames.get("stages"), playbook, mapping, report, local=ui["deals"])
    titles = _titles(frames.get("deals"))
    acts = _activities(*frames["activities"], playbook, mapping, report, local=ui["activities"], titles=titles)
    if users is not None:
        reps, users_file = users, frames["users"][1]
    elif named:
        reps, users_file = by_name, "the owner names"
    else:
        reps, users_file = schema.empty("reps"), FILE_NAMES["users"][0]
        report.warn("users.csv is missing: every user_id becomes a rep with unknown name and team")
    return finish([acts], reps, deals, playbook, report, users_file=users_file)


def _titles(deals: tuple[pd.DataFrame, str] | None) -> dict[str, str]:
    """Deal title -> id for titles that exactly one deal has."""
    if deals is None or "title" not in deals[0].columns or "id" not in deals[0].columns:
        return {}
    d = deals[0][["title", "id"]].dropna()
    d = d[~d["title"].duplicated(keep=False)]
    return dict(zip(d["title"].str.strip(), d["id"].str.strip(), strict=True))


def _activities(
    a: pd.DataFrame,
    file: str,
    pb: Playbook,
    mp: CrmMapping,
    report: ImportReport,
    *,
    local: bool = False,
    titles: dict[str, str] | None = None,
) -> pd.DataFrame:
    require_columns(a, ["id", "user_id", "type"], file)
    if "due_date" not in a.columns and "marked_as_done_time" not in a.columns:
        raise ExportError("needs due_date (+ due_time) or marked_as_done_time", file=file, column="due_date")
    tz = pb.timezone
    zone = tz if local else _UTC
    day1 = mp.options.dayfirst
    due_date = column(a, "due_date").str.strip()
    due_time = column(a, "due_time").str.strip()
    has_time = due_date.notna() & due_time.notna() & (due_time.str.len() > 0)
    stamp = (due_date + " " + due_time).where(has_time)
    occurred = parse_timestamps(
        stamp, file=file, column="due_date + due_time", timezone=tz, assume=zone, dayfirst=day1, report=report
    )
    done_at = parse_timestamps(
        column(a, "marked_as_done_time"), file=file, column="marked_as_done_time", timezone=tz, assume=zone,
        dayfirst=day1, report=report,
    )  # fmt: skip
    all_day = parse_dates(due_date.where(~has_time), file=file, column="due_date", dayfirst=day1, report=report)
    occurred = occurred.fillna(done_at).fillna(all_day)
    owner = column(a, "user_id").str.strip()
    report.drop(file, "no due_date, due_time or marked_as_done_time", int(occurred.isna().sum()))
    report.drop(file, "no user_id", int((occurred.notna() & owner.isna()).sum()))
    keep = occurred.notna() & owner.notna()
    a, occurred, owner = a[keep], occurred[keep], owner[keep]

    raw_type = column(a, "type")
    kind, unknown = classify_activity(raw_type, column(a, "subject"), built_in=TYPES, custom=mp.activity_types)
    report.unmapped_values(file, "type", raw_type[unknown], applied="imported as task (the default type)")
    bad_type = ~kind.isin(pb.activity_types)
    if bad_type.any():
        raise ExportError(
            f"the mapping maps to activity type {kind[bad_type].iloc[0]!r}, which the playbook does not list "
            f"({', '.join(pb.activity_types)})",
            file=file,
            column="type",
            value=raw_type[bad_type].iloc[0],
        )
    flag = parse_bools(column(a, "done"), file=file, column="done", labels=_DONE)
    done, to_do = flag.eq(True).fillna(False).astype(bool), flag.eq(False).fillna(False).astype(bool)
    outcome = pd.Series(np.nan, index=a.index, dtype=schema.STRING)
    outcome[done & kind.isin(["task", "follow_up"])] = "completed"
    outcome[done & kind.eq("email")] = "sent"
    outcome[done & kind.eq("meeting")] = "held"
    outcome[to_do & kind.eq("meeting")] = "scheduled"
    if to_do.any():
        types = ", ".join(f"{k} x{n}" for k, n in kind[to_do].value_counts().items())
        report.to_do(file, f"activities not done (done 0 / To do: {types}): planned, not effort", int(to_do.sum()))
    deal = column(a, "deal_id")
    if "_deal_title" in a.columns:
        title = column(a, "_deal_title").str.strip()
        linked = title.map(titles or {}).astype(schema.STRING)
        report.change(file, "deal titles linked to their deal id", int(linked.notna().sum()))
        report.change(file, "deal titles not linked (no single deal in deals.csv has that title)",
                      int((title.notna() & linked.isna()).sum()))  # fmt: skip
        deal = deal.fillna(linked)
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
            "deal_id": deal,
            "done": pd.Series(False, index=a.index, dtype="boolean").where(to_do, pd.NA),
        }
    )


def _deals(
    d: pd.DataFrame,
    file: str,
    stages: tuple[pd.DataFrame, str] | None,
    pb: Playbook,
    mp: CrmMapping,
    report: ImportReport,
    *,
    local: bool = False,
) -> pd.DataFrame:
    require_columns(d, ["id", "user_id", "status", "add_time"], file)
    tz = pb.timezone
    zone = tz if local else _UTC
    day1 = mp.options.dayfirst
    status = column(d, "status").str.strip().str.lower()
    deleted = status.eq("deleted").fillna(False).astype(bool)
    report.drop(file, "status deleted", int(deleted.sum()))
    d, status = d[~deleted], status[~deleted]
    bad = status.notna() & ~status.isin(["won", "lost", "open"])
    if bad.any():
        row = int(bad[bad].index[0]) + 2
        raise ExportError(
            "status must be won, lost or open", file=file, column="status", row=row, value=status[bad].iloc[0]
        )
    created = parse_timestamps(
        d["add_time"], file=file, column="add_time", timezone=tz, assume=zone, dayfirst=day1, report=report
    )
    owner = column(d, "user_id").str.strip()
    report.drop(file, "no add_time", int(created.isna().sum()))
    report.drop(file, "no user_id", int((created.notna() & owner.isna()).sum()))
    keep = created.notna() & owner.notna()
    d, status, created, owner = d[keep], status[keep], created[keep], owner[keep]

    def ts(col: str) -> pd.Series:
        return parse_timestamps(
            column(d, col), file=file, column=col, timezone=tz, assume=zone, dayfirst=day1, report=report
        )

    won, lost = status.eq("won").fillna(False).astype(bool), status.eq("lost").fillna(False).astype(bool)
    closed_at = ts("won_time").where(won).fillna(ts("lost_time").where(lost)).fillna(ts("close_time").where(won | lost))
    stage_id = column(d, "stage_id").str.strip()
    label = column(d, "_stage_name").str.strip().fillna(stage_id)
    if stages is not None:
        s, sfile = stages
        require_columns(s, ["id", "name"], sfile)
        names = dict(zip(s["id"].astype(str).str.strip(), s["name"].astype(str), strict=True))
        label = stage_id.map(names).astype(schema.STRING).fillna(label)
    table = {**STAGES, **mp.stages}
    stage, unknown = normalise_stage(label, table, pb)
    by_id, _ = normalise_stage(stage_id, table, pb)
    stage = stage.fillna(by_id)
    won_stage = next((s.name for s in pb.stages if s.is_closed and s.is_won), None)
    lost_stage = next((s.name for s in pb.stages if s.is_closed and not s.is_won), None)
    stage[won] = won_stage
    stage[lost] = lost_stage
    what = "stage (open deals)" if "_stage_name" in d.columns else "stage_id (open deals)"
    report.unmapped_values(file, what, label[stage.isna() & label.notna()])
    is_closed = pd.Series(won | lost, dtype="boolean").where(status.notna(), pd.NA)
    is_won = pd.Series(won, dtype="boolean").where(won | lost, pd.NA)
    currency = column(d, "currency").str.strip().str.upper()
    return pd.DataFrame(
        {
            "deal_id": column(d, "id").str.strip(),
            "rep_id": owner,
            "account_id": column(d, "org_id"),
            "created_at": created,
            "closed_at": closed_at,
            "stage": stage,
            "amount": parse_money(column(d, "value"), file=file, column="value", **number_options(d, mp.options)),
            "is_won": is_won,
            "is_closed": is_closed,
            "currency": currency.where(currency.str.len() > 0),
        }
    )


def _users(u: pd.DataFrame, file: str, tz: str, report: ImportReport) -> pd.DataFrame:
    require_columns(u, ["id"], file)
    hired = parse_timestamps(column(u, "created"), file=file, column="created", timezone=tz, assume=_UTC, report=report)
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
