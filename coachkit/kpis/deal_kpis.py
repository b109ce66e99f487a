"""The built-in deal KPIs: deals created, pipeline created, win rate and sales cycle, by the deals' periods."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .input import KpiInput
from .periods import _DAY_NS
from .registry import kpi


@kpi("deals_created", label="Deals created", unit="deals", kind="count", columns={"deals": ()})
def deals_created(inp: KpiInput) -> pd.DataFrame:
    """Number of deals whose created_at falls in the period, attributed to the deal's rep_id."""
    return inp.frame(inp.deal_count("created_period"))


@kpi("pipeline_created", label="Pipeline created", unit="amount", kind="sum", columns={"deals": ("amount", "currency")})
def pipeline_created(inp: KpiInput) -> pd.DataFrame:
    """Σ amount of the deals whose created_at falls in the period, attributed to the deal's rep_id; a missing
    amount counts as 0. Currencies (deals' optional currency column): with the playbook's [currency] block each
    amount is converted to its base currency (amount × rate; a deal without a currency is in the base); a
    currency without a rate makes the rep-period's value missing. Without the block, amounts in different
    currencies are never added up: a rep-period whose deals mix currencies is missing (NaN), with a warning."""
    import warnings

    pb = inp.playbook
    d = inp.deals
    amount = d["amount"].to_numpy(dtype="float64", na_value=np.nan)
    cur = d["currency"].str.strip().str.upper() if "currency" in d.columns else None
    if cur is None or not cur.notna().any():
        return inp.frame(inp.deal_count("created_period", weights=amount))
    cells = inp.deal_cells("created_period")
    n = len(inp.grid)
    if pb.currency_base:
        rate = cur.map(pb.currency_rates).to_numpy(dtype="float64", na_value=np.nan)
        rate = np.where(cur.isna().to_numpy(), 1.0, rate)
        unknown = np.isnan(rate) & (cells >= 0)
        value = inp.deal_count("created_period", weights=amount * np.nan_to_num(rate, nan=0.0))
        if unknown.any():
            names = sorted(set(cur[unknown].dropna()))
            warnings.warn(
                f"pipeline_created: no [currency] rate for {', '.join(names)} (base {pb.currency_base}); "
                "those rep-periods are left empty. Add the rates to the playbook's [currency] rates.",
                stacklevel=2,
            )
            value[np.unique(cells[unknown])] = np.nan
        return inp.frame(value)
    codes, _ = pd.factorize(cur)
    on = (codes >= 0) & (cells >= 0)
    lo = np.full(n, np.iinfo(np.int64).max)
    hi = np.full(n, -1)
    np.minimum.at(lo, cells[on], codes[on])
    np.maximum.at(hi, cells[on], codes[on])
    mixed = (hi >= 0) & (lo != hi)
    value = inp.deal_count("created_period", weights=amount)
    if mixed.any():
        warnings.warn(
            f"pipeline_created: {int(mixed.sum())} rep-period(s) have deals in more than one currency "
            f"({', '.join(sorted(set(cur.dropna())))}) and are left empty: amounts in different currencies are "
            "never added up. Add a [currency] block (base and rates) to the playbook to convert them.",
            stacklevel=2,
        )
        value[mixed] = np.nan
    return inp.frame(value)


def _closed(inp: KpiInput) -> tuple[np.ndarray, np.ndarray]:
    """(won, decided): deals with a closed_at, is_closed not false, and is_won true / is_won set."""
    d = inp.deals
    is_won = d["is_won"]
    closed = d["closed_at"].notna().to_numpy(dtype=bool) & d["is_closed"].ne(False).to_numpy(dtype=bool, na_value=True)
    decided = closed & is_won.notna().to_numpy(dtype=bool)
    won = decided & is_won.to_numpy(dtype=bool, na_value=False)
    return won, decided


@kpi("win_rate", label="Win rate", unit="%", kind="rate", columns={"deals": ("closed_at", "is_won", "is_closed")})
def win_rate(inp: KpiInput) -> pd.DataFrame:
    """Deals closed won in the period / deals closed won or lost in the period, by closed_at, attributed to the
    deal's rep_id. A deal is closed when it has a closed_at and is_closed is not false; won or lost is is_won."""
    won, decided = _closed(inp)
    return inp.frame(
        numerator=inp.deal_count("closed_period", won), denominator=inp.deal_count("closed_period", decided)
    )


@kpi(
    "cycle_days",
    label="Sales cycle",
    unit="days",
    kind="mean",
    higher_is_better=False,
    columns={"deals": ("closed_at", "is_won", "is_closed")},
)
def cycle_days(inp: KpiInput) -> pd.DataFrame:
    """Mean of (closed_at − created_at) in days (fractional) over the deals won in the period, by closed_at
    (numerator = Σ days, denominator = number of deals won)."""
    won, _ = _closed(inp)
    d = inp.deals
    days = (d["closed_at"] - d["created_at"]).to_numpy(dtype="timedelta64[ns]").astype(np.int64) / _DAY_NS
    won = won & d["created_at"].notna().to_numpy(dtype=bool)
    return inp.frame(
        numerator=inp.deal_count("closed_period", won, np.where(won, days, 0.0)),
        denominator=inp.deal_count("closed_period", won),
    )
