"""Benchmark: reading one rep out of many (``load(folder, reps=[rep])``) against loading everything.

Run from the repository root::

    python benchmarks/bench_rep_read.py                # sample(reps=500, weeks=52), about 8M activities
    python benchmarks/bench_rep_read.py --reps 50 --weeks 12

It uses the Parquet sample that ``bench_kpis.py`` caches (``--cache``, default
``$COACHKIT_BENCH_CACHE`` or ``<tmp>/coachkit-bench``) and writes a second copy
whose activities are ordered by rep_id (``SalesData.save`` keeps the row order
it is given). Each measurement runs in a fresh Python process and reports wall
time, the rows returned, the bytes the process read from files (``rchar`` of
``/proc/self/io``, Linux only) and its peak RSS:

- **full load**: ``coachkit.load(folder)`` of the whole dataset;
- **one rep, time-ordered file**: ``load(folder, reps=[rep])`` on the sample as
  generated (activities in time order: every row group holds every rep, so no
  row group can be skipped; the rows are filtered after reading);
- **one rep, rep-ordered file**: the same on the rep-ordered copy, where the
  row groups whose rep_id statistics exclude the rep are skipped;
- **one rep, DuckDB file**: the rep-ordered copy saved as ``.duckdb``
  (``WHERE rep_id IN (...)``).

It prints each ratio full / one rep (the issue asks that reviewing one rep does
not load the whole dataset).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def bytes_read() -> int:
    """Bytes this process has read from files so far (0 where /proc is missing)."""
    try:
        with open("/proc/self/io") as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith("rchar"))
    except OSError:
        return 0


def peak_rss_bytes() -> int:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss if sys.platform == "darwin" else rss * 1024


def run(source: Path, rep: str | None) -> dict[str, float]:
    from coachkit.load import load

    b0, t0 = bytes_read(), time.perf_counter()
    data = load(source, reps=None if rep is None else [rep])
    seconds = time.perf_counter() - t0
    return {
        "seconds": seconds,
        "rows": len(data.activities),
        "bytes": bytes_read() - b0,
        "peak_rss": peak_rss_bytes(),
    }


def prepare(folder: Path, by_rep: Path, db: Path, reps: int, weeks: int) -> None:
    from coachkit.load import load
    from coachkit.sample import sample

    if not (folder / "activities.parquet").exists():
        sample(reps=reps, weeks=weeks).save(folder, "parquet")
    data = load(folder)
    data.activities = data.activities.sort_values(["rep_id", "occurred_at"], kind="stable").reset_index(drop=True)
    data.deals = data.deals.sort_values("rep_id", kind="stable").reset_index(drop=True)
    data.save(by_rep, "parquet")
    data.save(db, "duckdb")


def child(args: list[str]) -> dict[str, float]:
    proc = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reps", type=int, default=500)
    p.add_argument("--weeks", type=int, default=52)
    default_cache = os.environ.get("COACHKIT_BENCH_CACHE", str(Path(tempfile.gettempdir()) / "coachkit-bench"))
    p.add_argument("--cache", type=Path, default=Path(default_cache))
    p.add_argument("--rep", help="the rep to read (default: the middle rep of the reps table)")
    p.add_argument("--child", nargs=2, metavar=("SOURCE", "REP"), help=argparse.SUPPRESS)
    p.add_argument("--prepare", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    folder = args.cache / f"sample-{args.reps}x{args.weeks}"
    by_rep = args.cache / f"sample-{args.reps}x{args.weeks}-by-rep"
    db = args.cache / f"sample-{args.reps}x{args.weeks}-by-rep.duckdb"

    if args.child:  # a child process: one load, one JSON line
        source, rep = args.child
        print(json.dumps(run(Path(source), None if rep == "-" else rep)))
        return
    base = ["--reps", str(args.reps), "--weeks", str(args.weeks), "--cache", str(args.cache)]
    if args.prepare:
        prepare(folder, by_rep, db, args.reps, args.weeks)
        print(json.dumps({}))
        return
    if not (by_rep / "activities.parquet").exists() or not db.exists():
        print(f"preparing {by_rep} and {db} ...", flush=True)
        child([*base, "--prepare"])
    if args.rep is None:
        import pandas as pd

        ids = pd.read_parquet(folder / "reps.parquet", columns=["rep_id"])["rep_id"].sort_values()
        args.rep = str(ids.iloc[len(ids) // 2])

    cases = {
        "full load (time-ordered file)": (folder, "-"),
        "one rep, time-ordered file": (folder, args.rep),
        "one rep, rep-ordered file": (by_rep, args.rep),
        "one rep, DuckDB file": (db, args.rep),
    }
    results = {name: child([*base, "--child", str(src), rep]) for name, (src, rep) in cases.items()}
    full = results["full load (time-ordered file)"]
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
