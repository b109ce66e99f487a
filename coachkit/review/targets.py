"""The rep's targets over a review window: count targets scaled to the window's working days and
the ramp of a new hire, and rate targets (role target, else playbook benchmark).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..window import Window
from .fmt import is_missing
from .rows import rep_row


def ramp_factors(pb: Any, week_starts: pd.Series, hired_at: Any) -> np.ndarray:
    """The playbook's ramp factor of each week start's tenure week (floor((start − hired_at) / 7 days) + 1); 1 without ``hired_at``."""
    if is_missing(hired_at):
        return np.ones(len(week_starts))
    days = (pd.to_datetime(week_starts) - pd.Timestamp(hired_at)).dt.days.to_numpy()
    return np.array([pb.ramp_factor(int(d // 7) + 1) for d in days], dtype="float64")


def count_target(data: Any, rep_id: str, window: Window, kpi: str, prior: bool = False) -> float:
    """The role target of a count KPI over the window: Σ over its weeks of per-day target × working days in
    the window part of the week (per-week target × those days / 5) × the ramp factor of the tenure week."""
    me = rep_row(data, rep_id)
    pb = data.playbook
    targets = pb.targets_for(me.get("role"))
    if kpi not in targets:
        return np.nan
    per, value = targets[kpi]
    start, end = (window.prior_start, window.prior_end) if prior else (window.start, window.end)
    weeks = pd.Series(pd.date_range(start, end, freq="7D"))
    lo = weeks.clip(lower=start)
    hi = (weeks + pd.Timedelta(days=7)).clip(upper=end + pd.Timedelta(days=1))
    hired = me.get("hired_at")
    left = me.get("left_at")
    if not is_missing(hired):
        lo = lo.clip(lower=pd.Timestamp(hired))
    if not is_missing(left):
        hi = hi.clip(upper=pd.Timestamp(left) + pd.Timedelta(days=1))
    ok = hi > lo
    if not ok.any():
        return 0.0
    work = pb.working_days_between(lo[ok], hi[ok]).astype("float64")
    ramp = ramp_factors(pb, weeks[ok], hired)
    return float(np.sum(value * work * (1.0 if per == "day" else 0.2) * ramp))


def rate_target(data: Any, rep_id: str, kpi: str) -> tuple[float, str]:
    """(target, what it is) of a rate KPI: the role target, else the playbook benchmark, else (NaN, "")."""
    pb = data.playbook
    targets = pb.targets_for(rep_row(data, rep_id).get("role"))
    if kpi in targets:
        return targets[kpi][1], "role target"
    if kpi in pb.benchmarks:
        return float(pb.benchmarks[kpi]), "playbook benchmark"
    return np.nan, ""
