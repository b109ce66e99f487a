"""The fast path of validation (:mod:`coachkit.parquet_check`) against the full one.

A clean Parquet dataset is checked in place (DuckDB aggregates, activity ids row group by row group) and its
activities are kept as the file (:class:`coachkit.parquet_activities.ParquetActivities`); every kind of problem the full validation
reports must make the fast path decline, so that the report is the same either way. Each case below breaks
one rule in an otherwise clean dataset (or changes a value that is read silently in a canonical form) and
checks that both paths give the same issues and, when loading succeeds, the same frames.
"""

from __future__ import annotations

import datetime as dt
import pickle

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from coachkit import duck, kpi_sql, kpi_table
from coachkit.checks import DistinctStream, blank_text, surely_distinct
from coachkit.kpis import kpi_columns
from coachkit.load import _run, load
from coachkit.parquet_activities import DatasetChanged
from coachkit.sample import sample, write_sample


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clean")
    sample(reps=4, weeks=2).save(folder, "parquet")
    return folder


def _mutated(clean, tmp_path, change, **write) -> tuple:
    acts = pq.read_table(clean / "activities.parquet").to_pandas()
    for name in ("reps.parquet", "deals.parquet", "playbook.toml"):
        (tmp_path / name).write_bytes((clean / name).read_bytes())
    change(acts)
    pq.write_table(pa.Table.from_pandas(acts, preserve_index=False), tmp_path / "activities.parquet", **write)
    return _run(tmp_path, None), _run(tmp_path, None, fast=False)


def _first(acts, kind):
    return acts.index[acts["activity_type"] == kind][0]


def _set(column, value, kind="call"):
    def change(acts):
        acts[column] = acts[column].astype(object)
        acts.loc[_first(acts, kind), column] = value

    return change


BAD = {
    "unknown type": _set("activity_type", "fax"),
    "outcome not for the type": _set("outcome", "held"),
    "unknown outcome": _set("outcome", "teleported"),
    "rep not in reps": _set("rep_id", "R999"),
    "rep id with spaces": _set("rep_id", "R001 "),
    "missing rep id": _set("rep_id", None),
    "blank activity id": _set("activity_id", "  "),
    "missing activity id": _set("activity_id", None),
    "duplicate id": lambda a: a.__setitem__("activity_id", a["activity_id"].where(a.index != 1, a["activity_id"][0])),
    "negative duration": _set("duration_s", -5.0),
    "infinite duration": _set("duration_s", np.inf),
    "score out of range": _set("feedback_score", 7.0),
    "unknown direction": _set("direction", "sideways"),
    "future timestamp": _set("occurred_at", pd.Timestamp("2099-01-05 10:00")),
    "before hired_at": _set("occurred_at", pd.Timestamp("2001-01-05 10:00")),
    "missing timestamp": _set("occurred_at", pd.NaT),
    "in the DST gap": _set("occurred_at", pd.Timestamp("2026-03-29 01:30")),
}

SILENT = {  # read in canonical form without an issue: the fast path must give the same frames
    "type in capitals": _set("activity_type", "CALL"),
    "outcome label mapped": _set("outcome", "no answer"),
    "empty notes": _set("notes", ""),
    "empty account": _set("account_id", ""),
    "NaN score": _set("feedback_score", np.nan),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_fast_path_declines_every_problem(clean, tmp_path, name):
    (fast_report, fast), (slow_report, slow) = _mutated(clean, tmp_path, BAD[name])
    assert slow_report.issues, f"{name}: the case must break a rule"
    assert [str(i) for i in fast_report.issues] == [str(i) for i in slow_report.issues]
    assert fast is None or fast.activity_file() is None


def _set_last(column, value):
    def change(acts):
        acts[column] = acts[column].astype(object)
        acts.loc[acts.index[-2], column] = value

    return change


LATE = {  # in the last of many row groups, read two at a time (``parquet_check._IdPass``)
    "blank activity id": _set_last("activity_id", " \u00a0"),
    "missing activity id": _set_last("activity_id", None),
    "duplicate id": lambda a: a.__setitem__(
        "activity_id", a["activity_id"].where(a.index != len(a) - 2, a["activity_id"][3])
    ),
    "ids out of order, one repeated": lambda a: a.__setitem__(
        "activity_id", a["activity_id"].where(a.index != len(a) - 2, a["activity_id"][3]).iloc[::-1].to_numpy()
    ),
}


@pytest.mark.parametrize("name", sorted(LATE))
def test_fast_path_declines_id_problems_in_a_late_row_group(clean, tmp_path, name):
    (fast_report, fast), (slow_report, _) = _mutated(clean, tmp_path, LATE[name], row_group_size=9)
    assert pq.ParquetFile(tmp_path / "activities.parquet").num_row_groups > 10
    assert slow_report.issues, f"{name}: the case must break a rule"
    assert [str(i) for i in fast_report.issues] == [str(i) for i in slow_report.issues]
    assert fast is None or fast.activity_file() is None


def test_fast_path_takes_clean_ids_in_many_row_groups_in_any_order(clean, tmp_path):
    reverse = lambda a: a.__setitem__("activity_id", a["activity_id"].iloc[::-1].to_numpy())  # noqa: E731
    for change in (lambda a: None, reverse):
        (fast_report, fast), (slow_report, slow) = _mutated(clean, tmp_path, change, row_group_size=9)
        assert not fast_report.issues and not slow_report.issues
        assert fast.activity_file() is not None
        pd.testing.assert_frame_equal(fast.activities, slow.activities, check_exact=True)


@pytest.mark.parametrize(
    ("ids", "proved"),
    [
        (["A1", "A2", "Z9"], True),
        (["!x", "~y"], True),  # 0x21 and 0x7E: printable, not space
        (["", "A"], False),  # empty
        ([" A", "B"], False),  # may be all spaces
        (["A", "\u00a0"], False),  # a multi-byte first character (here: a no-break space)
        (["A", "\x7f"], False),
        (["\tA", "B"], False),
        ([None, "A"], False),  # missing
        ([None, None], False),
    ],
)
def test_row_group_statistics_prove_ids_present_only_when_they_can(tmp_path, ids, proved):
    from coachkit.parquet_check import _ids_surely_present

    path = tmp_path / "ids.parquet"
    pq.write_table(pa.table({"activity_id": pa.array(ids, pa.string())}), path)
    assert _ids_surely_present(pq.ParquetFile(path).metadata.row_group(0), "activity_id") is proved
    pq.write_table(pa.table({"activity_id": pa.array(ids, pa.string())}), path, write_statistics=False)
    assert _ids_surely_present(pq.ParquetFile(path).metadata.row_group(0), "activity_id") is False


def test_scans_stop_when_another_table_has_a_problem(clean, tmp_path):
    import threading

    from coachkit import parquet_check

    for name in ("activities.parquet", "deals.parquet", "playbook.toml"):
        (tmp_path / name).write_bytes((clean / name).read_bytes())
    reps = pq.read_table(clean / "reps.parquet").to_pandas()
    reps.loc[1, "rep_id"] = reps.loc[0, "rep_id"]  # a repeated rep: an error in the reps table
    pq.write_table(pa.Table.from_pandas(reps, preserve_index=False), tmp_path / "reps.parquet")
    started = []
    real = parquet_check.start
    parquet_check.start = lambda *a, **k: started.append(real(*a, **k)) or started[-1]
    try:
        report, data = _run(tmp_path, None)
    finally:
        parquet_check.start = real
    assert started and started[0] is not None  # the scans began before the reps table was judged
    assert data is None and any("rep_id" in str(i) for i in report.issues)
    scans = [t for t in threading.enumerate() if isinstance(t, (parquet_check._IdPass, parquet_check._AggregatePass))]
    assert not scans
    assert not any(t.name.startswith("coachkit-ids") for t in threading.enumerate())


@pytest.mark.parametrize("name", sorted(SILENT))
def test_fast_path_reads_canonical_forms_like_the_full_path(clean, tmp_path, name):
    (fast_report, fast), (slow_report, slow) = _mutated(clean, tmp_path, SILENT[name])
    assert not fast_report.issues and not slow_report.issues
    assert fast.activity_file() is not None
    pd.testing.assert_frame_equal(fast.activities, slow.activities, check_exact=True)
    pd.testing.assert_frame_equal(kpi_table(fast), kpi_table(slow))


def test_copies_make_the_fast_path_decline(clean, tmp_path):
    acts = pq.read_table(clean / "activities.parquet").to_pandas()
    calls = acts[acts["activity_type"] == "call"].head(50).copy()
    calls["activity_id"] = calls["activity_id"] + "c"
    both = pd.concat([acts, calls], ignore_index=True)
    for name in ("reps.parquet", "deals.parquet", "playbook.toml"):
        (tmp_path / name).write_bytes((clean / name).read_bytes())
    pq.write_table(pa.Table.from_pandas(both, preserve_index=False), tmp_path / "activities.parquet")
    fast_report, fast = _run(tmp_path, None)
    slow_report, _ = _run(tmp_path, None, fast=False)
    assert any("copies" in i.message for i in slow_report.issues)
    assert [str(i) for i in fast_report.issues] == [str(i) for i in slow_report.issues]
    assert fast.activity_file() is None


def test_out_of_range_timestamps_make_the_fast_path_decline(clean, tmp_path):
    # microsecond timestamps reach years nanoseconds cannot (1678-2261): the full path reports the value
    for name in ("reps.parquet", "deals.parquet", "playbook.toml"):
        (tmp_path / name).write_bytes((clean / name).read_bytes())
    t = pq.read_table(clean / "activities.parquet")
    at = t.column("occurred_at").cast(pa.timestamp("us")).to_pylist()
    at[5] = dt.datetime(1600, 1, 5, 10)
    t = t.set_column(t.column_names.index("occurred_at"), "occurred_at", pa.array(at, pa.timestamp("us")))
    pq.write_table(t, tmp_path / "activities.parquet")
    (fast_report, fast), (slow_report, _) = _run(tmp_path, None), _run(tmp_path, None, fast=False)
    assert [str(i) for i in fast_report.issues] == [str(i) for i in slow_report.issues]
    assert any("line 7, column occurred_at (value '1600-01-05 10:00:00')" in str(i) for i in slow_report.issues)
    assert fast is None  # an error: nothing loaded


def test_load_columns_reads_only_what_the_kpis_need_and_gives_the_same_values(clean):
    simple = ["calls", "connect_rate", "active_days", "feedback_score"]
    part = load(clean, columns=kpi_columns(simple))
    # the file's columns asked for, then those asked for that it lacks (done: read as missing, as a full load does)
    assert part.columns_read == {
        "activities": ("activity_id", "rep_id", "activity_type", "occurred_at", "outcome", "feedback_score", "done")
    }
    assert part.activity_file().column_names == list(part.columns_read["activities"][:-1])
    assert part.deals.empty  # deals were not asked for
    whole = load(clean)
    pd.testing.assert_frame_equal(kpi_table(part, kpis=simple), kpi_table(whole, kpis=simple))
    with pytest.raises(ValueError, match="notes_coverage.*notes"):
        kpi_table(part, kpis=["notes_coverage"])
    with pytest.raises(ValueError, match="not a column of activities"):
        load(clean, columns=["calls"])


def test_load_columns_of_an_export_lacking_some_columns_and_the_deals_file(tmp_path):
    """A sparse export (no outcome column, no deals file): the KPIs over it agree with a load of everything."""
    acts = pd.DataFrame(
        {
            "activity_id": ["1", "2", "3", "4"],
            "rep_id": ["a", "a", "b", "b"],
            "activity_type": ["call", "call", "call", "meeting"],
            "occurred_at": ["2024-06-03", "2024-06-04", "2024-06-04", "2024-06-11"],
        }
    )
    reps = pd.DataFrame({"rep_id": ["a", "b"], "team": ["T", "T"], "role": ["SDR", "SDR"]})
    acts.to_csv(tmp_path / "activities.csv", index=False)
    reps.to_csv(tmp_path / "reps.csv", index=False)
    kpis = ["calls", "meetings", "conversations", "connect_rate", "win_rate"]
    part = load(tmp_path, columns=kpi_columns(kpis))
    assert "outcome" in part.columns_read["activities"] and "is_won" in part.columns_read["deals"]
    got = kpi_table(part, kpis=kpis)
    pd.testing.assert_frame_equal(got, kpi_table(load(tmp_path), kpis=kpis))
    calls = got[got["kpi"] == "calls"].groupby("rep_id")["value"].sum()
    assert calls.to_dict() == {"a": 2, "b": 1}  # by hand


def test_activities_stay_the_file_until_read(clean):
    data = load(clean)
    assert data.activity_file() is not None
    n = data.n_activities()
    frame = data.activities  # built now, once
    assert data.activity_file() is None and len(frame) == n and data.activities is frame


def test_surely_distinct_in_order_ids_without_a_sort():
    assert surely_distinct(pa.array(["A000000001", "A000000002", "A000000010"]))
    assert not surely_distinct(pa.array(["A000000001", "A000000002", "A000000002"]))
    assert surely_distinct(pa.array(["B2", "A1", "C3"]))  # not in order: sorted
    assert not surely_distinct(pa.array(["B2", "A1", "B2"]))
    assert not surely_distinct(pa.array(["A00000000000000001", "A00000000000000001"]))  # 18 bytes: hashed


def test_write_sample_chunks_have_unique_ids(tmp_path):
    write_sample(tmp_path, reps=7, weeks=2, chunk_reps=3)
    data = load(tmp_path)
    assert not data.warnings
    assert data.reps["rep_id"].is_unique and len(data.reps) == 7
    assert data.activities["activity_id"].is_unique and data.deals["deal_id"].is_unique
    assert data.reps["team"].str.endswith("(3)").any()


def test_reps_in_their_own_timezones_give_the_same_kpis_from_arrow_and_from_pandas(tmp_path):
    data = sample(reps=6, weeks=3)
    zones = pd.Series([None] * len(data.reps), dtype=object)
    zones[0], zones[1] = "America/New_York", "Asia/Tokyo"  # their weeks and days start hours apart
    data.reps["timezone"] = zones.astype(data.reps["rep_id"].dtype)
    data.save(tmp_path, "parquet")
    for freq in ("D", "W", "M"):
        arrow = load(tmp_path)
        assert arrow.activity_file() is not None
        frames = load(tmp_path)
        frames.activities  # noqa: B018 - built now: kpi_table takes the pandas path
        pd.testing.assert_frame_equal(kpi_table(arrow, freq=freq), kpi_table(frames, freq=freq))


# ---- the pieces of the in-place check --------------------------------------------------------------


def _pieces(stream, *pieces):
    for p in pieces:
        stream.add(pa.array(p, type=pa.string()))
    return stream


def test_distinct_stream_ordered_ids_across_pieces():
    s = _pieces(DistinctStream(), ["A01", "A02"], [None, "A03"], [])
    assert not s.restart and s.distinct
    # equal across two pieces (the second starts where the first ended): not proved, a restart is asked
    s = _pieces(DistinctStream(), ["A01", "A02"], ["A02", "A03"])
    assert s.restart and not s.distinct
    # not in order, or of another width: restart too (not a verdict)
    assert _pieces(DistinctStream(), ["A02", "A01"]).restart
    assert _pieces(DistinctStream(), ["A01"], ["A0002"]).restart


def test_distinct_stream_unordered_keeps_keys():
    assert _pieces(DistinctStream(ordered=False), ["B2", "A1"], ["C333", "A2"]).distinct
    assert not _pieces(DistinctStream(ordered=False), ["B2", "A1"], ["C3", "B2"]).distinct
    long = "x" * 20  # beyond 8 bytes: hashed keys, equal values still equal
    assert not _pieces(DistinctStream(ordered=False), [long + "1"], [long + "1"]).distinct
    assert _pieces(DistinctStream(ordered=False), [long + "1"], [long + "2"]).distinct
    assert _pieces(DistinctStream(ordered=False), ["", "a"]).distinct
    assert not _pieces(DistinctStream(ordered=False), ["", ""]).distinct


def test_blank_text_empty_whitespace_and_null():
    got = blank_text(pa.array(["a", "", "  ", "\u00a0", " b", None, "\u2003x", "\t\n"]))
    assert got.tolist() == [False, True, True, True, False, True, False, True]
    assert blank_text(pa.array(["x", " "]).dictionary_encode()).tolist() == [False, True]


def test_loaded_file_is_pinned(clean, tmp_path):
    for f in clean.iterdir():
        (tmp_path / f.name).write_bytes(f.read_bytes())
    data = load(tmp_path)
    held = data.activity_file()
    expected = pq.read_table(clean / "activities.parquet").num_rows
    assert held is not None and held.num_rows == expected
    # a new export replacing the file under the same name does not change what was loaded
    (tmp_path / "activities.parquet").unlink()
    pq.write_table(pq.read_table(clean / "activities.parquet").slice(0, 10), tmp_path / "activities.parquet")
    assert len(kpi_table(data)) == len(kpi_table(load(clean)))
    assert len(data.activities) == expected


def test_file_changed_in_place_after_load_is_refused(clean, tmp_path):
    for f in clean.iterdir():
        (tmp_path / f.name).write_bytes(f.read_bytes())
    data = load(tmp_path)
    with open(tmp_path / "activities.parquet", "ab") as fh:  # the same file, written to
        fh.write(b"\0")
    with pytest.raises(DatasetChanged, match="activities.parquet.*load the dataset again"):
        kpi_table(data)


def test_held_activities_survive_pickling(clean):
    data = load(clean)
    again = pickle.loads(pickle.dumps(data))
    assert again.activity_file() is not None
    pd.testing.assert_frame_equal(kpi_table(again), kpi_table(data))


def test_time_bounds_kept_from_the_check_are_the_queried_ones(clean, tmp_path):
    from coachkit.parquet_activities import ParquetActivities

    held = load(clean).activity_file()
    assert held.bounds is not None
    again = pickle.loads(pickle.dumps(held))
    asked = ParquetActivities(held.path, held.columns, rows=held.rows, not_done=held.not_done)  # no bounds: queried
    assert held.time_bounds() == again.time_bounds() == asked.time_bounds()
    assert asked.time_bounds()[0] < asked.time_bounds()[1]
    # with to-dos not done, the performed rows' bounds are queried: the earliest row is a to-do here
    acts = pq.read_table(clean / "activities.parquet").to_pandas()
    first = acts["occurred_at"].idxmin()
    acts["done"] = pd.array([pd.NA] * len(acts), dtype="boolean")
    acts.loc[first, ["activity_type", "outcome", "done"]] = ["task", None, False]
    for name in ("reps.parquet", "deals.parquet", "playbook.toml"):
        (tmp_path / name).write_bytes((clean / name).read_bytes())
    pq.write_table(pa.Table.from_pandas(acts, preserve_index=False), tmp_path / "activities.parquet")
    todo = load(tmp_path).activity_file()
    assert todo is not None and todo.not_done == 1
    assert todo.time_bounds()[0] == acts["occurred_at"].min().to_datetime64()
    performed = acts.drop(index=first)["occurred_at"]
    assert todo.performed().time_bounds() == (performed.min().to_datetime64(), performed.max().to_datetime64())


@pytest.mark.parametrize("freq", ["D", "W", "M"])
def test_next_touches_in_buckets_of_reps_give_the_same_kpis(clean, monkeypatch, freq):
    # a large dataset joins each conversation to its next touch bucket by bucket of reps: the same values
    follow = ["follow_up_24h_rate"]
    data = load(clean)
    reps = list(data.reps["rep_id"][1:])
    start = data.activities["occurred_at"].min() + pd.Timedelta(days=4)
    want = kpi_table(data, freq=freq, kpis=follow)
    want_some = kpi_table(data, freq=freq, kpis=follow, reps=reps, start=start)
    assert want["numerator"].sum() > 0 and want["denominator"].sum() > want["numerator"].sum()
    assert 0 < want_some["denominator"].sum() < want["denominator"].sum()
    views = []
    query = kpi_sql._next_touch_query
    monkeypatch.setattr(kpi_sql, "_next_touch_query", lambda view, *a: views.append(view) or query(view, *a))
    monkeypatch.setattr(kpi_sql, "ASOF_ROWS", 300)  # 2,147 activities: 8 buckets for 4 reps, some empty
    for to_pandas in (False, True):
        again = load(clean)
        if to_pandas:
            again.activities  # noqa: B018 - read into pandas: KPIs then scan an Arrow copy, not the file
        pd.testing.assert_frame_equal(kpi_table(again, freq=freq, kpis=follow), want)
        pd.testing.assert_frame_equal(kpi_table(again, freq=freq, kpis=follow, reps=reps, start=start), want_some)
    assert len(views) == 4 * 8 and all(f"hash(rep_id) % 8 = {i % 8}" in v for i, v in enumerate(views))


def test_next_touches_on_a_shared_hash_join_on_the_strings(clean, monkeypatch):
    # The join runs on a hash of (rep, account); when two pairs share a hash, a touch of the other pair can be
    # found first. Every pair given one hash: the check sees it and the join on the strings gives the values.
    follow = ["follow_up_24h_rate"]
    data = load(clean)
    want = kpi_table(data, kpis=follow)
    assert want["denominator"].sum() > want["numerator"].sum() > 0
    query = kpi_sql._next_touch_query
    ran = []

    def colliding(view, *a, hashed=True):
        ran.append(hashed)
        return query(view, *a, hashed=hashed).replace("hash(rep_id, account_id) AS k", "0::UBIGINT AS k")

    monkeypatch.setattr(kpi_sql, "_next_touch_query", colliding)
    pd.testing.assert_frame_equal(kpi_table(load(clean), kpis=follow), want)
    assert ran == [True, False]
    # without the fallback the shared hash would give other values: the check is what keeps them right
    monkeypatch.setattr(kpi_sql, "_next_touch_query", lambda view, *a, hashed=True: colliding(view, *a))
    ran.clear()
    wrong = kpi_table(load(clean), kpis=follow)
    assert ran == [True, True] and not wrong["numerator"].equals(want["numerator"])


def test_next_touches_hashed_and_on_strings_agree(clean):
    data = load(clean)
    acts = data.activity_file()
    first, end = np.datetime64("2000-01-01"), np.datetime64("2100-01-01")
    cur = duck.cursor()
    try:
        source, columns = kpi_sql._source(cur, acts)
        view = kpi_sql.activity_view(
            columns, only=("rep_id", "activity_type", "outcome", "occurred_at", "account_id"), source=source
        )
        args = (view, "W", f"{kpi_sql._window(first, end)} AND TRUE", "'call', 'meeting', 'email', 'follow_up'")
        hashed = cur.sql(kpi_sql._next_touch_query(*args)).df()
        strings = cur.sql(kpi_sql._next_touch_query(*args, hashed=False)).df()
    finally:
        cur.close()
    assert len(hashed) > 100 and not hashed["other"].any() and (hashed["t_next"] > hashed["t"]).any()
    key = ["rep_id", "t", "t_next"]
    pd.testing.assert_frame_equal(
        hashed[key].sort_values(key).reset_index(drop=True), strings[key].sort_values(key).reset_index(drop=True)
    )


def _file_statistics(tmp_path, table, **write):
    from coachkit.parquet_activities import ParquetActivities
    from coachkit.parquet_check import _from_statistics, _scan_statistics

    path = tmp_path / "activities.parquet"
    pq.write_table(table, path, **write)
    types = {f.name: f.type for f in table.schema}
    acts = ParquetActivities.from_file(path, {c: c for c in table.column_names}, types)
    floats = [c for c in ("duration_s", "feedback_score") if c in table.column_names]
    scanned = _scan_statistics(acts, floats)
    return _from_statistics(acts, floats), scanned[:4] + tuple(
        bool(v) if i % 3 == 2 else v for i, v in enumerate(scanned[4:])
    )


@pytest.mark.parametrize("unit", ["ms", "us", "ns"])
def test_counts_and_ranges_from_the_file_statistics_are_the_scanned_ones(tmp_path, unit):
    # three row groups of 4: one all missing, NaN (missing when read), integer durations, and an infinity
    nan, inf = float("nan"), float("inf")
    at = [dt.datetime(2026, 3, 2, 9, 0, 0, 1000), None, dt.datetime(2026, 3, 1, 8), dt.datetime(2026, 3, 9, 17)] * 3
    cases = {
        "plain": ([30, None, 0, 12] * 3, [nan, 4.5, None, 1.0] + [None] * 4 + [2.0, nan, 5.0, 3.0]),
        "infinity": ([30, None, 0, 12] * 3, [nan, 4.5, None, 1.0] * 2 + [inf, 2.0, 3.0, nan]),
        "all missing": ([None] * 12, [nan] * 4 + [None] * 8),
    }
    for name, (duration, score) in cases.items():
        table = pa.table(
            {
                "occurred_at": pa.array(at, pa.timestamp(unit)),
                "duration_s": pa.array(duration, pa.int64()),
                "feedback_score": pa.array(score, pa.float64()),
            }
        )
        read, scanned = _file_statistics(tmp_path, table, row_group_size=4)
        if name == "all missing":  # a row group of NaN only has no min/max: the scan answers
            assert read is None, name
            continue
        assert read == scanned, name
        assert read[:4] == (
            12,
            9,
            int(pd.Timestamp("2026-03-01 08:00").value),
            int(pd.Timestamp("2026-03-09 17:00").value),
        )
        assert read[4:7] == (0.0, 30.0, False)
    assert _file_statistics(tmp_path, table, write_statistics=False)[0] is None  # no statistics: scanned
