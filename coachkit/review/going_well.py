""" "Going well": what genuinely improved or leads the peers, because a 1:1 that only lists gaps is a bad 1:1.

A KPI goes in only on the same kind of evidence as a focus area, the other way round:

- **ahead**: the rep's 95% interval lies wholly on the good side of the benchmark (the target, else the peer
  median) and the lead is at least ``min_gap`` of it; or
- **improved**: the change from the prior window is real (the change test says ``up``, or ``down`` for a KPI
  where lower is better) and the rep is not behind.

At most :data:`MAX_ITEMS`, those ahead first (by how far ahead, relative to the benchmark), then those improved.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from ..kpis import registry
from .fmt import fmt_n, fmt_value, is_missing
from .page import Bullet

__all__ = ["MAX_ITEMS", "going_well"]

#: At most this many "going well" items.
MAX_ITEMS = 3


def _benchmark(r: dict[str, Any]) -> tuple[float, str]:
    kind, kpi = r["kind"], r["kpi"]
    if not is_missing(r.get("target")) and r.get("target_kind") and r.get("target_kind") != "on target":
        return float(r["target"]), f"the {r['target_kind']} of {fmt_value(kind, kpi, r['target'])}"
    if not is_missing(r.get("team_median")):
        return float(r["team_median"]), f"the peers' median of {fmt_value(kind, kpi, r['team_median'])}"
    return float("nan"), ""


def going_well(rows: pd.DataFrame, *, min_gap: float = 0.1, skip: Iterable[str] = ()) -> list[Bullet]:
    """The "going well" items of a rep from KPI rows (the summary frame: ``kpi``, ``label``, ``kind``, ``value``,
    ``n``, ``ci_low``, ``ci_high``, ``target``, ``target_kind``, ``team_median``, ``prior``, ``change``), leaving
    out the KPIs in ``skip`` (e.g. the focus areas). See the module docstring for the rule."""
    skip = set(skip)
    ahead, improved = [], []
    for r in rows.to_dict("records"):
        kpi, kind = r["kpi"], r["kind"]
        if kpi in skip or is_missing(r.get("value")) or kind not in ("count", "rate", "mean"):
            continue
        better = registry[kpi].higher_is_better if kpi in registry else True
        sign = 1.0 if better else -1.0
        bench, what = _benchmark(r)
        lo, hi = r.get("ci_low"), r.get("ci_high")
        value = float(r["value"])
        behind = False
        if not is_missing(bench) and not is_missing(lo) and not is_missing(hi):
            clear = lo > bench if better else hi < bench
            behind = hi < bench if better else lo > bench
            lead = sign * (value - bench)
            if clear and bench > 0 and lead >= min_gap * abs(bench):
                n = fmt_n(kpi, kind, r.get("n")) if kind == "rate" else ""
                of = f" of {n}" if n and n != "–" else ""
                ahead.append(
                    (
                        lead / abs(bench),
                        Bullet(r["label"], f"{fmt_value(kind, kpi, value)}{of}, clearly ahead of {what}."),
                    )
                )
                continue
        good_change = "up" if better else "down"
        if r.get("change") == good_change and not behind:
            prior = fmt_value(kind, kpi, r.get("prior"))
            word = "up" if good_change == "up" else "down"
            improved.append(
                Bullet(r["label"], f"{word} from {prior} to {fmt_value(kind, kpi, value)} on the prior window.")
            )
    ahead.sort(key=lambda x: -x[0])
    return ([b for _, b in ahead] + improved)[:MAX_ITEMS]
