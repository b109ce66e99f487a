"""Shared pieces of the CRM importers: the mapping file, opening an export, column access, finishing.

Every importer opens an export folder at its edge (:func:`open_export`, which
reads each file once with :func:`~coachkit.importers.reading.read_export_csv`),
maps DataFrames with pure functions, and returns an :class:`ImportResult` made
by :func:`finish`. The value parsers live in :mod:`.numbers` and :mod:`.dates`,
label maps in :mod:`.labels`; they are re-exported here for convenience.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from .. import schema
from ..dataset import SalesData
from ..files import os_reason, path_problem
from ..playbook import Playbook
from .dates import parse_dates, parse_timestamps
from .labels import (
    CALL_LABELS,
    classify_activity,
    is_follow_up,
    label_key,
    map_labels,
    map_outcomes,
    normalise_stage,
    role_from_title,
)
from .numbers import parse_hms, parse_money, parse_numbers, row_of
from .options import ImportOptions
from .reading import ambiguous_column_error, read_export_csv, snake_case
from .repair import Tables, repair
from .report import ExportError, ImportReport, ImportResult
from .text import html_to_text

__all__ = [
    "ExportError",
    "ImportReport",
    "ImportResult",
    "ImportOptions",
    "CrmMapping",
    "CALL_LABELS",
    "snake_case",
    "read_export_csv",
    "find_file",
    "OpenedExport",
    "open_export",
    "require_columns",
    "first_present",
    "html_to_text",
    "is_follow_up",
    "label_key",
    "parse_timestamps",
    "parse_dates",
    "parse_numbers",
    "parse_money",
    "parse_hms",
    "parse_bools",
    "first_id",
    "drop_flagged",
    "column",
    "number_options",
    "map_labels",
    "map_outcomes",
    "classify_activity",
    "role_from_title",
    "normalise_stage",
    "owners_by_name",
    "reps_from_names",
    "add_missing_reps",
    "finish",
]

_TASK_KEYS = {"open": ("drop", "keep"), "done_statuses": None, "created_date_max_days": None}


@dataclass(frozen=True)
class CrmMapping:
    """Extensions of a CRM importer's built-in maps and rules, read from a small TOML file.

    Tables (all optional)::

        [files]            # object -> file name inside SRC, e.g. task = "tasks_2024.csv"
                           # (used instead of the default names; a missing one is an error)
        [options]          # encoding, delimiter, decimal, dayfirst, blanks (see ImportOptions)
        [outcomes]         # raw label -> canonical outcome, e.g. "Left msg w/ assistant" = "gatekeeper"
        [activity_types]   # raw type -> canonical activity type, e.g. lunch = "meeting"
        [stages]           # raw stage (or stage id) -> playbook stage, e.g. "Demo Done" = "discovery"
        [subject_prefixes] # Salesforce: subject prefix -> activity type, e.g. "Correo:" = "email"
        [tasks]            # Salesforce: open = "keep" (done false) | "drop"; done_statuses = ["Completed", ...];
                           #             created_date_max_days = 1

    Label keys match case- and spacing-insensitively.
    """

    files: dict[str, str] = field(default_factory=dict)
    outcomes: dict[str, str] = field(default_factory=dict)
    activity_types: dict[str, str] = field(default_factory=dict)
    stages: dict[str, str] = field(default_factory=dict)
    subject_prefixes: dict[str, str] = field(default_factory=dict)
    tasks: dict[str, Any] = field(default_factory=dict)
    options: ImportOptions = field(default_factory=ImportOptions)

    @classmethod
    def from_toml(cls, path: str | Path | None) -> CrmMapping:
        """Read a mapping file; ``None`` gives an empty mapping."""
        if path is None:
            return cls()
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ExportError(f"the mapping file: {os_reason(exc, path)}", file=path) from None
        except UnicodeDecodeError:
            raise ExportError("the mapping file is not UTF-8; save it as UTF-8", file=path) from None
        except tomllib.TOMLDecodeError as exc:
            raise ExportError(f"mapping file is not valid TOML: {exc}", file=path) from exc
        return cls.from_dict(data, source=str(path))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str | None = None) -> CrmMapping:
        """Check a parsed mapping; errors name the table and what would be right."""
        allowed = {"files", "outcomes", "activity_types", "stages", "subject_prefixes", "tasks", "options"}
        out: dict[str, Any] = {}
        for key, value in data.items():
            if key not in allowed:
                raise ExportError(f"unknown table [{key}]; allowed: {', '.join(sorted(allowed))}", file=source)
            if not isinstance(value, dict):
                raise ExportError(f"[{key}] must be a table", file=source)
            if key == "options":
                opts = dict(value)
                if "source_timezone" in opts:
                    raise ExportError(
                        "[options] source_timezone is for `coachkit import csv`; the CRM importers know their zone",
                        file=source,
                    )
                out[key] = ImportOptions.from_table(opts, file=source)
            elif key == "tasks":
                out[key] = _check_tasks(value, source)
            elif not all(isinstance(v, str) for v in value.values()):
                raise ExportError(f"[{key}] must map names to strings", file=source)
            else:
                out[key] = dict(value)
        return cls(**out)


def _check_tasks(table: Mapping[str, Any], source: str | None) -> dict[str, Any]:
    for k, v in table.items():
        if k not in _TASK_KEYS:
            raise ExportError(f"unknown key [tasks] {k}; allowed: {', '.join(_TASK_KEYS)}", file=source)
        if k == "open" and v not in _TASK_KEYS["open"]:
            raise ExportError(
                '[tasks] open must be "keep" (kept with done = false: no KPI counts it) or "drop" (left out)',
                file=source,
            )
        if k == "done_statuses" and not (isinstance(v, list) and all(isinstance(x, str) for x in v)):
            raise ExportError('[tasks] done_statuses must be a list of Status labels, e.g. ["Completed"]', file=source)
        if k == "created_date_max_days" and (isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0):
            raise ExportError("[tasks] created_date_max_days must be a number of days, 0 or more", file=source)
    return dict(table)


# ---- opening an export --------------------------------------------------------------------------


def find_file(src: Path, names: list[str]) -> Path | None:
    """The first entry of folder ``src`` whose name matches one of ``names`` (ignoring case).

    Any entry counts, so that a directory or a link loop under a file's name is read, and its reason
    reported, rather than taken for a missing file. An export folder that cannot be read raises
    :class:`ExportError` with the reason.
    """
    problem = path_problem(src, "folder")
    if problem is not None:
        raise ExportError(f"the export folder: {problem}", file=src)
    entries = list(src.iterdir())
    by_lower = {p.name.lower(): p for p in entries if not p.is_file()}
    by_lower.update({p.name.lower(): p for p in entries if p.is_file()})  # a file wins over a folder of its name
    for n in names:
        if n.lower() in by_lower:
            return by_lower[n.lower()]
    return None


class OpenedExport(NamedTuple):
    """An export folder's files read, with the mapping, playbook and report the import goes on with."""

    mapping: CrmMapping
    playbook: Playbook
    report: ImportReport
    frames: dict[str, tuple[pd.DataFrame, str]]  # object -> (frame, file name)


def open_export(
    src: Path,
    file_names: Mapping[str, list[str]],
    mapping: str | Path | CrmMapping | None,
    playbook: Playbook | str | Path | None,
    options: ImportOptions | Mapping[str, Any] | None = None,
) -> OpenedExport:
    """Read the files of a CRM export folder that are present, one per object.

    ``file_names`` maps each object to its accepted default file names (case-insensitive).
    A file the mapping's ``[files]`` names replaces the defaults for its object, and
    must exist: a missing one raises :class:`ExportError` naming it rather than the
    import silently using, or skipping, another file. An unknown object in
    ``[files]`` is an error too (a typo would otherwise be ignored). ``options``
    (e.g. from the command line) override the mapping's ``[options]``; the
    returned mapping holds the result.
    """
    mp = mapping if isinstance(mapping, CrmMapping) else CrmMapping.from_toml(mapping)
    if isinstance(options, ImportOptions):
        mp = replace(mp, options=options)
    elif options:
        mp = replace(mp, options=mp.options.merged(where="option", **dict(options)))
    unknown = sorted(set(mp.files) - set(file_names))
    if unknown:
        raise ExportError(
            f"the mapping's [files] names unknown object {unknown[0]!r}; known: {', '.join(file_names)}",
            file=mapping if not isinstance(mapping, CrmMapping) else None,
        )
    pb = resolve_playbook(playbook)
    report = ImportReport(source=str(src))
    frames: dict[str, tuple[pd.DataFrame, str]] = {}
    for obj, defaults in file_names.items():
        named = mp.files.get(obj)
        path = find_file(src, [named] if named is not None else defaults)
        if path is None and named is not None:
            raise ExportError(f"file named for {obj!r} in the mapping's [files] is missing", file=src / named)
        if path is not None:
            frames[obj] = (read_export_csv(path, report, options=mp.options), path.name)
    return OpenedExport(mp, pb, report, frames)


# ---- columns ------------------------------------------------------------------------------------------


def _check_ambiguous(frame: pd.DataFrame, name: str, file: str | None) -> None:
    err = ambiguous_column_error(frame, name, file or frame.attrs.get("file", ""))
    if err is not None:
        raise err


def require_columns(frame: pd.DataFrame, columns: list[str], file: str) -> None:
    """Raise :class:`ExportError` naming the first required column ``frame`` lacks (or has twice)."""
    for c in columns:
        _check_ambiguous(frame, c, file)
        if c not in frame.columns:
            have = ", ".join(list(frame.columns)[:15])
            raise ExportError(f"required column is missing; the file has: {have}", file=file, column=c)


def first_present(frame: pd.DataFrame, candidates: list[str]) -> str | None:
    """The first of ``candidates`` that is a column of ``frame`` (one two headers share is an error)."""
    for c in candidates:
        _check_ambiguous(frame, c, None)
        if c in frame.columns:
            return c
    return None


def column(frame: pd.DataFrame, name: str | None) -> pd.Series:
    """``frame[name]`` as strings, or an all-missing string Series when absent (two headers for it: error)."""
    if name is not None:
        _check_ambiguous(frame, name, None)
    if name is None or name not in frame.columns:
        return pd.Series(np.nan, index=frame.index, dtype=schema.STRING)
    return frame[name].astype(schema.STRING)


def number_options(frame: pd.DataFrame, options: ImportOptions) -> dict[str, str | None]:
    """``decimal`` and ``hint`` for :func:`parse_numbers` / :func:`parse_money` on a column of ``frame``.

    A ``,``-delimited file hints a decimal point (locales with a decimal comma write ``;``).
    """
    return {"decimal": options.decimal, "hint": "." if frame.attrs.get("delimiter") == "," else None}


_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}


def parse_bools(values: pd.Series, *, file: str, column: str, labels: Mapping[str, bool] | None = None) -> pd.Series:
    """``true``/``false``, ``1``/``0``, ``yes``/``no`` (any case), plus ``labels``, as nullable booleans."""
    s = values.astype(schema.STRING).str.strip().str.lower()
    s = s.where(s.str.len() > 0)
    out = pd.Series(pd.NA, index=s.index, dtype="boolean")
    out[s.isin(_TRUE)] = True
    out[s.isin(_FALSE)] = False
    if labels:
        keyed = {label_key(k): v for k, v in labels.items()}
        found = s.map({u: keyed.get(label_key(u), pd.NA) for u in s.dropna().unique()})
        out = out.fillna(pd.Series(found, index=s.index, dtype="boolean"))
    bad = s.notna() & out.isna()
    if bad.any():
        row, value = row_of(values.astype(schema.STRING), bad)
        raise ExportError("not a boolean (use true/false or 1/0)", file=file, column=column, row=row, value=value)
    return out


def drop_flagged(frame: pd.DataFrame, file: str, col: str, reason: str, report: ImportReport) -> pd.DataFrame:
    """``frame`` without the rows whose boolean ``col`` is true (counted in the report under ``reason``)."""
    if col not in frame.columns:
        return frame
    flag = parse_bools(frame[col], file=file, column=col).fillna(False).astype(bool)
    report.drop(file, reason, int(flag.sum()))
    return frame[~flag]


def first_id(values: pd.Series) -> pd.Series:
    """The first id of a ``;``-separated list (``"12;34"`` -> ``"12"``); empty -> missing."""
    s = values.astype(schema.STRING).str.extract(r"^\s*([^;]*?)\s*(?:;|$)")[0].astype(schema.STRING)
    return s.where(s.str.len() > 0)


def deal_link(what_id: pd.Series, prefix: str = "006") -> pd.Series:
    """Salesforce WhatId as a deal id when it is an Opportunity id (key prefix ``006``), else missing."""
    s = what_id.astype(schema.STRING)
    return s.where(s.str.startswith(prefix).fillna(False).astype(bool)).astype(schema.STRING)


# ---- reps -----------------------------------------------------------------------------------------------


def owners_by_name(
    names: pd.Series, reps: pd.DataFrame | None, report: ImportReport, *, file: str, column: str
) -> pd.Series:
    """Rep ids for owner *names* (UI exports): looked up in ``reps.name`` when there is a users file.

    Names match ignoring case and spacing. A name two reps share raises :class:`ExportError`; a name
    not found (or every name, without a users file) is kept as its own rep id, so that reps are built
    from owner names (see :func:`add_missing_reps`).
    """
    s = names.astype(schema.STRING).str.strip()
    s = s.where(s.str.len() > 0)
    if reps is None or reps.empty or "name" not in reps.columns:
        return s
    known = reps.dropna(subset=["name", "rep_id"])
    keys = known["name"].map(label_key)
    twice = keys[keys.duplicated(keep=False)]
    lookup = dict(zip(keys, known["rep_id"].astype(str), strict=True))
    wanted = s.dropna().map(label_key)
    clash = wanted[wanted.isin(set(twice))]
    if len(clash):
        name = s[clash.index[0]]
        ids = ", ".join(known.loc[keys == clash.iloc[0], "rep_id"].astype(str))
        raise ExportError(
            f"two reps are named {name!r} (ids {ids}); owners by name cannot tell them apart: give them "
            "distinct names in the users file",
            file=file,
            column=column,
            value=name,
        )
    ids = s.map(lambda v: lookup.get(label_key(v), v) if isinstance(v, str) else v).astype(schema.STRING)
    report.change(file, f"owner names in {column} matched to rep ids", int((ids != s).fillna(False).sum()))
    return ids


def add_missing_reps(reps: pd.DataFrame, owners: pd.Series, report: ImportReport, *, users_file: str) -> pd.DataFrame:
    """Append reps (unknown name and team) for owner ids not found in ``reps``, with a warning."""
    owners = owners.dropna().astype(str)
    missing = sorted(set(owners) - set(reps["rep_id"].dropna().astype(str)))
    if not missing:
        return reps
    counts = owners[owners.isin(missing)].value_counts()
    shown = ", ".join(f"{m} ({counts[m]} rows)" for m in missing[:5])
    more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
    report.warn(
        f"{len(missing)} owner id(s) are not in {users_file}; added as reps with unknown name and team: {shown}{more}"
    )
    extra = pd.DataFrame({"rep_id": pd.Series(missing, dtype=schema.STRING)})
    return pd.concat([reps, extra], ignore_index=True)


def reps_from_names(names: pd.Series, report: ImportReport, *, source: str) -> pd.DataFrame:
    """A reps table with one rep per owner name (rep_id = name = its first spelling), with a warning.

    Names that differ only in case or spacing are one rep; map every name through
    :func:`owners_by_name` with this table to get its rep id.
    """
    s = names.astype(schema.STRING).str.strip().dropna()
    s = s[s.str.len() > 0].drop_duplicates()
    s = s[~s.map(label_key).duplicated()]
    if len(s):
        report.warn(
            f"no users file: {len(s)} rep(s) built from the owner names in {source} (rep_id = name; "
            "team and role unknown)"
        )
    return pd.DataFrame({"rep_id": s.to_numpy(), "name": s.to_numpy()}).astype(schema.STRING)


# ---- finishing -------------------------------------------------------------------------------------------

_CLONE_KEY = [c for c in schema.columns("activities") if c != "activity_id"]


def _clones(acts: pd.DataFrame, report: ImportReport) -> None:
    """Warn about activities identical in every column but their id (cloned rows)."""
    if len(acts) < 2:
        return
    dup = acts.duplicated(subset=_CLONE_KEY, keep="first")
    n = int(dup.sum())
    if n:
        groups = acts[acts.duplicated(subset=_CLONE_KEY, keep=False)]
        group = groups.groupby(_CLONE_KEY, dropna=False, sort=False).ngroup()
        ids = ", ".join(repr(str(i)) for i in groups["activity_id"][group == group.iloc[0]].head(2))
        report.warn(
            f"{n} of {len(acts):,} activities ({n / len(acts):.0%}) are identical to another except for their id "
            f"(e.g. {ids}): cloned rows inflate effort; if they are copies, add dedupe = {{ except = [...id "
            "column...] }} to the mapping"
        )


def _currencies(deals: pd.DataFrame, report: ImportReport) -> None:
    if "currency" not in deals.columns:
        return
    counts = deals["currency"].dropna().value_counts()
    if len(counts) > 1:
        shown = ", ".join(f"{c} x{n}" for c, n in counts.items())
        report.warn(
            f"deals are in {len(counts)} currencies ({shown}): each amount keeps its currency; "
            "amounts in different currencies must not be summed"
        )


def _unique(frame: pd.DataFrame, table: str, key: str, report: ImportReport) -> pd.DataFrame:
    """``frame`` without rows identical to an earlier one (counted); two different rows with one id stop the import."""
    if frame.empty or frame[key].dropna().is_unique:
        return frame
    same = frame.duplicated(keep="first").to_numpy()
    report.drop(table, f"the same {key} and content again (a row exported twice)", int(same.sum()),
                ids=frame.loc[same, key])  # fmt: skip
    frame = frame[~same].reset_index(drop=True)
    dup = (frame[key].duplicated(keep=False) & frame[key].notna()).to_numpy()
    if dup.any():
        first = frame.loc[dup, key].iloc[0]
        raise ExportError(
            f"{int(dup.sum())} {table} rows share an id but differ (e.g. {first!r}); ids must be unique: when "
            "the rows come from several files, make the id unique per file (a mapping can use "
            'concat = [{ file = true }, { const = "-" }, "Id"])',
            column=key,
            value=first,
        )
    return frame


def finish(
    activities: list[pd.DataFrame],
    reps: pd.DataFrame,
    deals: pd.DataFrame | None,
    playbook: Playbook,
    report: ImportReport,
    *,
    users_file: str,
    deal_stages: pd.DataFrame | None = None,
) -> ImportResult:
    """Combine mapped frames, repair what ``validate`` would refuse, add missing owners as reps, conform dtypes
    and fill the report's counts.

    Rows exported twice (identical) are dropped and counted; two different activities or deals with one id
    raise :class:`ExportError`; then :func:`coachkit.importers.repair.repair` applies its documented rules,
    so that the dataset passes ``coachkit validate``. Also warns about activities identical except for their
    id, and deals in several currencies.
    """
    parts = [a for a in activities if len(a)]
    acts = pd.concat(parts, ignore_index=True) if parts else schema.empty("activities")
    acts = _unique(schema.conform(acts, "activities"), "activities", "activity_id", report)
    deal_frame = schema.conform(deals if deals is not None else schema.empty("deals"), "deals")
    deal_frame = _unique(deal_frame, "deals", "deal_id", report)
    stages = schema.conform(deal_stages if deal_stages is not None else schema.empty("deal_stages"), "deal_stages")
    twice = reps["rep_id"].duplicated(keep="first") & reps["rep_id"].notna()
    report.fold("reps", users_file, "the same rep_id again", int(twice.sum()))
    reps = schema.conform(reps[~twice], "reps")
    acts, reps, deal_frame, stages = repair(Tables(acts, reps, deal_frame, stages), playbook, report)
    owners = pd.concat([acts["rep_id"], deal_frame["rep_id"]], ignore_index=True)
    reps = add_missing_reps(reps, owners, report, users_file=users_file)
    _clones(acts, report)
    _currencies(deal_frame, report)
    data = SalesData.from_frames(acts, reps, deal_frame, playbook, source=report.source, deal_stages=stages)
    report.rows_mapped = {"activities": len(data.activities), "reps": len(data.reps), "deals": len(data.deals)}
    if len(data.deal_stages):
        report.rows_mapped["deal_stages"] = len(data.deal_stages)
    return ImportResult(data=data, report=report)


def resolve_playbook(playbook: Playbook | str | Path | None) -> Playbook:
    """The given playbook, one read from a path, or the default."""
    if playbook is None:
        return Playbook.default()
    if isinstance(playbook, Playbook):
        return playbook
    return Playbook.from_toml(playbook)
