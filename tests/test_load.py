"""Validated loaders: crafted small datasets with hand-computed expectations."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coachkit import schema
from coachkit.dataset import SalesData
from coachkit.load import DataError, Issue, ValidationReport, load, load_reps, validate
from coachkit.playbook import Playbook

REPS = """rep_id,name,team,role,manager,hired_at,left_at
r1,Ann,East,SDR,Mia,2026-01-05,
r2,Bob,West,AE,Mia,2025-06-01,2026-02-27
"""

ACTS_HEADER = "activity_id,rep_id,activity_type,occurred_at,duration_s,direction,outcome,notes,feedback_score"
GOOD_ROW = "a1,r1,call,2026-02-02T09:00:00,60,outbound,connected,fine,4"

DEALS = """deal_id,rep_id,account_id,created_at,closed_at,stage,amount,is_won,is_closed
d1,r1,acc1,2026-01-10T10:00:00,,qualification,1000,,false
d2,r2,acc2,2026-01-11,2026-02-01T12:00:00,closed_won,2500.5,TRUE,1
"""


def make(tmp_path: Path, activities: str, reps: str = REPS, deals: str | None = None, playbook: str | None = None):
    folder = tmp_path / "ds"
    folder.mkdir(exist_ok=True)
    (folder / "activities.csv").write_text(activities, encoding="utf-8")
    (folder / "reps.csv").write_text(reps, encoding="utf-8")
    if deals is not None:
        (folder / "deals.csv").write_text(deals, encoding="utf-8")
    if playbook is not None:
        (folder / "playbook.toml").write_text(playbook, encoding="utf-8")
    return folder


def acts(*rows: str, header: str = ACTS_HEADER) -> str:
    return "\n".join((header, *rows)) + "\n"


def only(report: ValidationReport, severity: str = "error") -> Issue:
    found = [i for i in report.issues if i.severity == severity]
    assert len(found) == 1, report.to_text()
    return found[0]


def digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


# ---- the happy path ------------------------------------------------------------------------


def test_load_csv_hand_values(tmp_path):
    folder = make(
        tmp_path,
        acts(
            GOOD_ROW,
            "a2,r1, Call ,2026-02-02T10:30:00Z,,INBOUND,Left  Voicemail,,",
            "a3,r2,meeting,2026-02-03,1800.5,,No-Show,,2.5",
        ),
        deals=DEALS,
    )
    data = load(folder)
    a = data.activities
    assert list(a.columns) == schema.columns("activities")
    assert a["activity_id"].tolist() == ["a1", "a2", "a3"]
    assert a["activity_type"].tolist() == ["call", "call", "meeting"]
    assert a["outcome"].tolist() == ["connected", "voicemail", "no_show"]
    assert a["direction"].tolist()[:2] == ["outbound", "inbound"] and pd.isna(a["direction"][2])
    assert a["occurred_at"].tolist() == [
        pd.Timestamp("2026-02-02 09:00"),
        pd.Timestamp("2026-02-02 10:30"),
        pd.Timestamp("2026-02-03 00:00"),
    ]
    np.testing.assert_array_equal(a["duration_s"].to_numpy(), [60.0, np.nan, 1800.5])
    np.testing.assert_array_equal(a["feedback_score"].to_numpy(), [4.0, np.nan, 2.5])
    assert pd.isna(a["notes"][1]) and a["notes"][0] == "fine"
    for table in schema.TABLES:
        assert data.table(table).dtypes.to_dict() == schema.dtypes(table)
    r = data.reps
    assert r["hired_at"].tolist() == [pd.Timestamp("2026-01-05"), pd.Timestamp("2025-06-01")]
    assert pd.isna(r["left_at"][0]) and r["left_at"][1] == pd.Timestamp("2026-02-27")
    d = data.deals
    assert pd.isna(d["is_won"][0]) and d["is_won"][1] == True  # noqa: E712
    assert d["is_closed"].tolist() == [False, True]
    assert d["amount"].tolist() == [1000.0, 2500.5]
    assert d["created_at"][1] == pd.Timestamp("2026-01-11")
    assert pd.isna(d["closed_at"][0])
    assert data.warnings == []
    assert validate(folder).ok


def test_optional_deals_missing_gives_empty_canonical_frame(tmp_path):
    data = load(make(tmp_path, acts(GOOD_ROW)))
    assert len(data.deals) == 0
    assert data.deals.dtypes.to_dict() == schema.dtypes("deals")


def test_booleans_any_case_and_digits(tmp_path):
    deals = (
        "deal_id,rep_id,created_at,is_won,is_closed\n"
        "d1,r1,2026-01-10,True,TRUE\nd2,r1,2026-01-10,false,0\nd3,r1,2026-01-10,1,1\nd4,r1,2026-01-10,FaLsE,fAlSe\n"
        "d5,r1,2026-01-10,,\n"
    )
    d = load(make(tmp_path, acts(GOOD_ROW), deals=deals)).deals
    assert d["is_won"].tolist()[:4] == [True, False, True, False] and pd.isna(d["is_won"][4])
    assert d["is_closed"].tolist()[:4] == [True, False, True, False] and pd.isna(d["is_closed"][4])


def test_full_timestamp_as_date_counts_as_its_local_date(tmp_path):
    reps = "rep_id,hired_at\nr1,2026-01-05T23:30:00Z\nr2,2026-01-06T03:00:00Z\n"
    folder = make(tmp_path, acts(GOOD_ROW), reps=reps, playbook='timezone = "America/New_York"\n')
    # 03:00Z on Jan 6 is 22:00 on Jan 5 in New York
    assert load(folder).reps["hired_at"].tolist() == [pd.Timestamp("2026-01-05")] * 2


# ---- timezones -----------------------------------------------------------------------------


def test_naive_is_local_and_offsets_convert_with_dst(tmp_path):
    rows = [
        "a1,r1,call,2026-03-08T01:30:00,,,,,",  # naive: kept as local wall time
        "a2,r1,call,2026-03-08T06:30:00Z,,,,,",  # 01:30 EST (before the spring-forward jump)
        "a3,r1,call,2026-03-08T07:30:00Z,,,,,",  # 03:30 EDT (after it)
        "a4,r1,call,2026-11-01T05:30:00Z,,,,,",  # 01:30 EDT (first pass of the repeated hour)
        "a5,r1,call,2026-11-01T06:30:00+00:00,,,,,",  # 01:30 EST (second pass)
        "a6,r1,call,2026-07-01T12:00:00+02:00,,,,,",  # 10:00Z = 06:00 EDT
        "a7,r1,call,2026-07-01 12:00,,,,,",
    ]
    folder = make(tmp_path, acts(*rows), playbook='timezone = "America/New_York"\n')
    got = load(folder).activities["occurred_at"].tolist()
    assert got == [
        pd.Timestamp("2026-03-08 01:30"),
        pd.Timestamp("2026-03-08 01:30"),
        pd.Timestamp("2026-03-08 03:30"),
        pd.Timestamp("2026-11-01 01:30"),
        pd.Timestamp("2026-11-01 01:30"),
        pd.Timestamp("2026-07-01 06:00"),
        pd.Timestamp("2026-07-01 12:00"),
    ]


def test_playbook_argument_overrides_dataset_playbook(tmp_path):
    folder = make(tmp_path, acts("a1,r1,call,2026-07-01T12:00:00Z,,,,,"), playbook='timezone = "Europe/Berlin"\n')
    assert load(folder).activities["occurred_at"][0] == pd.Timestamp("2026-07-01 14:00")
    tokyo = tmp_path / "tokyo.toml"
    tokyo.write_text('timezone = "Asia/Tokyo"\n')
    assert load(folder, playbook=tokyo).activities["occurred_at"][0] == pd.Timestamp("2026-07-01 21:00")
    utc = Playbook.default()
    data = load(folder, playbook=utc)
    assert data.activities["occurred_at"][0] == pd.Timestamp("2026-07-01 12:00")
    assert data.playbook is utc


def test_default_playbook_is_utc(tmp_path):
    data = load(make(tmp_path, acts("a1,r1,call,2026-07-01T12:00:00+02:00,,,,,")))
    assert data.activities["occurred_at"][0] == pd.Timestamp("2026-07-01 10:00")


def test_playbook_labels_and_extra_outcomes(tmp_path):
    pb = '[outcomes]\nextra = { call = ["callback_requested"] }\nlabels = { "Call Back" = "callback_requested" }\n'
    folder = make(tmp_path, acts("a1,r1,call,2026-02-02,,,CALL   back,,"), playbook=pb)
    assert load(folder).activities["outcome"][0] == "callback_requested"


def test_bad_playbook_is_an_error_issue(tmp_path):
    folder = make(tmp_path, acts(GOOD_ROW), playbook='timezone = "Mars/Olympus"\n')
    issue = only(validate(folder))
    assert issue.file == "playbook.toml" and "Mars/Olympus" in issue.message


# ---- every error kind names file, row, column and value -------------------------------------

ROW_ERRORS = [
    # (bad row at line 3, column, value, message fragment)
    ("a2,r1,call,yesterday,,,,,", "occurred_at", "yesterday", "ISO 8601"),
    ("a2,r1,call,2026-02-30T10:00:00,,,,,", "occurred_at", "2026-02-30T10:00:00", "ISO 8601"),
    ("a2,r1,call,2026-02-03T10:00:00+25:00,,,,,", "occurred_at", "2026-02-03T10:00:00+25:00", "ISO 8601"),
    ("a2,r1,call,,,,,,", "occurred_at", None, "required"),
    ("a2,r1,call,2026-02-03,ten,,,,", "duration_s", "ten", "number"),
    ("a2,r1,call,2026-02-03,-5,,,,", "duration_s", "-5", "negative duration"),
    ("a2,r1,call,2026-02-03,,,,,0", "feedback_score", "0", "between 1 and 5"),
    ("a2,r1,call,2026-02-03,,,,,5.5", "feedback_score", "5.5", "between 1 and 5"),
    ("a2,r1,call,2026-02-03,,,,,good", "feedback_score", "good", "number"),
    ("a2,r1,call,2026-02-03,inf,,,,", "duration_s", "inf", "number"),
    ("a2,r1,phone,2026-02-03,,,,,", "activity_type", "phone", "call, meeting, email"),
    ("a2,r1,call,2026-02-03,,,exploded,,", "outcome", "exploded", "outcomes.labels"),
    ("a2,r1,call,2026-02-03,,,held,,", "outcome", "held", "a call can be: connected"),
    ("a2,r9,call,2026-02-03,,,,,", "rep_id", "r9", "not in reps.csv"),
    (",r1,call,2026-02-03,,,,,", "activity_id", None, "required"),
    ("a2,,call,2026-02-03,,,,,", "rep_id", None, "required"),
    ("a2,r1,,2026-02-03,,,,,", "activity_type", None, "required"),
]


@pytest.mark.parametrize(("row", "column", "value", "fragment"), ROW_ERRORS)
def test_activity_row_errors(tmp_path, row, column, value, fragment):
    folder = make(tmp_path, acts(GOOD_ROW, row))
    report = validate(folder)
    issue = only(report)
    assert (issue.severity, issue.file, issue.row, issue.column, issue.value) == (
        "error",
        "activities.csv",
        3,
        column,
        value,
    )
    assert fragment in issue.message
    with pytest.raises(DataError) as exc:
        load(folder)
    text = str(exc.value)
    assert "activities.csv" in text and "line 3" in text and column in text
    if value is not None:
        assert repr(value) in text
    assert exc.value.report.issues == report.issues


DEAL_ERRORS = [
    ("d3,r1,a,2026-01-10,,,,yes,", "is_won", "yes", "true or false"),
    ("d3,r1,a,2026-01-10,,,,,2", "is_closed", "2", "true or false"),
    ('d3,r1,a,2026-01-10,,,"1,000",,', "amount", "1,000", "number"),
    ("d3,r1,a,10.01.2026,,,,,", "created_at", "10.01.2026", "ISO 8601"),
    ("d3,r1,a,2026-01-10,soon,,,,", "closed_at", "soon", "ISO 8601"),
    ("d3,r7,a,2026-01-10,,,,,", "rep_id", "r7", "not in reps.csv"),
]


@pytest.mark.parametrize(("row", "column", "value", "fragment"), DEAL_ERRORS)
def test_deal_row_errors(tmp_path, row, column, value, fragment):
    folder = make(tmp_path, acts(GOOD_ROW), deals=DEALS + row + "\n")
    issue = only(validate(folder))
    assert (issue.file, issue.row, issue.column, issue.value) == ("deals.csv", 4, column, value)
    assert fragment in issue.message


def test_rep_row_errors(tmp_path):
    reps = REPS + "r3,Cy,East,SDR,Mia,05/01/2026,\n"
    issue = only(validate(make(tmp_path, acts(GOOD_ROW), reps=reps)))
    assert (issue.file, issue.row, issue.column, issue.value) == ("reps.csv", 4, "hired_at", "05/01/2026")
    assert "YYYY-MM-DD" in issue.message


def test_missing_required_files(tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    report = validate(folder)
    assert sorted(i.file for i in report.errors) == ["activities.csv", "reps.csv"]
    assert all("activities.parquet" in i.message or "reps.parquet" in i.message for i in report.errors)
    with pytest.raises(DataError, match="required file missing"):
        load(folder)


def test_missing_source(tmp_path):
    with pytest.raises(DataError, match="no such folder or file"):
        load(tmp_path / "nope")


def test_missing_required_column(tmp_path):
    header = "activity_id,rep_id,activity_type,duration_s"
    issue = only(validate(make(tmp_path, acts("a1,r1,call,5", header=header))))
    assert (issue.file, issue.row, issue.column) == ("activities.csv", None, "occurred_at")
    assert "required column occurred_at is missing" in issue.message


def test_both_csv_and_parquet_is_an_error(tmp_path):
    folder = make(tmp_path, acts(GOOD_ROW))
    pd.DataFrame({"rep_id": ["r1"]}).to_parquet(folder / "reps.parquet")
    issue = only(validate(folder))
    assert "reps.csv" in issue.message and "reps.parquet" in issue.message


def test_duplicate_ids_with_different_content(tmp_path):
    folder = make(tmp_path, acts(GOOD_ROW, "a2,r1,call,2026-02-03,,,,,", "a1,r1,call,2026-02-04,,,,,"))
    report = validate(folder)
    assert [(i.row, i.column, i.value) for i in report.errors] == [
        (2, "activity_id", "a1"),
        (4, "activity_id", "a1"),
    ]
    assert "not unique" in report.errors[0].message


def test_duplicate_rep_ids(tmp_path):
    reps = REPS + "r1,Ann B,East,SDR,Mia,2026-01-05,\n"
    report = validate(make(tmp_path, acts(GOOD_ROW), reps=reps))
    assert [(i.file, i.row, i.column) for i in report.errors] == [("reps.csv", 2, "rep_id"), ("reps.csv", 4, "rep_id")]


def test_unreadable_csv(tmp_path):
    issue = only(validate(make(tmp_path, acts(GOOD_ROW, "a2,r1,call,2026-02-03,,,,,,,,"))))
    assert issue.file == "activities.csv" and issue.row == 3


def test_not_utf8(tmp_path):
    folder = make(tmp_path, acts(GOOD_ROW))
    (folder / "activities.csv").write_bytes(acts(GOOD_ROW, "a2,r1,call,2026-02-03,,,,caf\xe9,").encode("latin-1"))
    issue = only(validate(folder))
    assert (issue.file, issue.row) == ("activities.csv", 3) and "UTF-8" in issue.message


def test_empty_file(tmp_path):
    folder = make(tmp_path, "")
    issue = only(validate(folder))
    assert issue.file == "activities.csv" and "empty" in issue.message


# ---- counts and summaries ------------------------------------------------------------------


def test_unknown_type_reported_with_counts_and_first_rows(tmp_path):
    rows = [f"x{i},r1,phone,2026-02-03,,,,," for i in range(7)] + ["y1,r1,sms,2026-02-03,,,,,"]
    report = validate(make(tmp_path, acts(GOOD_ROW, *rows)))
    assert len(report.errors) == 8
    assert [i.row for i in report.errors if i.value == "phone"] == [3, 4, 5, 6, 7, 8, 9]
    text = report.to_text()
    assert "8 errors, 0 warnings" in text
    assert "activities.csv, column activity_type: not an activity type of the playbook" in text
    assert "[8 rows]" in text and "values: 'phone' (7), 'sms' (1)" in text
    assert "line 7: 'phone'" in text and "line 8: 'phone'" not in text and "... and 3 more" in text


def test_to_dict_is_json(tmp_path):
    report = validate(make(tmp_path, acts(GOOD_ROW, "a2,r1,phone,2026-02-03,,,,,")))
    d = json.loads(json.dumps(report.to_dict()))
    assert d["ok"] is False and d["errors"] == 1 and d["warnings"] == 0
    assert d["issues"] == [
        {
            "severity": "error",
            "file": "activities.csv",
            "row": 3,
            "column": "activity_type",
            "value": "phone",
            "message": report.errors[0].message,
        }
    ]


def test_long_lists_are_summarised(tmp_path):
    rows = [f"x{i},r1,call,2026-02-03,,,,,{i + 10}" for i in range(500)]
    rows += [f"z{i},r1,call,2026-02-03,,,bad{i},," for i in range(100)]
    with pytest.raises(DataError) as exc:
        load(make(tmp_path, acts(*rows)))
    text = str(exc.value)
    assert len(exc.value.report.errors) == 600
    assert "feedback_score must be between 1 and 5 [500 rows]" in text and "... and 495 more" in text
    assert "not a known outcome" in text and "[100 rows]" in text and "... and 95 more" in text
    assert "line 2: 'bad0'" not in text and "line 502: 'bad0'" in text


def test_data_error_text_is_truncated():
    report = ValidationReport("src", [Issue("error", f"f{i}.csv", None, None, None, "broken") for i in range(100)])
    text = str(DataError(report))
    assert len(text.splitlines()) == 61 and text.endswith("for the full report")
    assert len(report.to_text().splitlines()) == 103


# ---- warnings ------------------------------------------------------------------------------


def test_warnings(tmp_path):
    folder = make(
        tmp_path,
        acts(
            GOOD_ROW + ",junk",
            "a2,r1,call,2026-02-02T09:00:00,60,outbound,connected,fine,4,junk",
            "a1,r1,call,2026-02-02T09:00:00,60,outbound,connected,fine,4,other junk",  # exact dup of line 2
            "a3,r1,call,2026-01-04T23:59:59,,,,,,",  # before r1's hired_at 2026-01-05
            "a4,r2,call,2026-02-27T23:00:00,,,,,,",  # on r2's last day: fine
            "a5,r2,call,2026-02-28T00:00:00,,,,,,",  # after r2's left_at
            "a6,r1,call,2200-01-01T00:00:00,,,,,,",  # future
            header=ACTS_HEADER + ",extra",
        ),
    )
    data = load(folder)
    assert data.activities["activity_id"].tolist() == ["a1", "a2", "a3", "a4", "a5", "a6"]
    got = [(w.row, w.column, w.value) for w in data.warnings]
    assert got == [
        (None, "extra", None),
        (4, "activity_id", "a1"),
        (3, "activity_id", "a2"),  # a2 repeats a1 but for its id: 1 of the 6 calls kept
        (5, "occurred_at", "2026-01-04T23:59:59"),
        (7, "occurred_at", "2026-02-28T00:00:00"),
        (8, "occurred_at", "2200-01-01T00:00:00"),
    ]
    assert "dropped" in data.warnings[1].message
    assert data.warnings[2].message.startswith("17% of call rows (1 of 6) are copies of an earlier row")
    assert "before the rep's hired_at" in data.warnings[3].message
    assert "after the rep's left_at" in data.warnings[4].message
    assert "future" in data.warnings[5].message
    assert validate(folder).ok


def test_dropped_duplicate_does_not_repeat_errors(tmp_path):
    report = validate(make(tmp_path, acts("a1,r1,phone,2026-02-02,,,,,", "a1,r1,phone,2026-02-02,,,,,")))
    assert [(i.severity, i.row) for i in report.issues] == [("error", 2), ("warning", 3)]


# ---- line numbers --------------------------------------------------------------------------


def test_multiline_notes_keep_line_numbers(tmp_path):
    text = acts(
        'a1,r1,call,2026-02-02,,,,"first line\nsecond ""quoted"", line\n\nfourth line",',
        "a2,r1,call,2026-02-03,,,,,",
        'a3,r1,call,2026-02-04,,,,"x\ny",9',
        "",
        "a4,r1,phone,2026-02-05,,,,,",
    )
    folder = make(tmp_path, text)
    report = validate(folder)
    assert sorted((i.row, i.column) for i in report.errors) == [(7, "feedback_score"), (10, "activity_type")]
    notes = load(make(tmp_path, text.replace(",9", ",").replace("phone", "call"))).activities["notes"]
    assert notes[0] == 'first line\nsecond "quoted", line\n\nfourth line'


def test_crlf_and_stray_quote_line_numbers(tmp_path):
    text = acts('a1,r1,call,2026-02-02,,,,5" screen,', "a2,r1,call,2026-02-03,,,,,", "a3,r1,phone,2026-02-04,,,,,")
    report = validate(make(tmp_path, text.replace("\n", "\r\n")))
    assert [(i.row, i.value) for i in report.errors] == [(4, "phone")]


# ---- parquet and duckdb --------------------------------------------------------------------


def test_parquet_string_and_typed_columns_agree(tmp_path):
    csv_folder = make(tmp_path, acts(GOOD_ROW, "a2,r2,meeting,2026-02-03T10:00:00+01:00,,,held,,"), deals=DEALS)
    expected = load(csv_folder)
    text_folder = tmp_path / "text"
    text_folder.mkdir()
    for name in ("activities", "reps", "deals"):
        raw = pd.read_csv(csv_folder / f"{name}.csv", dtype=str, keep_default_na=False)
        raw.to_parquet(text_folder / f"{name}.parquet")
    typed_folder = expected.save(tmp_path / "typed", "parquet")
    for folder in (text_folder, typed_folder):
        got = load(folder)
        for name in schema.TABLES:
            pd.testing.assert_frame_equal(got.table(name), expected.table(name))


def test_parquet_tz_aware_and_int_columns(tmp_path):
    folder = tmp_path / "pq"
    folder.mkdir()
    pq.write_table(pa.table({"rep_id": [1, 2]}), folder / "reps.parquet")
    pq.write_table(
        pa.table(
            {
                "activity_id": [10, 11],
                "rep_id": [1, 2],
                "activity_type": ["call", "email"],
                "occurred_at": pa.array(
                    [pd.Timestamp("2026-07-01 10:00", tz="UTC"), pd.Timestamp("2026-01-15 10:00", tz="UTC")],
                    type=pa.timestamp("us", tz="UTC"),
                ),
                "duration_s": pa.array([5, None], type=pa.int64()),
            }
        ),
        folder / "activities.parquet",
    )
    data = load(folder, playbook=Playbook.from_text('timezone = "Europe/Berlin"'))
    a = data.activities
    assert a["activity_id"].tolist() == ["10", "11"] and a["rep_id"].tolist() == ["1", "2"]
    assert a["occurred_at"].tolist() == [pd.Timestamp("2026-07-01 12:00"), pd.Timestamp("2026-01-15 11:00")]
    assert a["duration_s"][0] == 5.0 and pd.isna(a["duration_s"][1])


def test_parquet_rows_are_data_row_plus_one(tmp_path):
    folder = tmp_path / "pq"
    folder.mkdir()
    pd.DataFrame({"rep_id": ["r1"]}).to_parquet(folder / "reps.parquet")
    pd.DataFrame(
        {
            "activity_id": ["a1", "a2", "a3"],
            "rep_id": ["r1", "r1", "r1"],
            "activity_type": ["call", "call", "call"],
            "occurred_at": ["2026-02-02", "2026-02-03", "nope"],
            "feedback_score": [1.0, 6.0, np.nan],
        }
    ).to_parquet(folder / "activities.parquet")
    report = validate(folder)
    assert [(i.file, i.row, i.column, i.value) for i in report.errors] == [
        ("activities.parquet", 4, "occurred_at", "nope"),
        ("activities.parquet", 3, "feedback_score", "6.0"),
    ]


def test_duckdb_source_with_playbook_table(tmp_path):
    path = tmp_path / "crm.duckdb"
    con = duckdb.connect(str(path))
    con.execute("create table reps as select 'r1' as rep_id, DATE '2026-01-05' as hired_at")
    con.execute(
        "create table activities as select 'a1' as activity_id, 'r1' as rep_id, 'call' as activity_type, "
        "TIMESTAMPTZ '2026-07-01 12:00:00+00' as occurred_at, 'LEFT VOICEMAIL' as outcome, 'x' as surplus"
    )
    con.execute("create table playbook (toml varchar)")
    con.execute("""insert into playbook values ('timezone = "Europe/Berlin"')""")
    con.close()
    before = digest(tmp_path)
    data = load(path)
    assert digest(tmp_path) == before
    assert data.playbook.timezone == "Europe/Berlin"
    assert data.activities["occurred_at"][0] == pd.Timestamp("2026-07-01 14:00")
    assert data.activities["outcome"][0] == "voicemail"
    assert data.reps["hired_at"][0] == pd.Timestamp("2026-01-05")
    assert [(w.file, w.column) for w in data.warnings] == [("crm.duckdb:activities", "surplus")]
    assert len(data.deals) == 0


def test_duckdb_missing_table_and_bad_rows(tmp_path):
    path = tmp_path / "crm.duckdb"
    con = duckdb.connect(str(path))
    con.execute("create table activities as select 'a1' as activity_id")
    con.close()
    report = validate(path)
    assert [(i.file, i.column) for i in report.errors] == [
        ("crm.duckdb:reps", None),
        ("crm.duckdb:activities", "rep_id"),
        ("crm.duckdb:activities", "activity_type"),
        ("crm.duckdb:activities", "occurred_at"),
    ]


def test_round_trip_csv_parquet_duckdb(tmp_path):
    folder = make(
        tmp_path,
        acts(GOOD_ROW, 'a2,r2,email,2026-02-03T10:00:00.123456,,,sent,"<script>alert(""x"")</script>, ü — 日本",'),
        deals=DEALS,
        playbook='timezone = "America/New_York"\n',
    )
    original = load(folder)
    a = original.save(tmp_path / "p", "parquet")
    b = load(a).save(tmp_path / "c", "csv")
    c = load(b).save(tmp_path / "x.duckdb", "duckdb")
    final = load(c)
    for name in schema.TABLES:
        pd.testing.assert_frame_equal(final.table(name), original.table(name))
    assert final.playbook.timezone == "America/New_York"
    assert final.activities["notes"][1] == '<script>alert("x")</script>, ü — 日本'


def test_sources_are_never_modified(tmp_path):
    folder = make(tmp_path, acts(GOOD_ROW, "a1,r1,call,2026-02-02T09:00:00,60,outbound,connected,fine,4"), deals=DEALS)
    data = load(folder)
    data.save(tmp_path / "pq", "parquet")
    data.save(tmp_path / "db.duckdb", "duckdb")
    before = digest(tmp_path)
    for source in (folder, tmp_path / "pq", tmp_path / "db.duckdb"):
        load(source)
        validate(source)
        load(source, playbook=Playbook.default())
    assert digest(tmp_path) == before


# ---- property: load(save(x)) == x ----------------------------------------------------------

TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\x00")
    | st.sampled_from('\n\r\t,"'),
    min_size=1,
    max_size=12,
)
IDS = st.text(alphabet="abcXYZ019-_.", min_size=1, max_size=6)
TIMES = st.datetimes(
    min_value=pd.Timestamp("1990-01-01").to_pydatetime(), max_value=pd.Timestamp("2030-12-31").to_pydatetime()
)
DAYS = st.dates(min_value=pd.Timestamp("1990-01-01").date(), max_value=pd.Timestamp("2030-12-31").date())
NUM = st.floats(min_value=1, max_value=5, allow_nan=False)
DUR = st.floats(min_value=0, max_value=1e7, allow_nan=False)
PB = Playbook.default()
TYPE_OUTCOMES = [(t, o) for t in PB.activity_types for o in (None, *PB.outcomes_for(t))]


@st.composite
def datasets(draw):
    rep_ids = draw(st.lists(IDS, min_size=1, max_size=3, unique=True))
    reps = pd.DataFrame(
        {
            "rep_id": rep_ids,
            "name": [draw(st.none() | TEXT) for _ in rep_ids],
            "role": [draw(st.sampled_from([None, "SDR", "AE"])) for _ in rep_ids],
            "hired_at": [draw(st.none() | DAYS) for _ in rep_ids],
            "left_at": [draw(st.none() | st.integers(0, 5000)) for _ in rep_ids],
        }
    )
    # left on or after hired (an unknown hire date takes any leaving date)
    hired = pd.to_datetime(reps["hired_at"])
    reps["left_at"] = hired.fillna(pd.Timestamp("1990-01-01")) + pd.to_timedelta(reps["left_at"], unit="D")
    reps["hired_at"] = hired
    n = draw(st.integers(0, 5))
    ids = draw(st.lists(IDS, min_size=n, max_size=n, unique=True))
    pairs = [draw(st.sampled_from(TYPE_OUTCOMES)) for _ in ids]
    activities = pd.DataFrame(
        {
            "activity_id": ids,
            "rep_id": [draw(st.sampled_from(rep_ids)) for _ in ids],
            "activity_type": [p[0] for p in pairs],
            "occurred_at": pd.to_datetime([draw(TIMES) for _ in ids]),
            "duration_s": [draw(st.none() | DUR) for _ in ids],
            "direction": [draw(st.sampled_from([None, "inbound", "outbound"])) for _ in ids],
            "outcome": [p[1] for p in pairs],
            "notes": [draw(st.none() | TEXT) for _ in ids],
            "feedback_score": [draw(st.none() | NUM) for _ in ids],
        }
    )
    m = draw(st.integers(0, 3))
    dids = draw(st.lists(IDS, min_size=m, max_size=m, unique=True))
    created = pd.to_datetime([draw(TIMES) for _ in dids])
    # valid deals: closed on or after created, won only when closed (or is_closed unknown), amount >= 0
    cycle = pd.to_timedelta([draw(st.none() | st.integers(0, 10**6)) for _ in dids], unit="s")
    flags = [
        draw(st.sampled_from([(None, None), (None, False), (False, False), (True, True), (False, True), (True, None)]))
        for _ in dids
    ]
    deals = pd.DataFrame(
        {
            "deal_id": dids,
            "rep_id": [draw(st.sampled_from(rep_ids)) for _ in dids],
            "created_at": created,
            "closed_at": created + cycle,
            "amount": [draw(st.none() | st.floats(0, 1e9, allow_nan=False)) for _ in dids],
            "is_won": pd.array([f[0] for f in flags], dtype="boolean"),
            "is_closed": pd.array([f[1] for f in flags], dtype="boolean"),
        }
    )
    return SalesData.from_frames(activities, reps, deals, PB)


@pytest.mark.parametrize("fmt", ["csv", "parquet", "duckdb"])
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=datasets())
def test_property_load_save_round_trip(tmp_path_factory, fmt, data):
    out = tmp_path_factory.mktemp(fmt)
    target = data.save(out / "x.duckdb" if fmt == "duckdb" else out, fmt)
    back = load(target, playbook=PB)
    for name in schema.TABLES:
        pd.testing.assert_frame_equal(back.table(name), data.table(name))


def test_year_out_of_range_is_an_error(tmp_path):
    issue = only(validate(make(tmp_path, acts(GOOD_ROW, "a2,r1,call,2999-01-01,,,,,"))))
    assert (issue.row, issue.column, issue.value) == (3, "occurred_at", "2999-01-01")
    assert "range" in issue.message


def test_unreadable_duckdb_and_plain_file_sources(tmp_path):
    bad = tmp_path / "broken.duckdb"
    bad.write_text("not a database")
    issue = only(validate(bad))
    assert issue.file == "broken.duckdb" and "not a readable DuckDB file" in issue.message
    assert bad.read_text() == "not a database"
    plain = tmp_path / "activities.csv"
    plain.write_text(ACTS_HEADER + "\n")
    with pytest.raises(DataError, match="dataset folder or a .duckdb file"):
        load(plain)


def test_parquet_categorical_columns(tmp_path):
    folder = tmp_path / "cat"
    folder.mkdir()
    pd.DataFrame({"rep_id": pd.Categorical(["r1"])}).to_parquet(folder / "reps.parquet")
    pd.DataFrame(
        {
            "activity_id": ["a1", "a2"],
            "rep_id": pd.Categorical(["r1", "r1"]),
            "activity_type": pd.Categorical(["Call", "email"]),
            "occurred_at": pd.Categorical(["2026-02-02T10:00:00", "2026-02-03"]),
            "outcome": pd.Categorical(["no answer", None]),
        }
    ).to_parquet(folder / "activities.parquet")
    a = load(folder).activities
    assert a["activity_type"].tolist() == ["call", "email"]
    assert a["occurred_at"].tolist() == [pd.Timestamp("2026-02-02 10:00"), pd.Timestamp("2026-02-03")]
    assert a["outcome"][0] == "no_answer" and pd.isna(a["outcome"][1])
    assert a.dtypes.to_dict() == schema.dtypes("activities")


@settings(max_examples=50, deadline=None)
@given(st.lists(st.none() | st.text(alphabet="ab日", max_size=10), max_size=12))
def test_surely_distinct_agrees_with_an_exact_check(values):
    from coachkit.load import _surely_distinct

    s = pd.Series(values, dtype=schema.STRING)
    s = s.where(s != "")  # the loader turns empty cells into missing values before checking ids
    assert _surely_distinct(s) == s.dropna().is_unique


def test_duplicate_ids_of_every_length_are_found(tmp_path):
    ids = ("x", "yy", "zzzzzzzzzz", "yy2")
    rows = [GOOD_ROW.replace("a1,", f"{i},", 1) for i in ids]
    other = "zzzzzzzzzz,r1,email,2026-02-02T09:00:00,,,sent,,"
    report = validate(make(tmp_path, acts(*rows, other)))
    assert [(i.row, i.column, i.value) for i in report.errors] == [
        (4, "activity_id", "zzzzzzzzzz"),
        (6, "activity_id", "zzzzzzzzzz"),
    ]


# ---- reading only some reps ------------------------------------------------------------------


def _three_reps(tmp_path: Path) -> SalesData:
    reps = REPS + "r3,Cy,East,AE,Mia,,\n"
    rows = [
        "a1,r1,call,2026-02-02T09:00:00,60,outbound,connected,fine,4",
        "a2,r2,email,2026-02-02T10:00:00,,,sent,,",
        "a3,r3,meeting,2026-02-03T10:00:00,1800,,held,good,5",
        "a4,r1,email,2026-02-03T11:00:00,,,sent,,",
        "a5,r3,call,2026-02-04T09:00:00,,,no_answer,,",
    ]
    deals = DEALS + "d3,r3,acc3,2026-01-12,,qualification,10,,false\n"
    return load(make(tmp_path, acts(*rows), reps=reps, deals=deals))


@pytest.mark.parametrize("fmt", ["csv", "parquet", "duckdb"])
def test_load_some_reps_equals_the_full_load_filtered(tmp_path, fmt):
    full = _three_reps(tmp_path)
    source = full.save(tmp_path / ("x.duckdb" if fmt == "duckdb" else "out"), fmt)
    part = load(source, reps=["r3", "r1"])
    assert part.activities["activity_id"].tolist() == ["a1", "a3", "a4", "a5"]
    assert part.deals["deal_id"].tolist() == ["d1", "d3"]
    assert part.reps["rep_id"].tolist() == ["r1", "r3"]
    for name in schema.TABLES:
        table = full.table(name)
        expected = table[table["rep_id"].isin(["r1", "r3"])].reset_index(drop=True)
        pd.testing.assert_frame_equal(part.table(name), expected)
    one = load(source, reps="r2")
    assert one.activities["activity_id"].tolist() == ["a2"] and one.reps["rep_id"].tolist() == ["r2"]
    assert len(load(source, reps=[]).activities) == 0


@pytest.mark.parametrize("fmt", ["csv", "parquet", "duckdb"])
def test_some_reps_report_problems_at_the_lines_of_the_whole_file(tmp_path, fmt):
    data = _three_reps(tmp_path)
    acts_ = data.activities.copy()
    acts_.loc[4, "feedback_score"] = 9.0  # a5 (r3), line 6
    acts_.loc[1, "duration_s"] = -1.0  # a2 (r2), line 3: not read for r3
    bad = SalesData.from_frames(acts_, data.reps, data.deals, data.playbook)
    source = bad.save(tmp_path / ("y.duckdb" if fmt == "duckdb" else "bad"), fmt)
    report = validate(source, reps=["r3"])
    assert [(i.row, i.column, i.value) for i in report.errors] == [(6, "feedback_score", "9.0")]
    assert [(i.row, i.column) for i in validate(source, reps=["r2"]).errors] == [(3, "duration_s")]
    unknown = validate(source, reps=["r9"])
    assert [(i.column, i.value) for i in unknown.errors] == [(None, "r9")]
    assert "r9" in unknown.errors[0].message


@pytest.mark.parametrize("fmt", ["csv", "parquet", "duckdb"])
def test_load_reps_reads_the_reps_table_alone(tmp_path, fmt):
    full = _three_reps(tmp_path)
    source = full.save(tmp_path / ("x.duckdb" if fmt == "duckdb" else "out"), fmt)
    reps = load_reps(source)
    pd.testing.assert_frame_equal(reps, full.reps)
    assert reps["rep_id"].tolist() == ["r1", "r2", "r3"] and str(reps["hired_at"].dtype) == "datetime64[ns]"
    if fmt == "duckdb":
        con = duckdb.connect(str(source))
        con.execute("drop table activities")  # no activities table at all: load fails, load_reps does not
        con.close()
    else:
        (source / f"activities.{fmt}").write_bytes(b"\x00 not a table \xff")
    with pytest.raises(DataError):
        load(source)
    pd.testing.assert_frame_equal(load_reps(source), full.reps)


def test_load_reps_reports_problems_in_the_reps_file(tmp_path):
    folder = make(tmp_path, acts(), reps=REPS + "r3,Cy,East,AE,Mia,not a date,\n")
    with pytest.raises(DataError) as err:
        load_reps(folder)
    [issue] = err.value.report.errors
    assert (issue.file, issue.row, issue.column, issue.value) == ("reps.csv", 4, "hired_at", "not a date")


def test_parquet_some_reps_reads_only_row_groups_that_may_hold_them(tmp_path, monkeypatch):
    data = _three_reps(tmp_path)
    folder = data.save(tmp_path / "pq", "parquet")
    order = data.activities.sort_values("rep_id", kind="stable")
    pq.write_table(pa.Table.from_pandas(order, preserve_index=False), folder / "activities.parquet", row_group_size=2)
    read: list[int] = []
    original = pq.ParquetFile.read_row_group

    def spy(self, group, *args, **kwargs):
        read.append(group)
        return original(self, group, *args, **kwargs)

    monkeypatch.setattr(pq.ParquetFile, "read_row_group", spy)
    # rows by rep: r1 a1 a4 | r2 a2, r3 a3 | r3 a5: r3 may be in groups 1 and 2 only
    part = load(folder, reps=["r3"])
    assert read[:2] == [1, 2]  # activities (then the deals file, one group)
    assert len(read) == 3
    assert part.activities["activity_id"].tolist() == ["a3", "a5"]
    broken = order.assign(feedback_score=[np.nan, np.nan, np.nan, 0.5, np.nan])  # a3 at data row 4: line 5
    pq.write_table(pa.Table.from_pandas(broken, preserve_index=False), folder / "activities.parquet", row_group_size=2)
    assert [(i.row, i.value) for i in validate(folder, reps=["r3"]).errors] == [(5, "0.5")]
