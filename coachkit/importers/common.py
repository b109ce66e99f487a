"""Shared pieces of the CRM importers: the report, the error, and value parsers.

Every importer reads an export folder at its edge (:func:`read_export_csv`),
maps DataFrames with the pure functions here, and returns an
:class:`ImportResult`. Parsers are vectorised over pandas Series; when a
non-empty value cannot be parsed they raise :class:`ExportError` naming the
file, row, column and value.
"""

from __future__ import annotations

import html.parser
import re
import tomllib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from .. import schema
from ..dataset import SalesData
from ..playbook import Playbook, normalize_label

__all__ = [
    "ExportError",
    "ImportReport",
    "ImportResult",
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
    "map_labels",
    "map_outcomes",
    "classify_activity",
    "role_from_title",
    "add_missing_reps",
    "finish",
]


class ExportError(ValueError):
    """An export lacks required data: a file, a column, or a value that cannot be read.

    ``file``, ``column``, ``row`` (as in the file: the header is row 1) and
    ``value`` say where; the message also says what would be right.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        column: str | None = None,
        row: int | None = None,
        value: object = None,
    ) -> None:
        self.file = str(file) if file is not None else None
        self.column = column
        self.row = row
        self.value = value
        where = []
        if self.file:
            where.append(self.file)
        if row is not None:
            where.append(f"row {row}")
        if column:
            where.append(f"column {column!r}")
        if value is not None:
            where.append(f"value {value!r}")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)


# ---- the report --------------------------------------------------------------------------------


@dataclass
class ImportReport:
    """What an import did: rows read per file, rows mapped per table, drops, unmapped values, warnings."""

    source: str = ""
    rows_read: dict[str, int] = field(default_factory=dict)
    rows_mapped: dict[str, int] = field(default_factory=dict)
    dropped: Counter = field(default_factory=Counter)  # (file, reason) -> rows
    unmapped: dict[tuple[str, str], Counter] = field(default_factory=dict)  # (file, column) -> value counts
    warnings: list[str] = field(default_factory=list)

    def read(self, file: str, rows: int) -> None:
        """Record that ``rows`` data rows were read from ``file``."""
        self.rows_read[file] = self.rows_read.get(file, 0) + int(rows)

    def drop(self, file: str, reason: str, rows: int) -> None:
        """Record that ``rows`` rows of ``file`` were dropped for ``reason`` (no-op for 0)."""
        if rows:
            self.dropped[(file, reason)] += int(rows)

    def unmapped_values(self, file: str, column: str, values: pd.Series) -> None:
        """Record raw values of ``column`` in ``file`` that no label map knew (with their counts)."""
        values = values.dropna()
        if values.empty:
            return
        counter = self.unmapped.setdefault((file, column), Counter())
        counter.update(values.astype(str).value_counts().to_dict())

    def warn(self, message: str) -> None:
        """Add a warning (a non-fatal finding the user should know about)."""
        self.warnings.append(message)

    @property
    def rows_dropped(self) -> int:
        """Total rows dropped over all files and reasons."""
        return sum(self.dropped.values())

    def to_text(self) -> str:
        """A readable multi-line summary."""
        lines = [f"Import report for {self.source}" if self.source else "Import report"]
        lines.append("Rows read:")
        for f, n in self.rows_read.items():
            lines.append(f"  {f}: {n:,}")
        lines.append("Rows mapped:")
        for t, n in self.rows_mapped.items():
            lines.append(f"  {t}: {n:,}")
        if self.dropped:
            lines.append("Rows dropped:")
            for (f, reason), n in sorted(self.dropped.items()):
                lines.append(f"  {f}: {n:,} ({reason})")
        if self.unmapped:
            lines.append("Unmapped values (left empty; extend the mapping file to map them):")
            for (f, col), counts in self.unmapped.items():
                top = ", ".join(f"{v!r} x{n}" for v, n in counts.most_common(10))
                more = f" and {len(counts) - 10} more" if len(counts) > 10 else ""
                lines.append(f"  {f} [{col}]: {top}{more}")
        if self.warnings:
            lines.append("Warnings:")
            lines.extend(f"  - {w}" for w in self.warnings)
        return "\n".join(lines)


@dataclass
class ImportResult:
    """The canonical dataset an importer built, and the report of how."""

    data: SalesData
    report: ImportReport


#: Call result labels used by CRMs (matched ignoring case and spacing) -> canonical outcome.
#: Every importer starts from this map; a mapping file's ``[outcomes]`` extends it.
CALL_LABELS: dict[str, str] = {
    "Connected": "connected",
    "Reached": "connected",
    "Spoke": "connected",
    "Conversation": "connected",
    "Left Live Message": "connected",
    "Meeting Booked": "connected",
    "Meeting Scheduled": "connected",
    "Not Interested": "connected",
    "No Answer": "no_answer",
    "No Response": "no_answer",
    "Left Voicemail": "voicemail",
    "Voicemail": "voicemail",
    "Left Message": "voicemail",
    "Busy": "busy",
    "Wrong Number": "wrong_number",
    "Bad Number": "wrong_number",
    "Invalid Number": "wrong_number",
    "Gatekeeper": "gatekeeper",
}


# ---- the CRM mapping file (extends the built-in label maps) -----------------------------------


@dataclass(frozen=True)
class CrmMapping:
    """Extensions of a CRM importer's built-in maps, read from a small TOML file.

    Tables (all optional)::

        [files]            # object -> file name inside SRC, e.g. task = "tasks_2024.csv"
                           # (used instead of the default names; a missing one is an error)
        [outcomes]         # raw label -> canonical outcome, e.g. "Left msg w/ assistant" = "gatekeeper"
        [activity_types]   # raw type -> canonical activity type, e.g. lunch = "meeting"
        [stages]           # raw stage (or stage id) -> playbook stage, e.g. "Demo Done" = "discovery"

    Label keys match case- and spacing-insensitively.
    """

    files: dict[str, str] = field(default_factory=dict)
    outcomes: dict[str, str] = field(default_factory=dict)
    activity_types: dict[str, str] = field(default_factory=dict)
    stages: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_toml(cls, path: str | Path | None) -> CrmMapping:
        """Read a mapping file; ``None`` gives an empty mapping."""
        if path is None:
            return cls()
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ExportError(f"cannot read mapping file: {exc.strerror or exc}", file=path) from exc
        except tomllib.TOMLDecodeError as exc:
            raise ExportError(f"mapping file is not valid TOML: {exc}", file=path) from exc
        allowed = {"files", "outcomes", "activity_types", "stages"}
        for key, value in data.items():
            if key not in allowed:
                raise ExportError(f"unknown table [{key}]; allowed: {', '.join(sorted(allowed))}", file=path)
            if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
                raise ExportError(f"[{key}] must map names to strings", file=path)
        return cls(**{k: dict(v) for k, v in data.items()})


# ---- reading --------------------------------------------------------------------------------------

_CAMEL_1 = re.compile(r"([a-z0-9])([A-Z])")
_CAMEL_2 = re.compile(r"([A-Z]+)([A-Z][a-z])")


def snake_case(name: str) -> str:
    """Header name as snake_case: ``OwnerId`` -> ``owner_id``, ``UserRole.Name`` -> ``user_role_name``.

    Already snake_case names are unchanged; ``__c`` custom-field suffixes become ``_c``.
    """
    s = str(name).strip().lstrip("\ufeff")
    s = re.sub(r"([A-Z]{2,})s\b", lambda m: m.group(1).capitalize() + "s", s)  # IDs -> Ids
    s = _CAMEL_2.sub(r"\1_\2", s)
    s = _CAMEL_1.sub(r"\1_\2", s)
    s = re.sub(r"[^0-9A-Za-z]+", "_", s).strip("_").lower()
    return re.sub(r"_+", "_", s)


def read_export_csv(path: Path, report: ImportReport | None = None, *, normalise: bool = True) -> pd.DataFrame:
    """Read one export CSV as strings (empty cells missing), headers in snake_case.

    Quoted multi-line fields are kept whole. The file is only read, never changed.
    """
    try:
        frame = pd.read_csv(
            path,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            encoding="utf-8-sig",
            skipinitialspace=False,
        )
    except FileNotFoundError as exc:
        raise ExportError("file not found", file=path) from exc
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ExportError(f"not a readable CSV file: {exc}", file=path) from exc
    except pd.errors.EmptyDataError:
        frame = pd.DataFrame()
    if normalise:
        frame.columns = [snake_case(c) for c in frame.columns]
        dup = frame.columns[frame.columns.duplicated()]
        if len(dup):
            raise ExportError(
                "two headers name the same field once written in snake_case; keep one of them",
                file=path,
                column=str(dup[0]),
            )
    frame = frame.astype(schema.STRING) if len(frame.columns) else frame
    if report is not None:
        report.read(path.name, len(frame))
    return frame


def find_file(src: Path, names: list[str]) -> Path | None:
    """The first file in folder ``src`` whose name matches one of ``names`` (ignoring case)."""
    if not src.is_dir():
        raise ExportError("export folder not found (give the folder that holds the CSV files)", file=src)
    by_lower = {p.name.lower(): p for p in src.iterdir() if p.is_file()}
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
) -> OpenedExport:
    """Read the files of a CRM export folder that are present, one per object.

    ``file_names`` maps each object to its accepted default file names (case-insensitive).
    A file the mapping's ``[files]`` names replaces the defaults for its object, and
    must exist: a missing one raises :class:`ExportError` naming it rather than the
    import silently using, or skipping, another file. An unknown object in
    ``[files]`` is an error too (a typo would otherwise be ignored).
    """
    mp = mapping if isinstance(mapping, CrmMapping) else CrmMapping.from_toml(mapping)
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
            frames[obj] = (read_export_csv(path, report), path.name)
    return OpenedExport(mp, pb, report, frames)


def require_columns(frame: pd.DataFrame, columns: list[str], file: str) -> None:
    """Raise :class:`ExportError` naming the first required column ``frame`` lacks."""
    for c in columns:
        if c not in frame.columns:
            have = ", ".join(list(frame.columns)[:15])
            raise ExportError(f"required column is missing; the file has: {have}", file=file, column=c)


def first_present(frame: pd.DataFrame, candidates: list[str]) -> str | None:
    """The first of ``candidates`` that is a column of ``frame``."""
    for c in candidates:
        if c in frame.columns:
            return c
    return None


def column(frame: pd.DataFrame, name: str | None) -> pd.Series:
    """``frame[name]`` as strings, or an all-missing string Series when absent."""
    if name is None or name not in frame.columns:
        return pd.Series(np.nan, index=frame.index, dtype=schema.STRING)
    return frame[name].astype(schema.STRING)


def _row_of(series: pd.Series, mask: pd.Series) -> tuple[int, object]:
    """(row number as in the file, value) of the first True in ``mask``; header is row 1."""
    idx = mask[mask].index[0]
    pos = series.index.get_loc(idx)
    return int(pos) + 2, series.loc[idx]


# ---- text --------------------------------------------------------------------------------------

_BLOCK_TAGS = {"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "table", "blockquote"}


class _TextExtractor(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def _one_html_to_text(value: str) -> str:
    if "<" not in value and "&" not in value:
        return value.strip()
    parser = _TextExtractor()
    parser.feed(value)
    parser.close()
    text = "".join(parser.parts).replace("\xa0", " ")
    lines = [re.sub(r"[ \t]+", " ", ln).strip() for ln in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def html_to_text(values: pd.Series) -> pd.Series:
    """Note bodies as plain text: tags removed (block tags become line breaks), entities unescaped.

    Script and style content is dropped. Parsing runs once per distinct value.
    Empty results are missing values.
    """
    s = values.astype(schema.STRING)
    uniques = s.dropna().unique()
    table = {u: _one_html_to_text(u) for u in uniques}
    out = s.map(table).astype(schema.STRING)
    return out.where(out.str.len() > 0)


_FOLLOW_UP = r"(?i)(?<![a-z])follow[\s_\-]*ups?(?![a-z])"


def is_follow_up(values: pd.Series) -> pd.Series:
    """True where the text says "follow up", "follow-up" or "followup" (any case); False when missing."""
    return values.astype(schema.STRING).str.contains(_FOLLOW_UP, regex=True).fillna(False).astype(bool)


def label_key(value: object) -> str:
    """Matching key of a label: lower case without spaces, ``_`` or ``-`` (``Follow UP`` == ``followup``)."""
    return re.sub(r"[\s_\-]+", "", str(value).strip().lower())


# ---- values ------------------------------------------------------------------------------------

_OFFSET = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$", re.IGNORECASE)
_EPOCH = re.compile(r"^\d{11,14}(?:\.\d+)?$")


def _localize(naive: pd.Series, zone: str, target: str) -> pd.Series:
    """Naive wall times in ``zone`` as naive wall times in ``target``."""
    if zone == target or naive.empty:
        return naive
    aware = naive.dt.tz_localize(zone, ambiguous=False, nonexistent="shift_forward")
    return aware.dt.tz_convert(target).dt.tz_localize(None)


def parse_timestamps(
    values: pd.Series,
    *,
    file: str,
    column: str,
    timezone: str,
    assume: str | None = None,
    formats: list[str] | None = None,
) -> pd.Series:
    """Parse timestamps to tz-naive wall time in ``timezone`` (the playbook's).

    - Values with an offset (``Z``, ``+0000``, ``+01:00``) are converted to ``timezone``.
    - Values without one are wall time in ``assume`` (default: ``timezone`` itself).
    - Digits-only values of 11-14 digits are epoch milliseconds (UTC).
    - ``formats`` (strptime patterns) are tried in order; without them ISO 8601.

    Missing values stay missing. A non-empty value no format reads raises :class:`ExportError`.
    """
    s = values.astype(schema.STRING).str.strip()
    s = s.where(s.str.len() > 0)
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    present = s.notna()
    epoch = present & s.str.match(_EPOCH.pattern).fillna(False).astype(bool)
    offset = present & ~epoch & s.str.contains(_OFFSET.pattern, regex=True).fillna(False).astype(bool)
    naive = present & ~epoch & ~offset
    if epoch.any():
        ts = pd.to_datetime(pd.to_numeric(s[epoch]), unit="ms", utc=True)
        out[epoch] = ts.dt.tz_convert(timezone).dt.tz_localize(None).astype("datetime64[ns]")
    if offset.any():
        ts = pd.to_datetime(s[offset], utc=True, errors="coerce", format="ISO8601")
        out[offset] = ts.dt.tz_convert(timezone).dt.tz_localize(None).astype("datetime64[ns]")
    if naive.any():
        parsed = _parse_naive(s[naive], formats)
        out[naive] = _localize(parsed.astype("datetime64[ns]"), assume or timezone, timezone)
    bad = present & out.isna()
    if bad.any():
        row, value = _row_of(s, bad)
        hint = f"formats tried: {', '.join(formats)}" if formats else "use ISO 8601 like 2024-03-01T09:30:00Z"
        raise ExportError(f"cannot read this timestamp ({hint})", file=file, column=column, row=row, value=value)
    return out


def _parse_naive(s: pd.Series, formats: list[str] | None) -> pd.Series:
    if not formats:
        return pd.to_datetime(s, errors="coerce", format="ISO8601")
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    for fmt in formats:
        todo = out.isna()
        if not todo.any():
            break
        out[todo] = pd.to_datetime(s[todo], errors="coerce", format=fmt).astype("datetime64[ns]")
    return out


def parse_dates(values: pd.Series, *, file: str, column: str, formats: list[str] | None = None) -> pd.Series:
    """Parse calendar dates (no timezone conversion: a date is the same day everywhere) to midnight.

    A time part, if any, is discarded (``2018-12-19 00:00:00`` -> 2018-12-19).
    """
    s = values.astype(schema.STRING).str.strip()
    s = s.where(s.str.len() > 0)
    present = s.notna()
    if formats:
        parsed = _parse_naive(s[present], formats)
    else:
        head = s[present].str.replace(r"[T ].*$", "", regex=True)
        parsed = pd.to_datetime(head, errors="coerce", format="ISO8601")
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    out[present] = parsed.astype("datetime64[ns]").dt.normalize()
    bad = present & out.isna()
    if bad.any():
        row, value = _row_of(s, bad)
        hint = f"formats tried: {', '.join(formats)}" if formats else "use dates like 2024-03-01"
        raise ExportError(f"cannot read this date ({hint})", file=file, column=column, row=row, value=value)
    return out


def parse_numbers(values: pd.Series, *, file: str, column: str, scale: float = 1.0) -> pd.Series:
    """Parse plain numbers (``1234.5``) as float, times ``scale``; a bad value raises :class:`ExportError`."""
    s = values.astype(schema.STRING).str.strip()
    s = s.where(s.str.len() > 0)
    out = pd.to_numeric(s, errors="coerce").astype("float64")
    bad = s.notna() & out.isna()
    if bad.any():
        row, value = _row_of(s, bad)
        raise ExportError(
            "not a number (use digits and a dot, like 1234.5)", file=file, column=column, row=row, value=value
        )
    return out * scale


_MONEY_SUFFIX = {"k": 1e3, "m": 1e6, "mm": 1e6, "b": 1e9, "bn": 1e9}


def parse_money(values: pd.Series, *, file: str, column: str) -> pd.Series:
    """Parse amounts like ``$22,700.00``, ``342.09K``, ``1.2M``, ``(500)`` (negative) or ``EUR 99`` as float."""
    s = values.astype(schema.STRING).str.strip()
    s = s.where(s.str.len() > 0)
    neg = s.str.match(r"^\(.*\)$").fillna(False).astype(bool) | s.str.match(r"^-").fillna(False).astype(bool)
    core = s.str.replace(r"[()\s,]|^-", "", regex=True).str.replace(r"^[^\d.]*", "", regex=True)
    parts = core.str.extract(r"^(\d*\.?\d+)([a-zA-Z]*)$")
    number = pd.to_numeric(parts[0], errors="coerce")
    suffix = parts[1].str.lower()
    factor = suffix.map(lambda x: 1.0 if x == "" else _MONEY_SUFFIX.get(x, np.nan) if isinstance(x, str) else np.nan)
    out = (number * pd.to_numeric(factor, errors="coerce")).astype("float64")
    out = out.where(~neg, -out)
    bad = s.notna() & out.isna()
    if bad.any():
        row, value = _row_of(s, bad)
        raise ExportError(
            "not an amount (examples: 22700, $22,700.00, 342.09K, 1.2M)", file=file, column=column, row=row, value=value
        )
    return out


def parse_hms(values: pd.Series, *, file: str, column: str) -> pd.Series:
    """Durations ``HH:MM`` or ``HH:MM:SS`` (hours may exceed 24) as seconds."""
    s = values.astype(schema.STRING).str.strip()
    s = s.where(s.str.len() > 0)
    parts = s.str.extract(r"^(\d+):([0-5]?\d)(?::([0-5]?\d(?:\.\d+)?))?$")
    h = pd.to_numeric(parts[0], errors="coerce")
    m = pd.to_numeric(parts[1], errors="coerce")
    sec = pd.to_numeric(parts[2], errors="coerce").fillna(0.0)
    out = (h * 3600 + m * 60 + sec).astype("float64")
    bad = s.notna() & out.isna()
    if bad.any():
        row, value = _row_of(s, bad)
        raise ExportError("not a duration (use HH:MM or HH:MM:SS)", file=file, column=column, row=row, value=value)
    return out


_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}


def parse_bools(values: pd.Series, *, file: str, column: str) -> pd.Series:
    """``true``/``false``, ``1``/``0``, ``yes``/``no`` (any case) as nullable booleans."""
    s = values.astype(schema.STRING).str.strip().str.lower()
    s = s.where(s.str.len() > 0)
    out = pd.Series(pd.NA, index=s.index, dtype="boolean")
    out[s.isin(_TRUE)] = True
    out[s.isin(_FALSE)] = False
    bad = s.notna() & out.isna()
    if bad.any():
        row, value = _row_of(values.astype(schema.STRING), bad)
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


# ---- label maps --------------------------------------------------------------------------------


def map_labels(values: pd.Series, table: dict[str, str]) -> pd.Series:
    """Map raw labels through ``table`` matching with :func:`label_key`; unknown labels -> missing."""
    keyed = {label_key(k): v for k, v in table.items()}
    s = values.astype(schema.STRING)
    uniques = s.dropna().unique()
    lookup = {u: keyed.get(label_key(u), np.nan) for u in uniques}
    return s.map(lookup).astype(schema.STRING)


def map_outcomes(
    raw: pd.Series,
    activity_type: pd.Series,
    labels: dict[str, str],
    playbook: Playbook,
    report: ImportReport,
    *,
    file: str,
    column: str,
) -> pd.Series:
    """Canonical outcome of each raw label, or missing.

    The importer's ``labels`` are tried first, then the playbook's label map and
    canonical names. Labels nobody knows, and outcomes the playbook does not
    allow for the row's activity type, are reported as unmapped.
    """
    s = raw.astype(schema.STRING)
    mapped = map_labels(s, labels)
    rest = mapped.isna() & s.notna()
    if rest.any():
        uniques = s[rest].unique()
        pb = {u: playbook.map_outcome(u) for u in uniques}
        mapped[rest] = s[rest].map({u: (pb[u] if pb[u] is not None else np.nan) for u in uniques}).astype(schema.STRING)
    unknown = s.notna() & mapped.isna()
    report.unmapped_values(file, column, s[unknown])
    # an outcome must belong to the row's activity type (e.g. no "held" on a call)
    allowed_pairs = {(t, o) for t in playbook.activity_types for o in playbook.outcomes_for(t)}
    pair_ok = _pairs_ok(activity_type, mapped, allowed_pairs)
    wrong = mapped.notna() & ~pair_ok
    if wrong.any():
        report.unmapped_values(file, f"{column} (outcome not allowed for the activity type)", s[wrong])
        mapped = mapped.where(~wrong)
    return mapped.astype(schema.STRING)


def _pairs_ok(types: pd.Series, outcomes: pd.Series, allowed: set[tuple[str, str]]) -> pd.Series:
    frame = pd.DataFrame({"t": types.astype(object), "o": outcomes.astype(object)})
    ok = pd.DataFrame(sorted(allowed), columns=["t", "o"]).assign(_ok=True)
    merged = frame.merge(ok, on=["t", "o"], how="left")
    return pd.Series(merged["_ok"].fillna(False).astype(bool).to_numpy(), index=types.index)


def classify_activity(
    type_label: pd.Series,
    subject: pd.Series | None,
    *,
    built_in: dict[str, str],
    custom: dict[str, str] | None = None,
    default: str = "task",
) -> tuple[pd.Series, pd.Series]:
    """Activity type of each row, and a mask of type labels nobody knew.

    Order: the mapping file's ``custom`` types; the importer's ``built_in`` map;
    then "follow up" / "follow-up" / "followup" in the type or subject makes a row
    that is still unknown or ``default`` a follow_up; otherwise ``default``.
    Unknown is True where a non-empty type label matched no map.
    """
    labels = type_label.astype(schema.STRING)
    out = map_labels(labels, custom) if custom else pd.Series(np.nan, index=labels.index, dtype=schema.STRING)
    out = out.fillna(map_labels(labels, built_in))
    unknown = out.isna() & labels.notna()
    fu = is_follow_up(labels)
    if subject is not None:
        fu |= is_follow_up(subject)
    generic = (out.isna() | out.eq(default)).fillna(True).astype(bool)
    out[generic & fu] = "follow_up"
    unknown &= ~(generic & fu)
    out = out.fillna(default)
    return out.astype(schema.STRING), unknown


def role_from_title(title: pd.Series) -> pd.Series:
    """SDR/BDR or AE when a job title says so (``Sales Development Rep`` -> SDR); else missing."""
    t = title.astype(schema.STRING)
    sdr = t.str.contains(r"(?i)\b(?:sdr|bdr|sales development|business development)\b", regex=True).fillna(False)
    ae = t.str.contains(r"(?i)\b(?:ae|account executive)\b", regex=True).fillna(False)
    out = pd.Series(np.nan, index=t.index, dtype=schema.STRING)
    out[ae.astype(bool)] = "AE"
    out[sdr.astype(bool)] = "SDR"
    return out


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


def finish(
    activities: list[pd.DataFrame],
    reps: pd.DataFrame,
    deals: pd.DataFrame | None,
    playbook: Playbook,
    report: ImportReport,
    *,
    users_file: str,
) -> ImportResult:
    """Combine mapped frames, add missing owners as reps, conform dtypes and fill the report's counts."""
    parts = [a for a in activities if len(a)]
    acts = pd.concat(parts, ignore_index=True) if parts else schema.empty("activities")
    acts = schema.conform(acts, "activities")
    deal_frame = schema.conform(deals if deals is not None else schema.empty("deals"), "deals")
    reps = reps.drop_duplicates("rep_id", keep="first")
    owners = pd.concat([acts["rep_id"], deal_frame["rep_id"]], ignore_index=True)
    reps = add_missing_reps(reps, owners, report, users_file=users_file)
    dup = acts["activity_id"].duplicated(keep=False)
    if dup.any():
        first = acts.loc[dup, "activity_id"].iloc[0]
        raise ExportError(
            f"{int(dup.sum())} activities share an id across files (e.g. {first!r}); ids must be unique",
            column="activity_id",
            value=first,
        )
    data = SalesData.from_frames(acts, reps, deal_frame, playbook, source=report.source)
    report.rows_mapped = {"activities": len(data.activities), "reps": len(data.reps), "deals": len(data.deals)}
    return ImportResult(data=data, report=report)


def resolve_playbook(playbook: Playbook | str | Path | None) -> Playbook:
    """The given playbook, one read from a path, or the default."""
    if playbook is None:
        return Playbook.default()
    if isinstance(playbook, Playbook):
        return playbook
    return Playbook.from_toml(playbook)


def deal_link(what_id: pd.Series, prefix: str = "006") -> pd.Series:
    """Salesforce WhatId as a deal id when it is an Opportunity id (key prefix ``006``), else missing."""
    s = what_id.astype(schema.STRING)
    return s.where(s.str.startswith(prefix).fillna(False).astype(bool)).astype(schema.STRING)


def normalise_stage(labels: pd.Series, extra: dict[str, str], playbook: Playbook) -> tuple[pd.Series, pd.Series]:
    """Playbook stage of each raw stage label and a mask of labels nobody knew.

    ``extra`` (importer defaults plus the mapping file) is tried first, then the
    playbook's stage names (case- and spacing-insensitive).
    """
    names = {normalize_label(n): n for n in playbook.stage_names}
    table = dict(names)
    table.update(extra)
    out = map_labels(labels, table)
    return out, labels.notna() & out.isna()
