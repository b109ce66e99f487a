"""Labels CRMs write and the canonical names they mean: outcomes, activity types, stages, roles.

Labels match ignoring case, spaces, ``_`` and ``-`` (:func:`label_key`); unknown
labels are reported (with what was applied to them) rather than guessed.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from .. import schema
from ..playbook import Playbook, normalize_label
from .report import ImportReport

__all__ = [
    "CALL_LABELS",
    "label_key",
    "is_follow_up",
    "map_labels",
    "map_outcomes",
    "classify_activity",
    "role_from_title",
    "normalise_stage",
]

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


_FOLLOW_UP = r"(?i)(?<![a-z])follow[\s_\-]*ups?(?![a-z])"


def is_follow_up(values: pd.Series) -> pd.Series:
    """True where the text says "follow up", "follow-up" or "followup" (any case); False when missing."""
    return values.astype(schema.STRING).str.contains(_FOLLOW_UP, regex=True).fillna(False).astype(bool)


def label_key(value: object) -> str:
    """Matching key of a label: lower case without spaces, ``_`` or ``-`` (``Follow UP`` == ``followup``)."""
    return re.sub(r"[\s_\-]+", "", str(value).strip().lower())


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
