"""Benchmark coachkit.sample: time and peak RSS of sample(500, 52) against sample(30, 26).

Run: ``python benchmarks/bench_sample.py [--reps 500 --weeks 52]``

Each size runs in a fresh subprocess so that its peak RSS is its own. The budget for
sample(reps=500, weeks=52) is under 60 s and under 4 GB; the per-activity cost of the
large sample against the small one shows whether the generator stays linear.
Exit status 1 when the large sample is over budget.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

CHILD = """
import json, resource, sys, time
from coachkit.sample import sample
reps, weeks = int(sys.argv[1]), int(sys.argv[2])
t0 = time.perf_counter()
data = sample(reps=reps, weeks=weeks, seed=0)
seconds = time.perf_counter() - t0
rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
print(json.dumps({"seconds": seconds, "rss_mb": rss_mb, "activities": len(data.activities),
                  "deals": len(data.deals)}))
"""


def run(reps: int, weeks: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(reps), str(weeks)], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=500)
    parser.add_argument("--weeks", type=int, default=52)
    args = parser.parse_args()
    small = run(30, 26)
    large = run(args.reps, args.weeks)
    for label, r in (("sample(30, 26)", small), (f"sample({args.reps}, {args.weeks})", large)):
        per = 1e6 * r["seconds"] / max(r["activities"], 1)
        print(
            f"{label:>18}: {r['activities']:>10,} activities {r['deals']:>7,} deals "
            f"{r['seconds']:7.2f} s  {per:6.2f} us/activity  peak RSS {r['rss_mb']:7.0f} MB"
        )
    ratio = (large["seconds"] / large["activities"]) / (small["seconds"] / small["activities"])
    print(f"per-activity cost, large / small: {ratio:.2f}x (about 1 = linear; the small run pays fixed costs)")
    ok = large["seconds"] < 60 and large["rss_mb"] < 4096
    print(f"budget (< 60 s, < 4096 MB): {'OK' if ok else 'OVER BUDGET'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
