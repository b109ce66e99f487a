"""Honest statistics for sales KPIs: intervals, shrinkage, funnel limits, lagged association, benchmarks.

Pure functions on numbers, arrays and DataFrames; no IO. Every rate here carries
its n, because 3 connects out of 4 dials is not better than 40 out of 100.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "Z95",
    "BetaPrior",
    "Funnel",
    "wilson",
    "poisson_interval",
    "fit_beta_binomial",
    "shrink",
    "funnel_limits",
    "lagged_association",
    "team_benchmarks",
]

#: z = Φ⁻¹(0.975) ≈ 1.959964, the two-sided 95% normal quantile (not the rounded 1.96);
#: the value of ``scipy.stats.norm.ppf(0.975)`` (scipy is imported lazily: ~1.7 s).
Z95: float = 1.959963984540054

#: Default prior strength (pseudo-observations) of the fallback shrinkage prior.
DEFAULT_PRIOR_STRENGTH: float = 10.0

#: The fitted prior is never weaker than this many pseudo-observations (a uniform prior is worth 2).
MIN_PRIOR_STRENGTH: float = 2.0


def _arrays(*xs: Any) -> list[np.ndarray]:
    return list(np.broadcast_arrays(*(np.asarray(x, dtype="float64") for x in xs)))


def wilson(k: Any, n: Any, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """The Wilson score interval for a proportion of ``k`` successes in ``n`` trials.

    low, high = (k + z²/2 ± z·√(k(n−k)/n + z²/4)) / (n + z²), with z = Φ⁻¹(0.975)
    for a 95% interval. Vectorised over ``k`` and ``n`` (broadcast). Returns two
    float arrays, clipped to [0, 1], with low = 0 exactly when k = 0 and high = 1
    exactly when k = n; NaN where n = 0 (or k or n is missing).
    """
    k, n = _arrays(k, n)
    z2 = z * z
    with np.errstate(divide="ignore", invalid="ignore"):
        centre = (k + z2 / 2) / (n + z2)
        half = z / (n + z2) * np.sqrt(np.maximum(k * (n - k) / n, 0.0) + z2 / 4)
        low = np.clip(centre - half, 0.0, 1.0)
        high = np.clip(centre + half, 0.0, 1.0)
    low = np.where(k == 0, 0.0, low)
    high = np.where(k == n, 1.0, high)
    bad = ~(n > 0) | np.isnan(k)
    low = np.where(bad, np.nan, low)
    high = np.where(bad, np.nan, high)
    return low, high


def poisson_interval(k: Any, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """The exact (Garwood) interval for the mean of a Poisson count ``k``.

    low = χ²_{α/2}(2k) / 2 (0 when k = 0) and high = χ²_{1−α/2}(2k + 2) / 2,
    with α = 1 − ``level``. Vectorised; NaN where ``k`` is missing or negative.
    """
    from scipy import stats as _st  # lazy: importing scipy.stats takes ~1.7 s

    (k,) = _arrays(k)
    a = 1.0 - level
    with np.errstate(invalid="ignore"):
        low = np.where(k > 0, _st.chi2.ppf(a / 2, 2 * np.maximum(k, 1e-300)) / 2, 0.0)
        high = _st.chi2.ppf(1 - a / 2, 2 * k + 2) / 2
    bad = ~(k >= 0)
    return np.where(bad, np.nan, low), np.where(bad, np.nan, high)


# ---- empirical-Bayes shrinkage ----------------------------------------------------------------


@dataclass(frozen=True)
class BetaPrior:
    """A beta prior Beta(alpha, beta) for reps' true rates, and how it was obtained.

    ``method`` is ``"moments"`` (fitted across reps by the method of moments) or
    ``"fallback"`` (a weak prior centred on the pooled rate); ``reason`` says why
    the fallback was used.
    """

    alpha: float
    beta: float
    method: str
    reason: str = ""

    @property
    def mean(self) -> float:
        """The prior mean alpha / (alpha + beta)."""
        return self.alpha / (self.alpha + self.beta)

    @property
    def strength(self) -> float:
        """alpha + beta: how many observations the prior is worth."""
        return self.alpha + self.beta


def fit_beta_binomial(
    k: Any,
    n: Any,
    *,
    prior_strength: float = DEFAULT_PRIOR_STRENGTH,
    min_reps: int = 3,
) -> BetaPrior:
    """Fit a beta prior to reps' counts: rep i had ``k[i]`` successes in ``n[i]`` trials.

    Method of moments for the beta-binomial (weighted by n): with pooled rate
    p = Σk / Σn, N = Σn, R = the number of reps with n > 0 and
    S = Σ nᵢ (kᵢ/nᵢ − p)², the intra-rep correlation is
    ρ = (S / (p(1 − p)) − (R − 1)) / (N − Σnᵢ² / N − (R − 1)),
    and the prior is Beta(p·M, (1 − p)·M) with strength M = max(1/ρ − 1, 2): at
    least two pseudo-observations (as much as a uniform prior), because ρ near 1
    usually means too little data, not reps that share nothing.

    Fallback (``method="fallback"``): a weak prior Beta(c·m, (1 − c)·m) with
    m = ``prior_strength`` pseudo-observations, centred on the pooled rate c = p,
    used when fewer than ``min_reps`` reps have n > 0, when the spread between
    reps is not above binomial noise (ρ ≤ 0, so the moments cannot say how much
    reps differ), or when the pooled rate is 0 or 1. In that last case (and with
    no data at all) the centre is c = (Σk + ½) / (Σn + 1), so that the prior stays
    proper. Reps with n = 0 or missing values are ignored in the fit.
    """
    k, n = _arrays(k, n)
    ok = (n > 0) & ~np.isnan(k)
    k, n = k[ok], n[ok]
    big_n = float(n.sum())
    reps = int(ok.sum())
    pooled = float(k.sum()) / big_n if big_n > 0 else np.nan

    def fallback(reason: str) -> BetaPrior:
        c = pooled
        if not (0.0 < c < 1.0):
            c = (float(k.sum()) + 0.5) / (big_n + 1.0)
        return BetaPrior(c * prior_strength, (1.0 - c) * prior_strength, "fallback", reason)

    if reps < min_reps:
        return fallback(f"only {reps} reps with data (need {min_reps})")
    if not (0.0 < pooled < 1.0):
        return fallback(f"pooled rate is {pooled:g}")
    s = float((n * (k / n - pooled) ** 2).sum())
    denom = big_n - float((n**2).sum()) / big_n - (reps - 1)
    rho = (s / (pooled * (1 - pooled)) - (reps - 1)) / denom if denom > 0 else np.nan
    if not (rho > 0):
        return fallback("spread between reps is not above binomial noise")
    # reps look almost entirely different (often just tiny n): keep at least MIN_PRIOR_STRENGTH
    strength = max(1.0 / rho - 1.0, MIN_PRIOR_STRENGTH)
    return BetaPrior(pooled * strength, (1 - pooled) * strength, "moments")


def shrink(
    k: Any,
    n: Any,
    *,
    prior: BetaPrior | None = None,
    prior_strength: float = DEFAULT_PRIOR_STRENGTH,
    level: float = 0.95,
) -> pd.DataFrame:
    """Empirical-Bayes shrunken rates: each rep's rate pulled towards the team by its own n.

    With the prior Beta(a, b) from :func:`fit_beta_binomial` (fitted on ``k``
    and ``n`` unless ``prior`` is given), rep i's posterior is
    Beta(a + kᵢ, b + nᵢ − kᵢ). Columns: ``k``, ``n``, ``raw`` (k/n, NaN when n = 0),
    ``mean`` (posterior mean (a + k)/(a + b + n)), ``ci_low``/``ci_high`` (the
    equal-tailed ``level`` credible interval, by the beta quantile function),
    ``prior_mean``, ``method``. A rep with n = 0 gets the prior. Rank reps by
    ``mean`` (or ``ci_low``), never by ``raw``. The index is ``k``'s index when it
    is a Series, else 0..len-1.
    """
    from scipy import stats as _st  # lazy: importing scipy.stats takes ~1.7 s

    index = k.index if isinstance(k, pd.Series) else None
    ka, na = _arrays(k, n)
    ka, na = np.atleast_1d(ka), np.atleast_1d(na)
    if prior is None:
        prior = fit_beta_binomial(ka, na, prior_strength=prior_strength)
    kk = np.where(na > 0, ka, 0.0)
    nn = np.where(na > 0, na, 0.0)
    a_post = prior.alpha + kk
    b_post = prior.beta + nn - kk
    tail = (1.0 - level) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        raw = np.where(na > 0, ka / na, np.nan)
    out = pd.DataFrame(
        {
            "k": ka,
            "n": na,
            "raw": raw,
            "mean": a_post / (a_post + b_post),
            "ci_low": _st.beta.ppf(tail, a_post, b_post),
            "ci_high": _st.beta.ppf(1 - tail, a_post, b_post),
            "prior_mean": prior.mean,
            "method": prior.method,
        },
        index=index,
    )
    return out


# ---- funnel plot --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Funnel:
    """Funnel-plot data: the team rate ``p0``, control ``limits`` by volume, and flagged ``reps``."""

    p0: float
    limits: pd.DataFrame
    reps: pd.DataFrame


def _level_name(level: float) -> str:
    return f"{level * 100:g}"


def funnel_limits(
    k: Any,
    n: Any,
    levels: Sequence[float] = (0.95, 0.998),
    *,
    grid_size: int = 400,
) -> Funnel:
    """Funnel-plot data for a rate KPI: rep i had ``k[i]`` successes in ``n[i]`` trials.

    The team rate is p0 = Σk / Σn. For each ``level`` L the control limits at
    volume n are exact binomial quantiles divided by n:
    lower = Binom⁻¹((1 − L)/2; n, p0) / n and upper = Binom⁻¹((1 + L)/2; n, p0) / n
    (``scipy.stats.binom.ppf``; a step function of n, no normal approximation).

    ``limits`` has one row per grid volume and level: ``n``, ``level``, ``lower``,
    ``upper``; the grid is every integer 1..max n, or ``grid_size`` geometrically
    spaced integers when max n is larger. ``reps`` (same index as ``k`` when it is a
    Series) has ``k``, ``n``, ``rate`` and, per level with suffix ``_95``,
    ``_99.8``: ``lower_*``, ``upper_*`` at the rep's own n, and ``flag_*`` =
    ``"above"`` when the rate is strictly above the upper limit, ``"below"`` when
    strictly below the lower one, else ``"within"``; missing when n = 0.
    """
    from scipy import stats as _st  # lazy: importing scipy.stats takes ~1.7 s

    index = k.index if isinstance(k, pd.Series) else None
    ka, na = _arrays(k, n)
    ka, na = np.atleast_1d(ka), np.atleast_1d(na)
    valid = (na > 0) & ~np.isnan(ka)
    total = na[valid].sum()
    p0 = float(ka[valid].sum() / total) if total > 0 else np.nan
    max_n = int(na[valid].max()) if valid.any() else 0
    if max_n <= grid_size:
        grid = np.arange(1, max_n + 1, dtype="float64")
    else:
        grid = np.unique(np.round(np.geomspace(1, max_n, grid_size)))

    def limits_at(vol: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
        tail = (1.0 - level) / 2
        with np.errstate(divide="ignore", invalid="ignore"):
            lo = _st.binom.ppf(tail, vol, p0) / vol
            hi = _st.binom.ppf(1 - tail, vol, p0) / vol
        bad = ~(vol > 0) | np.isnan(p0)
        return np.where(bad, np.nan, lo), np.where(bad, np.nan, hi)

    parts = []
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(valid, ka / na, np.nan)
    reps = pd.DataFrame({"k": ka, "n": na, "rate": rate}, index=index)
    for level in levels:
        lo, hi = limits_at(grid, level)
        parts.append(pd.DataFrame({"n": grid, "level": float(level), "lower": lo, "upper": hi}))
        rlo, rhi = limits_at(na, level)
        flag = np.where(rate > rhi, "above", np.where(rate < rlo, "below", "within"))
        name = _level_name(level)
        reps[f"lower_{name}"] = rlo
        reps[f"upper_{name}"] = rhi
        reps[f"flag_{name}"] = pd.Series(np.where(valid, flag, None), index=reps.index, dtype="str")
    limits = (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame({c: pd.Series(dtype="float64") for c in ("n", "level", "lower", "upper")})
    )
    return Funnel(p0=p0, limits=limits, reps=reps)


# ---- lagged association -----------------------------------------------------------------------


def _pearson_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of ``a`` (1-D) with each row of ``b`` (2-D)."""
    ac = a - a.mean()
    bc = b - b.mean(axis=-1, keepdims=True)
    num = bc @ ac
    den = np.sqrt((ac**2).sum() * (bc**2).sum(axis=-1))
    return num / den


def lagged_association(
    x: Any,
    y: Any,
    lags: Sequence[int] = (1, 2, 3, 4),
    n_perm: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """Exploratory association of effort in week t with an outcome in week t + lag.

    ``x`` and ``y`` are weekly series over the same consecutive weeks (pandas
    Series are aligned on their index and sorted by it first; arrays are taken
    by position). For each lag, the pairs (x[t], y[t + lag]) with both values
    present give Spearman's ρ (Pearson correlation of average ranks), a two-sided
    permutation p-value = (1 + #{|ρ*| ≥ |ρ|}) / (n_perm + 1) over ``n_perm``
    random re-pairings (numpy generator seeded by ``seed``), and n = the number
    of pairs. Columns: ``lag``, ``rho``, ``p_value``, ``n``, ``label``
    (always ``"exploratory"``: weekly series are autocorrelated and lags are not
    corrected for multiple testing, so this suggests, it does not prove) and
    ``reason`` (why ρ is NaN: fewer than 4 pairs, or a constant series).
    """
    from scipy import stats as _st  # lazy: importing scipy.stats takes ~1.7 s

    if isinstance(x, pd.Series) and isinstance(y, pd.Series):
        both = pd.concat({"x": x, "y": y}, axis=1).sort_index()
        xa = both["x"].to_numpy(dtype="float64")
        ya = both["y"].to_numpy(dtype="float64")
    else:
        xa = np.asarray(x, dtype="float64").ravel()
        ya = np.asarray(y, dtype="float64").ravel()
        if xa.shape != ya.shape:
            raise ValueError(f"x and y must cover the same weeks; got lengths {xa.size} and {ya.size}")
    rng = np.random.default_rng(seed)
    rows = []
    for lag in lags:
        if lag < 0:
            raise ValueError(f"lags must be >= 0, got {lag}")
        xs = xa[: max(xa.size - lag, 0)]
        ys = ya[lag:]
        keep = ~np.isnan(xs) & ~np.isnan(ys)
        xs, ys = xs[keep], ys[keep]
        m = int(xs.size)
        rho, p, reason = np.nan, np.nan, ""
        if m < 4:
            reason = f"only {m} pairs (need 4)"
        elif np.all(xs == xs[0]):
            reason = "effort series is constant"
        elif np.all(ys == ys[0]):
            reason = "outcome series is constant"
        else:
            rx = _st.rankdata(xs)
            ry = _st.rankdata(ys)
            rho = float(_pearson_rows(rx, ry[None, :])[0])
            perms = rng.permuted(np.tile(ry, (n_perm, 1)), axis=1)
            null = _pearson_rows(rx, perms)
            # a small tolerance so that permutations tying the observed rho count as extreme
            p = float((1 + np.sum(np.abs(null) >= abs(rho) - 1e-12)) / (n_perm + 1))
        rows.append({"lag": int(lag), "rho": rho, "p_value": p, "n": m, "label": "exploratory", "reason": reason})
    out = pd.DataFrame(rows, columns=["lag", "rho", "p_value", "n", "label", "reason"])
    return out.astype({"lag": "int64", "rho": "float64", "p_value": "float64", "n": "int64"})


# ---- team benchmarks ----------------------------------------------------------------------------


def team_benchmarks(table: pd.DataFrame, teams: pd.DataFrame | pd.Series) -> pd.DataFrame:
    """Each rep's value against the team, per KPI and period.

    ``table`` is :func:`coachkit.kpi_table`'s long format (``rep_id``,
    ``period_start``, ``kpi``, ``value``, ...). ``teams`` is the reps frame
    (``rep_id`` and ``team`` columns) or a Series rep_id -> team. Reps with no
    team form one group together; reps missing from ``teams`` likewise.

    Returns ``table`` with added columns, per (team, kpi, period_start) over the
    reps whose value is not NaN: ``team``, ``team_n`` (number of such reps),
    ``team_median`` (their median value), and ``percentile`` = 100 × (r − 1) / (m − 1)
    where r is the rep's rank among the m values (ties get their average rank),
    so the lowest is 0 and the highest 100; 50 when m = 1; NaN when the rep's own
    value is NaN.
    """
    if isinstance(teams, pd.DataFrame):
        mapping = teams.drop_duplicates("rep_id").set_index("rep_id")["team"]
    else:
        mapping = teams
    out = table.copy()
    out["team"] = out["rep_id"].map(mapping)
    keys = ["team", "kpi", "period_start"]
    g = out.groupby(keys, dropna=False, sort=False)["value"]
    out["team_n"] = g.transform("count").astype("int64")
    out["team_median"] = g.transform("median")
    rank = g.rank(method="average")
    m = out["team_n"].astype("float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(m > 1, 100.0 * (rank - 1.0) / (m - 1.0), 50.0)
    out["percentile"] = np.where(out["value"].notna(), pct, np.nan)
    return out
