"""What ``coachkit validate`` would refuse in an imported dataset: repaired by a documented rule, or dropped.

An importer writes a dataset that ``validate`` accepts. The parsers already stop at what they cannot read
and leave empty what they will not guess (a year alone, a month, a compact date, a year outside 1678-2261:
:mod:`.dates`). :func:`repair` then applies the rules below to the canonical frames, with the same checks
as ``validate`` (:mod:`coachkit.checks`), so that the two cannot disagree; each kind is counted in the
import report (under the table's name) with the ids of its rows.

Activities

- no activity_id, rep_id, activity_type or occurred_at: **dropped** (the row cannot be counted);
- an activity_type the playbook does not list: **dropped**;
- an outcome the playbook does not list, or not one of its activity type's (``held`` on an email):
  **left empty** (the activity counts; its outcome is unknown);
- a negative duration_s: **left empty**;
- a feedback_score outside 1-5: **left empty**.

Deals

- no deal_id, rep_id or created_at: **dropped**;
- closed_at before created_at (a close date without a time on the creation day is fine): **dropped**, since
  which of the two dates is wrong cannot be known, and either way its cycle time and the period it counts in
  would be wrong;
- is_won true with is_closed false: **closed** (won implies closed; closed_at is kept as given);
- a negative amount: **left empty** (the deal still counts in deals and win rate; its amount is in no sum).

Reps

- no rep_id: **dropped**;
- left_at before hired_at: **left_at emptied**, as ``validate`` advises for a rep rehired after leaving
  (hired_at is then the rehire date, and the rep is active);
- a timezone that is not an IANA name: **left empty** (the playbook's timezone applies).

Deal stages

- no deal_id, stage or entered_at: **dropped**.

Rows identical in every column are dropped by :func:`coachkit.importers.common.finish` before this, and two
different rows with one id stop the import there (that is a mapping to fix, e.g. ids numbered per file).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from .. import checks, schema
from ..playbook import Playbook
from ..timezones import bad_timezones
from .report import ImportReport

__all__ = ["Tables", "repair"]


class Tables(NamedTuple):
    """The canonical tables of an import (each conformed to :mod:`coachkit.schema`)."""

    activities: pd.DataFrame
    reps: pd.DataFrame
    deals: pd.DataFrame
    deal_stages: pd.DataFrame


def repair(tables: Tables, playbook: Playbook, report: ImportReport) -> Tables:
    """``tables`` with every row ``validate`` would refuse repaired or dropped by the module's rules.

    Returns new frames; the given ones are not changed. Each rule that applies adds one line to
    ``report`` (dropped, or changed) with the count and the ids of its rows.
    """
    return Tables(
        activities=_activities(tables.activities, playbook, report),
        reps=_reps(tables.reps, report),
        deals=_deals(tables.deals, report),
        deal_stages=_required(tables.deal_stages, "deal_stages", "deal_id", report),
    )


def _required(frame: pd.DataFrame, table: str, key: str, report: ImportReport) -> pd.DataFrame:
    """Drop rows missing a required value (one report line per column)."""
    keep = np.ones(len(frame), dtype=bool)
    for col in schema.required_columns(table):
        missing = frame[col].isna().to_numpy() & keep
        ids = None if col == key else frame.loc[missing, key]
        report.drop(table, f"no {col}", int(missing.sum()), ids=ids)
        keep &= ~missing
    return frame if keep.all() else frame[keep].reset_index(drop=True)


def _drop(frame: pd.DataFrame, mask: np.ndarray, table: str, key: str, reason: str, report: ImportReport):
    if not mask.any():
        return frame
    report.drop(table, reason, int(mask.sum()), ids=frame.loc[mask, key])
    return frame[~mask].reset_index(drop=True)


def _empty(frame: pd.DataFrame, mask: np.ndarray, column: str, table: str, key: str, what: str, report):
    if not mask.any():
        return frame
    report.change(table, what, int(mask.sum()), ids=frame.loc[mask, key])
    frame = frame.copy()
    frame[column] = frame[column].where(~mask)
    return frame


def _activities(a: pd.DataFrame, pb: Playbook, report: ImportReport) -> pd.DataFrame:
    t, key = "activities", "activity_id"
    a = _required(a, t, key, report)
    known_type = a["activity_type"].isin(pb.activity_types).to_numpy(dtype=bool)
    a = _drop(a, ~known_type, t, key, f"activity_type not in the playbook ({', '.join(pb.activity_types)})", report)
    allowed = pd.Index([f"{typ}\x00{o}" for typ in pb.activity_types for o in pb.outcomes_for(typ)])
    pair = (a["activity_type"].astype(schema.STRING) + "\x00" + a["outcome"].astype(schema.STRING)).astype(object)
    wrong = a["outcome"].notna().to_numpy() & ~pair.isin(allowed).to_numpy(dtype=bool)
    a = _empty(a, wrong, "outcome", t, key, "outcomes left empty: not an outcome of their activity type in the "
               "playbook", report)  # fmt: skip
    negative = (a["duration_s"] < 0).to_numpy(dtype=bool, na_value=False)
    a = _empty(a, negative, "duration_s", t, key, "negative durations left empty", report)
    score = a["feedback_score"]
    outside = ((score < 1) | (score > 5)).to_numpy(dtype=bool, na_value=False)
    return _empty(a, outside, "feedback_score", t, key, "feedback scores outside 1-5 left empty", report)


def _deals(d: pd.DataFrame, report: ImportReport) -> pd.DataFrame:
    t, key = "deals", "deal_id"
    d = _required(d, t, key, report)
    before = checks.closed_before_created(d["created_at"], d["closed_at"])
    d = _drop(d, before, t, key, "closed_at before created_at: which date is wrong cannot be known", report)
    won_open = checks.won_not_closed(d["is_won"], d["is_closed"])
    if won_open.any():
        report.change(t, "won deals with is_closed false closed (won implies closed)", int(won_open.sum()),
                      ids=d.loc[won_open, key])  # fmt: skip
        d = d.copy()
        d.loc[won_open, "is_closed"] = True
    negative = (d["amount"] < 0).to_numpy(dtype=bool, na_value=False)
    return _empty(d, negative, "amount", t, key, "negative amounts left empty (the deals still count)", report)


def _reps(r: pd.DataFrame, report: ImportReport) -> pd.DataFrame:
    t, key = "reps", "rep_id"
    r = _required(r, t, key, report)
    r = _empty(r, checks.left_before_hired(r["hired_at"], r["left_at"]), "left_at", t, key,
               "left_at before hired_at emptied (taken as rehired: hired_at is the rehire date)", report)  # fmt: skip
    return _empty(r, bad_timezones(r["timezone"]), "timezone", t, key,
                  "timezones that are not IANA names left empty (the playbook's applies)", report)  # fmt: skip
