"""Checks for a KPI experiment (``notebooks/kpi_lab.ipynb``): its distribution, its n per rep-period, how it
correlates with the existing KPIs, and how stable it is from one period to the next.

All functions take :func:`coachkit.kpi_table` rows (long format) and return small frames.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats as _st

__all__ = ["DUPLICATE_RHO", "profile", "correlations", "duplicates", "stability"]

#: An experiment whose Spearman |ρ| with an existing KPI is at least this duplicates it: across rep-periods the
#: two rank reps the same way (ρ² ≥ 0.81 of the rank variance shared), so the new one adds little.
DUPLICATE_RHO = 0.9

_QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)


def profile(table: pd.DataFrame, kpi: str) -> pd.DataFrame:
    """Distribution of ``kpi`` over rep-periods: one row per measure (``values``, and ``n`` = the denominator
    when the KPI is a ratio) with ``rep_periods`` (rows), ``missing`` (NaN rows), ``mean``, ``sd`` and the
    10/25/50/75/90% quantiles of the non-missing values."""
    rows = table[table["kpi"] == kpi]
    if rows.empty:
        raise KeyError(f"KPI {kpi!r} is not in the table; it has {sorted(table['kpi'].unique())}")
    parts = {"value": rows["value"]}
    if rows["denominator"].notna().any():
        parts["n (denominator)"] = rows["denominator"]
    out = []
    for name, s in parts.items():
        v = s.dropna()
        q = v.quantile(list(_QUANTILES)) if len(v) else pd.Series(np.nan, index=_QUANTILES)
        out.append(
            {
                "measure": name,
                "rep_periods": len(s),
                "missing": int(s.isna().sum()),
                "mean": v.mean(),
                "sd": v.std(ddof=1),
                **{f"p{int(k * 100)}": q[k] for k in _QUANTILES},
            }
        )
    return pd.DataFrame(out)


def correlations(table: pd.DataFrame, kpi: str, others: Sequence[str] | None = None) -> pd.DataFrame:
    """Spearman ρ between ``kpi`` and each other KPI across rep-periods where both have a value: ``kpi``
    (the other), ``rho``, ``n`` (rep-periods), sorted by |ρ| (largest first). A high |ρ| means the new KPI
    adds little beyond that one. NaN ρ with fewer than 3 pairs or a constant series."""
    wide = table.pivot_table(index=["rep_id", "period_start"], columns="kpi", values="value", dropna=False)
    others = [k for k in (others or wide.columns) if k != kpi and k in wide.columns]
    rows = []
    for other in others:
        both = wide[[kpi, other]].dropna()
        m = len(both)
        rho = np.nan
        if m >= 3 and both[kpi].nunique() > 1 and both[other].nunique() > 1:
            rho = float(_st.spearmanr(both[kpi], both[other]).statistic)
        rows.append({"kpi": other, "rho": rho, "n": m})
    out = pd.DataFrame(rows, columns=["kpi", "rho", "n"])
    return (
        out.assign(_a=out["rho"].abs())
        .sort_values("_a", ascending=False, na_position="last")
        .drop(columns="_a")
        .reset_index(drop=True)
    )


def duplicates(corr: pd.DataFrame, kpi: str, *, threshold: float = DUPLICATE_RHO) -> str:
    """In one plain sentence: does the experiment ``kpi`` duplicate an existing KPI? From :func:`correlations`
    (``kpi``, ``rho``, ``n``): every KPI with |ρ| ≥ ``threshold`` (:data:`DUPLICATE_RHO`), strongest first,
    each with its ρ and n; otherwise the strongest correlation, to show how far from a duplicate it is."""
    from .kpis import registry

    def name(k: str) -> str:
        d = registry.get(k)
        return f"{d.label} ({k})" if d is not None and d.label != k else k

    rho = corr.dropna(subset=["rho"])
    if rho.empty:
        return f"{kpi}: no correlation could be computed (fewer than 3 rep-periods with values, or a constant KPI)."
    dup = rho[rho["rho"].abs() >= threshold]
    if len(dup):
        parts = "; ".join(f"{name(r.kpi)}, ρ = {r.rho:.2f} over {r.n:,} rep-periods" for r in dup.itertuples())
        which = "that KPI" if len(dup) == 1 else "those KPIs"
        return (
            f"**{kpi} duplicates an existing KPI**: {parts}. It ranks reps almost exactly as {which} "
            f"(|ρ| ≥ {threshold:g}), so it adds little: keep the existing KPI, or show what the new one tells a "
            "coach that the old one does not."
        )
    top = rho.iloc[0]
    return (
        f"{kpi} duplicates no existing KPI: its strongest correlation is with {name(top['kpi'])}, "
        f"ρ = {top['rho']:.2f} over {int(top['n']):,} rep-periods (a duplicate would be |ρ| ≥ {threshold:g})."
    )


def stability(table: pd.DataFrame, kpi: str) -> pd.DataFrame:
    """How much ``kpi`` is a property of the rep rather than noise, from one period to the next:

    ``lag1_rho``: Spearman ρ of each rep's value in period t with their value in period t + 1, over all such
    pairs (``pairs``); ``between_rep_share``: share of the variance of rep-period values explained by the rep
    (η² of a one-way ANOVA on rep). Both near 0 mean the KPI is mostly noise week to week."""
    rows = table[(table["kpi"] == kpi)].sort_values(["rep_id", "period_start"])
    nxt = rows.groupby("rep_id")["value"].shift(-1)
    pairs = pd.DataFrame({"a": rows["value"], "b": nxt}).dropna()
    rho = np.nan
    if len(pairs) >= 3 and pairs["a"].nunique() > 1 and pairs["b"].nunique() > 1:
        rho = float(_st.spearmanr(pairs["a"], pairs["b"]).statistic)
    v = rows.dropna(subset=["value"])
    total = float(((v["value"] - v["value"].mean()) ** 2).sum())
    between = float((v.groupby("rep_id")["value"].transform("mean") - v["value"].mean()).pow(2).sum())
    share = between / total if total > 0 else np.nan
    return pd.DataFrame(
        [{"kpi": kpi, "lag1_rho": rho, "pairs": len(pairs), "between_rep_share": share, "reps": v["rep_id"].nunique()}]
    )
