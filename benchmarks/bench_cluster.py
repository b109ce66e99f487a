"""The reviews on Dask against the built-in pool, and the batch process's peak memory before and after.

    python benchmarks/bench_cluster.py                     # both parts (about 12 minutes)
    python benchmarks/bench_cluster.py --part dask --rounds 2
    python benchmarks/bench_cluster.py --part memory --before 6a5dad1

Two measurements, each side in a fresh process, printed side by side in one run:

* ``dask``: ``coachkit review`` of the 40-rep, 12-week sample with ``--scheduler local:2`` (a
  ``LocalCluster`` of 2 worker processes, started and stopped by the command, included in the
  time) against the built-in pool with ``--workers 2``; the sides alternate for ``--rounds``
  rounds, the medians count. Target: the Dask side within 10% of the pool. Checks that both
  wrote the same reviews (cells, outputs and published summary, as ``bench_review.py``).
* ``memory``: the peak RSS of the batch process alone (``getrusage(RUSAGE_SELF)``: the workers
  and kernels are other processes) of ``run_reviews`` over every rep of the 500-rep, 52-week
  sample (8.1 M activities), with a review notebook that does nothing (the batch's own work is
  measured: choosing reps and the window, the snapshot, the tasks, the manifest and index),
  ``--no-html``, 2 workers: this checkout against ``--before`` (a commit, extracted with ``git
  archive`` into the cache folder and run with ``PYTHONPATH``), in the same run. Target: under 500 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import CACHE  # benchmarks/common.py

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
#: The last commit before the batch read only two columns (main when issue 15 started).
BEFORE = "6a5dad1"

_BATCH = """
import json, resource, sys, time
from coachkit.batch import run_reviews
if __name__ == "__main__":
    t = time.perf_counter()
    r = run_reviews(sys.argv[1], sys.argv[2], notebook=sys.argv[3], workers=2, html=False, quiet=True)
    import coachkit
    print(json.dumps({"peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                      "seconds": time.perf_counter() - t, "ok": len(r.ok), "failed": len(r.failed),
                      "coachkit": coachkit.__file__}))
"""


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def _sample(cache: Path, reps: int, weeks: int) -> Path:
    data = cache / f"sample-{reps}x{weeks}"
    if not (data / "reps.parquet").exists():
        shutil.rmtree(data, ignore_errors=True)
        subprocess.run(
            [BIN / "coachkit", "sample", "--reps", str(reps), "--weeks", str(weeks), str(data)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return data


def _idle_notebook(path: Path) -> Path:
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    params = 'rep_id = ""\ndata = ""\nas_of = ""\nweeks = 4\nplaybook = ""\nprevious = ""'
    nb = new_notebook(cells=[new_code_cell(params, metadata={"tags": ["parameters"]}), new_code_cell("rep_id")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def _checkout(commit: str, cache: Path) -> Path:
    """``commit`` of this repository as files in the cache folder (``git archive``; the repository is not changed)."""
    sha = subprocess.run(["git", "rev-parse", commit], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    where = cache / f"checkout-{sha.strip()[:12]}"
    if not (where / "coachkit" / "batch.py").exists():
        where.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "archive", sha.strip()], cwd=ROOT, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(where)], input=archive, check=True)
    return where


def memory(args: argparse.Namespace) -> None:
    data = _sample(args.cache, 500, 52)
    work = Path(tempfile.mkdtemp(prefix="bench-cluster-", dir=args.cache))
    nb = _idle_notebook(work / "idle.ipynb")
    script = work / "batch.py"
    script.write_text(_BATCH, encoding="utf-8")
    sides = {"before": _checkout(args.before, args.cache), "after": ROOT}
    got = {}
    print(f"batch process peak RSS, 500 reps x 52 weeks ({data}); load average at start {_load()}")
    for label, code in sides.items():
        env = dict(os.environ, PYTHONPATH=str(code))
        proc = subprocess.run(
            [sys.executable, "-P", str(script), str(data), str(work / label), str(nb)],
            env=env,
            cwd=work,
            capture_output=True,
            text=True,
        )
        if proc.returncode not in (0, 1):
            sys.exit(f"{label} failed:\n{proc.stdout}\n{proc.stderr}")
        got[label] = json.loads(proc.stdout.strip().splitlines()[-1])
        g = got[label]
        print(
            f"  {label:6s} ({Path(g['coachkit']).parent.parent.name}): peak RSS {g['peak_rss'] / 2**20:7.0f} MB,"
            f" {g['seconds']:6.1f} s, {g['ok']} reviews ({g['failed']} failed); load {_load()}"
        )
    ratio = got["before"]["peak_rss"] / got["after"]["peak_rss"]
    verdict = "under" if got["after"]["peak_rss"] < 500 * 2**20 else "OVER"
    print(f"  RATIO before / after: {ratio:.1f}x; after is {verdict} the 500 MB target")
    shutil.rmtree(work, ignore_errors=True)


def dask(args: argparse.Namespace) -> None:
    from bench_review import _equivalent, _run_folder

    data = _sample(args.cache, args.reps, args.weeks)
    work = Path(tempfile.mkdtemp(prefix="bench-cluster-", dir=args.cache))
    base = [str(BIN / "coachkit"), "review", str(data), "--quiet"]
    sides = {"pool": ["--workers", "2"], "dask": ["--scheduler", "local:2"]}
    times: dict[str, list[float]] = {k: [] for k in sides}
    print(f"{args.reps}-rep review, 2 workers, pool against Dask local:2; load average at start {_load()}")
    for i in range(args.rounds):
        for label in sides if i % 2 == 0 else reversed(list(sides)):
            out = work / f"{label}-{i}"
            load = _load()
            t = time.perf_counter()
            subprocess.run([*base, "--out", str(out), *sides[label]], check=False, cwd=work)
            times[label].append(time.perf_counter() - t)
            print(f"  round {i + 1} {label:4s}: {times[label][-1]:6.1f} s; load at start {load}, at end {_load()}")
    med = {k: sorted(v)[len(v) // 2] for k, v in times.items()}
    print(
        f"  median pool {med['pool']:.1f} s, dask {med['dask']:.1f} s: RATIO dask / pool {med['dask'] / med['pool']:.3f}"
        f" ({100 * (med['dask'] / med['pool'] - 1):+.1f}%; target within +10%)"
    )
    pool, on_dask = _run_folder(work / "pool-0"), _run_folder(work / "dask-0")
    manifest = json.loads((pool / "manifest.json").read_text())
    reps = [r for r, v in manifest["reps"].items() if v["status"] == "ok"]
    same, differ = _equivalent(reps, pool, on_dask)
    print(f"  equivalence: {same}/{len(reps)} reviews with the same cells, outputs and summary; differ: {differ}")
    shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--part", choices=["dask", "memory", "both"], default="both")
    ap.add_argument("--reps", type=int, default=40)
    ap.add_argument("--weeks", type=int, default=12)
    ap.add_argument("--rounds", type=int, default=1, help="alternating rounds of the Dask/pool comparison")
    ap.add_argument("--before", default=BEFORE, help="the commit measured as 'before' for the memory part")
    ap.add_argument("--cache", type=Path, default=CACHE)
    args = ap.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    print(f"cores {os.cpu_count()}, load average {_load()}")
    if args.part in ("dask", "both"):
        dask(args)
    if args.part in ("memory", "both"):
        memory(args)


if __name__ == "__main__":
    main()
