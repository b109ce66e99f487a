"""SalesData: restriction to a rep or a period, and saving in every format."""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pandas as pd
import pytest

from coachkit import schema
from coachkit.dataset import SalesData
from coachkit.load import load
from coachkit.playbook import Playbook


def small() -> SalesData:
    acts = pd.DataFrame(
        {
            "activity_id": ["a1", "a2", "a3", "a4", "a5"],
            "rep_id": ["r1", "r2", "r1", "r1", "r2"],
            "activity_type": ["call", "call", "meeting", "email", "call"],
            "occurred_at": pd.to_datetime(
                [
                    "2026-03-01 23:59:59.999999",
                    "2026-03-02 00:00:00",
                    "2026-03-02 23:59:59.5",
                    "2026-03-03 00:00:00",
                    "2026-03-03 12:00:00",
                ],
                format="ISO8601",
            ),
            "duration_s": [60.0, np.nan, 1800.0, 0.0, 5.5],
            "notes": ['He said "maybe", then left', None, "<script>alert(1)</script>", "line1\nline2", "ünï çødé ☃"],
        }
    )
    reps = pd.DataFrame({"rep_id": ["r1", "r2"], "name": ["Ann, Jr.", "Bob"], "hired_at": ["2025-01-01", None]})
    reps["hired_at"] = pd.to_datetime(reps["hired_at"])
    deals = pd.DataFrame(
        {
            "deal_id": ["d1", "d2", "d3"],
            "rep_id": ["r1", "r2", "r1"],
            "created_at": pd.to_datetime(["2026-02-01", "2026-03-02 10:00", "2026-01-01"], format="ISO8601"),
            "closed_at": pd.to_datetime(["2026-03-02 18:00", None, "2026-01-15"], format="ISO8601"),
            "amount": [100.0, np.nan, 1e-7],
            "is_won": pd.array([True, None, False], dtype="boolean"),
            "is_closed": pd.array([True, False, True], dtype="boolean"),
        }
    )
    return SalesData.from_frames(acts, reps, deals, Playbook.default())


def test_for_rep_keeps_only_that_reps_rows():
    r1 = small().for_rep("r1")
    assert r1.activities["activity_id"].tolist() == ["a1", "a3", "a4"]
    assert r1.deals["deal_id"].tolist() == ["d1", "d3"]
    assert r1.reps["rep_id"].tolist() == ["r1"]
    assert r1.activities.index.tolist() == [0, 1, 2]
    assert len(small().for_rep("nobody").activities) == 0


def test_between_end_date_includes_the_whole_day():
    data = small()
    ids = lambda d: d.activities["activity_id"].tolist()  # noqa: E731
    assert ids(data.between("2026-03-02", "2026-03-02")) == ["a2", "a3"]
    assert ids(data.between(dt.date(2026, 3, 2), dt.date(2026, 3, 2))) == ["a2", "a3"]
    assert ids(data.between(pd.Timestamp("2026-03-02"), pd.Timestamp("2026-03-02"))) == ["a2", "a3"]
    # an end with a time of day is exact and inclusive
    assert ids(data.between("2026-03-02", "2026-03-02T12:00")) == ["a2"]
    assert ids(data.between("2026-03-02", "2026-03-03T00:00:00")) == ["a2", "a3", "a4"]
    assert ids(data.between(None, "2026-03-01")) == ["a1"]
    assert ids(data.between("2026-03-03", None)) == ["a4", "a5"]
    assert ids(data.between()) == ["a1", "a2", "a3", "a4", "a5"]
    assert ids(data.between("2026-03-04", "2026-03-10")) == []


def test_between_keeps_deals_created_or_closed_in_the_span_and_all_reps():
    march2 = small().between("2026-03-02", "2026-03-02")
    assert march2.deals["deal_id"].tolist() == ["d1", "d2"]  # d1 closed, d2 created that day
    assert march2.reps["rep_id"].tolist() == ["r1", "r2"]
    assert small().between("2026-01-10", "2026-01-31").deals["deal_id"].tolist() == ["d3"]


@pytest.mark.parametrize("fmt", ["csv", "parquet", "duckdb"])
def test_save_round_trips_exactly(tmp_path, fmt):
    data = small()
    target = data.save(tmp_path / ("x.duckdb" if fmt == "duckdb" else "out"), fmt)
    back = load(target)
    for name in schema.TABLES:
        pd.testing.assert_frame_equal(back.table(name), data.table(name))
    assert back.activities["occurred_at"][2] == pd.Timestamp("2026-03-02 23:59:59.5")
    assert back.activities["notes"][3] == "line1\nline2"
    assert back.deals["amount"][2] == 1e-7


def test_csv_writer_text(tmp_path):
    data = small()
    data.activities.loc[0, "occurred_at"] = pd.Timestamp("2026-03-01 10:00:00.000000001")
    data.save(tmp_path, "csv")
    text = (tmp_path / "activities.csv").read_text(encoding="utf-8")
    deals = (tmp_path / "deals.csv").read_text(encoding="utf-8")
    reps = (tmp_path / "reps.csv").read_text(encoding="utf-8")
    back = load(tmp_path)
    # done (to-dos) is written only when some row has it: a dataset without to-dos keeps its columns
    assert text.splitlines()[0] == ",".join(c for c in schema.columns("activities") if c != "done")
    assert 'a1,r1,call,2026-03-01T10:00:00.000000001,60.0,,,"He said ""maybe"", then left",' in text
    assert 'a4,r1,email,2026-03-03T00:00:00,0.0,,,"line1\nline2",' in text
    assert "d1,r1,,2026-02-01T00:00:00,2026-03-02T18:00:00,,100.0,,true,true" in deals
    assert "d2,r2,,2026-03-02T10:00:00,,,,,,false" in deals
    assert 'r1,"Ann, Jr.",,,,2025-01-01,' in reps
    assert back.activities["occurred_at"][0] == pd.Timestamp("2026-03-01 10:00:00.000000001")


def test_csv_lone_carriage_return_survives(tmp_path):
    data = small()
    data.activities.loc[1, "notes"] = "a\rb"
    back = load(data.save(tmp_path, "csv"))
    assert back.activities["notes"][1] == "a\rb"
    pd.testing.assert_frame_equal(back.activities, data.activities)


def test_save_switching_format_leaves_one_dataset(tmp_path):
    data = small()
    data.save(tmp_path, "csv")
    data.save(tmp_path, "parquet")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "activities.parquet",
        "deals.parquet",
        "playbook.toml",
        "reps.parquet",
    ]


def test_save_duckdb_tables_and_playbook(tmp_path):
    path = small().save(tmp_path / "sales.duckdb", "duckdb")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sales.duckdb"]  # no temp or WAL files left
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
        assert tables == {"activities", "reps", "deals", "playbook"}
        assert con.execute("select count(*) from activities").fetchall() == [(5,)]
        toml = con.execute("select toml from playbook").fetchall()
    finally:
        con.close()
    assert toml == [(Playbook.default().text,)]
    # saving again replaces the file atomically
    small().for_rep("r2").save(path, "duckdb")
    assert len(load(path).activities) == 2


def test_save_rejects_bad_format_and_folder_for_duckdb(tmp_path):
    with pytest.raises(ValueError, match="format must be one of"):
        small().save(tmp_path, "xlsx")
    with pytest.raises(ValueError, match="is a folder"):
        small().save(tmp_path, "duckdb")


def test_save_keeps_non_utc_playbook(tmp_path):
    pb = Playbook.from_text('timezone = "America/New_York"\n')
    data = SalesData.from_frames(small().activities, small().reps, playbook=pb)
    for target, fmt in ((tmp_path / "c", "csv"), (tmp_path / "p.duckdb", "duckdb")):
        back = load(data.save(target, fmt))
        assert back.playbook.timezone == "America/New_York"
        pd.testing.assert_frame_equal(back.activities, data.activities)
