"""Bad input beyond imports: every kind of data that loads but cannot be right, and every kind of file that
cannot be read, on inputs of our own making (the shared cases are in test_validate_cases.py).

Each kind is an error when a KPI computed from the row would be wrong, else a warning; each issue names the
file, the line, the column and the value.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from coachkit.load import DataError, load, validate
from coachkit.playbook import Playbook
from coachkit.sample import sample

REPS = "rep_id,name,hired_at,left_at\nr1,Ann,2025-01-06,\nr2,Bob,2025-01-06,\n"
ACTS = "activity_id,rep_id,activity_type,occurred_at,outcome,notes\n"
ROW = "a1,r1,call,2026-02-02T09:00:00,connected,fine\n"
DEALS = "deal_id,rep_id,created_at,closed_at,stage,amount,is_won,is_closed\n"


def make(tmp_path: Path, activities: str = ACTS + ROW, reps: str = REPS, deals: str | None = None, **files: str):
    folder = tmp_path / "ds"
    folder.mkdir(exist_ok=True)
    (folder / "activities.csv").write_text(activities, encoding="utf-8")
    (folder / "reps.csv").write_text(reps, encoding="utf-8")
    if deals is not None:
        (folder / "deals.csv").write_text(deals, encoding="utf-8")
    for name, text in files.items():
        (folder / name.replace("_", ".")).write_text(text, encoding="utf-8")
    return folder


def found(report, severity: str | None = None) -> list[tuple]:
    return [(i.severity, i.file, i.row, i.column, i.value) for i in report.issues if severity in (None, i.severity)]


def digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


# ---- deals ---------------------------------------------------------------------------------------


def test_deal_dates_flags_and_amounts(tmp_path):
    deals = DEALS + (
        "d1,r1,2026-03-02T10:00:00,2026-03-02,closed_won,100,true,true\n"  # closed the day it was created: fine
        "d2,r1,2026-03-02T10:00:00,2026-03-01,closed_lost,100,false,true\n"  # closed the day before
        "d3,r1,2026-03-02T10:00:00,2026-03-02T09:59:00,closed_won,100,true,true\n"  # a minute before
        "d4,r1,2026-03-02T10:00:00,,proposal,100,TRUE,0\n"  # won, not closed
        "d5,r1,2026-03-02T10:00:00,,proposal,100,true,\n"  # won, is_closed unknown: not contradictory
        "d6,r1,2026-03-02T10:00:00,,proposal,-0.01,,false\n"  # negative
        "d7,r1,2026-03-02T10:00:00,,proposal,0,false,false\n"  # zero, open with is_won false (Salesforce): fine
    )
    report = validate(make(tmp_path, deals=deals))
    assert found(report) == [
        ("error", "deals.csv", 3, "closed_at", "2026-03-01"),
        ("error", "deals.csv", 4, "closed_at", "2026-03-02T09:59:00"),
        ("error", "deals.csv", 5, "is_won", "TRUE"),
        ("error", "deals.csv", 7, "amount", "-0.01"),
    ]


def test_deal_checks_in_parquet_rows(tmp_path):
    folder = make(tmp_path)
    (folder / "deals.csv").unlink(missing_ok=True)
    pd.DataFrame(
        {
            "deal_id": ["d1", "d2"],
            "rep_id": ["r1", "r1"],
            "created_at": pd.to_datetime(["2026-03-02 10:00", "2026-03-02 10:00"]),
            "closed_at": pd.to_datetime([None, "2026-02-01"]),
            "amount": [-5.0, 5.0],
            "is_won": pd.array([True, False], dtype="boolean"),
            "is_closed": pd.array([False, True], dtype="boolean"),
        }
    ).to_parquet(folder / "deals.parquet")
    assert found(validate(folder)) == [
        ("error", "deals.parquet", 3, "closed_at", "2026-02-01 00:00:00"),
        ("error", "deals.parquet", 2, "is_won", "True"),
        ("error", "deals.parquet", 2, "amount", "-5.0"),
    ]


# ---- reps ----------------------------------------------------------------------------------------


def test_left_at_before_hired_at_is_an_error_and_its_tenure_is_not_checked(tmp_path):
    reps = "rep_id,hired_at,left_at\nr1,2025-01-06,2024-01-01\nr2,2025-01-06,2025-01-06\nr3,,2024-01-01\n"
    acts = ACTS + "a1,r1,call,2026-02-02T09:00:00,,\na2,r2,call,2026-02-02T09:00:00,,\n"
    report = validate(make(tmp_path, acts, reps=reps))
    # r2 left the day it was hired (fine); r3 has no hire date; r2's activity is after its left_at
    assert found(report) == [
        ("error", "reps.csv", 2, "left_at", "2024-01-01"),
        ("warning", "activities.csv", 3, "occurred_at", "2026-02-02T09:00:00"),
    ]
    assert "after the rep's left_at" in report.issues[1].message


@pytest.mark.parametrize("spaced", ["r1 ", " r1", "\tr1", "r1\t "])
def test_rep_id_with_spaces_around_it_is_read_without_them(tmp_path, spaced):
    reps = f'rep_id,name\n"{spaced}",Ann\nr2,Bob\n'
    folder = make(tmp_path, ACTS + ROW + "a2,r2,email,2026-02-02T10:00:00,sent,\n", reps=reps)
    report = validate(folder)
    assert found(report) == [("warning", "reps.csv", 2, "rep_id", spaced)]
    data = load(folder)
    assert data.reps["rep_id"].tolist() == ["r1", "r2"] and data.activities["rep_id"].tolist() == ["r1", "r2"]
    assert load(folder, reps=["r1"]).activities["activity_id"].tolist() == ["a1"]


def test_rep_id_with_spaces_in_the_activities_is_blamed_on_them(tmp_path):
    acts = ACTS + ROW + 'a2," r2",email,2026-02-02T10:00:00,sent,\na3," r2",email,2026-02-02T11:00:00,sent,\n'
    report = validate(make(tmp_path, acts))
    assert found(report) == [
        ("warning", "activities.csv", 3, "rep_id", " r2"),
        ("warning", "activities.csv", 4, "rep_id", " r2"),
    ]


def test_rep_id_that_clashes_once_spaces_are_removed_is_not_unique(tmp_path):
    report = validate(make(tmp_path, reps='rep_id,name\nr1,Ann\n"r1 ",Other Ann\n'))
    assert [(i.severity, i.row, i.column) for i in report.issues] == [
        ("warning", 3, "rep_id"),
        ("error", 2, "rep_id"),
        ("error", 3, "rep_id"),
    ]
    assert "not unique" in report.errors[0].message


# ---- timestamps ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["2026", "2026-02", "20260202", "20260202T090000", "202602020900", "2026-W06-1", "2026-033"]
)
def test_reduced_or_compact_timestamps_are_errors(tmp_path, value):
    report = validate(make(tmp_path, ACTS + f"a1,r1,call,{value},,\n"))
    assert found(report) == [("error", "activities.csv", 2, "occurred_at", value)]


def test_reduced_dates_are_errors_too(tmp_path):
    report = validate(make(tmp_path, reps="rep_id,hired_at\nr1,2025\n"))
    assert found(report) == [("error", "reps.csv", 2, "hired_at", "2025")]
    assert report.issues[0].message.startswith("not a valid date: it must start with a full date")


def test_full_timestamps_with_spaces_offsets_and_fractions_still_read(tmp_path):
    acts = (
        ACTS + "a1,r1,call, 2026-02-02T09:00:00 ,,\na2,r1,call,2026-02-02 09:00:00.5+01:00,,\na3,r1,call,2026-02-02,,\n"
    )
    data = load(make(tmp_path, acts))
    assert data.activities["occurred_at"].tolist() == [
        pd.Timestamp("2026-02-02 09:00"),
        pd.Timestamp("2026-02-02 08:00:00.5"),
        pd.Timestamp("2026-02-02"),
    ]


NY = 'timezone = "America/New_York"\n'


def test_dst_gap_and_fold_warn_only_for_naive_values(tmp_path):
    acts = ACTS + (
        "a1,r1,call,2026-03-08T02:00:00,,\n"  # the first second of the gap
        "a2,r1,call,2026-03-08T03:00:00,,\n"  # just after it
        "a3,r1,call,2026-11-01T01:59:59,,\n"  # in the fold
        "a4,r1,call,2026-11-01T05:30:00Z,,\n"  # 01:30 EDT: converted from UTC, unambiguous
        "a5,r1,call,2026-11-01T01:30:00-05:00,,second\n"  # 01:30 EST, offset given
        "a6,r1,call,2026-11-01T02:00:00,,\n"  # after the fold
    )
    deals = DEALS + "d1,r1,2026-03-08T02:15:00,,proposal,1,,\n"
    report = validate(make(tmp_path, acts, deals=deals, playbook_toml=NY))
    assert found(report) == [
        ("warning", "activities.csv", 2, "occurred_at", "2026-03-08T02:00:00"),
        ("warning", "activities.csv", 4, "occurred_at", "2026-11-01T01:59:59"),
        ("warning", "deals.csv", 2, "created_at", "2026-03-08T02:15:00"),
    ]
    assert report.issues[0].message.startswith(
        "this local time does not exist in America/New_York: the clocks in America/New_York jumped from 02:00 to "
        "03:00 on 2026-03-08. Kept as written (wall time)"
    )
    data = load(make(tmp_path, acts, deals=deals, playbook_toml=NY))
    assert data.activities["occurred_at"].tolist()[3:5] == [pd.Timestamp("2026-11-01 01:30")] * 2


def test_dst_checks_naive_parquet_timestamps_and_not_dates(tmp_path):
    folder = make(tmp_path, reps="rep_id,hired_at\nr1,2026-03-08\n", playbook_toml=NY)
    (folder / "activities.csv").unlink()
    pd.DataFrame(
        {
            "activity_id": ["a1", "a2"],
            "rep_id": ["r1", "r1"],
            "activity_type": ["call", "call"],
            "occurred_at": pd.to_datetime(["2026-03-08 02:30", "2026-03-09 02:30"]),
        }
    ).to_parquet(folder / "activities.parquet")
    report = validate(folder)
    assert found(report) == [("warning", "activities.parquet", 2, "occurred_at", "2026-03-08 02:30:00")]


def test_no_dst_warnings_in_utc_or_for_ordinary_times(tmp_path):
    acts = ACTS + "a1,r1,call,2026-03-08T02:30:00,,\n"
    assert validate(make(tmp_path, acts)).issues == []  # the default playbook is UTC
    assert validate(make(tmp_path, ACTS + ROW, playbook_toml=NY)).issues == []


# ---- columns -------------------------------------------------------------------------------------


def test_a_column_named_twice_with_the_same_values_is_a_warning(tmp_path):
    acts = "activity_id,rep_id,activity_type,occurred_at, rep_id\na1,r1,call,2026-02-02T09:00:00,r1\n"
    report = validate(make(tmp_path, acts))
    assert found(report) == [("warning", "activities.csv", None, "rep_id", None)]
    assert report.issues[0].message.startswith("the header names rep_id twice (columns 2 and 5), with the same value")
    assert load(make(tmp_path, acts)).activities["rep_id"].tolist() == ["r1"]


def test_a_column_named_three_times_reports_the_first_line_that_differs(tmp_path):
    acts = (
        "activity_id,rep_id,activity_type,occurred_at,notes,notes,notes\n"
        "a1,r1,call,2026-02-02T09:00:00,x,x,x\n"
        "a2,r1,call,2026-02-02T10:00:00,y,y,\n"
        "a3,r1,call,2026-02-02T11:00:00,z,w,z\n"
    )
    report = validate(make(tmp_path, acts))
    assert found(report) == [("error", "activities.csv", 3, "notes", None)]
    assert report.issues[0].message.startswith(
        "the header names notes 3 times (columns 5, 6 and 7) and columns 5 and 7 disagree: 'y' vs (empty) on this "
        "line (1 of 3 rows differ)"
    )


def test_unknown_columns_are_named_once_as_written(tmp_path):
    acts = "activity_id,rep_id,activity_type,occurred_at,x,x,\na1,r1,call,2026-02-02T09:00:00,1,2,\n"
    report = validate(make(tmp_path, acts))
    assert [(i.column, i.message[:40]) for i in report.issues] == [
        ("x", "unknown column ignored; the activities c"),
        (None, "column 7 has no name in the header; it i"),
    ]


def test_a_parquet_column_named_twice(tmp_path):
    folder = make(tmp_path)
    (folder / "activities.csv").unlink()
    table = pa.Table.from_arrays(
        [pa.array(["a1", "a2"]), pa.array(["r1", "r1"]), pa.array(["call", "call"]), pa.array(["2026-02-02"] * 2)]
        + [pa.array(["r1", "r2"])],
        names=["activity_id", "rep_id", "activity_type", "occurred_at", "rep_id"],
    )
    pq.write_table(table, folder / "activities.parquet")
    report = validate(folder)
    assert found(report) == [("error", "activities.parquet", 3, "rep_id", "r2")]
    assert "columns 2 and 5" in report.issues[0].message
    assert found(validate(folder, reps=["r1"])) == [("error", "activities.parquet", 3, "rep_id", "r2")]


# ---- CSV dialect and encoding --------------------------------------------------------------------


@pytest.mark.parametrize(("sep", "shown"), [(";", "';'"), ("\t", "a tab"), ("|", "'|'")])
def test_a_csv_with_another_separator_is_named_at_line_1(tmp_path, sep, shown):
    acts = (ACTS + "a1,r1,call,2026-02-02T09:00:00,connected,Price, too high\n").replace(",", sep)
    report = validate(make(tmp_path, acts))
    assert found(report) == [("error", "activities.csv", 1, None, ACTS.strip().replace(",", sep))]
    assert f"the separator looks like {shown}" in report.issues[0].message


def test_a_comma_csv_with_a_semicolon_in_a_column_name_is_not_misread(tmp_path):
    acts = "activity_id,rep_id,activity_type,occurred_at,a;b;c\na1,r1,call,2026-02-02T09:00:00,x\n"
    assert [(i.severity, i.column) for i in validate(make(tmp_path, acts)).issues] == [("warning", "a;b;c")]


def test_a_line_with_more_fields_than_the_header_is_named(tmp_path):
    acts = ACTS + ROW + "a2,r1,call,2026-02-02T10:00:00,connected,too, many\n"
    report = validate(make(tmp_path, acts))
    assert found(report) == [("error", "activities.csv", 3, None, None)]
    assert report.issues[0].message.startswith("line 3 has 7 fields, the header 6")


def test_utf16_and_latin1_csv_files(tmp_path):
    folder = make(tmp_path)
    (folder / "activities.csv").write_bytes((ACTS + ROW).encode("utf-16"))
    assert found(validate(folder)) == [("error", "activities.csv", 1, None, None)]
    assert validate(folder).issues[0].message.startswith("UTF-16 text, not UTF-8")
    (folder / "activities.csv").write_bytes(
        (ACTS + ROW + "a2,r1,call,2026-02-02T10:00:00,,Caf\xe9\n").encode("latin-1")
    )
    report = validate(folder)
    assert found(report) == [("error", "activities.csv", 3, None, None)]
    assert report.issues[0].message.startswith("not UTF-8 text")


# ---- playbook stages -----------------------------------------------------------------------------


def test_stage_names_match_ignoring_case_and_spacing_and_keep_the_playbooks_spelling(tmp_path):
    playbook = '[[stages]]\nname = "Proposal Sent"\n[[stages]]\nname = "Closed Won"\nis_closed = true\nis_won = true\n'
    deals = DEALS + (
        "d1,r1,2026-03-02,,proposal sent,1,,\n"
        "d2,r1,2026-03-02,,PROPOSAL_SENT,1,,\n"
        "d3,r1,2026-03-02,2026-03-03,closed-won,1,true,true\n"
        "d4,r1,2026-03-02,,Negotiation,1,,\n"
    )
    folder = make(tmp_path, deals=deals, playbook_toml=playbook)
    report = validate(folder)
    assert found(report) == [("warning", "deals.csv", 5, "stage", "Negotiation")]
    assert load(folder).deals["stage"].tolist() == ["Proposal Sent", "Proposal Sent", "Closed Won", "negotiation"]


# ---- copies differing only in their id ---------------------------------------------------------


def test_copies_differing_only_in_activity_id_are_counted_per_type(tmp_path):
    rows = [
        "a1,r1,call,2026-02-02T09:00:00,connected,Price is high",
        "a2,r1,call,2026-02-02T09:00:00,connected,Price is high",  # copy of a1
        "a3,r1,call,2026-02-02T09:00:00,connected,Price is high",  # copy of a1
        "a4,r1,call,2026-02-02T09:05:00,no_answer,",
        "a5,r1,call,2026-02-02T09:05:00,no_answer,",  # copy of a4
        "a6,r2,call,2026-02-02T09:05:00,no_answer,",  # another rep
        "a7,r1,call,2026-02-02T09:10:00,busy,",
        "a8,r1,call,2026-02-02T09:15:00,busy,",
        "a9,r1,email,2026-02-02T09:15:00,sent,",
        "a10,r1,email,2026-02-02T09:16:00,sent,",
    ]
    report = validate(make(tmp_path, ACTS + "\n".join(rows) + "\n"))
    assert found(report) == [("warning", "activities.csv", 3, "activity_id", "a2")]
    assert report.issues[0].message.startswith(
        "38% of call rows (3 of 8) are copies of an earlier row differing only in activity_id (the first copy is on "
        "this line)"
    )


def test_copies_on_dates_alone_are_not_reported(tmp_path):
    rows = [f"a{i},r1,call,2026-02-02,,\n" for i in range(20)]  # a sparse export: calls, dates, nothing else
    assert validate(make(tmp_path, ACTS + "".join(rows))).issues == []


def test_rare_coincidences_are_not_reported(tmp_path):
    rows = [f"a{i},r1,call,2026-02-02T09:{i // 60:02d}:{i % 60:02d},,\n" for i in range(150)]
    rows.append("a150,r1,call,2026-02-02T09:00:00,,\n")  # one copy in 151 calls: under 1%
    assert validate(make(tmp_path, ACTS + "".join(rows))).issues == []
    rows.append("a151,r1,call,2026-02-02T09:00:01,,\n")  # two in 152: 1.3%
    assert [i.value for i in validate(make(tmp_path, ACTS + "".join(rows))).issues] == ["a150"]


def test_sparse_and_null_samples_load_clean(tmp_path):
    """A sparse dataset (calls only, no outcomes, no notes, date-only timestamps) and the generated sample
    give no warning from these checks."""
    data = sample(reps=4, weeks=2, seed=5)
    calls = data.activities[data.activities["activity_type"] == "call"]
    sparse = calls[["activity_id", "rep_id", "activity_type"]].assign(
        occurred_at=calls["occurred_at"].dt.strftime("%Y-%m-%d")
    )
    folder = tmp_path / "sparse"
    folder.mkdir()
    sparse.to_csv(folder / "activities.csv", index=False)
    data.reps[["rep_id"]].to_csv(folder / "reps.csv", index=False)
    assert validate(folder).issues == []
    full = data.save(tmp_path / "full", "csv")
    assert validate(full).issues == []


# ---- files that cannot be read ---------------------------------------------------------------------


def test_a_directory_or_a_dangling_link_in_place_of_a_file(tmp_path):
    folder = make(tmp_path)
    (folder / "deals.csv").mkdir()  # an optional table still gets its reason
    (folder / "playbook.toml").symlink_to("nowhere.toml")
    report = validate(folder)
    assert [(i.file, i.message.split(";")[0]) for i in report.issues] == [
        ("deals.csv", "is a directory, not a file"),
        ("playbook.toml", "a symbolic link to 'nowhere.toml', which does not exist"),
    ]


def test_a_playbook_that_is_a_directory_or_not_utf8(tmp_path):
    folder = make(tmp_path)
    (folder / "playbook.toml").mkdir()
    assert [(i.file, i.row) for i in validate(folder).issues] == [("playbook.toml", None)]
    (folder / "playbook.toml").rmdir()
    (folder / "playbook.toml").write_bytes(b'timezone = "UTC"\n\n# Z\xfcrich\n')
    report = validate(folder)
    assert found(report) == [("error", "playbook.toml", 3, None, None)]
    with pytest.raises(DataError, match="not UTF-8"):
        load(folder)


def test_an_unreadable_playbook_override_is_reported_not_raised(tmp_path):
    folder = make(tmp_path)
    report = validate(folder, playbook=tmp_path / "missing.toml")
    assert [(i.file, i.message) for i in report.issues] == [("missing.toml", "no such file")]


def test_the_datasets_own_playbook_is_not_read_when_overridden(tmp_path):
    folder = make(tmp_path)
    (folder / "playbook.toml").write_bytes(b"\xff\xfe")
    assert validate(folder, playbook=Playbook.default()).issues == []


def test_missing_source_and_file_source(tmp_path):
    assert [i.message for i in validate(tmp_path / "nope").issues] == [
        "no such folder or file; give a dataset folder or a .duckdb file"
    ]
    (tmp_path / "dangling").symlink_to(tmp_path / "nope")
    assert validate(tmp_path / "dangling").issues[0].message.startswith("a symbolic link to")


def test_permission_denied_is_reported_by_name(tmp_path, monkeypatch):
    """As root every file is readable, so the refusal is simulated where coachkit opens the file."""
    folder = make(tmp_path)
    real_open = open

    def deny(path, *args, **kwargs):
        if Path(path).name == "activities.csv":
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr("coachkit.files.open", deny, raising=False)
    report = validate(folder)
    assert found(report) == [("error", "activities.csv", None, None, None)]
    assert report.issues[0].message == (
        "cannot read the file: permission denied; give your user read access (chmod a+r activities.csv) "
        "or copy the file somewhere you can read"
    )


def test_nothing_is_modified(tmp_path):
    folder = make(
        tmp_path,
        ACTS + ROW + "a2,r1,call,2026,,\n",
        deals=DEALS + "d1,r1,2026-03-02,2026-03-01,closed_lost,-1,true,false\n",
        playbook_toml=NY,
    )
    (folder / "loop.csv").symlink_to("loop.csv")
    before = digest(folder)
    modes = {p.name: os.lstat(p).st_mode for p in folder.iterdir()}
    validate(folder)
    with pytest.raises(DataError):
        load(folder)
    assert digest(folder) == before
    assert {p.name: os.lstat(p).st_mode for p in folder.iterdir()} == modes


def test_the_checks_on_many_rows_out_of_order(tmp_path):
    """200k Parquet rows, not in time order (the sort path), with copies, a clock change and spaced rep ids."""
    n = 200_000
    rng = np.random.default_rng(0)
    at = pd.Timestamp("2026-03-02 08:00") + pd.to_timedelta(rng.integers(0, 40 * 86_400, n), unit="s")
    frame = pd.DataFrame(
        {
            "activity_id": [f"a{i}" for i in range(n)],
            "rep_id": np.where(np.arange(n) % 2 == 0, "r1", "r2 "),
            "activity_type": "call",
            "occurred_at": at,
            "duration_s": rng.integers(1, 10**6, n).astype(float),  # no coincidences: every row differs
        }
    )
    copied = frame.iloc[:6000].drop(columns="activity_id")
    frame.iloc[n - 6000 :, 1:] = copied.to_numpy()
    folder = make(tmp_path, playbook_toml='timezone = "Europe/London"\n')
    (folder / "activities.csv").unlink()
    frame.to_parquet(folder / "activities.parquet")
    data = load(folder)
    spaced = [w for w in data.warnings if w.column == "rep_id"]
    assert len(spaced) == n // 2 and {w.value for w in spaced} == {"r2 "}
    copies = [w for w in data.warnings if w.column == "activity_id"]
    assert [(w.row, w.value) for w in copies] == [(n - 6000 + 2, f"a{n - 6000}")]
    assert copies[0].message.startswith("3% of call rows (6,000 of 200,000) are copies")
    stamps = frame["occurred_at"]
    in_gap = (stamps >= pd.Timestamp("2026-03-29 01:00")) & (stamps < pd.Timestamp("2026-03-29 02:00"))
    gap = [w.row for w in data.warnings if w.column == "occurred_at"]
    assert in_gap.sum() > 0 and gap == (np.flatnonzero(in_gap) + 2).tolist()


def test_reading_some_reps_finds_their_rows_written_with_spaces(tmp_path):
    """load(reps=...) reads ids as load() does: a row of 'r2 ' belongs to r2 (CSV, Parquet row groups, DuckDB)."""
    acts = pd.DataFrame(
        {
            "activity_id": ["a1", "a2", "a3", "a4"],
            "rep_id": ["r1", "r1", "r2 ", " r2"],
            "activity_type": "call",
            "occurred_at": pd.to_datetime(
                ["2026-02-02 09:00", "2026-02-02 10:00", "2026-02-02 11:00", "2026-02-02 12:00"]
            ),
        }
    )
    csv_folder = make(tmp_path)
    acts.to_csv(csv_folder / "activities.csv", index=False)
    pq_folder = tmp_path / "pq"
    pq_folder.mkdir()
    (pq_folder / "reps.csv").write_text(REPS)
    pq.write_table(pa.Table.from_pandas(acts, preserve_index=False), pq_folder / "activities.parquet", row_group_size=1)
    db = load(csv_folder).save(tmp_path / "x.duckdb", "duckdb")  # canonical ids; then pad them in the file
    con = duckdb.connect(str(db))
    con.execute("update activities set rep_id = 'r2 ' where activity_id = 'a3'")
    con.execute("update activities set rep_id = ' r2' where activity_id = 'a4'")
    con.close()
    for source in (csv_folder, pq_folder, db):
        data = load(source, reps=["r2"])
        assert data.activities["activity_id"].tolist() == ["a3", "a4"], source
        assert data.activities["rep_id"].tolist() == ["r2", "r2"]
        assert [w.row for w in data.warnings] == [4, 5]  # the file's own lines
