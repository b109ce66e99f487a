"""The fast path of validation: typed activities (Parquet) proved clean in Arrow, without pandas.

:func:`clean_activities` runs every check :mod:`coachkit.load` runs on the activities, on the Arrow
columns as read: labels and rep ids (dictionary-encoded) once per distinct value, numbers and timestamps
as whole-array passes over the Arrow buffers. It does not report anything: it answers whether the
activities are clean, i.e. whether the full validation would report no issue at all about them, and if so
returns their canonical form (labels in the playbook's spelling, empty text missing) as Arrow. When
anything would be reported, or a column has a type this path does not handle (text timestamps, numbers
written as text, ...), it returns None and :func:`coachkit.load` runs the full validation, which reports
every issue with its file, line, column and value. So a clean dataset is read at Arrow speed and a dataset
with problems gets exactly the same report as before.

Each check here mirrors one in :mod:`coachkit.load` (named beside it); a test runs both on crafted bad
inputs and checks that this path declines every one of them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from . import checks, schema
from .playbook import Playbook, normalize_label

__all__ = ["clean_activities"]


class _NotClean(Exception):
    """Something the full validation would report, or a column this path does not handle."""


def clean_activities(arrow: pa.Table, pb: Playbook, reps: pd.DataFrame, *, copies: bool = True) -> pa.Table | None:
    """The canonical activities as Arrow when the full validation would report nothing about them, else None.

    ``arrow``: the activities' canonical columns as read from a typed file (first copy of each); ``reps``:
    the canonical reps table (already validated without issues). Returns a table of the same columns,
    canonical: rep_id and labels dictionary-encoded with canonical values, empty text missing, timestamps
    naive ``timestamp[ns]``, numbers ``float64``. ``copies``: also look for rows repeated in all but their id.
    """
    try:
        return _clean(arrow, pb, reps, copies)
    except _NotClean:
        return None


def _clean(arrow: pa.Table, pb: Playbook, reps: pd.DataFrame, copies: bool) -> pa.Table:
    names = arrow.column_names
    if any(c not in names for c in schema.required_columns("activities")) or len(set(names)) != len(names):
        raise _NotClean
    n = arrow.num_rows
    out: dict[str, pa.ChunkedArray] = {}
    for col in schema.ACTIVITIES:
        if col.name not in names:
            continue
        arr = arrow.column(col.name)
        if col.name == "rep_id":
            out[col.name] = _rep_ids(arr, reps)
        elif col.name == "activity_type":
            out[col.name] = _labels(arr, pb.activity_types, required=True)
        elif col.name == "direction":
            out[col.name] = _labels(arr, schema.DIRECTIONS, required=False)
        elif col.name == "outcome":
            out[col.name] = _outcomes(arr, pb)
        elif col.kind == "string":
            out[col.name] = _text(arr, required=col.required)
        elif col.kind == "timestamp":
            out[col.name] = _timestamps(arr, pb)
        elif col.kind == "float":
            out[col.name] = _numbers(arr)
        else:  # pragma: no cover - activities have no other kinds
            raise _NotClean
    table = pa.table(out)
    _check_rows(table, pb, reps, n, copies)
    return table


# ---- columns ---------------------------------------------------------------------------------


def _is_text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t)


def _blank(values: pa.Array) -> np.ndarray:
    """Empty or all-whitespace text (``load._missing_text``); nulls count as blank.

    Only a value whose first byte is an ASCII whitespace or starts a multi-byte character can be all
    whitespace, so only those few are checked character by character.
    """
    values = values.cast(pa.large_string())
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int64)[values.offset : values.offset + len(values) + 1]
    starts, lengths = offsets[:-1], np.diff(offsets)
    data = values.buffers()[2]
    out = lengths == 0
    if data is not None and len(data):
        first = np.frombuffer(data, dtype=np.uint8)[np.minimum(starts, len(data) - 1)]
        maybe = np.flatnonzero(
            ~out & (((first >= 9) & (first <= 13)) | ((first >= 28) & (first <= 32)) | (first >= 128))
        )
        if len(maybe):
            out[maybe] = pc.fill_null(pc.utf8_is_space(values.take(pa.array(maybe))), False).to_numpy(
                zero_copy_only=False
            )
    if values.null_count:
        out |= ~values.is_valid().to_numpy(zero_copy_only=False)
    return out


def _text(arr: pa.ChunkedArray, *, required: bool) -> pa.ChunkedArray:
    """A text column (``load._Parser.string`` + ``required``): empty text becomes missing."""
    if pa.types.is_dictionary(arr.type):
        arr = arr.cast(arr.type.value_type)
    if not _is_text(arr.type):
        raise _NotClean
    if not pa.types.is_large_string(arr.type):
        arr = arr.cast(pa.large_string())
    if required:
        if arr.null_count or any(_blank(ch).any() for ch in arr.chunks):
            raise _NotClean
        return arr
    chunks = []
    for ch in arr.chunks:
        offsets = np.frombuffer(ch.buffers()[1], dtype=np.int64)[ch.offset : ch.offset + len(ch) + 1]
        empty = offsets[1:] == offsets[:-1]
        if ch.null_count:
            empty &= ch.is_valid().to_numpy(zero_copy_only=False)
        if empty.any():
            ch = pc.if_else(pa.array(empty), pa.scalar(None, pa.large_string()), ch)
        chunks.append(ch)
    return pa.chunked_array(chunks, type=pa.large_string())


def _dictionary(arr: pa.ChunkedArray) -> tuple[pa.Array, list[np.ndarray], np.ndarray]:
    """(dictionary, each chunk's int32 indices with -1 for null, the mask of entries in use, slot 0 for null)."""
    if not pa.types.is_dictionary(arr.type):
        if not _is_text(arr.type):
            raise _NotClean
        arr = arr.dictionary_encode()
    if not _is_text(arr.type.value_type):
        raise _NotClean
    if arr.num_chunks == 0:
        return pa.array([], type=pa.string()), [], np.zeros(1, dtype=bool)
    arr = arr.unify_dictionaries()
    dictionary = arr.chunk(0).dictionary
    idx = []
    counts = np.zeros(len(dictionary) + 1, dtype=np.int64)
    for ch in arr.chunks:
        i = ch.indices
        i = (pc.fill_null(i, -1) if i.null_count else i).to_numpy(zero_copy_only=False).astype(np.int32, copy=False)
        counts += np.bincount(i + 1, minlength=len(counts))  # slot 0: null
        idx.append(i)
    return dictionary, idx, counts > 0


def _distinct_text(dictionary: pa.Array) -> list[str | None]:
    """The dictionary's values as ``load._to_string`` reads them: empty text is missing."""
    return [None if v is None or v == "" else v for v in dictionary.to_pylist()]


def _encode(idx: list[np.ndarray], mapping: np.ndarray, values: Sequence[str]) -> pa.ChunkedArray:
    """Chunks of dictionary indices (-1 null) re-coded through ``mapping`` (-1 null) onto ``values``."""
    dictionary = pa.array(list(values), type=pa.string())
    lookup = np.append(mapping, -1).astype(np.int32)  # index -1 (null) picks the appended -1
    chunks = []
    for i in idx:
        codes = lookup[i]
        missing = codes < 0
        indices = pa.array(codes, mask=missing) if missing.any() else pa.array(codes)
        chunks.append(pa.DictionaryArray.from_arrays(indices, dictionary))
    return pa.chunked_array(chunks, type=pa.dictionary(pa.int32(), pa.string()))


def _rep_ids(arr: pa.ChunkedArray, reps: pd.DataFrame) -> pa.ChunkedArray:
    """rep_id: present, not blank, no spaces around it (``_Parser.ids`` warns), in the reps table."""
    dictionary, idx, used = _dictionary(arr)
    if used[0]:  # a missing rep_id
        raise _NotClean
    values = _distinct_text(dictionary)
    keys = set(reps["rep_id"].dropna().astype(str))
    for v, u in zip(values, used[1:], strict=True):
        if u and (v is None or not v.strip() or v != v.strip() or v not in keys):
            raise _NotClean
    mapping = np.arange(len(values), dtype=np.int64)
    return _encode(idx, mapping, [v if v is not None else "" for v in values])


def _labels(arr: pa.ChunkedArray, allowed: Sequence[str], *, required: bool) -> pa.ChunkedArray:
    """A label column matched to ``allowed`` (``_Parser.category``), in canonical spelling (dictionary codes are
    positions in ``allowed``). Unknown labels (an error or a warning) are not clean."""
    dictionary, idx, used = _dictionary(arr)
    values = _distinct_text(dictionary)
    index = {normalize_label(a): i for i, a in enumerate(allowed)}
    mapping = np.full(len(values), -1, dtype=np.int64)
    for j, v in enumerate(values):
        if not used[j + 1]:
            continue
        if v is None or (required and not v.strip()):
            if required:
                raise _NotClean
            continue
        code = index.get(normalize_label(v), -1)
        if code < 0:
            raise _NotClean
        mapping[j] = code
    if required and used[0]:
        raise _NotClean
    return _encode(idx, mapping, allowed)


def _outcomes(arr: pa.ChunkedArray, pb: Playbook) -> pa.ChunkedArray:
    """outcome: raw labels mapped by the playbook (``_check_activities``); unknown ones are not clean."""
    dictionary, idx, used = _dictionary(arr)
    values = _distinct_text(dictionary)
    outcomes = pb.all_outcomes
    oindex = {o: i for i, o in enumerate(outcomes)}
    mapping = np.full(len(values), -1, dtype=np.int64)
    for j, v in enumerate(values):
        if not used[j + 1] or v is None:
            continue
        canon = pb.map_outcome(v)
        if canon is None or canon not in oindex:
            raise _NotClean
        mapping[j] = oindex[canon]
    return _encode(idx, mapping, outcomes)


def _timestamps(arr: pa.ChunkedArray, pb: Playbook) -> pa.ChunkedArray:
    """A naive typed timestamp column as ``timestamp[ns]`` (``_Parser.timestamp``); required (only occurred_at)."""
    if not pa.types.is_timestamp(arr.type) or arr.type.tz is not None:
        raise _NotClean  # text, dates and zoned timestamps take the full path
    if arr.type.unit != "ns":
        try:
            arr = arr.cast(pa.timestamp("ns"))  # safe cast: out of the nanosecond range raises
        except pa.ArrowInvalid as exc:
            raise _NotClean from exc
    if arr.null_count:
        raise _NotClean
    return arr


def _numbers(arr: pa.ChunkedArray) -> pa.ChunkedArray:
    """A typed number column as float64 (``_Parser.number``): infinities are not clean, NaN is missing."""
    t = arr.type
    if not (pa.types.is_floating(t) or pa.types.is_integer(t)):
        raise _NotClean
    if t != pa.float64():
        arr = arr.cast(pa.float64())
    if pa.types.is_floating(t) and len(arr):
        if pc.any(pc.is_inf(arr)).as_py():
            raise _NotClean
    return arr


# ---- rows ------------------------------------------------------------------------------------


def _column(table: pa.Table, name: str) -> np.ndarray:
    arr = table.column(name)
    return arr.to_numpy() if arr.num_chunks != 1 or arr.null_count else arr.chunk(0).to_numpy(zero_copy_only=False)


def _codes(arr: pa.ChunkedArray) -> np.ndarray:
    """Row codes (int32) of a canonical dictionary column (-1: missing)."""
    parts = [np.zeros(0, dtype=np.int32)]
    for ch in arr.chunks:
        i = ch.indices
        parts.append((pc.fill_null(i, -1) if i.null_count else i).to_numpy(zero_copy_only=False))
    return np.concatenate(parts).astype(np.int32, copy=False)


def _check_rows(table: pa.Table, pb: Playbook, reps: pd.DataFrame, n: int, copies: bool) -> None:
    """The checks across columns and rows: outcome per type, ranges, ids, copies, tenure, clocks, future."""
    names = table.column_names
    tcodes = _codes(table.column("activity_type"))
    if "outcome" in names:  # an outcome that does not apply to the type (``_check_activities``)
        outcomes = pb.all_outcomes
        ocodes = _codes(table.column("outcome"))
        allowed = np.zeros((len(pb.activity_types), len(outcomes)), dtype=bool)
        for ti, t in enumerate(pb.activity_types):
            for o in pb.outcomes_for(t):
                allowed[ti, outcomes.index(o)] = True
        both = ocodes >= 0
        pairs = np.bincount((tcodes * len(outcomes) + ocodes)[both], minlength=allowed.size)
        if (pairs[~allowed.ravel()] > 0).any():
            raise _NotClean
    with np.errstate(invalid="ignore"):
        if "duration_s" in names and (_column(table, "duration_s") < 0).any():
            raise _NotClean
        if "feedback_score" in names:
            score = _column(table, "feedback_score")
            if ((score < 1) | (score > 5)).any():
                raise _NotClean
    if not checks.surely_distinct(table.column("activity_id")):  # load._duplicates
        raise _NotClean
    at = _column(table, "occurred_at").view(np.int64)
    if n:
        _check_clock(at, pb)
        now = pd.Timestamp.now(tz=pb.timezone).tz_localize(None)  # load._check_future
        if at.max() > now.value:
            raise _NotClean
    rep_values = table.column("rep_id").chunk(0).dictionary.to_pylist() if table.column("rep_id").num_chunks else []
    _check_tenure(table, rep_values, reps)
    if copies:
        _check_copies(table, tcodes, _codes(table.column("rep_id")), at, len(pb.activity_types))


def _check_clock(at: np.ndarray, pb: Playbook) -> None:
    """Naive times in a DST gap or fold of the playbook's timezone (``_Parser.clock_changes``)."""
    first, last = pd.Timestamp(int(at.min())), pd.Timestamp(int(at.max()))
    changes = checks.clock_changes(pb.timezone, first, last)
    if changes and any(m.any() for m in checks.in_clock_change(at.view("datetime64[ns]"), changes)):
        raise _NotClean


def _check_tenure(table: pa.Table, rep_values: list[str], reps: pd.DataFrame) -> None:
    """Activities before the rep's hired_at or after their left_at (``load._check_tenure``): each rep's first and
    last activity (one Arrow group-by on the rep codes) against their dates."""
    if reps[["hired_at", "left_at"]].isna().all().all():
        return
    t = pa.table({"rep": table.column("rep_id"), "at": table.column("occurred_at")})
    spans = t.group_by("rep").aggregate([("at", "min"), ("at", "max")])
    rows = pd.Index(reps["rep_id"]).get_indexer(pd.Index(spans.column("rep").to_pylist(), dtype=object))
    first = spans.column("at_min").to_numpy().view(np.int64)
    last = spans.column("at_max").to_numpy().view(np.int64)
    nat, top = np.iinfo(np.int64).min, np.iinfo(np.int64).max
    hired = reps["hired_at"].to_numpy(dtype="datetime64[ns]").view(np.int64)
    left = reps["left_at"].to_numpy(dtype="datetime64[ns]").view(np.int64)
    left_end = np.where(left == nat, top, left + 86_400 * 10**9)
    if (first < np.append(hired, nat)[rows]).any() or (last >= np.append(left_end, top)[rows]).any():
        raise _NotClean


def _check_copies(table: pa.Table, tcodes: np.ndarray, rep_codes: np.ndarray, at: np.ndarray, n_types: int) -> None:
    """Rows repeating an earlier row in all but activity_id, when they are COPY_SHARE of a type (``_check_copies``)."""
    columns = [c for c in table.column_names if c != "activity_id"]
    copies = checks.copies_but_id(table.select(columns), rep_codes, at.view("datetime64[ns]"))
    if not copies.any():
        return
    total = np.bincount(tcodes, minlength=n_types)
    found = np.bincount(tcodes[copies], minlength=n_types)
    with np.errstate(divide="ignore", invalid="ignore"):
        if (found[total > 0] / total[total > 0] >= checks.COPY_SHARE).any():
            raise _NotClean
