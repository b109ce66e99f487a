"""Reading one export file: text encoding, delimiter, report footers, placeholders, header names.

:func:`read_export_csv` turns a CSV file into a frame of strings (empty cells
missing) and records in the :class:`~coachkit.importers.report.ImportReport`
how it read it. The file is only read, never changed.

- **Encoding**: ``options.encoding`` when given; else a byte-order mark
  (UTF-8, UTF-16, UTF-32); else UTF-8 when the bytes are valid UTF-8; else
  UTF-16 without a mark when every other byte is zero; else charset-normalizer's
  guess, preferring Windows-1252 (a superset of ISO-8859-1, what Salesforce's
  Data Export and Excel on Windows write) when it reads the file as well as the
  best guess. A detected non-UTF-8 encoding is named in the report and a
  warning. A file no encoding fits stops the import naming the file, the line
  and the fix.
- **Delimiter**: ``options.delimiter`` when given; else sniffed among ``,``
  ``;`` tab ``|`` from the first records (the one that splits the header into
  several fields and gives most records the header's field count).
- **Report footers**: trailing lines that are not data (a totals line such as
  ``Grand Totals (12 records)``, a confidentiality notice, a copyright line,
  and one-field lines such as the company name between them, as Salesforce
  report exports end) are dropped and counted in the report. A trailing block
  is a footer only when at least one of its lines says so (totals, records,
  confidential, copyright, (c), all rights reserved, generated/exported by);
  a line inside a quoted multi-line field is never cut.
- **Placeholders**: cells whose whole text is one of ``options.blanks``
  (default ``null``, ``NULL``, ``Null``, ``N/A``, ``n/a``, ``#N/A``) are missing.
- **Headers**: with ``normalise``, names become snake_case. Two headers that
  become the same name (``Budget_Confirmed__c`` and ``BudgetConfirmed__c``), or
  two identical headers, are left out and remembered in
  ``frame.attrs["ambiguous"]``: only an importer that reads that column stops
  (:func:`ambiguous_column_error`), naming both headers.
"""

from __future__ import annotations

import csv
import io
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from .. import schema
from ..files import os_reason, unreadable
from .options import DELIMITERS, ImportOptions
from .report import ExportError, FileRead, ImportReport

__all__ = [
    "read_export_csv",
    "decode",
    "sniff_delimiter",
    "strip_footer",
    "snake_case",
    "ambiguous_column_error",
    "SALESFORCE_EMPTY_ID",
    "blank_empty_ids",
]

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


# ---- encoding -----------------------------------------------------------------------------------

_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)
#: Among guesses that read a file equally well, the first of these wins (what Western CRMs and Excel write).
_PREFERRED = ("cp1252", "latin_1", "iso8859_15")
_CHAOS_TOLERANCE = 0.05
#: Code pages of DOS, old Macs and EBCDIC: no CRM or spreadsheet writes CSV in them today, and on short
#: files they read Western text as well as Windows-1252 does (by charset-normalizer's measure), so they
#: would win by chance.
_OBSOLETE = (
    *(f"cp{n}" for n in (437, 737, 775, 850, 852, 855, 856, 857, 858, 860, 861, 862, 863, 864, 865, 866, 869)),
    *("cp1006", "cp1125", "hp_roman8", "koi8_t", "ptcp154", "kz1048"),
    *(f"mac_{n}" for n in ("arabic", "croatian", "cyrillic", "farsi", "greek", "iceland", "latin2", "roman")),
    *("mac_romanian", "mac_turkish", "cp037", "cp273", "cp424", "cp500", "cp875", "cp1026", "cp1140"),
)


def _line_of(raw: bytes, offset: int) -> int:
    return raw.count(b"\n", 0, offset) + 1


def _guess(raw: bytes) -> str | None:
    """charset-normalizer's reading of bytes that are not UTF-8, preferring Windows-1252 among near-equals."""
    from charset_normalizer import from_bytes

    matches = list(from_bytes(raw, cp_exclusion=list(_OBSOLETE)))
    if not matches:
        return None
    best = min(m.chaos for m in matches)
    near = [m for m in matches if m.chaos <= best + _CHAOS_TOLERANCE]
    for enc in _PREFERRED:
        if any(enc == m.encoding or enc in m.could_be_from_charset for m in near):
            return enc
    return matches[0].encoding


def _looks_like_text(text: str) -> bool:
    """False for a decoding full of control characters or CJK soup (a binary file read as text)."""
    head = text[:4096]
    if not head:
        return False
    odd = sum(1 for ch in head if (ch < " " and ch not in "\t\r\n") or ch in "\ufffd\ufffe\uffff")
    return odd <= 0.01 * len(head)


def decode(raw: bytes, *, file: str, encoding: str | None = None) -> tuple[str, str, str]:
    """``(text, encoding, how it was chosen)`` for the bytes of ``file`` (see the module docstring).

    Raises :class:`ExportError` naming the file and the line of the first byte that does not fit,
    with what to do, when no encoding reads it, and for spreadsheets saved in Excel's own format.
    """
    if raw.startswith(b"PK\x03\x04") or raw.startswith(b"\xd0\xcf\x11\xe0"):
        raise ExportError(
            "is an Excel workbook, not a CSV file: open it in Excel and save it as 'CSV UTF-8', then import that",
            file=file,
        )
    if encoding is not None:
        try:
            return raw.decode(encoding), encoding, "given"
        except UnicodeDecodeError as exc:
            guess = _guess(raw)
            hint = f"it looks like {guess}: pass --encoding {guess}, or " if guess and guess != encoding else ""
            raise ExportError(
                f"is not {encoding} (byte 0x{raw[exc.start]:02X} does not fit); {hint}re-save the file as UTF-8",
                file=file,
                line=_line_of(raw, exc.start),
            ) from None
    for bom, enc in _BOMS:
        if raw.startswith(bom):
            try:
                return raw.decode(enc), enc, "byte-order mark"
            except UnicodeDecodeError as exc:
                raise ExportError(
                    f"starts with a {enc} byte-order mark but byte 0x{raw[exc.start]:02X} does not fit; "
                    "re-save the file as UTF-8",
                    file=file,
                    line=_line_of(raw, exc.start),
                ) from None
    try:
        return raw.decode("utf-8"), "utf-8", "detected"
    except UnicodeDecodeError as exc:
        first_bad = exc.start
    head = raw[:4096]
    if len(head) >= 4:
        even, odd = head[0::2], head[1::2]
        for zeros, enc in ((odd, "utf-16-le"), (even, "utf-16-be")):
            if zeros.count(0) > 0.3 * len(zeros):
                try:
                    text = raw.decode(enc)
                except UnicodeDecodeError:
                    break
                if _looks_like_text(text):
                    return text, enc, "detected (no byte-order mark)"
                break
    guess = _guess(raw)
    if guess is not None:
        try:
            text = raw.decode(guess)
        except UnicodeDecodeError:
            text = ""
        if _looks_like_text(text):
            return text, guess, "detected: not UTF-8"
    raise ExportError(
        f"cannot be read as text: byte 0x{raw[first_bad]:02X} is not UTF-8 and no other encoding fits; "
        "export it again as CSV (UTF-8), or pass --encoding (or [options] encoding) with the file's encoding",
        file=file,
        line=_line_of(raw, first_bad),
    )


# ---- delimiter --------------------------------------------------------------------------------------


def _records(head: str, delimiter: str, limit: int = 50) -> list[list[str]]:
    try:
        reader = csv.reader(io.StringIO(head), delimiter=delimiter)
        out = []
        for rec in reader:
            if rec and any(f.strip() for f in rec):
                out.append(rec)
            if len(out) >= limit:
                break
        return out
    except csv.Error:
        return []


def sniff_delimiter(text: str) -> str:
    """The delimiter among ``,`` ``;`` tab ``|`` that splits the header into the most consistent records.

    A candidate must split the header into at least two fields; among those, the one whose records most
    often have the header's field count wins, then the one with more fields; ties go to the order above.
    A one-column file reads as ``,``.
    """
    head = text[:65536]
    if len(text) > len(head) and "\n" in head:
        head = head[: head.rindex("\n")]
    best, best_score = ",", None
    for d in DELIMITERS:
        recs = _records(head, d)
        if not recs or len(recs[0]) < 2:
            continue
        n = len(recs[0])
        body = recs[1:] or recs
        share = sum(len(r) == n for r in body) / len(body)
        score = (share >= 0.8, share, n)
        if best_score is None or score > best_score:
            best, best_score = d, score
    return best


# ---- report footers ---------------------------------------------------------------------------------

_NUM = r"\d[\d,.\s\u00a0']*"
_FOOTER_WHOLE = re.compile(
    rf"""(?ix)^(?:
        (?:grand\s+|sub)?totals?(?:\s*\(\s*{_NUM}\s*(?:records?|rows?)\s*\))?\s*:?(?:\s*{_NUM}(?:\s*(?:records?|rows?))?)?
      | {_NUM}\s*(?:records?|rows?)(?:\s+(?:found|returned|total|in\s+total))?
      | (?:total\s+)?(?:records?|rows?|count)\s*:?\s*{_NUM}
      | sum|count|average|summary
    )$"""
)
_FOOTER_ANYWHERE = re.compile(
    r"(?i)confidential|copyright|\(c\)\s*\d{4}|\u00a9|all rights reserved|do not distribute"
    r"|\b(?:generated|exported|printed)\s+(?:by|on|at)\b|^filtered by\b"
)


def _footer_kind(fields: list[str], width: int) -> str | None:
    """``blank``, ``says`` (a footer's words), ``single`` (one field in a wide file) or None (data)."""
    cells = [f.strip().strip('"').strip() for f in fields]
    filled = [c for c in cells if c]
    if not filled:
        return "blank"
    if cells[0] and _FOOTER_WHOLE.match(cells[0]):
        return "says"
    if cells[0] and len(filled) == 1 and _FOOTER_ANYWHERE.search(cells[0]):  # a notice is a line of its own
        return "says"
    if len(filled) == 1 and width >= 3:
        return "single"
    return None


def strip_footer(text: str, delimiter: str, *, max_lines: int = 12) -> tuple[str, list[str]]:
    """``text`` without its trailing report footer, and the footer's non-blank lines (see the module docstring)."""
    body = text.rstrip("\r\n")
    first = _records(body[:65536], delimiter, limit=1)
    width = len(first[0]) if first else 0
    parts = body.rsplit("\n", max_lines)
    if len(parts) < 2:
        return text, []
    quotes_before = body.count('"')
    kinds: list[str] = []
    lines: list[str] = []
    for line in reversed(parts[1:]):
        quotes_before -= line.count('"')
        if quotes_before % 2 or line.count('"') % 2:  # inside, or the end of, a quoted multi-line field
            break
        kind = _footer_kind(next(csv.reader([line], delimiter=delimiter), []), width)
        if kind is None:
            break
        kinds.append(kind)
        lines.append(line)
    # The footer runs from the end up to the first line (going up) that says so, then over the blank and
    # one-field lines above it (a company name above "Confidential ..."); without such a line only blank
    # trailing lines go.
    says = [i for i, k in enumerate(kinds) if k == "says"]
    cut = says[-1] + 1 if says else 0
    while cut < len(kinds) and (kinds[cut] == "blank" or (says and kinds[cut] == "single")):
        cut += 1
    if cut == 0:
        return text, []
    kept = body.rsplit("\n", cut)[0] + "\n"
    footer = [ln.strip() for k, ln in zip(kinds[:cut], lines[:cut], strict=True) if k != "blank"]
    return kept, footer[::-1]


# ---- Salesforce empty references ------------------------------------------------------------------

#: Salesforce's empty reference id: 15 zeros, and its 18-character form with the checksum ``AAA``.
SALESFORCE_EMPTY_ID = re.compile(r"^0{15}(?:AAA)?$")


def blank_empty_ids(frame: pd.DataFrame, columns: list[str], file: str, report: ImportReport) -> pd.DataFrame:
    """``frame`` with Salesforce empty reference ids (``000000000000000AAA``, ``000000000000000``) missing.

    Applied to each of ``columns`` present; the count is recorded in the report.
    """
    out = {}
    n = 0
    for c in columns:
        if c not in frame.columns:
            continue
        s = frame[c].astype(schema.STRING)
        empty = s.str.strip().str.fullmatch(SALESFORCE_EMPTY_ID.pattern).fillna(False).astype(bool)
        if empty.any():
            n += int(empty.sum())
            out[c] = s.where(~empty)
    report.change(file, "Salesforce empty reference ids (000000000000000AAA) read as missing", n)
    return frame.assign(**out) if out else frame


# ---- the file -----------------------------------------------------------------------------------------


def ambiguous_column_error(frame: pd.DataFrame, name: str, file: str) -> ExportError | None:
    """The error for reading column ``name`` when two headers of the file map to it, else None."""
    headers = frame.attrs.get("ambiguous", {}).get(name)
    if not headers:
        return None
    shown = " and ".join(repr(h) for h in headers)
    return ExportError(
        f"the headers {shown} both name this column; keep one of them (or rename the other)", file=file, column=name
    )


def _too_many_fields(text: str, delimiter: str, file: str) -> ExportError:
    """The error for a record with more fields than the header (pandas would silently cut it)."""
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    width = len(next(reader, []))
    for rec in reader:
        if len(rec) > width:
            return _parser_error(
                ValueError(f"Expected {width} fields in line {reader.line_num}, saw {len(rec)}"), file, delimiter
            )
    return ExportError("some records have more fields than the header", file=file)


def _parser_error(exc: Exception, file: str, delimiter: str) -> ExportError:
    msg = str(exc)
    m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", msg)
    if m:
        want, line, saw = (int(x) for x in m.groups())
        d = {"\t": "tab"}.get(delimiter, delimiter)
        return ExportError(
            f"this line has {saw} fields where the header has {want}: a value holding the delimiter {d!r} "
            "must be in double quotes (or pass --delimiter if the file uses another one)",
            file=file,
            line=line,
        )
    return ExportError(f"not a readable CSV file: {msg.strip()}", file=file)


def read_export_csv(
    path: Path,
    report: ImportReport | None = None,
    *,
    normalise: bool = True,
    options: ImportOptions | None = None,
    name: str | None = None,
) -> pd.DataFrame:
    """Read one export CSV as strings (empty cells and placeholders missing), see the module docstring.

    ``name`` is how the report and errors call the file (default: its file name). Quoted multi-line
    fields are kept whole. ``frame.attrs`` holds ``delimiter`` and ``ambiguous`` (header name -> the
    headers that collided on it).
    """
    opts = options or ImportOptions()
    path = Path(path)
    name = name or path.name
    problem = unreadable(path)  # a directory, a link loop or a dangling link, a denied permission: why, in one line
    if problem is not None:
        raise ExportError(problem, file=name)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ExportError(os_reason(exc, path), file=name) from None
    text, encoding, how = decode(raw, file=name, encoding=opts.encoding)
    text = text.lstrip("\ufeff")
    delimiter = opts.delimiter or sniff_delimiter(text)
    text, footer = strip_footer(text, delimiter)
    headers = _records(text[:65536], delimiter, limit=1)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(
                io.StringIO(text),
                sep=delimiter,
                dtype=str,
                keep_default_na=False,
                na_values=[""],
                skipinitialspace=False,
                index_col=False,
            )
    except pd.errors.ParserWarning:
        raise _too_many_fields(text, delimiter, name) from None
    except pd.errors.EmptyDataError:
        frame = pd.DataFrame()
    except (pd.errors.ParserError, csv.Error, ValueError) as exc:
        raise _parser_error(exc, name, delimiter) from None
    info = FileRead(
        encoding=encoding,
        encoding_source=how,
        delimiter=delimiter,
        delimiter_source="given" if opts.delimiter else "detected",
        footer=footer,
    )
    if report is not None and footer:
        shown = "; ".join(repr(f[:60]) for f in footer[:3])
        report.drop(name, f"report-export footer lines, not data: {shown}", len(footer))
    if len(frame.columns):
        frame = frame.astype(schema.STRING)
        frame = _blanks(frame, opts.blanks, name, report)
        empty = frame.isna().all(axis=1)
        if empty.any():
            if report is not None:
                report.drop(name, "empty rows", int(empty.sum()))
            frame = frame[~empty.to_numpy()]
        raw_headers = headers[0] if headers else [str(c) for c in frame.columns]
        frame = _headers(frame, raw_headers, normalise)
    frame.attrs["delimiter"] = delimiter
    if report is not None:
        report.read(name, len(frame), info)
        if how.startswith("detected") and not encoding.startswith("utf"):
            report.warn(
                f"{name} is not UTF-8: read as {encoding} ({how}); if accented letters look wrong, "
                "pass --encoding with the right one (e.g. cp1250, cp1251) or re-save the file as UTF-8"
            )
    return frame


def _blanks(frame: pd.DataFrame, blanks: tuple[str, ...], file: str, report: ImportReport | None) -> pd.DataFrame:
    if not blanks:
        return frame
    counts: dict[str, int] = {}
    out = {}
    for c in frame.columns:
        s = frame[c]
        hit = s.isin(blanks).to_numpy()
        if hit.any():
            for v, n in s[hit].value_counts().items():
                counts[str(v)] = counts.get(str(v), 0) + int(n)
            out[c] = s.where(~hit)
    if out:
        frame = frame.assign(**out)
        if report is not None:
            shown = ", ".join(f"{v!r} x{n}" for v, n in sorted(counts.items(), key=lambda kv: -kv[1]))
            report.change(file, f"placeholder cells read as empty ({shown})", sum(counts.values()))
    return frame


def _headers(frame: pd.DataFrame, raw_headers: list[str], normalise: bool) -> pd.DataFrame:
    """Rename (snake_case when ``normalise``) and set aside headers that collide."""
    originals = [str(h).strip().lstrip("\ufeff") for h in raw_headers]
    if len(originals) != len(frame.columns):
        originals = [str(c) for c in frame.columns]
    names = [snake_case(h) if normalise else h for h in originals]
    seen: dict[str, list[int]] = {}
    for i, n in enumerate(names):
        seen.setdefault(n, []).append(i)
    ambiguous = {n: [originals[i] for i in idx] for n, idx in seen.items() if len(idx) > 1}
    keep = np.array([len(seen[n]) == 1 for n in names])
    frame = frame.iloc[:, np.flatnonzero(keep)]
    frame.columns = [n for n, k in zip(names, keep, strict=True) if k]
    frame.attrs["ambiguous"] = ambiguous
    return frame
