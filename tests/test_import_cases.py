"""The import cases of ../shared/cases/import/, each as a test on its copy in tests/fixtures/import_cases/.

Each test asserts the right values the case's README gives (what its check.sh asserts), on the
fixture copy; finer unit tests of each kind are in the other test_import_*.py modules.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

import coachkit
from coachkit.importers import import_csv, import_hubspot, import_pipedrive, import_salesforce
from coachkit.importers.cli import import_group
from coachkit.importers.mapping import check_mapping

CASES = Path(__file__).parent / "fixtures" / "import_cases"
T = pd.Timestamp


def case(name: str) -> Path:
    (path,) = CASES.glob(f"{name}-*")
    return path


def digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*"))
            if p.is_file()}  # fmt: skip


def run(args: list[str]) -> tuple[int, str]:
    res = CliRunner().invoke(import_group, args)
    return res.exit_code, res.output


def v(x):
    return None if pd.isna(x) else x


@pytest.fixture(autouse=True, scope="module")
def inputs_unchanged():
    before = digest(CASES)
    yield
    assert digest(CASES) == before, "an import changed its input files"


def test_01_windows_1252_salesforce_export_keeps_its_accents(tmp_path):
    code, out = run(["salesforce", str(case("01") / "export"), "--out", str(tmp_path / "ds")])
    assert code == 0, out
    d = coachkit.load(tmp_path / "ds")
    notes = d.activities.set_index("activity_id").loc["00T000000000001AAA", "notes"]
    assert notes == "Habl\u00f3 con el gerente; pidi\u00f3 una propuesta"
    assert list(d.reps["name"]) == ["Ana P\u00e9rez"]
    assert re.search(r"cp1252|Windows-1252", out) and "not UTF-8" in out
    # the empty reference 000000000000000AAA in WhatId of 00T...002 is no deal
    assert pd.isna(d.activities.set_index("activity_id").loc["00T000000000002AAA", "deal_id"])


def test_01_explicit_wrong_encoding_names_file_line_and_fix():
    with pytest.raises(coachkit.importers.ExportError) as err:
        import_salesforce(case("01") / "export", options={"encoding": "utf-8"})
    msg = str(err.value)
    assert err.value.file == "Task.csv" and err.value.line == 2
    assert "not utf-8" in msg and "cp1252" in msg and "--encoding" in msg


def test_02_dash_dates_are_read_by_their_formats_not_as_offsets(tmp_path):
    r = import_csv(case("02") / "export", case("02") / "mapping.toml")
    got = r.data.activities.set_index("notes")["occurred_at"]
    assert got["Asked about pricing"] == T("2015-08-10")
    assert got["Left a message"] == T("2015-11-17")
    assert got["Showed the reporting module"] == T("2015-12-04 14:30")


def test_02_day_first_variant_and_a_real_offset(tmp_path):
    (tmp_path / "phonecalls.csv").write_text(
        "subject,description,createdon,owner\nA,d1,15-04-2021,Rep A\nB,d2,15-04-2021 09:30,Rep A\n"
        "C,d3,2021-04-16T09:30:00-05:00,Rep A\n"
    )
    text = (case("02") / "mapping.toml").read_text()
    text = re.sub(r"formats = \[[^]]*\]", 'formats = ["%d-%m-%Y %H:%M", "%d-%m-%Y"]', text)
    (tmp_path / "m.toml").write_text(text)
    got = import_csv(tmp_path, tmp_path / "m.toml").data.activities.set_index("notes")["occurred_at"]
    assert (got["d1"], got["d2"], got["d3"]) == (T("2021-04-15"), T("2021-04-15 09:30"), T("2021-04-16 14:30"))


def test_03_salesforce_emails_and_calls_without_task_subtype():
    r = import_salesforce(case("03") / "export")
    a = r.data.activities.set_index("activity_id")
    got = {k[12:15]: (row.activity_type, v(row.outcome)) for k, row in a.iterrows()}
    assert got == {
        "001": ("email", "sent"),
        "002": ("email", "sent"),
        "003": ("email", "sent"),
        "004": ("call", None),
        "005": ("task", "completed"),
    }
    text = r.report.to_text()
    assert "no TaskSubtype" in text
    assert r.report.changed[("Task.csv", "tasks typed email: an EmailMessageId (no TaskSubtype)")] == 3


def test_04_unused_colliding_custom_fields_do_not_stop_the_import():
    r = import_salesforce(case("04") / "export")
    g = r.data.deals.set_index("deal_id")
    assert len(r.data.activities) == 1
    won, opn = g.loc["006000000000001AAA"], g.loc["006000000000002AAA"]
    assert (won.stage, won.amount, bool(won.is_won)) == ("closed_won", 9225.0, True)
    assert (opn.stage, opn.amount, bool(opn.is_closed)) == ("prospecting", 1200.0, False) and pd.isna(opn.is_won)


def test_04_a_collision_on_a_column_the_importer_reads_is_an_error(tmp_path):
    shutil.copytree(case("04") / "export", tmp_path / "x")
    p = tmp_path / "x" / "Opportunity.csv"
    p.write_text(p.read_text().replace('"OwnerId","CreatedDate"', '"OwnerId","Owner_Id"', 1))
    with pytest.raises(coachkit.importers.ExportError, match="'OwnerId' and 'Owner_Id' both name") as err:
        import_salesforce(tmp_path / "x")
    assert (err.value.file, err.value.column) == ("Opportunity.csv", "owner_id")


def check_07(d: coachkit.SalesData) -> None:
    a = d.activities
    assert sorted(a.activity_type) == ["call", "meeting", "task"]
    c, m, k = (a[a.activity_type == t].iloc[0] for t in ("call", "meeting", "task"))
    assert (c.occurred_at, v(c.duration_s)) == (T("2024-03-04 09:30"), 900)
    assert (m.occurred_at, v(m.duration_s), v(m.outcome)) == (T("2024-03-05 14:00"), 3600, "held")
    assert k.occurred_at.normalize() == T("2024-03-06") and v(k.outcome) != "completed"
    assert sorted(d.reps.name) == ["Dana Field", "Sam Kerr"]
    g = d.deals.set_index("deal_id")
    assert (g.loc["11", "amount"], bool(g.loc["11", "is_won"]), g.loc["11", "currency"]) == (12500, True, "EUR")
    assert (g.loc["12", "amount"], bool(g.loc["12", "is_closed"])) == (4000, False) and pd.isna(g.loc["12", "is_won"])


def test_07_pipedrive_ui_export_without_users_file(tmp_path):
    r = import_pipedrive(case("07") / "export")
    check_07(r.data)
    a = r.data.activities.set_index("activity_id")
    assert a.loc["101", "deal_id"] == "11" and a.loc["103", "deal_id"] == "12"  # deal titles linked
    assert any("built from the owner names" in w for w in r.report.warnings)
    out = r.data.save(tmp_path / "ds")
    assert coachkit.validate(out).ok


def test_07_users_file_by_name_gives_ids(tmp_path):
    shutil.copytree(case("07") / "export", tmp_path / "x")
    (tmp_path / "x" / "users.csv").write_text("id,name\n1,Dana Field\n2,sam kerr\n")
    d = import_pipedrive(tmp_path / "x").data
    assert sorted(d.activities.rep_id) == ["1", "1", "2"] and sorted(d.deals.rep_id) == ["1", "2"]
    assert sorted(d.reps.rep_id) == ["1", "2"]


def test_07_the_workaround_mapping_still_imports(tmp_path):
    r = import_csv(case("07") / "export", case("07") / "mapping.toml")
    assert len(r.data.activities) == 3 and len(r.data.deals) == 2


def test_09_null_literals_are_empty_and_not_done_tasks_are_not_effort():
    r = import_salesforce(case("09") / "export")
    d = r.data
    for table in (d.activities, d.reps, d.deals):
        for col in table.columns:
            assert not table[col].astype("string").str.strip().str.lower().eq("null").fillna(False).any(), col
    c = d.activities.set_index("activity_id").loc["00T000000000001AAA"]
    assert (c.activity_type, c.outcome, c.duration_s) == ("call", "connected", 300.0)
    rep = d.reps.set_index("rep_id").loc["005000000000001AAA"]
    assert pd.isna(rep.team) and pd.isna(rep.manager)
    assert r.report.changed[("Task.csv", "placeholder cells read as empty ('null' x7)")] == 7
    # 00T...002 is Not Started: a to-do, kept with done false (no KPI counts it) and counted
    assert d.activities.set_index("activity_id")["done"].eq(False).fillna(False).to_dict() == {
        "00T000000000001AAA": False,
        "00T000000000002AAA": True,
    }
    assert r.report.not_done[("Task.csv", "tasks not done (Not Started x1): open to-dos, not effort")] == 1
    t = d.activities.set_index("activity_id").loc["00T000000000002AAA"]
    # CreatedDate (03-04) is 3 days from its ActivityDate (03-07), more than the 1 allowed: the ActivityDate
    assert t.occurred_at == T("2022-03-07")
    assert pd.isna(t.duration_s) and pd.isna(t.notes) and pd.isna(t.outcome)
    assert coachkit.kpi_table(d, freq="M", kpis="activities")["value"].sum() == 1


def test_09_open_tasks_left_out_on_request():
    from coachkit.importers import CrmMapping

    r = import_salesforce(case("09") / "export", mapping=CrmMapping.from_dict({"tasks": {"open": "drop"}}))
    assert list(r.data.activities.activity_id) == ["00T000000000001AAA"]
    assert r.report.dropped[("Task.csv", "task not done (Not Started x1): an open to-do is not effort")] == 1


def test_10_one_mapping_several_files_with_their_own_columns(tmp_path):
    F = {"formats": ["%m/%d/%Y %H:%M"]}
    common = {
        "activity_id": {"concat": [{"file": True}, {"const": "-"}, {"row": True}]},
        "rep_id": "owner",
        "notes": "description",
    }
    mapping = check_mapping(
        {
            "reps": {"file": "Phonecall.csv", "dedupe": ["owner"], "columns": {"rep_id": "owner"}},
            "activities": [
                {"file": "Phonecall.csv", "columns": {**common, "activity_type": {"const": "call"},
                                                       "occurred_at": {"column": "createdon", **F}}},
                {"file": "Appointment.csv", "columns": {**common, "activity_type": {"const": "meeting"},
                                                         "occurred_at": {"column": "startdate", **F},
                                                         "duration_s": {"start": "startdate", "end": "enddate", **F}}},
                {"file": "Email.csv", "columns": {**common, "activity_type": {"const": "email"},
                                                   "occurred_at": {"column": "recordcreatedon", **F},
                                                   "direction": {"column": "direction",
                                                                 "map": {"outgoing": "outbound", "incoming": "inbound"}}}},
            ],
        }
    )  # fmt: skip
    a = import_csv(case("10") / "export", mapping).data.activities.sort_values("occurred_at")
    got = [(r.activity_type, r.occurred_at, v(r.duration_s), v(r.direction)) for r in a.itertuples()]
    assert got == [
        ("call", T("2024-03-01 09:10"), None, None),
        ("call", T("2024-03-04 11:00"), None, None),
        ("meeting", T("2024-03-05 14:00"), 3600.0, None),
        ("email", T("2024-03-06 16:20"), None, "outbound"),
    ]


def test_10_the_check_scripts_toml_syntax(tmp_path):
    F = 'formats = ["%m/%d/%Y %H:%M"]'
    C = 'activity_id = { concat = [{ file = true }, { const = "-" }, { row = true }] }, rep_id = "owner", notes = "description"'
    text = "\n".join([
        '[reps]', 'file = "Phonecall.csv"', 'dedupe = ["owner"]', 'columns = { rep_id = "owner" }',
        '[[activities]]', 'file = "Phonecall.csv"',
        f'columns = {{ {C}, activity_type = {{ const = "call" }}, occurred_at = {{ column = "createdon", {F} }} }}',
        '[[activities]]', 'file = "Appointment.csv"',
        f'columns = {{ {C}, activity_type = {{ const = "meeting" }}, occurred_at = {{ column = "startdate", {F} }}, '
        f'duration_s = {{ start = "startdate", end = "enddate", {F} }} }}',
    ])  # fmt: skip
    (tmp_path / "m.toml").write_text(text)
    a = import_csv(case("10") / "export", tmp_path / "m.toml").data.activities
    assert sorted(a.activity_type) == ["call", "call", "meeting"]
    assert a.loc[a.activity_type == "meeting", "duration_s"].item() == 3600.0


def test_12_not_done_and_bulk_loaded_salesforce_tasks():
    r = import_salesforce(case("12") / "export")
    d = r.data
    a = d.activities.set_index("activity_id")
    assert a.loc["00T000000000003AAA", "occurred_at"] == T("2023-11-20")
    assert a.loc["00T000000000004AAA", "occurred_at"] == T("2024-01-22 09:40")
    k = coachkit.kpi_table(d, freq="M", kpis="activities", start="2023-01-01", end="2024-12-31")
    assert k["value"].sum() == 2
    text = r.report.to_text()
    assert re.search(r"Task\.csv: 2 tasks not done \(Not Started x2\)", text)
    assert sorted(a.index[a["done"].eq(False).fillna(False)]) == ["00T000000000001AAA", "00T000000000002AAA"]
    assert r.report.changed[("Task.csv", "task times from CompletedDateTime")] == 1
    assert any("ActivityDate (CreatedDate more than 1 day" in w for _, w in r.report.changed)


def test_14_a_file_feeding_two_tables_is_counted_once_and_reps_fold_is_not_a_drop(tmp_path):
    code, out = run(["csv", str(case("14") / "export"), "--mapping", str(case("14") / "mapping.toml"),
                     "--out", str(tmp_path / "ds")])  # fmt: skip
    assert code == 0, out
    assert "calls.csv: 3 rows" in out and not re.search(r"calls\.csv: 6", out)
    assert "Rows dropped" not in out
    assert "reps from calls.csv: 1 (the same Owner as an earlier row: one rep each)" in out


def test_15_hubspot_archived_records_are_dropped_and_counted():
    r = import_hubspot(case("15") / "export")
    a, g = r.data.activities, r.data.deals
    assert list(a.activity_id) == ["5001"] and list(a.outcome) == ["connected"]
    assert list(g.deal_id) == ["7001"] and bool(g.is_won.iloc[0])
    assert r.report.dropped[("calls.csv", "archived: deleted in HubSpot")] == 2
    assert r.report.dropped[("deals.csv", "archived: deleted in HubSpot")] == 1


def test_16_hubspot_ui_export():
    r = import_hubspot(case("16") / "export")
    d = r.data
    a = d.activities.sort_values("occurred_at")
    assert list(d.reps.name) == ["Dana Field"] and set(a.rep_id) == set(d.reps.rep_id)
    calls = [(x.occurred_at, v(x.outcome)) for x in a[a.activity_type == "call"].itertuples()]
    assert calls == [(T("2024-03-04 09:30"), "connected"), (T("2024-03-04 10:00"), "no_answer")]
    t = a[a.activity_type == "task"].iloc[0]
    assert (t.outcome, t.occurred_at) == ("completed", T("2024-03-06 15:12"))  # the completion date
    c1 = a.set_index("activity_id").loc["5001"]
    assert (c1.notes, c1.direction, c1.account_id, c1.deal_id) == ("Wants a demo", "outbound", "101", "7001")


def check_17(d: coachkit.SalesData) -> None:
    am = dict(zip(d.deals.deal_id, d.deals.amount, strict=True))
    du = dict(zip(d.activities.activity_id, d.activities.duration_s, strict=True))
    assert am == {"11": 12500.0, "12": 4000.0, "13": 950.5}
    assert du == {"101": 90.0, "102": 2700.0}


def mapping_17(tmp_path: Path, *options: str) -> Path:
    text = (case("17") / "mapping.toml").read_text()
    text = re.sub(r"(?m)^(occurred_at = .*)$", r'\1\nduration_s = { column = "Duration (min)", scale = 60 }', text)
    path = tmp_path / f"m{len(options)}.toml"
    path.write_text(("[options]\n" + "\n".join(options) + "\n" if options else "") + text)
    return path


def test_17_semicolon_file_with_decimal_commas_is_sniffed_and_read(tmp_path):
    r = import_csv(case("17") / "export", mapping_17(tmp_path))
    check_17(r.data)
    assert r.report.files["deals.csv"].delimiter == ";"


def test_17_the_comma_copy_reads_the_same_and_options_agree(tmp_path):
    check_17(import_csv(case("17") / "export-comma", mapping_17(tmp_path)).data)
    check_17(import_csv(case("17") / "export-comma", mapping_17(tmp_path, 'decimal = ","')).data)
    check_17(import_csv(case("17") / "export", mapping_17(tmp_path, 'delimiter = ";"', 'decimal = ","')).data)


def test_17_a_one_column_read_names_the_delimiter(tmp_path):
    with pytest.raises(coachkit.importers.ExportError, match="delimiter"):
        import_csv(case("17") / "export", mapping_17(tmp_path, 'delimiter = ","'))
