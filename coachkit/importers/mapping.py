"""Any CSV export -> canonical dataset, through a TOML mapping file.

A mapping names, for each canonical table (``reps``, ``deals``, ``activities``),
its source file(s) and how each canonical column is computed; a table may have
several blocks (``[[activities]]``), one per source file whose columns differ
(Calls, Events and Tasks; Dynamics phonecall, appointment and email files).
``reps`` and ``activities`` are required; ``deals`` is optional. File paths are
relative to the export folder ``SRC``; a file is read once even when several
blocks use it. Full reference: ``coachkit/importers/mappings/README.md``;
worked examples: ``mappings/*.toml``. In short::

    [options]
    source_timezone = "UTC"        # naive timestamps are in this zone (default: the playbook's)
    encoding = "cp1252"            # default: detected; delimiter, decimal, dayfirst, blanks likewise

    [[activities]]
    file = "calls.csv"             # or files = ["calls_2023.csv", "calls_2024.csv"] (same columns)
    where = [ { column = "Status", not_in = ["Deleted"] }, { column = "Owner", not_empty = true } ]
    dedupe = { except = ["Call ID"] }   # or a list of columns, or true (every column)

    [activities.columns]  # or, in an [[activities]] block: columns = { ... }
    activity_id = "Call ID"                                   # a string names a source column
    rep_id = { column = "Owner", lookup = "name" }            # the rep whose name this is
    activity_type = { column = "Kind", map = { "Phone" = "call" }, default = "task" }
    occurred_at = { column = "Date", formats = ["%d %b, %Y %H:%M:%S", "excel"], dayfirst = true }
    duration_s = { start = "Start", end = "End" }             # seconds between two timestamps
    outcome = { column = "Result", map = { "VM" = "voicemail" } }
    notes = { column = "Body", html = true }

Deals: ``closed_at = { column = "Close Date", when = { column = "Stage", in = ["Won", "Lost"] } }``
keeps a value only where the condition holds; and an open deal (``is_closed``
false) never keeps a closed_at or is_won (a forecast close date is not a close):
both are emptied and counted in the report.

Row filters and ``when`` compare labels ignoring case and spacing. Rows whose
required canonical values end up empty are dropped and counted in the report;
non-empty values that do not parse raise :class:`ExportError` with file, row,
column, value and the mapping key to change. No expression is ever evaluated as
code.

``rep_from_deals = { on = "account_id", time = "created_at" }`` in an activities
block fills a missing ``rep_id`` from the owner of the deal with the same ``on``
value whose ``time`` is nearest to ``occurred_at``.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import schema
from ..files import path_problem
from ..playbook import Playbook
from .common import (
    classify_activity,
    finish,
    html_to_text,
    map_labels,
    map_outcomes,
    normalise_stage,
    owners_by_name,
    parse_bools,
    parse_dates,
    parse_hms,
    parse_money,
    parse_numbers,
    parse_timestamps,
    resolve_playbook,
)
from .labels import label_key
from .mapping_spec import Mapping, block_files, check_mapping, read_mapping
from .options import ImportOptions
from .reading import SALESFORCE_EMPTY_ID, ambiguous_column_error, read_export_csv
from .report import ExportError, ImportReport, ImportResult

__all__ = ["import_csv", "read_mapping", "check_mapping", "map_tables", "Mapping"]

_ID_COLUMNS = ("activity_id", "rep_id", "account_id", "contact_id", "deal_id")

Sources = dict[str, list[list[tuple[pd.DataFrame, str]]]]  # table -> per block -> [(frame, file name)]


def import_csv(
    src: str | Path,
    mapping: str | Path | Mapping,
    *,
    playbook: Playbook | str | Path | None = None,
    options: ImportOptions | dict[str, Any] | None = None,
) -> ImportResult:
    """Import the CSV files of folder ``src`` as the ``mapping`` file describes.

    ``options`` (encoding, delimiter, decimal, dayfirst, blanks) override the mapping's ``[options]``.
    """
    src = Path(src)
    mp = mapping if isinstance(mapping, Mapping) else read_mapping(mapping)
    if isinstance(options, ImportOptions):
        mp = replace(mp, options=options)
    elif options:
        mp = replace(mp, options=mp.options.merged(where="option", **options))
    pb = resolve_playbook(playbook)
    report = ImportReport(source=str(src))
    problem = path_problem(src, "folder")
    if problem is not None:
        raise ExportError(f"the export folder: {problem}", file=src)
    cache: dict[str, pd.DataFrame] = {}
    raw: Sources = {}
    for name, blocks in mp.tables.items():
        raw[name] = []
        for block in blocks:
            sources = []
            for f in block_files(block):
                if f not in cache:
                    path = src / f
                    problem = path_problem(path, "file")
                    if problem is not None:
                        raise ExportError(f"file named in the mapping's [{name}]: {problem}", file=path)
                    cache[f] = read_export_csv(path, report, normalise=False, options=mp.options, name=f)
                sources.append((cache[f], f))
            raw[name].append(sources)
    return map_tables(raw, mp, pb, report)


def map_tables(raw: Sources, mapping: Mapping, playbook: Playbook, report: ImportReport) -> ImportResult:
    """Map already-read source frames (table -> per block -> [(frame, file name)]) to a canonical dataset."""
    assume = mapping.options.source_timezone or playbook.timezone
    out: dict[str, pd.DataFrame] = {}
    for name in ("reps", "deals", "activities"):
        blocks = mapping.tables.get(name)
        if not blocks:
            continue
        parts = []
        for i, (block, sources) in enumerate(zip(blocks, raw[name], strict=True)):
            where = f"[{name}.columns]" if len(blocks) == 1 else f"[[{name}]] #{i + 1} columns"
            for frame, file in sources:
                ctx = _Context(name, block, file, playbook, assume, report, mapping.options, where, out.get("reps"))
                part = _map_frame(_filter(frame, ctx), ctx)
                if name == "activities" and "rep_from_deals" in block:
                    part = _rep_from_deals(part, out.get("deals"), block["rep_from_deals"], report)
                part = _drop_incomplete(part, name, file, report)
                if name == "activities" and "done" in part.columns:
                    report.to_do(file, "activities mapped as not done (done false): planned, not effort",
                                 int(part["done"].eq(False).sum()))  # fmt: skip
                parts.append(part)
        table = pd.concat(parts) if parts else schema.empty(name)
        if name == "deals":
            table = _open_deals(table, ", ".join(mapping.files("deals")), report)
        out[name] = table.reset_index(drop=True)
    return finish(
        [out["activities"]],
        out["reps"],
        out.get("deals"),
        playbook,
        report,
        users_file=", ".join(mapping.files("reps")),
    )


class _Context:
    """What mapping one file of one block needs to know."""

    def __init__(self, table, block, file, pb, assume, report, options, where, reps) -> None:
        self.table: str = table
        self.block: dict[str, Any] = block
        self.file: str = file
        self.pb: Playbook = pb
        self.assume: str = assume
        self.report: ImportReport = report
        self.options: ImportOptions = options
        self.where: str = where
        self.reps: pd.DataFrame | None = reps


def _column(frame: pd.DataFrame, name: str, file: str, what: str = "column named in the mapping") -> pd.Series:
    """A source column by its header: exact, else ignoring case and surrounding spaces (when unique)."""
    err = ambiguous_column_error(frame, name, file)
    if err is not None:
        raise err
    if name in frame.columns:
        return frame[name].astype(schema.STRING)
    loose = [c for c in frame.columns if isinstance(c, str) and c.strip().lower() == name.strip().lower()]
    if len(loose) == 1:
        return frame[loose[0]].astype(schema.STRING)
    have = ", ".join(str(c) for c in frame.columns)
    delim = frame.attrs.get("delimiter", ",")
    hint = ""
    if len(frame.columns) == 1 and any(d in str(frame.columns[0]) for d in ";\t|"):
        hint = f" (the file was split on {delim!r} into one column: set [options] delimiter)"
    raise ExportError(f"{what} is missing; the file has: {have}{hint}", file=file, column=name)


def _condition(frame: pd.DataFrame, w: dict[str, Any], file: str) -> tuple[pd.Series, str]:
    """Rows meeting one filter, and a description of the rows that do not."""
    col = w["column"]
    s = _column(frame, col, file, "column named in a `where`/`when` filter").str.strip()
    keys = s.str.lower().str.replace(r"[\s_\-]+", "", regex=True)  # as labels.label_key, vectorised
    if "not_empty" in w:
        keep = s.notna() & (s.str.len() > 0) if w["not_empty"] else s.isna() | (s.str.len() == 0)
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
    return keep.fillna(False).astype(bool), what


def _filter(frame: pd.DataFrame, ctx: _Context) -> pd.DataFrame:
    sec, file, report = ctx.block, ctx.file, ctx.report
    prefix = "reps: " if ctx.table == "reps" else ""
    for w in sec.get("where", []):
        keep, what = _condition(frame, w, file)
        report.drop(file, f"{prefix}filter: {what}", int((~keep).sum()))
        frame = frame[keep]
    dedupe = sec.get("dedupe")
    if dedupe:
        if dedupe is True:
            keys = list(frame.columns)
        elif isinstance(dedupe, dict):
            for k in dedupe["except"]:
                _column(frame, k, file, "column named in `dedupe` except")
            skip = {str(k).strip().lower() for k in dedupe["except"]}
            keys = [c for c in frame.columns if str(c).strip().lower() not in skip]
        else:
            keys = [_column(frame, k, file, "column named in `dedupe`").name for k in dedupe]
        dup = frame.duplicated(subset=keys, keep="first")
        if ctx.table == "reps":
            same = ", ".join(map(str, keys)) if len(keys) <= 3 else f"{len(keys)} columns"
            report.fold("reps", file, f"the same {same} as an earlier row: one rep each", int(dup.sum()))
        else:
            if isinstance(dedupe, dict):
                shown = f"every column but {', '.join(map(str, dedupe['except']))}"
            else:
                shown = ", ".join(map(str, keys)) if len(keys) <= 5 else "every column"
            report.drop(file, f"duplicate of an earlier row (same {shown})", int(dup.sum()))
        frame = frame[~dup]
    return frame


def _source(frame: pd.DataFrame, spec: Any, file: str) -> pd.Series:
    """The raw string values a spec names (before transforms)."""
    if isinstance(spec, str):
        spec = {"column": spec}
    if "column" in spec:
        return _column(frame, spec["column"], file)
    if "const" in spec:
        return pd.Series(str(spec["const"]), index=frame.index, dtype=schema.STRING)
    if "row" in spec:
        # the record's 1-based position in its file (index labels survive filtering)
        return pd.Series((np.asarray(frame.index) + 1).astype(str), index=frame.index, dtype=schema.STRING)
    if "file" in spec:
        return pd.Series(Path(file).stem, index=frame.index, dtype=schema.STRING)
    if "first" in spec:  # the first non-empty of several sources
        out = pd.Series(np.nan, index=frame.index, dtype=schema.STRING)
        for part in spec["first"]:
            s = _source(frame, part, file).str.strip()
            out = out.fillna(s.where(s.str.len() > 0))
        return out
    parts = [_source(frame, p, file) for p in spec["concat"]]
    out = parts[0].fillna("")
    for p in parts[1:]:
        out = out + p.fillna("")
    return out.where(out.str.len() > 0)


def _map_frame(frame: pd.DataFrame, ctx: _Context) -> pd.DataFrame:
    kinds = {c.name: c.kind for c in schema.TABLES[ctx.table]}
    specs = {c: ({"column": s} if isinstance(s, str) else s) for c, s in ctx.block.get("columns", {}).items()}
    out = pd.DataFrame(index=frame.index)
    file, report = ctx.file, ctx.report
    order = sorted(specs, key=lambda c: c == "outcome")  # outcome needs activity_type first
    for col in order:
        spec = specs[col]
        label = str(spec.get("column", spec.get("start", col)))
        if "first" in spec:
            label = " / ".join(p if isinstance(p, str) else str(p.get("column", "?")) for p in spec["first"])
        key = f"{ctx.where}.{col}" if ctx.where.endswith("]") else f"{ctx.where}.{col} ({file})"
        if "start" in spec:
            out[col] = _span(frame, spec, ctx, key)
            continue
        s = _source(frame, spec, file).str.strip()
        s = s.where(s.str.len() > 0)
        if "when" in spec:
            conds = spec["when"] if isinstance(spec["when"], list) else [spec["when"]]
            ok = pd.Series(True, index=frame.index)
            for w in conds:
                ok &= _condition(frame, w, file)[0]
            report.change(file, f"{col} left empty where its `when` does not hold", int((s.notna() & ~ok).sum()))
            s = s.where(ok)
        if spec.get("html"):
            s = html_to_text(s)
        if col in _ID_COLUMNS:
            empty_id = s.str.fullmatch(SALESFORCE_EMPTY_ID.pattern).fillna(False).astype(bool)
            report.change(file, f"Salesforce empty ids (000000000000000AAA) in {label} read as missing",
                          int(empty_id.sum()))  # fmt: skip
            s = s.where(~empty_id)
        if col == "activity_type":
            s = _activity_types(s, spec, ctx, label)
        elif col == "outcome":
            s = _outcomes(s, spec, out.get("activity_type"), ctx, label)
        elif col == "stage":
            s = _stages(s, spec, ctx, label)
        elif "map" in spec:
            mapped = map_labels(s, {k: str(v) for k, v in spec["map"].items()})
            report.unmapped_values(file, label, s[s.notna() & mapped.isna()])
            s = mapped
        if "default" in spec and col != "activity_type":
            s = s.fillna(str(spec["default"]))
        if col == "rep_id" and spec.get("lookup") == "name":
            s = _by_name(s, ctx, label)
        out[col] = _typed(s, kinds[col], spec, ctx, label, key, frame)
    return out


def _by_name(s: pd.Series, ctx: _Context, label: str) -> pd.Series:
    ids = owners_by_name(s, ctx.reps, ctx.report, file=ctx.file, column=label)
    names = set(ctx.reps["name"].dropna().map(label_key)) if ctx.reps is not None else set()
    unknown = s.notna() & ~s.map({u: label_key(u) in names for u in s.dropna().unique()}).fillna(False).astype(bool)
    if unknown.any():
        shown = ", ".join(repr(v) for v in s[unknown].unique()[:5])
        ctx.report.warn(
            f"{ctx.file}: {int(unknown.sum())} {label} value(s) are no rep's name ({shown}): kept as rep ids"
        )
    return ids


def _span(frame: pd.DataFrame, spec: dict[str, Any], ctx: _Context, key: str) -> pd.Series:
    """Seconds from the ``start`` column's timestamp to the ``end`` column's (negative spans left empty)."""
    args = {
        "file": ctx.file,
        "timezone": ctx.pb.timezone,
        "assume": ctx.assume,
        "formats": spec.get("formats"),
        "dayfirst": spec.get("dayfirst", ctx.options.dayfirst),
        "key": key,
    }
    start = parse_timestamps(_column(frame, spec["start"], ctx.file), column=spec["start"], **args, report=ctx.report)
    end = parse_timestamps(_column(frame, spec["end"], ctx.file), column=spec["end"], **args, report=ctx.report)
    seconds = (end - start).dt.total_seconds()
    ctx.report.change(ctx.file, f"durations left empty: {spec['end']} before {spec['start']}", int((seconds < 0).sum()))
    return seconds.where(seconds >= 0) * float(spec.get("scale", 1.0))


def _typed(s: pd.Series, kind: str, spec: dict[str, Any], ctx: _Context, label: str, key: str, frame: pd.DataFrame):
    formats = spec.get("formats")
    dayfirst = spec.get("dayfirst", ctx.options.dayfirst)
    if kind == "timestamp":
        return parse_timestamps(
            s, file=ctx.file, column=label, timezone=ctx.pb.timezone, assume=ctx.assume, formats=formats,
            dayfirst=dayfirst, key=key, report=ctx.report,
        )  # fmt: skip
    if kind == "date":
        return parse_dates(
            s, file=ctx.file, column=label, formats=formats, dayfirst=dayfirst, key=key, report=ctx.report
        )
    if kind == "float":
        decimal = spec.get("decimal", ctx.options.decimal)
        hint = "." if frame.attrs.get("delimiter") == "," else None
        if spec.get("money"):
            v = parse_money(s, file=ctx.file, column=label, decimal=decimal, hint=hint)
        elif spec.get("duration") == "hms":
            v = parse_hms(s, file=ctx.file, column=label)
        else:
            v = parse_numbers(s, file=ctx.file, column=label, decimal=decimal, hint=hint)
        return v * float(spec.get("scale", 1.0))
    if kind == "boolean":
        return parse_bools(s, file=ctx.file, column=label)
    return s.str.replace("\r\n", "\n", regex=False)


def _activity_types(s: pd.Series, spec: dict[str, Any], ctx: _Context, label: str) -> pd.Series:
    pb = ctx.pb
    custom = {k: str(v) for k, v in spec.get("map", {}).items()}
    built_in = {t: t for t in pb.activity_types}
    kind, unknown = classify_activity(s, None, built_in=built_in, custom=custom, default="\x00")
    kind = kind.where(kind != "\x00")
    applied = f"imported as {spec['default']} (the default)" if "default" in spec else "rows dropped (no activity_type)"
    ctx.report.unmapped_values(ctx.file, label, s[unknown], applied=applied)
    if "default" in spec:
        kind = kind.fillna(str(spec["default"]))
    bad = kind.notna() & ~kind.isin(pb.activity_types)
    if bad.any():
        raise ExportError(
            f"maps to activity type {kind[bad].iloc[0]!r}, which the playbook does not list ({', '.join(pb.activity_types)})",
            file=ctx.file,
            column=label,
            value=s[bad].iloc[0],
        )
    return kind


def _outcomes(s: pd.Series, spec: dict[str, Any], types: pd.Series | None, ctx: _Context, label: str) -> pd.Series:
    if types is None:
        types = pd.Series(np.nan, index=s.index, dtype=schema.STRING)
    labels = {k: str(v) for k, v in spec.get("map", {}).items()}
    mapped = pd.Series(np.nan, index=s.index, dtype=schema.STRING)
    for t, table in spec.get("map_by_type", {}).items():
        rows = types.eq(t).fillna(False).astype(bool)
        mapped[rows] = map_labels(s[rows], {k: str(v) for k, v in table.items()})
    # rows a per-type map left empty go through the general map and the playbook's labels
    todo = mapped.isna()
    mapped[todo] = map_outcomes(s[todo], types[todo], labels, ctx.pb, ctx.report, file=ctx.file, column=label)
    return mapped


def _stages(s: pd.Series, spec: dict[str, Any], ctx: _Context, label: str) -> pd.Series:
    stage, unknown = normalise_stage(s, {k: str(v) for k, v in spec.get("map", {}).items()}, ctx.pb)
    ctx.report.unmapped_values(ctx.file, label, s[unknown])
    return stage


def _open_deals(deals: pd.DataFrame, files: str, report: ImportReport) -> pd.DataFrame:
    """Open deals (is_closed false) keep no closed_at or is_won: a forecast close date is not a close.

    A deal with is_won true is closed first (won implies closed), so that a win is never lost.
    """
    if "is_closed" not in deals.columns:
        return deals
    if "is_won" in deals.columns:
        won_open = (deals["is_won"].eq(True) & deals["is_closed"].eq(False)).fillna(False).astype(bool)
        ids = deals.loc[won_open, "deal_id"] if "deal_id" in deals.columns else None
        report.change(files, "won deals with is_closed false closed (won implies closed)", int(won_open.sum()), ids)
        deals.loc[won_open, "is_closed"] = True
    open_ = deals["is_closed"].eq(False).fillna(False).astype(bool)
    for col, what in (("closed_at", "a forecast close date is not a close"), ("is_won", "an open deal is not won")):
        if col in deals.columns:
            hit = open_ & deals[col].notna()
            report.change(files, f"{col} on open deals (is_closed false) left empty: {what}", int(hit.sum()))
            deals[col] = deals[col].where(~hit)
    return deals


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


def _drop_incomplete(table: pd.DataFrame, name: str, file: str, report: ImportReport) -> pd.DataFrame:
    prefix = "reps: " if name == "reps" else ""
    for col in schema.required_columns(name):
        if col not in table.columns:
            continue
        missing = table[col].isna()
        report.drop(file, f"{prefix}no {col}", int(missing.sum()))
        table = table[~missing]
    return table
