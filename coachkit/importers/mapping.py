"""Any CSV export -> canonical dataset, through a TOML mapping file.

A mapping names, for each canonical table (``reps``, ``deals``, ``activities``),
its source file(s) and how each canonical column is computed. ``reps`` and
``activities`` are required; ``deals`` is optional. File paths are relative to
the export folder ``SRC``. Full reference: ``coachkit/importers/mappings/README.md``;
a worked example: ``mappings/maven_crm.toml``. In short::

    [options]
    source_timezone = "UTC"        # naive timestamps are in this zone (default: the playbook's)

    [activities]
    file = "calls.csv"             # or files = ["calls_2023.csv", "calls_2024.csv"]
    where = [ { column = "Status", not_in = ["Deleted"] }, { column = "Owner", not_empty = true } ]
    dedupe = ["Call ID"]           # source columns; later rows with the same values are dropped

    [activities.columns]
    activity_id = "Call ID"                                   # a string names a source column
    rep_id = { column = "Owner" }
    activity_type = { column = "Kind", map = { "Phone" = "call", "Follow UP" = "follow_up" }, default = "task" }
    occurred_at = { column = "Date", formats = ["%d %b, %Y %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%m/%d/%Y"] }
    duration_s = { column = "Minutes", scale = 60 }           # minutes -> seconds
    # duration_s = { column = "Length", duration = "hms" }    # "HH:MM:SS" or "HH:MM"
    outcome = { column = "Result", map = { "VM" = "voicemail" } }
    notes = { column = "Body", html = true }
    account_id = { concat = [ { const = "acct-" }, "Company" ] }

Column specs: a string (source column), or a table with exactly one source --
``column``, ``const``, ``concat`` (a list of specs), ``row = true`` (the record's
1-based position in its file) or ``file = true`` (the file's stem) -- and
optional transforms: ``map`` (labels matched ignoring case, spaces, ``_`` and
``-``), ``map_by_type`` (outcome only: activity type -> map), ``default``,
``formats`` (timestamps/dates), ``money = true`` (``$22,700.00``, ``342.09K``),
``scale`` (a factor), ``duration = "hms"``, ``html = true``.

Row filters (``where``) compare labels ignoring case and spacing: ``not_empty``,
``equals``, ``in``, ``not_in``. Rows whose required canonical values end up
empty are dropped and counted in the report; non-empty values that do not parse
raise :class:`ExportError` with file, row, column and value. No expression is
ever evaluated as code.

``[activities.rep_from_deals]`` fills a missing ``rep_id`` from the deals: the
owner of the deal with the same ``on`` column (e.g. ``account_id``) whose
``time`` column (default ``created_at``) is nearest to ``occurred_at``.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import schema
from ..playbook import Playbook
from .common import (
    ExportError,
    ImportReport,
    ImportResult,
    classify_activity,
    finish,
    html_to_text,
    label_key,
    map_labels,
    map_outcomes,
    normalise_stage,
    parse_bools,
    parse_dates,
    parse_hms,
    parse_money,
    parse_numbers,
    parse_timestamps,
    read_export_csv,
    resolve_playbook,
)

__all__ = ["import_csv", "read_mapping", "map_tables", "Mapping"]

_SOURCES = ("column", "const", "concat", "row", "file")
_TRANSFORMS = ("map", "map_by_type", "default", "formats", "money", "scale", "duration", "html")
_TABLE_KEYS = ("file", "files", "where", "dedupe", "columns", "rep_from_deals")
_FILTERS = ("not_empty", "equals", "in", "not_in")


@dataclass(frozen=True)
class Mapping:
    """A validated mapping file: table name -> its section; ``options``; where it came from."""

    tables: dict[str, dict[str, Any]]
    options: dict[str, Any]
    source: str


def read_mapping(path: str | Path) -> Mapping:
    """Read and check a mapping file; errors name the key and what would be right."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ExportError(f"cannot read mapping file: {exc.strerror or exc}", file=path) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ExportError(f"mapping file is not valid TOML: {exc}", file=path) from exc
    return check_mapping(data, str(path))


def check_mapping(data: dict[str, Any], source: str = "<mapping>") -> Mapping:
    """Validate a parsed mapping (the TOML as a dict)."""

    def fail(msg: str) -> ExportError:
        return ExportError(msg, file=source)

    for key in data:
        if key not in ("options", *schema.TABLES):
            raise fail(f"unknown table [{key}]; use [options], [reps], [deals] and [activities]")
    for name in ("reps", "activities"):
        if name not in data:
            raise fail(f"[{name}] is required")
    options = data.get("options", {})
    if set(options) - {"source_timezone"}:
        raise fail(f"unknown key in [options]: {sorted(set(options) - {'source_timezone'})}; allowed: source_timezone")
    tables = {}
    for name in schema.TABLES:
        if name not in data:
            continue
        sec = data[name]
        unknown = set(sec) - set(_TABLE_KEYS)
        if unknown:
            raise fail(f"unknown key(s) in [{name}]: {sorted(unknown)}; allowed: {', '.join(_TABLE_KEYS)}")
        if ("file" in sec) == ("files" in sec):
            raise fail(f"[{name}] needs exactly one of `file` or `files`")
        cols = sec.get("columns", {})
        for c in cols:
            if c not in schema.columns(name):
                raise fail(
                    f"[{name}.columns] has `{c}`, not a canonical column; use: {', '.join(schema.columns(name))}"
                )
        for c in schema.required_columns(name):
            if c not in cols and not (name == "activities" and c == "rep_id" and "rep_from_deals" in sec):
                raise fail(f"[{name}.columns] must say how to fill the required column `{c}`")
        for c, spec in cols.items():
            _check_spec(spec, f"{name}.columns.{c}", fail, top=True)
        for i, w in enumerate(sec.get("where", [])):
            if not isinstance(w, dict) or "column" not in w or len(set(w) & set(_FILTERS)) != 1:
                raise fail(f"[{name}].where[{i}] must be {{ column = ..., <one of {', '.join(_FILTERS)}> = ... }}")
        if "rep_from_deals" in sec:
            link = sec["rep_from_deals"]
            if name != "activities" or "on" not in link or "deals" not in data:
                raise fail("`rep_from_deals` belongs in [activities], needs `on`, and needs a [deals] table")
        tables[name] = sec
    return Mapping(tables=tables, options=options, source=source)


def _check_spec(spec: Any, where: str, fail: Any, *, top: bool) -> None:
    if isinstance(spec, str):
        return
    if not isinstance(spec, dict):
        raise fail(f'`{where}` must be a column name or a table like {{ column = "..." }}')
    sources = [k for k in _SOURCES if k in spec]
    if len(sources) != 1:
        raise fail(f"`{where}` needs exactly one of {', '.join(_SOURCES)}")
    unknown = set(spec) - set(_SOURCES) - set(_TRANSFORMS)
    if unknown:
        raise fail(f"`{where}` has unknown key(s) {sorted(unknown)}; allowed: {', '.join(_SOURCES + _TRANSFORMS)}")
    if "concat" in spec:
        if not isinstance(spec["concat"], list) or not spec["concat"]:
            raise fail(f"`{where}.concat` must be a non-empty list of column names or specs")
        for i, part in enumerate(spec["concat"]):
            _check_spec(part, f"{where}.concat[{i}]", fail, top=False)
    if "duration" in spec and spec["duration"] != "hms":
        raise fail(f'`{where}.duration` must be "hms" (HH:MM:SS or HH:MM)')
    if "scale" in spec and (isinstance(spec["scale"], bool) or not isinstance(spec["scale"], (int, float))):
        raise fail(f"`{where}.scale` must be a number, e.g. 60 for minutes -> seconds")
    if "formats" in spec and not (
        isinstance(spec["formats"], list) and all(isinstance(f, str) for f in spec["formats"])
    ):
        raise fail(f'`{where}.formats` must be a list of strptime formats like "%m/%d/%Y"')


# ---- import ---------------------------------------------------------------------------------------


def import_csv(
    src: str | Path,
    mapping: str | Path | Mapping,
    *,
    playbook: Playbook | str | Path | None = None,
) -> ImportResult:
    """Import the CSV files of folder ``src`` as the ``mapping`` file describes."""
    src = Path(src)
    mp = mapping if isinstance(mapping, Mapping) else read_mapping(mapping)
    pb = resolve_playbook(playbook)
    report = ImportReport(source=str(src))
    raw: dict[str, list[tuple[pd.DataFrame, str]]] = {}
    if not src.is_dir():
        raise ExportError("export folder not found", file=src)
    for name, sec in mp.tables.items():
        files = [sec["file"]] if "file" in sec else list(sec["files"])
        raw[name] = []
        for f in files:
            path = src / f
            if not path.is_file():
                raise ExportError(f"file named in the mapping's [{name}] is missing", file=path)
            raw[name].append((read_export_csv(path, report, normalise=False), path.name))
    return map_tables(raw, mp, pb, report)


def map_tables(
    raw: dict[str, list[tuple[pd.DataFrame, str]]],
    mapping: Mapping,
    playbook: Playbook,
    report: ImportReport,
) -> ImportResult:
    """Map already-read source frames (table -> [(frame, file name)]) to a canonical dataset."""
    tz = playbook.timezone
    assume = mapping.options.get("source_timezone", tz)
    out: dict[str, pd.DataFrame] = {}
    for name in ("reps", "deals", "activities"):
        if name not in mapping.tables:
            continue
        sec = mapping.tables[name]
        parts = []
        for frame, file in raw[name]:
            frame = _filter(frame, sec, file, report)
            parts.append(_map_frame(frame, name, sec, file, playbook, assume, report))
        table = pd.concat(parts) if parts else schema.empty(name)
        if name == "activities" and "rep_from_deals" in sec:
            table = _rep_from_deals(table, out.get("deals"), sec["rep_from_deals"], report)
        table = _drop_incomplete(table, name, ", ".join(f for _, f in raw[name]), report)
        out[name] = table.reset_index(drop=True)
    return finish(
        [out["activities"]],
        out["reps"],
        out.get("deals"),
        playbook,
        report,
        users_file=mapping.tables["reps"].get("file", "the reps files"),
    )


def _filter(frame: pd.DataFrame, sec: dict[str, Any], file: str, report: ImportReport) -> pd.DataFrame:
    frame = frame.assign(__row=np.arange(1, len(frame) + 1))
    for w in sec.get("where", []):
        col = w["column"]
        if col not in frame.columns:
            raise ExportError("column named in a `where` filter is missing", file=file, column=col)
        s = frame[col].astype(schema.STRING).str.strip()
        keys = s.str.lower().str.replace(r"[\s_\-]+", "", regex=True)  # as common.label_key, vectorised
        if "not_empty" in w:
            keep = s.notna() & (s.str.len() > 0) if w["not_empty"] else s.isna()
            what = f"{col} is empty" if w["not_empty"] else f"{col} is not empty"
        elif "equals" in w:
            keep = keys.eq(label_key(w["equals"]))
            what = f"{col} is not {w['equals']!r}"
        elif "in" in w:
            keep = keys.isin([label_key(v) for v in w["in"]])
            what = f"{col} not in {w['in']!r}"
        else:
            keep = ~keys.isin([label_key(v) for v in w["not_in"]])
            what = f"{col} in {w['not_in']!r}"
        keep = keep.fillna(False).astype(bool)
        report.drop(file, f"filter: {what}", int((~keep).sum()))
        frame = frame[keep]
    dedupe = sec.get("dedupe")
    if dedupe:
        keys = list(frame.columns.drop("__row")) if dedupe is True else list(dedupe)
        for k in keys:
            if k not in frame.columns:
                raise ExportError("column named in `dedupe` is missing", file=file, column=k)
        dup = frame.duplicated(subset=keys, keep="first")
        report.drop(file, f"duplicate of an earlier row (same {', '.join(keys)})", int(dup.sum()))
        frame = frame[~dup]
    return frame


def _source(frame: pd.DataFrame, spec: Any, file: str) -> pd.Series:
    """The raw string values a spec names (before transforms)."""
    if isinstance(spec, str):
        spec = {"column": spec}
    if "column" in spec:
        col = spec["column"]
        if col not in frame.columns:
            have = ", ".join(c for c in frame.columns if c != "__row")
            raise ExportError(f"column named in the mapping is missing; the file has: {have}", file=file, column=col)
        return frame[col].astype(schema.STRING)
    if "const" in spec:
        return pd.Series(str(spec["const"]), index=frame.index, dtype=schema.STRING)
    if "row" in spec:
        return frame["__row"].astype(str).astype(schema.STRING)
    if "file" in spec:
        return pd.Series(Path(file).stem, index=frame.index, dtype=schema.STRING)
    parts = [_source(frame, p, file) for p in spec["concat"]]
    out = parts[0].fillna("")
    for p in parts[1:]:
        out = out + p.fillna("")
    return out.where(out.str.len() > 0)


def _map_frame(
    frame: pd.DataFrame,
    table: str,
    sec: dict[str, Any],
    file: str,
    pb: Playbook,
    assume: str,
    report: ImportReport,
) -> pd.DataFrame:
    kinds = {c.name: c.kind for c in schema.TABLES[table]}
    specs = {c: ({"column": s} if isinstance(s, str) else s) for c, s in sec.get("columns", {}).items()}
    out = pd.DataFrame(index=frame.index)
    order = sorted(specs, key=lambda c: c == "outcome")  # outcome needs activity_type first
    for col in order:
        spec = specs[col]
        label = f"{spec.get('column', col)}"
        s = _source(frame, spec, file).str.strip()
        s = s.where(s.str.len() > 0)
        if spec.get("html"):
            s = html_to_text(s)
        if col == "activity_type":
            s = _activity_types(s, spec, pb, file, label, report)
        elif col == "outcome":
            s = _outcomes(s, spec, out.get("activity_type"), pb, file, label, report)
        elif col == "stage":
            s = _stages(s, spec, pb, file, label, report)
        elif "map" in spec:
            mapped = map_labels(s, {k: str(v) for k, v in spec["map"].items()})
            report.unmapped_values(file, label, s[s.notna() & mapped.isna()])
            s = mapped
        if "default" in spec and col != "activity_type":
            s = s.fillna(str(spec["default"]))
        out[col] = _typed(s, kinds[col], spec, file, label, assume, pb.timezone)
    return out


def _typed(s: pd.Series, kind: str, spec: dict[str, Any], file: str, label: str, assume: str, tz: str) -> pd.Series:
    formats = spec.get("formats")
    if kind == "timestamp":
        return parse_timestamps(s, file=file, column=label, timezone=tz, assume=assume, formats=formats)
    if kind == "date":
        return parse_dates(s, file=file, column=label, formats=formats)
    if kind == "float":
        if spec.get("money"):
            v = parse_money(s, file=file, column=label)
        elif spec.get("duration") == "hms":
            v = parse_hms(s, file=file, column=label)
        else:
            v = parse_numbers(s, file=file, column=label)
        return v * float(spec.get("scale", 1.0))
    if kind == "boolean":
        return parse_bools(s, file=file, column=label)
    return s.str.replace("\r\n", "\n", regex=False)


def _activity_types(s, spec, pb: Playbook, file, label, report) -> pd.Series:
    custom = {k: str(v) for k, v in spec.get("map", {}).items()}
    built_in = {t: t for t in pb.activity_types}
    kind, unknown = classify_activity(s, None, built_in=built_in, custom=custom, default="\x00")
    kind = kind.where(kind != "\x00")
    report.unmapped_values(file, label, s[unknown])
    if "default" in spec:
        kind = kind.fillna(str(spec["default"]))
    bad = kind.notna() & ~kind.isin(pb.activity_types)
    if bad.any():
        raise ExportError(
            f"maps to activity type {kind[bad].iloc[0]!r}, which the playbook does not list ({', '.join(pb.activity_types)})",
            file=file,
            column=label,
            value=s[bad].iloc[0],
        )
    return kind


def _outcomes(s, spec, types, pb: Playbook, file, label, report) -> pd.Series:
    if types is None:
        types = pd.Series(np.nan, index=s.index, dtype=schema.STRING)
    labels = {k: str(v) for k, v in spec.get("map", {}).items()}
    by_type = spec.get("map_by_type", {})
    mapped = pd.Series(np.nan, index=s.index, dtype=schema.STRING)
    for t, table in by_type.items():
        rows = types.eq(t).fillna(False).astype(bool)
        mapped[rows] = map_labels(s[rows], {k: str(v) for k, v in table.items()})
    # rows a per-type map left empty go through the general map and the playbook's labels
    todo = mapped.isna()
    mapped[todo] = map_outcomes(s[todo], types[todo], labels, pb, report, file=file, column=label)
    return mapped


def _stages(s, spec, pb: Playbook, file, label, report) -> pd.Series:
    stage, unknown = normalise_stage(s, {k: str(v) for k, v in spec.get("map", {}).items()}, pb)
    report.unmapped_values(file, label, s[unknown])
    return stage


def _rep_from_deals(
    acts: pd.DataFrame, deals: pd.DataFrame | None, link: dict[str, Any], report: ImportReport
) -> pd.DataFrame:
    """Fill missing rep_id with the owner of the same-``on`` deal nearest in time to occurred_at."""
    on, time = link["on"], link.get("time", "created_at")
    if deals is None or on not in deals.columns or time not in deals.columns or on not in acts.columns:
        raise ExportError(f"rep_from_deals needs `{on}` and `{time}` mapped in both [activities] and [deals]")
    if "rep_id" not in acts.columns:
        acts = acts.assign(rep_id=pd.Series(np.nan, index=acts.index, dtype=schema.STRING))
    need = acts["rep_id"].isna() & acts[on].notna() & acts["occurred_at"].notna()
    d = deals[[on, time, "rep_id", "deal_id"]].dropna(subset=[on, time, "rep_id"])
    d = d.assign(_key=d[on].astype(str), _t=d[time].astype("datetime64[ns]")).sort_values(["_t", "deal_id"])
    a = acts.loc[need, [on, "occurred_at"]]
    a = a.assign(_key=a[on].astype(str), _t=a["occurred_at"].astype("datetime64[ns]"), _i=a.index).sort_values("_t")
    merged = pd.merge_asof(a, d[["_key", "_t", "rep_id"]], on="_t", by="_key", direction="nearest")
    found = pd.Series(merged["rep_id"].to_numpy(), index=merged["_i"].to_numpy()).astype(schema.STRING)
    acts = acts.copy()
    acts.loc[found.index, "rep_id"] = found
    n = int(found.notna().sum())
    report.warn(
        f"{n} activities got their rep from the {on}'s deal nearest in time ({time}); "
        f"{int(need.sum()) - n} found no deal for their {on}"
    )
    return acts


def _drop_incomplete(table: pd.DataFrame, name: str, files: str, report: ImportReport) -> pd.DataFrame:
    for col in schema.required_columns(name):
        if col not in table.columns:
            continue
        missing = table[col].isna()
        report.drop(files, f"no {col}", int(missing.sum()))
        table = table[~missing]
    return table
