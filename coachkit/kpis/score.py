"""The activity score: how far a rep met their role's targets in a period, from the other KPIs."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .input import KpiInput
from .registry import kpi, registry


@kpi("activity_score", label="Activity score", unit="score 0–100", kind="score")
def activity_score(inp: KpiInput) -> pd.DataFrame:
    """For each target k of the rep's role in the playbook, with weight w_k (default 1): expected_k = per-day
    target × working days in the period, or per-week target × working days / 5, then × the ramp factor for
    the rep's tenure week at the period start (floor((period_start − hired_at) / 7 days) + 1; factor 1 without
    hired_at). a_k = actual_k / expected_k. score = 100 × Σ w_k · min(a_k, 1) / Σ w_k, so 100 means every target met:
    running over one target (150% of the calls) cannot make up for missing another (see
    coachkit.coaching.activity_score_parts for each target's uncapped attainment). Targets whose expected_k is 0
    (no working days) or whose actual_k is undefined are left out; NaN when the role has no targets or none
    remain."""
    pb = inp.playbook
    g = inp.grid
    n = len(g)
    score = np.full(n, np.nan)
    if n == 0:
        return inp.frame(score)
    starts = g.index.get_level_values(1)
    work = pb.working_days_between(starts, g["period_end"]).astype("float64")
    tenure_days = (starts.to_numpy(dtype="datetime64[ns]") - g["hired_at"].to_numpy(dtype="datetime64[ns]")).astype(
        "timedelta64[D]"
    )
    hired = ~np.isnat(tenure_days)
    week = np.where(hired, np.floor_divide(tenure_days.astype(np.int64), 7) + 1, 0)
    factors = {int(w): pb.ramp_factor(int(w)) for w in np.unique(week[hired])}
    ramp = np.where(hired, pd.Series(week).map(factors).to_numpy(dtype="float64", na_value=1.0), 1.0)
    roles = g["role"].to_numpy(dtype=object, na_value=None)
    for role in pd.unique(roles[pd.notna(roles)]):
        targets = pb.targets_for(role)
        if not targets:
            continue
        rows = np.flatnonzero(roles == role)
        num = np.zeros(len(rows))
        den = np.zeros(len(rows))
        for name, (per, target) in targets.items():
            if name not in registry:
                raise ValueError(
                    f"{pb.source}: `targets.{role}.per_{per}.{name}` names an unknown KPI; known: {', '.join(registry)}"
                )
            actual = inp.value(name)[rows]
            expected = target * work[rows] * (1.0 if per == "day" else 1 / 5) * ramp[rows]
            use = (expected > 0) & ~np.isnan(actual)
            with np.errstate(divide="ignore", invalid="ignore"):
                a = np.minimum(np.where(use, actual / np.where(use, expected, 1.0), 0.0), 1.0)
            w = float(pb.weights.get(name, 1))
            num += np.where(use, w * a, 0.0)
            den += np.where(use, w, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            score[rows] = np.where(den > 0, 100.0 * num / np.where(den > 0, den, 1.0), np.nan)
    return inp.frame(score)
