"""Honest statistics for sales KPIs: intervals, overdispersion, tests, shrinkage, funnel limits, trends.

Pure functions on numbers, arrays and DataFrames; no IO. Every rate here carries
its n, because 3 connects out of 4 dials is not better than 40 out of 100.

Weekly sales counts vary far more than a Poisson count would (a stationary rep's
weekly calls have a variance about 9 times their mean), and weekly rates vary more
than a binomial proportion would. So every interval and test here takes a
dispersion ``phi`` (φ ≥ 1), estimated from a peer group's rep-weeks by
:func:`count_dispersion` / :func:`rate_dispersion`, and its residual degrees of
freedom ``df`` (tests use the t distribution with ``df``); φ = 1 and df = ∞ give
the plain Poisson / binomial methods.

scipy and statsmodels are imported inside the functions that need them (importing
them costs seconds, and ``import coachkit`` must stay fast for the review kernels).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "Z95",
    "BetaPrior",
    "Dispersion",
    "Funnel",
    "wilson",
    "poisson_interval",
    "count_interval",
    "sum_interval",
    "count_dispersion",
    "rate_dispersion",
    "count_p_below",
    "rate_p_below",
    "compare_counts",
    "compare_rates",
    "fit_beta_binomial",
    "shrink",
    "funnel_limits",
    "trend",
    "effort_association",
    "capped_score_interval",
    "lagged_association",
]

#: z = Φ⁻¹(0.975) ≈ 1.959964, the two-sided 95% normal quantile (not the rounded 1.96);
#: the value of ``scipy.stats.norm.ppf(0.975)`` (scipy is imported lazily: ~1.7 s).
Z95: float = 1.959963984540054

#: Labels of a two-sided comparison (:func:`compare_counts`, :func:`compare_rates`).
UP, DOWN, SAME = "up", "down", "no clear change"


def _arrays(*xs: Any) -> list[np.ndarray]:
    return list(np.broadcast_arrays(*(np.asarray(x, dtype="float64") for x in xs)))


def _check_counts(name: str, x: np.ndarray) -> None:
    """Raise ValueError naming the first value of ``x`` that is not a whole number >= 0 (NaN = missing is allowed)."""
    with np.errstate(invalid="ignore"):
        bad = ~np.isnan(x) & ~((x >= 0) & np.isfinite(x) & (x == np.floor(x)))
    if bad.any():
        v = x[bad].flat[0]
        raise ValueError(f"{name} must be a whole number of events >= 0, got {v:g}")


def _check_phi(phi: Any) -> np.ndarray:
    p = np.asarray(phi, dtype="float64")
    with np.errstate(invalid="ignore"):
        bad = ~np.isnan(p) & ~(p > 0)
    if bad.any():
        raise ValueError(f"the dispersion phi must be > 0 (1 = no overdispersion), got {p[bad].flat[0]:g}")
    return p


# ---- intervals ----------------------------------------------------------------------------------


def wilson(k: Any, n: Any, z: float = Z95, *, phi: Any = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """The Wilson score interval for a proportion of ``k`` successes in ``n`` trials.

    low, high = (k + z²/2 ± z·√(k(n−k)/n + z²/4)) / (n + z²), with z = Φ⁻¹(0.975)
    for a 95% interval (Wilson 1927; Newcombe 1998, method 3). With a dispersion
    ``phi`` > 1 (extra-binomial variation, :func:`rate_dispersion`) the interval is
    computed on the effective sample k/φ of n/φ, the design-effect treatment of
    clustered binomial data (Kish 1965; Rao & Scott 1992). Vectorised over ``k``,
    ``n`` and ``phi`` (broadcast). Returns two float arrays in [0, 1], with low = 0
    exactly when k = 0 and high = 1 exactly when k = n; NaN where n = 0 or an input
    is missing.

    Raises ValueError when ``k`` or ``n`` is not a whole number >= 0 or k > n,
    naming the value.
    """
    k, n, phi = _arrays(k, n, _check_phi(phi))
    _check_counts("k (successes)", k)
    _check_counts("n (trials)", n)
    with np.errstate(invalid="ignore"):
        over = k > n
    if over.any():
        i = np.flatnonzero(over.ravel())[0]
        raise ValueError(f"k = {k.ravel()[i]:g} successes exceed n = {n.ravel()[i]:g} trials")
    z2 = z * z
    with np.errstate(divide="ignore", invalid="ignore"):
        ke, ne = k / phi, n / phi
        centre = (ke + z2 / 2) / (ne + z2)
        half = z / (ne + z2) * np.sqrt(np.maximum(ke * (ne - ke) / ne, 0.0) + z2 / 4)
        low = np.clip(centre - half, 0.0, 1.0)
        high = np.clip(centre + half, 0.0, 1.0)
    low = np.where(k == 0, 0.0, low)
    high = np.where(k == n, 1.0, high)
    bad = ~(n > 0) | np.isnan(k) | np.isnan(phi)
    return np.where(bad, np.nan, low), np.where(bad, np.nan, high)


def poisson_interval(k: Any, level: float = 0.95, *, phi: Any = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """The exact (Garwood 1936) interval for the mean of a Poisson count ``k``, scaled for overdispersion.

    low = χ²_{α/2}(2k) / 2 (0 when k = 0) and high = χ²_{1−α/2}(2k + 2) / 2, with
    α = 1 − ``level``. With a dispersion ``phi`` > 1 (quasi-Poisson,
    :func:`count_dispersion`) the count is worth k/φ Poisson events:
    interval = φ · Garwood(k/φ) (the scaled-Poisson interval of McCullagh & Nelder
    1989, §6.2). Vectorised; NaN where ``k`` or ``phi`` is missing.

    Raises ValueError when ``k`` is not a whole number >= 0 (amounts and durations
    are KPIs of kind ``sum``: use :func:`sum_interval`).
    """
    from scipy import stats as _st  # lazy: importing scipy.stats takes ~1.7 s

    k, phi = _arrays(k, _check_phi(phi))
    _check_counts("k (a count)", k)
    a = 1.0 - level
    with np.errstate(invalid="ignore", divide="ignore"):
        ke = k / phi
        low = np.where(ke > 0, phi * _st.chi2.ppf(a / 2, 2 * np.maximum(ke, 1e-300)) / 2, 0.0)
        high = phi * _st.chi2.ppf(1 - a / 2, 2 * ke + 2) / 2
    bad = np.isnan(k) | np.isnan(phi)
    return np.where(bad, np.nan, low), np.where(bad, np.nan, high)


def count_interval(k: Any, exposure: Any = 1.0, *, phi: Any = 1.0, level: float = 0.95) -> pd.DataFrame:
    """A count's rate per unit of exposure with its overdispersed 95% interval.

    ``k`` events over ``exposure`` (e.g. working days); ``rate`` = k / exposure,
    ``ci_low``/``ci_high`` = φ·Garwood(k/φ) / exposure (:func:`poisson_interval`).
    NaN where exposure <= 0. Columns ``k``, ``exposure``, ``rate``, ``ci_low``, ``ci_high``.
    """
    k, e, phi = _arrays(k, exposure, phi)
    lo, hi = poisson_interval(k, level, phi=phi)
    with np.errstate(divide="ignore", invalid="ignore"):
        ok = e > 0
        div = np.where(ok, e, np.nan)
        return pd.DataFrame(
            {"k": np.atleast_1d(k), "exposure": np.atleast_1d(e), "rate": np.atleast_1d(k / div)}
        ).assign(ci_low=np.atleast_1d(lo / div), ci_high=np.atleast_1d(hi / div))


def sum_interval(values: Any, level: float = 0.95) -> tuple[float, float, float]:
    """(total, low, high): a t interval for the total of weekly amounts or durations (KPI kind ``sum``).

    Over m weeks with values x₁..x_m (mean x̄, sample sd s): total = Σx and the
    interval is m·(x̄ ± t_{1−α/2, m−1} · s/√m), the one-sample t interval of the
    weekly mean scaled to the weeks (Student 1908). It makes no Poisson
    assumption (a pipeline amount is not a count of events), and it is
    unit-invariant: 3 h and 180 min give the same relative interval. When no
    week is negative (amounts, durations) the low end is kept at 0 or above. With
    fewer than 2 weeks the interval is NaN (one week says nothing about
    week-to-week variation). Missing weeks are ignored.
    """
    from scipy import stats as _st

    x = np.asarray(values, dtype="float64").ravel()
    x = x[~np.isnan(x)]
    m = x.size
    total = float(x.sum()) if m else np.nan
    if m < 2:
        return total, np.nan, np.nan
    half = float(_st.t.ppf(0.5 + level / 2, m - 1)) * float(x.std(ddof=1)) / math.sqrt(m)
    low = m * (x.mean() - half)
    return total, max(low, 0.0) if x.min() >= 0 else low, m * (x.mean() + half)


# ---- overdispersion ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Dispersion:
    """A dispersion estimate from rep-weeks, within rep.

    ``phi`` = max(1, ``raw``) (never below the Poisson / binomial variance; NaN when
    ``df`` = 0), ``raw`` = ``chi2`` / ``df``, ``chi2`` = the Pearson statistic,
    ``df`` = the residual degrees of freedom (rep-weeks − reps), ``reps`` and
    ``rep_weeks`` used.
    """

    phi: float
    raw: float
    chi2: float
    df: int
    reps: int
    rep_weeks: int


def _dispersion(chi2: float, rows: int, reps: int) -> Dispersion:
    df = rows - reps
    raw = chi2 / df if df > 0 else np.nan
    phi = max(1.0, raw) if df > 0 else np.nan
    return Dispersion(float(phi), float(raw), float(chi2), int(df), int(reps), int(rows))


def count_dispersion(y: Any, rep: Any, exposure: Any = None) -> Dispersion:
    """The quasi-Poisson dispersion φ of weekly counts, estimated within rep and pooled over a peer group.

    ``y[j]`` is rep ``rep[j]``'s count in week j, with ``exposure[j]`` (working days
    in the week; default 1). Each rep's rate is its own: λᵢ = Σy / Σexposure over its
    weeks, so differences between reps are not counted as noise. With
    μⱼ = λ_{rep j} · exposureⱼ, the Pearson statistic is X² = Σ (yⱼ − μⱼ)² / μⱼ over
    rep-weeks with μ > 0, df = (rep-weeks) − (reps), and φ = max(1, X² / df).
    Rep-weeks with exposure <= 0 or a missing count are left out.

    This is exactly the Pearson scale of a Poisson GLM with one dummy per rep and
    log(exposure) as offset: ``statsmodels GLM(y, rep dummies, family=Poisson(),
    exposure=exposure).fit(scale="X2").scale`` (McCullagh & Nelder 1989, §4.5.2;
    Wedderburn 1974); a test checks the equality.
    """
    y, e = _arrays(y, 1.0 if exposure is None else exposure)
    r = pd.Series(np.broadcast_to(np.asarray(rep, dtype=object), y.shape))
    ok = (e > 0) & ~np.isnan(y)
    y, e, r = y[ok], e[ok], r[ok.tolist()].to_numpy()
    if y.size == 0:
        return _dispersion(0.0, 0, 0)
    codes, uniq = pd.factorize(r)
    sy = np.bincount(codes, weights=y)
    se = np.bincount(codes, weights=e)
    mu = sy[codes] / se[codes] * e
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(mu > 0, (y - mu) ** 2 / mu, 0.0)
    return _dispersion(float(terms.sum()), y.size, len(uniq))


def rate_dispersion(k: Any, n: Any, rep: Any) -> Dispersion:
    """The quasi-binomial dispersion φ of weekly rates, estimated within rep and pooled over a peer group.

    ``k[j]`` successes of ``n[j]`` trials in rep ``rep[j]``'s week j. Each rep's
    rate is its own: pᵢ = Σk / Σn. The Pearson statistic is
    X² = Σ (kⱼ − nⱼ pᵢ)² / (nⱼ pᵢ (1 − pᵢ)) over rep-weeks with n > 0 (a rep whose
    pᵢ is 0 or 1 adds 0), df = (rep-weeks with n > 0) − (reps), φ = max(1, X² / df):
    the variance inflation ("design effect") of the week-clustered binomial
    (Williams 1982; the beta-binomial has Var = n p(1−p)[1 + (n − 1)ρ]).

    This is the Pearson scale of ``statsmodels GLM(k/n, rep dummies,
    family=Binomial(), var_weights=n).fit(scale="X2").scale``; a test checks it.
    """
    k, n = _arrays(k, n)
    r = pd.Series(np.broadcast_to(np.asarray(rep, dtype=object), k.shape))
    ok = (n > 0) & ~np.isnan(k)
    k, n, r = k[ok], n[ok], r[ok.tolist()].to_numpy()
    if k.size == 0:
        return _dispersion(0.0, 0, 0)
    codes, uniq = pd.factorize(r)
    p = (np.bincount(codes, weights=k) / np.bincount(codes, weights=n))[codes]
    v = n * p * (1 - p)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(v > 0, (k - n * p) ** 2 / v, 0.0)
    return _dispersion(float(terms.sum()), k.size, len(uniq))


# ---- tests --------------------------------------------------------------------------------------


def _t_cdf(z: np.ndarray, df: Any) -> np.ndarray:
    from scipy import stats as _st

    z, df = _arrays(z, df)
    out = np.where(np.isinf(df), _st.norm.cdf(z), _st.t.cdf(z, np.where(np.isinf(df), 1.0, df)))
    return np.where(np.isnan(z) | np.isnan(df) | (df <= 0), np.nan, out)


def count_p_below(k: Any, expected: Any, *, phi: Any = 1.0, df: Any = np.inf) -> np.ndarray:
    """One-sided p-value that a count ``k`` falls short of the ``expected`` count (H0: the true mean ≥ expected).

    The quasi-Poisson score statistic z = (k − E) / √(φ·E), referred to the t
    distribution with the dispersion's residual ``df`` (φ is estimated; McCullagh
    & Nelder 1989, §4.5), p = T_df(z). Small p: k is lower than chance allows. For
    "lower is better" KPIs use 1 − p (i.e. pass the test the other way round).
    NaN where E <= 0, or φ or df is missing.
    """
    k, e, phi = _arrays(k, expected, phi)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(e > 0, (k - e) / np.sqrt(phi * e), np.nan)
    return _t_cdf(z, df)


def rate_p_below(k: Any, n: Any, benchmark: Any, *, phi: Any = 1.0, df: Any = np.inf) -> np.ndarray:
    """One-sided p-value that a rate k/n is below ``benchmark`` b (H0: the true rate ≥ b).

    The score statistic z = (k/n − b) / √(φ·b̃(1 − b̃)/n), with b̃ = b kept inside
    [½/n, 1 − ½/n] so that a benchmark of 0% or 100% still has a variance, referred
    to the t distribution with ``df`` (quasi-binomial, design effect φ).
    NaN where n = 0.
    """
    k, n, b, phi = _arrays(k, n, benchmark, phi)
    with np.errstate(divide="ignore", invalid="ignore"):
        bt = np.clip(b, 0.5 / n, 1 - 0.5 / n)
        z = np.where(n > 0, (k / n - b) / np.sqrt(phi * bt * (1 - bt) / n), np.nan)
    return _t_cdf(z, df)


def _label(diff: np.ndarray, p: np.ndarray, alpha: float, valid: np.ndarray) -> np.ndarray:
    lab = np.where(p < alpha, np.where(diff > 0, UP, DOWN), SAME).astype(object)
    lab[~valid] = ""
    return lab


def compare_counts(
    k1: Any, e1: Any, k2: Any, e2: Any, *, phi: Any = 1.0, df: Any = np.inf, alpha: float = 0.05
) -> pd.DataFrame:
    """Did a count change from period 1 (``k1`` events over exposure ``e1``) to period 2 (``k2`` over ``e2``)?

    Two-sided quasi-Poisson test of equal rates: with λ̂ = (k1 + k2) / (e1 + e2),
    z = (k2/e2 − k1/e1) / √(φ·λ̂·(1/e1 + 1/e2)), p = 2·T_df(−|z|). ``change`` is
    ``"up"`` / ``"down"`` when p < ``alpha``, ``"no clear change"`` otherwise, and
    ``""`` when either exposure is 0. Columns ``rate1``, ``rate2``, ``ratio`` (rate2 /
    rate1), ``z``, ``p_value``, ``change``. Exposure is e.g. working days, so a week
    with a holiday is compared fairly with a full one.
    """
    k1, e1, k2, e2, phi = _arrays(k1, e1, k2, e2, phi)
    k1, e1, k2, e2, phi = (np.atleast_1d(v) for v in (k1, e1, k2, e2, phi))
    with np.errstate(divide="ignore", invalid="ignore"):
        r1, r2 = k1 / e1, k2 / e2
        lam = (k1 + k2) / (e1 + e2)
        se = np.sqrt(phi * lam * (1 / e1 + 1 / e2))
        z = np.where(se > 0, (r2 - r1) / se, 0.0)
        valid = (e1 > 0) & (e2 > 0) & ~np.isnan(k1) & ~np.isnan(k2)
        p = np.where(valid, 2 * _t_cdf(-np.abs(z), df), np.nan)
        out = pd.DataFrame({"rate1": r1, "rate2": r2, "ratio": r2 / r1, "z": z, "p_value": p})
    out["change"] = _label(r2 - r1, p, alpha, valid)
    return out


def compare_rates(
    k1: Any, n1: Any, k2: Any, n2: Any, *, phi: Any = 1.0, df: Any = np.inf, alpha: float = 0.05
) -> pd.DataFrame:
    """Did a rate change from period 1 (``k1`` of ``n1``) to period 2 (``k2`` of ``n2``)?

    Two-sided two-proportion score test with the design effect φ: p̂ = (k1 + k2) / (n1 + n2),
    z = (k2/n2 − k1/n1) / √(φ·p̂(1 − p̂)(1/n1 + 1/n2)), p = 2·T_df(−|z|); a pooled rate
    of 0 or 1 is no change. ``change``: ``"up"``/``"down"`` when p < ``alpha``,
    ``"no clear change"`` otherwise, ``""`` when n1 or n2 is 0. Columns ``rate1``,
    ``rate2``, ``diff``, ``z``, ``p_value``, ``change``.
    """
    k1, n1, k2, n2, phi = _arrays(k1, n1, k2, n2, phi)
    k1, n1, k2, n2, phi = (np.atleast_1d(v) for v in (k1, n1, k2, n2, phi))
    for name, v in (("k1", k1), ("n1", n1), ("k2", k2), ("n2", n2)):
        _check_counts(name, v)
    with np.errstate(divide="ignore", invalid="ignore"):
        r1, r2 = k1 / n1, k2 / n2
        p0 = (k1 + k2) / (n1 + n2)
        se = np.sqrt(phi * p0 * (1 - p0) * (1 / n1 + 1 / n2))
        z = np.where(se > 0, (r2 - r1) / se, 0.0)
        valid = (n1 > 0) & (n2 > 0)
        p = np.where(valid, 2 * _t_cdf(-np.abs(z), df), np.nan)
        out = pd.DataFrame({"rate1": r1, "rate2": r2, "diff": r2 - r1, "z": z, "p_value": p})
    out["change"] = _label(r2 - r1, p, alpha, valid)
    return out


# ---- empirical-Bayes shrinkage ----------------------------------------------------------------


@dataclass(frozen=True)
class BetaPrior:
    """The between-rep distribution of true rates, Beta(mean·M, (1 − mean)·M), and how it was obtained.

    ``strength`` M is how many trials the prior is worth; ``math.inf`` means full
    pooling (``method="pooled"``: the spread between reps is not above what
    chance gives, so every rep is estimated by the pooled rate). ``method`` is
    ``"moments"`` (partial pooling, M fitted by the method of moments) or
    ``"pooled"``; ``reason`` says why it pooled. ``mean`` lies strictly inside
    (0, 1): at a pooled rate of 0 or 1 it is (Σk + ½)/(Σn + 1), so the prior stays
    proper.
    """

    mean: float
    strength: float
    method: str
    reason: str = ""

    @property
    def alpha(self) -> float:
        """mean · strength (inf when pooled)."""
        return self.mean * self.strength

    @property
    def beta(self) -> float:
        """(1 − mean) · strength (inf when pooled)."""
        return (1.0 - self.mean) * self.strength


def fit_beta_binomial(k: Any, n: Any, *, phi: float = 1.0, min_reps: int = 2) -> BetaPrior:
    """Fit the between-rep spread of rates: rep i had ``k[i]`` successes in ``n[i]`` trials.

    Method of moments for the beta-binomial (Kleinman 1973; weighted by n), on the
    effective counts k/φ of n/φ when the weekly rates are overdispersed (φ from
    :func:`rate_dispersion`): with pooled rate p = Σk / Σn, N = Σn, R = reps with
    n > 0 and S = Σ nᵢ (kᵢ/nᵢ − p)², the intra-rep correlation is
    ρ = (S / (p(1 − p)) − (R − 1)) / (N − Σnᵢ² / N − (R − 1)), and the prior
    strength is M = 1/ρ − 1 (``method="moments"``).

    Full pooling (``method="pooled"``, M = ∞) when the spread between reps is not
    above chance (ρ ≤ 0: the reps look alike, so the honest estimate of each is the
    pooled rate), when the pooled rate is 0 or 1 (no rep differs), or when fewer
    than ``min_reps`` reps have data. Reps with n = 0 or missing values are ignored.
    """
    k, n = _arrays(k, n)
    ok = (n > 0) & ~np.isnan(k)
    k, n = k[ok] / phi, n[ok] / phi
    big_n = float(n.sum())
    reps = int(ok.sum())
    pooled = float(k.sum()) / big_n if big_n > 0 else np.nan
    centre = pooled if 0.0 < pooled < 1.0 else (float(k.sum()) + 0.5) / (big_n + 1.0)

    def pool(reason: str) -> BetaPrior:
        return BetaPrior(centre, math.inf, "pooled", reason)

    if reps < min_reps:
        return pool(f"only {reps} rep{'s' if reps != 1 else ''} with data")
    if not (0.0 < pooled < 1.0):
        return pool(f"the pooled rate is {pooled:.0%}")
    s = float((n * (k / n - pooled) ** 2).sum())
    denom = big_n - float((n**2).sum()) / big_n - (reps - 1)
    rho = (s / (pooled * (1 - pooled)) - (reps - 1)) / denom if denom > 0 else np.nan
    if not (rho > 0):
        return pool("the spread between reps is not above chance")
    return BetaPrior(pooled, max(1.0 / min(rho, 1.0) - 1.0, 0.0), "moments")


def shrink(k: Any, n: Any, *, prior: BetaPrior | None = None, phi: float = 1.0, level: float = 0.95) -> pd.DataFrame:
    """Empirical-Bayes shrunk rates: each rep's rate pulled towards its peer group by its own n.

    With the prior of :func:`fit_beta_binomial` (fitted on ``k`` and ``n`` unless
    given) of strength M, rep i's weight on the pool is B = M / (M + nᵢ/φ)
    (B = 1 when pooled or nᵢ = 0; Morris 1983), and

    - ``mean`` = (1 − B)·kᵢ/nᵢ + B·p, the posterior mean of the beta-binomial
      model (p = the pooled rate Σk/Σn);
    - ``ci_low``/``ci_high`` = (1 − B)·(rep's Wilson interval) + B·(pooled Wilson
      interval), both on effective counts (k/φ, n/φ). Because the standard error of
      a weighted sum is at most the weighted sum of the standard errors, this is a
      conservative interval for the shrunk estimate, and by construction it
      contains ``mean`` and its width lies between the pooled interval's and the
      rep's own: shrinkage never claims more precision than the whole group has,
      nor less than the rep's own data give.

    Columns: ``k``, ``n``, ``raw`` (k/n, NaN when n = 0), ``mean``, ``ci_low``,
    ``ci_high``, ``raw_low``/``raw_high`` (the rep's own interval), ``weight`` (B),
    ``prior_mean``, ``method`` ("moments" = partial pooling, "pooled" = full
    pooling). Rank reps by ``mean``, never by ``raw``. The index is ``k``'s index
    when it is a Series, else 0..len-1.
    """
    index = k.index if isinstance(k, pd.Series) else None
    ka, na = _arrays(k, n)
    ka, na = np.atleast_1d(ka), np.atleast_1d(na)
    if prior is None:
        prior = fit_beta_binomial(ka, na, phi=phi)
    has = na > 0
    big_k, big_n = float(ka[has].sum()), float(na[has].sum())
    p = big_k / big_n if big_n > 0 else np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        raw = np.where(has, ka / na, np.nan)
        if math.isinf(prior.strength):
            b = np.ones(len(ka))
        else:
            b = np.where(has, prior.strength / (prior.strength + na / phi), 1.0)
    rl, rh = wilson(np.where(has, ka, 0.0), np.where(has, na, 0.0), phi=phi)
    pl, ph = (float(v) for v in wilson(big_k, big_n, phi=phi)) if big_n > 0 else (np.nan, np.nan)
    keep = 1.0 - b
    mean = np.where(has, keep * np.nan_to_num(raw) + b * p, p)
    lo = np.where(has, keep * np.nan_to_num(rl) + b * pl, pl)
    hi = np.where(has, keep * np.nan_to_num(rh) + b * ph, ph)
    return pd.DataFrame(
        {
            "k": ka,
            "n": na,
            "raw": raw,
            "mean": mean,
            "ci_low": lo,
            "ci_high": hi,
            "raw_low": rl,
            "raw_high": rh,
            "weight": b,
            "prior_mean": prior.mean,
            "method": prior.method,
        },
        index=index,
    )


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
    phi: float = 1.0,
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

    With a dispersion ``phi`` > 1 (:func:`rate_dispersion` of the peer group's
    rep-weeks) the limits at volume n are those of the effective volume
    round(n/φ) (at least 1): the overdispersed funnel plot of Spiegelhalter (2005,
    "Handling over-dispersion of performance indicators", BMJ Qual Saf 14:347),
    with exact binomial quantiles instead of the normal approximation.
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
            eff = np.maximum(np.round(vol / phi), 1.0) if phi != 1.0 else vol
            lo = _st.binom.ppf(tail, eff, p0) / eff
            hi = _st.binom.ppf(1 - tail, eff, p0) / eff
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


# ---- trends and associations (statsmodels) -----------------------------------------------------

#: A trend needs at least this many weeks.
MIN_TREND_WEEKS = 6


def trend(y: Any, exposure: Any = None, *, level: float = 0.95, maxlags: int | None = None) -> dict[str, Any]:
    """A weekly count's trend: a quasi-Poisson GLM of y on the week number, with autocorrelation-robust errors.

    ``y`` is the weekly series (consecutive weeks, oldest first; missing weeks are
    dropped), ``exposure`` the working days of each week (log offset; default 1).
    The slope b is the change in log rate per week. Its standard error is the
    larger of (1) the quasi-Poisson one (Pearson scale, McCullagh & Nelder 1989
    §4.5) inflated by the AR(1) variance factor √((1 + r)/(1 − r)), r = the lag-1
    autocorrelation of the Pearson residuals + 1/m (its small-sample bias), kept in
    [0, 0.9]; and (2) the Newey–West (1987) HAC sandwich (statsmodels,
    ``maxlags`` = ⌊4(m/100)^{2/9}⌋ by default, at least 1, small-sample corrected).
    The interval uses the t distribution with m − 2 df. ``direction`` is
    ``"rising"``/``"falling"`` only when the interval excludes 0, else ``"no clear
    trend"``; ``""`` with a ``reason`` when fewer than :data:`MIN_TREND_WEEKS` weeks.

    Measured false "rising"/"falling" rates on stationary series (600 each, mean 60,
    φ ≈ 13): independent weeks 3% (8 weeks), 3% (12), 4% (26); AR(1) ρ = 0.5:
    9%, 8%, 9%; HAC alone would give 18%, 15%, 9% on independent weeks (the
    sandwich is far too narrow on few weeks). Keys: ``slope``, ``ci_low``,
    ``ci_high``, ``weekly_change`` (e^b − 1), ``p_value``, ``weeks``,
    ``direction``, ``reason``.
    """
    y_arr, e_arr = _arrays(y, 1.0 if exposure is None else exposure)
    y_arr, e_arr = np.atleast_1d(y_arr), np.atleast_1d(e_arr)
    t = np.arange(y_arr.size, dtype="float64")
    ok = ~np.isnan(y_arr) & (e_arr > 0)
    y_arr, e_arr, t = y_arr[ok], e_arr[ok], t[ok]
    m = int(y_arr.size)
    out: dict[str, Any] = dict(slope=np.nan, ci_low=np.nan, ci_high=np.nan, weekly_change=np.nan, p_value=np.nan)
    out |= {"weeks": m, "direction": "", "reason": ""}
    if m < MIN_TREND_WEEKS:
        out["reason"] = f"only {m} weeks (need {MIN_TREND_WEEKS})"
        return out
    rates = y_arr / e_arr
    if y_arr.sum() <= 0 or np.all(rates == rates[0]):
        out |= {"slope": 0.0, "ci_low": 0.0, "ci_high": 0.0, "weekly_change": 0.0, "p_value": 1.0}
        out["direction"] = "no clear trend"
        return out
    # the modules themselves, not statsmodels.api (which also imports graphics, time series, ...: 0.17 s more)
    from scipy import stats as _st
    from statsmodels.genmod.families import Poisson
    from statsmodels.genmod.generalized_linear_model import GLM
    from statsmodels.tools.tools import add_constant

    lags = maxlags if maxlags is not None else max(1, int(4 * (m / 100) ** (2 / 9)))
    x = add_constant(t - t.mean())
    model = GLM(y_arr, x, family=Poisson(), exposure=e_arr)
    quasi = model.fit(scale="X2")
    hac = model.fit(cov_type="HAC", cov_kwds={"maxlags": lags, "use_correction": True})
    res = quasi.resid_pearson - quasi.resid_pearson.mean()
    den = float(np.sum(res * res))
    r = float(np.sum(res[1:] * res[:-1]) / den) if den > 0 else 0.0
    r = min(max(r + 1.0 / m, 0.0), 0.9)
    b = float(quasi.params[1])
    se = max(float(quasi.bse[1]) * math.sqrt((1 + r) / (1 - r)), float(hac.bse[1]))
    q = float(_st.t.ppf(0.5 + level / 2, m - 2))
    lo, hi = b - q * se, b + q * se
    p = float(2 * _st.t.sf(abs(b / se), m - 2)) if se > 0 else 1.0
    out |= {"slope": b, "ci_low": lo, "ci_high": hi, "weekly_change": math.expm1(b), "p_value": p}
    out["direction"] = "rising" if lo > 0 else ("falling" if hi < 0 else "no clear trend")
    return out


#: An effort → outcome association needs at least this many reps.
MIN_ASSOCIATION_REPS = 4


def effort_association(
    panel: pd.DataFrame, effort: str, outcome: str, *, lag: int = 1, level: float = 0.95
) -> pd.DataFrame:
    """Exploratory: does more effort in week t go with more of the outcome in week t + ``lag``, on a peer group's panel?

    ``panel`` has one row per rep-week: ``rep_id``, ``period_start`` (Mondays) and
    the columns ``effort`` and ``outcome`` (weekly values). The lag is one
    pre-specified number of weeks (the playbook's ``[coaching] lag_weeks``), never
    searched over. Pairs (effort of rep i in week t, outcome of rep i in week
    t + lag) with both present, then two separate effects:

    - ``within rep``: OLS of the outcome on effort after subtracting each rep's own
      means (rep fixed effects; the slope says what a rep gets in a week when they
      put in more than their usual effort), with cluster-robust standard errors by
      rep (Liang & Zeger 1986; statsmodels ``cov_type="cluster"``, t with G − 1 df);
    - ``between reps``: OLS of each rep's mean outcome on their mean effort, one
      point per rep, with HC1 standard errors (t with R − 2 df).

    Columns: ``effect``, ``slope`` (outcome units per effort unit), ``ci_low``,
    ``ci_high``, ``p_value``, ``reps``, ``rep_weeks``, ``lag``, ``direction``
    (``"positive"``/``"negative"`` only when the interval excludes 0, else ``"no clear
    direction"``), ``label`` (always ``"exploratory"``: an association, not a cause),
    ``reason`` (why the slope is NaN: fewer than :data:`MIN_ASSOCIATION_REPS` reps,
    or no variation).
    """
    if lag < 0:
        raise ValueError(f"lag must be >= 0 weeks, got {lag}")
    p = panel[["rep_id", "period_start", effort]].rename(columns={effort: "x"})
    later = panel[["rep_id", "period_start", outcome]].rename(columns={outcome: "y"})
    later = later.assign(period_start=later["period_start"] - pd.Timedelta(weeks=lag))
    pairs = p.merge(later, on=["rep_id", "period_start"]).dropna(subset=["x", "y"])
    rows = []
    for effect in ("within rep", "between reps"):
        row: dict[str, Any] = {"effect": effect, "slope": np.nan, "ci_low": np.nan, "ci_high": np.nan}
        row |= {"p_value": np.nan, "reps": int(pairs["rep_id"].nunique()), "rep_weeks": len(pairs), "lag": lag}
        row |= {"direction": "", "label": "exploratory", "reason": ""}
        rows.append(row)
    reps = rows[0]["reps"]
    if reps < MIN_ASSOCIATION_REPS:
        for r in rows:
            r["reason"] = f"only {reps} reps with pairs (need {MIN_ASSOCIATION_REPS})"
        return pd.DataFrame(rows)
    from statsmodels.regression.linear_model import OLS
    from statsmodels.tools.tools import add_constant

    g = pairs.groupby("rep_id", observed=True)
    xd = (pairs["x"] - g["x"].transform("mean")).to_numpy(dtype="float64")
    yd = (pairs["y"] - g["y"].transform("mean")).to_numpy(dtype="float64")
    means = g[["x", "y"]].mean()
    fits = []
    if np.ptp(xd) > 0:
        groups = pd.factorize(pairs["rep_id"])[0]
        fits.append(OLS(yd, xd).fit(cov_type="cluster", cov_kwds={"groups": groups}, use_t=True))
    else:
        fits.append(None)
    if np.ptp(means["x"].to_numpy()) > 0:
        fits.append(OLS(means["y"].to_numpy(), add_constant(means["x"].to_numpy())).fit(cov_type="HC1", use_t=True))
    else:
        fits.append(None)
    for row, fit in zip(rows, fits, strict=True):
        if fit is None:
            row["reason"] = "effort does not vary"
            continue
        j = len(fit.params) - 1
        lo, hi = (float(v) for v in np.asarray(fit.conf_int(alpha=1 - level))[j])
        row |= {"slope": float(fit.params[j]), "ci_low": lo, "ci_high": hi, "p_value": float(fit.pvalues[j])}
        row["direction"] = "positive" if lo > 0 else ("negative" if hi < 0 else "no clear direction")
    if rows[1]["reason"] == "" and reps < 3:
        rows[1]["reason"] = "too few reps"
    return pd.DataFrame(rows)


def capped_score_interval(
    actual: Any,
    expected: Any,
    weights: Any,
    *,
    phi: Any = 1.0,
    level: float = 0.95,
    draws: int = 4000,
    seed: int = 0,
) -> tuple[float, float, float]:
    """(score, low, high) of the activity score 100 · Σ wₖ·min(aₖ/eₖ, 1) / Σ wₖ and its interval from the count model.

    ``actual[k]`` events against ``expected[k]`` (targets × working days × ramp) with
    weight ``weights[k]`` and dispersion ``phi[k]``; targets with e <= 0 or a missing
    actual are left out. Each true mean is drawn from its scaled-Poisson posterior
    φ·Gamma(a/φ + ½, 1) (the Jeffreys posterior of the count, scaled for
    overdispersion), the capped score is computed for each of ``draws`` draws
    (numpy generator seeded by ``seed``: the same answer every time), and the
    interval is the equal-tailed percentile interval, widened if needed to contain
    the observed score. NaN when no target remains.
    """
    a, e, w, phi = _arrays(actual, expected, weights, phi)
    a, e, w, phi = (np.atleast_1d(v) for v in (a, e, w, phi))
    use = (e > 0) & ~np.isnan(a) & (w > 0)
    if not use.any():
        return np.nan, np.nan, np.nan
    a, e, w, phi = a[use], e[use], w[use], np.where(np.isnan(phi[use]), 1.0, phi[use])
    score = float(100 * np.sum(w * np.minimum(a / e, 1.0)) / w.sum())
    rng = np.random.default_rng(seed)
    lam = phi * rng.gamma(a / phi + 0.5, 1.0, size=(draws, a.size))
    sims = 100 * (np.minimum(lam / e, 1.0) * w).sum(axis=1) / w.sum()
    lo, hi = np.quantile(sims, [(1 - level) / 2, (1 + level) / 2])
    return score, float(min(lo, score)), float(max(hi, score))


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
