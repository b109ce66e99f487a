"""An import writes a dataset `coachkit validate` accepts: every kind of row validate refuses is repaired by a
documented rule or dropped (coachkit.importers.repair, and the date parsers), counted with its rows' ids."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coachkit import Playbook, schema
from coachkit.dataset import SalesData
from coachkit.importers import ExportError, ImportReport
from coachkit.importers.cli import import_group
from coachkit.importers.common import finish
from coachkit.importers.mapping import check_mapping, import_csv
from coachkit.importers.repair import Tables, repair
from coachkit.importers.salesforce import import_salesforce
from coachkit.load import load, validate
from coachkit.report import ERROR, Issue, ValidationReport

T = pd.Timestamp
PB = Playbook.default()


def tables(acts=None, reps=None, deals=None, stages=None) -> Tables:
    return Tables(
        schema.conform(pd.DataFrame(acts or {"activity_id": []}), "activities"),
        schema.conform(pd.DataFrame(reps or {"rep_id": []}), "reps"),
        schema.conform(pd.DataFrame(deals or {"deal_id": []}), "deals"),
        schema.conform(pd.DataFrame(stages or {"deal_id": []}), "deal_stages"),
    )


def passes_validate(t: Tables, tmp_path) -> ValidationReport:
    out = SalesData.from_frames(t.activities, t.reps, t.deals, PB, deal_stages=t.deal_stages).save(tmp_path, "csv")
    return validate(out)


# ---- each kind, on its own crafted row -----------------------------------------------------------------------

DEALS = {
    "deal_id": ["ok", "before", "same-day", "won-open", "minus", "no-created"],
    "rep_id": ["R1"] * 6,
    "created_at": [T("2024-03-01 10:00"), T("2024-03-02 09:00"), T("2024-03-05 15:00"), T("2024-03-01"),
                   T("2024-03-01"), pd.NaT],
    # "before": closed the day before it was created; "same-day": a date-only close on the creation day (fine)
    "closed_at": [T("2024-03-20"), T("2024-03-01"), T("2024-03-05"), T("2024-03-09"), pd.NaT, pd.NaT],
    "is_won": [True, False, True, True, pd.NA, pd.NA],
    "is_closed": [True, True, True, False, False, False],
    "amount": [100.0, 5.0, 7.0, 50.0, -20.0, 1.0],
}  # fmt: skip


def test_deals_closed_before_created_are_dropped_won_implies_closed_negative_amounts_emptied(tmp_path):
    report = ImportReport()
    t = tables(reps={"rep_id": ["R1"]}, deals=DEALS)
    assert not passes_validate(t, tmp_path / "before").ok
    out = repair(t, PB, report)
    d = out.deals.set_index("deal_id")
    assert list(d.index) == ["ok", "same-day", "won-open", "minus"]
    assert d.loc["won-open", "is_closed"] == True and d.loc["won-open", "closed_at"] == T("2024-03-09")  # noqa: E712
    assert pd.isna(d.loc["minus", "amount"]) and d.loc["ok", "amount"] == 100.0
    assert report.dropped[("deals", "no created_at")] == 1 and report.ids[("deals", "no created_at")] == ["no-created"]
    key = ("deals", "closed_at before created_at: which date is wrong cannot be known")
    assert report.dropped[key] == 1 and report.ids[key] == ["before"]
    key = ("deals", "won deals with is_closed false closed (won implies closed)")
    assert report.changed[key] == 1 and report.ids[key] == ["won-open"]
    key = ("deals", "negative amounts left empty (the deals still count)")
    assert report.changed[key] == 1 and report.ids[key] == ["minus"]
    assert passes_validate(out, tmp_path / "after").ok
    assert list(t.deals["deal_id"]) == DEALS["deal_id"]  # the input frames are not changed


def test_reps_left_before_hired_keep_hired_at_bad_timezones_emptied_missing_ids_dropped(tmp_path):
    report = ImportReport()
    reps = {
        "rep_id": ["R1", "R2", "R3", None],
        "hired_at": [T("2024-05-01"), T("2023-01-01"), T("2024-01-01"), T("2024-01-01")],
        "left_at": [T("2023-02-01"), T("2024-01-01"), pd.NaT, pd.NaT],
        "timezone": ["Europe/Berlin", "Mars/Olympus", None, None],
    }
    t = tables(reps=reps)
    assert not passes_validate(t, tmp_path / "before").ok
    r = repair(t, PB, report).reps.set_index("rep_id")
    assert list(r.index) == ["R1", "R2", "R3"]
    assert pd.isna(r.loc["R1", "left_at"]) and r.loc["R1", "hired_at"] == T("2024-05-01")  # rehired
    assert r.loc["R2", "left_at"] == T("2024-01-01") and pd.isna(r.loc["R2", "timezone"])
    assert r.loc["R1", "timezone"] == "Europe/Berlin"
    assert report.ids[("reps", "left_at before hired_at emptied (taken as rehired: hired_at is the rehire date)")] == [
        "R1"
    ]
    assert report.ids[("reps", "timezones that are not IANA names left empty (the playbook's applies)")] == ["R2"]
    assert report.dropped[("reps", "no rep_id")] == 1 and ("reps", "no rep_id") not in report.ids
    assert passes_validate(repair(t, PB, ImportReport()), tmp_path / "after").ok


def test_activities_with_values_validate_refuses(tmp_path):
    report = ImportReport()
    acts = {
        "activity_id": ["ok", "neg", "score", "held-email", "bad-outcome", "no-time", "bad-type", None],
        "rep_id": ["R1"] * 8,
        "activity_type": ["call", "call", "meeting", "email", "call", "call", "webinar", "call"],
        "occurred_at": [T("2024-03-04 09:00")] * 5 + [pd.NaT] + [T("2024-03-04 09:00")] * 2,
        "outcome": ["connected", None, "held", "held", "exploded", None, None, None],
        "duration_s": [60.0, -5.0, 1800.0, None, None, None, None, None],
        "feedback_score": [4.0, None, 6.0, None, None, None, None, None],
    }
    t = tables(acts=acts, reps={"rep_id": ["R1"]})
    assert not passes_validate(t, tmp_path / "before").ok
    a = repair(t, PB, report).activities.set_index("activity_id")
    assert list(a.index) == ["ok", "neg", "score", "held-email", "bad-outcome"]
    assert pd.isna(a.loc["neg", "duration_s"]) and a.loc["ok", "duration_s"] == 60.0
    assert pd.isna(a.loc["score", "feedback_score"]) and a.loc["score", "outcome"] == "held"
    assert (
        a[["outcome"]].loc[["held-email", "bad-outcome"]].isna().all().all() and a.loc["ok", "outcome"] == "connected"
    )
    assert report.ids[("activities", "negative durations left empty")] == ["neg"]
    assert report.ids[("activities", "feedback scores outside 1-5 left empty")] == ["score"]
    assert report.ids[("activities", "outcomes left empty: not an outcome of their activity type in the playbook")] == [
        "held-email",
        "bad-outcome",
    ]
    assert report.ids[("activities", "no occurred_at")] == ["no-time"]
    assert report.dropped[("activities", "no activity_id")] == 1
    key = ("activities", f"activity_type not in the playbook ({', '.join(PB.activity_types)})")
    assert report.ids[key] == ["bad-type"]
    assert passes_validate(repair(t, PB, ImportReport()), tmp_path / "after").ok


def test_deal_stages_without_a_required_value_are_dropped():
    report = ImportReport()
    stages = {"deal_id": ["d1", "d1", None], "stage": ["prospecting", None, "proposal"],
              "entered_at": [T("2024-01-01"), T("2024-01-02"), T("2024-01-03")]}  # fmt: skip
    out = repair(tables(stages=stages), PB, report).deal_stages
    assert out["stage"].tolist() == ["prospecting"]
    assert report.dropped[("deal_stages", "no deal_id")] == 1 and report.ids[("deal_stages", "no stage")] == ["d1"]


def test_nothing_to_repair_changes_nothing_and_reports_nothing():
    report = ImportReport()
    t = tables(
        acts={"activity_id": ["a1"], "rep_id": ["R1"], "activity_type": ["call"], "occurred_at": [T("2024-03-04")]},
        reps={"rep_id": ["R1"]},
        deals={k: v[:1] for k, v in DEALS.items()},
    )
    out = repair(t, PB, report)
    for got, want in zip(out, t, strict=True):
        pd.testing.assert_frame_equal(got, want)
    assert not report.dropped and not report.changed and not report.ids


# ---- any frame an importer could build passes validate once repaired (hypothesis) ---------------------------

STAMPS = st.one_of(st.none(), st.datetimes(min_value=pd.Timestamp("2020-01-01"), max_value=pd.Timestamp("2025-12-31")))
DATES = st.one_of(st.none(), st.dates(min_value=pd.Timestamp("2020-01-01").date(), max_value=pd.Timestamp("2025-12-31").date()))  # fmt: skip
NUMS = st.one_of(st.none(), st.floats(min_value=-1e6, max_value=1e6, allow_nan=False))
BOOLS = st.sampled_from([None, True, False])


@st.composite
def import_tables(draw):
    n, m = draw(st.integers(0, 6)), draw(st.integers(0, 6))
    reps = {
        "rep_id": draw(st.lists(st.sampled_from(["R1", "R2", None]), min_size=2, max_size=2)),
        "hired_at": draw(st.lists(DATES, min_size=2, max_size=2)),
        "left_at": draw(st.lists(DATES, min_size=2, max_size=2)),
        "timezone": draw(st.lists(st.sampled_from([None, "UTC", "Europe/Paris", "Nowhere/Town"]), min_size=2, max_size=2)),
    }  # fmt: skip
    outcomes = [None, "connected", "held", "sent", "completed", "nonsense"]
    acts = {
        "activity_id": [f"a{i}" if draw(st.booleans()) or i % 3 else None for i in range(n)],
        "rep_id": draw(st.lists(st.sampled_from(["R1", None]), min_size=n, max_size=n)),
        "activity_type": draw(st.lists(st.sampled_from(["call", "meeting", "email", "task", "webinar"]), min_size=n, max_size=n)),
        "occurred_at": draw(st.lists(STAMPS, min_size=n, max_size=n)),
        "outcome": draw(st.lists(st.sampled_from(outcomes), min_size=n, max_size=n)),
        "duration_s": draw(st.lists(NUMS, min_size=n, max_size=n)),
        "feedback_score": draw(st.lists(st.one_of(st.none(), st.floats(-2, 9)), min_size=n, max_size=n)),
    }  # fmt: skip
    deals = {
        "deal_id": [f"d{i}" if i % 4 else None for i in range(m)],
        "rep_id": draw(st.lists(st.sampled_from(["R1", "R2", None]), min_size=m, max_size=m)),
        "created_at": draw(st.lists(STAMPS, min_size=m, max_size=m)),
        "closed_at": draw(st.lists(STAMPS, min_size=m, max_size=m)),
        "is_won": draw(st.lists(BOOLS, min_size=m, max_size=m)),
        "is_closed": draw(st.lists(BOOLS, min_size=m, max_size=m)),
        "amount": draw(st.lists(NUMS, min_size=m, max_size=m)),
    }
    for d in (acts, deals):
        for k, v in d.items():
            if k.endswith("_at"):
                d[k] = pd.to_datetime(pd.Series(v, dtype="object"))
    reps["hired_at"] = pd.to_datetime(pd.Series(reps["hired_at"], dtype="object"))
    reps["left_at"] = pd.to_datetime(pd.Series(reps["left_at"], dtype="object"))
    return acts, reps, deals


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(import_tables())
def test_whatever_the_rows_the_finished_import_passes_validate(tmp_path_factory, parts):
    acts, reps, deals = parts
    report = ImportReport()
    result = finish([pd.DataFrame(acts)], pd.DataFrame(reps), pd.DataFrame(deals), PB, report, users_file="u.csv")
    out = result.data.save(tmp_path_factory.mktemp("ds"), "csv")
    check = validate(out)
    assert check.ok, check.to_text()
    assert len(result.data.activities) <= len(acts["activity_id"])
    assert report.rows_mapped["deals"] == len(result.data.deals)


# ---- duplicates: a row exported twice is dropped; two different rows with one id stop the import -------------


def test_rows_exported_twice_are_dropped_and_different_rows_with_one_id_stop():
    row = {"activity_id": "a1", "rep_id": "R1", "activity_type": "call", "occurred_at": T("2024-03-04 09:00")}
    report = ImportReport()
    r = finish([pd.DataFrame([row, row])], pd.DataFrame({"rep_id": ["R1"]}), None, PB, report, users_file="u")
    assert list(r.data.activities.activity_id) == ["a1"]
    key = ("activities", "the same activity_id and content again (a row exported twice)")
    assert report.dropped[key] == 1 and report.ids[key] == ["a1"]
    with pytest.raises(ExportError, match="2 activities rows share an id but differ \\(e.g. 'a1'\\)"):
        finish([pd.DataFrame([row, {**row, "activity_type": "email"}])], pd.DataFrame({"rep_id": ["R1"]}), None, PB,
               ImportReport(), users_file="u")  # fmt: skip
    deal = {"deal_id": "d1", "rep_id": "R1", "created_at": T("2024-03-04")}
    with pytest.raises(ExportError, match="deals rows share an id but differ"):
        finish([], pd.DataFrame({"rep_id": ["R1"]}), pd.DataFrame([deal, {**deal, "amount": 5.0}]), PB,
               ImportReport(), users_file="u")  # fmt: skip


# ---- dates that would be guesses, and years out of range: left empty and counted with their rows --------------


def test_partial_and_out_of_range_dates_in_a_salesforce_export(tmp_path):
    (tmp_path / "User.csv").write_text("Id,Name,CreatedDate\n0051,Ada,2023\n")
    (tmp_path / "Task.csv").write_text(
        "Id,OwnerId,Status,CompletedDateTime,ActivityDate\n"
        "t1,0051,Completed,2024-01-02T10:00:00Z,2024-01-02\n"
        "t2,0051,Completed,,2024-01\n"  # a month: which day? dropped, not dated 2024-01-01
        "t3,0051,Completed,,20240105\n"  # compact: not guessed either
    )
    (tmp_path / "Opportunity.csv").write_text(
        "Id,OwnerId,CreatedDate,CloseDate,StageName,IsClosed,IsWon\n"
        "o1,0051,2024-01-02T10:00:00Z,4000-12-31,Prospecting,false,false\n"  # a 'no end' placeholder
        "o2,0051,2024-01-02T10:00:00Z,4000-12-31,Closed Won,true,true\n"
    )
    r = import_salesforce(tmp_path)
    assert list(r.data.activities.activity_id) == ["t1"]
    ch = r.report.changed
    key = ("Task.csv", "dates of ActivityDate left empty: not a full date (a year, a month or a compact date such as "
           "20261013, which would be a guess)")  # fmt: skip
    assert ch[key] == 2 and r.report.ids[key] == ["row 3", "row 4"]
    assert r.report.dropped[("Task.csv", "no CompletedDateTime, CreatedDate or ActivityDate")] == 2
    assert ("Opportunity.csv", "dates of CloseDate left empty: a year outside 1678-2261 (e.g. a 4000-12-31 'no end' "
            "placeholder)") in ch  # fmt: skip
    d = r.data.deals.set_index("deal_id")
    assert pd.isna(d.loc["o2", "closed_at"]) and bool(d.loc["o2", "is_won"])
    rep = r.data.reps.set_index("rep_id").loc["0051"]
    assert pd.isna(rep.hired_at)  # CreatedDate "2023": not 2023-01-01
    assert validate(r.data.save(tmp_path / "ds", "csv")).ok


# ---- end to end: an export with every kind imports through the command line, and validates ---------------------

MAPPING = """
[reps]
file = "reps.csv"
[reps.columns]
rep_id = "Id"
hired_at = "Hired"
left_at = "Left"
timezone = "Zone"

[deals]
file = "deals.csv"
[deals.columns]
deal_id = "Id"
rep_id = "Owner"
created_at = "Created"
closed_at = "Closed"
is_won = "Won"
is_closed = "IsClosed"
amount = "Amount"

[activities]
file = "calls.csv"
[activities.columns]
activity_id = "Id"
rep_id = "Owner"
activity_type = { const = "call" }
occurred_at = "When"
duration_s = "Seconds"
feedback_score = "Score"
"""


@pytest.fixture
def export(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "reps.csv").write_text(
        "Id,Hired,Left,Zone\nR1,2024-05-01,2023-02-01,Europe/Berlin\nR2,2022-01-01,,Mars/Base\n"
    )
    (src / "deals.csv").write_text(
        "Id,Owner,Created,Closed,Won,IsClosed,Amount\n"
        "D1,R1,2024-03-02,2024-03-01,true,true,10\n"  # closed before created
        "D2,R1,2024-03-02,2024-03-09,true,false,20\n"  # won but not closed
        "D3,R2,2024-03-02,,,false,-30\n"  # negative amount
        "D4,R2,2024,,,false,40\n"  # created in a year
    )
    (src / "calls.csv").write_text(
        "Id,Owner,When,Seconds,Score\n"
        "C1,R1,2024-03-04 09:00,-5,3\n"  # negative duration
        "C2,R2,2024-03-04 10:00,60,7\n"  # score outside 1-5
        "C3,R2,2024-03,60,4\n"  # a month
    )
    (tmp_path / "m.toml").write_text(MAPPING)
    return src, tmp_path / "m.toml"


def test_every_kind_through_the_command_line(export, tmp_path):
    src, mapping = export
    res = CliRunner().invoke(import_group, ["csv", str(src), "--mapping", str(mapping), "--out", str(tmp_path / "ds")])
    assert res.exit_code == 0, res.output
    assert validate(tmp_path / "ds").ok
    text = res.output
    for line in (
        "deals: 1 (closed_at before created_at: which date is wrong cannot be known) (D1)",
        "deals.csv: 1 won deals with is_closed false closed (won implies closed) (D2)",
        "deals: 1 negative amounts left empty (the deals still count) (D3)",
        "deals.csv: 1 timestamps of Created left empty: not a full date",
        "deals.csv: 1 (no created_at)",
        "activities: 1 negative durations left empty (C1)",
        "activities: 1 feedback scores outside 1-5 left empty (C2)",
        "calls.csv: 1 timestamps of When left empty: not a full date",
        "reps: 1 left_at before hired_at emptied (taken as rehired: hired_at is the rehire date) (R1)",
        "reps: 1 timezones that are not IANA names left empty (the playbook's applies) (R2)",
    ):
        assert line in text, line
    data = load(tmp_path / "ds")
    assert sorted(data.deals.deal_id) == ["D2", "D3"] and sorted(data.activities.activity_id) == ["C1", "C2"]
    assert bool(data.deals.set_index("deal_id").loc["D2", "is_closed"])


def test_a_dataset_validate_would_refuse_is_never_written(export, tmp_path, monkeypatch):
    import coachkit.importers.cli as cli

    src, mapping = export
    out = tmp_path / "ds"
    refused = ValidationReport("x", [Issue(ERROR, "deals.csv", 2, "amount", "-1", "a problem the repair missed")])
    monkeypatch.setattr(cli, "validate", lambda path: refused)
    res = CliRunner().invoke(import_group, ["csv", str(src), "--mapping", str(mapping), "--out", str(out)])
    assert res.exit_code == 1 and "nothing was written" in res.output and "a problem the repair missed" in res.output
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".ds")] == []  # the trial folder is removed


def test_mapping_open_deals_rule_keeps_a_win(tmp_path):
    m = check_mapping({
        "reps": {"file": "d.csv", "dedupe": ["Owner"], "columns": {"rep_id": "Owner"}},
        "deals": {"file": "d.csv", "columns": {"deal_id": "Id", "rep_id": "Owner", "created_at": "Created",
                                               "closed_at": "Closed", "is_won": "Won", "is_closed": "IsClosed"}},
        "activities": {"file": "d.csv", "columns": {"activity_id": "Id", "rep_id": "Owner",
                                                    "activity_type": {"const": "task"}, "occurred_at": "Created"}},
    })  # fmt: skip
    (tmp_path / "d.csv").write_text(
        "Id,Owner,Created,Closed,Won,IsClosed\nD1,R1,2024-03-02,2024-03-09,true,false\nD2,R1,2024-03-02,2024-04-30,,false\n"
    )
    r = import_csv(tmp_path, m)
    d = r.data.deals.set_index("deal_id")
    assert (
        bool(d.loc["D1", "is_closed"]) and bool(d.loc["D1", "is_won"]) and d.loc["D1", "closed_at"] == T("2024-03-09")
    )
    assert pd.isna(d.loc["D2", "closed_at"])  # an open deal's forecast close is still not a close
    assert r.report.ids[("d.csv", "won deals with is_closed false closed (won implies closed)")] == ["D1"]
    assert np.isnan(r.data.deals["amount"]).all()
