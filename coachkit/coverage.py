"""What a dataset can support: its data-coverage profile, and the KPIs, targets and sections it rules out.

A CRM export often lacks whole kinds of data: no emails, no call outcomes, no notes, dates without a
time of day. A review must then not show "Conversations 0" or coach "Emails 0 vs target 400". The
profile (:class:`Coverage`, built by :func:`coverage`) holds a few counts per dataset:

- the activities of each type;
- calls and meetings with an outcome; conversations (connected calls, held meetings), with notes and
  with an account;
- activities with a time of day (not exactly midnight), with a duration, with a feedback score;
- deals, and closed deals.

The counts add up (:meth:`Coverage.merge`), so a batch can build the profile of a whole dataset one
peer group at a time, without holding it in memory; a review then reads it back (:meth:`Coverage.to_dict`,
:meth:`Coverage.from_dict`). From the profile:

- :meth:`Coverage.supports` says why a KPI cannot be shown ('' when it can): such a KPI is written as
  one "not in this data" line, and is never a target, a focus area or part of the activity score;
- :func:`without_unsupported` drops the playbook targets and benchmarks of those KPIs (with a note);
- :meth:`Coverage.lacks` is the one line saying what the data lacks;
- :attr:`Coverage.has_time_of_day` decides whether an hour-of-day chart means anything.

Thresholds (module constants, documented where used): outcomes must be logged on at least
:data:`MIN_LOGGED_SHARE` of calls (meetings) for the KPIs built on them, and at least
:data:`MIN_TIMED_SHARE` of activities must carry a time of day.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "MIN_LOGGED_SHARE",
    "MIN_TIMED_SHARE",
    "TYPE_KPIS",
    "Coverage",
    "coverage",
    "without_unsupported",
]

#: Outcomes logged on fewer than this share of calls (of meetings): the KPIs built on call (meeting) outcomes are
#: not in this data. With outcomes on 10% of dials, a connect rate of connected / dials says how often outcomes
#: are logged, not how often calls connect. (The outcome-logged rate itself needs only some outcomes.)
MIN_LOGGED_SHARE = 0.2

#: Fewer than this share of activities with a time of day (not exactly 00:00): the data holds dates only, so
#: hours (when activities happen, follow-up within 24 hours) are not in this data. Timed CRM data has almost no
#: activity at exactly midnight; a date-only export has all of them there.
MIN_TIMED_SHARE = 0.5

#: Activity-count KPIs -> the activity type they count.
TYPE_KPIS: dict[str, str] = {"calls": "call", "emails": "email", "meetings": "meeting", "follow_ups": "follow_up"}

_COUNTS = (
    "activities",
    "calls",
    "calls_with_outcome",
    "meetings",
    "meetings_with_outcome",
    "conversations",
    "conversations_with_notes",
    "conversations_with_account",
    "notes",
    "timed",
    "with_duration",
    "calls_with_duration",
    "scored",
    "deals",
    "deals_closed",
    "deals_won",
    "deals_with_amount",
)


@dataclass(frozen=True)
class Coverage:
    """The data-coverage profile of a dataset (or of part of it): counts that add up across parts.

    ``types``: activity type -> activities. The other fields count activities (``calls_with_outcome``:
    calls with any outcome; ``conversations``: connected calls and held meetings; ``conversations_with_notes``:
    those with non-blank notes; ``conversations_with_account``: with an ``account_id``; ``notes``: activities with
    non-blank notes; ``timed``: activities whose timestamp is not exactly midnight; ``with_duration``,
    ``calls_with_duration``: with ``duration_s``; ``scored``: with a ``feedback_score``) or deals
    (``deals_closed``: with ``closed_at``; ``deals_with_amount``). ``scope`` says what was profiled
    ("dataset", or e.g. "the rep's team" for a review run on its own).
    """

    activities: int = 0
    types: dict[str, int] = field(default_factory=dict)
    calls: int = 0
    calls_with_outcome: int = 0
    meetings: int = 0
    meetings_with_outcome: int = 0
    conversations: int = 0
    conversations_with_notes: int = 0
    conversations_with_account: int = 0
    notes: int = 0
    timed: int = 0
    with_duration: int = 0
    calls_with_duration: int = 0
    scored: int = 0
    deals: int = 0
    deals_closed: int = 0
    deals_won: int = 0
    deals_with_amount: int = 0
    scope: str = "dataset"

    # ---- combining and storing ----------------------------------------------------------------------------
    def merge(self, other: Coverage) -> Coverage:
        """The profile of both parts together (every count added); the scope of ``self``."""
        types = dict(self.types)
        for k, v in other.types.items():
            types[k] = types.get(k, 0) + int(v)
        counts = {c: getattr(self, c) + getattr(other, c) for c in _COUNTS}
        return Coverage(types=dict(sorted(types.items())), scope=self.scope, **counts)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (:meth:`from_dict` reads it back)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Coverage:
        """The profile stored by :meth:`to_dict`; unknown keys are ignored, missing counts are 0."""
        names = {f.name for f in dataclasses.fields(cls)}
        kw = {k: v for k, v in d.items() if k in names}
        kw["types"] = {str(k): int(v) for k, v in (kw.get("types") or {}).items()}
        for c in _COUNTS:
            kw[c] = int(kw.get(c) or 0)
        return cls(**kw)

    # ---- what the data holds ----------------------------------------------------------------------------
    def has_type(self, activity_type: str) -> bool:
        """True when the data has at least one activity of ``activity_type``."""
        return self.types.get(activity_type, 0) > 0

    @staticmethod
    def _share(k: int, n: int) -> float:
        return k / n if n > 0 else float("nan")

    @property
    def call_outcome_share(self) -> float:
        """Calls with an outcome / calls (NaN without calls)."""
        return self._share(self.calls_with_outcome, self.calls)

    @property
    def meeting_outcome_share(self) -> float:
        """Meetings with an outcome / meetings (NaN without meetings)."""
        return self._share(self.meetings_with_outcome, self.meetings)

    @property
    def notes_share(self) -> float:
        """Conversations with notes / conversations (NaN without conversations)."""
        return self._share(self.conversations_with_notes, self.conversations)

    @property
    def timed_share(self) -> float:
        """Activities with a time of day / activities (NaN without activities)."""
        return self._share(self.timed, self.activities)

    @property
    def has_time_of_day(self) -> bool:
        """At least :data:`MIN_TIMED_SHARE` of the activities carry a time of day."""
        return self.activities > 0 and self.timed >= MIN_TIMED_SHARE * self.activities

    @property
    def call_outcomes(self) -> bool:
        """Outcomes are logged on at least :data:`MIN_LOGGED_SHARE` of calls (False without calls)."""
        return self.calls > 0 and self.calls_with_outcome >= MIN_LOGGED_SHARE * self.calls

    @property
    def meeting_outcomes(self) -> bool:
        """Outcomes are logged on at least :data:`MIN_LOGGED_SHARE` of meetings (False without meetings)."""
        return self.meetings > 0 and self.meetings_with_outcome >= MIN_LOGGED_SHARE * self.meetings

    @property
    def conversations_known(self) -> bool:
        """Conversations can be counted: every kind of activity that can be one (calls, meetings) has its
        outcomes logged, and at least one of them occurs."""
        if self.calls == 0 and self.meetings == 0:
            return False
        return (self.calls == 0 or self.call_outcomes) and (self.meetings == 0 or self.meeting_outcomes)

    def supports(self, kpi: str) -> str:
        """Why this data cannot support ``kpi`` ('' when it can, and for KPIs this module does not know).

        - ``calls``, ``emails``, ``meetings``, ``follow_ups``: an activity of that type;
        - ``conversations``: :attr:`conversations_known`;
        - ``connect_rate``, ``connect_rate_logged``: call outcomes (:attr:`call_outcomes`);
          ``outcome_logged_rate``: any call with an outcome;
        - ``meeting_show_rate``, ``meeting_held_rate``: meeting outcomes;
        - ``notes_coverage``: conversations, and notes on at least one of them;
        - ``follow_up_24h_rate``: conversations, with an account on at least one, and a time of day;
        - ``feedback_score``: a scored activity; ``talk_time_h``: durations on calls;
        - ``deals_created``: deals; ``pipeline_created``: deals with an amount; ``win_rate``, ``cycle_days``:
          closed deals (``cycle_days``: won deals);
        - ``activities``, ``active_days``, ``activity_score``: any activity.
        """
        if self.activities == 0 and kpi not in ("deals_created", "pipeline_created", "win_rate", "cycle_days"):
            return "the data has no activities"
        if kpi in TYPE_KPIS:
            t = TYPE_KPIS[kpi]
            return "" if self.has_type(t) else f"the data has no {t.replace('_', '-')}s"
        if kpi == "conversations":
            return "" if self.conversations_known else self._no_outcomes_reason()
        if kpi in ("connect_rate", "connect_rate_logged"):
            if self.calls == 0:
                return "the data has no calls"
            return "" if self.call_outcomes else self._logged_reason("calls", self.call_outcome_share)
        if kpi == "outcome_logged_rate":
            if self.calls == 0:
                return "the data has no calls"
            return "" if self.calls_with_outcome > 0 else "the data has no call outcomes"
        if kpi in ("meeting_show_rate", "meeting_held_rate"):
            if self.meetings == 0:
                return "the data has no meetings"
            return "" if self.meeting_outcomes else self._logged_reason("meetings", self.meeting_outcome_share)
        if kpi == "notes_coverage":
            if self.notes == 0:
                return "the data has no notes"
            if not self.conversations_known:
                return self._no_outcomes_reason()
            return "" if self.conversations_with_notes > 0 else "the data has no notes on conversations"
        if kpi == "follow_up_24h_rate":
            if not self.conversations_known:
                return self._no_outcomes_reason()
            if self.conversations_with_account == 0:
                return "the data has no account on its conversations, so follow-ups cannot be matched"
            return "" if self.has_time_of_day else "the data has dates without times of day"
        if kpi == "feedback_score":
            return "" if self.scored > 0 else "the data has no feedback scores"
        if kpi == "talk_time_h":
            return "" if self.calls_with_duration > 0 else "the data has no call durations"
        if kpi == "deals_created":
            return "" if self.deals > 0 else "the data has no deals"
        if kpi == "pipeline_created":
            return "" if self.deals_with_amount > 0 else "the data has no deal amounts"
        if kpi == "win_rate":
            return "" if self.deals_closed > 0 else "the data has no closed deals"
        if kpi == "cycle_days":
            return "" if self.deals_won > 0 else "the data has no won deals"
        return ""

    def _no_outcomes_reason(self) -> str:
        if self.calls == 0 and self.meetings == 0:
            return "the data has no calls or meetings"
        if self.calls and not self.call_outcomes:
            return self._logged_reason("calls", self.call_outcome_share)
        return self._logged_reason("meetings", self.meeting_outcome_share)

    @staticmethod
    def _logged_reason(what: str, share: float) -> str:
        if not share or np.isnan(share):
            return f"the data has no {what[:-1]} outcomes"
        return f"outcomes are logged on only {100 * share:.0f}% of {what}"

    def unsupported(self, kpis: Iterable[str]) -> dict[str, str]:
        """KPI -> reason, for the ``kpis`` this data cannot support (in the order given)."""
        return {k: r for k in dict.fromkeys(kpis) if (r := self.supports(k))}

    @property
    def missing(self) -> list[str]:
        """What the data lacks, as short phrases in a fixed order ("emails", "call outcomes", ...); [] when nothing."""
        out = []
        if self.activities == 0:
            return ["activities"]
        for t in ("call", "meeting", "email", "follow_up"):
            if not self.has_type(t):
                out.append(f"{t.replace('_', '-')}s")
        if self.calls and not self.call_outcomes:
            out.append("call outcomes" if not self.calls_with_outcome else "call outcomes on most calls")
        if self.meetings and not self.meeting_outcomes:
            out.append("meeting outcomes" if not self.meetings_with_outcome else "meeting outcomes on most meetings")
        if self.conversations_known and self.conversations_with_notes == 0:
            out.append("notes")
        elif not self.conversations_known and self.notes == 0:
            out.append("notes")
        if not self.has_time_of_day:
            out.append("times of day (dates only)")
        if self.scored == 0:
            out.append("feedback scores")
        if self.deals == 0:
            out.append("deals")
        return out

    def lacks(self) -> str:
        """One sentence saying what the data lacks and what that rules out, or '' when it lacks nothing a review uses.

        E.g. "This data has no emails, call outcomes, notes or times of day (dates only): the numbers built on them
        are not shown."
        """
        miss = self.missing
        if not miss:
            return ""
        listed = miss[0] if len(miss) == 1 else ", ".join(miss[:-1]) + " or " + miss[-1]
        where = "This data" if self.scope == "dataset" else f"The data of {self.scope}"
        return f"{where} has no {listed}: the numbers built on them are not shown."


def _blank(s: pd.Series) -> np.ndarray:
    """True where a text column is missing or only whitespace."""
    if s.dtype == object or isinstance(s.dtype, pd.StringDtype):
        stripped = s.astype("string").str.strip()
        return (stripped.isna() | stripped.eq("")).to_numpy(dtype=bool, na_value=True)
    return s.isna().to_numpy(dtype=bool)


#: What :func:`coverage` reads: table -> columns (for ``coachkit.load(..., columns=COVERAGE_COLUMNS)``).
COVERAGE_COLUMNS: dict[str, tuple[str, ...]] = {
    "activities": (
        "rep_id",
        "occurred_at",
        "activity_type",
        "outcome",
        "notes",
        "duration_s",
        "account_id",
        "feedback_score",
    ),
    "deals": ("closed_at", "is_won", "amount"),
}


def coverage(data: Any, *, scope: str = "dataset") -> Coverage:
    """The data-coverage profile of ``data`` (a :class:`coachkit.SalesData`): see :class:`Coverage`.

    Vectorised over the activities and deals; reads no file. Conversations are calls with outcome
    ``connected`` and meetings with outcome ``held`` (as in :func:`coachkit.kpis.kpi_table`).
    """
    a = data.activities
    t = a["activity_type"].astype("string")
    o = a["outcome"]
    has_out = o.notna().to_numpy(dtype=bool)
    is_call = t.eq("call").to_numpy(dtype=bool, na_value=False)
    is_meet = t.eq("meeting").to_numpy(dtype=bool, na_value=False)
    os_ = o.astype("string")
    conv = (is_call & os_.eq("connected").to_numpy(dtype=bool, na_value=False)) | (
        is_meet & os_.eq("held").to_numpy(dtype=bool, na_value=False)
    )
    noted = ~_blank(a["notes"])
    ts = a["occurred_at"]
    valid = ts.notna().to_numpy(dtype=bool)
    timed = valid & (ts != ts.dt.normalize()).to_numpy(dtype=bool, na_value=False)
    dur = a["duration_s"].notna().to_numpy(dtype=bool)
    d = data.deals
    types = t.value_counts(dropna=True)
    return Coverage(
        activities=int(len(a)),
        types={str(k): int(v) for k, v in sorted(types.items()) if v > 0},
        calls=int(is_call.sum()),
        calls_with_outcome=int((is_call & has_out).sum()),
        meetings=int(is_meet.sum()),
        meetings_with_outcome=int((is_meet & has_out).sum()),
        conversations=int(conv.sum()),
        conversations_with_notes=int((conv & noted).sum()),
        conversations_with_account=int((conv & a["account_id"].notna().to_numpy(dtype=bool)).sum()),
        notes=int(noted.sum()),
        timed=int(timed.sum()),
        with_duration=int(dur.sum()),
        calls_with_duration=int((dur & is_call).sum()),
        scored=int(a["feedback_score"].notna().sum()),
        deals=int(len(d)),
        deals_closed=int(d["closed_at"].notna().sum()) if len(d) else 0,
        deals_won=int(d["is_won"].fillna(False).astype(bool).sum()) if len(d) else 0,
        deals_with_amount=int(d["amount"].notna().sum()) if len(d) else 0,
        scope=scope,
    )


def without_unsupported(playbook: Any, cov: Coverage) -> tuple[Any, list[str]]:
    """``playbook`` without the targets (of every role) and benchmarks of the KPIs ``cov`` cannot support,
    and one note per KPI dropped, e.g. "Targets for emails are left out: the data has no emails."

    Such a KPI then has no target in any section, in the coaching focus or in the activity score (which is
    built from the targets). ``playbook``: a :class:`coachkit.Playbook`; it is not changed (a new one is
    returned; the same object when nothing is dropped).
    """
    named = {k for per in playbook.targets.values() for unit in per.values() for k in unit}
    named |= set(playbook.benchmarks)
    drop = cov.unsupported(sorted(named))
    if not drop:
        return playbook, []
    targets = {
        role: {unit: {k: v for k, v in entries.items() if k not in drop} for unit, entries in per.items()}
        for role, per in playbook.targets.items()
    }
    benchmarks = {k: v for k, v in playbook.benchmarks.items() if k not in drop}
    from .kpis import registry

    notes = []
    for k, why in drop.items():
        label = registry[k].label.lower() if k in registry else k.replace("_", " ")
        notes.append(f"Targets and benchmarks for {label} are left out: {why}.")
    return dataclasses.replace(playbook, targets=targets, benchmarks=benchmarks), notes
