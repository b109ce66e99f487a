"""Benchmark: ``load(columns=...)`` + ``kpi_table`` at 1x, 4x and 10x the 500-rep sample (up to about 80M activities).

Run from the repository root::

    python benchmarks/bench_scale.py                  # 500, 2,000 and 5,000 reps x 52 weeks
    python benchmarks/bench_scale.py --sizes 500 2000  # fewer sizes

Each dataset is generated once, 500 reps at a time (:func:`coachkit.sample.write_sample`: memory holds one
chunk), into the cache folder (``$COACHKIT_BENCH_CACHE``, see ``common.py``). Each size is then measured in
a fresh process: ``coachkit.load(folder, columns=kpi_columns(KPIS))`` (validation included; only the columns
those KPIs read) + ``kpi_table(data, kpis=KPIS)`` with the 18 KPIs ``bench_kpis.py`` shares with DuckDB,
weekly. It prints the seconds, the seconds per million activities (linear growth: about the same at every
size) and the peak RSS (target: at most 8 GB at 5,000 reps), with the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from bench_kpis import SQL_KPIS  # benchmarks/bench_kpis.py
from common import CACHE, child, peak_rss_bytes  # benchmarks/common.py


def run(folder: Path) -> dict[str, float]:
    import pandas  # noqa: F401

    from coachkit.kpis import kpi_columns, kpi_table
    from coachkit.load import load

    t0 = time.perf_counter()
    data = load(folder, columns=kpi_columns(SQL_KPIS))
    t1 = time.perf_counter()
    table = kpi_table(data, freq="W", kpis=list(SQL_KPIS))
    t2 = time.perf_counter()
    return {
        "activities": data.n_activities(),
        "load_seconds": t1 - t0,
        "kpi_seconds": t2 - t1,
        "seconds": t2 - t0,
        "rows": len(table),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[500, 2000, 5000], help="reps per dataset")
    p.add_argument("--weeks", type=int, default=52)
    p.add_argument("--cache", type=Path, default=CACHE)
    p.add_argument("--side", choices=["run", "generate"], help=argparse.SUPPRESS)
    p.add_argument("--reps", type=int, help=argparse.SUPPRESS)
    args = p.parse_args()

    if args.side:  # a child process: do one thing, print one JSON line
        folder = args.cache / f"scale-{args.reps}x{args.weeks}"
        if args.side == "generate":
            from coachkit.sample import write_sample

            t0 = time.perf_counter()
            write_sample(folder, args.reps, args.weeks)
            print(json.dumps({"seconds": time.perf_counter() - t0, "peak_rss": peak_rss_bytes()}))
            return
        result = run(folder)
        result["peak_rss"] = peak_rss_bytes()
        print(json.dumps(result))
        return

    gb = 1024**3
    print(
        f"{'reps':>6} {'activities':>12} {'load':>8} {'kpi_table':>9} {'total':>8} {'s / M act.':>10} {'peak RSS':>9}  load avg"
    )
    for reps in args.sizes:
        folder = args.cache / f"scale-{reps}x{args.weeks}"
        base = ["--reps", str(reps), "--weeks", str(args.weeks), "--cache", str(args.cache)]
        if not (folder / "activities.parquet").exists():
            g = child(__file__, [*base, "--side", "generate"])
            print(f"  (generated {folder.name} in {g['seconds']:.0f} s, peak RSS {g['peak_rss'] / gb:.2f} GB)")
        r = child(__file__, [*base, "--side", "run"])
        per_m = r["seconds"] / (r["activities"] / 1e6)
        print(
            f"{reps:>6} {r['activities']:>12,} {r['load_seconds']:>7.2f}s {r['kpi_seconds']:>8.2f}s "
            f"{r['seconds']:>7.2f}s {per_m:>10.3f} {r['peak_rss'] / gb:>7.2f} GB  {os.getloadavg()[0]:.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
