"""The canonical sales-activity data model: tables, columns, dtypes and taxonomies.

Every loader and importer produces frames shaped by this module, and every KPI
consumes them. Canonical dtypes are set here, once, by :func:`conform`.

In memory, timestamps are tz-naive *local wall time* in the playbook's timezone,
so that calendar days and weeks are the rep's days and weeks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

__all__ = [
    "STRING",
    "Column",
    "TABLES",
    "ACTIVITIES",
    "REPS",
    "DEALS",
    "DEAL_STAGES",
    "SPARSE_COLUMNS",
    "EXTRA_TABLES",
    "ALL_TABLES",
    "OPTIONAL_TABLES",
    "ACTIVITY_TYPES",
    "DEFAULT_OUTCOMES",
    "DIRECTIONS",
    "columns",
    "required_columns",
    "empty",
    "conform",
    "from_arrow",
]

#: pandas' string dtype (pandas 3 default ``str``: missing values are NaN).
STRING = pd.StringDtype(na_value=np.nan)


@dataclass(frozen=True)
class Column:
    """One canonical column: its name, kind and whether a file must provide it.

    ``kind`` is one of ``string``, ``timestamp``, ``date``, ``float``, ``boolean``.
    """

    name: str
    kind: str
    required: bool = False
    meaning: str = ""


ACTIVITIES: tuple[Column, ...] = (
    Column("activity_id", "string", True, "unique id"),
    Column("rep_id", "string", True, "who did it; must exist in reps"),
    Column("activity_type", "string", True, "a playbook activity type"),
    Column("occurred_at", "timestamp", True, "when it happened (start)"),
    Column("duration_s", "float", False, "seconds, >= 0"),
    Column("direction", "string", False, "inbound / outbound"),
    Column("outcome", "string", False, "a canonical outcome from the playbook taxonomy"),
    Column("notes", "string", False, "free-text feedback heard in the activity"),
    Column("feedback_score", "float", False, "1-5 rating of the activity"),
    Column("account_id", "string", False, "account the activity was about"),
    Column("contact_id", "string", False, "contact the activity was with"),
    Column("deal_id", "string", False, "deal the activity was about"),
    Column(
        "done",
        "boolean",
        False,
        "false = a to-do that was not done (an open task, a Pipedrive 'To do'): kept, but no KPI counts it; "
        "empty or true = performed",
    ),
)

#: Activity columns written only when some row has a value (so that datasets without them stay byte-identical).
SPARSE_COLUMNS: dict[str, tuple[str, ...]] = {"activities": ("done",)}

REPS: tuple[Column, ...] = (
    Column("rep_id", "string", True, ""),
    Column("name", "string", False, ""),
    Column("team", "string", False, ""),
    Column("role", "string", False, "e.g. SDR, AE; targets are set per role"),
    Column("manager", "string", False, ""),
    Column("hired_at", "date", False, ""),
    Column("left_at", "date", False, ""),
    Column("timezone", "string", False, "IANA timezone of the rep (e.g. America/New_York); default: the playbook's"),
)

DEALS: tuple[Column, ...] = (
    Column("deal_id", "string", True, ""),
    Column("rep_id", "string", True, "owner"),
    Column("account_id", "string", False, ""),
    Column("created_at", "timestamp", True, ""),
    Column("closed_at", "timestamp", False, "empty while open"),
    Column("stage", "string", False, "a playbook stage"),
    Column("amount", "float", False, ""),
    Column("currency", "string", False, "ISO 4217 code of amount (e.g. EUR); see the playbook's [currency]"),
    Column("is_won", "boolean", False, "empty while open"),
    Column("is_closed", "boolean", False, ""),
)

#: Optional stage history of the deals: one row each time a deal entered a stage (e.g. Salesforce's
#: OpportunityHistory). With it, stage conversion knows where each lost deal was lost.
DEAL_STAGES: tuple[Column, ...] = (
    Column("deal_id", "string", True, "the deal (a deal_id of deals)"),
    Column("stage", "string", True, "a playbook stage the deal entered"),
    Column("entered_at", "timestamp", True, "when it entered that stage"),
)

#: table name -> its columns, in canonical order: the three tables every dataset has.
TABLES: dict[str, tuple[Column, ...]] = {
    "activities": ACTIVITIES,
    "reps": REPS,
    "deals": DEALS,
}
#: Further optional tables, read when a source has them (kept apart so that code looping over the main
#: tables, which all have rep_id, is unaffected).
EXTRA_TABLES: dict[str, tuple[Column, ...]] = {"deal_stages": DEAL_STAGES}
#: Every table a source may hold, main tables first.
ALL_TABLES: dict[str, tuple[Column, ...]] = {**TABLES, **EXTRA_TABLES}

#: Tables a dataset may leave out (read as empty tables).
OPTIONAL_TABLES: tuple[str, ...] = ("deals", *EXTRA_TABLES)

#: The primary key of each table.
KEYS: dict[str, str] = {"activities": "activity_id", "reps": "rep_id", "deals": "deal_id"}

ACTIVITY_TYPES: tuple[str, ...] = ("call", "meeting", "email", "follow_up", "task", "note")

#: Default outcome taxonomy: activity type -> canonical outcomes. ``*`` applies to any type.
DEFAULT_OUTCOMES: dict[str, tuple[str, ...]] = {
    "call": ("connected", "no_answer", "voicemail", "busy", "wrong_number", "gatekeeper"),
    "meeting": ("held", "no_show", "rescheduled", "canceled", "scheduled"),
    "email": ("sent", "replied", "bounced"),
    "task": ("completed",),
    "follow_up": ("completed",),
    "*": ("other",),
}

DIRECTIONS: tuple[str, ...] = ("inbound", "outbound")

_DTYPES = {
    "string": STRING,
    "timestamp": "datetime64[ns]",
    "date": "datetime64[ns]",
    "float": "float64",
    "boolean": "boolean",
}


def columns(table: str) -> list[str]:
    """The canonical column names of ``table``, in canonical order."""
    return [c.name for c in ALL_TABLES[table]]


def required_columns(table: str) -> list[str]:
    """The columns a file of ``table`` must contain."""
    return [c.name for c in ALL_TABLES[table] if c.required]


def dtypes(table: str) -> dict[str, object]:
    """Column name -> canonical pandas dtype for ``table``."""
    return {c.name: _DTYPES[c.kind] for c in ALL_TABLES[table]}


def empty(table: str) -> pd.DataFrame:
    """An empty frame of ``table`` with canonical columns and dtypes."""
    return pd.DataFrame({name: pd.Series(dtype=dt) for name, dt in dtypes(table).items()})


def from_arrow(arrow: pa.Table, table: str) -> pd.DataFrame:
    """The pandas frame of a canonical Arrow table (values already checked, labels canonical), with every
    canonical column (those the table lacks are missing values) in canonical order and dtypes.

    Text (also dictionary-encoded) becomes pandas' ``str``, timestamps ``datetime64[ns]``, numbers ``float64``.
    """
    out = {}
    for col in ALL_TABLES[table]:
        if col.name not in arrow.column_names:
            continue
        arr = arrow.column(col.name)
        if pa.types.is_dictionary(arr.type):
            arr = arr.cast(arr.type.value_type)
        if col.kind == "string" and not pa.types.is_large_string(arr.type):
            arr = arr.cast(pa.large_string())
        out[col.name] = arr.to_pandas()
    return conform(pd.DataFrame(out, copy=False), table)


def conform(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """Return ``frame`` with canonical columns (missing optional ones added), order and dtypes.

    Values must already be parsed (timestamps as datetimes, numbers as numbers);
    validation with row-level messages happens in :mod:`coachkit.load`.
    Extra columns are dropped. Date columns are normalised to midnight.
    """
    out = {}
    n = len(frame)
    for col in ALL_TABLES[table]:
        dt = _DTYPES[col.kind]
        if col.name in frame.columns:
            s = frame[col.name]
        else:
            s = pd.Series([None] * n, index=frame.index, dtype="object")
        if col.kind in ("timestamp", "date"):
            if isinstance(s.dtype, pd.DatetimeTZDtype):
                s = s.dt.tz_localize(None)
            if not pd.api.types.is_datetime64_any_dtype(s.dtype):
                # text: ISO 8601 per element (pandas would otherwise guess one format from the first value)
                s = pd.to_datetime(s, format="ISO8601")
            s = s.astype("datetime64[ns]")
            if col.kind == "date":
                s = s.dt.normalize()
        elif col.kind == "float":
            s = pd.to_numeric(s).astype("float64")
        else:
            s = s.astype(dt)
        out[col.name] = s
    result = pd.DataFrame(out, index=frame.index, copy=False)  # copy-on-write: no copy of the columns needed
    return result.reset_index(drop=True)
