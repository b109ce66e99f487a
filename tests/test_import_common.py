"""Shared importer helpers: parsers, label matching, HTML to text, the report."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coachkit import Playbook, schema
from coachkit.importers.common import (
    ExportError,
    ImportReport,
    classify_activity,
    first_id,
    html_to_text,
    is_follow_up,
    label_key,
    map_outcomes,
    parse_bools,
    parse_dates,
    parse_hms,
    parse_money,
    parse_timestamps,
    snake_case,
)


def s(*values):
    return pd.Series(list(values), dtype=schema.STRING)


def test_snake_case_accepts_api_names_and_snake_case():
    assert snake_case("OwnerId") == "owner_id"
    assert snake_case("CallDurationInSeconds") == "call_duration_in_seconds"
    assert snake_case("owner_id") == "owner_id"
    assert snake_case("Hire_Date__c") == "hire_date_c"
    assert snake_case("UserRole.Name") == "user_role_name"
    assert snake_case("Associated Company IDs") == "associated_company_ids"
    assert snake_case("firstName") == "first_name"


@settings(max_examples=50, deadline=None)
@given(st.from_regex(r"[A-Za-z][A-Za-z0-9_ ]{0,20}", fullmatch=True))
def test_snake_case_is_idempotent(name):
    once = snake_case(name)
    assert snake_case(once) == once


def test_timestamps_utc_offsets_epoch_and_dst_in_berlin():
    values = s("2024-03-31T00:30:00Z", "2024-03-31 01:30:00+0000", "1711846800000", None, "2024-03-31 12:00:00")
    out = parse_timestamps(values, file="f.csv", column="c", timezone="Europe/Berlin", assume="UTC")
    # before the 01:00 UTC switch Berlin is UTC+1, after it UTC+2
    assert out.tolist()[:3] == [
        pd.Timestamp("2024-03-31 01:30"),
        pd.Timestamp("2024-03-31 03:30"),
        pd.Timestamp("2024-03-31 03:00"),
    ]
    assert pd.isna(out[3])
    assert out[4] == pd.Timestamp("2024-03-31 14:00")


def test_naive_timestamps_default_to_local_time():
    out = parse_timestamps(s("2024-01-02 09:00:00"), file="f", column="c", timezone="America/New_York")
    assert out[0] == pd.Timestamp("2024-01-02 09:00")


def test_timestamp_formats_tried_in_order():
    fmts = ["%d %b, %Y %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%m/%d/%Y"]
    out = parse_timestamps(
        s("15 Apr, 2021 00:02:00", "2021-04-15 23:03:00", "1/31/2024"),
        file="f",
        column="c",
        timezone="UTC",
        formats=fmts,
    )
    assert out.tolist() == [
        pd.Timestamp("2021-04-15 00:02"),
        pd.Timestamp("2021-04-15 23:03"),
        pd.Timestamp("2024-01-31"),
    ]


def test_bad_timestamp_names_file_row_column_value():
    with pytest.raises(ExportError) as err:
        parse_timestamps(s("2024-01-01", "yesterday"), file="Task.csv", column="CreatedDate", timezone="UTC")
    e = err.value
    assert (e.file, e.row, e.column, e.value) == ("Task.csv", 3, "CreatedDate", "yesterday")
    assert "Task.csv" in str(e) and "row 3" in str(e) and "yesterday" in str(e)


def test_dates_are_not_shifted():
    out = parse_dates(s("2018-12-19 00:00:00", "2024-02-29", None), file="f", column="CloseDate")
    assert out.tolist()[:2] == [pd.Timestamp("2018-12-19"), pd.Timestamp("2024-02-29")]
    assert pd.isna(out[2])


def test_money():
    out = parse_money(s("$22,700.00", "342.09K", "(500)", "1.2M", "-3", "EUR 99", None), file="f", column="v")
    assert out.tolist()[:6] == [22700.0, 342090.0, -500.0, 1200000.0, -3.0, 99.0]
    assert pd.isna(out[6])
    with pytest.raises(ExportError, match="12 apples"):
        parse_money(s("12 apples"), file="f", column="v")


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 99), st.integers(0, 59), st.integers(0, 59))
def test_hms_round_trip(h, m, sec):
    out = parse_hms(s(f"{h:02d}:{m:02d}:{sec:02d}", f"{h}:{m:02d}"), file="f", column="d")
    assert out.tolist() == [h * 3600 + m * 60 + sec, h * 3600 + m * 60]


def test_hms_rejects_nonsense():
    with pytest.raises(ExportError, match="HH:MM"):
        parse_hms(s("1:75"), file="f", column="duration")


def test_bools():
    assert parse_bools(s("TRUE", "0", "yes", None), file="f", column="b").tolist() == [True, False, True, pd.NA]
    with pytest.raises(ExportError, match="maybe"):
        parse_bools(s("maybe"), file="f", column="b")


def test_html_to_text_strips_tags_scripts_and_unescapes():
    out = html_to_text(
        s("<p>Price &amp; <b>timing</b></p><p>next<br>line</p><script>alert(1)</script>", "a < b", "", None)
    )
    assert out[0] == "Price & timing\n\nnext\nline"
    assert out[1] == "a < b"
    assert pd.isna(out[2]) and pd.isna(out[3])


def test_follow_up_detection_any_spelling():
    got = is_follow_up(s("Follow UP call", "followup", "FOLLOW-UP", "follow_ups", "unfollowupable", "call", None))
    assert got.tolist() == [True, True, True, True, False, False, False]
    assert label_key("Follow UP") == label_key("followup") == label_key("follow_up")


def test_classify_activity_order():
    kind, unknown = classify_activity(
        s("Call", "Task", "Fax", None, "Lunch"),
        s("x", "Follow-up on quote", "y", "follow up", "z"),
        built_in={"call": "call", "task": "task"},
        custom={"lunch": "meeting"},
    )
    assert kind.tolist() == ["call", "follow_up", "task", "follow_up", "meeting"]
    assert unknown.tolist() == [False, False, True, False, False]


def test_first_id():
    assert first_id(s("12;34", " 5 ", "", None)).tolist()[:2] == ["12", "5"]


def test_map_outcomes_reports_unknown_and_type_mismatch():
    report = ImportReport()
    pb = Playbook.default()
    out = map_outcomes(
        s("Left Voicemail", "Spoke", "held", None),
        s("call", "call", "call", "call"),
        {"Left Voicemail": "voicemail"},
        pb,
        report,
        file="calls.csv",
        column="disp",
    )
    assert out.tolist()[0] == "voicemail"
    assert out.isna().tolist()[1:] == [True, True, True]
    assert report.unmapped[("calls.csv", "disp")]["Spoke"] == 1
    assert report.unmapped[("calls.csv", "disp (outcome not allowed for the activity type)")]["held"] == 1
    text = report.to_text()
    assert "'Spoke' x1" in text
