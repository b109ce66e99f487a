"""Tests of coachkit.kpis: every built-in KPI against values worked out by hand on tiny frames."""

from __future__ import annotations

import dataclasses
import sys
import uuid

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coachkit import SalesData, stats
from coachkit.kpis import KpiInput, kpi, kpi_table, list_kpis, period_start, registry
from coachkit.load import load, validate
from coachkit.playbook import Playbook, PlaybookError

T = pd.Timestamp
RATES = ["outcome_logged_rate", "connect_rate", "meeting_show_rate", "follow_up_24h_rate", "notes_coverage", "win_rate"]
BUILTINS = [
    "activities",
    "calls",
    "meetings",
    "emails",
    "follow_ups",
    "active_days",
    "talk_time_h",
    "conversations",
    "outcome_logged_rate",
    "connect_rate",
    "meeting_show_rate",
    "follow_up_24h_rate",
    "notes_coverage",
    "feedback_score",
    "deals_created",
    "pipeline_created",
    "win_rate",
    "cycle_days",
    "activity_score",
]


def acts(*rows: tuple, **extra_cols) -> pd.DataFrame:
    """Activities from (rep_id, type, occurred_at, outcome, account_id) tuples plus optional columns."""
    df = pd.DataFrame(rows, columns=["rep_id", "activity_type", "occurred_at", "outcome", "account_id"])
    df.insert(0, "activity_id", [f"a{i}" for i in range(len(df))])
    df["occurred_at"] = pd.to_datetime(df["occurred_at"])
    for k, v in extra_cols.items():
        df[k] = v
    return df


def reps(*ids: str, **cols) -> pd.DataFrame:
    df = pd.DataFrame({"rep_id": list(ids)})
    for k, v in cols.items():
        df[k] = pd.to_datetime(v) if k in ("hired_at", "left_at") else v
    return df


def cell(table: pd.DataFrame, rep: str, period: str, name: str) -> pd.Series:
    """The one row of ``table`` for rep x period x KPI."""
    hit = table[(table["rep_id"] == rep) & (table["period_start"] == T(period)) & (table["kpi"] == name)]
    assert len(hit) == 1, f"expected one row for {rep} {period} {name}, got {len(hit)}"
    return hit.iloc[0]


def val(table: pd.DataFrame, rep: str, period: str, name: str) -> float:
    return float(cell(table, rep, period, name)["value"])


# ---- output shape --------------------------------------------------------------------------------


def test_output_columns_dtypes_and_order():
    d = SalesData.from_frames(acts(("r1", "call", "2024-01-08 09:00:00", "connected", "A")), reps("r1"))
    t = kpi_table(d, kpis=["calls", "connect_rate"])
    assert list(t.columns) == [
        "rep_id",
        "period_start",
        "kpi",
        "value",
        "numerator",
        "denominator",
        "ci_low",
        "ci_high",
    ]
    assert t["period_start"].dtype == "datetime64[ns]"
    assert list(t["kpi"]) == ["calls", "connect_rate"]
    calls = cell(t, "r1", "2024-01-08", "calls")
    assert calls["value"] == 1 and np.isnan(calls["numerator"]) and np.isnan(calls["ci_low"])
    rate = cell(t, "r1", "2024-01-08", "connect_rate")
    assert (rate["numerator"], rate["denominator"], rate["value"]) == (1, 1, 1.0)


def test_all_builtins_registered_with_definitions():
    table = list_kpis()
    assert set(BUILTINS) <= set(table["name"])
    assert list(table.columns) == ["name", "label", "unit", "kind", "higher_is_better", "definition"]
    for name in BUILTINS:
        d = registry[name]
        assert d.definition and d.definition == " ".join(d.func.__doc__.split())
    assert registry["cycle_days"].higher_is_better is False
    assert registry["connect_rate"].kind == "rate" and registry["feedback_score"].kind == "mean"
    assert registry["activity_score"].kind == "score" and registry["calls"].kind == "count"
    assert "(t, t + 24 working hours]" in registry["follow_up_24h_rate"].definition
    assert registry["talk_time_h"].kind == "sum" and registry["pipeline_created"].kind == "sum"
    assert "total dials" in registry["connect_rate"].definition


# ---- activity KPIs, one crafted week -------------------------------------------------------------


@pytest.fixture
def week():
    """One rep's week of 2024-01-08 (Mon) .. 2024-01-14 (Sun), one activity of each case."""
    a = acts(
        ("r1", "call", "2024-01-08 09:00:00", "connected", "A"),  # conversation, 600 s, notes
        ("r1", "call", "2024-01-08 10:00:00", "no_answer", "A"),  # 30 s: not talk time
        ("r1", "call", "2024-01-09 11:00:00", None, None),  # no outcome logged
        ("r1", "call", "2024-01-09 12:00:00", "voicemail", None),
        ("r1", "meeting", "2024-01-10 14:00:00", "held", "B"),  # conversation, 1800 s, blank notes
        ("r1", "meeting", "2024-01-10 15:00:00", "no_show", "B"),
        ("r1", "meeting", "2024-01-11 09:00:00", "scheduled", None),  # not in the show-rate denominator
        ("r1", "email", "2024-01-11 10:00:00", "sent", "C"),
        ("r1", "follow_up", "2024-01-12 10:00:00", "completed", "C"),
        ("r1", "task", "2024-01-12 11:00:00", "completed", None),
        ("r1", "note", "2024-01-12 12:00:00", None, None),
        ("r2", "email", "2024-01-09 09:00:00", "sent", None),  # r2: emails only
        duration_s=[600, 30, None, 20, 1800, None, None, None, None, None, None, None],
        notes=["Price too high", None, None, None, " \t\u00a0\n", None, None, None, None, None, "x", None],
        feedback_score=[4, None, None, None, 5, None, None, None, None, None, None, None],
    )
    return SalesData.from_frames(a, reps("r1", "r2"))


def test_counts_by_hand(week):
    t = kpi_table(week)
    expected = {
        "activities": 11,
        "calls": 4,
        "meetings": 3,
        "emails": 1,
        "follow_ups": 1,
        "active_days": 5,  # 8, 9, 10, 11, 12 January
        "talk_time_h": (600 + 1800) / 3600,
        "conversations": 2,
    }
    for name, v in expected.items():
        assert val(t, "r1", "2024-01-08", name) == pytest.approx(v), name
    assert val(t, "r2", "2024-01-08", "activities") == 1
    assert val(t, "r2", "2024-01-08", "emails") == 1
    assert val(t, "r2", "2024-01-08", "active_days") == 1
    # counts are 0, not NaN, where nothing happened
    for name in ("calls", "conversations", "talk_time_h", "meetings", "deals_created", "pipeline_created"):
        assert val(t, "r2", "2024-01-08", name) == 0, name


def test_rates_by_hand(week):
    t = kpi_table(week)
    expected = {
        "outcome_logged_rate": (3, 4),  # 3 of 4 calls have an outcome
        "connect_rate": (1, 4),  # 1 connected of 4 calls (dials), the unlogged one included
        "connect_rate_logged": (1, 3),  # 1 connected of 3 calls with an outcome
        "meeting_show_rate": (1, 2),  # held / (held + no_show); scheduled left out
        "meeting_held_rate": (1, 2),  # held / booked (held, no_show); still scheduled: fate unknown, left out
        "notes_coverage": (1, 2),  # whitespace-only notes (incl. NBSP) do not count
        "follow_up_24h_rate": (2, 2),  # A: call 1 h later; B: meeting 1 h later
        "feedback_score": (9, 2),  # (4 + 5) / 2
    }
    for name, (k, n) in expected.items():
        row = cell(t, "r1", "2024-01-08", name)
        assert (row["numerator"], row["denominator"]) == (k, n), name
        assert row["value"] == pytest.approx(k / n), name
    assert np.isnan(cell(t, "r1", "2024-01-08", "feedback_score")["ci_low"])  # mean: no Wilson interval


def test_zero_denominators_give_nan(week):
    t = kpi_table(week)
    for name in ["outcome_logged_rate", "connect_rate", "meeting_show_rate", "follow_up_24h_rate", "notes_coverage"]:
        row = cell(t, "r2", "2024-01-08", name)
        assert row["denominator"] == 0 and row["numerator"] == 0, name
        assert np.isnan(row["value"]) and np.isnan(row["ci_low"]) and np.isnan(row["ci_high"]), name
    row = cell(t, "r2", "2024-01-08", "feedback_score")
    assert row["denominator"] == 0 and np.isnan(row["value"])


def test_a_condition_unknown_on_every_row_counts_zero(tmp_path):
    # One call without an outcome: outcome = 'connected' is NULL on every row of the rep-week. The count is
    # 0 (SQL's count_if alone gives NULL there), so the rates are 0 out of 1, in memory and from Parquet.
    d = SalesData.from_frames(acts(("r1", "call", "2024-01-09 10:00", None, None)), reps("r1"))
    d.save(tmp_path, "parquet")
    loaded = load(tmp_path)
    assert loaded.activity_file() is not None  # the clean file, scanned in place
    for data in (d, loaded):
        t = kpi_table(data, kpis=["calls", "meetings", "connect_rate", "outcome_logged_rate", "meeting_show_rate"])
        assert val(t, "r1", "2024-01-08", "meetings") == 0
        for name in ("connect_rate", "outcome_logged_rate"):
            row = cell(t, "r1", "2024-01-08", name)
            assert (row["numerator"], row["denominator"], row["value"]) == (0, 1, 0.0), name
        row = cell(t, "r1", "2024-01-08", "meeting_show_rate")
        assert (row["numerator"], row["denominator"]) == (0, 0) and np.isnan(row["value"])


def test_active_days_on_the_first_and_last_day_of_long_months():
    d = SalesData.from_frames(
        acts(
            ("r1", "call", "2024-01-01 00:00", None, None),
            ("r1", "call", "2024-01-31 23:59", None, None),
            ("r1", "email", "2024-01-31 08:00", None, None),
            ("r1", "call", "2024-02-29 12:00", None, None),  # a leap day
            ("r1", "call", "2024-03-31 12:00", None, None),
        ),
        reps("r1"),
    )
    m = kpi_table(d, freq="M", kpis=["active_days"])
    assert list(m["value"]) == [2, 1, 1]
    w = kpi_table(d, freq="W", kpis=["active_days"])  # Monday 1 Jan; Wednesday 31 Jan; Thursday; Sunday
    assert val(w, "r1", "2024-01-01", "active_days") == 1
    assert val(w, "r1", "2024-01-29", "active_days") == 1
    assert val(w, "r1", "2024-02-26", "active_days") == 1
    assert val(w, "r1", "2024-03-25", "active_days") == 1


# ---- periods -------------------------------------------------------------------------------------


def test_week_boundary_sunday_235959_vs_monday_midnight():
    d = SalesData.from_frames(
        acts(
            ("r1", "call", "2024-01-07 23:59:59", "connected", None),  # Sunday
            ("r1", "call", "2024-01-08 00:00:00", "no_answer", None),  # Monday
        ),
        reps("r1"),
    )
    t = kpi_table(d, kpis=["calls", "connect_rate"])
    assert list(t["period_start"].unique()) == [T("2024-01-01"), T("2024-01-08")]
    assert val(t, "r1", "2024-01-01", "calls") == 1
    assert val(t, "r1", "2024-01-08", "calls") == 1
    assert val(t, "r1", "2024-01-01", "connect_rate") == 1.0
    assert val(t, "r1", "2024-01-08", "connect_rate") == 0.0


def test_freq_day_and_month_period_start():
    d = SalesData.from_frames(
        acts(
            ("r1", "call", "2024-01-31 23:59:59", None, None),
            ("r1", "call", "2024-02-01 00:00:00", None, None),
            ("r1", "email", "2024-02-03 08:00:00", None, None),  # Saturday
        ),
        reps("r1"),
    )
    m = kpi_table(d, freq="M", kpis=["calls", "activities", "active_days"])
    assert sorted(m["period_start"].unique()) == [T("2024-01-01"), T("2024-02-01")]
    assert val(m, "r1", "2024-01-01", "calls") == 1
    assert val(m, "r1", "2024-02-01", "calls") == 1
    assert val(m, "r1", "2024-02-01", "active_days") == 2
    day = kpi_table(d, freq="D", kpis=["activities"])
    assert list(day["period_start"]) == list(pd.date_range("2024-01-31", "2024-02-03", freq="D"))
    assert list(day["value"]) == [1, 1, 0, 1]
    w = kpi_table(d, freq="W", kpis=["activities"])
    assert list(w["period_start"]) == [T("2024-01-29")]  # Wednesday 31 Jan .. Saturday 3 Feb: one Monday week
    assert list(w["value"]) == [3]
    with pytest.raises(ValueError, match="freq"):
        kpi_table(d, freq="Q")


def test_period_start_helper():
    ts = pd.Series(pd.to_datetime(["2024-03-10 22:30:00", "2024-03-11 00:00:00", "2023-12-31 12:00:00", None]))
    assert list(period_start(ts, "W"))[:3] == [T("2024-03-04"), T("2024-03-11"), T("2023-12-25")]
    assert pd.isna(period_start(ts, "W").iloc[3])
    assert list(period_start(ts, "M"))[:3] == [T("2024-03-01"), T("2024-03-01"), T("2023-12-01")]
    assert list(period_start(ts, "D"))[:3] == [T("2024-03-10"), T("2024-03-11"), T("2023-12-31")]


def test_non_utc_timezone_uses_local_wall_time():
    pb = Playbook.from_text('timezone = "America/New_York"')
    # 02:30 UTC on Monday 11 March 2024 is 22:30 EDT on Sunday 10 March (DST began that morning).
    instant = pd.Series(pd.to_datetime(["2024-03-11T02:30:00Z", "2024-03-11T14:00:00Z"]))
    local = instant.dt.tz_convert(pb.zone).dt.tz_localize(None)
    a = acts(("r1", "call", None, None, None), ("r1", "call", None, None, None))
    a["occurred_at"] = local
    d = SalesData.from_frames(a, reps("r1"), playbook=pb)
    t = kpi_table(d, kpis=["calls"])
    assert list(t["period_start"]) == [T("2024-03-04"), T("2024-03-11")]
    assert list(t["value"]) == [1, 1]
    tday = kpi_table(d, freq="D", kpis=["calls"])
    assert list(tday["period_start"]) == [T("2024-03-10"), T("2024-03-11")]
    # A frame built by hand with tz-aware timestamps is converted to the playbook's wall time too.
    aware = a.assign(occurred_at=instant)
    raw = dataclasses.replace(d, activities=aware)
    t2 = kpi_table(raw, kpis=["calls"])
    assert list(t2["period_start"]) == [T("2024-03-04"), T("2024-03-11")]


# ---- follow-up within 24 hours -------------------------------------------------------------------


@pytest.fixture
def follow_ups():
    a = acts(
        ("r1", "call", "2024-01-08 09:00:00", "connected", "A"),
        ("r1", "email", "2024-01-09 09:00:00", "sent", "A"),  # exactly 24 h later: counts
        ("r1", "call", "2024-01-08 10:00:00", "connected", "B"),
        ("r1", "email", "2024-01-09 10:00:01", "sent", "B"),  # 24 h + 1 s: does not count
        ("r1", "call", "2024-01-08 11:00:00", "connected", "C"),
        ("r2", "email", "2024-01-08 12:00:00", "sent", "C"),  # another rep: does not count
        ("r1", "meeting", "2024-01-08 12:00:00", "held", "D"),
        ("r1", "email", "2024-01-08 13:00:00", "sent", "E"),  # another account: does not count
        ("r1", "call", "2024-01-08 13:00:00", "connected", "F"),
        ("r1", "note", "2024-01-08 14:00:00", None, "F"),  # a note is not a follow-up
        ("r1", "task", "2024-01-08 15:00:00", "completed", "F"),  # nor is a task
        ("r1", "call", "2024-01-08 14:00:00", "connected", "G"),
        ("r1", "call", "2024-01-08 14:00:00", "no_answer", "G"),  # same instant: (t, t+24h] excludes it
        ("r1", "call", "2024-01-08 15:00:00", "connected", None),  # no account: not in the denominator
        ("r1", "email", "2024-01-08 15:30:00", "sent", None),
        ("r1", "call", "2024-01-08 16:00:00", "connected", "H"),  # followed by the next conversation
        ("r1", "meeting", "2024-01-08 17:00:00", "held", "H"),  # ... which itself has no follow-up
        ("r1", "call", "2024-01-14 20:00:00", "connected", "I"),  # Sunday evening
        ("r1", "follow_up", "2024-01-15 09:00:00", "completed", "I"),  # next week, within 24 h: counts
        # the data's end (so that every 24 h window above has closed): Wednesday 17 Jan
        ("r2", "email", "2024-01-17 12:00:00", "sent", None),
    )
    return SalesData.from_frames(a, reps("r1", "r2"))


def test_follow_up_24h_by_hand(follow_ups):
    t = kpi_table(follow_ups, kpis=["follow_up_24h_rate", "conversations"])
    row = cell(t, "r1", "2024-01-08", "follow_up_24h_rate")
    # conversations with an account: A, B, C, D, F, G, H(call), H(meeting), I = 9; followed: A, H(call), I = 3
    assert (row["numerator"], row["denominator"]) == (3, 9)
    assert row["value"] == pytest.approx(1 / 3)
    assert val(t, "r1", "2024-01-08", "conversations") == 10
    # counted in the conversation's period: the week of 15 Jan has no conversation
    nxt = cell(t, "r1", "2024-01-15", "follow_up_24h_rate")
    assert nxt["denominator"] == 0 and np.isnan(nxt["value"])
    assert cell(t, "r2", "2024-01-08", "follow_up_24h_rate")["denominator"] == 0


def test_follow_up_24h_by_day(follow_ups):
    t = kpi_table(follow_ups, freq="D", kpis=["follow_up_24h_rate"])
    assert (cell(t, "r1", "2024-01-08", "follow_up_24h_rate")[["numerator", "denominator"]] == [2, 8]).all()
    assert (cell(t, "r1", "2024-01-14", "follow_up_24h_rate")[["numerator", "denominator"]] == [1, 1]).all()


def test_follow_up_after_window_end_still_counts(follow_ups):
    # The window ends with the week of 8 Jan, but the follow-up on Monday 15 Jan is still seen.
    t = kpi_table(follow_ups, end="2024-01-14", kpis=["follow_up_24h_rate"])
    assert list(t["period_start"].unique()) == [T("2024-01-08")]
    assert cell(t, "r1", "2024-01-08", "follow_up_24h_rate")["numerator"] == 3


def test_follow_up_counts_working_hours_across_a_weekend():
    # Friday 12 Jan 17:00 conversations. The clock stops over the weekend (whole working days by default):
    # Monday 10:00 is 7 + 10 = 17 working hours later (counts); Tuesday 17:00 is 7 + 24 + 17 = 48 (does not).
    a = acts(
        ("r1", "call", "2024-01-12 17:00:00", "connected", "A"),
        ("r1", "email", "2024-01-15 10:00:00", "sent", "A"),
        ("r1", "call", "2024-01-12 17:00:00", "connected", "B"),
        ("r1", "email", "2024-01-16 17:00:00", "sent", "B"),
        ("r1", "call", "2024-01-12 17:00:00", "connected", "C"),
        ("r1", "email", "2024-01-13 12:00:00", "sent", "C"),  # Saturday: 7 working hours later, counts
        ("r1", "task", "2024-01-19 12:00:00", "completed", None),  # the data's end: every window has closed
    )
    t = kpi_table(SalesData.from_frames(a, reps("r1")), kpis=["follow_up_24h_rate"])
    row = cell(t, "r1", "2024-01-08", "follow_up_24h_rate")
    assert (row["numerator"], row["denominator"]) == (2, 3)
    # with a holiday on Monday 15 Jan, Tuesday 10:00 is 7 + 10 = 17 working hours later: B's Tuesday touch
    # at 17:00 is 24 h exactly, which counts; plain clock hours would say 96 h
    pb = Playbook.from_text('[calendar]\nholidays = ["2024-01-15"]\n')
    t2 = kpi_table(SalesData.from_frames(a, reps("r1"), playbook=pb), kpis=["follow_up_24h_rate"])
    assert cell(t2, "r1", "2024-01-08", "follow_up_24h_rate")["numerator"] == 3
    # working hours 09:00-17:00 and 8 hours to follow up: Friday 17:00 -> Monday 10:00 is 1 working hour
    pb3 = Playbook.from_text('[calendar]\nworking_hours = "09:00-17:00"\n[coaching]\nfollow_up_hours = 8\n')
    t3 = kpi_table(SalesData.from_frames(a, reps("r1"), playbook=pb3), kpis=["follow_up_24h_rate"])
    assert (cell(t3, "r1", "2024-01-08", "follow_up_24h_rate")[["numerator", "denominator"]] == [2, 3]).all()


def test_follow_up_censors_conversations_whose_window_has_not_closed():
    # The data ends on Wednesday 10 Jan 12:00. Monday's conversation (window closed Tuesday 9:00) counts;
    # Tuesday 15:00's closes Wednesday 15:00, after the end: not judged, even though it was followed up;
    # Wednesday 9:00's is not judged either.
    a = acts(
        ("r1", "call", "2024-01-08 09:00:00", "connected", "A"),
        ("r1", "call", "2024-01-09 15:00:00", "connected", "B"),
        ("r1", "email", "2024-01-10 09:30:00", "sent", "B"),
        ("r1", "call", "2024-01-10 09:00:00", "connected", "C"),
        ("r1", "task", "2024-01-10 12:00:00", "completed", None),
    )
    t = kpi_table(SalesData.from_frames(a, reps("r1")), kpis=["follow_up_24h_rate"])
    row = cell(t, "r1", "2024-01-08", "follow_up_24h_rate")
    assert (row["numerator"], row["denominator"]) == (0, 1)


def test_playbook_working_hours_are_validated():
    with pytest.raises(PlaybookError, match="working_hours"):
        Playbook.from_text('[calendar]\nworking_hours = "17:00-09:00"\n')
    with pytest.raises(PlaybookError, match="fdr"):
        Playbook.from_text("[coaching]\nfdr = 1.5\n")


def test_sums_are_summed_and_carry_no_wilson_or_poisson_interval():
    a = acts(
        ("r1", "call", "2024-01-08 09:00:00", "connected", "A"),
        ("r1", "call", "2024-01-09 09:00:00", "connected", "A"),
        duration_s=[5400.0, 1800.0],
    )
    t = kpi_table(SalesData.from_frames(a, reps("r1")), kpis=["talk_time_h"])
    row = cell(t, "r1", "2024-01-08", "talk_time_h")
    assert row["value"] == 2.0 and np.isnan(row["ci_low"]) and np.isnan(row["ci_high"])
    with pytest.raises(ValueError, match="whole number"):
        stats.poisson_interval(row["value"] + 0.5)


def _deals(currencies, amounts):
    n = len(amounts)
    return pd.DataFrame(
        {
            "deal_id": [f"d{i}" for i in range(n)],
            "rep_id": ["r1"] * n,
            "created_at": pd.to_datetime(["2024-01-08 10:00"] * n),
            "amount": amounts,
            "currency": currencies,
        }
    )


def test_pipeline_never_adds_up_different_currencies_without_rates():
    a = acts(("r1", "call", "2024-01-08 09:00:00", None, None))
    mixed = SalesData.from_frames(a, reps("r1"), _deals(["EUR", "usd", None], [100.0, 50.0, 7.0]))
    with pytest.warns(UserWarning, match="more than one currency"):
        t = kpi_table(mixed, kpis=["pipeline_created"])
    assert np.isnan(val(t, "r1", "2024-01-08", "pipeline_created"))
    same = SalesData.from_frames(a, reps("r1"), _deals(["EUR", "EUR"], [100.0, 50.0]))
    assert val(kpi_table(same, kpis=["pipeline_created"]), "r1", "2024-01-08", "pipeline_created") == 150
    pb = Playbook.from_text('[currency]\nbase = "EUR"\nrates = { USD = 0.9 }\n')
    conv = SalesData.from_frames(a, reps("r1"), _deals(["EUR", "usd", None], [100.0, 50.0, 7.0]), playbook=pb)
    assert val(kpi_table(conv, kpis=["pipeline_created"]), "r1", "2024-01-08", "pipeline_created") == 152
    odd = SalesData.from_frames(a, reps("r1"), _deals(["EUR", "JPY"], [100.0, 50.0]), playbook=pb)
    with pytest.warns(UserWarning, match="no \\[currency\\] rate for JPY"):
        t = kpi_table(odd, kpis=["pipeline_created"])
    assert np.isnan(val(t, "r1", "2024-01-08", "pipeline_created"))


def test_rate_kpi_with_fractional_counts_names_the_kpi_and_row():
    @kpi("half_rate_test", label="x", unit="%", kind="rate")
    def half(inp):
        """Half a call / calls (a broken rate)."""
        return inp.frame(numerator=inp.count(inp.is_type("call")) / 2, denominator=inp.count(inp.is_type("call")))

    try:
        a = acts(("r1", "call", "2024-01-08 09:00:00", None, None))
        with pytest.raises(ValueError, match="half_rate_test.*rep r1.*2024-01-08.*kind='mean'"):
            kpi_table(SalesData.from_frames(a, reps("r1")), kpis=["half_rate_test"])
    finally:
        registry.pop("half_rate_test", None)


# ---- deals ---------------------------------------------------------------------------------------


def test_deal_kpis_by_hand():
    a = acts(("r1", "call", "2024-01-02 09:00:00", None, None), ("r1", "call", "2024-01-18 09:00:00", None, None))
    deals = pd.DataFrame(
        {
            "deal_id": ["d1", "d2", "d3", "d4", "d5"],
            "rep_id": ["r1", "r1", "r1", "r1", "r2"],
            "created_at": pd.to_datetime(
                ["2024-01-08 10:00", "2024-01-09 00:00", "2024-01-10 00:00", "2024-01-01 12:00", "2024-01-08 00:00"]
            ),
            "closed_at": pd.to_datetime(["2024-01-20 10:00", "2024-01-16 22:00", None, "2024-01-17 00:00", None]),
            "amount": [1000.0, None, 500.0, 200.0, 9999.0],
            "is_won": pd.array([True, False, None, True, None], dtype="boolean"),
            "is_closed": pd.array([True, True, False, True, False], dtype="boolean"),
        }
    )
    d = SalesData.from_frames(a, reps("r1", "r2"), deals)
    t = kpi_table(d)
    assert [val(t, "r1", w, "deals_created") for w in ("2024-01-01", "2024-01-08", "2024-01-15")] == [1, 3, 0]
    assert [val(t, "r1", w, "pipeline_created") for w in ("2024-01-01", "2024-01-08", "2024-01-15")] == [
        200,
        1500,  # a missing amount counts as 0
        0,
    ]
    assert val(t, "r2", "2024-01-08", "deals_created") == 1
    win = cell(t, "r1", "2024-01-15", "win_rate")
    assert (win["numerator"], win["denominator"]) == (2, 3)
    assert np.isnan(val(t, "r1", "2024-01-08", "win_rate"))
    cyc = cell(t, "r1", "2024-01-15", "cycle_days")
    # d1: 12 days; d4: 15.5 days
    assert (cyc["numerator"], cyc["denominator"]) == (27.5, 2)
    assert cyc["value"] == pytest.approx(13.75)
    assert np.isnan(cyc["ci_low"])
    assert np.isnan(val(t, "r1", "2024-01-08", "cycle_days"))


# ---- Wilson interval -----------------------------------------------------------------------------


@pytest.mark.parametrize(("k", "n", "low", "high"), [(81, 263, 0.2553, 0.3662), (0, 10, 0.0, 0.2775)])
def test_wilson_interval_matches_published_values(k, n, low, high):
    outcomes = ["connected"] * k + ["no_answer"] * (n - k)
    a = acts(
        *[("r1", "call", T("2024-01-08 09:00:00") + pd.Timedelta(minutes=i), o, None) for i, o in enumerate(outcomes)]
    )
    t = kpi_table(SalesData.from_frames(a, reps("r1")), kpis=["connect_rate"])
    row = t.iloc[0]
    assert (row["numerator"], row["denominator"]) == (k, n)
    assert row["ci_low"] == pytest.approx(low, abs=5e-5)
    assert row["ci_high"] == pytest.approx(high, abs=5e-5)


# ---- grid ----------------------------------------------------------------------------------------


@pytest.fixture
def staffed():
    a = acts(
        ("r1", "call", "2024-01-02 09:00:00", None, None),  # before r1 was hired: not on the grid
        ("r1", "call", "2024-01-11 09:00:00", None, None),
        ("r2", "call", "2024-01-15 09:00:00", None, None),
        ("r2", "call", "2024-01-23 09:00:00", None, None),  # after r2 left: not on the grid
        ("ghost", "call", "2024-01-25 09:00:00", None, None),  # not in the reps table, still sets the window
    )
    r = reps(
        "r1",
        "r2",
        "r3",
        hired_at=["2024-01-10", None, "2024-01-15"],  # a Wednesday; -; a Monday
        left_at=[None, "2024-01-15", None],  # -; a Monday
        role=["SDR", "AE", None],
    )
    return SalesData.from_frames(a, r)


def test_grid_limits_to_employment(staffed):
    t = kpi_table(staffed, kpis=["calls"])
    got = {rep: list(g["period_start"].dt.strftime("%m-%d")) for rep, g in t.groupby("rep_id")}
    assert got == {
        "r1": ["01-08", "01-15", "01-22"],  # hired Wed 10 Jan: its week ends on or after that day
        "r2": ["01-01", "01-08", "01-15"],  # left Mon 15 Jan: that week starts on or before it
        "r3": ["01-15", "01-22"],  # hired Mon 15 Jan: the week ending Sun 14 Jan is out
    }
    assert "ghost" not in set(t["rep_id"])
    assert val(t, "r1", "2024-01-08", "calls") == 1
    assert val(t, "r2", "2024-01-15", "calls") == 1
    assert val(t, "r3", "2024-01-22", "calls") == 0


def test_start_end_and_reps_select_the_grid(staffed):
    t = kpi_table(staffed, kpis=["calls"], start="2024-01-10", end="2024-01-16", reps=["r1", "r3"])
    assert sorted(zip(t["rep_id"], t["period_start"].dt.strftime("%m-%d"), strict=True)) == [
        ("r1", "01-08"),
        ("r1", "01-15"),
        ("r3", "01-15"),
    ]
    # a window beyond the data: zero weeks, not missing rows
    later = kpi_table(staffed, kpis=["calls"], start="2024-01-29", end="2024-02-05", reps="r3")
    assert list(later["period_start"]) == [T("2024-01-29"), T("2024-02-05")]
    assert list(later["value"]) == [0, 0]
    with pytest.raises(ValueError, match="nobody"):
        kpi_table(staffed, reps=["nobody"])


def test_empty_activities_give_an_empty_table():
    d = SalesData.from_frames(acts(), reps("r1"))
    t = kpi_table(d)
    assert len(t) == 0 and list(t.columns)[:3] == ["rep_id", "period_start", "kpi"]


def test_kpi_input_exposes_periods(week):
    inp = KpiInput.from_data(week, freq="W")
    assert (inp.activities["period_start"] == T("2024-01-08")).all()
    assert {"created_period", "closed_period"} <= set(inp.deals.columns)
    assert list(inp.grid.index.names) == ["rep_id", "period_start"]
    assert list(inp.grid["period_end"].unique()) == [T("2024-01-15")]


def test_unknown_kpi_is_a_clear_error(week):
    with pytest.raises(KeyError, match="nope"):
        kpi_table(week, kpis=["calls", "nope"])


# ---- activity score ------------------------------------------------------------------------------

SCORE_PLAYBOOK = """
[calendar]
holidays = ["2024-01-09", "2024-01-22", "2024-01-23", "2024-01-24", "2024-01-25", "2024-01-26"]
[targets.SDR.per_day]
calls = 2
[targets.SDR.per_week]
meetings = 1
[targets.AE]  # an empty table: no targets for AEs (the default AE targets are removed)
[score.weights]
calls = 1
meetings = 3
[ramp]
factors = [0.5]
"""


def test_activity_score_by_hand():
    pb = Playbook.from_text(SCORE_PLAYBOOK)
    rows = []
    # week of 8 Jan: 8 calls, 0 meetings; week of 15 Jan: 5 calls, 2 meetings; week of 22 Jan: 1 call
    for i in range(8):
        rows.append(("r1", "call", T("2024-01-08 09:00:00") + pd.Timedelta(hours=i), None, None))
    for i in range(5):
        rows.append(("r1", "call", T("2024-01-15 09:00:00") + pd.Timedelta(hours=i), None, None))
    rows += [("r1", "meeting", "2024-01-16 09:00:00", None, None), ("r1", "meeting", "2024-01-17 09:00:00", None, None)]
    rows.append(("r1", "call", "2024-01-22 09:00:00", None, None))
    rows += [("r4", "call", T("2024-01-15 09:00:00") + pd.Timedelta(hours=i), None, None) for i in range(10)]
    r = reps("r1", "r2", "r3", "r4", role=["SDR", "AE", None, "SDR"], hired_at=["2024-01-03", None, None, None])
    d = SalesData.from_frames(acts(*rows), r, playbook=pb)
    t = kpi_table(d, kpis=["activity_score", "calls"])
    # Week of 8 Jan: tenure week floor(5 / 7) + 1 = 1, ramp 0.5; 4 working days (9 Jan is a holiday).
    # expected calls = 2 x 4 x 0.5 = 4 -> a = 8 / 4 = 2, capped at 1; meetings = 1 x 4/5 x 0.5 = 0.4 -> a = 0
    assert val(t, "r1", "2024-01-08", "activity_score") == pytest.approx(100 * (1 * 1 + 3 * 0) / 4)
    # Week of 15 Jan: tenure week 2, ramp 1 (after the listed weeks); 5 working days.
    # calls 5 / 10 = 0.5; meetings 2 / 1 = 2 -> capped at 1: 100 means every target met, no more
    assert val(t, "r1", "2024-01-15", "activity_score") == pytest.approx(100 * (1 * 0.5 + 3 * 1) / 4)
    # Week of 22 Jan: every working day a holiday, so every expected_k is 0 and nothing remains
    assert np.isnan(val(t, "r1", "2024-01-22", "activity_score"))
    # AE has no targets in this playbook; r3 has no role
    assert np.isnan(val(t, "r2", "2024-01-15", "activity_score"))
    assert np.isnan(val(t, "r3", "2024-01-15", "activity_score"))
    # No hired_at: ramp factor 1. 10 calls / 10 expected = 1; meetings 0
    assert val(t, "r4", "2024-01-15", "activity_score") == pytest.approx(100 * 1 / 4)


def test_activity_score_default_playbook_ramp_and_day_freq():
    # Default SDR targets: calls 50/day, emails 25/day, conversations 6/day, follow_ups 5/day, meetings 5/week,
    # weights calls 1, emails 0.5, meetings 2, conversations 2, follow_ups 1. Ramp week 1 = 0.25.
    rows = [("r1", "call", T("2024-01-08 09:00:00") + pd.Timedelta(minutes=i), "connected", None) for i in range(25)]
    rows.append(("r1", "call", "2024-01-13 09:00:00", None, None))  # a Saturday: 0 working days
    d = SalesData.from_frames(acts(*rows), reps("r1", role=["SDR"], hired_at=["2024-01-08"]))
    t = kpi_table(d, freq="D", kpis=["activity_score"])
    # Monday, tenure week 1: calls expected 50 x 1 x .25 = 12.5 -> a = 2 -> 1; conversations 6 x .25 = 1.5 -> 25
    # connected calls -> 1; emails, follow_ups 0; meetings expected 5 x 1/5 x .25 = .25 -> 0
    w = {"calls": 1, "emails": 0.5, "conversations": 2, "follow_ups": 1, "meetings": 2}
    expected = 100 * (1 * 1 + 2 * 1) / sum(w.values())
    assert val(t, "r1", "2024-01-08", "activity_score") == pytest.approx(expected)
    assert np.isnan(val(t, "r1", "2024-01-13", "activity_score"))


# ---- registry ------------------------------------------------------------------------------------

MODULE = '''
from coachkit.kpis import kpi


@kpi("{name}", label="Voicemails", unit="calls", kind="count")
def voicemails(inp):
    """Calls with outcome voicemail."""
    a = inp.activities
    hit = a[(a["activity_type"] == "call") & (a["outcome"] == "voicemail")]
    return hit.groupby(["rep_id", "period_start"]).size().to_frame("value")


@kpi("{name}_share", label="Voicemail share", unit="%", kind="rate")
def voicemail_share(inp):
    """Calls with outcome voicemail / calls."""
    a = inp.activities
    calls = a[a["activity_type"] == "call"]
    g = calls.groupby(["rep_id", "period_start"])
    return g["outcome"].agg(numerator=lambda s: (s == "voicemail").sum(), denominator="size")
'''


@pytest.fixture
def analyst_module(tmp_path, monkeypatch):
    mod = f"team_kpis_{uuid.uuid4().hex[:8]}"
    name = f"vm_{uuid.uuid4().hex[:6]}"
    (tmp_path / f"{mod}.py").write_text(MODULE.format(name=name), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield mod, name
    registry.pop(name, None)
    registry.pop(f"{name}_share", None)
    sys.modules.pop(mod, None)


def test_kpi_from_playbook_module_appears_in_table(analyst_module):
    mod, name = analyst_module
    pb = Playbook.from_text(f'[kpis]\nmodules = ["{mod}"]')
    a = acts(
        ("r1", "call", "2024-01-08 09:00:00", "voicemail", None),
        ("r1", "call", "2024-01-08 10:00:00", "voicemail", None),
        ("r1", "call", "2024-01-08 11:00:00", "connected", None),
        ("r2", "email", "2024-01-15 09:00:00", None, None),
    )
    assert name not in registry
    t = kpi_table(SalesData.from_frames(a, reps("r1", "r2"), playbook=pb))
    assert name in registry and name in set(t["kpi"])
    assert val(t, "r1", "2024-01-08", name) == 2
    assert val(t, "r1", "2024-01-15", name) == 0  # filled with 0 on the grid
    assert val(t, "r2", "2024-01-08", name) == 0
    share = cell(t, "r1", "2024-01-08", f"{name}_share")
    assert (share["numerator"], share["denominator"]) == (2, 3)
    assert share["ci_low"] < 2 / 3 < share["ci_high"]  # a rate: Wilson interval added
    assert np.isnan(val(t, "r2", "2024-01-15", f"{name}_share"))
    assert registry[name].definition == "Calls with outcome voicemail."


def test_bad_kpi_module_names_the_module():
    pb = Playbook.from_text('[kpis]\nmodules = ["no_such_module_xyz"]')
    d = SalesData.from_frames(acts(("r1", "call", "2024-01-08 09:00:00", None, None)), reps("r1"), playbook=pb)
    with pytest.raises(ImportError, match="no_such_module_xyz"):
        kpi_table(d)


def test_registering_again_replaces_and_validates():
    name = f"tmp_{uuid.uuid4().hex[:6]}"
    try:

        @kpi(name, label="One", unit="x", kind="count")
        def one(inp):
            """Always 1."""
            return inp.frame(np.ones(len(inp.grid)))

        @kpi(name, label="Two", unit="x", kind="count")
        def two(inp):
            """Always 2."""
            return inp.frame(np.full(len(inp.grid), 2.0))

        assert registry[name].label == "Two" and registry[name].definition == "Always 2."
        d = SalesData.from_frames(acts(("r1", "call", "2024-01-08 09:00:00", None, None)), reps("r1"))
        assert list(kpi_table(d, kpis=[name])["value"]) == [2]
    finally:
        registry.pop(name, None)
    with pytest.raises(ValueError, match="kind"):
        kpi("x_bad", label="x", unit="x", kind="ratio")
    with pytest.raises(ValueError, match="docstring"):
        kpi("x_nodoc", label="x", unit="x", kind="count")(lambda inp: None)
    assert "x_bad" not in registry and "x_nodoc" not in registry


# ---- properties ----------------------------------------------------------------------------------

TYPES = ["call", "meeting", "email", "follow_up", "task", "note"]
OUTCOMES = [None, "connected", "no_answer", "held", "no_show", "sent", "completed"]

activity_rows = st.lists(
    st.tuples(
        st.sampled_from(["r1", "r2"]),
        st.sampled_from(TYPES),
        st.integers(min_value=0, max_value=21 * 24 * 60),  # minutes into three weeks
        st.sampled_from(OUTCOMES),
        st.sampled_from([None, "A", "B"]),
        st.sampled_from([None, "", " ", "price"]),
    ),
    min_size=1,
    max_size=40,
)


def _dataset(rows, order=None) -> SalesData:
    df = pd.DataFrame(rows, columns=["rep_id", "activity_type", "minute", "outcome", "account_id", "notes"])
    df["occurred_at"] = T("2024-01-08") + pd.to_timedelta(df.pop("minute"), unit="min")
    df["activity_id"] = [f"a{i}" for i in range(len(df))]
    if order is not None:
        df = df.iloc[order]
    return SalesData.from_frames(df, reps("r1", "r2", role=["SDR", "AE"]))


@settings(max_examples=50, deadline=None)
@given(rows=activity_rows, seed=st.integers(0, 2**16))
def test_properties(rows, seed):
    t = kpi_table(_dataset(rows))
    rates = t[t["kpi"].isin(RATES)]
    v = rates["value"].dropna()
    assert ((v >= 0) & (v <= 1)).all()
    has = rates["denominator"] > 0
    assert rates.loc[has, "value"].notna().all()
    assert (rates.loc[has, "ci_low"] <= rates.loc[has, "value"] + 1e-12).all()
    assert (rates.loc[has, "ci_high"] >= rates.loc[has, "value"] - 1e-12).all()
    assert rates.loc[~has, ["value", "ci_low", "ci_high"]].isna().all().all()

    wide = t.pivot_table(index=["rep_id", "period_start"], columns="kpi", values="value")
    typed = wide[["calls", "meetings", "emails", "follow_ups"]].sum(axis=1)
    assert (typed <= wide["activities"]).all()
    assert (wide["conversations"] <= wide["calls"] + wide["meetings"]).all()
    assert (wide["active_days"] <= 7).all()

    order = np.random.default_rng(seed).permutation(len(rows))
    shuffled = kpi_table(_dataset(rows, order))
    pd.testing.assert_frame_equal(t, shuffled)


def _oracle(data: SalesData) -> dict:
    """Every SQL-defined activity KPI and follow_up_24h_rate by brute force, straight from the docstrings:
    (kpi, rep, week) -> (value or numerator, denominator or NaN), one Python pass per rep-week."""
    a = data.activities
    pb = data.playbook
    week = a["occurred_at"].dt.to_period("W-SUN").dt.start_time
    out = {}
    ws = "".join(chr(c) for c in range(0x110000) if chr(c).isspace())
    end_w = pb.working_time(np.array([a["occurred_at"].max().value]))[0]
    window = int(pb.follow_up_hours * 3600 * 10**9)
    for (rep, wk), g in a.groupby([a["rep_id"], week]):
        ty, oc = g["activity_type"].tolist(), g["outcome"].tolist()
        call = [t == "call" for t in ty]
        meet = [t == "meeting" for t in ty]
        conn = [c and o == "connected" for c, o in zip(call, oc, strict=True)]
        held = [m and o == "held" for m, o in zip(meet, oc, strict=True)]
        conv = [x or y for x, y in zip(conn, held, strict=True)]
        logged = [c and isinstance(o, str) for c, o in zip(call, oc, strict=True)]
        shown = [m and o in ("held", "no_show") for m, o in zip(meet, oc, strict=True)]
        notes = g["notes"].tolist()
        noted = [c and isinstance(n, str) and n.strip(ws) != "" for c, n in zip(conv, notes, strict=True)]
        den_fu = num_fu = 0
        for (_, row), c in zip(g.iterrows(), conv, strict=True):
            if not c or not isinstance(row["account_id"], str):
                continue
            w = pb.working_time(np.array([row["occurred_at"].value]))[0]
            if w + window > end_w:  # its 24 working hours have not passed by the data's end
                continue
            den_fu += 1
            later = a[
                (a["rep_id"] == rep)
                & (a["account_id"] == row["account_id"])
                & a["activity_type"].isin(["call", "meeting", "email", "follow_up"])
                & (a["occurred_at"] > row["occurred_at"])
            ]
            if len(later):
                num_fu += pb.working_time(np.array([later["occurred_at"].min().value]))[0] - w <= window
        key = (rep, wk)
        out[("activities", *key)] = (len(g), np.nan)
        out[("calls", *key)] = (sum(call), np.nan)
        out[("meetings", *key)] = (sum(meet), np.nan)
        out[("active_days", *key)] = (g["occurred_at"].dt.date.nunique(), np.nan)
        out[("conversations", *key)] = (sum(conv), np.nan)
        out[("connect_rate", *key)] = (sum(conn), sum(call))
        out[("connect_rate_logged", *key)] = (sum(conn), sum(logged))
        out[("outcome_logged_rate", *key)] = (sum(logged), sum(call))
        out[("meeting_show_rate", *key)] = (sum(held), sum(shown))
        out[("notes_coverage", *key)] = (sum(noted), sum(conv))
        out[("follow_up_24h_rate", *key)] = (num_fu, den_fu)
    return out


@settings(max_examples=25, deadline=None)
@given(rows=activity_rows)
def test_sql_kpis_match_brute_force_and_arrow_matches_pandas(rows, tmp_path_factory):
    # The KPIs DuckDB computes, against the docstrings worked out row by row; and the same table whether the
    # activities come as pandas (built by hand) or as the Arrow table a clean Parquet load keeps.
    data = _dataset(rows)
    expected = _oracle(data)
    t = kpi_table(data, kpis=sorted({k for k, *_ in expected}))
    for (name, rep, wk), (v, d) in expected.items():
        row = t[(t["kpi"] == name) & (t["rep_id"] == rep) & (t["period_start"] == wk)]
        assert len(row) == 1, (name, rep, wk)
        row = row.iloc[0]
        if np.isnan(d):
            assert row["value"] == v, (name, rep, wk)
        else:
            assert (row["numerator"], row["denominator"]) == (v, d), (name, rep, wk)
    folder = tmp_path_factory.mktemp("arrow")
    data.save(folder, "parquet")
    if not validate(folder).ok:  # the rows are drawn freely: e.g. a call "held" is an error
        return
    loaded = load(folder)
    # clean (no warning, e.g. about copies): checked in place by parquet_check and kept as the file
    assert (loaded.activity_file() is not None) == (not loaded.warnings)
    pd.testing.assert_frame_equal(kpi_table(loaded), kpi_table(data))


def test_kpi_input_built_by_hand_works(week):
    # An analyst may build a KpiInput directly (e.g. from a filtered one); helpers must not rely on from_data.
    full = KpiInput.from_data(week)
    inp = KpiInput(full.activities, full.deals, full.reps, full.playbook, full.freq, full.grid)
    assert list(inp.count(inp.is_type("call"))) == [4, 0]
    assert list(inp.result("active_days")["value"]) == [5, 1]


# ---- reps in other timezones ---------------------------------------------------------------------


def test_a_rep_in_another_timezone_counts_in_their_own_weeks_and_days():
    # Playbook Europe/London. Stored (London wall time) Monday 8 Jan 03:00 = Sunday 7 Jan 22:00 in New York:
    # for the New York rep it is a Sunday, in the week of 1 Jan; for the London rep it is Monday, week of 8 Jan.
    pb = Playbook.from_text('timezone = "Europe/London"\n')
    a = acts(
        ("ny", "call", "2024-01-08 03:00:00", "connected", "A"),
        ("ny", "call", "2024-01-08 14:00:00", "no_answer", "B"),  # 09:00 in New York, Monday
        ("ldn", "call", "2024-01-08 03:00:00", "connected", "C"),
    )
    r = reps("ny", "ldn").assign(timezone=["America/New_York", None])
    t = kpi_table(SalesData.from_frames(a, r, playbook=pb), kpis=["calls", "active_days"])
    assert val(t, "ny", "2024-01-01", "calls") == 1 and val(t, "ny", "2024-01-08", "calls") == 1
    assert val(t, "ldn", "2024-01-08", "calls") == 1
    days = kpi_table(SalesData.from_frames(a, r, playbook=pb), freq="D", kpis=["calls"])
    assert val(days, "ny", "2024-01-07", "calls") == 1  # Sunday in New York
    # in summer London is UTC+1 and New York UTC-4: 5 hours apart; a rep in the playbook's zone is unchanged
    from coachkit.timezones import rep_local

    times = pd.Series(pd.to_datetime(["2024-07-01 12:00", "2024-07-01 12:00"]))
    local = rep_local(times, pd.Series(["ny", "ldn"]), r, pb)
    assert local.tolist() == [pd.Timestamp("2024-07-01 07:00"), pd.Timestamp("2024-07-01 12:00")]


def test_load_rejects_an_unknown_rep_timezone(tmp_path):
    from coachkit import DataError, load

    (tmp_path / "reps.csv").write_text("rep_id,timezone\nR1,America/New_York\nR2,Mars/Olympus\n", encoding="utf-8")
    (tmp_path / "activities.csv").write_text(
        "activity_id,rep_id,activity_type,occurred_at\na1,R1,call,2024-01-08T09:00:00\n", encoding="utf-8"
    )
    with pytest.raises(DataError) as err:
        load(tmp_path)
    (issue,) = [i for i in err.value.report.errors if i.column == "timezone"]
    assert (issue.file, issue.row, issue.value) == ("reps.csv", 3, "Mars/Olympus")
    assert "IANA timezone" in issue.message
