"""The built-in activity KPIs: each one's docstring (its exact definition), the columns it reads and its SQL,
together. Most are SQL aggregates (:mod:`coachkit.kpi_sql`); follow-up within 24 working hours pairs each
conversation with its next touch in SQL and runs the working-time clock of the playbook."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from ..kpi_sql import HAS_TEXT
from .input import KpiInput
from .registry import kpi


def _sql_kpi(
    name: str,
    definition: str,
    *,
    label: str,
    unit: str,
    kind: str,
    columns: Iterable[str],
    higher_is_better: bool = True,
    **sql: str,
) -> None:
    """Register a built-in KPI defined in SQL: its docstring (``definition``), its columns and its SQL, together."""

    def func(inp: KpiInput) -> pd.DataFrame:
        return inp.sql_result(name)

    func.__doc__ = definition
    func.__name__ = func.__qualname__ = name
    kpi(name, label=label, unit=unit, kind=kind, higher_is_better=higher_is_better, columns=columns, sql=sql)(func)


def _count(condition: str) -> str:
    """SQL: how many activities meet ``condition`` (0 when none; a NULL condition does not count).

    ``count_if`` is ``count(*) FILTER (WHERE condition)``, which DuckDB computes about 25% faster over many
    aggregates; unlike ``count``, it gives NULL when the condition is NULL on every row, hence ``coalesce``.
    """
    return f"coalesce(count_if({condition}), 0)"


_CALL = "activity_type = 'call'"
_MEETING = "activity_type = 'meeting'"

_sql_kpi(
    "activities",
    "Number of activities of any type.",
    label="Activities",
    unit="activities",
    kind="count",
    columns=(),
    value="count(*)",
)
for _name, _type, _label in (
    ("calls", "call", "Calls"),
    ("meetings", "meeting", "Meetings"),
    ("emails", "email", "Emails"),
    ("follow_ups", "follow_up", "Follow-ups"),
):
    _sql_kpi(
        _name,
        f"Number of activities of type {_type}.",
        label=_label,
        unit=_name,
        kind="count",
        columns=("activity_type",),
        value=_count(f"activity_type = '{_type}'"),
    )

_sql_kpi(
    "active_days",
    "Number of distinct calendar dates with at least one activity.",
    label="Active days",
    unit="days",
    kind="count",
    columns=(),
    value="coalesce(bit_count(bit_or(day_bit)), 0)",  # the distinct days (kpi_sql: day_bit)
)

_sql_kpi(
    "talk_time_h",
    "Σ duration_s / 3600 over calls with outcome connected and meetings with outcome held; a missing duration "
    "counts as 0.",
    label="Talk time",
    unit="h",
    kind="sum",
    columns=("activity_type", "outcome", "duration_s"),
    value="coalesce(fsum(duration_s) FILTER (WHERE conv), 0) / 3600",
)
_sql_kpi(
    "conversations",
    "Number of calls with outcome connected plus meetings with outcome held.",
    label="Conversations",
    unit="conversations",
    kind="count",
    columns=("activity_type", "outcome"),
    value=_count("conv"),
)
_sql_kpi(
    "outcome_logged_rate",
    "Calls that have an outcome / calls.",
    label="Outcome logged",
    unit="%",
    kind="rate",
    columns=("activity_type", "outcome"),
    numerator=_count(f"{_CALL} AND outcome IS NOT NULL"),
    denominator=_count(_CALL),
)
_sql_kpi(
    "connect_rate",
    """Calls with outcome connected / all calls (dials), with or without a logged outcome. This is the field's
    definition: live conversations ÷ total dials (e.g. Gangly's sales glossary, "Connect rate": "(live
    conversations ÷ total dials) × 100"; predictive-dialer usage: calls connected to an agent ÷ calls dialed).
    A call without an outcome counts as not connected; see connect_rate_logged for the rate among calls with an
    outcome.""",
    label="Connect rate",
    unit="%",
    kind="rate",
    columns=("activity_type", "outcome"),
    numerator=_count(f"{_CALL} AND outcome = 'connected'"),
    denominator=_count(_CALL),
)
_sql_kpi(
    "connect_rate_logged",
    """Calls with outcome connected / calls that have an outcome (calls without a logged outcome are left out of
    both; compare with connect_rate, whose denominator is every call).""",
    label="Connect rate (logged calls)",
    unit="%",
    kind="rate",
    columns=("activity_type", "outcome"),
    numerator=_count(f"{_CALL} AND outcome = 'connected'"),
    denominator=_count(f"{_CALL} AND outcome IS NOT NULL"),
)
_sql_kpi(
    "meeting_show_rate",
    """Meetings with outcome held / meetings with outcome held or no_show. The denominator is the meetings the
    buyer was expected at and either came to or did not; rescheduled, canceled, still-scheduled meetings and
    meetings without an outcome are in neither (no-show rate = 1 − show rate, as the field uses it: the share
    of booked meetings the prospect does not attend). See meeting_held_rate for held / booked.""",
    label="Meeting show rate",
    unit="%",
    kind="rate",
    columns=("activity_type", "outcome"),
    numerator=_count(f"{_MEETING} AND outcome = 'held'"),
    denominator=_count(f"{_MEETING} AND outcome IN ('held', 'no_show')"),
)
_sql_kpi(
    "meeting_held_rate",
    """Meetings with outcome held / meetings booked. Booked: meeting activities whose fate is logged, i.e. with
    outcome held, no_show, rescheduled or canceled (a meeting still 'scheduled' or without an outcome is not yet
    known and is left out of both). Counted in the period of the meeting's occurred_at (its scheduled time).
    This is the field's "hold rate" / "occurrence rate": the share of scheduled meetings that actually take
    place (ExecVision, "Fight meeting fall-off"), where a booked meeting is a confirmed calendar appointment.""",
    label="Meetings held of booked",
    unit="%",
    kind="rate",
    columns=("activity_type", "outcome"),
    numerator=_count(f"{_MEETING} AND outcome = 'held'"),
    denominator=_count(f"{_MEETING} AND outcome IN ('held', 'no_show', 'rescheduled', 'canceled')"),
)


@kpi(
    "follow_up_24h_rate",
    label="Follow-up within 24 h",
    unit="%",
    kind="rate",
    columns=("activity_type", "outcome", "account_id"),
)
def follow_up_24h_rate(inp: KpiInput) -> pd.DataFrame:
    """Denominator: conversations (calls with outcome connected, meetings with outcome held) that have an
    account_id and whose follow-up window closed before the data's end, i.e. t + 24 working hours <= the latest
    occurred_at in the dataset, where t is the conversation's occurred_at (a conversation whose 24 working hours
    have not yet passed cannot be judged, so it is in neither count). Numerator: those after which the same rep
    logged a call, meeting, email or follow_up (any outcome) on the same account_id with occurred_at in
    (t, t + 24 working hours]. Working hours are the playbook's [calendar] working_hours on its working days,
    holidays excluded; by default whole working days, so the clock stops over weekends and holidays (Friday
    17:00 → Monday 10:00 is 17 working hours). The 24 is the playbook's [coaching] follow_up_hours. Counted in
    the conversation's period."""
    from .. import kpi_sql

    pb = inp.playbook
    n = len(inp.grid)
    scope = inp._sql_scope()
    if scope is None:
        return inp.frame(numerator=np.zeros(n), denominator=np.zeros(n))
    # Each conversation's next touch (the first one strictly after it): found by DuckDB (an ASOF join).
    touches = ("call", "meeting", "email", "follow_up")
    got = kpi_sql.next_touches(inp.sql_source(), inp.freq, *scope, touches, inp._grid_reps())
    cells = inp._cells(got["rep"], got["period_day"].astype("datetime64[D]"))
    on = cells >= 0
    cells, t, t_next = cells[on], got["t"][on], got["t_next"][on]
    # The working-time clock never runs backwards, so the first touch after is the one to check.
    window = int(round(pb.follow_up_hours * 3600 * 10**9))
    w_conv = pb.working_time(t)
    end = got["t_end"][0]
    end_w = pb.working_time(np.array([end]))[0] if end != np.iinfo(np.int64).min else np.iinfo(np.int64).min
    closed = w_conv + window <= end_w
    has = t_next != -1
    followed = np.zeros(len(t), dtype=bool)
    followed[has] = pb.working_time(t_next[has]) - w_conv[has] <= window
    num = np.bincount(cells[closed & followed], minlength=n).astype("float64")
    den = np.bincount(cells[closed], minlength=n).astype("float64")
    return inp.frame(numerator=num, denominator=den)


_sql_kpi(
    "notes_coverage",
    "Conversations whose notes contain at least one non-whitespace character / conversations.",
    label="Notes coverage",
    unit="%",
    kind="rate",
    columns=("activity_type", "outcome", "notes"),
    # whitespace: the characters of Python's str.isspace and Arrow's utf8_is_space (kpi_sql.WHITESPACE)
    numerator=_count(f"conv AND {HAS_TEXT}"),
    denominator=_count("conv"),
)
_sql_kpi(
    "feedback_score",
    """Mean feedback_score of the period's activities that have one (numerator = Σ feedback_score,
    denominator = number of activities with a feedback_score).""",
    label="Feedback score",
    unit="score 1–5",
    kind="mean",
    columns=("feedback_score",),
    numerator="coalesce(fsum(feedback_score), 0)",
    denominator="count(feedback_score)",
)
