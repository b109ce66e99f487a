"""What the batch reads to choose reps and the window: two columns of the activities, a batch of rows at a time.

By hand on small files (Parquet, CSV, DuckDB; spaces around ids, UTC offsets, timezone-aware
timestamps, missing values), then a property: on any dataset, choosing from the (rep, day) pairs
gives the window, the reps and the skip reasons that the full dataset gives.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coachkit import SalesData, active_days, batch
from coachkit.active_days import rep_days
from coachkit.load import DataError

REPS_CSV = "rep_id,name,team,role\nR1,Ann,East,SDR\nR2,Bob,East,SDR\nR3,Cy,West,AE\n"
BERLIN = 'timezone = "Europe/Berlin"\n'


def _folder(tmp_path: Path, activities: str, playbook: str | None = None) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "reps.csv").write_text(REPS_CSV, encoding="utf-8")
    (folder / "activities.csv").write_text(activities, encoding="utf-8")
    if playbook:
        (folder / "playbook.toml").write_text(playbook, encoding="utf-8")
    return folder


def _pairs(frame: pd.DataFrame) -> list[tuple[str, str]]:
    return [(r, f"{d:%Y-%m-%d}") for r, d in zip(frame["rep_id"], frame["day"], strict=True)]


def test_csv_days_by_hand(tmp_path: Path) -> None:
    # the columns out of order, a header with spaces around a name, ids with spaces around them, a
    # repeated day, an offset that moves the time to the next day in Berlin, a missing time, a blank id
    folder = _folder(
        tmp_path,
        "activity_id, occurred_at ,activity_type,rep_id\n"
        "a1,2024-06-17 09:00,call, R1\n"
        "a2,2024-06-17 15:00,call,R1 \n"
        "a3,2024-06-17T23:30:00Z,call,R2\n"  # 01:30 on the 18th in Berlin (summer time, UTC+2)
        "a4,,call,R3\n"
        "a5,2024-06-20,meeting,\n"
        "a6,2024-06-20,meeting,R3\n",
        BERLIN,
    )
    assert _pairs(active_days.active_days(folder)) == [("R1", "2024-06-17"), ("R2", "2024-06-18"), ("R3", "2024-06-20")]
    # without the playbook's timezone the same instant is on the 17th (UTC, the default playbook's)
    (folder / "playbook.toml").unlink()
    assert ("R2", "2024-06-17") in _pairs(active_days.active_days(folder))


def test_parquet_days_by_hand_with_timezone_aware_times_and_numeric_ids(tmp_path: Path) -> None:
    folder = _folder(tmp_path, "activity_id,rep_id,activity_type,occurred_at\n", BERLIN)
    (folder / "activities.csv").unlink()
    times = pd.to_datetime(["2024-06-17 21:59", "2024-06-17 22:00", "2024-06-30 10:00", None], utc=True)
    table = pa.table(
        {
            "activity_id": ["a1", "a2", "a3", "a4"],
            "rep_id": [7.0, 7.0, 8.0, 9.0],  # whole floats: read as "7", "8" (as the loader reads them)
            "activity_type": ["call"] * 4,
            "occurred_at": pa.array(times, type=pa.timestamp("ns", tz="UTC")),
        }
    )
    pq.write_table(table, folder / "activities.parquet", row_group_size=2)
    got = active_days.active_days(folder)
    # 21:59 UTC is 23:59 in Berlin, 22:00 UTC is midnight: the next day
    assert _pairs(got) == [("7", "2024-06-17"), ("7", "2024-06-18"), ("8", "2024-06-30")]
    assert str(got["day"].dtype) == "datetime64[ns]"


def test_batches_are_merged_without_duplicates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(active_days, "BATCH_ROWS", 2)  # the same rep and day in several batches
    rows = "".join(f"a{i},R1,call,2024-06-{17 + i % 2} 10:00\n" for i in range(7))
    folder = _folder(tmp_path, "activity_id,rep_id,activity_type,occurred_at\n" + rows)
    assert _pairs(active_days.active_days(folder)) == [("R1", "2024-06-17"), ("R1", "2024-06-18")]
    SalesData.from_frames(
        pd.DataFrame(
            {
                "activity_id": [f"a{i}" for i in range(7)],
                "rep_id": ["R1"] * 7,
                "activity_type": ["call"] * 7,
                "occurred_at": pd.to_datetime([f"2024-06-{17 + i % 2} 10:00" for i in range(7)]),
            }
        ),
        pd.DataFrame({"rep_id": ["R1"]}),
    ).save(tmp_path / "pq", "parquet")
    assert _pairs(active_days.active_days(tmp_path / "pq")) == [("R1", "2024-06-17"), ("R1", "2024-06-18")]


def test_duckdb_days_by_hand(tmp_path: Path) -> None:
    path = tmp_path / "crm.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create table reps (rep_id varchar, team varchar)")
        con.execute("insert into reps values ('R1', 'East'), ('R2', 'East')")
        con.execute(
            "create table activities (activity_id varchar, rep_id varchar, activity_type varchar, occurred_at varchar)"
        )
        con.execute(
            "insert into activities values ('a1', ' R1', 'call', '2024-06-17 09:00'),"
            " ('a2', 'R2', 'call', '2024-06-17T23:30:00+00:00'), ('a3', 'R2', 'call', '2024-06-19')"
        )
        con.execute("create table playbook (toml varchar)")
        con.execute("insert into playbook values (?)", [BERLIN])
    assert _pairs(active_days.active_days(path)) == [("R1", "2024-06-17"), ("R2", "2024-06-18"), ("R2", "2024-06-19")]


def test_unreadable_activities_give_the_validation_report(tmp_path: Path) -> None:
    folder = _folder(tmp_path, "activity_id,rep,activity_type,occurred_at\na1,R1,call,2024-06-17\n")
    with pytest.raises(DataError, match="rep_id"):
        rep_days(folder)
    (folder / "activities.csv").write_bytes(
        b"activity_id,rep_id,activity_type,occurred_at\na1,R\xe91,call,2024-06-17\n"
    )
    with pytest.raises(DataError, match="not UTF-8"):
        rep_days(folder)


def test_a_bad_reps_table_is_the_loaders_error(tmp_path: Path) -> None:
    folder = _folder(tmp_path, "activity_id,rep_id,activity_type,occurred_at\na1,R1,call,2024-06-17\n")
    (folder / "reps.csv").write_text("name\nAnn\n", encoding="utf-8")
    with pytest.raises(DataError, match="rep_id"):
        rep_days(folder)


# ---------------------------------------------------------------- the same choice as from the whole dataset

REP_IDS = ["R1", "R2", " R3", "R4"]
_acts = st.lists(
    st.tuples(
        st.sampled_from(REP_IDS),
        st.datetimes(
            min_value=pd.Timestamp("2024-05-01").to_pydatetime(), max_value=pd.Timestamp("2024-07-31").to_pydatetime()
        ),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    acts=_acts,
    as_of=st.one_of(
        st.none(), st.dates(min_value=pd.Timestamp("2024-05-01").date(), max_value=pd.Timestamp("2024-08-10").date())
    ),
    weeks=st.integers(1, 6),
    fmt=st.sampled_from(["parquet", "csv"]),
)
def test_choosing_from_rep_days_is_choosing_from_the_whole_dataset(tmp_path_factory, acts, as_of, weeks, fmt) -> None:
    reps = pd.DataFrame(
        {
            "rep_id": ["R1", "R2", "R3", "R4", "R5"],
            "team": ["East", "East", "West", "West", "West"],
            "hired_at": pd.to_datetime(["2020-01-01", None, "2024-06-01", None, "2024-09-01"]),
            "left_at": pd.to_datetime([None, "2024-06-10", None, None, None]),
        }
    )
    frame = pd.DataFrame(
        {
            "activity_id": [f"a{i}" for i in range(len(acts))],
            "rep_id": [r for r, _ in acts],
            "activity_type": "call",
            "occurred_at": pd.to_datetime([t for _, t in acts]),
        }
    )
    folder = tmp_path_factory.mktemp("d")
    SalesData.from_frames(frame, reps).save(folder, fmt)
    full = batch.load_dataset(folder)
    small = rep_days(folder)
    as_of = None if as_of is None else as_of.isoformat()
    window = batch.review_window(full.activities, as_of, weeks)
    assert batch.review_window(small.activities, as_of, weeks) == window
    for chosen, teams in (([], []), (["R4", "R9"], []), ([], ["West"])):
        assert batch._plan(small, window, chosen, teams) == batch._plan(full, window, chosen, teams)


def test_the_batch_does_not_import_dask() -> None:
    code = (
        "import sys, coachkit, coachkit.batch, coachkit.cli, coachkit.review_cli\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed', 'fsspec', 'bokeh')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
