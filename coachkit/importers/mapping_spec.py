"""What a CSV mapping file may say, checked before any file is read.

A mapping file (TOML) has ``[options]`` and, per canonical table (``reps``,
``deals``, ``activities``), one block (``[activities]``) or several
(``[[activities]]``, one per source file or group of files, each with its own
column map). :func:`read_mapping` returns a :class:`Mapping` whose ``tables``
hold a list of blocks per table. Every error names the key and what would be
right. The reference is ``coachkit/importers/mappings/README.md``.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import schema
from ..files import os_reason
from .options import ImportOptions
from .report import ExportError

__all__ = ["Mapping", "read_mapping", "check_mapping", "SOURCES", "TRANSFORMS", "FILTERS", "BLOCK_KEYS"]

SOURCES = ("column", "const", "concat", "first", "row", "file", "start")
TRANSFORMS = (
    "map",
    "map_by_type",
    "default",
    "formats",
    "dayfirst",
    "decimal",
    "money",
    "scale",
    "duration",
    "html",
    "when",
    "lookup",
    "end",
)
BLOCK_KEYS = ("file", "files", "where", "dedupe", "columns", "rep_from_deals")
FILTERS = ("not_empty", "equals", "in", "not_in")


@dataclass(frozen=True)
class Mapping:
    """A checked mapping: table -> its blocks (each a dict as in the file); the options; where it came from."""

    tables: dict[str, list[dict[str, Any]]]
    options: ImportOptions = field(default_factory=ImportOptions)
    source: str = "<mapping>"

    def files(self, table: str) -> list[str]:
        """The source files of ``table``'s blocks, in order (a file named twice is listed once)."""
        out: list[str] = []
        for block in self.tables.get(table, []):
            for f in block_files(block):
                if f not in out:
                    out.append(f)
        return out


def block_files(block: dict[str, Any]) -> list[str]:
    """The file(s) one block reads."""
    return [block["file"]] if "file" in block else list(block["files"])


def read_mapping(path: str | Path) -> Mapping:
    """Read and check a mapping file; errors name the key and what would be right."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ExportError(f"the mapping file: {os_reason(exc, path)}", file=path) from None
    except UnicodeDecodeError:
        raise ExportError("the mapping file is not UTF-8; save it as UTF-8", file=path) from None
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
    if not isinstance(options, dict):
        raise fail("[options] must be a table")
    opts = ImportOptions.from_table(options, file=source)
    tables: dict[str, list[dict[str, Any]]] = {}
    for name in schema.TABLES:
        if name not in data:
            continue
        raw = data[name]
        blocks = raw if isinstance(raw, list) else [raw]
        if not blocks or not all(isinstance(b, dict) for b in blocks):
            raise fail(f"[{name}] must be a table, or [[{name}]] tables (one per source file)")
        for i, sec in enumerate(blocks):
            where = f"[{name}]" if len(blocks) == 1 and not isinstance(raw, list) else f"[[{name}]] #{i + 1}"
            _check_block(name, sec, where, fail, has_deals="deals" in data)
        tables[name] = blocks
    return Mapping(tables=tables, options=opts, source=source)


def _check_block(name: str, sec: dict[str, Any], where: str, fail: Any, *, has_deals: bool) -> None:
    unknown = set(sec) - set(BLOCK_KEYS)
    if unknown:
        raise fail(f"unknown key(s) in {where}: {sorted(unknown)}; allowed: {', '.join(BLOCK_KEYS)}")
    if ("file" in sec) == ("files" in sec):
        raise fail(f"{where} needs exactly one of `file` or `files`")
    if "files" in sec and not (isinstance(sec["files"], list) and all(isinstance(f, str) for f in sec["files"])):
        raise fail(f"{where} files must be a list of file names")
    cols = sec.get("columns", {})
    if not isinstance(cols, dict):
        raise fail(f"{where} columns must be a table of canonical column = spec")
    for c in cols:
        if c not in schema.columns(name):
            raise fail(f"{where} columns has `{c}`, not a canonical column; use: {', '.join(schema.columns(name))}")
    for c in schema.required_columns(name):
        if c not in cols and not (name == "activities" and c == "rep_id" and "rep_from_deals" in sec):
            raise fail(f"{where} columns must say how to fill the required column `{c}`")
    for c, spec in cols.items():
        _check_spec(spec, f"{where} columns.{c}", fail, top=True)
        if isinstance(spec, dict) and "start" in spec and c != "duration_s":
            raise fail(f"{where} columns.{c}: `start`/`end` give a duration, only for duration_s")
        if isinstance(spec, dict) and "lookup" in spec and c != "rep_id":
            raise fail(f"{where} columns.{c}: `lookup` finds a rep by name, only for rep_id")
    for i, w in enumerate(sec.get("where", [])):
        _check_filter(w, f"{where} where[{i}]", fail)
    dedupe = sec.get("dedupe")
    if dedupe is not None and not (
        dedupe is True
        or (isinstance(dedupe, list) and all(isinstance(x, str) for x in dedupe))
        or (isinstance(dedupe, dict) and set(dedupe) == {"except"} and isinstance(dedupe["except"], list))
    ):
        raise fail(f'{where} dedupe must be a list of columns, true (every column), or {{ except = ["Id"] }}')
    if "rep_from_deals" in sec:
        link = sec["rep_from_deals"]
        if name != "activities" or not isinstance(link, dict) or "on" not in link or not has_deals:
            raise fail("`rep_from_deals` belongs in [activities], needs `on`, and needs a [deals] table")


def _check_filter(w: Any, where: str, fail: Any) -> None:
    if not isinstance(w, dict) or "column" not in w or len(set(w) & set(FILTERS)) != 1 or set(w) - {"column", *FILTERS}:
        raise fail(f"{where} must be {{ column = ..., <one of {', '.join(FILTERS)}> = ... }}")


def _check_spec(spec: Any, where: str, fail: Any, *, top: bool) -> None:
    if isinstance(spec, str):
        return
    if not isinstance(spec, dict):
        raise fail(f'`{where}` must be a column name or a table like {{ column = "..." }}')
    sources = [k for k in SOURCES if k in spec]
    if len(sources) != 1:
        raise fail(f"`{where}` needs exactly one of {', '.join(SOURCES)} (start goes with end)")
    unknown = set(spec) - set(SOURCES) - set(TRANSFORMS)
    if unknown:
        raise fail(f"`{where}` has unknown key(s) {sorted(unknown)}; allowed: {', '.join(SOURCES + TRANSFORMS)}")
    if ("start" in spec) != ("end" in spec):
        raise fail(f'`{where}` needs both start and end (column names), e.g. {{ start = "Start", end = "End" }}')
    if "start" in spec and not (isinstance(spec["start"], str) and isinstance(spec["end"], str)):
        raise fail(f"`{where}` start and end must be column names")
    for key in ("concat", "first"):
        if key in spec:
            if not isinstance(spec[key], list) or not spec[key]:
                raise fail(f"`{where}.{key}` must be a non-empty list of column names or specs")
            for i, part in enumerate(spec[key]):
                _check_spec(part, f"{where}.{key}[{i}]", fail, top=False)
    if "duration" in spec and spec["duration"] != "hms":
        raise fail(f'`{where}.duration` must be "hms" (HH:MM:SS or HH:MM)')
    if "scale" in spec and (isinstance(spec["scale"], bool) or not isinstance(spec["scale"], (int, float))):
        raise fail(f"`{where}.scale` must be a number, e.g. 60 for minutes -> seconds")
    if "formats" in spec and not (
        isinstance(spec["formats"], list) and all(isinstance(f, str) for f in spec["formats"])
    ):
        raise fail(f'`{where}.formats` must be a list of strptime formats like "%m/%d/%Y" (or "excel")')
    if "dayfirst" in spec and not isinstance(spec["dayfirst"], bool):
        raise fail(f"`{where}.dayfirst` must be true (31/12/2024) or false (12/31/2024)")
    if "decimal" in spec and spec["decimal"] not in (".", ","):
        raise fail(f'`{where}.decimal` must be "." or ","')
    if "lookup" in spec and spec["lookup"] != "name":
        raise fail(f'`{where}.lookup` must be "name" (find the rep whose name is the value)')
    if "when" in spec:
        conds = spec["when"] if isinstance(spec["when"], list) else [spec["when"]]
        for i, w in enumerate(conds):
            _check_filter(w, f"{where}.when[{i}]", fail)
    for key in ("map", "map_by_type"):
        if key in spec and not isinstance(spec[key], dict):
            raise fail(f"`{where}.{key}` must be a table of label = value")
