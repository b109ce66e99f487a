"""``coachkit import csv --draft-mapping FILE...``: profile export files and draft a commented mapping.

:func:`profile_file` reads one file as the importer would (encoding, delimiter,
footers, placeholders) and describes each column: how often it is filled, how
many distinct values, a guessed kind (timestamp or date with its day order,
number with its decimal mark, amount, HH:MM duration, boolean, id, category,
text) and the most common values. :func:`draft_mapping` guesses which canonical
table each file feeds (from its name and columns) and which column fills each
canonical column (from header words and kinds), and writes a mapping with one
block per file and a comment on every guess, so that a first import of an
unfamiliar export takes minutes. Guesses it cannot make are ``# TODO`` lines;
the draft is valid TOML that :func:`coachkit.importers.mapping.read_mapping`
accepts whenever every required column was guessed.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .. import schema
from ..playbook import Playbook
from .dates import parse_timestamps
from .labels import CALL_LABELS, label_key
from .numbers import decimal_mark, parse_money, parse_numbers
from .options import ImportOptions
from .reading import read_export_csv
from .report import ExportError, ImportReport

__all__ = ["ColumnProfile", "FileProfile", "profile_file", "draft_mapping", "csv_files"]

_SAMPLE = 5000  # rows profiled per file
_UNKNOWN = "day/month order unknown (no day above 12), separator"


@dataclass
class ColumnProfile:
    """One column: fill rate, distinct values, guessed kind and its reading, top values."""

    name: str
    filled: int
    distinct: int
    kind: str  # empty, timestamp, date, number, money, hms, boolean, id, category, text
    detail: str = ""  # e.g. "day-first", "decimal comma", "minutes?"
    dayfirst: bool | None = None
    top: list[tuple[str, int]] = field(default_factory=list)
    sep: str = ""  # the separator of d/m/y dates ("/", ".", "-")
    twin: str = ""  # a time-of-day column that goes with this date column

    def describe(self, rows: int) -> str:
        """``Date: timestamp, day-first, 98% filled``."""
        extra = f", {self.detail}" if self.detail else ""
        share = f"{self.filled / rows:.0%} filled" if rows else "empty"
        return f"{self.name}: {self.kind}{extra}, {share}, {self.distinct} distinct"


@dataclass
class FileProfile:
    """One file as read: rows, encoding, delimiter and its columns' profiles."""

    path: Path
    name: str
    rows: int
    encoding: str
    delimiter: str
    columns: list[ColumnProfile]

    def column(self, name: str) -> ColumnProfile:
        """The profile of column ``name``."""
        return next(c for c in self.columns if c.name == name)


def csv_files(paths: list[Path]) -> list[Path]:
    """The files given, with a folder standing for its ``*.csv`` files (sorted)."""
    out: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            out.extend(sorted(q for q in p.iterdir() if q.is_file() and q.suffix.lower() in (".csv", ".txt", ".tsv")))
        elif p.is_file():
            out.append(p)
        else:
            raise ExportError("not found", file=p)
    if not out:
        raise ExportError("no CSV files to profile", file=", ".join(map(str, paths)))
    return out


def _kind(s: pd.Series, name: str, hint: str | None) -> tuple[str, str, bool | None]:
    """(kind, detail, dayfirst) of a column of non-missing strings."""
    if s.empty:
        return "empty", "", None
    low = s.str.strip().str.lower()
    if low.isin(["true", "false", "yes", "no", "0", "1", "y", "n", "t", "f"]).all() and low.nunique() <= 2:
        return "boolean", "", None
    if s.str.fullmatch(r"\d{1,3}:[0-5]\d(?::[0-5]\d)?").all():
        return "hms", "HH:MM(:SS)", None
    dated = re.search(r"(?i)date|time|created|modified|start|end|due|closed|on$|_at$|when|day", name)
    serial = s.str.fullmatch(r"[1-9]\d{4}(?:\.\d+)?").all()
    if serial and dated:
        return "timestamp", "Excel serial numbers", None
    number = s.str.fullmatch(r"[-+]?(?:\d{1,3}(?:[.,\s\u00a0']\d{3})+|\d+)(?:[.,]\d+)?")
    if not number.all():  # plain numbers are read below; anything else may be a date
        for dayfirst in (None, True):
            try:
                ts = parse_timestamps(s, file="", column=name, timezone="UTC", dayfirst=dayfirst)
            except ExportError as exc:
                if "ambiguous" in str(exc) and dayfirst is None:
                    continue
                break
            has_time = (ts != ts.dt.normalize()).any()
            kind = "timestamp" if has_time else "date"
            sep = s.str.extract(r"^\d{1,2}([./-])\d{1,2}[./-]\d{2,4}")[0].dropna()
            if sep.empty:
                return kind, "", None
            if dayfirst is True:
                return kind, f"{_UNKNOWN} {sep.iloc[0]!r}", None
            first = pd.to_numeric(s.str.extract(r"^(\d{1,2})[./-]")[0], errors="coerce")
            day1 = bool((first > 12).any())
            return kind, "day-first" if day1 else "month-first", day1
    try:
        parse_numbers(s, file="", column=name, hint=hint)
        mark = decimal_mark(s, file="", column=name, hint=hint)
        detail = "decimal comma" if mark == "," and s.str.contains(",").any() else ""
        idish = re.search(r"(?i)(^|[^a-z])id$|[a-z]id$|\bid\b|key|number|code|no$", name)
        if s.nunique() == len(s) and s.str.fullmatch(r"\d+").all() and len(s) > 1 and idish:
            return "id", "unique integers", None
        return "number", detail, None
    except ExportError as exc:
        if "ambiguous" in str(exc):
            return "number", "decimal mark ambiguous: set decimal", None
    try:
        parse_money(s, file="", column=name, hint=hint)
        return "money", "", None
    except ExportError:
        pass
    distinct = s.nunique()
    idish = re.search(r"(?i)id$|\bid\b|key|number|code", name) or not s.str.contains(r"\s").any()
    if distinct == len(s) and len(s) > 1 and s.str.len().max() <= 64 and idish:
        return "id", "unique", None
    if distinct <= max(20, len(s) // 20) and distinct < len(s):
        return "category", "", None
    return "text", "", None


def profile_file(path: Path, name: str, options: ImportOptions | None = None) -> FileProfile:
    """Read ``path`` as the importer would and profile its columns (first 5,000 rows)."""
    report = ImportReport()
    frame = read_export_csv(path, report, normalise=False, options=options, name=name)
    info = report.files[name]
    hint = "." if info.delimiter == "," else None
    sample = frame.head(_SAMPLE)
    cols = []
    for c in sample.columns:
        s = sample[c].dropna().astype(str).str.strip()
        s = s[s.str.len() > 0]
        kind, detail, dayfirst = _kind(s, str(c), hint)
        top = [(str(v), int(n)) for v, n in s.value_counts().head(12).items()]
        sep = s.str.extract(r"^\d{1,2}([./-])\d{1,2}[./-]\d{2,4}")[0].dropna()
        cols.append(
            ColumnProfile(
                str(c), len(s), int(s.nunique()), kind, detail, dayfirst, top, sep.iloc[0] if len(sep) else ""
            )
        )
    return FileProfile(path, name, len(frame), info.encoding, info.delimiter, cols)


# ---- guessing ---------------------------------------------------------------------------------------

_FILE_TYPES = [
    (r"phone|call|dial", "call"),
    (r"appointment|meeting|event|visit", "meeting"),
    (r"e-?mail|mail", "email"),
    (r"follow", "follow_up"),
    (r"task|todo|to-do", "task"),
    (r"note|annotation|comment", "note"),
]
_TABLE_WORDS = [
    (r"deal|opportunit|pipeline|sales_pipeline", "deals"),
    (r"user|owner|rep(?!ort)|employee|staff|team|agent|member|people", "reps"),
]
#: canonical column -> header patterns in order of preference (matched on the lower-cased header).
_HEADERS: dict[str, list[str]] = {
    "activity_id": [
        r"^(activity ?id|activityid|record ?id|id)$",
        r"\bid$|id$",
        r"^do not modify (?!row checksum|modified on)",  # the record's GUID in a Dynamics 365 Excel export
    ],
    "rep_id": [
        r"^(owner|owner ?id|ownerid|owninguser|assigned ?to|assigned|user|user ?id|rep|sales ?(rep|agent|person)|agent)$",
        r"owner|assigned|sales ?agent|user|\brep\b|agent|created ?by",
    ],
    "occurred_at": [
        r"^(actual ?start|actualstart|start|start ?(date|time|datetime)|startdate|starttime|activity ?date"
        r"|call ?start ?time|date|timestamp|time|date ?time|occurred ?at|when)$",
        r"actual ?start|start ?(date|time)|activity ?date|occurred|call ?date|meeting ?date|start",
        r"completed|completion|sent|done|actual ?end",
        r"created|createdon",
        r"due|scheduled",
        r"date|time",
    ],
    "duration_s": [r"actual ?duration|duration|length|minutes|seconds|talk ?time"],
    "direction": [r"direction|inbound|outbound|call ?type"],
    "outcome": [r"outcome|result|disposition"],
    "notes": [r"description|notes?$|body|comment|summary|text|details"],
    "account_id": [r"account|company|organi[sz]ation|customer|regarding"],
    "contact_id": [r"contact|person|lead|\bwho\b"],
    "deal_id": [r"deal|opportunit"],
}
_DEAL_HEADERS: dict[str, list[str]] = {
    "deal_id": [r"^(deal ?id|opportunity ?id|opportunityid|record ?id|id)$", r"\bid$|id$"],
    "rep_id": _HEADERS["rep_id"],
    "account_id": _HEADERS["account_id"],
    "created_at": [r"created|createdon|create ?date|engage|open(ed)? ?date|add ?time"],
    "closed_at": [
        r"actual ?close",
        r"closed? ?(on|at|date|time)|won ?time|date ?won|closing ?date",
        r"closed|closedate",
    ],
    "stage": [r"stage|phase"],
    "amount": [r"amount|value|revenue|price|close value|actualvalue|estimatedvalue"],
    "currency": [r"currency"],
}
_REP_HEADERS: dict[str, list[str]] = {
    "rep_id": [r"^(id|user ?id|userid|systemuserid|owner ?id|rep ?id|employee ?id|email)$", r"\bid$|id$"],
    "name": [r"^(full ?name|fullname|name|sales agent|agent|user ?name)$", r"name"],
    "team": [r"team|department|office|region|business ?unit|territory"],
    "role": [r"role|title|position"],
    "manager": [r"manager|reports ?to|parent"],
    "hired_at": [r"hire|start ?date|joined|created"],
    "left_at": [r"termination|leave|left|end ?date"],
}
_KINDS = {
    "activity_id": {"id", "number", "text", "category"},
    "rep_id": {"id", "category", "text", "number"},
    "occurred_at": {"timestamp", "date"},
    "duration_s": {"number", "hms"},
    "direction": {"category", "boolean", "text"},
    "outcome": {"category", "text"},
    "notes": {"text", "category"},
    "account_id": {"id", "category", "text", "number"},
    "contact_id": {"id", "category", "text", "number"},
    "deal_id": {"id", "category", "text", "number"},
    "deal_id@deals": {"id", "number", "text", "category"},
    "created_at": {"timestamp", "date"},
    "closed_at": {"timestamp", "date"},
    "stage": {"category", "text"},
    "amount": {"number", "money"},
    "currency": {"category"},
    "name": {"text", "category", "id"},
    "team": {"category", "text"},
    "role": {"category", "text"},
    "manager": {"category", "text", "id"},
    "hired_at": {"date", "timestamp"},
    "left_at": {"date", "timestamp"},
}


def _words(name: str) -> str:
    """A header as lower-case words: ``Activity - Due date`` -> ``activity due date``."""
    return re.sub(r"[^a-z0-9]+", " ", name.lower()).strip()


def _pick(
    fp: FileProfile, canonical: str, patterns: list[str], used: set[str], kinds: set[str]
) -> ColumnProfile | None:
    for level, pat in enumerate(patterns):
        if canonical == "occurred_at" and level == 2:
            pair = _date_time_pair(fp, used)
            if pair is not None:
                return pair
        for c in fp.columns:
            if c.name in used or c.kind == "empty" or c.kind not in kinds:
                continue
            if canonical == "closed_at" and re.search(r"estimat|expect|forecast|target|planned", _words(c.name)):
                continue
            if re.search(pat, _words(c.name)):
                return c
    return None


def _candidates(fp: FileProfile, patterns: list[str], kinds: set[str]) -> list[ColumnProfile]:
    """Every column matching the patterns, best first (for a `first = [...]` of several)."""
    out: list[ColumnProfile] = []
    for pat in patterns:
        for c in fp.columns:
            if c not in out and c.kind in kinds and re.search(pat, _words(c.name)):
                out.append(c)
    return out


def _date_time_pair(fp: FileProfile, used: set[str]) -> ColumnProfile | None:
    """A date column with a twin time column (``Due date`` + ``Due time``), as one combined profile."""
    for c in fp.columns:
        if c.name in used or c.kind != "date" or "date" not in _words(c.name):
            continue
        twin_name = _words(c.name).replace("date", "time")
        twin = next((t for t in fp.columns if _words(t.name) == twin_name and t.kind == "hms"), None)
        if twin is not None:
            return ColumnProfile(c.name, c.filled, c.distinct, "timestamp", f"with {twin.name}", c.dayfirst,
                                 c.top, c.sep, twin=twin.name)  # fmt: skip
    return None


def _table_of(fp: FileProfile) -> str:
    stem = fp.path.stem.lower()
    for pat, table in _TABLE_WORDS:
        if re.search(pat, stem):
            return table
    names = " ".join(c.name.lower() for c in fp.columns)
    if re.search(r"stage", names) and re.search(r"amount|value|revenue", names):
        return "deals"
    if not any(c.kind in ("timestamp", "date") for c in fp.columns) and re.search(r"name", names):
        return "reps"
    return "activities"


def _type_of(fp: FileProfile) -> str | None:
    stem = fp.path.stem.lower()
    for pat, t in _FILE_TYPES:
        if re.search(pat, stem):
            return t
    return None


def _q(value: object) -> str:
    """A TOML value (strings as basic strings; JSON's escapes are TOML's)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)


def _key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else _q(name)


def _value(v: object) -> str:
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_key(str(k))} = {_value(x)}" for k, x in v.items()) + " }" if v else "{}"
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    return _q(v)


def _inline(spec: dict[str, object]) -> str:
    """A column spec as a TOML inline table."""
    return _value(spec)


def _counts(c: ColumnProfile, n: int = 8) -> str:
    shown = ", ".join(f"{v[:30]!r} x{k}" for v, k in c.top[:n])
    more = f", ... ({c.distinct} distinct)" if c.distinct > n else ""
    return shown + more


def _time_spec(c: ColumnProfile) -> dict[str, object]:
    spec: dict[str, object] = {"column": c.name}
    if c.twin:
        spec = {"concat": [c.name, {"const": " "}, c.twin]}
    if c.detail == "Excel serial numbers":
        spec["formats"] = ["excel"]
    elif c.dayfirst is not None:
        spec["dayfirst"] = c.dayfirst
    return spec


_OUTCOME_GUESS = {
    "call": {**{k: v for k, v in CALL_LABELS.items()}, "answered": "connected",
             "no-answer": "no_answer", "vm-left": "voicemail", "vm-answer": "voicemail"},
    "meeting": {"completed": "held", "held": "held", "done": "held", "scheduled": "scheduled", "open": "scheduled",
                "canceled": "canceled", "cancelled": "canceled", "no show": "no_show", "rescheduled": "rescheduled"},
    "email": {"completed": "sent", "sent": "sent", "done": "sent", "bounced": "bounced", "replied": "replied",
              "received": "replied"},
    "task": {"completed": "completed", "done": "completed", "closed": "completed"},
    "follow_up": {"completed": "completed", "done": "completed"},
}  # fmt: skip


def _outcome_map(c: ColumnProfile, atype: str | None) -> tuple[dict[str, str], list[str]]:
    """(value -> outcome for the values a guess covers, the values it does not)."""
    table = {label_key(k): v for k, v in _OUTCOME_GUESS.get(atype or "", {}).items()}
    pb = Playbook.default()
    found, left = {}, []
    for v, _ in c.top:
        o = table.get(label_key(v)) or pb.map_outcome(v)
        if o and (atype is None or o in pb.outcomes_for(atype)):
            found[v] = o
        else:
            left.append(v)
    return found, left


def _stage_map(c: ColumnProfile) -> tuple[dict[str, str], list[str]]:
    """(value -> playbook stage, where a stage's name is in the value; the values left)."""
    pb = Playbook.default()
    names = sorted(pb.stage_names, key=len, reverse=True)
    found, left = {}, []
    for v, _ in c.top:
        k = label_key(v)
        stage = next((n for n in names if label_key(n) in k or label_key(n).rstrip("s") in k), None)
        if stage is None:
            stage = next((n for n in names if label_key(n)[:6] in k), None)
        if stage:
            found[v] = stage
        else:
            left.append(v)
    return found, left


def _activities_block(fp: FileProfile, lines: list[str], owner_cols: dict[str, str]) -> None:
    atype = _type_of(fp)
    used: set[str] = set()
    chosen: dict[str, tuple[str, str]] = {}  # canonical -> (spec text, comment)
    for canon in ("activity_id", "rep_id", "occurred_at", "duration_s", "direction", "outcome", "notes",
                  "account_id", "contact_id", "deal_id"):  # fmt: skip
        c = _pick(fp, canon, _HEADERS[canon], used, _KINDS[canon])
        if c is None:
            continue
        if canon == "activity_id" and c.distinct < c.filled:
            continue
        used.add(c.name)
        if canon == "occurred_at":
            spec = _time_spec(c)
            note = f"guess: {c.describe(fp.rows)}"
            if c.filled < fp.rows and not c.twin:
                more = [x for x in _candidates(fp, _HEADERS[canon], _KINDS[canon]) if x.name != c.name][:3]
                if more:
                    spec = {
                        "first": [c.name, *[x.name for x in more]],
                        **{k: v for k, v in spec.items() if k != "column"},
                    }
                    note = f"the first filled of these (guess: {c.name} is {c.filled / fp.rows:.0%} filled)"
            chosen[canon] = (_inline(spec), note)
        elif canon == "duration_s":
            low = c.name.lower()
            if c.kind == "hms":
                chosen[canon] = (_inline({"column": c.name, "duration": "hms"}), "HH:MM(:SS) -> seconds")
            else:
                scale = 60 if re.search(r"min", low) else 0.001 if re.search(r"\bms\b|milli", low) else 1
                unit = {60: "minutes", 0.001: "milliseconds", 1: "seconds"}[scale]
                spec = {"column": c.name} if scale == 1 else {"column": c.name, "scale": scale}
                chosen[canon] = (_inline(spec), f"guess: {unit} (the header says {c.name!r}); check the unit")
        elif canon == "direction":
            m = {}
            for v, _ in c.top:
                k = label_key(v)
                if re.search(r"out|sent|outgoing", k):
                    m[v] = "outbound"
                elif re.search(r"^in|incoming|received", k):
                    m[v] = "inbound"
            note = f"values: {_counts(c)}"
            left = [v for v, _ in c.top if v not in m]
            if left:
                note += f"; TODO map {', '.join(repr(v) for v in left[:6])} to outbound / inbound"
            chosen[canon] = (_inline({"column": c.name, "map": m}), note)
        elif canon == "outcome":
            found, left = _outcome_map(c, atype)
            spec = {"column": c.name, "map": found}
            note = f"values: {_counts(c)}"
            if left:
                note += f"; not mapped (left empty): {', '.join(repr(v) for v in left[:8])}"
            chosen[canon] = (_inline(spec), note)
        elif canon == "rep_id":
            owner_cols[fp.name] = c.name
            chosen[canon] = (_q(c.name), f"guess: the owner ({c.describe(fp.rows)}); reps are built from it below")
        elif canon == "notes":
            html = any("<" in v and ">" in v for v, _ in c.top)
            spec_text = _inline({"column": c.name, "html": True}) if html else _q(c.name)
            chosen[canon] = (spec_text, f"guess: {c.describe(fp.rows)}")
        else:
            chosen[canon] = (_q(c.name), f"guess: {c.describe(fp.rows)}")
    if "activity_id" not in chosen:
        spec = {"concat": [{"file": True}, {"const": "-"}, {"row": True}]}
        chosen["activity_id"] = (_inline(spec), "no unique id column: the file name and the row number")
    if "duration_s" not in chosen:
        starts = [c for c in fp.columns if c.kind in ("timestamp",) and re.search(r"start", c.name.lower())]
        ends = [c for c in fp.columns if c.kind in ("timestamp",) and re.search(r"end", c.name.lower())]
        if starts and ends:
            spec = {"start": starts[0].name, "end": ends[0].name}
            if starts[0].dayfirst is not None:
                spec["dayfirst"] = starts[0].dayfirst
            chosen["duration_s"] = (_inline(spec), "seconds from start to end")
    type_col = _pick(fp, "activity_type", [r"^(type|activity ?type|activitytypecode|kind|category|channel)$"],
                     used, {"category", "text", "id"})  # fmt: skip
    if type_col is not None:
        pb = Playbook.default()
        m = {}
        for v, _ in type_col.top:
            k = label_key(v)
            t = next((t for pat, t in _FILE_TYPES if re.search(pat, k)), None) or (
                k if k in pb.activity_types else None
            )
            if t:
                m[v] = t
        spec = {"column": type_col.name, "map": m, "default": atype or "task"}
        chosen["activity_type"] = (_inline(spec), f"values: {_counts(type_col)}")
    elif atype:
        chosen["activity_type"] = (_inline({"const": atype}), f"from the file name {fp.name!r}")
    else:
        chosen["activity_type"] = (_inline({"const": "task"}), "TODO: no type column and the file name says none")
    lines += ["[[activities]]", f"file = {_q(fp.name)}"]
    status = next((c for c in fp.columns if c.name not in used and c.kind in ("category", "text", "id", "number", "boolean")
                   and re.search(r"^(status|state)|status ?(code|reason)?$|statecode|statuscode", _words(c.name))), None)  # fmt: skip
    if status is not None:
        done = [v for v, _ in status.top if re.search(r"(?i)complet|done|closed|held|sent|made", v)]
        lines.append(f"# TODO keep only what happened? {status.name}: {_counts(status)}")
        lines.append(f"# where = [{_inline({'column': status.name, 'in': done or ['...']})}]")
    lines.append("[activities.columns]")
    order = [c for c in schema.columns("activities") if c in chosen]
    for canon in order:
        spec_text, note = chosen[canon]
        lines.append(f"{canon} = {spec_text}  # {note}")
    for canon in schema.required_columns("activities"):
        if canon not in chosen:
            lines.append(f'# TODO {canon} = "..."  (required; no column looked like it)')
    lines.append("")


def _simple_block(fp: FileProfile, table: str, headers: dict[str, list[str]], lines: list[str]) -> None:
    used: set[str] = set()
    chosen: dict[str, tuple[str, str]] = {}
    status = next((c for c in fp.columns if re.search(r"status|state|won|outcome", _words(c.name))
                   and c.kind in ("category", "text", "id")), None)  # fmt: skip
    for canon, pats in headers.items():
        kinds = _KINDS.get(f"{canon}@{table}", _KINDS[canon])
        c = _pick(fp, canon, pats, used, kinds)
        if c is None:
            continue
        used.add(c.name)
        if canon in ("created_at", "closed_at", "hired_at", "left_at"):
            spec = _time_spec(c)
            note = f"guess: {c.describe(fp.rows)}"
            if canon == "closed_at" and status is not None:
                closed = [v for v, _ in status.top if re.search(r"(?i)won|lost|closed|win|loss", v)]
                spec["when"] = {"column": status.name, "in": closed}
                note += f"; only where {status.name} is closed (an open deal's close date is a forecast)"
            chosen[canon] = (_inline(spec), note)
        elif canon == "amount":
            chosen[canon] = (_inline({"column": c.name, "money": True}), f"guess: {c.describe(fp.rows)}")
        elif canon == "stage":
            found, left = _stage_map(c)
            note = f"values: {_counts(c)}"
            if left:
                note += f"; TODO map to playbook stages: {', '.join(repr(v) for v in left[:8])}"
            chosen[canon] = (_inline({"column": c.name, "map": found}), note)
        else:
            chosen[canon] = (_q(c.name), f"guess: {c.describe(fp.rows)}")
    if table == "deals" and status is not None:
        won = {v: True for v, _ in status.top if re.search(r"(?i)\bwon\b|\bwin\b|closed ?won", v)}
        lost = {v: False for v, _ in status.top if re.search(r"(?i)lost|loss|closed ?lost", v)}
        closed = {**{v: True for v in won}, **{v: True for v in lost}}
        opened = {v: False for v, _ in status.top if re.search(r"(?i)open|active|progress|pending|new", v)}
        left = [v for v, _ in status.top if v not in closed and v not in opened]
        note = f"values: {_counts(status)}"
        if left:
            note += f"; TODO say which of {', '.join(repr(v) for v in left[:6])} are won, lost or open"
        chosen["is_won"] = (_inline({"column": status.name, "map": {**won, **lost}}), note)
        chosen["is_closed"] = (_inline({"column": status.name, "map": {**closed, **opened}}), "won and lost are closed")
    lines += [f"[[{table}]]", f"file = {_q(fp.name)}"]
    key = chosen.get("rep_id" if table == "reps" else "deal_id")
    if key:
        lines.append(f"dedupe = [{key[0]}]" if key[0].startswith('"') else "")
    lines.append(f"[{table}.columns]")
    for canon in [c for c in schema.columns(table) if c in chosen]:
        spec_text, note = chosen[canon]
        lines.append(f"{canon} = {spec_text}  # {note}")
    for canon in schema.required_columns(table):
        if canon not in chosen:
            lines.append(f'# TODO {canon} = "..."  (required; no column looked like it)')
    lines.append("")


def _day_order(profiles: list[FileProfile]) -> None:
    """Give d/m/y columns whose own values do not decide the order the order of other columns with that separator.

    Without any evidence: day-first for ``.`` and ``-`` dates, month-first for ``/`` (US), marked TODO.
    """
    evidence: dict[str, set[bool]] = {}
    for p in profiles:
        for c in p.columns:
            if c.dayfirst is not None and c.sep:
                evidence.setdefault(c.sep, set()).add(c.dayfirst)
    for p in profiles:
        for c in p.columns:
            if not c.detail.startswith(_UNKNOWN):
                continue
            seen = evidence.get(c.sep, set())
            if len(seen) == 1:
                c.dayfirst = next(iter(seen))
                c.detail = f"{'day' if c.dayfirst else 'month'}-first like the other {c.sep!r} dates of the export"
            else:
                c.dayfirst = c.sep != "/"
                order = "day-first" if c.dayfirst else "month-first"
                c.detail = f"TODO check: no date has a day above 12; assumed {order}"


def draft_mapping(paths: list[Path], *, options: ImportOptions | None = None) -> tuple[str, Path]:
    """A commented draft mapping for the files (folders stand for their CSV files) and the folder to import.

    File names in the draft are relative to that folder (the files' common parent).
    """
    files = csv_files(list(paths))
    root = Path(os.path.commonpath([str(f.resolve().parent) for f in files]))
    profiles = [profile_file(f, f.resolve().relative_to(root).as_posix(), options) for f in files]
    _day_order(profiles)
    lines = [
        "# Draft mapping written by `coachkit import csv --draft-mapping`: every guess has a comment; check",
        "# each one, fix the TODO lines, then run",
        f"#   coachkit import csv {root} --mapping THIS_FILE --out DATASET",
        "# Reference: coachkit/importers/mappings/README.md (column specs, [[activities]] blocks, options).",
        "",
    ]
    lines.append("[options]")
    encs = {p.encoding for p in profiles}
    delims = {p.delimiter for p in profiles}
    lines.append(
        f"# read as: encoding {', '.join(sorted(encs))}; delimiter "
        f"{', '.join('tab' if d == chr(9) else repr(d) for d in sorted(delims))} (both detected per file)"
    )
    if any(c.detail == "decimal comma" for p in profiles for c in p.columns):
        lines.append('decimal = ","  # some numbers have a decimal comma (12,5)')
    if any("ambiguous" in c.detail for p in profiles for c in p.columns):
        lines.append('# TODO decimal = "." or ","  # some numbers are ambiguous (1,234): say which mark is decimal')
    lines.append('# source_timezone = "UTC"  # the zone of times without an offset (default: the playbook\'s)')
    lines.append("")
    lines.append("# ---- the files " + "-" * 70)
    for p in profiles:
        lines.append(f"# {p.name}: {p.rows:,} row{'s' if p.rows != 1 else ''}, table guess: {_table_of(p)}")
        for c in p.columns:
            vals = f"; values: {_counts(c, 6)}" if c.kind in ("category", "boolean") else ""
            lines.append(f"#   {c.describe(p.rows)}{vals}")
    lines.append("")
    owner_cols: dict[str, str] = {}
    body: list[str] = []
    tables = {p.name: _table_of(p) for p in profiles}
    for p in profiles:
        if tables[p.name] == "deals":
            _simple_block(p, "deals", _DEAL_HEADERS, body)
    for p in profiles:
        if tables[p.name] == "activities":
            _activities_block(p, body, owner_cols)
    reps = [p for p in profiles if tables[p.name] == "reps"]
    head: list[str] = []
    if reps:
        for p in reps:
            _simple_block(p, "reps", _REP_HEADERS, head)
    elif owner_cols:
        head.append("# no users file: one rep per owner value of the activity files")
        for file, col in owner_cols.items():
            head += ["[[reps]]", f"file = {_q(file)}", f"dedupe = [{_q(col)}]", "[reps.columns]"]
            head += [f"rep_id = {_q(col)}", f"name = {_q(col)}", ""]
    else:
        head += ["# TODO [reps]: no users file and no owner column found", ""]
    text = "\n".join(lines + head + body).rstrip() + "\n"
    return re.sub(r"\n\n\n+", "\n\n", text.replace("\n\n[", "\n\n[")), root
