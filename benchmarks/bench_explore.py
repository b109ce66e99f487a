"""Benchmark: seconds per widget change of the explorer, today's app against the one before (issue 14).

Run from the repository root::

    python benchmarks/bench_explore.py                  # data/sample (30 reps) and sample(100 reps, 52 weeks)
    python benchmarks/bench_explore.py --reps 100 --repeat 3

Both apps are driven the way a click drives them: by setting a control's value, which runs its callbacks
(``ExplorerApp`` here; ``interactive_output`` + ``show`` before). No browser is involved: what is timed is
the kernel's work for one change, up to the output sent to the frontend (before: every chart rendered to
SVG by the svg renderer, as the notebook did; now: the Vega-Lite specs of the charts that changed, drawn
by the browser). The app "before" is ``coachkit/explore.py`` at ``--baseline`` (default: the commit
before issue 14's explorer work), loaded from git into this process, beside today's ``coachkit``.

Each round builds both apps afresh on the same data (empty caches) and plays the same script of changes
(team, rep, KPI, period, From, types, notes keyword, To); the two sides alternate within a round so that
a busy, shared machine slows both alike. It prints, per change, the median over the rounds of each side,
the ratio, the worst change of each side, and the load average. Targets: <= 0.5 s a change on the
sample, <= 1 s at 100 reps.

The 100-rep sample is generated once into ``$COACHKIT_BENCH_CACHE`` (default ``<tmp>/coachkit-bench``).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib.util
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd
from common import CACHE  # benchmarks/common.py

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import coachkit  # noqa: E402
from coachkit import explore, explore_app  # noqa: E402

#: The commit before issue 14's explorer work.
BASELINE = "c115fae"


def before_module(rev: str) -> Any:
    """``coachkit/explore.py`` as it was at ``rev``, imported as ``coachkit._explore_before``."""
    source = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{rev}:coachkit/explore.py"], capture_output=True, text=True, check=True
    ).stdout
    path = Path(tempfile.mkdtemp()) / "explore_before.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("coachkit._explore_before", path)
    module = importlib.util.module_from_spec(spec)
    module.__package__ = "coachkit"
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def dataset(reps: int) -> Path:
    if reps == 30:
        return ROOT / "data" / "sample"
    folder = CACHE / f"explore-r{reps}-w52"
    if not (folder / "activities.parquet").exists():
        print(f"generating sample(reps={reps}, weeks=52) into {folder} ...", flush=True)
        coachkit.sample(reps=reps, weeks=52, seed=0).save(folder, "parquet")
    return folder


def script(data: Any) -> tuple[dict[str, Any], list[tuple[str, str, Any]]]:
    """The starting selection and the changes: (label, control, value)."""
    reps = data.reps.sort_values("rep_id")
    teams = sorted(reps["team"].dropna().unique())
    first = reps[reps["team"] == teams[0]]["rep_id"].tolist()
    second = reps[reps["team"] == teams[1]]["rep_id"].tolist()
    end = data.activities["occurred_at"].max().normalize()
    start = end - pd.Timedelta(weeks=8) + pd.Timedelta(days=1)
    sel = {"team": teams[0], "reps": (first[0],), "start": start, "end": end, "kpi": "connect_rate"}
    sel |= {"freq": "W", "types": (), "keyword": "budget"}
    changes = [
        ("team", "team", teams[1]),
        ("rep", "reps", (second[1],)),
        ("KPI", "kpi", "calls"),
        ("period (month)", "freq", "M"),
        ("From", "start", (start - pd.Timedelta(weeks=4)).date()),
        ("types", "types", ("call", "meeting")),
        ("notes keyword", "keyword", "price"),
        ("To", "end", (end - pd.Timedelta(weeks=1)).date()),
    ]
    return sel, changes


class Before:
    """The app before: ``interactive_output(show)`` over the controls, charts rendered as SVG."""

    def __init__(self, module: Any, data: Any, sel: dict[str, Any]) -> None:
        import altair as alt

        alt.renderers.enable("svg")  # what notebook.setup() did
        self.app = module.app(data, module.Selection(**sel))
        self.controls = {c.description.lower() if c.description else "freq": c for c in _controls(self.app)}

    def set(self, control: str, value: Any) -> None:
        name = {"team": "team", "reps": "reps", "kpi": "kpi", "freq": "freq", "start": "from", "end": "to"}
        name |= {"types": "types", "keyword": "notes"}
        c = self.controls[name[control]]
        if control in ("start", "end") and isinstance(value, pd.Timestamp):
            value = value.date()
        c.value = value


def _controls(box: Any) -> list[Any]:
    out = []
    for child in getattr(box, "children", ()):
        if hasattr(child, "value") and hasattr(child, "description"):
            out.append(child)
        out += _controls(child)
    return out


class After:
    def __init__(self, data: Any, sel: dict[str, Any]) -> None:
        self.app = explore_app.ExplorerApp(data, explore.Selection.of(**sel))

    def set(self, control: str, value: Any) -> None:
        self.app.controls[control].value = value


def play(side: Any, changes: list[tuple[str, str, Any]]) -> dict[str, float]:
    out = {}
    for label, control, value in changes:
        t0 = time.perf_counter()
        side.set(control, value)
        out[label] = time.perf_counter() - t0
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, nargs="*", default=[30, 100], help="30 = data/sample; else a generated sample")
    ap.add_argument("--repeat", type=int, default=5, help="rounds per dataset (median counts)")
    ap.add_argument("--baseline", default=BASELINE, help="git revision of the app before")
    args = ap.parse_args()

    from IPython.core.interactiveshell import InteractiveShell

    InteractiveShell.instance()  # display() runs the formatters (the SVG rendering) as in a kernel
    module = before_module(args.baseline)
    from coachkit.charts import offline_jupyter_charts

    offline_jupyter_charts()
    print(f"python {sys.version.split()[0]}, coachkit at {ROOT}, before = {args.baseline}; {dt.datetime.now():%c}")
    for reps in args.reps:
        data = coachkit.load(dataset(reps))
        sel, changes = script(data)
        times: dict[str, dict[str, list[float]]] = {"before": {}, "after": {}}
        for r in range(args.repeat):
            order = ("before", "after") if r % 2 == 0 else ("after", "before")
            for side in order:
                with contextlib.redirect_stdout(io.StringIO()):
                    app = Before(module, data, sel) if side == "before" else After(data, sel)
                    got = play(app, changes)
                for k, v in got.items():
                    times[side].setdefault(k, []).append(v)
        load1, load5, _ = os.getloadavg()
        print(
            f"\n{reps} reps, {len(data.activities):,} activities; {args.repeat} rounds; "
            f"load average {load1:.2f} (1 min), {load5:.2f} (5 min) on {os.cpu_count()} cores"
        )
        print(f"{'change':<16}{'before s':>10}{'after s':>10}{'ratio':>8}")
        for label, _, _ in changes:
            b = statistics.median(times["before"][label])
            a = statistics.median(times["after"][label])
            print(f"{label:<16}{b:>10.3f}{a:>10.3f}{b / a:>7.1f}x")
        med_b = statistics.median([statistics.median(v) for v in times["before"].values()])
        med_a = statistics.median([statistics.median(v) for v in times["after"].values()])
        worst_b = max(statistics.median(v) for v in times["before"].values())
        worst_a = max(statistics.median(v) for v in times["after"].values())
        target = 0.5 if reps <= 30 else 1.0
        print(f"{'median change':<16}{med_b:>10.3f}{med_a:>10.3f}{med_b / med_a:>7.1f}x")
        print(
            f"{'slowest change':<16}{worst_b:>10.3f}{worst_a:>10.3f}   target <= {target} s: "
            f"{'met' if worst_a <= target else 'NOT met'}"
        )


if __name__ == "__main__":
    main()
