"""Generic CSV import through a TOML mapping: crafted export, linking reps through deals, Maven CRM, the CLI."""

from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from coachkit import Playbook
from coachkit.importers.cli import import_group
from coachkit.importers.common import ExportError
from coachkit.importers.mapping import check_mapping, import_csv
from coachkit.load import load, validate

FIXTURE = Path(__file__).parent / "fixtures" / "importers" / "csv"
SHARED = next((p for p in (Path(__file__).parents[2] / "shared", Path("/work/shared")) if p.is_dir()), Path("shared"))
SHARED = SHARED / "data"
MAVEN_MAPPING = Path(str(resources.files("coachkit.importers").joinpath("mappings/maven_crm.toml")))
BERLIN = Playbook.from_text('timezone = "Europe/Berlin"\n')


@pytest.fixture(scope="module")
def result():
    return import_csv(FIXTURE, FIXTURE / "mapping.toml", playbook=BERLIN)


def test_activities(result):
    a = result.data.activities.set_index("activity_id").to_dict("index")
    assert set(a) == {"x-C1", "x-C2", "x-C3", "x-C6", "x-C7"}
    # source_timezone UTC: 00:02 UTC on 15 Apr 2021 is 02:02 CEST; 2.5 minutes = 150 s
    assert (a["x-C1"]["occurred_at"], a["x-C1"]["duration_s"], a["x-C1"]["outcome"]) == (
        pd.Timestamp("2021-04-15 02:02"),
        150.0,
        "connected",
    )
    assert a["x-C1"]["notes"] == "Wants a demo & a quote"
    assert (a["x-C2"]["activity_type"], a["x-C2"]["occurred_at"]) == ("follow_up", pd.Timestamp("2021-04-16 01:03"))
    assert a["x-C2"]["notes"] == "Checked in,\ncall again Friday"  # quoted multi-line field
    assert (a["x-C3"]["activity_type"], a["x-C3"]["occurred_at"]) == ("follow_up", pd.Timestamp("2024-01-31 01:00"))
    assert pd.isna(a["x-C6"]["outcome"])  # "Held" is not a call outcome
    assert (a["x-C7"]["activity_type"], a["x-C7"]["outcome"]) == ("call", "voicemail")  # case-insensitive maps


def test_reps_deals_report(result):
    r = result.data.reps.set_index("rep_id").to_dict("index")
    assert (r["u1"]["name"], r["u1"]["role"], r["u1"]["hired_at"]) == ("Ada Lovelace", "AE", pd.Timestamp("2024-01-31"))
    assert pd.isna(r["u3"]["name"])
    d = result.data.deals.set_index("deal_id").to_dict("index")
    assert (d["D1"]["amount"], d["D1"]["is_won"], d["D1"]["stage"]) == (22700.0, True, "closed_won")
    assert (d["D2"]["amount"], d["D2"]["is_closed"]) == (342090.0, False) and pd.isna(d["D2"]["is_won"])
    assert pd.isna(d["D3"]["amount"])
    rep = result.report
    assert rep.dropped[("calls.csv", "duplicate of an earlier row (same Call ID)")] == 1
    assert rep.dropped[("calls.csv", "filter: Status in ['Deleted']")] == 1
    assert rep.dropped[("calls.csv", "no activity_type")] == 1
    assert rep.unmapped[("calls.csv", "Kind")]["Fax"] == 1


def write(folder: Path, name: str, text: str) -> None:
    (folder / name).write_text(text)


def test_rep_from_nearest_deal_hms_and_default(tmp_path):
    write(tmp_path, "reps.csv", "id\nu1\nu2\n")
    write(tmp_path, "deals.csv", "id,owner,acct,opened\nD1,u1,A,2024-01-01\nD2,u2,A,2024-03-01\nD3,u1,B,\n")
    write(
        tmp_path,
        "acts.csv",
        "acct,when,kind,len\nA,2024-01-20,Call,00:01:30\nA,2024-02-15,Visit,01:00\nZ,2024-02-15,Call,\n",
    )
    mapping = check_mapping(
        {
            "reps": {"file": "reps.csv", "columns": {"rep_id": "id"}},
            "deals": {
                "file": "deals.csv",
                "columns": {"deal_id": "id", "rep_id": "owner", "account_id": "acct", "created_at": "opened"},
            },
            "activities": {
                "file": "acts.csv",
                "columns": {
                    "activity_id": {"concat": [{"file": True}, {"const": "-"}, {"row": True}]},
                    "activity_type": {"column": "kind", "default": "meeting"},
                    "occurred_at": "when",
                    "duration_s": {"column": "len", "duration": "hms"},
                    "account_id": "acct",
                },
                "rep_from_deals": {"on": "account_id"},
            },
        }
    )
    r = import_csv(tmp_path, mapping)
    a = r.data.activities.set_index("activity_id")
    # 2024-01-20 is 19 days from D1 and 41 from D2; 2024-02-15 is 45 from D1 and 15 from D2
    assert a.loc["acts-1", "rep_id"] == "u1" and a.loc["acts-2", "rep_id"] == "u2"
    assert a.loc["acts-1", "duration_s"] == 90.0 and a.loc["acts-2", "duration_s"] == 3600.0
    assert a.loc["acts-2", "activity_type"] == "meeting"  # "Visit" is unmapped: the default
    assert "acts-3" not in a.index  # account Z has no deal
    assert r.report.dropped[("acts.csv", "no rep_id")] == 1
    assert r.report.dropped[("deals.csv", "no created_at")] == 1


ACTS = {
    "file": "a.csv",
    "columns": {"activity_id": "i", "rep_id": "r", "activity_type": "t", "occurred_at": "o"},
}


@pytest.mark.parametrize(
    "data, message",
    [
        ({"reps": {"file": "r.csv", "columns": {"rep_id": "a"}}}, r"\[activities\] is required"),
        (
            {"reps": {"file": "r.csv", "columns": {"rep_id": "a", "shoe_size": "b"}}, "activities": ACTS},
            "not a canonical column",
        ),
        (
            {"reps": {"file": "r.csv", "columns": {"rep_id": {"column": "a", "eval": "1+1"}}}, "activities": ACTS},
            "unknown key",
        ),
        ({"reps": {"file": "r.csv", "columns": {}}, "activities": ACTS}, "required column `rep_id`"),
    ],
)
def test_bad_mappings_say_what_is_wrong(data, message):
    with pytest.raises(ExportError, match=message):
        check_mapping(data)


def test_unparseable_value_names_file_row_column(tmp_path):
    for p in FIXTURE.iterdir():
        write(tmp_path, p.name, p.read_text())
    write(tmp_path, "deals.csv", "Deal,Agent,Opened,Value,Stage\nD1,u1,2021-04-01 10:00:00,lots,Won\n")
    with pytest.raises(ExportError) as err:
        import_csv(tmp_path, tmp_path / "mapping.toml")
    assert (err.value.file, err.value.row, err.value.column, err.value.value) == ("deals.csv", 2, "Value", "lots")


def test_cli_writes_valid_dataset_and_fails_clearly(tmp_path):
    runner = CliRunner()
    out = tmp_path / "ds"
    res = runner.invoke(
        import_group, ["csv", str(FIXTURE), "--mapping", str(FIXTURE / "mapping.toml"), "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    assert "Rows dropped" in res.output and (out / "activities.parquet").is_file()
    res = runner.invoke(import_group, ["hubspot", str(FIXTURE), "--out", str(tmp_path / "x")])
    assert res.exit_code == 1 and "calls.csv" in res.output and "hs_object_id" in res.output


@pytest.mark.shared
def test_maven_crm_interactions_variant(tmp_path):
    src = SHARED / "maven-crm" / "interactions-variant"
    if not src.is_dir():
        pytest.skip(f"real exports not available: {src} is absent (the ../shared folder beside the checkout)")
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in src.iterdir()}
    r = import_csv(src, MAVEN_MAPPING)
    assert before == {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in src.iterdir()}
    assert r.report.rows_mapped == {"activities": 626, "reps": 35, "deals": 8300}
    assert r.report.dropped[("sales_pipeline.csv", "no created_at")] == 500  # Prospecting: no engage_date
    d, a = r.data.deals, r.data.activities
    assert d["stage"].value_counts().to_dict() == {"closed_won": 4238, "closed_lost": 2473, "discovery": 1589}
    open_deals = d[d["stage"] == "discovery"]
    assert open_deals["closed_at"].isna().all() and open_deals["amount"].isna().all()
    assert a["activity_type"].value_counts().to_dict() == {"meeting": 381, "email": 245}
    assert a["occurred_at"].min() == pd.Timestamp("2024-01-01") and a["occurred_at"].max() == pd.Timestamp("2025-06-15")
    assert a["notes"].str.contains("\n").sum() > 500  # multi-line quoted notes survived
    first = a.set_index("activity_id").loc["int-1"]
    assert (first["rep_id"], first["outcome"], first["occurred_at"]) == (
        "Reed Clapper",
        "held",
        pd.Timestamp("2024-01-31"),
    )
    agents_without_deals = set(r.data.reps["rep_id"]) - set(d["rep_id"])
    assert len(agents_without_deals) == 5
    out = r.data.save(tmp_path / "maven", "parquet")
    assert validate(out).ok
    loaded = load(out)
    pd.testing.assert_frame_equal(loaded.activities, a)
    pd.testing.assert_frame_equal(loaded.deals, d)
