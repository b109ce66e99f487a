"""Benchmark: reading one rep out of many (``load(folder, reps=[rep])``) against loading everything.

Run from the repository root::

    python benchmarks/bench_rep_read.py                # sample(reps=500, weeks=52), about 8M activities
    python benchmarks/bench_rep_read.py --reps 50 --weeks 12

It uses the Parquet sample that ``bench_kpis.py`` caches (``--cache``, default
``$COACHKIT_BENCH_CACHE`` or ``<tmp>/coachkit-bench``), whose activities are
grouped by rep as ``sample()`` generates them, and writes two copies: one with
the activities in time order (as many CRM exports are; ``SalesData.save`` keeps
the row order it is given) and one ``.duckdb`` file. Each measurement runs in a
fresh Python process and reports wall time, the rows returned, the bytes the
process read from files (``rchar`` of ``/proc/self/io``, Linux only) and its
peak RSS:

- **full load**: ``coachkit.load(folder)`` of the whole dataset;
- **rep's team**: what one rep's review reads (``coachkit.batch.load_for_review``:
  the reps table, then the activities and deals of the rep's team and role);
- **one rep**: ``load(folder, reps=[rep])``, where the row groups whose rep_id
  statistics exclude the rep are skipped;
- **one rep, time-ordered copy**: the same where every row group holds every
  rep, so none can be skipped (each is read and only the rep's rows kept);
- **one rep, DuckDB file** (``WHERE rep_id IN (...)``).

It prints each ratio full / this (the issue asks that reviewing one rep does
not load the whole dataset).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from common import CACHE, child, peak_rss_bytes  # benchmarks/common.py


def bytes_read() -> int:
    """Bytes this process has read from files so far (0 where /proc is missing)."""
    try:
        with open("/proc/self/io") as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith("rchar"))
    except OSError:
        return 0


def run(source: Path, rep: str | None) -> dict[str, float]:
    import coachkit.review  # noqa: F401  (load_for_review uses it; a review kernel has it imported already)
    from coachkit.batch import load_for_review
    from coachkit.load import load

    b0, t0 = bytes_read(), time.perf_counter()
    if rep is not None and rep.startswith("team:"):
        data = load_for_review(source, rep.removeprefix("team:"))
    else:
        data = load(source, reps=None if rep is None else [rep])
    seconds = time.perf_counter() - t0
    return {
        "seconds": seconds,
        "rows": len(data.activities),
        "bytes": bytes_read() - b0,
        "peak_rss": peak_rss_bytes(),
    }


def prepare(folder: Path, by_time: Path, db: Path, reps: int, weeks: int) -> None:
    from coachkit.load import load
    from coachkit.sample import sample

    if not (folder / "activities.parquet").exists():
        sample(reps=reps, weeks=weeks).save(folder, "parquet")
    data = load(folder)
    data.save(db, "duckdb")
    data.activities = data.activities.sort_values(["occurred_at", "rep_id"], kind="stable").reset_index(drop=True)
    data.save(by_time, "parquet")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reps", type=int, default=500)
    p.add_argument("--weeks", type=int, default=52)
    p.add_argument("--cache", type=Path, default=CACHE)
    p.add_argument("--rep", help="the rep to read (default: the middle rep of the reps table)")
    p.add_argument("--child", nargs=2, metavar=("SOURCE", "REP"), help=argparse.SUPPRESS)
    p.add_argument("--prepare", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    folder = args.cache / f"sample-{args.reps}x{args.weeks}"
    by_time = args.cache / f"sample-{args.reps}x{args.weeks}-by-time"
    db = args.cache / f"sample-{args.reps}x{args.weeks}.duckdb"

    if args.child:  # a child process: one load, one JSON line
        source, rep = args.child
        print(json.dumps(run(Path(source), None if rep == "-" else rep)))
        return
    base = ["--reps", str(args.reps), "--weeks", str(args.weeks), "--cache", str(args.cache)]
    if args.prepare:
        prepare(folder, by_time, db, args.reps, args.weeks)
        print(json.dumps({}))
        return
    if not (by_time / "activities.parquet").exists() or not db.exists():
        print(f"preparing {by_time} and {db} ...", flush=True)
        child(__file__, [*base, "--prepare"])
    if args.rep is None:
        import pandas as pd

        ids = pd.read_parquet(folder / "reps.parquet", columns=["rep_id"])["rep_id"].sort_values()
        args.rep = str(ids.iloc[len(ids) // 2])

    cases = {
        "full load": (folder, "-"),
        "rep's team (a review's read)": (folder, f"team:{args.rep}"),
        "one rep": (folder, args.rep),
        "one rep, time-ordered copy": (by_time, args.rep),
        "one rep, DuckDB file": (db, args.rep),
    }
    results = {name: child(__file__, [*base, "--child", str(src), rep]) for name, (src, rep) in cases.items()}
    full = results["full load"]
    mb, gb = 1024**2, 1024**3
    print(f"dataset: {folder}, rep {args.rep}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    for name, r in results.items():
        ratio = "" if r is full else f"  full / this: {full['seconds'] / r['seconds']:6.1f}x time"
        if r is not full and r["bytes"]:
            ratio += f", {full['bytes'] / r['bytes']:6.1f}x bytes"
        print(
            f"{name:31s} {r['seconds']:7.2f} s  {r['rows']:>10,} rows  {r['bytes'] / mb:8.1f} MB read  "
            f"peak RSS {r['peak_rss'] / gb:.2f} GB{ratio}"
        )


if __name__ == "__main__":
    main()
