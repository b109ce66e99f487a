"""The long KPI table: :func:`kpi_table`, every KPI asked for per rep and period with its interval."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from .. import schema
from ..stats import wilson
from .input import KpiInput
from .registry import _check_columns, import_kpi_modules, registry

__all__ = ["TABLE_COLUMNS", "kpi_table"]

#: Columns of the long table returned by :func:`kpi_table`, in order.
TABLE_COLUMNS: tuple[str, ...] = (
    "rep_id",
    "period_start",
    "kpi",
    "value",
    "numerator",
    "denominator",
    "ci_low",
    "ci_high",
)


def _rate_interval(name: str, num: np.ndarray, den: np.ndarray, idx: pd.MultiIndex) -> tuple[np.ndarray, np.ndarray]:
    """Wilson intervals of a rate KPI's rows; a clear error naming the row when they are not whole counts."""
    try:
        return wilson(num, den)
    except ValueError as exc:
        with np.errstate(invalid="ignore"):
            bad = ~np.isnan(num) & ((num < 0) | (num != np.floor(num)) | (den != np.floor(den)) | (num > den))
        i = int(np.flatnonzero(bad)[0]) if bad.any() else 0
        rep, start = idx[i] if len(idx) else ("?", "?")
        raise ValueError(
            f"KPI {name!r} (kind rate) has numerator {num[i]:g} and denominator {den[i]:g} for rep {rep} in the "
            f"period starting {pd.Timestamp(start):%Y-%m-%d}: {exc}. A rate counts whole events out of whole events; "
            "register a ratio of amounts with kind='mean'."
        ) from None


def kpi_table(
    data: Any,
    *,
    freq: str = "W",
    start: Any = None,
    end: Any = None,
    kpis: Iterable[str] | str | None = None,
    reps: Iterable[str] | str | None = None,
) -> pd.DataFrame:
    """KPIs per rep and calendar period as one long table.

    One row per rep x period x KPI with columns ``rep_id``, ``period_start``
    (the day for ``freq="D"``, the Monday for ``"W"``, the 1st for ``"M"``),
    ``kpi``, ``value``, ``numerator`` and ``denominator`` (NaN for KPIs that are
    not ratios), and ``ci_low`` / ``ci_high``: the 95% Wilson score interval for
    rate KPIs (NaN for other kinds and when the denominator is 0).

    Periods are calendar periods of the local timestamps: the playbook's timezone, or the rep's own
    when the reps table gives one (``timezone``; :func:`coachkit.timezones.rep_local`).
    The grid holds every rep of the reps table x every period of the window,
    limited to periods that end on or after the rep's ``hired_at`` and start on or
    before their ``left_at``. The window runs from the period of the earliest
    activity to the period of the latest; ``start`` / ``end`` replace either end
    with the period containing that date. ``kpis`` selects KPIs by name (default:
    all registered, after importing the playbook's ``[kpis] modules``); ``reps``
    limits the reps. Rows are ordered by KPI (as asked), rep_id, period_start.

    The built-in KPIs defined in SQL (:mod:`coachkit.kpi_sql`) are computed by DuckDB in one scan of the
    activities, on every core; when ``data`` was loaded with ``columns=``, a KPI needing a column that was not
    read is an error.
    """
    import_kpi_modules(data.playbook)
    if kpis is None:
        names = list(registry)
    else:
        names = [kpis] if isinstance(kpis, str) else list(dict.fromkeys(kpis))
        unknown = [k for k in names if k not in registry]
        if unknown:
            raise KeyError(f"unknown KPI(s): {', '.join(unknown)}; known: {', '.join(registry)}")
    _check_columns(data, names)
    inp = KpiInput.from_data(data, freq=freq, start=start, end=end, reps=reps)
    # KPIs defined in SQL: all of those asked for (and those activity_score needs) in one DuckDB query.
    wanted = set(names)
    if "activity_score" in wanted:
        for role in inp.grid["role"].dropna().unique():
            wanted.update(inp.playbook.targets_for(role))
    inp._cache["sql_wanted"] = [n for n in registry if n in wanted and registry[n].sql]
    idx = inp.index
    n = len(idx)
    values, nums, dens, lows, highs = [], [], [], [], []
    for name in names:
        res = inp.result(name)
        num = res["numerator"].to_numpy()
        den = res["denominator"].to_numpy()
        values.append(res["value"].to_numpy())
        nums.append(num)
        dens.append(den)
        if registry[name].kind == "rate":
            lo, hi = _rate_interval(name, num, den, idx)
        else:
            lo = hi = np.full(n, np.nan)
        lows.append(lo)
        highs.append(hi)
    k = len(names)

    def cat(parts: list[np.ndarray]) -> np.ndarray:
        return np.concatenate(parts) if parts else np.array([], dtype="float64")

    rep_codes, rep_ids = pd.factorize(idx.get_level_values(0))
    out = pd.DataFrame(
        {
            "rep_id": _text(rep_ids, np.tile(rep_codes, k)),
            "period_start": np.tile(idx.get_level_values(1).to_numpy(dtype="datetime64[ns]"), k),
            "kpi": _text(names, np.repeat(np.arange(k), n)),
            "value": cat(values),
            "numerator": cat(nums),
            "denominator": cat(dens),
            "ci_low": cat(lows),
            "ci_high": cat(highs),
        }
    )
    return out


def _text(values: Any, codes: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """``values[codes]`` as a pandas string array (``schema.STRING``), taken in Arrow: about 5x faster than
    building it from a Python object array (200,000 rows: 2 ms against 10 ms)."""
    labels = pa.array([str(v) for v in values], type=pa.large_string())
    return pd.array(labels.take(pa.array(codes, type=pa.int64())), dtype=schema.STRING)
