"""Benchmark: ``coachkit.load`` + ``kpi_table`` (all built-in KPIs, weekly) against equivalent DuckDB SQL.

Run from the repository root::

    python benchmarks/bench_kpis.py                # sample(reps=500, weeks=52), about 8M activities
    python benchmarks/bench_kpis.py --reps 50 --weeks 12

The sample dataset is generated once into a cache folder (``--cache``, default
``$COACHKIT_BENCH_CACHE`` or ``<tmp>/coachkit-bench``) as Parquet. Each side then
runs in its own fresh Python process, so that each peak RSS is its own:

- **coachkit**: ``coachkit.load(folder)`` (validation included) + ``kpi_table(data)``
  with every built-in KPI, weekly;
- **duckdb**: one SQL query over the same Parquet files computing the same KPIs
  per rep and week on the same grid (all except ``activity_score``, whose working
  days, holidays and ramp are playbook logic), fetched as a pandas DataFrame.

The two sides alternate (duckdb, coachkit, duckdb, coachkit, ...) for ``--repeat``
rounds (default: 1 for the 8M-activity case, 3 for smaller ones) and the median of
each side counts, so that a noisy, shared machine slows both alike. It prints both
times, the ratio (target: coachkit <= 2x DuckDB), each peak RSS (target: <= 4 GB),
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
touch AS (
  SELECT rep_id, account_id, occurred_at FROM a
  WHERE ty IN ('call', 'meeting', 'email', 'follow_up') AND account_id IS NOT NULL
),
fu AS (
  SELECT c.rep_id, c.ps, count(*) AS fu_den,
         count(*) FILTER (WHERE t.occurred_at <= c.occurred_at + INTERVAL 24 HOUR) AS fu_num
  FROM (SELECT * FROM a WHERE conv AND account_id IS NOT NULL) c
  ASOF LEFT JOIN touch t
    ON c.rep_id = t.rep_id AND c.account_id = t.account_id AND t.occurred_at > c.occurred_at
  GROUP BY ALL
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
bounds AS (SELECT min(ps) AS lo, max(ps) AS hi FROM a),
weeks AS (SELECT unnest(generate_series(lo, hi, INTERVAL 7 DAY)) AS ps FROM bounds),
r AS (SELECT * FROM read_parquet('{folder}/reps.parquet')),
grid AS (
  SELECT r.rep_id, w.ps FROM r CROSS JOIN weeks w
  WHERE (r.hired_at IS NULL OR w.ps + INTERVAL 7 DAY > r.hired_at) AND (r.left_at IS NULL OR w.ps <= r.left_at)
)
SELECT g.rep_id, g.ps AS period_start,
  coalesce(activities, 0) AS activities, coalesce(calls, 0) AS calls, coalesce(meetings, 0) AS meetings,
  coalesce(emails, 0) AS emails, coalesce(follow_ups, 0) AS follow_ups, coalesce(active_days, 0) AS active_days,
  coalesce(talk_time_h, 0) AS talk_time_h, coalesce(conversations, 0) AS conversations,
  calls_logged / nullif(calls, 0) AS outcome_logged_rate,
  connected / nullif(calls_logged, 0) AS connect_rate,
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


def generate(folder: Path, reps: int, weeks: int) -> None:
    from coachkit.sample import sample

    sample(reps=reps, weeks=weeks).save(folder, "parquet")


def run_coachkit(folder: Path, out: Path) -> dict[str, float]:
    # Imports are outside the timing on both sides (pandas is imported on both).
    import pandas  # noqa: F401

    from coachkit.kpis import kpi_table
    from coachkit.load import load

    t0 = time.perf_counter()
    data = load(folder)
    t1 = time.perf_counter()
    table = kpi_table(data, freq="W")
    t2 = time.perf_counter()
    wide = table[table["kpi"].isin(SQL_KPIS)].pivot(index=["rep_id", "period_start"], columns="kpi", values="value")
    wide.reset_index().to_parquet(out)
    return {"seconds": t2 - t0, "load_seconds": t1 - t0, "kpi_seconds": t2 - t1, "rows": len(table)}


def run_duckdb(folder: Path, out: Path) -> dict[str, float]:
    import duckdb
    import pandas  # noqa: F401

    t0 = time.perf_counter()
    con = duckdb.connect()
    frame = con.sql(SQL.format(folder=folder.as_posix())).df()
    t1 = time.perf_counter()
    frame.to_parquet(out)
    return {"seconds": t1 - t0, "rows": len(frame)}


def median_run(runs: list[dict[str, float]]) -> dict[str, float]:
    """The run with the median time (the lower middle one for an even count)."""
    return sorted(runs, key=lambda r: r["seconds"])[(len(runs) - 1) // 2]


def compare(coachkit_out: Path, duckdb_out: Path) -> list[str]:
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
    for k in SQL_KPIS:
        a = both[k].to_numpy(dtype="float64", na_value=np.nan)
        b = both[f"{k}_sql"].to_numpy(dtype="float64", na_value=np.nan)
        bad = ~np.isclose(a, b, rtol=1e-9, atol=1e-9, equal_nan=True)
        if bad.any():
            i = np.flatnonzero(bad)[0]
            problems.append(f"{k}: {bad.sum()} values differ, e.g. {a[i]!r} vs {b[i]!r}")
    return problems


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reps", type=int, default=500)
    p.add_argument("--weeks", type=int, default=52)
    p.add_argument("--cache", type=Path, default=CACHE)
    p.add_argument("--repeat", type=int, help="rounds of both sides; the median counts (default 1, or 3 when small)")
    p.add_argument("--side", choices=["coachkit", "duckdb", "generate"], help=argparse.SUPPRESS)
    args = p.parse_args()
    folder = args.cache / f"sample-{args.reps}x{args.weeks}"

    if args.side:  # a child process: do one thing, print one JSON line
        if args.side == "generate":
            generate(folder, args.reps, args.weeks)
            print(json.dumps({}))
            return
        run = run_coachkit if args.side == "coachkit" else run_duckdb
        result = run(folder, args.cache / f"result-{args.side}.parquet")
        result["peak_rss"] = peak_rss_bytes()
        print(json.dumps(result))
        return

    base = ["--reps", str(args.reps), "--weeks", str(args.weeks), "--cache", str(args.cache)]
    if not (folder / "activities.parquet").exists():
        print(f"generating sample(reps={args.reps}, weeks={args.weeks}) into {folder} ...", flush=True)
        child(__file__, [*base, "--side", "generate"])
    repeat = args.repeat or (1 if args.reps * args.weeks > 5000 else 3)
    runs: dict[str, list[dict[str, float]]] = {"duckdb": [], "coachkit": []}
    for _ in range(repeat):
        for side in runs:
            runs[side].append(child(__file__, [*base, "--side", side]))
    best = {side: median_run(rs) for side, rs in runs.items()}
    ck, db = best["coachkit"], best["duckdb"]
    gb = 1024**3
    print(f"dataset: {folder} ({ck['rows']:,} KPI rows, {db['rows']:,} rep-weeks)")
    print(
        f"median of {repeat} alternating run(s) per side; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    print(
        f"coachkit load + kpi_table: {ck['seconds']:7.2f} s  (load {ck['load_seconds']:.2f} s, "
        f"kpi_table {ck['kpi_seconds']:.2f} s)  peak RSS {ck['peak_rss'] / gb:.2f} GB"
    )
    print(f"duckdb SQL:                {db['seconds']:7.2f} s  peak RSS {db['peak_rss'] / gb:.2f} GB")
    print(f"ratio coachkit / duckdb:   {ck['seconds'] / db['seconds']:.2f}x (target <= 2x; RSS target <= 4 GB)")
    print(f"ratio kpi_table alone / duckdb: {ck['kpi_seconds'] / db['seconds']:.2f}x")
    problems = compare(args.cache / "result-coachkit.parquet", args.cache / "result-duckdb.parquet")
    if problems:
        print("values DISAGREE:\n  " + "\n  ".join(problems))
        sys.exit(1)
    print(f"values agree: all {len(SQL_KPIS)} KPIs on every rep-week")


if __name__ == "__main__":
    main()
