""" "Going well": what genuinely improved or leads the peers, because a 1:1 that only lists gaps is a bad 1:1.

A KPI goes in only on the same kind of evidence as a focus area, the other way round:

- **ahead**: for a focus KPI, the one-sided test of the calibrated focus (:mod:`coachkit.coaching`, with the
  week-to-week variation) finds the rep ahead of its benchmark (the target, else the peers) at the 5% level
  after a Bonferroni correction over the rep's KPIs, by at least ``min_gap`` of the benchmark; for another KPI
  (the feedback score), its 95% interval lies wholly on the good side of the benchmark by that much;
- **improved**: the change from the prior window is real (the change test says ``up``, or ``down`` for a KPI
  where lower is better) and the rep is not behind.

At most :data:`MAX_ITEMS`, those ahead first (by how far ahead, relative to the benchmark), then those improved.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from ..kpis import registry
from .fmt import fmt_n, fmt_value, is_missing, plural
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


def _of(kind: str, kpi: str, n: Any) -> str:
    text = fmt_n(kpi, kind, n) if kind == "rate" else ""
    return f" of {text}" if text and text != "–" else ""


def _ahead_from_candidates(c: pd.DataFrame, min_gap: float, skip: set[str]) -> list[tuple[float, str, Bullet]]:
    out: list[tuple[float, str, Bullet]] = []
    if c is None or c.empty:
        return out
    judged = c[pd.to_numeric(c["p_value"], errors="coerce").notna() & c["kind"].eq("leading").to_numpy(dtype=bool)]
    m = max(len(judged), 1)
    for r in judged.to_dict("records"):
        kpi = str(r["kpi"])
        if kpi in skip or is_missing(r.get("benchmark_value")) or float(r["benchmark_value"]) <= 0:
            continue
        kind = registry[kpi].kind if kpi in registry else "count"
        p_ahead = 1.0 - float(r["p_value"])
        bench = float(r["benchmark_value"])
        better = registry[kpi].higher_is_better if kpi in registry else True
        lead = (float(r["value"]) - bench) * (1 if better else -1)
        if not (p_ahead < 0.05 / m and lead >= min_gap * bench):
            continue
        what = str(r.get("benchmark") or "")
        b = fmt_value(kind, kpi, bench)
        if what in ("peer group", "team median"):
            others = int(r["peers_n"]) - 1 if not is_missing(r.get("peers_n")) else 0
            against = f"the other {plural(others, 'rep')} of the {r.get('peer_label') or 'peers'} ({b})"
        else:
            against = f"the {what} of {b}"
        text = f"{fmt_value(kind, kpi, r['value'])}{_of(kind, kpi, r.get('n'))}, clearly ahead of {against}."
        out.append((lead / bench, kpi, Bullet(str(r["label"]), text)))
    return out


def going_well(
    rows: pd.DataFrame,
    *,
    candidates: pd.DataFrame | None = None,
    min_gap: float = 0.1,
    skip: Iterable[str] = (),
) -> list[Bullet]:
    """The "going well" items of a rep (see the module docstring).

    ``rows``: KPI rows (:func:`coachkit.review.kpi_rows.kpi_rows`: ``kpi``, ``label``, ``kind``, ``value``, ``n``,
    ``ci_low``, ``ci_high``, ``target``, ``target_kind``, ``team_median``, ``prior``, ``change``); ``candidates``:
    the rep's focus candidates (:func:`coachkit.review.sections.focus.rep_candidates`), which decide "ahead" for
    their KPIs; ``skip``: KPIs left out (the focus areas)."""
    skip = set(skip)
    ahead = _ahead_from_candidates(candidates, min_gap, skip) if candidates is not None else []
    judged = set() if candidates is None or candidates.empty else set(candidates["kpi"].astype(str))
    improved = []
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
            behind = hi < bench if better else lo > bench
            if kpi not in judged:
                clear = lo > bench if better else hi < bench
                lead = sign * (value - bench)
                if clear and bench > 0 and lead >= min_gap * abs(bench):
                    text = f"{fmt_value(kind, kpi, value)}{_of(kind, kpi, r.get('n'))}, clearly ahead of {what}."
                    ahead.append((lead / abs(bench), kpi, Bullet(r["label"], text)))
                    continue
        if any(k == kpi for _, k, _ in ahead):
            continue
        good_change = "up" if better else "down"
        if r.get("change") == good_change and not behind:
            prior = fmt_value(kind, kpi, r.get("prior"))
            word = "up" if good_change == "up" else "down"
            improved.append(
                Bullet(r["label"], f"{word} from {prior} to {fmt_value(kind, kpi, value)} on the prior window.")
            )
    ahead.sort(key=lambda x: -x[0])
    return ([b for _, _, b in ahead] + improved)[:MAX_ITEMS]
