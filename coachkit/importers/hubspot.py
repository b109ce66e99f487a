"""HubSpot export -> canonical dataset.

``SRC`` holds any subset of ``calls.csv``, ``meetings.csv``, ``emails.csv``,
``notes.csv``, ``tasks.csv``, ``deals.csv`` and ``owners.csv``, with HubSpot's
internal property names as headers (plus ``hs_object_id``). Optional:
``dispositions.csv`` (``id,label``, as ``GET /calling/v1/dispositions`` returns)
and ``stages.csv`` (``id,label`` of deal stages, as the pipelines API returns).

- Association columns: ``associated_company_ids`` / ``associated_deal_ids`` /
  ``associated_contact_ids`` or HubSpot's export names (``Associated Company IDs``
  ...); of several ``;``-separated ids the first is taken.
- Times: ``hs_timestamp`` is epoch milliseconds or ISO 8601 (UTC), converted to
  the playbook timezone.
- Calls: ``hs_call_duration`` is milliseconds; ``hs_call_disposition`` GUIDs are
  labelled through ``dispositions.csv`` when present, else through HubSpot's
  default outcome GUIDs (:data:`DEFAULT_DISPOSITIONS`); labels then map to
  canonical outcomes. Without a disposition, ``hs_call_status`` NO_ANSWER/BUSY
  give no_answer/busy. ``hs_call_body`` (HTML) -> notes.
- Meetings: ``hs_meeting_outcome`` COMPLETED -> held, NO_SHOW -> no_show,
  RESCHEDULED, CANCELED, SCHEDULED; start/end times give occurred_at and duration.
- Emails: ``hs_email_direction`` EMAIL/FORWARDED_EMAIL -> outbound,
  INCOMING_EMAIL -> inbound (outcome replied); ``hs_email_status`` SENT -> sent,
  BOUNCED -> bounced.
- Notes: ``hs_note_body`` HTML -> text.
- Tasks: follow_up when ``hs_task_subject``/``hs_task_type`` say "follow up",
  else task; COMPLETED -> completed; occurred_at is the completion date when
  known, else ``hs_timestamp`` (the due date). A task whose ``hs_task_status`` is
  there and not COMPLETED (NOT_STARTED, IN_PROGRESS, WAITING, DEFERRED) is a to-do,
  not effort: kept with ``done`` false, so that no KPI counts it, and counted in the
  report (a task with no status is taken as done).
- Deals: ``dealstage`` closedwon/closedlost (or labels through ``stages.csv`` and
  the mapping's ``[stages]``); ``hs_is_closed`` / ``hs_is_closed_won`` win when
  present; closed_at = ``closedate`` only for closed deals.
- Stage history (the optional ``deal_stages`` table): deals' "date entered" properties,
  ``hs_v2_date_entered_<stage id>`` or ``hs_date_entered_<stage id>`` (API and warehouse
  dumps; e.g. ``hs_date_entered_appointmentscheduled``, ``hs_date_entered_4018240`` for a
  custom stage, labelled through ``stages.csv``), or a UI export's ``Date entered
  "<stage label> (<pipeline>)"`` columns: one row per deal and stage with a date. HubSpot
  keeps only the latest entry into each stage, so a deal that went back and forth shows
  each stage once. Rules of :mod:`coachkit.importers.stage_history`.
- Owners: ``id``, ``firstName``, ``lastName``, ``email``, ``createdAt`` (-> hired_at),
  ``archived`` and ``teams`` (first team -> team).
- ``archived`` true (API and warehouse dumps keep deleted records) drops the row
  from every engagement and deal file, counted in the report.
- **UI exports** (the index pages' Export button) name columns by property
  *label*: ``Record ID``, ``Activity date``, ``Activity assigned to`` (an owner
  *name*), ``Call outcome`` (a label, not a GUID), ``Call notes``, ``Meeting
  outcome``, ``Task title``, ``Due date``, ``Task status``, ``Assigned to``,
  ``Completion date``, ``Deal owner``, ``Deal stage``, ``Create date``, ``Close
  date`` ... (:data:`UI_LABELS`). They are read as the internal names. Owner
  names are matched to ids through ``owners.csv`` when present; without it each
  owner name becomes a rep (rep_id = name), with a warning. Times without an
  offset are wall time in the playbook timezone (what the user saw).
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
    CALL_LABELS,
    CrmMapping,
    ExportError,
    ImportOptions,
    ImportReport,
    ImportResult,
    column,
    drop_flagged,
    finish,
    first_id,
    first_present,
    html_to_text,
    is_follow_up,
    label_key,
    map_labels,
    map_outcomes,
    normalise_stage,
    number_options,
    open_export,
    owners_by_name,
    parse_bools,
    parse_hms,
    parse_money,
    parse_numbers,
    parse_timestamps,
    reps_from_names,
    require_columns,
)
from .stage_history import stage_history

__all__ = ["import_hubspot", "map_hubspot", "DEFAULT_DISPOSITIONS", "FILE_NAMES", "STAGES", "UI_LABELS"]

FILE_NAMES: dict[str, list[str]] = {
    "calls": ["calls.csv"],
    "meetings": ["meetings.csv"],
    "emails": ["emails.csv"],
    "notes": ["notes.csv"],
    "tasks": ["tasks.csv"],
    "deals": ["deals.csv"],
    "owners": ["owners.csv"],
    "dispositions": ["dispositions.csv"],
    "stages": ["stages.csv"],
}

#: HubSpot's default call-outcome GUIDs (``hs_call_disposition``) -> label.
#: Source: HubSpot developer docs, "Calls" engagement API, property
#: ``hs_call_disposition`` ("The default HubSpot outcome labels and their internal
#: values"), https://developers.hubspot.com/docs/guides/api/crm/engagements/calls
#: (checked 2026 via the docs search; the stored copy of that page names the list
#: but its table cell was not captured, so the values were cross-checked against
#: two independent public integrations that agree with each other; several other
#: public repositories mislabel them, e.g. 9d9162e7 as "Connected" or a4c4c377 as
#: "Meeting scheduled"). Portals with custom outcomes must ship ``dispositions.csv``.
DEFAULT_DISPOSITIONS: dict[str, str] = {
    "9d9162e7-6cf3-4944-bf63-4dff82258764": "Busy",
    "f240bbac-87c9-4f6e-bf70-924b57d47db7": "Connected",
    "a4c4c377-d246-4b32-a13b-75a56a4cd0ff": "Left live message",
    "b2cf5968-551e-4856-9783-52b3da59a7d0": "Left voicemail",
    "73a0d17f-1163-4015-bdd5-ec830791da20": "No answer",
    "17b47fee-58de-441e-a44c-c6300d46f273": "Wrong number",
}

#: HubSpot's default sales pipeline stage ids (and labels) -> default playbook stages.
STAGES: dict[str, str] = {
    "appointmentscheduled": "prospecting",
    "qualifiedtobuy": "qualification",
    "presentationscheduled": "discovery",
    "decisionmakerboughtin": "proposal",
    "contractsent": "negotiation",
    "closedwon": "closed_won",
    "closedlost": "closed_lost",
}

_MEETING_OUTCOMES = {
    "COMPLETED": "held",
    "NO_SHOW": "no_show",
    "RESCHEDULED": "rescheduled",
    "CANCELED": "canceled",
    "CANCELLED": "canceled",
    "SCHEDULED": "scheduled",
}
_EMAIL_DIRECTIONS = {"EMAIL": "outbound", "FORWARDED_EMAIL": "outbound", "INCOMING_EMAIL": "inbound"}
_EMAIL_STATUS = {"SENT": "sent", "BOUNCED": "bounced"}
_CALL_STATUS = {"NO_ANSWER": "no_answer", "BUSY": "busy"}
_ASSOC = {
    "account_id": ["associated_company_ids", "associated_company_id", "associated_companies", "company_ids"],
    "contact_id": ["associated_contact_ids", "associated_contact_id", "associated_contacts", "contact_ids"],
    "deal_id": ["associated_deal_ids", "associated_deal_id", "associated_deals", "deal_ids"],
}
_OWNER = "hubspot_owner_id"
_OWNER_NAME = "_owner_name"

#: UI-export column labels (as snake_case) -> the internal property they hold, per file.
#: ``_owner_name`` is an owner's name (matched to owners.csv, or made a rep); ``_call_outcome`` a label.
UI_LABELS: dict[str, dict[str, str]] = {
    "*": {
        "record_id": "hs_object_id",
        "activity_date": "hs_timestamp",
        "activity_assigned_to": _OWNER_NAME,
        "assigned_to": _OWNER_NAME,
        "activity_owner": _OWNER_NAME,
        "hub_spot_owner": _OWNER_NAME,
        "hubspot_owner": _OWNER_NAME,
        "create_date": "hs_createdate",
        "created_at": "hs_createdate",
    },
    "calls": {
        "call_title": "hs_call_title",
        "call_outcome": "_call_outcome",
        "call_direction": "hs_call_direction",
        "call_notes": "hs_call_body",
        "call_duration": "_call_duration",
        "call_status": "hs_call_status",
    },
    "meetings": {
        "meeting_name": "hs_meeting_title",
        "meeting_title": "hs_meeting_title",
        "meeting_outcome": "hs_meeting_outcome",
        "meeting_start_time": "hs_meeting_start_time",
        "meeting_end_time": "hs_meeting_end_time",
        "meeting_description": "hs_meeting_body",
        "meeting_notes": "hs_meeting_body",
        "internal_meeting_notes": "hs_meeting_body",
    },
    "emails": {
        "email_subject": "hs_email_subject",
        "email_body": "hs_email_text",
        "email_direction": "hs_email_direction",
        "email_send_status": "hs_email_status",
        "email_status": "hs_email_status",
    },
    "notes": {"note_body": "hs_note_body", "note": "hs_note_body"},
    "tasks": {
        "task_title": "hs_task_subject",
        "task_body": "hs_task_body",
        "task_notes": "hs_task_body",
        "notes": "hs_task_body",
        "due_date": "hs_timestamp",
        "task_status": "hs_task_status",
        "task_type": "hs_task_type",
        "completion_date": "hs_task_completion_date",
        "completed_at": "hs_task_completion_date",
    },
    "deals": {
        "deal_owner": _OWNER_NAME,
        "deal_name": "dealname",
        "deal_stage": "dealstage",
        "create_date": "createdate",
        "close_date": "closedate",
        "amount": "amount",
        "currency": "deal_currency_code",
        "is_closed": "hs_is_closed",
        "is_closed_won": "hs_is_closed_won",
    },
}


def import_hubspot(
    src: str | Path,
    *,
    mapping: str | Path | CrmMapping | None = None,
    playbook: Playbook | str | Path | None = None,
    options: ImportOptions | Mapping[str, Any] | None = None,
) -> ImportResult:
    """Import a HubSpot export folder, API or UI export (see the module docstring for the rules).

    ``options`` (encoding, delimiter, decimal, dayfirst, blanks) override the mapping's ``[options]``.
    """
    src = Path(src)
    mp, pb, report, frames = open_export(src, FILE_NAMES, mapping, playbook, options)
    if not any(k in frames for k in ("calls", "meetings", "emails", "notes", "tasks")):
        raise ExportError(
            "no activity file found; expected calls.csv, meetings.csv, emails.csv, notes.csv and/or tasks.csv",
            file=src,
        )
    return map_hubspot(frames, pb, mp, report)


def _from_labels(frame: pd.DataFrame, obj: str) -> pd.DataFrame:
    """A UI export's label columns renamed to the internal names they hold (internal names win)."""
    table = {**UI_LABELS["*"], **UI_LABELS.get(obj, {})}
    if obj == "deals":
        table.pop("create_date", None)
        table["create_date"] = "createdate"
    rename = {}
    for label, internal in table.items():
        if label in frame.columns and internal not in frame.columns and internal not in rename.values():
            rename[label] = internal
    return frame.rename(columns=rename) if rename else frame


def map_hubspot(
    frames: dict[str, tuple[pd.DataFrame, str]],
    playbook: Playbook,
    mapping: CrmMapping,
    report: ImportReport,
) -> ImportResult:
    """Map already-read HubSpot files (object -> (frame with snake_case headers, file name))."""
    labels = dict(DEFAULT_DISPOSITIONS)
    if "dispositions" in frames:
        d, dfile = frames["dispositions"]
        require_columns(d, ["id", "label"], dfile)
        # the portal's own list wins over the defaults
        labels = dict(zip(d["id"].astype(str).str.strip(), d["label"].astype(str), strict=True))
    owners = _owners(*frames["owners"], playbook.timezone, report) if "owners" in frames else None
    named: list[tuple[pd.Series, str]] = []
    for obj in ("calls", "meetings", "emails", "notes", "tasks", "deals"):
        if obj in frames:
            frame, file = frames[obj]
            frame = drop_flagged(_from_labels(frame, obj), file, "archived", "archived: deleted in HubSpot", report)
            frames = {**frames, obj: (frame, file)}
            if _OWNER not in frame.columns and _OWNER_NAME in frame.columns:
                named.append((frame[_OWNER_NAME], file))
    by_name = owners
    if named and owners is None:
        by_name = reps_from_names(pd.concat([n for n, _ in named]), report, source=", ".join(f for _, f in named))
    for obj in ("calls", "meetings", "emails", "notes", "tasks", "deals"):
        if obj in frames and _OWNER not in frames[obj][0].columns and _OWNER_NAME in frames[obj][0].columns:
            frame, file = frames[obj]
            ids = owners_by_name(frame[_OWNER_NAME], by_name, report, file=file, column="owner name")
            frames = {**frames, obj: (frame.assign(**{_OWNER: ids}), file)}
    builders = {"calls": _calls, "meetings": _meetings, "emails": _emails, "notes": _notes, "tasks": _tasks}
    acts = []
    for obj, build in builders.items():
        if obj in frames:
            frame, file = frames[obj]
            base = _engagement(frame, file, playbook.timezone, report, time_cols=_TIME_COLS[obj], mp=mapping)
            acts.append(build(base, frame.loc[base.index], file, playbook, mapping, report, labels))
    deals = _deals(*frames["deals"], frames.get("stages"), playbook, mapping, report) if "deals" in frames else None
    history = None
    if deals is not None:
        history = _date_entered(*frames["deals"], frames.get("stages"), playbook, mapping, report, deals["deal_id"])
    if owners is not None:
        reps = owners
        users_file = frames["owners"][1]
    elif named:
        reps, users_file = by_name, "the owner names"
    else:
        reps = schema.empty("reps")
        users_file = FILE_NAMES["owners"][0]
        report.warn("owners.csv is missing: every owner becomes a rep with unknown name and team")
    return finish(acts, reps, deals, playbook, report, users_file=users_file, deal_stages=history)


_TIME_COLS = {
    "calls": ["hs_timestamp", "hs_createdate"],
    "meetings": ["hs_meeting_start_time", "hs_timestamp"],
    "emails": ["hs_timestamp", "hs_createdate"],
    "notes": ["hs_timestamp", "hs_createdate"],
    "tasks": ["hs_task_completion_date", "hs_timestamp"],
}


def _engagement(
    frame: pd.DataFrame, file: str, tz: str, report: ImportReport, *, time_cols: list[str], mp: CrmMapping
) -> pd.DataFrame:
    """Columns every engagement shares: id, owner, time and associations; rows without owner or time dropped."""
    require_columns(frame, ["hs_object_id", _OWNER], file)
    if first_present(frame, time_cols) is None:
        raise ExportError(f"needs one of the columns {', '.join(time_cols)}", file=file, column=time_cols[0])
    occurred = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")
    for c in time_cols:
        if c in frame.columns:
            occurred = occurred.fillna(
                parse_timestamps(
                    frame[c], file=file, column=c, timezone=tz, dayfirst=mp.options.dayfirst, report=report
                )
            )
    owner = column(frame, _OWNER).str.strip()
    report.drop(file, f"no {' or '.join(time_cols)}", int(occurred.isna().sum()))
    report.drop(file, f"no {_OWNER}", int((occurred.notna() & owner.isna()).sum()))
    keep = occurred.notna() & owner.notna()
    out = pd.DataFrame(
        {
            "activity_id": column(frame, "hs_object_id").str.strip(),
            "rep_id": owner,
            "occurred_at": occurred,
        }
    )
    for target, names in _ASSOC.items():
        out[target] = first_id(column(frame, first_present(frame, names)))
    return out[keep]


def _calls(base, f, file, pb, mp, report, labels) -> pd.DataFrame:
    base = base.assign(activity_type="call")
    guid = column(f, "hs_call_disposition").str.strip()
    label = guid.map(labels).astype(schema.STRING)
    report.unmapped_values(file, "hs_call_disposition (GUID not in dispositions)", guid[guid.notna() & label.isna()])
    label = label.fillna(column(f, "_call_outcome").str.strip())  # a UI export's "Call outcome" label
    outcome = map_outcomes(
        label,
        base["activity_type"],
        {**CALL_LABELS, **mp.outcomes},
        pb,
        report,
        file=file,
        column="hs_call_disposition",
    )
    outcome = outcome.fillna(map_labels(column(f, "hs_call_status").where(guid.isna()), _CALL_STATUS))
    direction = column(f, "hs_call_direction").str.lower().str.strip()
    return base.assign(
        duration_s=_call_duration(f, file, mp),
        direction=direction.where(direction.isin(schema.DIRECTIONS)),
        outcome=outcome,
        notes=html_to_text(column(f, "hs_call_body")),
    )


def _call_duration(f: pd.DataFrame, file: str, mp: CrmMapping) -> pd.Series:
    """hs_call_duration in milliseconds; a UI export's "Call duration" as HH:MM:SS, or milliseconds."""
    if "hs_call_duration" in f.columns or "_call_duration" not in f.columns:
        ms = column(f, "hs_call_duration")
        return parse_numbers(ms, file=file, column="hs_call_duration", scale=0.001, **number_options(f, mp.options))
    raw = column(f, "_call_duration")
    clock = raw.str.contains(":", regex=False).fillna(False).astype(bool)
    out = parse_numbers(
        raw.where(~clock), file=file, column="Call duration", scale=0.001, **number_options(f, mp.options)
    )
    return out.fillna(parse_hms(raw.where(clock), file=file, column="Call duration"))


def _meetings(base, f, file, pb, mp, report, labels) -> pd.DataFrame:
    base = base.assign(activity_type="meeting")
    tz = pb.timezone
    day1 = mp.options.dayfirst
    start = parse_timestamps(
        column(f, "hs_meeting_start_time"),
        file=file,
        column="hs_meeting_start_time",
        timezone=tz,
        dayfirst=day1,
        report=report,
    )
    end = parse_timestamps(
        column(f, "hs_meeting_end_time"),
        file=file,
        column="hs_meeting_end_time",
        timezone=tz,
        dayfirst=day1,
        report=report,
    )
    duration = (end - start).dt.total_seconds()
    raw = column(f, "hs_meeting_outcome")
    outcome = map_outcomes(
        raw,
        base["activity_type"],
        {**_MEETING_OUTCOMES, **mp.outcomes},
        pb,
        report,
        file=file,
        column="hs_meeting_outcome",
    )
    return base.assign(
        duration_s=duration.where(duration >= 0),
        outcome=outcome,
        notes=html_to_text(column(f, "hs_meeting_body")),
    )


def _emails(base, f, file, pb, mp, report, labels) -> pd.DataFrame:
    base = base.assign(activity_type="email")
    raw_dir = column(f, "hs_email_direction")
    direction = map_labels(raw_dir, _EMAIL_DIRECTIONS)
    report.unmapped_values(file, "hs_email_direction", raw_dir[raw_dir.notna() & direction.isna()])
    status = column(f, "hs_email_status")
    outcome = map_labels(status, {**_EMAIL_STATUS, **mp.outcomes})
    report.unmapped_values(file, "hs_email_status", status[status.notna() & outcome.isna()])
    inbound = direction.eq("inbound").fillna(False).astype(bool)
    outcome = outcome.where(~inbound | outcome.eq("bounced").fillna(False).astype(bool), "replied")
    body = column(f, "hs_email_text").fillna(html_to_text(column(f, "hs_email_html")))
    return base.assign(direction=direction, outcome=outcome, notes=_blank_to_na(body))


def _notes(base, f, file, pb, mp, report, labels) -> pd.DataFrame:
    return base.assign(activity_type="note", notes=html_to_text(column(f, "hs_note_body")))


def _tasks(base, f, file, pb, mp, report, labels) -> pd.DataFrame:
    type_ = column(f, "hs_task_type")
    kind = (
        map_labels(type_, mp.activity_types)
        if mp.activity_types
        else pd.Series(np.nan, index=f.index, dtype=schema.STRING)
    )
    fu = is_follow_up(column(f, "hs_task_subject")) | is_follow_up(type_)
    kind[kind.isna() & fu] = "follow_up"
    kind = kind.fillna("task")
    status = column(f, "hs_task_status").str.strip()
    key = status.str.upper().str.replace(r"[\s-]+", "_", regex=True)  # a UI export writes "Not started"
    done = key.eq("COMPLETED").fillna(False).astype(bool)
    to_do = status.notna() & ~done
    outcome = pd.Series(np.nan, index=f.index, dtype=schema.STRING)
    outcome[done & kind.isin(["task", "follow_up"])] = "completed"
    if to_do.any():
        shown = ", ".join(f"{k} x{n}" for k, n in status[to_do].value_counts().items())
        report.to_do(file, f"tasks not completed ({shown}): open to-dos, not effort", int(to_do.sum()))
    return base.assign(
        activity_type=kind,
        outcome=outcome,
        notes=html_to_text(column(f, "hs_task_body")),
        done=pd.Series(False, index=f.index, dtype="boolean").where(to_do, pd.NA),
    )


def _blank_to_na(s: pd.Series) -> pd.Series:
    s = s.astype(schema.STRING).str.strip()
    return s.where(s.str.len() > 0)


def _deals(
    d: pd.DataFrame,
    file: str,
    stages: tuple[pd.DataFrame, str] | None,
    pb: Playbook,
    mp: CrmMapping,
    report: ImportReport,
) -> pd.DataFrame:
    require_columns(d, ["hs_object_id", _OWNER, "createdate"], file)
    day1 = mp.options.dayfirst
    created = parse_timestamps(
        d["createdate"], file=file, column="createdate", timezone=pb.timezone, dayfirst=day1, report=report
    )
    owner = column(d, _OWNER).str.strip()
    report.drop(file, "no createdate", int(created.isna().sum()))
    report.drop(file, f"no {_OWNER}", int((created.notna() & owner.isna()).sum()))
    keep = created.notna() & owner.notna()
    d, created, owner = d[keep], created[keep], owner[keep]
    raw = column(d, "dealstage").str.strip()
    label = raw
    if stages is not None:
        s, sfile = stages
        require_columns(s, ["id", "label"], sfile)
        label = (
            raw.map(dict(zip(s["id"].astype(str), s["label"].astype(str), strict=True)))
            .astype(schema.STRING)
            .fillna(raw)
        )
    table = {**STAGES, **mp.stages}
    stage, unknown = normalise_stage(label, table, pb)
    by_id, _ = normalise_stage(raw, table, pb)
    stage = stage.fillna(by_id)
    unknown = raw.notna() & stage.isna()
    report.unmapped_values(file, "dealstage", label[unknown])
    closed_names = {s.name for s in pb.stages if s.is_closed}
    won_names = {s.name for s in pb.stages if s.is_won}
    is_closed = pd.Series(stage.isin(closed_names), dtype="boolean").where(stage.notna(), pd.NA)
    is_won = pd.Series(stage.isin(won_names), dtype="boolean").where(stage.notna(), pd.NA)
    if "hs_is_closed" in d.columns:
        is_closed = parse_bools(d["hs_is_closed"], file=file, column="hs_is_closed").fillna(is_closed)
    if "hs_is_closed_won" in d.columns:
        is_won = parse_bools(d["hs_is_closed_won"], file=file, column="hs_is_closed_won").fillna(is_won)
    closed = is_closed.fillna(False).astype(bool)
    close = parse_timestamps(
        column(d, "closedate"), file=file, column="closedate", timezone=pb.timezone, dayfirst=day1, report=report
    )
    currency = column(d, "deal_currency_code").str.strip().str.upper()
    return pd.DataFrame(
        {
            "deal_id": column(d, "hs_object_id").str.strip(),
            "rep_id": owner,
            "account_id": first_id(column(d, first_present(d, _ASSOC["account_id"]))),
            "created_at": created,
            # an open deal's closedate is the expected close, not a close
            "closed_at": close.where(closed),
            "stage": stage,
            "amount": parse_money(column(d, "amount"), file=file, column="amount", **number_options(d, mp.options)),
            "is_won": is_won.where(closed, pd.NA),
            "is_closed": is_closed,
            "currency": currency.where(currency.str.len() > 0),
        }
    )


#: A deal's "date entered" property: HubSpot's v2 and v1 names, and a UI export's label (snake_case).
_ENTERED = (("hs_v2_date_entered_", 0), ("hs_date_entered_", 1), ("date_entered_", 2))


def _date_entered(
    d: pd.DataFrame,
    file: str,
    stages: tuple[pd.DataFrame, str] | None,
    pb: Playbook,
    mp: CrmMapping,
    report: ImportReport,
    known: pd.Series,
) -> pd.DataFrame | None:
    """deal_stages from the deals' "date entered" columns (module docstring), or None when there are none."""
    labels = {}
    if stages is not None and {"id", "label"} <= set(stages[0].columns):
        labels = dict(zip(stages[0]["id"].astype(str).str.strip(), stages[0]["label"].astype(str), strict=True))
    table = {**STAGES, **mp.stages}
    names = [*table, *labels, *labels.values(), *pb.stage_names]
    found: dict[str, tuple[int, str]] = {}  # stage label -> (preference, column)
    for col in d.columns:
        for prefix, rank in _ENTERED:
            if not col.startswith(prefix) or col == f"{prefix}current_stage":
                continue
            key = col[len(prefix) :]
            if rank == 2:  # a UI label: "closed_won_sales_pipeline" -> the longest known stage it starts with
                hits = [n for n in names if label_key(key).startswith(label_key(n)) and label_key(n)]
                key = max(hits, key=lambda n: len(label_key(n))) if hits else key
            label = labels.get(key, key)
            if label not in found or rank < found[label][0]:
                found[label] = (rank, col)
            break
    if not found:
        return None
    parts = []
    for label, (_, col) in found.items():
        when = parse_timestamps(d[col], file=file, column=col, timezone=pb.timezone, dayfirst=mp.options.dayfirst,
                                report=report)  # fmt: skip
        parts.append(pd.DataFrame({"deal": column(d, "hs_object_id"), "label": label, "at": when})[when.notna()])
    long = pd.concat(parts, ignore_index=True)
    return stage_history(long["deal"], long["label"].astype(schema.STRING), long["at"], stages=table, playbook=pb,
                         report=report, file=file, column="date entered (stage)", deals=known.dropna())  # fmt: skip


def _owners(o: pd.DataFrame, file: str, tz: str, report: ImportReport) -> pd.DataFrame:
    require_columns(o, ["id"], file)
    full = (column(o, "first_name").fillna("") + " " + column(o, "last_name").fillna("")).str.strip()
    name = full.where(full.str.len() > 0).fillna(column(o, "email"))
    teams = column(o, "teams").str.strip()
    # teams come as names separated by ";" or "," or as the API's JSON list of {"name": ...}
    json_name = teams.str.extract(r'"name"\s*:\s*"([^"]*)"')[0].astype(schema.STRING)
    plain = teams.str.extract(r"^\s*([^;,]*?)\s*(?:[;,]|$)")[0].astype(schema.STRING)
    team = json_name.where(teams.str.startswith("[").fillna(False).astype(bool), plain)
    hired = parse_timestamps(
        column(o, "created_at"), file=file, column="createdAt", timezone=tz, report=report
    ).dt.normalize()
    if "archived" in o.columns:
        archived = int(parse_bools(o["archived"], file=file, column="archived").fillna(False).astype(bool).sum())
        if archived:
            report.warn(f"{archived} archived owner(s) in {file} have no known leave date; left_at left empty")
    return pd.DataFrame(
        {
            "rep_id": column(o, "id").str.strip(),
            "name": name,
            "team": _blank_to_na(team),
            "hired_at": hired,
        }
    )
