"""HubSpot importer on a crafted export: ms units, GUIDs, dispositions.csv, HTML, time zones."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pandas as pd
import pytest

from coachkit import Playbook
from coachkit.importers.common import ExportError
from coachkit.importers.hubspot import DEFAULT_DISPOSITIONS, import_hubspot
from coachkit.load import load, validate

FIXTURE = Path(__file__).parent / "fixtures" / "importers" / "hubspot"
BERLIN = Playbook.from_text('timezone = "Europe/Berlin"\n')


@pytest.fixture(scope="module")
def result():
    return import_hubspot(FIXTURE, playbook=BERLIN)


def acts(result) -> dict:
    return result.data.activities.set_index("activity_id").to_dict("index")


def test_calls_units_guids_and_times(result):
    a = acts(result)
    # epoch ms 1711846800000 = 2024-03-31 01:00Z = 03:00 CEST; 125000 ms = 125 s
    assert (a["1"]["occurred_at"], a["1"]["duration_s"], a["1"]["outcome"]) == (
        pd.Timestamp("2024-03-31 03:00"),
        125.0,
        "connected",
    )
    assert a["1"]["notes"] == "Asked for a demo & pricing"
    assert (a["1"]["account_id"], a["1"]["deal_id"], a["1"]["direction"]) == ("555", "900", "outbound")
    assert (a["2"]["occurred_at"], a["2"]["outcome"]) == (pd.Timestamp("2024-03-31 01:30"), "no_answer")
    # no disposition: hs_call_status NO_ANSWER
    assert a["3"]["outcome"] == "no_answer"
    assert pd.isna(a["4"]["outcome"]) and a["4"]["direction"] == "inbound"
    assert "5" not in a  # no owner


def test_default_guids_are_hubspots_documented_labels():
    assert DEFAULT_DISPOSITIONS["f240bbac-87c9-4f6e-bf70-924b57d47db7"] == "Connected"
    assert DEFAULT_DISPOSITIONS["9d9162e7-6cf3-4944-bf63-4dff82258764"] == "Busy"
    assert DEFAULT_DISPOSITIONS["a4c4c377-d246-4b32-a13b-75a56a4cd0ff"] == "Left live message"
    assert DEFAULT_DISPOSITIONS["b2cf5968-551e-4856-9783-52b3da59a7d0"] == "Left voicemail"
    assert DEFAULT_DISPOSITIONS["73a0d17f-1163-4015-bdd5-ec830791da20"] == "No answer"
    assert DEFAULT_DISPOSITIONS["17b47fee-58de-441e-a44c-c6300d46f273"] == "Wrong number"


def test_dispositions_file_overrides_defaults(tmp_path):
    src = tmp_path / "export"
    shutil.copytree(FIXTURE, src)
    (src / "dispositions.csv").write_text(
        "id,label\n"
        "f240bbac-87c9-4f6e-bf70-924b57d47db7,Gatekeeper\n"
        "deadbeef-0000-0000-0000-000000000000,Left voicemail\n"
    )
    a = acts(import_hubspot(src, playbook=BERLIN))
    assert a["1"]["outcome"] == "gatekeeper"  # the portal's own label wins
    assert a["4"]["outcome"] == "voicemail"  # a custom GUID
    assert pd.isna(a["2"]["outcome"])  # only the file's GUIDs count when it is present


def test_meetings_emails_notes_tasks(result):
    a = acts(result)
    assert (a["11"]["occurred_at"], a["11"]["duration_s"], a["11"]["outcome"]) == (
        pd.Timestamp("2024-04-03 14:00"),
        2700.0,
        "held",
    )
    assert a["11"]["notes"] == "Budget freeze until Q3\nFollow up in June"
    assert a["11"]["contact_id"] == "777"  # HubSpot's export header, first of "777;778"
    assert (a["12"]["outcome"], a["13"]["outcome"]) == ("no_show", "canceled")
    assert (a["21"]["outcome"], a["22"]["outcome"], a["23"]["outcome"]) == ("sent", "bounced", "replied")
    assert a["23"]["direction"] == "inbound"
    assert a["31"]["notes"] == "Competitor Acme is cheaper <by 10%>"
    assert (a["41"]["activity_type"], a["41"]["outcome"], a["41"]["occurred_at"]) == (
        "follow_up",
        "completed",
        pd.Timestamp("2024-04-05 18:00"),
    )
    assert (a["42"]["activity_type"], a["43"]["activity_type"]) == ("task", "task")
    assert pd.isna(a["42"]["outcome"])


def test_deals_and_owners(result):
    d = result.data.deals.set_index("deal_id").to_dict("index")
    assert (d["900"]["stage"], d["900"]["is_won"], d["900"]["closed_at"]) == (
        "closed_won",
        True,
        pd.Timestamp("2024-03-20 11:00"),
    )
    assert pd.isna(d["901"]["closed_at"]) and d["901"]["stage"] == "prospecting" and d["901"]["amount"] == 1200.5
    assert d["902"]["closed_at"] == pd.Timestamp("2024-03-02 00:30") and d["902"]["is_won"] is False
    assert pd.isna(d["903"]["stage"])
    r = result.data.reps.set_index("rep_id").to_dict("index")
    assert (r["101"]["name"], r["101"]["team"], r["101"]["hired_at"]) == (
        "Ada Lovelace",
        "East",
        pd.Timestamp("2023-01-15"),
    )
    assert r["102"]["hired_at"] == pd.Timestamp("2023-06-02")  # 23:30Z is the next day in Berlin
    assert pd.isna(r["103"]["name"])
    rep = result.report
    assert rep.dropped[("calls.csv", "no hubspot_owner_id")] == 1
    assert rep.unmapped[("deals.csv", "dealstage")]["custom-stage-7"] == 1
    assert any("103" in w for w in rep.warnings)


def test_is_closed_columns_win(tmp_path):
    src = tmp_path / "export"
    shutil.copytree(FIXTURE, src)
    (src / "deals.csv").write_text(
        "hs_object_id,hubspot_owner_id,dealstage,createdate,closedate,hs_is_closed,hs_is_closed_won\n"
        "1,101,custom-won,2024-01-01T00:00:00Z,2024-02-01T00:00:00Z,true,true\n"
    )
    d = import_hubspot(src, playbook=BERLIN).data.deals
    assert d["is_won"].tolist() == [True] and d["closed_at"].tolist() == [pd.Timestamp("2024-02-01 01:00")]


def test_valid_round_trip_and_inputs_unchanged(result, tmp_path):
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in FIXTURE.iterdir()}
    out = import_hubspot(FIXTURE, playbook=BERLIN).data.save(tmp_path / "ds", "csv")
    assert before == {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in FIXTURE.iterdir()}
    assert validate(out).ok
    loaded = load(out)
    pd.testing.assert_frame_equal(loaded.activities, result.data.activities)
    pd.testing.assert_frame_equal(loaded.deals, result.data.deals)


def test_missing_required_column(tmp_path):
    (tmp_path / "calls.csv").write_text("hs_object_id,hs_timestamp\n1,2024-01-01T00:00:00Z\n")
    with pytest.raises(ExportError) as err:
        import_hubspot(tmp_path)
    assert (err.value.file, err.value.column) == ("calls.csv", "hubspot_owner_id")


def test_no_activity_files(tmp_path):
    (tmp_path / "owners.csv").write_text("id\n1\n")
    with pytest.raises(ExportError, match="no activity file"):
        import_hubspot(tmp_path)


def test_file_named_in_mapping_must_exist(tmp_path):
    src = tmp_path / "export"
    shutil.copytree(FIXTURE, src)
    m = tmp_path / "m.toml"
    m.write_text('[files]\ncalls = "calls_2024.csv"\n')
    # calls.csv is there, but the user asked for calls_2024.csv: no silent fallback
    with pytest.raises(ExportError, match="calls_2024.csv") as err:
        import_hubspot(src, mapping=m, playbook=BERLIN)
    assert err.value.file == str(src / "calls_2024.csv")
    assert "'calls'" in str(err.value) and "[files]" in str(err.value)
    (src / "calls.csv").rename(src / "Calls_2024.csv")  # matched ignoring case
    renamed = import_hubspot(src, mapping=m, playbook=BERLIN)
    assert renamed.report.rows_read["Calls_2024.csv"] == import_hubspot(FIXTURE).report.rows_read["calls.csv"]


def test_unknown_object_in_mapping_files_is_an_error(tmp_path):
    m = tmp_path / "m.toml"
    m.write_text('[files]\ncall = "calls.csv"\n')  # the object is "calls"
    with pytest.raises(ExportError, match="unknown object 'call'") as err:
        import_hubspot(FIXTURE, mapping=m, playbook=BERLIN)
    assert err.value.file == str(m)


# ---- UI exports (property labels, owners by name) and archived records (issue 12) ------------------------

UI_MEETINGS = (
    "Record ID,Meeting name,Activity date,Activity assigned to,Meeting outcome,Meeting start time,Meeting end time,"
    "Meeting description,Archived\n"
    "11,Demo,2024-04-03 12:00,Ada Lovelace,Completed,2024-04-03 12:00,2024-04-03 12:45,<p>Budget freeze</p>,false\n"
    "12,Demo 2,2024-04-04 12:00,ada lovelace,No show,2024-04-04 12:00,2024-04-04 12:30,,true\n"
)
UI_EMAILS = (
    "Record ID,Email subject,Activity date,Activity assigned to,Email direction,Email send status,Email body\n"
    "21,Intro,03/04/2024 9:00 AM,Bob Stone,Email,Sent,Hello\n"
    "22,Re: Intro,03/15/2024 10:00 AM,Bob Stone,Incoming email,,Thanks\n"
)
UI_NOTES = "Record ID,Note body,Activity date,Activity assigned to\n31,<p>Competitor is cheaper</p>,2024-04-03 15:00,Ada Lovelace\n"
UI_DEALS = (
    "Record ID,Deal name,Deal owner,Deal stage,Amount,Create date,Close date,Currency\n"
    '900,Acme,Ada Lovelace,Closed won,"5,000.00",2024-01-10 10:00,2024-03-20 10:00,EUR\n'
    "901,Beta,Bob Stone,Appointment scheduled,1200.50,2024-02-01 10:00,2024-06-30 10:00,EUR\n"
)


def ui_export(tmp_path, owners: str | None = None) -> Path:
    for name, text in (("meetings", UI_MEETINGS), ("emails", UI_EMAILS), ("notes", UI_NOTES), ("deals", UI_DEALS)):
        (tmp_path / f"{name}.csv").write_text(text)
    if owners is not None:
        (tmp_path / "owners.csv").write_text(owners)
    return tmp_path


def test_ui_export_without_owners_builds_reps_from_names(tmp_path):
    r = import_hubspot(ui_export(tmp_path))
    a = r.data.activities.set_index("activity_id")
    assert sorted(r.data.reps.rep_id) == ["Ada Lovelace", "Bob Stone"]  # "ada lovelace" is the same person
    assert (a.loc["11", "outcome"], a.loc["11", "duration_s"], a.loc["11", "notes"]) == (
        "held",
        2700.0,
        "Budget freeze",
    )
    assert "12" not in a.index and r.report.dropped[("meetings.csv", "archived: deleted in HubSpot")] == 1
    assert (a.loc["21", "occurred_at"], a.loc["21", "direction"], a.loc["21", "outcome"]) == (
        pd.Timestamp("2024-03-04 09:00"),  # month-first: 03/15 in the same column
        "outbound",
        "sent",
    )
    assert (a.loc["22", "direction"], a.loc["22", "outcome"]) == ("inbound", "replied")
    assert a.loc["31", "notes"] == "Competitor is cheaper"
    d = r.data.deals.set_index("deal_id")
    assert (d.loc["900", "amount"], d.loc["900", "stage"], bool(d.loc["900", "is_won"]), d.loc["900", "currency"]) == (
        5000.0,
        "closed_won",
        True,
        "EUR",
    )
    assert (d.loc["901", "stage"], d.loc["901", "rep_id"]) == ("prospecting", "Bob Stone")
    assert pd.isna(d.loc["901", "closed_at"])


def test_ui_export_with_owners_csv_matches_names_to_ids(tmp_path):
    owners = "id,firstName,lastName,email\n101,Ada,Lovelace,ada@x.com\n102,Bob,Stone,bob@x.com\n"
    r = import_hubspot(ui_export(tmp_path, owners))
    assert sorted(r.data.reps.rep_id) == ["101", "102"]
    assert set(r.data.activities.rep_id) == {"101", "102"} and set(r.data.deals.rep_id) == {"101", "102"}


def test_two_owners_with_one_name_cannot_be_told_apart(tmp_path):
    owners = "id,firstName,lastName\n101,Ada,Lovelace\n103,Ada,Lovelace\n"
    with pytest.raises(ExportError, match="two reps are named 'Ada Lovelace'") as err:
        import_hubspot(ui_export(tmp_path, owners))
    assert "101, 103" in str(err.value)


def test_tasks_not_completed_are_to_dos_kept_out_of_kpis(tmp_path):
    import coachkit

    (tmp_path / "tasks.csv").write_text(
        "hs_object_id,hubspot_owner_id,hs_timestamp,hs_task_completion_date,hs_task_subject,hs_task_status\n"
        "1,101,2024-04-06T08:00:00Z,2024-04-05T16:00:00Z,Send proposal,COMPLETED\n"
        "2,101,2024-04-08T08:00:00Z,,Call back,NOT_STARTED\n"
        "3,101,2024-04-09T08:00:00Z,,Prepare demo,IN_PROGRESS\n"
        "4,101,2024-04-09T09:00:00Z,,Legacy task,\n"  # no status: taken as done
    )
    r = import_hubspot(tmp_path)
    a = r.data.activities.set_index("activity_id")
    assert a["done"].eq(False).fillna(False).to_dict() == {"1": False, "2": True, "3": True, "4": False}
    assert a.loc["1", "outcome"] == "completed" and a.loc[["2", "3", "4"], "outcome"].isna().all()
    assert (
        r.report.not_done[
            ("tasks.csv", "tasks not completed (NOT_STARTED x1, IN_PROGRESS x1): open to-dos, not effort")
        ]
        == 2
    )
    assert coachkit.kpi_table(r.data, freq="M", kpis="activities")["value"].sum() == 2


def test_ui_export_task_status_labels(tmp_path):
    (tmp_path / "tasks.csv").write_text(
        "Record ID,Task title,Due date,Task status,Assigned to,Completion date\n"
        "1,Send proposal,2024-03-06 17:00,Completed,Dana Field,2024-03-06 15:12\n"
        "2,Follow up,2024-03-08 17:00,Not started,Dana Field,\n"
        "3,Demo prep,2024-03-09 17:00,In progress,Dana Field,\n"
    )
    a = import_hubspot(tmp_path).data.activities.set_index("activity_id")
    assert a["done"].eq(False).fillna(False).to_dict() == {"1": False, "2": True, "3": True}


# ---- stage history: the deals' "date entered" properties -> deal_stages ---------------------------------------


def test_date_entered_properties_are_stage_history(tmp_path):
    from coachkit.importers import CrmMapping

    (tmp_path / "calls.csv").write_text("hs_object_id,hubspot_owner_id,hs_timestamp\n1,101,2024-01-10T10:00:00Z\n")
    (tmp_path / "stages.csv").write_text("id,label\n4018240,Demo Booked\n")
    (tmp_path / "deals.csv").write_text(
        "hs_object_id,hubspot_owner_id,dealstage,createdate,closedate,hs_date_entered_appointmentscheduled,"
        "hs_date_entered_qualifiedtobuy,hs_v2_date_entered_qualifiedtobuy,hs_date_entered_4018240,"
        "hs_date_entered_closedwon,hs_date_entered_closedlost,hs_date_entered_current_stage\n"
        "900,101,closedwon,2024-01-10T10:00:00Z,2024-03-20T10:00:00Z,2024-01-10T10:00:00Z,2024-01-20T10:00:00Z,"
        "2024-01-21T10:00:00Z,,2024-03-20T10:00:00Z,,2024-03-20T10:00:00Z\n"
        "901,101,closedlost,2024-02-01T10:00:00Z,2024-04-01T10:00:00Z,1706781600000,,,2024-02-15T10:00:00Z,,"
        "2024-04-01T10:00:00Z,2024-04-01T10:00:00Z\n"
        "902,101,4018240,2024-02-01T10:00:00Z,,,,,2024-02-20T10:00:00Z,,,2024-02-20T10:00:00Z\n"
    )
    mapping = CrmMapping.from_dict({"stages": {"Demo Booked": "discovery"}})
    r = import_hubspot(tmp_path, mapping=mapping)
    got = [(x.deal_id, x.stage, x.entered_at) for x in r.data.deal_stages.itertuples()]
    assert got == [
        ("900", "prospecting", pd.Timestamp("2024-01-10 10:00")),
        ("900", "qualification", pd.Timestamp("2024-01-21 10:00")),  # hs_v2_ wins over hs_
        ("900", "closed_won", pd.Timestamp("2024-03-20 10:00")),
        ("901", "prospecting", pd.Timestamp("2024-02-01 10:00")),  # epoch milliseconds
        ("901", "discovery", pd.Timestamp("2024-02-15 10:00")),  # a custom stage id, labelled by stages.csv
        ("901", "closed_lost", pd.Timestamp("2024-04-01 10:00")),
        ("902", "discovery", pd.Timestamp("2024-02-20 10:00")),
    ]
    assert r.report.rows_mapped["deal_stages"] == 7
    out = r.data.save(tmp_path / "ds", "csv")
    assert validate(out).ok and len(load(out).deal_stages) == 7


def test_ui_export_date_entered_columns_and_unknown_stages(tmp_path):
    (tmp_path / "deals.csv").write_text(
        'Record ID,Deal owner,Deal stage,Create date,Close date,Date entered "Appointment Scheduled (Sales Pipeline)",'
        'Date entered "Closed Lost (Sales Pipeline)",Date entered "Verbal Yes (Sales Pipeline)"\n'
        "7001,Dana Field,Closed Lost,2024-03-01 09:00,2024-03-20 17:00,2024-03-01 09:00,2024-03-20 17:00,"
        "2024-03-10 12:00\n"
    )
    (tmp_path / "notes.csv").write_text(
        "Record ID,Activity date,Activity assigned to,Note body\n1,2024-03-02 10:00,Dana Field,x\n"
    )
    r = import_hubspot(tmp_path)
    got = [(x.deal_id, x.stage, x.entered_at) for x in r.data.deal_stages.itertuples()]
    assert got == [
        ("7001", "prospecting", pd.Timestamp("2024-03-01 09:00")),
        ("7001", "closed_lost", pd.Timestamp("2024-03-20 17:00")),
    ]
    unmapped = r.report.unmapped[("deals.csv", "date entered (stage)")]
    assert unmapped == {"verbal_yes_sales_pipeline": 1}
    assert r.report.applied[("deals.csv", "date entered (stage)")] == "stage history rows left out"


def test_no_date_entered_columns_no_stage_history(result):
    assert result.data.deal_stages.empty and "deal_stages" not in result.report.rows_mapped
