"""Benchmark: ``coachkit.load`` + ``kpi_table`` (all built-in KPIs, weekly) against equivalent DuckDB SQL.

Run from the repository root::

    python benchmarks/bench_kpis.py                # sample(reps=500, weeks=52), about 8M activities
    python benchmarks/bench_kpis.py --reps 50 --weeks 12

The sample dataset is generated once into a cache folder (``--cache``, default
``$COACHKIT_BENCH_CACHE`` or ``<tmp>/coachkit-bench``) as Parquet. Each side then
runs in its own fresh Python process, so that each peak RSS is its own:

- **coachkit**: ``coachkit.load(folder, columns=kpi_columns(kpis))`` (validation included: every column read is
  checked) + ``kpi_table(data, kpis=kpis)``, weekly, for the same KPIs as the SQL; and, for reference, the full
  ``load(folder)`` + every built-in KPI (21: a superset of the 18, with ``activity_score``);
- **duckdb**: one SQL query over the same Parquet files computing the same KPIs
  per rep and week on the same grid (all except ``activity_score``, whose working
  days, holidays and ramp are playbook logic), fetched as a pandas DataFrame.

The two sides alternate (duckdb, coachkit, duckdb, coachkit, ...) for ``--repeat``
rounds (default: 1 for the 8M-activity case, 3 for smaller ones) and the median of
each side counts, so that a noisy, shared machine slows both alike. It prints both
times, the ratio (target: coachkit <= 1.5x DuckDB, issue 17), each peak RSS (target: <= 4 GB),
the machine's load average and whether every value agrees.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from common import CACHE, child, peak_rss_bytes  # benchmarks/common.py

#: KPIs the SQL computes (every built-in except activity_score).
SQL_KPIS = (
    "activities",
    "calls",
    "meetings",
    "emails",
    "follow_ups",
    "active_days",
    "talk_time_h",
    "conversations",
    "outcome_logged_rate",
    "connect_rate",
    "meeting_show_rate",
    "follow_up_24h_rate",
    "notes_coverage",
    "feedback_score",
    "deals_created",
    "pipeline_created",
    "win_rate",
    "cycle_days",
)

SQL = r"""
WITH a AS (
  SELECT rep_id, activity_type AS ty, outcome, occurred_at, duration_s, notes, feedback_score, account_id,
         date_trunc('week', occurred_at) AS ps,
         (activity_type = 'call' AND outcome = 'connected') OR (activity_type = 'meeting' AND outcome = 'held') AS conv
  FROM read_parquet('{folder}/activities.parquet')
),
-- the working-time clock: working days (weekdays minus holidays), whole days by default
days AS (
  SELECT d::DATE AS day,
         isodow(d) IN ({workdays}) AND d::DATE NOT IN ({holidays}) AS work
  FROM (SELECT unnest(generate_series((SELECT min(occurred_at)::DATE FROM a) - 1,
                                      (SELECT max(occurred_at)::DATE FROM a) + 1, INTERVAL 1 DAY)) AS d)
),
cal AS (
  SELECT day, work, (count(*) FILTER (WHERE work) OVER (ORDER BY day) - work::INT) AS before FROM days
),
wt AS (SELECT epoch_ns(max(occurred_at)) AS t_end FROM a),
touch AS (
  SELECT rep_id, account_id, occurred_at FROM a
  WHERE ty IN ('call', 'meeting', 'email', 'follow_up') AND account_id IS NOT NULL
),
conv AS (
  SELECT c.rep_id, c.ps, c.occurred_at AS t, t.occurred_at AS t_next
  FROM (SELECT * FROM a WHERE conv AND account_id IS NOT NULL) c
  ASOF LEFT JOIN touch t
    ON c.rep_id = t.rep_id AND c.account_id = t.account_id AND t.occurred_at > c.occurred_at
),
clock AS (  -- working time of an instant, ns: working days before its day, plus the time into a working day
  SELECT conv.rep_id, conv.ps,
    c1.before * {span} + CASE WHEN c1.work THEN least(greatest(epoch_ns(t) % 86400000000000 - {h0}, 0), {span})
                              ELSE 0 END AS w,
    c2.before * {span} + CASE WHEN c2.work THEN least(greatest(epoch_ns(t_next) % 86400000000000 - {h0}, 0), {span}) ELSE 0 END AS w_next
  FROM conv JOIN cal c1 ON c1.day = t::DATE LEFT JOIN cal c2 ON c2.day = t_next::DATE
),
wend AS (
  SELECT c.before * {span} + CASE WHEN c.work THEN least(greatest(t_end % 86400000000000 - {h0}, 0), {span}) ELSE 0 END AS w_end
  FROM wt JOIN cal c ON c.day = make_timestamp(t_end // 1000)::DATE
),
fu AS (  -- conversations whose 24 working hours have passed by the data's end; followed within them
  SELECT rep_id, ps, count(*) AS fu_den, count(*) FILTER (WHERE w_next - w <= {window}) AS fu_num
  FROM clock, wend WHERE w + {window} <= w_end GROUP BY ALL
),
agg AS (
  SELECT rep_id, ps,
    count(*) AS activities,
    count(*) FILTER (WHERE ty = 'call') AS calls,
    count(*) FILTER (WHERE ty = 'meeting') AS meetings,
    count(*) FILTER (WHERE ty = 'email') AS emails,
    count(*) FILTER (WHERE ty = 'follow_up') AS follow_ups,
    count(DISTINCT CAST(occurred_at AS DATE)) AS active_days,
    coalesce(sum(duration_s) FILTER (WHERE conv), 0) / 3600 AS talk_time_h,
    count(*) FILTER (WHERE conv) AS conversations,
    count(*) FILTER (WHERE ty = 'call' AND outcome IS NOT NULL) AS calls_logged,
    count(*) FILTER (WHERE ty = 'call' AND outcome = 'connected') AS connected,
    count(*) FILTER (WHERE ty = 'meeting' AND outcome = 'held') AS held,
    count(*) FILTER (WHERE ty = 'meeting' AND outcome IN ('held', 'no_show')) AS held_or_no_show,
    count(*) FILTER (WHERE conv AND regexp_matches(notes, '\S')) AS conv_noted,
    sum(feedback_score) AS fb_sum, count(feedback_score) AS fb_n
  FROM a GROUP BY ALL
),
d AS (SELECT * FROM read_parquet('{folder}/deals.parquet')),
created AS (
  SELECT rep_id, date_trunc('week', created_at) AS ps, count(*) AS deals_created,
         coalesce(sum(amount), 0) AS pipeline_created
  FROM d GROUP BY ALL
),
closed AS (
  SELECT rep_id, date_trunc('week', closed_at) AS ps,
    count(*) FILTER (WHERE is_won) AS won, count(*) FILTER (WHERE is_won IS NOT NULL) AS decided,
    sum(epoch(closed_at - created_at) / 86400.0) FILTER (WHERE is_won) AS cycle_sum
  FROM d WHERE closed_at IS NOT NULL AND coalesce(is_closed, true) GROUP BY ALL
),
{grid}
SELECT g.rep_id, g.ps AS period_start,
  coalesce(activities, 0) AS activities, coalesce(calls, 0) AS calls, coalesce(meetings, 0) AS meetings,
  coalesce(emails, 0) AS emails, coalesce(follow_ups, 0) AS follow_ups, coalesce(active_days, 0) AS active_days,
  coalesce(talk_time_h, 0) AS talk_time_h, coalesce(conversations, 0) AS conversations,
  calls_logged / nullif(calls, 0) AS outcome_logged_rate,
  connected / nullif(calls, 0) AS connect_rate,
  held / nullif(held_or_no_show, 0) AS meeting_show_rate,
  fu_num / nullif(fu_den, 0) AS follow_up_24h_rate,
  conv_noted / nullif(conversations, 0) AS notes_coverage,
  fb_sum / nullif(fb_n, 0) AS feedback_score,
  coalesce(deals_created, 0) AS deals_created, coalesce(pipeline_created, 0) AS pipeline_created,
  won / nullif(decided, 0) AS win_rate, cycle_sum / nullif(won, 0) AS cycle_days
FROM grid g
LEFT JOIN agg USING (rep_id, ps) LEFT JOIN fu USING (rep_id, ps)
LEFT JOIN created USING (rep_id, ps) LEFT JOIN closed USING (rep_id, ps)
ORDER BY 1, 2
"""

#: The rep x week grid both queries report on: every rep x every week of the data, while employed.
GRID = r"""bounds AS (SELECT min(ps) AS lo, max(ps) AS hi FROM a),
weeks AS (SELECT unnest(generate_series(lo, hi, INTERVAL 7 DAY)) AS ps FROM bounds),
r AS (SELECT * FROM read_parquet('{folder}/reps.parquet')),
grid AS (
  SELECT r.rep_id, w.ps FROM r CROSS JOIN weeks w
  WHERE (r.hired_at IS NULL OR w.ps + INTERVAL 7 DAY > r.hired_at) AND (r.left_at IS NULL OR w.ps <= r.left_at)
)"""

#: The eight simple weekly KPIs, each side computing only these.
SIMPLE_KPIS = (
    "activities",
    "calls",
    "meetings",
    "active_days",
    "connect_rate",
    "outcome_logged_rate",
    "meeting_show_rate",
    "feedback_score",
)

SIMPLE_SQL = r"""
WITH a AS (
  SELECT rep_id, activity_type AS ty, outcome, occurred_at, feedback_score, date_trunc('week', occurred_at) AS ps
  FROM read_parquet('{folder}/activities.parquet')
),
agg AS (
  SELECT rep_id, ps,
    count(*) AS activities,
    count(*) FILTER (WHERE ty = 'call') AS calls,
    count(*) FILTER (WHERE ty = 'meeting') AS meetings,
    count(DISTINCT CAST(occurred_at AS DATE)) AS active_days,
    count(*) FILTER (WHERE ty = 'call' AND outcome = 'connected') AS connected,
    count(*) FILTER (WHERE ty = 'call' AND outcome IS NOT NULL) AS calls_logged,
    count(*) FILTER (WHERE ty = 'meeting' AND outcome = 'held') AS held,
    count(*) FILTER (WHERE ty = 'meeting' AND outcome IN ('held', 'no_show')) AS held_or_no_show,
    sum(feedback_score) AS fb_sum, count(feedback_score) AS fb_n
  FROM a GROUP BY ALL
),
{grid}
SELECT g.rep_id, g.ps AS period_start,
  coalesce(activities, 0) AS activities, coalesce(calls, 0) AS calls, coalesce(meetings, 0) AS meetings,
  coalesce(active_days, 0) AS active_days,
  connected / nullif(calls, 0) AS connect_rate,
  calls_logged / nullif(calls, 0) AS outcome_logged_rate,
  held / nullif(held_or_no_show, 0) AS meeting_show_rate,
  fb_sum / nullif(fb_n, 0) AS feedback_score
FROM grid g LEFT JOIN agg USING (rep_id, ps)
ORDER BY 1, 2
"""


def full_sql(folder: Path) -> str:
    """The all-KPIs query, with the dataset's working calendar (days, hours, holidays) written in."""
    from coachkit.playbook import Playbook

    pb = Playbook.from_toml(folder / "playbook.toml") if (folder / "playbook.toml").exists() else Playbook.default()
    h0, h1 = (h * 10**9 for h in pb.working_hours)
    holidays = ", ".join(f"DATE '{h}'" for h in pb.holidays) or "NULL"
    return SQL.format(
        folder=folder.as_posix(),
        grid=GRID.format(folder=folder.as_posix()),
        workdays=", ".join(str(d + 1) for d in pb.working_days),
        holidays=holidays,
        h0=h0,
        span=h1 - h0,
        window=int(round(pb.follow_up_hours * 3600 * 10**9)),
    )


def generate(folder: Path, reps: int, weeks: int) -> None:
    from coachkit.sample import sample

    sample(reps=reps, weeks=weeks).save(folder, "parquet")


def run_coachkit(folder: Path, out: Path, kpis: tuple[str, ...] | None) -> dict[str, float]:
    # Imports are outside the timing on both sides (pandas is imported on both).
    import inspect

    import duckdb  # noqa: F401  (coachkit imports it when a query first runs; the DuckDB side imports it untimed)
    import pandas  # noqa: F401

    from coachkit import kpis as kpis_module
    from coachkit.kpis import kpi_table
    from coachkit.load import load

    # Only the columns the KPIs need, when this version of coachkit can say which.
    columns = None
    if kpis is not None and "columns" in inspect.signature(load).parameters:
        columns = kpis_module.kpi_columns(kpis)
    t0 = time.perf_counter()
    data = load(folder) if columns is None else load(folder, columns=columns)
    t1 = time.perf_counter()
    table = kpi_table(data, freq="W", kpis=list(kpis) if kpis else None)
    t2 = time.perf_counter()
    shared = kpis or SQL_KPIS
    wide = table[table["kpi"].isin(shared)].pivot(index=["rep_id", "period_start"], columns="kpi", values="value")
    wide.reset_index().to_parquet(out)
    return {"seconds": t2 - t0, "load_seconds": t1 - t0, "kpi_seconds": t2 - t1, "rows": len(table)}


def run_duckdb(folder: Path, out: Path, kpis: tuple[str, ...] | None) -> dict[str, float]:
    import duckdb
    import pandas  # noqa: F401

    query = (
        full_sql(folder)
        if kpis is None
        else SIMPLE_SQL.format(grid=GRID.format(folder=folder.as_posix()), folder=folder.as_posix())
    )
    t0 = time.perf_counter()
    con = duckdb.connect()
    frame = con.sql(query).df()
    t1 = time.perf_counter()
    frame.to_parquet(out)
    return {"seconds": t1 - t0, "rows": len(frame)}


def median_run(runs: list[dict[str, float]]) -> dict[str, float]:
    """The run with the median time (the lower middle one for an even count)."""
    return sorted(runs, key=lambda r: r["seconds"])[(len(runs) - 1) // 2]


#: KPIs whose values are sums of floats: compared to 1e-12 relative (the order of a floating sum differs
#: between engines); every other KPI must be equal exactly.
FLOAT_SUMS = ("talk_time_h", "feedback_score", "pipeline_created", "cycle_days")


def compare(coachkit_out: Path, duckdb_out: Path, kpis: tuple[str, ...]) -> list[str]:
    """Differences between the two results (empty when every grid row and value agrees)."""
    import numpy as np
    import pandas as pd

    ours = pd.read_parquet(coachkit_out)
    theirs = pd.read_parquet(duckdb_out)
    theirs["period_start"] = pd.to_datetime(theirs["period_start"]).astype("datetime64[ns]")
    theirs["rep_id"] = theirs["rep_id"].astype(ours["rep_id"].dtype)
    both = ours.merge(theirs, on=["rep_id", "period_start"], how="outer", suffixes=("", "_sql"), indicator=True)
    problems = []
    lonely = (both["_merge"] != "both").sum()
    if lonely:
        problems.append(f"{lonely} rep-weeks are on only one side's grid")
    for k in kpis:
        a = both[k].to_numpy(dtype="float64", na_value=np.nan)
        b = both[f"{k}_sql"].to_numpy(dtype="float64", na_value=np.nan)
        if k in FLOAT_SUMS:
            bad = ~np.isclose(a, b, rtol=1e-12, atol=0, equal_nan=True)
        else:
            bad = ~((a == b) | (np.isnan(a) & np.isnan(b)))
        if bad.any():
            i = np.flatnonzero(bad)[0]
            problems.append(f"{k}: {bad.sum()} values differ, e.g. {a[i]!r} vs {b[i]!r}")
    return problems


#: The sides timed: DuckDB's queries; coachkit on the same KPIs (``load(columns=...)`` of the columns those KPIs need,
#: then ``kpi_table(kpis=...)``); and coachkit's full ``load`` + every built-in KPI (a superset: 21, activity_score
#: included), printed for reference and as the figure recorded before 2026-11-30 session 3.
SIDES = ("duckdb", "coachkit", "duckdb-simple", "coachkit-simple", "coachkit-every")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reps", type=int, default=500)
    p.add_argument("--weeks", type=int, default=52)
    p.add_argument("--cache", type=Path, default=CACHE)
    p.add_argument("--repeat", type=int, help="rounds of every side; the median counts (default 1, or 3 when small)")
    p.add_argument("--side", choices=[*SIDES, "generate"], help=argparse.SUPPRESS)
    args = p.parse_args()
    folder = args.cache / f"sample-{args.reps}x{args.weeks}"

    if args.side:  # a child process: do one thing, print one JSON line
        if args.side == "generate":
            generate(folder, args.reps, args.weeks)
            print(json.dumps({}))
            return
        if args.side.startswith("coachkit"):
            kpis = {"coachkit": SQL_KPIS, "coachkit-simple": SIMPLE_KPIS, "coachkit-every": None}[args.side]
            result = run_coachkit(folder, args.cache / f"result-{args.side}.parquet", kpis)
        else:
            kpis = SIMPLE_KPIS if args.side.endswith("simple") else None
            result = run_duckdb(folder, args.cache / f"result-{args.side}.parquet", kpis)
        result["peak_rss"] = peak_rss_bytes()
        print(json.dumps(result))
        return

    base = ["--reps", str(args.reps), "--weeks", str(args.weeks), "--cache", str(args.cache)]
    if not (folder / "activities.parquet").exists():
        print(f"generating sample(reps={args.reps}, weeks={args.weeks}) into {folder} ...", flush=True)
        child(__file__, [*base, "--side", "generate"])
    repeat = args.repeat or (1 if args.reps * args.weeks > 5000 else 3)
    runs: dict[str, list[dict[str, float]]] = {side: [] for side in SIDES}
    loads = []
    for _ in range(repeat):
        for side in SIDES:
            runs[side].append(child(__file__, [*base, "--side", side]))
            loads.append(os.getloadavg()[0])
    best = {side: median_run(rs) for side, rs in runs.items()}
    gb = 1024**3
    print(f"dataset: {folder} ({best['duckdb']['rows']:,} rep-weeks)")
    print(
        f"median of {repeat} alternating run(s) per side; load average (1 min) {min(loads):.1f}-{max(loads):.1f} "
        f"during the runs, on {os.cpu_count()} CPUs"
    )
    failed = False
    for title, ck_side, db_side, kpis in (
        (f"all {len(SQL_KPIS)} shared KPIs", "coachkit", "duckdb", SQL_KPIS),
        (f"the {len(SIMPLE_KPIS)} simple KPIs", "coachkit-simple", "duckdb-simple", SIMPLE_KPIS),
        (
            "for reference: full load + every built-in KPI (21) against the 18 in SQL",
            "coachkit-every",
            "duckdb",
            SQL_KPIS,
        ),
    ):
        ck, db = best[ck_side], best[db_side]
        print(f"-- {title}")
        print(
            f"coachkit load + kpi_table: {ck['seconds']:7.2f} s  (load {ck['load_seconds']:.2f} s, "
            f"kpi_table {ck['kpi_seconds']:.2f} s)  peak RSS {ck['peak_rss'] / gb:.2f} GB"
        )
        print(f"duckdb SQL:                {db['seconds']:7.2f} s  peak RSS {db['peak_rss'] / gb:.2f} GB")
        print(f"ratio coachkit / duckdb:   {ck['seconds'] / db['seconds']:.2f}x (target <= 1.5x)")
        problems = compare(args.cache / f"result-{ck_side}.parquet", args.cache / f"result-{db_side}.parquet", kpis)
        if problems:
            print("values DISAGREE:\n  " + "\n  ".join(problems))
            failed = True
        else:
            print(f"values agree: all {len(kpis)} KPIs on every rep-week")
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
