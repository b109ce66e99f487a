"""Salesforce export -> canonical dataset.

Reads the object exports Salesforce's Data Export and Data Loader write
(``Task.csv``, ``Event.csv``, ``Opportunity.csv``, ``User.csv``, optional
``UserRole.csv``, ``OpportunityHistory.csv`` and ``Account.csv``), or the same
objects as a connector lands them (``sf_task_data.csv`` ...). Headers may be API
names (``OwnerId``) or snake_case (``owner_id``). A mapping file's ``[files]``
table names other file names (keys: task, event, opportunity, user, user_role,
opportunity_history, account).

Salesforce stores date-times in UTC: values with ``Z``/``+0000`` and values
without an offset are both read as UTC and converted to the playbook timezone.
Date-only fields (ActivityDate, CloseDate, hire dates) are calendar dates and
are not shifted.

Rules:

- Every id column (``Id``, ``*Id``): Salesforce's empty reference
  ``000000000000000AAA`` (or its 15-character form) is missing, never a manager,
  account, deal or owner.
- Task -> activity. Done: ``IsClosed`` when filled, else ``Status`` in ``[tasks]
  done_statuses`` (default Completed, Closed, Done). A task not done (Not Started,
  In Progress, Waiting, Deferred, Open...) is a to-do, not effort: it is kept with
  ``done`` false and no outcome, so that no KPI counts it, and counted in the report
  per Status (``[tasks] open = "drop"`` leaves it out instead).
- Task time: ``CompletedDateTime``; else ``CreatedDate`` when it is within
  ``[tasks] created_date_max_days`` (default 1) of ``ActivityDate``; else
  ``ActivityDate`` (a CreatedDate far from the task's date is a bulk load or a
  migration, not when it happened); with one of the two only, that one. The
  report counts the rows that used each source.
- Task type, first match: the mapping's ``[activity_types]`` on TaskSubtype or
  Type; TaskSubtype Call/Email/ListEmail; Type Call/Email/Meeting; an
  ``EmailMessageId`` -> email; a Subject starting with a ``[subject_prefixes]``
  key, then ``Email:``, ``List Email:``, ``Mass Email:``, ``Email de lista:``
  -> email, ``Call`` / ``Llamada`` (a word) -> call; call fields
  (CallDurationInSeconds > 0, CallType, CallDisposition, CallObject) -> call;
  a Description laid out as a logged email (``To: ... Subject: ... Body:``,
  ``Para: ... Asunto: ... Cuerpo:``) -> email; "follow up" in Type or Subject
  -> follow_up; otherwise task. The report counts the tasks each rule typed
  when the export has no TaskSubtype.
- Task outcome from CallDisposition through a label map the mapping file
  extends; without a disposition a done task or follow-up is ``completed`` and
  an email ``sent``. CallDurationInSeconds -> duration_s; CallType -> direction;
  Description -> notes; AccountId -> account_id; WhoId (contact, prefix 003) ->
  contact_id; WhatId -> deal_id when it is an Opportunity id (prefix 006).
  IsDeleted rows dropped.
- Event -> meeting. StartDateTime (else ActivityDateTime, else ActivityDate);
  DurationInMinutes x 60 (else EndDateTime - StartDateTime); no outcome. IsChild
  copies of recurring or group events and IsDeleted rows dropped.
- Opportunity -> deal. ``IsClosed`` and ``IsWon`` left blank (Data Loader writes
  a false boolean as a blank; Salesforce never stores a null one) come from the
  stage: a closed stage closes the deal, the won stage wins it, any other closed
  deal is lost (so it counts in win rate). closed_at = CloseDate only when
  closed; is_won empty while open. ``CurrencyIsoCode`` -> currency. IsDeleted
  rows dropped. StageName -> playbook stage (standard Salesforce stages are
  built in; a mapping file's ``[stages]`` adds more).
- User -> rep. Name (or FirstName LastName); team = Department, else the UserRole
  name; role SDR/AE when Title says so; manager = the ManagerId's name;
  hired_at from a hire-date field when present, else CreatedDate; left_at only
  from a known termination date. Owners missing from User.csv become reps with
  unknown name and team, and a warning.
- OpportunityHistory -> deal_stages (optional; the pipeline notebook's stage
  conversion needs it): ``OpportunityId``, ``StageName`` and ``CreatedDate`` (when the
  change was recorded) of Salesforce's OpportunityHistory object, as the Data Export
  (API names) or a connector (``opportunity_id``, ``stage_name``, ``created_date``)
  writes it; IsDeleted rows dropped. Or a connector's history-mode Opportunity table
  (Fivetran: one row per version of each opportunity, ``id``, ``stage_name``,
  ``_fivetran_start``: when that version began; a deal's first version starts at the
  first sync, which may be after it entered that stage). StageName through the stage
  map; per deal, in time order, a row repeating the previous stage (an amount or close
  date change) is folded into it; rows of deals not imported are left out
  (:mod:`coachkit.importers.stage_history`).
- Account is read and counted but not needed. Columns
  the importer does not read may share a snake_case name (two custom fields
  ``Budget_Confirmed__c`` and ``BudgetConfirmed__c``); only a collision on a
  column it reads stops the import.
"""

from __future__ import annotations

import re
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
    deal_link,
    drop_flagged,
    finish,
    first_present,
    is_follow_up,
    label_key,
    map_labels,
    map_outcomes,
    normalise_stage,
    number_options,
    open_export,
    parse_bools,
    parse_dates,
    parse_numbers,
    parse_timestamps,
    require_columns,
    role_from_title,
)
from .reading import blank_empty_ids
from .stage_history import stage_history

__all__ = ["import_salesforce", "map_salesforce", "FILE_NAMES", "STAGES", "SUBJECT_PREFIXES", "DONE_STATUSES"]

#: object -> accepted file names (case-insensitive), Data Export first, then connector seeds.
FILE_NAMES: dict[str, list[str]] = {
    "task": ["Task.csv", "sf_task_data.csv"],
    "event": ["Event.csv", "sf_event_data.csv"],
    "opportunity": ["Opportunity.csv", "sf_opportunity_data.csv"],
    "user": ["User.csv", "sf_user_data.csv"],
    "user_role": ["UserRole.csv", "User_Role.csv", "sf_user_role_data.csv"],
    "opportunity_history": ["OpportunityHistory.csv", "Opportunity_History.csv", "sf_opportunity_history_data.csv"],
    "account": ["Account.csv", "sf_account_data.csv"],
}

#: Standard Salesforce opportunity stages -> default playbook stages.
STAGES: dict[str, str] = {
    "Prospecting": "prospecting",
    "Qualification": "qualification",
    "Needs Analysis": "discovery",
    "Value Proposition": "discovery",
    "Id. Decision Makers": "discovery",
    "Perception Analysis": "discovery",
    "Proposal/Price Quote": "proposal",
    "Negotiation/Review": "negotiation",
    "Closed Won": "closed_won",
    "Closed Lost": "closed_lost",
}

#: Subject prefixes Salesforce writes on logged emails and calls (English and Spanish orgs) -> type.
#: A mapping file's ``[subject_prefixes]`` is tried first. "Call" and "Llamada" must be whole words.
SUBJECT_PREFIXES: dict[str, str] = {
    "Email:": "email",
    "E-mail:": "email",
    "List Email:": "email",
    "Mass Email:": "email",
    "Email de lista:": "email",
    "Correo electr\u00f3nico:": "email",
    "Call": "call",
    "Llamada": "call",
}

#: Task Status labels that mean done when IsClosed is absent or blank.
DONE_STATUSES: tuple[str, ...] = ("Completed", "Closed", "Done")

_TYPES = {"call": "call", "email": "email", "listemail": "email"}
_TYPE_FIELD = {"call": "call", "email": "email", "meeting": "meeting"}
_LOGGED_EMAIL = (
    r"(?is)^\s*(?:to|para|an|\u00e0)\s*:.*\b(?:subject|asunto|betreff|objet)\s*:.*\b(?:body|cuerpo|text|corps)\s*:"
)
_HIRE_FIELDS = ["hire_date", "hire_date_c", "hired_at", "date_of_hire_c", "start_date_c", "hired_date_c"]
_LEAVE_FIELDS = ["termination_date", "termination_date_c", "left_at", "leave_date_c", "end_date_c", "last_day_c"]
_UTC = "UTC"


def import_salesforce(
    src: str | Path,
    *,
    mapping: str | Path | CrmMapping | None = None,
    playbook: Playbook | str | Path | None = None,
    options: ImportOptions | Mapping[str, Any] | None = None,
) -> ImportResult:
    """Import a Salesforce export folder (see the module docstring for the rules).

    ``options`` (encoding, delimiter, decimal, dayfirst, blanks) override the mapping's ``[options]``.
    """
    src = Path(src)
    mp, pb, report, frames = open_export(src, FILE_NAMES, mapping, playbook, options)
    if "user" not in frames:
        raise ExportError(f"User export is missing; expected one of {', '.join(FILE_NAMES['user'])}", file=src)
    if "task" not in frames and "event" not in frames:
        raise ExportError(
            f"no activities: expected {FILE_NAMES['task'][0]} and/or {FILE_NAMES['event'][0]} (or the sf_*_data.csv names)",
            file=src,
        )
    return map_salesforce(frames, pb, mp, report)


def map_salesforce(
    frames: dict[str, tuple[pd.DataFrame, str]],
    playbook: Playbook,
    mapping: CrmMapping,
    report: ImportReport,
) -> ImportResult:
    """Map already-read Salesforce objects (object -> (frame with snake_case headers, file name))."""
    tz = playbook.timezone
    frames = {obj: (_no_empty_ids(f, file, report), file) for obj, (f, file) in frames.items()}
    acts = []
    if "task" in frames:
        acts.append(_tasks(*frames["task"], playbook, mapping, report))
    if "event" in frames:
        acts.append(_events(*frames["event"], tz, report))
    deals = _opportunities(*frames["opportunity"], playbook, mapping, report) if "opportunity" in frames else None
    history = None
    if "opportunity_history" in frames:
        known = deals["deal_id"].dropna() if deals is not None else []
        history = _opportunity_history(*frames["opportunity_history"], known, playbook, mapping, report)
    reps = _users(*frames["user"], frames.get("user_role"), tz, report)
    users_file = frames["user"][1]
    if "account" in frames and acts:
        _check_accounts(acts, deals, frames["account"], report)
    return finish(acts, reps, deals, playbook, report, users_file=users_file, deal_stages=history)


def _no_empty_ids(frame: pd.DataFrame, file: str, report: ImportReport) -> pd.DataFrame:
    ids = [c for c in frame.columns if c == "id" or c.endswith("_id")]
    return blank_empty_ids(frame, ids, file, report)


def _occurred(
    frame: pd.DataFrame, file: str, stamps: list[str], dates: list[str], tz: str, report: ImportReport
) -> pd.Series:
    out = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")
    for c in stamps:
        if c in frame.columns:
            out = out.fillna(parse_timestamps(frame[c], file=file, column=c, timezone=tz, assume=_UTC, report=report))
    for c in dates:
        if c in frame.columns:
            out = out.fillna(parse_dates(frame[c], file=file, column=c, report=report))
    return out


def _require_one(frame: pd.DataFrame, cols: list[str], file: str) -> None:
    if first_present(frame, cols) is None:
        raise ExportError(f"needs one of the columns {', '.join(cols)}", file=file, column=cols[0])


# ---- tasks ---------------------------------------------------------------------------------------------


def _task_done(t: pd.DataFrame, file: str, mp: CrmMapping, report: ImportReport) -> pd.Series:
    """True where a task is done: IsClosed when filled, else Status among the done statuses."""
    closed = parse_bools(column(t, "is_closed"), file=file, column="IsClosed")
    status = column(t, "status").str.strip()
    done_keys = {label_key(x) for x in (*DONE_STATUSES, *mp.tasks.get("done_statuses", []))}
    by_status = status.map({u: label_key(u) in done_keys for u in status.dropna().unique()})
    by_status = pd.Series(by_status, index=t.index, dtype="boolean")
    unknown = closed.isna() & by_status.isna()
    if unknown.any() and "status" not in t.columns and "is_closed" not in t.columns:
        report.warn(f"{file} has no Status or IsClosed: every task was taken as done")
    return closed.fillna(by_status).fillna(True).astype(bool)


def _task_time(t: pd.DataFrame, file: str, tz: str, mp: CrmMapping, report: ImportReport) -> pd.Series:
    """occurred_at of each task by the documented rule (CompletedDateTime, CreatedDate, ActivityDate)."""
    completed = parse_timestamps(
        column(t, "completed_date_time"), file=file, column="CompletedDateTime", timezone=tz, assume=_UTC, report=report
    )
    created = parse_timestamps(
        column(t, "created_date"), file=file, column="CreatedDate", timezone=tz, assume=_UTC, report=report
    )
    due = parse_dates(column(t, "activity_date"), file=file, column="ActivityDate", report=report)
    days = float(mp.tasks.get("created_date_max_days", 1))
    gap = (created.dt.normalize() - due).abs()
    near = gap <= pd.Timedelta(days=days)
    use_created = completed.isna() & created.notna() & (due.isna() | near.fillna(False).astype(bool))
    use_due = completed.isna() & due.notna() & ~use_created
    out = completed.where(completed.notna(), created.where(use_created)).fillna(due.where(use_due))
    report.change(file, "task times from CompletedDateTime", int(completed.notna().sum()))
    report.change(file, f"task times from CreatedDate (no CompletedDateTime; within {days:g} day(s) of ActivityDate)",
                  int(use_created.sum()))  # fmt: skip
    far = use_due & created.notna()
    report.change(file, f"task times from ActivityDate (CreatedDate more than {days:g} day(s) away: a bulk load "
                  "or a later entry, not when it happened)", int(far.sum()))  # fmt: skip
    report.change(
        file, "task times from ActivityDate (no CompletedDateTime or CreatedDate)", int((use_due & ~far).sum())
    )
    return out


def _task_kind(t: pd.DataFrame, file: str, mp: CrmMapping, report: ImportReport) -> pd.Series:
    """Activity type of each task by the documented rules; the rule used is counted when TaskSubtype is absent."""
    type_, subtype, subject = column(t, "type"), column(t, "task_subtype"), column(t, "subject")
    kind = pd.Series(np.nan, index=t.index, dtype=schema.STRING)
    if mp.activity_types:
        kind = map_labels(type_, mp.activity_types).fillna(map_labels(subtype, mp.activity_types))
    kind = kind.fillna(map_labels(subtype, _TYPES)).fillna(map_labels(type_, _TYPE_FIELD))
    counts: dict[str, int] = {}

    def rule(name: str, mask: pd.Series, value: str) -> None:
        hit = kind.isna() & mask.fillna(False).astype(bool)
        kind[hit] = value
        counts[name] = counts.get(name, 0) + int(hit.sum())

    rule("email: an EmailMessageId", column(t, "email_message_id").notna(), "email")
    prefixes = {**mp.subject_prefixes, **{k: v for k, v in SUBJECT_PREFIXES.items() if k not in mp.subject_prefixes}}
    subj = subject.str.strip().str.lower()
    for prefix, value in prefixes.items():
        p = prefix.strip().lower()
        word = r"\b" if p[-1:].isalnum() else ""
        hit = subj.str.match(re.escape(p) + word)
        rule(f"{value}: Subject starts with {prefix!r}", hit, value)
    duration = pd.to_numeric(column(t, "call_duration_in_seconds"), errors="coerce")
    call_fields = (duration > 0) | column(t, "call_type").notna() | column(t, "call_disposition").notna()
    rule("call: call fields (duration, type or result)", call_fields | column(t, "call_object").notna(), "call")
    rule("email: Description laid out as a logged email (To: ... Subject: ... Body:)",
         column(t, "description").str.contains(_LOGGED_EMAIL, regex=True), "email")  # fmt: skip
    fu = is_follow_up(type_) | is_follow_up(subject)
    kind[kind.isna() & fu] = "follow_up"
    known_type = type_.isna() | kind.notna() | type_.str.lower().isin(["task", "other"]).fillna(False).astype(bool)
    report.unmapped_values(file, "Type", type_[~known_type], applied="imported as task (the default type)")
    if "task_subtype" not in t.columns or subtype.isna().all():
        for name, n in counts.items():
            report.change(file, f"tasks typed {name} (no TaskSubtype)", n)
        typed = sum(counts.values())
        if typed:
            report.warn(
                f"{file} has no TaskSubtype: {typed} task(s) were typed as emails or calls from EmailMessageId, "
                "the Subject and the call fields (see the counts above); add [subject_prefixes] or "
                "[activity_types] to a --mapping file to change this"
            )
    return kind.fillna("task")


def _tasks(t: pd.DataFrame, file: str, pb: Playbook, mp: CrmMapping, report: ImportReport) -> pd.DataFrame:
    require_columns(t, ["id", "owner_id"], file)
    _require_one(t, ["completed_date_time", "created_date", "activity_date"], file)
    t = drop_flagged(t, file, "is_deleted", "IsDeleted is true", report)
    done = _task_done(t, file, mp, report)
    if mp.tasks.get("open", "keep") == "drop" and (~done).any():
        report.drop(file, f"task not done ({_statuses(t, done)}): an open to-do is not effort", int((~done).sum()))
        t, done = t[done], done[done]
    occurred = _task_time(t, file, pb.timezone, mp, report)
    owner = column(t, "owner_id")
    keep = occurred.notna() & owner.notna()
    report.drop(file, "no CompletedDateTime, CreatedDate or ActivityDate", int(occurred.isna().sum()))
    report.drop(file, "no OwnerId", int((occurred.notna() & owner.isna()).sum()))
    t, occurred, done = t[keep], occurred[keep], done[keep]
    if (~done).any():
        report.to_do(file, f"tasks not done ({_statuses(t, done)}): open to-dos, not effort", int((~done).sum()))
    kind = _task_kind(t, file, mp, report)

    labels = {**CALL_LABELS, **mp.outcomes}
    disposition = column(t, "call_disposition")
    outcome = map_outcomes(disposition, kind, labels, pb, report, file=file, column="CallDisposition")
    no_disp = disposition.isna() & done
    outcome[no_disp & kind.isin(["task", "follow_up"])] = "completed"
    outcome[no_disp & kind.eq("email")] = "sent"

    direction = column(t, "call_type").str.lower().str.strip()
    who = column(t, "who_id")
    return pd.DataFrame(
        {
            "activity_id": column(t, "id"),
            "rep_id": column(t, "owner_id"),
            "activity_type": kind,
            "occurred_at": occurred,
            "duration_s": parse_numbers(
                column(t, "call_duration_in_seconds"),
                file=file,
                column="CallDurationInSeconds",
                **number_options(t, mp.options),
            ),
            "direction": direction.where(direction.isin(schema.DIRECTIONS)),
            "outcome": outcome,
            "notes": _text(column(t, "description")),
            "account_id": column(t, "account_id"),
            "contact_id": who.where(who.str.startswith("003").fillna(False).astype(bool)),
            "deal_id": deal_link(column(t, "what_id")),
            "done": pd.Series(done.to_numpy(), index=t.index, dtype="boolean").where(~done, pd.NA),
        }
    )


def _statuses(t: pd.DataFrame, done: pd.Series) -> str:
    """``Not Started x2, In Progress x1``: the Status of the tasks not done, with their counts."""
    statuses = column(t, "status")[~done].fillna("IsClosed false").value_counts()
    return ", ".join(f"{k} x{n}" for k, n in statuses.items())


def _text(s: pd.Series) -> pd.Series:
    s = s.str.strip()
    return s.where(s.str.len() > 0)


def _events(e: pd.DataFrame, file: str, tz: str, report: ImportReport) -> pd.DataFrame:
    require_columns(e, ["id", "owner_id"], file)
    times = (["start_date_time", "activity_date_time"], ["activity_date"])
    _require_one(e, times[0] + times[1], file)
    e = drop_flagged(e, file, "is_deleted", "IsDeleted is true", report)
    e = drop_flagged(e, file, "is_child", "IsChild: copy of a recurring or group event", report)
    start = _occurred(e, file, *times, tz, report)
    owner = column(e, "owner_id")
    keep = start.notna() & owner.notna()
    report.drop(file, "no StartDateTime, ActivityDateTime or ActivityDate", int(start.isna().sum()))
    report.drop(file, "no OwnerId", int((start.notna() & owner.isna()).sum()))
    e, start = e[keep], start[keep]
    duration = parse_numbers(column(e, "duration_in_minutes"), file=file, column="DurationInMinutes", scale=60.0)
    if "end_date_time" in e.columns:
        end = parse_timestamps(
            e["end_date_time"], file=file, column="EndDateTime", timezone=tz, assume=_UTC, report=report
        )
        duration = duration.fillna((end - start).dt.total_seconds())
    who = column(e, "who_id")
    return pd.DataFrame(
        {
            "activity_id": column(e, "id"),
            "rep_id": owner[keep],
            "activity_type": "meeting",
            "occurred_at": start,
            "duration_s": duration,
            "notes": _text(column(e, "description")),
            "account_id": column(e, "account_id"),
            "contact_id": who.where(who.str.startswith("003").fillna(False).astype(bool)),
            "deal_id": deal_link(column(e, "what_id")),
        }
    )


def _opportunities(o: pd.DataFrame, file: str, pb: Playbook, mp: CrmMapping, report: ImportReport) -> pd.DataFrame:
    require_columns(o, ["id", "owner_id", "created_date"], file)
    o = drop_flagged(o, file, "is_deleted", "IsDeleted is true", report)
    created = parse_timestamps(
        o["created_date"], file=file, column="CreatedDate", timezone=pb.timezone, assume=_UTC, report=report
    )
    owner = column(o, "owner_id")
    report.drop(file, "no CreatedDate", int(created.isna().sum()))
    report.drop(file, "no OwnerId", int((created.notna() & owner.isna()).sum()))
    keep = created.notna() & owner.notna()
    o, created = o[keep], created[keep]
    raw_stage = column(o, "stage_name")
    stage, unknown = normalise_stage(raw_stage, {**STAGES, **mp.stages}, pb)
    closed_names = {s.name for s in pb.stages if s.is_closed}
    won_stage = next((s.name for s in pb.stages if s.is_closed and s.is_won), None)
    lost_stage = next((s.name for s in pb.stages if s.is_closed and not s.is_won), None)
    # Data Loader writes a false boolean as a blank; Salesforce never stores a null one: a blank IsClosed or
    # IsWon is read from the stage (a closed deal that is not in the won stage is lost, never left out).
    is_closed = parse_bools(column(o, "is_closed"), file=file, column="IsClosed")
    by_stage = pd.Series(stage.isin(closed_names).to_numpy(), index=o.index, dtype="boolean")
    report.change(file, "blank IsClosed read from StageName", int((is_closed.isna() & stage.notna()).sum()))
    is_closed = is_closed.fillna(by_stage.where(stage.notna(), False)).astype("boolean")
    closed = is_closed.astype(bool)
    is_won = parse_bools(column(o, "is_won"), file=file, column="IsWon")
    blank_won = is_won.isna() & closed
    report.change(
        file, "blank IsWon on closed deals read from StageName (not the won stage: lost)", int(blank_won.sum())
    )
    is_won = is_won.fillna(pd.Series(stage.eq(won_stage).fillna(False).to_numpy(), index=o.index, dtype="boolean"))
    won = is_won.fillna(False).astype(bool)
    stage[unknown & closed & won] = won_stage
    stage[unknown & closed & ~won] = lost_stage
    report.unmapped_values(file, "StageName", raw_stage[unknown & ~closed])
    close = parse_dates(column(o, "close_date"), file=file, column="CloseDate", report=report)
    currency = column(o, "currency_iso_code").str.strip().str.upper()
    return pd.DataFrame(
        {
            "deal_id": column(o, "id"),
            "rep_id": column(o, "owner_id"),
            "account_id": column(o, "account_id"),
            "created_at": created,
            # an open deal's CloseDate is a forecast, not a close
            "closed_at": close.where(closed),
            "stage": stage,
            "amount": parse_numbers(column(o, "amount"), file=file, column="Amount", **number_options(o, mp.options)),
            "is_won": is_won.where(closed, pd.NA),
            "is_closed": is_closed,
            "currency": currency.where(currency.str.len() > 0),
        }
    )


def _opportunity_history(
    h: pd.DataFrame, file: str, deals: pd.Series | list, pb: Playbook, mp: CrmMapping, report: ImportReport
) -> pd.DataFrame | None:
    """deal_stages from OpportunityHistory rows, or from a history-mode Opportunity table (module docstring)."""
    if "opportunity_id" in h.columns:  # the OpportunityHistory object
        h = drop_flagged(h, file, "is_deleted", "IsDeleted is true", report)
        deal, time_col, time_name = column(h, "opportunity_id"), "created_date", "CreatedDate"
    elif "fivetran_start" in h.columns and "id" in h.columns:  # one row per version of each Opportunity
        deal, time_col, time_name = column(h, "id"), "fivetran_start", "_fivetran_start"
    else:
        report.warn(
            f"{file} has neither OpportunityId (Salesforce's OpportunityHistory) nor Id with _fivetran_start (a "
            "history-mode Opportunity table): no stage history was read"
        )
        return None
    if "stage_name" not in h.columns:
        report.warn(f"{file} has no StageName: no stage history was read")
        return None
    times = parse_timestamps(
        column(h, time_col), file=file, column=time_name, timezone=pb.timezone, assume=_UTC, report=report
    )
    return stage_history(
        deal,
        column(h, "stage_name"),
        times,
        stages={**STAGES, **mp.stages},
        playbook=pb,
        report=report,
        file=file,
        column="StageName",
        deals=deals,
    )


def _users(
    u: pd.DataFrame,
    file: str,
    roles: tuple[pd.DataFrame, str] | None,
    tz: str,
    report: ImportReport,
) -> pd.DataFrame:
    require_columns(u, ["id"], file)
    name = column(u, "name")
    full = (column(u, "first_name").fillna("") + " " + column(u, "last_name").fillna("")).str.strip()
    name = name.fillna(full.where(full.str.len() > 0))
    team = _text(column(u, "department"))
    role_name = column(u, "user_role_name")
    if roles is not None and "user_role_id" in u.columns:
        r, _ = roles
        if {"id", "name"} <= set(r.columns):
            lookup = r.drop_duplicates("id").set_index("id")["name"]
            role_name = role_name.fillna(u["user_role_id"].map(lookup).astype(schema.STRING))
    team = team.fillna(role_name)
    ids = column(u, "id")
    names_by_id = pd.Series(name.to_numpy(), index=ids.to_numpy()).dropna()
    names_by_id = names_by_id[~names_by_id.index.duplicated()]
    manager_id = column(u, "manager_id")
    manager = manager_id.map(names_by_id).astype(schema.STRING).fillna(manager_id)

    hire_col = first_present(u, _HIRE_FIELDS)
    hired = (
        parse_dates(u[hire_col], file=file, column=hire_col, report=report)
        if hire_col
        else pd.Series(pd.NaT, index=u.index, dtype="datetime64[ns]")
    )
    if "created_date" in u.columns:
        created = parse_timestamps(
            u["created_date"], file=file, column="CreatedDate", timezone=tz, assume=_UTC, report=report
        )
        hired = hired.fillna(created.dt.normalize())
    leave_col = first_present(u, _LEAVE_FIELDS)
    left = (
        parse_dates(u[leave_col], file=file, column=leave_col, report=report)
        if leave_col
        else pd.Series(pd.NaT, index=u.index, dtype="datetime64[ns]")
    )
    if "is_active" in u.columns:
        inactive = ~parse_bools(u["is_active"], file=file, column="IsActive").fillna(True).astype(bool)
        unknown_leave = int((inactive & left.isna()).sum())
        if unknown_leave:
            report.warn(f"{unknown_leave} inactive user(s) in {file} have no known leave date; left_at left empty")
    return pd.DataFrame(
        {
            "rep_id": ids,
            "name": name,
            "team": team,
            "role": role_from_title(column(u, "title")),
            "manager": manager,
            "hired_at": hired,
            "left_at": left,
        }
    )


def _check_accounts(
    acts: list[pd.DataFrame], deals: pd.DataFrame | None, account: tuple[pd.DataFrame, str], report: ImportReport
) -> None:
    a, file = account
    if "id" not in a.columns:
        return
    known = set(a["id"].dropna())
    used = pd.concat([x["account_id"] for x in acts if "account_id" in x.columns], ignore_index=True).dropna()
    missing = used[~used.isin(known)]
    if len(missing):
        report.warn(f"{len(missing)} activities name an AccountId that is not in {file}")
