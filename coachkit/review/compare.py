"""A value against its past and its benchmark, in words: the change from the prior window at the
5% level (:func:`change`), "below the role target" (:func:`versus`), "up from 8%" (:func:`since`),
and the t interval of a mean.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy import stats as _st

from ..kpis import registry
from ..window import Window
from .fmt import fmt_value, is_missing, plural


def t_interval(x: np.ndarray) -> tuple[float, float]:
    """The 95% t interval (low, high) of the mean of ``x`` (1-D floats); (NaN, NaN) with fewer than 2 values."""
    if len(x) < 2:
        return np.nan, np.nan
    m, s = float(np.mean(x)), float(np.std(x, ddof=1))
    h = float(_st.t.ppf(0.975, len(x) - 1)) * s / math.sqrt(len(x))
    return m - h, m + h


def change(kind: str, k1: float, n1: float, k2: float, n2: float, w1: float = 1.0, w2: float = 1.0) -> str:
    """'up', 'down' or 'same' for this window (k1 of n1) against the prior (k2 of n2), at the 5% level.

    Rates: two-proportion z-test. Counts (k only): exact binomial test of k1 given k1 + k2 with
    p = w1 / (w1 + w2), w the exposure (working days). Anything without data, or with a missing value: ''.
    """
    if any(is_missing(v) for v in (k1, n1, k2, n2, w1, w2)):
        return ""
    if kind == "rate":
        if not (n1 > 0 and n2 > 0):
            return ""
        p = (k1 + k2) / (n1 + n2)
        if p in (0.0, 1.0):
            return "same"
        z = (k1 / n1 - k2 / n2) / math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2))
        pval = 2 * _st.norm.sf(abs(z))
        diff = k1 / n1 - k2 / n2
    elif kind == "count":
        if k1 + k2 <= 0 or not (w1 > 0 and w2 > 0):
            return "" if k1 + k2 <= 0 and not (w1 > 0 and w2 > 0) else ("same" if k1 + k2 <= 0 else "")
        pval = _st.binomtest(int(round(k1)), int(round(k1 + k2)), w1 / (w1 + w2)).pvalue
        diff = k1 / w1 - k2 / w2
    else:
        raise ValueError(kind)
    if pval >= 0.05:
        return "same"
    return "up" if diff > 0 else "down"


def versus(row: Mapping[str, Any]) -> str:
    """ "below the 10% playbook benchmark" when the interval excludes it, else "in line with ..."."""
    target = row.get("target")
    if is_missing(target) or not row.get("target_kind") or is_missing(row.get("value")):
        return ""
    kind, kpi = row["kind"], row["kpi"]
    what = f"the {row['target_kind']} of {fmt_value(kind, kpi, target)}"
    if row["target_kind"] == "on target":
        what = "target (100)"
    lo, hi = row.get("ci_low"), row.get("ci_high")
    if is_missing(lo) or is_missing(hi):
        lo = hi = row["value"]
        if abs(float(row["value"]) - float(target)) < 5:
            return f"around {what}"
    better = registry[kpi].higher_is_better
    if hi < target:
        return f"{'below' if better else 'better than'} {what}"
    if lo > target:
        return f"{'above' if better else 'worse than'} {what}"
    return f"in line with {what}"


def against(row: Mapping[str, Any]) -> str:
    """ "the 80% playbook benchmark" as a plain comparison, without claiming a difference (the sections leave the
    judgement to the calibrated focus and the change to the scorecard): "against the playbook benchmark of 80%";
    '' without a target."""
    target = row.get("target")
    if is_missing(target) or not row.get("target_kind") or row.get("target_kind") == "on target":
        return ""
    return f"against the {row['target_kind']} of {fmt_value(row['kind'], row['kpi'], target)}"


def since(row: Mapping[str, Any], window: Window) -> str:
    """The change from the prior window in words ("up from 8% in the prior 4 weeks", "no clear change ..."),
    from a summary row's ``kind``, ``kpi``, ``prior`` and ``change`` (:func:`change`)."""
    kind, kpi = row["kind"], row["kpi"]
    prior = fmt_value(kind, kpi, row.get("prior"))
    span = f"the prior {plural(window.weeks, 'week')}"
    ch = row.get("change")
    if ch == "up":
        return f"up from {prior} in {span}"
    if ch == "down":
        return f"down from {prior} in {span}"
    if ch == "same":
        return f"no clear change from {span} ({prior})"
    if is_missing(row.get("prior")):
        return f"no data for {span}"
    return f"{span}: {prior}"
