"""Team reviews: ``coachkit review`` against the papermill + nbconvert loop a user would script.

    python benchmarks/bench_review.py [--reps 40] [--weeks 12] [--workers 2] [--serial 4]
    python benchmarks/bench_review.py --reps 500 --weeks 52 --no-baseline   # a full 500-rep review

Generates ``coachkit sample --reps N --weeks W`` into a cache folder (once), then times, on
the same machine in the same run:

* ``coachkit review DATA --out DIR`` for every rep, HTML included (default options);
* the baseline, two reps at a time (``xargs -P 2``): for each rep
  ``papermill notebooks/rep_review.ipynb OUT.ipynb -p rep_id R -p data D -p as_of A``
  then ``jupyter nbconvert --to html --no-input OUT.ipynb``;
* the same baseline one rep at a time, on the first ``--serial`` reps, scaled to all
  reps (an estimate; printed as such).

It prints the wall times, the ratio and the per-rep cost, the load average (the
machine may be shared), and checks that both produce equivalent reviews: the same
code cells with the same outputs (SVG gradient ids renumbered, see tests/test_batch.py)
and the same published summary (headline KPI values) for every rep. A batch review links its run's pages and
controls the focus's false-discovery rate over the whole run, which a review papermill runs alone cannot do, so
it also prints how many reviews have the same six sections and the same published summary.

``--against DIR --rounds N`` compares ``coachkit review`` of this checkout with the one of
another checkout ``DIR`` (e.g. ``git worktree add /tmp/before <commit>``; run with this
virtual environment and ``PYTHONPATH=DIR``), alternating the two N times into fresh output
folders, and prints each time, the load average and the medians: the cost of a change on a
shared machine, measured in one session.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
from common import CACHE  # benchmarks/common.py

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "rep_review.ipynb"
BIN = Path(sys.executable).parent


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def _timed(cmd: str | list[str], **kw) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, **kw)
    return time.perf_counter() - t


def _baseline_script(out: Path, data: Path, as_of: str) -> str:
    """The per-rep command of the baseline: papermill, then nbconvert to HTML without code."""
    papermill, jupyter = shlex.quote(str(BIN / "papermill")), shlex.quote(str(BIN / "jupyter"))
    nb = shlex.quote(str(NOTEBOOK))
    target = shlex.quote(str(out)) + '/"$0".ipynb'
    return (
        f'{papermill} {nb} {target} -p rep_id "$0" -p data {shlex.quote(str(data))} -p as_of {as_of}'
        f" --no-progress-bar --log-level ERROR"
        f" && {jupyter} nbconvert --to html --no-input --log-level ERROR {target}"
    )


def _run_baseline(reps: list[str], out: Path, data: Path, as_of: str, parallel: int) -> float:
    out.mkdir(parents=True, exist_ok=True)
    script = _baseline_script(out, data, as_of)
    cmd = ["xargs", "-P", str(parallel), "-n", "1", "sh", "-c", script]
    # the kernels' start-up warnings would print once per rep: kept in a log, shown when a rep fails
    log = out / "baseline.log"
    with open(log, "wb") as err:
        t = time.perf_counter()
        done = subprocess.run(cmd, input="\n".join(reps).encode(), stdout=subprocess.DEVNULL, stderr=err)
        elapsed = time.perf_counter() - t
    if done.returncode:
        missing = [r for r in reps if not (out / f"{r}.html").is_file()]
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
        raise SystemExit(f"the baseline failed for {missing} (xargs exit {done.returncode}); the end of {log}:\n{tail}")
    return elapsed


def _canonical_cells(nb) -> list:
    """Code cells other than papermill's injected parameters: source and outputs, gradient ids renumbered."""

    def canonical(text: str) -> str:
        names = list(dict.fromkeys(re.findall(r"gradient_[0-9]+", text)))
        return re.sub(r"gradient_[0-9]+", lambda m: f"gradient#{names.index(m.group(0))}", text)

    return [
        (c.source, canonical(json.dumps(c.get("outputs"), sort_keys=True)))
        for c in nb.cells
        if c.cell_type == "code" and "injected-parameters" not in c.metadata.get("tags", [])
    ]


#: Cells a batch review shows differently from a review papermill runs alone, by design: the headline (links to
#: the run's index and definitions pages; the focus's false-discovery rate controlled over the whole run, so its
#: q-values), the definitions (linked, not repeated) and the published summary (the run-wide focus areas).
RUN_CELLS = ("review.show(first", "review.definitions(", "export.publish_summary(")


def _equivalent(reps: list[str], ours: Path, theirs: Path) -> tuple[int, list[str], int, int]:
    """(reviews the same in every cell and summary, the others, reviews whose other cells (the six sections)
    are the same, reviews with the same published summary)."""
    from coachkit.export import read_summary

    same, differ, sections, summaries = 0, [], 0, 0
    for rep in reps:
        a = nbformat.read(ours / f"{rep}.ipynb", as_version=4)
        b = nbformat.read(theirs / f"{rep}.ipynb", as_version=4)
        ca, cb = _canonical_cells(a), _canonical_cells(b)
        same_summary = read_summary(a) == read_summary(b)
        both_html = (ours / f"{rep}.html").is_file() and (theirs / f"{rep}.html").is_file()
        if ca == cb and same_summary and both_html:
            same += 1
        else:
            differ.append(rep)
        rest = [(x, y) for x, y in zip(ca, cb, strict=False) if not any(k in x[0] for k in RUN_CELLS)]
        sections += len(ca) == len(cb) and all(x == y for x, y in rest) and both_html
        summaries += same_summary
    return same, differ, sections, summaries


def _run_folder(out: Path) -> Path:
    """The folder holding the run's manifest: ``out`` itself (a flat run) or its review week."""
    if (out / "manifest.json").is_file():
        return out
    return max(p.parent for p in out.glob("*/manifest.json"))


def _review_cmd(data: Path, out: Path, args: argparse.Namespace, code: Path | None = None) -> tuple[list, dict]:
    """The ``coachkit review`` command (of the checkout ``code``, else this one) and its environment."""
    options = ["review", str(data), "--out", str(out), "--quiet", "--workers", str(args.workers)]
    options += ["--isolation", args.isolation]
    if code is None:
        return [BIN / "coachkit", *options], dict(os.environ)
    env = dict(os.environ, PYTHONPATH=str(code))
    # -P: not the current directory first on sys.path (it would import this checkout's coachkit)
    return [sys.executable, "-P", "-c", "from coachkit.cli import main; main()", *options], env


def _against(data: Path, work: Path, args: argparse.Namespace) -> None:
    """Alternate this checkout and ``args.against``, ``args.rounds`` times each; print the times and medians."""
    import ctypes
    import resource

    # Become the subreaper of the runs' processes: a process a run leaves behind (multiprocessing's
    # forkserver exits after the batch that started it, unwaited for) is then this process's child,
    # waited for below, so that its CPU time, and that of the workers and kernels it waited for,
    # is counted for every run alike.
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER

    def reap(seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                if os.waitpid(-1, os.WNOHANG) == (0, 0):
                    time.sleep(0.2)
            except ChildProcessError:
                return

    def cpu() -> float:  # user + system seconds of every process waited for: the run's whole tree
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    times: dict[str, list[float]] = {"before": [], "after": []}
    cpus: dict[str, list[float]] = {"before": [], "after": []}
    # the runs' working directory is outside both checkouts: a kernel started with `python -m ipykernel_launcher`
    # keeps it on sys.path, and would import the coachkit found there
    work.mkdir(parents=True, exist_ok=True)
    for label, code in (("before", args.against), ("after", None)):
        env = dict(os.environ, PYTHONPATH=str(code)) if code else dict(os.environ)
        where = subprocess.run(
            [sys.executable, "-P", "-c", "import coachkit; print(coachkit.__file__)"],
            env=env,
            cwd=work,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        print(f"{label}: {where}")
    for i in range(args.rounds):
        for label, code in (
            (("before", args.against), ("after", None))
            if i % 2 == 0
            else (
                ("after", None),
                ("before", args.against),
            )
        ):
            out = work / f"{label}-{i}"
            cmd, env = _review_cmd(data, out, args, code)
            load, c = _load(), cpu()
            t = _timed(cmd, env=env, cwd=work)
            reap()
            c = cpu() - c
            n = len(json.loads((_run_folder(out) / "manifest.json").read_text())["reps"])
            times[label].append(t)
            cpus[label].append(c)
            print(
                f"round {i + 1} {label:6s}: {t:6.1f} s wall, {c:6.1f} s CPU for {n} reps;"
                f" load at start {load}, at end {_load()}"
            )
            shutil.rmtree(out, ignore_errors=True)
    for what, values in (("wall", times), ("CPU", cpus)):
        med = {k: sorted(v)[len(v) // 2] for k, v in values.items()}
        print(
            f"{what}: median before {med['before']:.1f} s, after {med['after']:.1f} s: "
            f"{100 * (med['after'] / med['before'] - 1):+.1f}%"
            f" (min {min(values['before']):.1f} vs {min(values['after']):.1f} s)"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=40)
    ap.add_argument("--weeks", type=int, default=12)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="coachkit workers = baseline -P")
    ap.add_argument("--serial", type=int, default=4, help="reps timed one at a time (0: skip)")
    ap.add_argument("--isolation", default="warm", choices=["warm", "fresh"])
    ap.add_argument("--cache", type=Path, default=CACHE)
    ap.add_argument("--no-baseline", action="store_true", help="time coachkit only")
    ap.add_argument("--against", type=Path, help="another checkout: time its coachkit review against this one's")
    ap.add_argument("--rounds", type=int, default=3, help="with --against: runs of each")
    args = ap.parse_args()

    data = args.cache / f"sample-{args.reps}x{args.weeks}"
    if not (data / "reps.parquet").exists():
        shutil.rmtree(data, ignore_errors=True)
        subprocess.run(
            [BIN / "coachkit", "sample", "--reps", str(args.reps), "--weeks", str(args.weeks), str(data)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    work = args.cache / "runs"
    shutil.rmtree(work, ignore_errors=True)
    ours, theirs, serial = work / "coachkit", work / "baseline", work / "serial"
    print(f"cores {os.cpu_count()}, workers {args.workers}, load average at start {_load()}")
    if args.against:
        _against(data, work, args)
        return

    t_ours = _timed(_review_cmd(data, ours, args)[0])
    ours = _run_folder(ours)
    manifest = json.loads((ours / "manifest.json").read_text())
    reps = list(manifest["reps"])
    failed = [r for r, v in manifest["reps"].items() if v["status"] != "ok"]  # failed or skipped: not compared
    skipped = sum(v["status"] == "skipped" for v in manifest["reps"].values())
    as_of = manifest["parameters"]["as_of"]
    n = len(reps)
    worker_s = sorted(v["seconds"] for v in manifest["reps"].values())
    print(
        f"coachkit review ({args.isolation}): {n} reps in {t_ours:.1f} s wall = {t_ours / n:.2f} s/rep"
        f" ({len(failed) - skipped} failed, {skipped} skipped: no activity in the window); per rep in a worker: median {worker_s[n // 2]:.2f} s,"
        f" first {max(worker_s):.1f} s (kernel start + imports); load {_load()}"
    )
    if args.no_baseline:
        if args.reps < 500:
            print(f"500-rep review, extrapolated from {t_ours / n:.2f} s/rep: {500 * t_ours / n / 60:.0f} min")
        return

    t_base = _run_baseline(reps, theirs, data, as_of, args.workers)
    print(
        f"baseline papermill + nbconvert, xargs -P {args.workers}: {t_base:.1f} s = {t_base / n:.2f} s/rep; load {_load()}"
    )
    if args.serial:
        k = min(args.serial, n)
        t_serial = _run_baseline(reps[:k], serial, data, as_of, 1)
        print(
            f"baseline one at a time: {t_serial:.1f} s for {k} reps = {t_serial / k:.2f} s/rep;"
            f" ESTIMATED for {n} reps: {t_serial / k * n:.0f} s; load {_load()}"
        )
        print(f"ratio one-at-a-time baseline (estimated) / coachkit: {t_serial / k * n / t_ours:.1f}x")
    print(f"RATIO baseline / coachkit: {t_base / t_ours:.1f}x (target >= 10x)")
    same, differ, sections, summaries = _equivalent([r for r in reps if r not in failed], ours, theirs)
    m = n - len(failed)
    print(f"equivalence: {same}/{m} reviews with the same cells, outputs and summary; differ: {differ}")
    print(
        f"  the six sections (every cell but the headline, definitions and summary, which a batch links to its run"
        f" and judges over it): the same in {sections}/{m}; published summary the same in {summaries}/{m}"
    )
    print(f"500-rep review, extrapolated from {t_ours / n:.2f} s/rep: {500 * t_ours / n / 60:.0f} min (measure it with")
    print("  python benchmarks/bench_review.py --reps 500 --weeks 52 --no-baseline)")


if __name__ == "__main__":
    main()
