"""Pipedrive importer on a crafted export: due date + time in UTC, HH:MM durations, custom types, money."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pandas as pd
import pytest

from coachkit import Playbook
from coachkit.importers.common import ExportError
from coachkit.importers.pipedrive import import_pipedrive
from coachkit.load import load, validate

FIXTURE = Path(__file__).parent / "fixtures" / "importers" / "pipedrive"
NEW_YORK = Playbook.from_text('timezone = "America/New_York"\n')


@pytest.fixture(scope="module")
def result():
    return import_pipedrive(FIXTURE, mapping=FIXTURE / "mapping.toml", playbook=NEW_YORK)


def test_activities(result):
    a = result.data.activities.set_index("activity_id").to_dict("index")
    # 14:30 UTC on the day US DST starts is 10:30 EDT; "00:05" is five minutes
    assert (a["1"]["occurred_at"], a["1"]["duration_s"], a["1"]["activity_type"]) == (
        pd.Timestamp("2024-03-10 10:30"),
        300.0,
        "call",
    )
    assert a["1"]["notes"] == "Asked about pricing & terms"
    assert (a["1"]["deal_id"], a["1"]["account_id"], a["1"]["contact_id"]) == ("50", "9", "3")
    assert (a["2"]["duration_s"], a["2"]["outcome"]) == (5400.0, "scheduled")
    # done 0: a planned meeting, not effort: kept with done false (no KPI counts it); the others done (empty)
    assert a["2"]["done"] is False and all(pd.isna(a[k]["done"]) for k in ("1", "3", "4", "5", "6"))
    # no due_time: marked_as_done_time 21:15 UTC
    assert (a["3"]["activity_type"], a["3"]["occurred_at"], a["3"]["outcome"]) == (
        "follow_up",
        pd.Timestamp("2024-03-13 17:15"),
        "completed",
    )
    # all-day deadline: the due date itself, not shifted
    assert (a["4"]["activity_type"], a["4"]["occurred_at"]) == ("task", pd.Timestamp("2024-03-14"))
    assert (a["5"]["activity_type"], a["5"]["outcome"]) == ("meeting", "held")  # custom type via mapping
    assert a["6"]["activity_type"] == "task"
    assert "7" not in a


def test_deals_users_report(result):
    d = result.data.deals.set_index("deal_id").to_dict("index")
    assert (d["50"]["amount"], d["50"]["closed_at"], d["50"]["stage"]) == (
        22700.0,
        pd.Timestamp("2024-03-20 12:00"),
        "closed_won",
    )
    assert (d["51"]["amount"], d["51"]["stage"]) == (342090.0, "qualification") and pd.isna(d["51"]["closed_at"])
    assert d["52"]["closed_at"] == pd.Timestamp("2024-02-29 22:00") and d["52"]["is_won"] is False
    assert "53" not in d and pd.isna(d["54"]["stage"])
    r = result.data.reps.set_index("rep_id").to_dict("index")
    assert r["7"]["hired_at"] == pd.Timestamp("2022-12-31")  # 23:30 UTC is still Dec 31 in New York
    rep = result.report
    assert rep.dropped[("deals.csv", "status deleted")] == 1
    assert (
        rep.not_done[("activities.csv", "activities not done (done 0 / To do: meeting x1): planned, not effort")] == 1
    )
    assert rep.dropped[("activities.csv", "no user_id")] == 1
    assert rep.unmapped[("activities.csv", "type")]["webinar"] == 1
    assert rep.applied[("activities.csv", "type")] == "imported as task (the default type)"
    assert rep.unmapped[("deals.csv", "stage_id (open deals)")]["99"] == 1


def test_without_mapping_custom_type_is_reported(tmp_path):
    r = import_pipedrive(FIXTURE, playbook=NEW_YORK)
    a = r.data.activities.set_index("activity_id")
    assert a.loc["5", "activity_type"] == "task"
    assert r.report.unmapped[("activities.csv", "type")]["lunch_and_learn"] == 1


def test_valid_and_inputs_unchanged(result, tmp_path):
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in FIXTURE.iterdir()}
    out = import_pipedrive(FIXTURE, mapping=FIXTURE / "mapping.toml", playbook=NEW_YORK).data.save(tmp_path / "ds")
    assert before == {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in FIXTURE.iterdir()}
    assert validate(out).ok
    pd.testing.assert_frame_equal(load(out).activities, result.data.activities)


def test_bad_duration_and_missing_file(tmp_path):
    (tmp_path / "users.csv").write_text("id,name\n7,Cleo\n")
    with pytest.raises(ExportError, match="activities.csv is missing"):
        import_pipedrive(tmp_path)
    (tmp_path / "activities.csv").write_text(
        "id,user_id,type,due_date,due_time,duration\n1,7,call,2024-01-01,10:00,90 min\n"
    )
    with pytest.raises(ExportError) as err:
        import_pipedrive(tmp_path)
    assert (err.value.column, err.value.value, err.value.row) == ("duration", "90 min", 2)


def test_file_named_in_mapping_must_exist(tmp_path):
    (tmp_path / "users.csv").write_text("id,name\n7,Cleo\n")
    (tmp_path / "activities.csv").write_text("id,user_id,type,due_date,due_time\n1,7,call,2024-01-01,10:00\n")
    m = tmp_path / "m.toml"
    m.write_text('[files]\nactivities = "activities_q1.csv"\n')
    with pytest.raises(ExportError, match="activities_q1.csv") as err:
        import_pipedrive(tmp_path, mapping=m, playbook=NEW_YORK)
    assert err.value.file == str(tmp_path / "activities_q1.csv")
    (tmp_path / "activities.csv").rename(tmp_path / "activities_q1.csv")
    r = import_pipedrive(tmp_path, mapping=m, playbook=NEW_YORK)
    assert r.report.rows_read == {"activities_q1.csv": 1, "users.csv": 1}
    assert r.data.activities["occurred_at"].tolist() == [pd.Timestamp("2024-01-01 05:00")]  # 10:00 UTC in New York


# ---- UI exports and no users file (issue 12) -------------------------------------------------------------


def test_api_export_without_users_file(tmp_path):
    shutil.copy(FIXTURE / "activities.csv", tmp_path / "activities.csv")
    r = import_pipedrive(tmp_path, playbook=NEW_YORK)
    assert sorted(r.data.reps.rep_id) == ["7", "8"] and r.data.reps["name"].isna().all()
    assert any("users.csv is missing" in w for w in r.report.warnings)


def test_ui_export_in_a_decimal_comma_locale(tmp_path):
    (tmp_path / "activities.csv").write_text(
        "Activity - ID;Activity - Subject;Activity - Type;Activity - Due date;Activity - Due time;"
        "Activity - Duration;Activity - Done;Activity - Assigned to user;Deal\n"
        "1;Anruf;Call;04.03.2024;09:30;00:15;Done;Jana Roth;Rollout\n"
        "2;Demo;Meeting;15.03.2024;14:00;01:00;To do;jana roth;Rollout\n"
    )
    (tmp_path / "deals.csv").write_text(
        "Deal - ID;Deal - Title;Deal - Value;Deal - Currency;Deal - Owner;Deal - Stage;Deal - Status;Deal - Add time;"
        "Deal - Won time\n"
        "11;Rollout;12.500,00;EUR;Jana Roth;Proposal Made;Won;20.02.2024 10:11;20.03.2024 16:00\n"
        "12;Rollout;4.000,50;EUR;Jana Roth;Contact Made;Open;25.02.2024 09:00;\n"
    )
    r = import_pipedrive(tmp_path)
    a = r.data.activities.set_index("activity_id")
    assert (a.loc["1", "occurred_at"], a.loc["1", "duration_s"]) == (pd.Timestamp("2024-03-04 09:30"), 900.0)
    assert pd.isna(a.loc["1", "outcome"])  # Pipedrive calls carry no outcome
    assert a.loc["2", "outcome"] == "scheduled" and list(r.data.reps.rep_id) == ["Jana Roth"]
    assert a.loc["2", "done"] == False and pd.isna(a.loc["1", "done"])  # noqa: E712 ("To do" / "Done")
    assert a["deal_id"].isna().all()  # two deals share the title "Rollout": not linked, and counted
    assert (
        r.report.changed[("activities.csv", "deal titles not linked (no single deal in deals.csv has that title)")] == 2
    )
    d = r.data.deals.set_index("deal_id")
    assert d["amount"].to_dict() == {"11": 12500.0, "12": 4000.5}
    assert (d.loc["11", "stage"], d.loc["12", "stage"]) == ("closed_won", "qualification")
    assert d.loc["11", "closed_at"] == pd.Timestamp("2024-03-20 16:00")


def test_without_a_done_column_every_activity_is_done(tmp_path):
    (tmp_path / "activities.csv").write_text(
        "id,user_id,type,subject,due_date,due_time\n1,7,meeting,Demo,2024-03-12,15:00\n2,7,task,Quote,2024-03-13,\n"
    )
    r = import_pipedrive(tmp_path)
    a = r.data.activities.set_index("activity_id")
    assert a["done"].isna().all() and a["outcome"].isna().all()  # unknown: no outcome guessed, not a to-do
    assert not r.report.not_done


def test_to_do_activities_are_kept_but_no_kpi_counts_them(tmp_path):
    import coachkit

    (tmp_path / "activities.csv").write_text(
        "id,user_id,type,subject,done,due_date,due_time\n"
        "1,7,call,Intro,1,2024-03-12,15:00\n"
        "2,7,call,Call back,0,2024-03-19,09:00\n"
        "3,7,meeting,Demo,0,2024-03-20,10:00\n"
    )
    r = import_pipedrive(tmp_path)
    assert len(r.data.activities) == 3
    assert list(r.data.performed().activities.activity_id) == ["1"]
    k = coachkit.kpi_table(r.data, freq="M", kpis=["activities", "calls", "meetings"])
    assert k.groupby("kpi")["value"].sum().to_dict() == {"activities": 1.0, "calls": 1.0, "meetings": 0.0}
    assert "2 activities not done (done 0 / To do: call x1, meeting x1)" in r.report.to_text()
    out = r.data.save(tmp_path / "ds", "csv")
    assert validate(out).ok
    assert load(out).activities.set_index("activity_id")["done"].eq(False).fillna(False).tolist() == [False, True, True]
