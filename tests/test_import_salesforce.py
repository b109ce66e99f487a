"""Salesforce importer on a crafted export (API-name headers and snake_case/seed names) and the real seeds."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from coachkit import Playbook
from coachkit.importers.common import CrmMapping, ExportError, snake_case
from coachkit.importers.salesforce import import_salesforce
from coachkit.load import load, validate

FIXTURE = Path(__file__).parent / "fixtures" / "importers" / "salesforce"
SHARED = next((p for p in (Path(__file__).parents[2] / "shared", Path("/work/shared")) if p.is_dir()), Path("shared"))
SHARED = SHARED / "data"
T = pd.Timestamp
BERLIN = Playbook.from_text('timezone = "Europe/Berlin"\n')


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def result():
    return import_salesforce(FIXTURE, playbook=BERLIN)


def by_id(frame: pd.DataFrame, key: str) -> dict:
    return frame.set_index(key).to_dict("index")


def test_tasks(result):
    a = by_id(result.data.activities, "activity_id")
    # CompletedDateTime 00:30Z is 01:30 in Berlin (CET, before the DST switch that night)
    assert a["00T1"]["occurred_at"] == pd.Timestamp("2024-03-31 01:30")
    assert (a["00T1"]["activity_type"], a["00T1"]["outcome"], a["00T1"]["duration_s"]) == ("call", "voicemail", 45.0)
    assert (a["00T1"]["direction"], a["00T1"]["deal_id"], a["00T1"]["contact_id"]) == ("outbound", "0061", "0031")
    assert a["00T1"]["notes"] == "Left a message"
    # no CompletedDateTime: CreatedDate 08:00Z = 10:00 CEST; WhatId 001... is an account, not a deal
    assert (a["00T2"]["activity_type"], a["00T2"]["occurred_at"]) == ("email", pd.Timestamp("2024-04-02 10:00"))
    assert a["00T2"]["outcome"] == "sent" and pd.isna(a["00T2"]["deal_id"])
    assert (a["00T3"]["activity_type"], a["00T3"]["outcome"]) == ("follow_up", "completed")
    # Not Started: a to-do, not effort (kept with done false and no outcome; counted in the report)
    assert a["00T4"]["done"] is False and pd.isna(a["00T4"]["outcome"])
    assert all(pd.isna(a[k]["done"]) for k in ("00T1", "00T2", "00T3", "00T6", "00T7"))  # done: left empty
    assert "00T5" not in a  # IsDeleted
    assert pd.isna(a["00T6"]["outcome"]) and a["00T6"]["direction"] == "inbound"
    assert a["00T7"]["activity_type"] == "task"


def test_events(result):
    a = by_id(result.data.activities, "activity_id")
    assert (a["00U1"]["activity_type"], a["00U1"]["occurred_at"], a["00U1"]["duration_s"]) == (
        "meeting",
        pd.Timestamp("2024-04-03 15:00"),
        2700.0,
    )
    assert pd.isna(a["00U1"]["outcome"])
    assert "00U2" not in a and "00U4" not in a  # child copy, deleted
    assert a["00U3"]["occurred_at"] == pd.Timestamp("2024-04-08 09:30") and pd.isna(a["00U3"]["duration_s"])


def test_opportunities(result):
    d = by_id(result.data.deals, "deal_id")
    assert set(d) == {"0061", "0062", "0063", "0064"}
    assert (d["0061"]["stage"], d["0061"]["is_won"], d["0061"]["closed_at"]) == (
        "closed_won",
        True,
        pd.Timestamp("2024-03-28"),
    )
    # an open deal's CloseDate is a forecast: no closed_at, is_won empty
    assert pd.isna(d["0062"]["closed_at"]) and pd.isna(d["0062"]["is_won"]) and d["0062"]["is_closed"] is False
    assert d["0062"]["created_at"] == pd.Timestamp("2024-02-02 00:30")
    assert d["0062"]["stage"] == "proposal"
    assert d["0063"]["stage"] == "closed_lost" and pd.isna(d["0063"]["amount"])
    assert pd.isna(d["0064"]["stage"])


def test_users(result):
    r = by_id(result.data.reps, "rep_id")
    assert (r["0051"]["name"], r["0051"]["team"], r["0051"]["role"], r["0051"]["manager"]) == (
        "Ada Lovelace",
        "East",
        "AE",
        "Cara Boss",
    )
    assert r["0051"]["hired_at"] == pd.Timestamp("2023-01-02")  # CreatedDate 23:30Z is Jan 2 in Berlin
    assert (r["0052"]["name"], r["0052"]["team"], r["0052"]["role"]) == ("Bob Stone", "SDR Team", "SDR")
    assert r["0052"]["hired_at"] == pd.Timestamp("2023-01-15")  # the hire-date field wins
    assert r["0053"]["team"] == "AE Team" and pd.isna(r["0053"]["left_at"])  # inactive, no known date
    assert pd.isna(r["0099"]["name"]) and pd.isna(r["0099"]["team"])  # owner missing from User.csv


def test_report(result):
    rep = result.report
    assert rep.rows_read["Task.csv"] == 7 and rep.rows_read["Event.csv"] == 4
    assert rep.rows_mapped == {"activities": 8, "reps": 4, "deals": 4, "deal_stages": 7}
    assert rep.not_done[("Task.csv", "tasks not done (Not Started x1): open to-dos, not effort")] == 1
    assert "Activities kept as not done (done = false" in rep.to_text()
    assert rep.dropped[("Task.csv", "IsDeleted is true")] == 1
    assert rep.dropped[("Event.csv", "IsChild: copy of a recurring or group event")] == 1
    assert rep.unmapped[("Task.csv", "CallDisposition")]["Spoke to CFO"] == 1
    assert rep.unmapped[("Opportunity.csv", "StageName")]["Verbal Yes"] == 1
    assert any("0099" in w for w in rep.warnings)
    assert "Rows dropped" in rep.to_text()


def test_snake_case_headers_and_seed_file_names_give_the_same_dataset(result, tmp_path):
    names = {"Task": "sf_task_data", "Event": "sf_event_data", "Opportunity": "sf_opportunity_data",
             "User": "sf_user_data", "UserRole": "sf_user_role_data",
             "OpportunityHistory": "sf_opportunity_history_data"}  # fmt: skip
    for p in FIXTURE.glob("*.csv"):
        frame = pd.read_csv(p, dtype=str, keep_default_na=False)
        frame.columns = [snake_case(c) for c in frame.columns]
        frame.to_csv(tmp_path / f"{names[p.stem]}.csv", index=False)
    other = import_salesforce(tmp_path, playbook=BERLIN)
    for table in ("activities", "reps", "deals", "deal_stages"):
        pd.testing.assert_frame_equal(other.data.table(table), result.data.table(table))


def test_mapping_extends_dispositions_and_stages(tmp_path):
    m = tmp_path / "m.toml"
    m.write_text('[outcomes]\n"Spoke to CFO" = "connected"\n[stages]\n"Verbal Yes" = "negotiation"\n')
    r = import_salesforce(FIXTURE, mapping=m, playbook=BERLIN)
    a = by_id(r.data.activities, "activity_id")
    assert a["00T6"]["outcome"] == "connected"
    assert by_id(r.data.deals, "deal_id")["0064"]["stage"] == "negotiation"


def test_inputs_unchanged_output_valid_and_round_trips(result, tmp_path):
    before = digest(FIXTURE)
    again = import_salesforce(FIXTURE, playbook=BERLIN)
    assert digest(FIXTURE) == before
    for fmt in ("csv", "parquet"):
        out = again.data.save(tmp_path / fmt, fmt)
        assert validate(out).ok
        loaded = load(out)
        assert loaded.playbook.timezone == "Europe/Berlin"
        for table in ("activities", "reps", "deals", "deal_stages"):
            pd.testing.assert_frame_equal(loaded.table(table), result.data.table(table))


def test_missing_user_file_and_column(tmp_path):
    (tmp_path / "Task.csv").write_text((FIXTURE / "Task.csv").read_text())
    with pytest.raises(ExportError, match="User export is missing"):
        import_salesforce(tmp_path)
    (tmp_path / "User.csv").write_text("Name\nAda\n")
    with pytest.raises(ExportError) as err:
        import_salesforce(tmp_path)
    assert err.value.column == "id" and err.value.file == "User.csv"


def test_unparseable_date_names_the_value(tmp_path):
    for p in FIXTURE.glob("*.csv"):
        (tmp_path / p.name).write_text(p.read_text())
    text = (FIXTURE / "Opportunity.csv").read_text().replace("2024-03-28", "28.03.2024x")
    (tmp_path / "Opportunity.csv").write_text(text)
    with pytest.raises(ExportError) as err:
        import_salesforce(tmp_path)
    assert (err.value.file, err.value.column, err.value.row, err.value.value) == (
        "Opportunity.csv",
        "CloseDate",
        2,
        "28.03.2024x",
    )


@pytest.mark.shared
def test_real_salesforce_seeds(tmp_path):
    src = SHARED / "salesforce-seeds"
    if not src.is_dir():
        pytest.skip(f"real exports not available: {src} is absent (the ../shared folder beside the checkout)")
    before = digest(src)
    r = import_salesforce(src)
    assert digest(src) == before
    assert r.report.rows_mapped == {"activities": 20, "reps": 15, "deals": 0}
    # every seed opportunity is flagged is_deleted
    assert r.report.dropped[("sf_opportunity_data.csv", "IsDeleted is true")] == 10
    acts = r.data.activities
    assert (acts["activity_type"].value_counts().to_dict()) == {"task": 10, "meeting": 10}
    assert acts.loc[acts["activity_id"] == "00U1G00000DEaypUAD", "duration_s"].item() == 900.0
    assert acts["deal_id"].dropna().str.startswith("006").all()
    # the history-mode Opportunity table is read as stage history; its stage names are hashed, so nothing maps
    assert sum(r.report.unmapped[("sf_opportunity_history_data.csv", "StageName")].values()) == 10
    assert r.data.deal_stages.empty
    assert validate(r.data.save(tmp_path / "out", "parquet")).ok


def test_file_named_in_mapping_must_exist(tmp_path):
    m = tmp_path / "m.toml"
    m.write_text('[files]\ntask = "Task_2024.csv"\n')
    # Task.csv is in the folder, but the user asked for Task_2024.csv: no silent fallback
    with pytest.raises(ExportError, match="Task_2024.csv") as err:
        import_salesforce(FIXTURE, mapping=m, playbook=BERLIN)
    assert err.value.file == str(FIXTURE / "Task_2024.csv")


# ---- task semantics, typing without TaskSubtype, win flags, currency (issue 12) ---------------------------

USER = "Id,Name\n0051,Ana Reyes\n"
TASK_HEAD = "Id,OwnerId,Subject,Status,IsClosed,CreatedDate,CompletedDateTime,ActivityDate,EmailMessageId,CallType,CallDurationInSeconds,Description,Type\n"  # fmt: skip


def export(tmp_path, task_rows: str = "", opp: str | None = None, user: str = USER) -> Path:
    (tmp_path / "User.csv").write_text(user)
    (tmp_path / "Task.csv").write_text(TASK_HEAD + task_rows)
    if opp is not None:
        (tmp_path / "Opportunity.csv").write_text(opp)
    return tmp_path


def test_done_is_isclosed_else_status_and_open_tasks_are_counted(tmp_path):
    rows = (
        "t1,0051,Prep,Not Started,,2024-01-02T10:00:00Z,,2024-01-02,,,,,\n"
        "t2,0051,Prep,In Progress,false,2024-01-02T10:00:00Z,,2024-01-02,,,,,\n"
        "t3,0051,Prep,Waiting on someone else,true,2024-01-02T10:00:00Z,,2024-01-02,,,,,\n"  # IsClosed wins
        "t4,0051,Prep,Completed,,2024-01-02T10:00:00Z,,2024-01-02,,,,,\n"
        "t5,0051,Prep,Completada,,2024-01-02T10:00:00Z,,2024-01-02,,,,,\n"
    )
    r = import_salesforce(export(tmp_path, rows))
    done = r.data.activities.set_index("activity_id")["done"]
    assert done.eq(False).fillna(False).to_dict() == {"t1": True, "t2": True, "t3": False, "t4": False, "t5": True}
    assert done[["t3", "t4"]].isna().all()  # done: empty (the column stays sparse)
    assert sorted(r.data.performed().activities.activity_id) == ["t3", "t4"]
    (reason, n), *_ = [(k[1], v) for k, v in r.report.not_done.items()]
    assert n == 3 and "Completada x1" in reason and "Not Started x1" in reason and "In Progress x1" in reason
    m = CrmMapping.from_dict({"tasks": {"done_statuses": ["Completada"]}})
    r = import_salesforce(tmp_path, mapping=m)
    assert sorted(r.data.performed().activities.activity_id) == ["t3", "t4", "t5"]
    dropped = import_salesforce(tmp_path, mapping=CrmMapping.from_dict({"tasks": {"open": "drop"}}))
    assert sorted(dropped.data.activities.activity_id) == ["t3", "t4"] and not dropped.report.not_done
    (reason, n), *_ = [(k[1], v) for k, v in dropped.report.dropped.items() if "not done" in k[1]]
    assert n == 3 and reason.endswith("an open to-do is not effort")
    kept = r.data.activities.set_index("activity_id")
    assert pd.isna(kept.loc["t1", "outcome"]) and kept.loc["t4", "outcome"] == "completed"


def test_task_time_rule_and_its_counts(tmp_path):
    rows = (
        "c1,0051,A,Completed,,2024-01-23T17:50:51Z,2024-01-22T09:40:00Z,2024-01-22,,,,,\n"  # CompletedDateTime
        "c2,0051,B,Completed,,2024-01-23T17:50:51Z,,2024-01-23,,,,,\n"  # same day: CreatedDate (with its time)
        "c3,0051,C,Completed,,2024-01-23T17:50:51Z,,2024-01-22,,,,,\n"  # one day: still CreatedDate
        "c4,0051,D,Completed,,2024-01-23T17:50:51Z,,2023-11-20,,,,,\n"  # weeks apart: a bulk load -> ActivityDate
        "c5,0051,E,Completed,,,,2023-11-21,,,,,\n"  # ActivityDate only
        "c6,0051,F,Completed,,2023-11-22T08:00:00Z,,,,,,,\n"  # CreatedDate only
    )
    r = import_salesforce(export(tmp_path, rows))
    got = r.data.activities.set_index("activity_id")["occurred_at"].to_dict()
    assert got == {
        "c1": T("2024-01-22 09:40"),
        "c2": T("2024-01-23 17:50:51"),
        "c3": T("2024-01-23 17:50:51"),
        "c4": T("2023-11-20"),
        "c5": T("2023-11-21"),
        "c6": T("2023-11-22 08:00"),
    }
    counts: dict[str, int] = {}
    for (_, what), n in r.report.changed.items():
        if what.startswith("task times"):
            counts[what.split(" (")[0]] = counts.get(what.split(" (")[0], 0) + n
    assert counts == {
        "task times from CompletedDateTime": 1,
        "task times from CreatedDate": 3,
        "task times from ActivityDate": 2,
    }
    strict = import_salesforce(tmp_path, mapping=CrmMapping.from_dict({"tasks": {"created_date_max_days": 0}}))
    assert strict.data.activities.set_index("activity_id").loc["c3", "occurred_at"] == T("2024-01-22")


def test_emails_and_calls_are_typed_without_task_subtype(tmp_path):
    rows = (
        "e1,0051,Re: pricing,Completed,,2024-01-02T10:00:00Z,,,02s1,,,,\n"  # EmailMessageId
        "e2,0051,Email de lista: Novedades,Completed,,2024-01-02T10:00:00Z,,,,,,,\n"
        "e3,0051,Note,Completed,,2024-01-02T10:00:00Z,,,,,,To: a@b.c Subject: hi Body: hello,\n"
        "k1,0051,Llamada a Acme,Completed,,2024-01-02T10:00:00Z,,,,,,,\n"
        "k2,0051,Chat,Completed,,2024-01-02T10:00:00Z,,,,Outbound,,,\n"  # call fields
        "k3,0051,x,Completed,,2024-01-02T10:00:00Z,,,,,30,,\n"
        "m1,0051,Lunch,Completed,,2024-01-02T10:00:00Z,,,,,,,Meeting\n"  # Type picklist
        "f1,0051,Follow-up with CFO,Completed,,2024-01-02T10:00:00Z,,,,,,,\n"
        "n1,0051,Calling list review,Completed,,2024-01-02T10:00:00Z,,,,,,,\n"  # "Call" is a whole word
        "n2,0051,Correo: factura,Completed,,2024-01-02T10:00:00Z,,,,,,,\n"
    )
    r = import_salesforce(export(tmp_path, rows))
    types = r.data.activities.set_index("activity_id")["activity_type"].to_dict()
    assert types == {
        "e1": "email", "e2": "email", "e3": "email", "k1": "call", "k2": "call", "k3": "call",
        "m1": "meeting", "f1": "follow_up", "n1": "task", "n2": "task",
    }  # fmt: skip
    assert any("has no TaskSubtype" in w for w in r.report.warnings)
    m = CrmMapping.from_dict({"subject_prefixes": {"Correo:": "email"}, "activity_types": {"Meeting": "task"}})
    types = import_salesforce(tmp_path, mapping=m).data.activities.set_index("activity_id")["activity_type"]
    assert (types["n2"], types["m1"]) == ("email", "task")


OPP = "Id,OwnerId,AccountId,StageName,Amount,CreatedDate,CloseDate,IsClosed,IsWon,CurrencyIsoCode\n"


def test_blank_win_flags_come_from_the_stage_and_currency_is_kept(tmp_path):
    opp = OPP + (
        "o1,0051,000000000000000AAA,Closed Lost,100,2024-01-01T00:00:00Z,2024-02-01,1,,EUR\n"  # lost, not left out
        "o2,0051,0011,Closed Won,200,2024-01-01T00:00:00Z,2024-02-01,,,USD\n"  # both blank: from the stage
        "o3,0051,0011,Prospecting,300,2024-01-01T00:00:00Z,2024-05-01,,,eur\n"  # blank IsClosed: open
        "o4,000000000000000,0011,Prospecting,1,2024-01-01T00:00:00Z,2024-05-01,0,0,EUR\n"  # no owner
    )
    r = import_salesforce(export(tmp_path, opp=opp))
    d = r.data.deals.set_index("deal_id")
    assert (bool(d.loc["o1", "is_closed"]), bool(d.loc["o1", "is_won"]), d.loc["o1", "closed_at"]) == (
        True,
        False,
        T("2024-02-01"),
    )
    assert pd.isna(d.loc["o1", "account_id"])
    assert (bool(d.loc["o2", "is_closed"]), bool(d.loc["o2", "is_won"])) == (True, True)
    assert (
        bool(d.loc["o3", "is_closed"]) is False and pd.isna(d.loc["o3", "is_won"]) and pd.isna(d.loc["o3", "closed_at"])
    )
    assert d["currency"].to_dict() == {"o1": "EUR", "o2": "USD", "o3": "EUR"}
    assert r.report.dropped[("Opportunity.csv", "no OwnerId")] == 1
    assert any("2 currencies (EUR x2, USD x1)" in w for w in r.report.warnings)
    out = r.data.save(tmp_path / "ds", "csv")
    assert load(out).deals.set_index("deal_id")["currency"].to_dict() == {"o1": "EUR", "o2": "USD", "o3": "EUR"}


# ---- stage history: OpportunityHistory -> deal_stages -------------------------------------------------------


def test_opportunity_history_becomes_deal_stages(result):
    got = [(r.deal_id, r.stage, r.entered_at) for r in result.data.deal_stages.itertuples()]
    assert got == [  # UTC CreatedDate in Berlin time (CET until 31 March)
        ("0061", "prospecting", T("2024-01-10 10:00")),  # 0082 (an amount change, still Prospecting) folded
        ("0061", "discovery", T("2024-01-20 11:00")),  # Needs Analysis; Value Proposition is discovery again
        ("0061", "closed_won", T("2024-03-28 17:00")),
        ("0062", "proposal", T("2024-02-02 00:30")),
        ("0063", "prospecting", T("2024-02-02 10:00")),
        ("0063", "qualification", T("2024-02-20 10:00")),  # 0092 (Negotiation/Review) is IsDeleted
        ("0063", "closed_lost", T("2024-03-15 10:00")),
    ]
    rep = result.report
    assert rep.dropped[("OpportunityHistory.csv", "IsDeleted is true")] == 1
    assert rep.dropped[("OpportunityHistory.csv", "stage history of deals not imported (deleted, or not in the deals file)")] == 1  # fmt: skip
    assert rep.folded[("deal_stages", "OpportunityHistory.csv", "the deal's previous stage again (another field changed)")] == 2  # fmt: skip
    assert rep.unmapped[("OpportunityHistory.csv", "StageName")]["Verbal Yes"] == 1
    assert rep.applied[("OpportunityHistory.csv", "StageName")] == "stage history rows left out"


def test_stage_conversion_works_on_imported_salesforce_history(result):
    from coachkit import pipeline

    d = result.data
    table = pipeline.stage_conversion(d.deals, d.playbook, d.deal_stages).set_index("stage")
    # closed deals: 0061 won (reached every stage), 0063 lost after qualification (its history)
    assert table["n"].to_dict() == {"prospecting": 2.0, "qualification": 2.0, "discovery": 1.0, "proposal": 1.0,
                                    "negotiation": 1.0, "closed_won": 1.0}  # fmt: skip
    assert table.loc["qualification", "lost_here"] == 1 and table.loc["discovery", "conversion"] == 0.5
    assert "Stage history covers 3 of 4 deals" in pipeline.stage_note(d.deals, d.playbook, d.deal_stages)


def test_a_history_mode_opportunity_table_is_stage_history(tmp_path):
    (tmp_path / "User.csv").write_text(USER)
    (tmp_path / "Event.csv").write_text("Id,OwnerId,StartDateTime\n00U1,0051,2024-01-02T10:00:00Z\n")
    (tmp_path / "sf_opportunity_data.csv").write_text(
        "id,owner_id,created_date,stage_name,is_closed,is_won,is_deleted\n"
        "0061,0051,2024-01-02 09:00:00,Closed Lost,true,false,false\n"
        "0062,0051,2024-01-02 09:00:00,Prospecting,true,false,true\n"
    )
    (tmp_path / "sf_opportunity_history_data.csv").write_text(  # one row per version of the record
        "_fivetran_active,_fivetran_start,_fivetran_end,id,stage_name,amount,is_deleted\n"
        "false,2024-01-03 08:00:00,2024-01-09 07:59:59,0061,Prospecting,100,false\n"
        "false,2024-01-09 08:00:00,2024-01-20 07:59:59,0061,Prospecting,120,false\n"
        "false,2024-01-20 08:00:00,2024-02-01 07:59:59,0061,Qualification,120,false\n"
        "true,2024-02-01 08:00:00,9999-12-31 23:59:59,0061,Closed Lost,120,false\n"
        "true,2024-01-03 08:00:00,9999-12-31 23:59:59,0062,Prospecting,1,true\n"
    )
    r = import_salesforce(tmp_path)
    got = [(x.deal_id, x.stage, x.entered_at) for x in r.data.deal_stages.itertuples()]
    assert got == [
        ("0061", "prospecting", T("2024-01-03 08:00")),
        ("0061", "qualification", T("2024-01-20 08:00")),
        ("0061", "closed_lost", T("2024-02-01 08:00")),
    ]
    assert r.report.dropped[("sf_opportunity_history_data.csv", "stage history of deals not imported (deleted, or not in the deals file)")] == 1  # fmt: skip
    assert validate(r.data.save(tmp_path / "ds", "csv")).ok
    assert load(tmp_path / "ds").deal_stages["stage"].tolist() == ["prospecting", "qualification", "closed_lost"]


def test_a_history_file_of_another_shape_is_named_in_a_warning(tmp_path):
    (tmp_path / "User.csv").write_text(USER)
    (tmp_path / "Event.csv").write_text("Id,OwnerId,StartDateTime\n00U1,0051,2024-01-02T10:00:00Z\n")
    (tmp_path / "OpportunityHistory.csv").write_text("Id,Field,NewValue\n1,StageName,Prospecting\n")
    r = import_salesforce(tmp_path)
    assert r.data.deal_stages.empty
    assert any("OpportunityHistory.csv has neither OpportunityId" in w for w in r.report.warnings)
