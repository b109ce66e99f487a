"""Tests of coachkit.stats against published and hand-worked values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import stats as sst

from coachkit import stats
from coachkit.stats import (
    Z95,
    BetaPrior,
    fit_beta_binomial,
    funnel_limits,
    lagged_association,
    poisson_interval,
    shrink,
    team_benchmarks,
    wilson,
)

# ---- Wilson ------------------------------------------------------------------------------------


def test_z95_is_the_exact_quantile_not_1_96():
    assert Z95 == pytest.approx(1.959963985, abs=1e-9)
    assert Z95 != 1.96


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [
        # Newcombe (1998), Statistics in Medicine 17:857-872, Table I, method 3 (Wilson score)
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
        (0, 10, 0.0, 0.2775),
        (10, 10, 0.7225, 1.0),
    ],
)
def test_wilson_matches_published_values(k, n, low, high):
    lo, hi = wilson(k, n)
    assert float(lo) == pytest.approx(low, abs=5e-5)
    assert float(hi) == pytest.approx(high, abs=5e-5)


def test_wilson_is_vectorised_exact_at_the_edges_and_nan_for_zero_n():
    lo, hi = wilson(np.array([0, 10, 0, 3]), np.array([10, 10, 0, 4]))
    assert lo[0] == 0.0 and hi[1] == 1.0
    assert np.isnan(lo[2]) and np.isnan(hi[2])
    # 3 of 4 is not distinguishable from 40 of 100: the small-n interval is much wider
    lo_big, hi_big = wilson(40, 100)
    assert hi[3] - lo[3] > 2 * (hi_big - lo_big)


def test_wilson_missing_inputs_give_nan():
    lo, hi = wilson([np.nan, 1], [5, np.nan])
    assert np.isnan(lo).all() and np.isnan(hi).all()


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 10_000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_contains_the_rate_and_lies_in_unit_interval(kn):
    k, n = kn
    lo, hi = wilson(k, n)
    assert 0.0 <= lo <= k / n + 1e-12
    assert k / n - 1e-12 <= hi <= 1.0


def test_poisson_interval_matches_garwood_table():
    lo, hi = poisson_interval([0, 1, 10])
    np.testing.assert_allclose(lo, [0.0, 0.0253, 4.7954], atol=1e-4)
    np.testing.assert_allclose(hi, [3.6889, 5.5716, 18.3904], atol=1e-4)
    lo, hi = poisson_interval([np.nan, -1])
    assert np.isnan(lo).all() and np.isnan(hi).all()


# ---- shrinkage ---------------------------------------------------------------------------------


def test_fit_beta_binomial_method_of_moments_by_hand():
    # p = 15/30 = 0.5; S = 10*(0.3² + 0 + 0.3²) = 1.8; S / 0.25 = 7.2
    # rho = (7.2 - 2) / (30 - 300/30 - 2) = 5.2 / 18; M = 18/5.2 - 1 = 2.4615; a = b = M/2
    prior = fit_beta_binomial([2, 5, 8], [10, 10, 10])
    assert prior.method == "moments"
    assert prior.strength == pytest.approx(18 / 5.2 - 1)
    assert prior.alpha == pytest.approx(prior.beta)
    assert prior.mean == pytest.approx(0.5)


def test_fit_beta_binomial_falls_back_when_too_few_reps():
    prior = fit_beta_binomial([3, 10], [10, 40], prior_strength=20)
    assert prior.method == "fallback" and "2 reps" in prior.reason
    assert prior.mean == pytest.approx(13 / 50)
    assert prior.strength == pytest.approx(20)


def test_fit_beta_binomial_falls_back_when_spread_is_below_binomial():
    # identical rates: no evidence that reps differ beyond chance
    prior = fit_beta_binomial([5, 10, 20], [10, 20, 40])
    assert prior.method == "fallback" and "binomial" in prior.reason
    assert prior.mean == pytest.approx(0.5)
    assert prior.strength == pytest.approx(stats.DEFAULT_PRIOR_STRENGTH)


def test_fit_beta_binomial_keeps_a_proper_prior_when_pooled_rate_is_zero():
    prior = fit_beta_binomial([0, 0, 0], [5, 5, 10])
    assert prior.method == "fallback"
    assert prior.mean == pytest.approx(0.5 / 21)
    assert prior.alpha > 0 and prior.beta > 0
    empty = fit_beta_binomial([], [])
    assert empty.mean == pytest.approx(0.5)


def test_fitted_prior_is_never_weaker_than_two_pseudo_observations():
    # p = 1/4; S = 0.0625 + 0.5625 + 2 * 0.0625 = 0.75; S / 0.1875 = 4; rho = (4 - 2) / (4 - 6/4 - 2) = 4 > 1
    prior = fit_beta_binomial([0, 1, 0], [1, 1, 2])
    assert prior.method == "moments"
    assert prior.strength == pytest.approx(stats.MIN_PRIOR_STRENGTH)
    assert prior.mean == pytest.approx(0.25)


def test_shrink_pulls_small_n_more_than_large_n():
    k = pd.Series([2, 40, 5, 30, 12], index=["tiny", "big", "r3", "r4", "r5"])
    n = [2, 40, 50, 100, 60]  # tiny and big both have a raw rate of 100%
    out = shrink(k, n)
    pooled = k.sum() / sum(n)
    assert list(out.index) == list(k.index)
    assert out.loc["tiny", "raw"] == out.loc["big", "raw"] == 1.0
    assert (1 - out.loc["tiny", "mean"]) > (1 - out.loc["big", "mean"])
    assert out.loc["big", "mean"] > out.loc["tiny", "mean"] > pooled
    # the small-n rep does not win a ranking on the posterior mean
    assert out["mean"].idxmax() == "big"


def test_shrink_by_hand_with_a_given_prior_and_zero_n():
    out = shrink([3, 0], [10, 0], prior=BetaPrior(2.0, 8.0, "fallback"))
    # posterior Beta(5, 15): mean 5/20
    assert out.loc[0, "mean"] == pytest.approx(0.25)
    assert out.loc[0, "ci_low"] == pytest.approx(sst.beta.ppf(0.025, 5, 15))
    assert out.loc[0, "ci_high"] == pytest.approx(sst.beta.ppf(0.975, 5, 15))
    # n = 0: the prior mean, and no raw rate
    assert out.loc[1, "mean"] == pytest.approx(0.2)
    assert np.isnan(out.loc[1, "raw"])


reps_strategy = st.lists(
    st.integers(0, 200).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))), min_size=1, max_size=12
)


@settings(max_examples=50, deadline=None)
@given(reps_strategy)
def test_shrunken_mean_lies_between_raw_and_pooled(pairs):
    k = np.array([p[0] for p in pairs], dtype=float)
    n = np.array([p[1] for p in pairs], dtype=float)
    assume(n.sum() > 0 and 0 < k.sum() < n.sum())  # pooled rate strictly inside (0, 1)
    pooled = k.sum() / n.sum()
    out = shrink(k, n)
    assert np.allclose(out["prior_mean"], pooled)
    has = n > 0
    raw = out["raw"].to_numpy()[has]
    mean = out["mean"].to_numpy()[has]
    assert np.all(mean >= np.minimum(raw, pooled) - 1e-12)
    assert np.all(mean <= np.maximum(raw, pooled) + 1e-12)
    # (a skewed posterior's mean may fall outside its equal-tailed interval, so only the order is checked)
    assert np.all((out["ci_low"] >= 0) & (out["ci_low"] <= out["ci_high"]) & (out["ci_high"] <= 1))
    assert np.allclose(out["mean"].to_numpy()[~has], pooled)


# ---- funnel ------------------------------------------------------------------------------------


def test_funnel_limits_by_hand():
    # team rate p0 = 50/100 = 0.5. At n = 10, Binom(10, .5) cdf: F(1) = 11/1024, F(2) = 56/1024,
    # F(7) = 968/1024, F(8) = 1013/1024, F(0) = 1/1024, F(9) = 1023/1024, so
    # 95%: quantiles 2 and 8 -> limits 0.2, 0.8; 99.8%: quantiles 1 and 9 -> 0.1, 0.9.
    k = pd.Series([9, 1, 40, 0], index=["hot", "cold", "mid", "none"])
    f = funnel_limits(k, [10, 10, 80, 0])
    assert f.p0 == 0.5
    r = f.reps
    assert r.loc["hot", "lower_95"] == pytest.approx(0.2)
    assert r.loc["hot", "upper_95"] == pytest.approx(0.8)
    assert r.loc["hot", "lower_99.8"] == pytest.approx(0.1)
    assert r.loc["hot", "upper_99.8"] == pytest.approx(0.9)
    assert r.loc["hot", "flag_95"] == "above" and r.loc["hot", "flag_99.8"] == "within"
    assert r.loc["cold", "flag_95"] == "below" and r.loc["cold", "flag_99.8"] == "within"
    assert r.loc["mid", "flag_95"] == "within"
    assert pd.isna(r.loc["none", "flag_95"])
    lim = f.limits
    assert set(lim["level"]) == {0.95, 0.998}
    assert lim["n"].min() == 1 and lim["n"].max() == 80
    row = lim[(lim["n"] == 10) & (lim["level"] == 0.95)].iloc[0]
    assert (row["lower"], row["upper"]) == (pytest.approx(0.2), pytest.approx(0.8))
    # the funnel narrows with volume
    w = lim[lim["level"] == 0.95].set_index("n")
    assert (w.loc[80, "upper"] - w.loc[80, "lower"]) < (w.loc[10, "upper"] - w.loc[10, "lower"])


def test_funnel_grid_is_geometric_for_large_volumes_and_empty_input_is_nan():
    f = funnel_limits([500, 20], [10_000, 100], levels=(0.95,), grid_size=50)
    assert len(f.limits) <= 50 and f.limits["n"].iloc[0] == 1 and f.limits["n"].iloc[-1] == 10_000
    e = funnel_limits([0], [0])
    assert np.isnan(e.p0) and e.limits.empty


# ---- lagged association -------------------------------------------------------------------------

X = np.array([3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8], dtype=float)
Y = np.array([2, 7, 1, 8, 2, 8, 1, 8, 2, 8, 4, 5], dtype=float)


def test_lagged_rho_matches_scipy_spearman():
    out = lagged_association(X, Y, lags=(0, 1, 2, 3)).set_index("lag")
    for lag in (0, 1, 2, 3):
        expected = sst.spearmanr(X[: len(X) - lag], Y[lag:]).statistic
        assert out.loc[lag, "rho"] == pytest.approx(expected)
        assert out.loc[lag, "n"] == len(X) - lag
    assert (out["label"] == "exploratory").all()


def test_lagged_association_p_small_for_strong_relation_large_for_noise():
    rng = np.random.default_rng(42)
    effort = rng.poisson(20, size=30).astype(float) + np.arange(30)
    outcome = np.r_[0.0, 2 * effort[:-1] + rng.normal(0, 1, 29)]  # outcome follows effort one week later
    strong = lagged_association(effort, outcome, lags=(1,))
    assert strong.loc[0, "rho"] > 0.9 and strong.loc[0, "p_value"] < 0.01
    noise = lagged_association(rng.normal(size=30), rng.normal(size=30), lags=(1,))
    assert noise.loc[0, "p_value"] > 0.05
    # the smallest possible p-value with 2000 permutations
    assert strong.loc[0, "p_value"] >= 1 / 2001


def test_lagged_association_is_reproducible_and_aligns_series():
    weeks = pd.date_range("2024-01-01", periods=12, freq="W-MON")
    x = pd.Series(X, index=weeks)
    y = pd.Series(Y, index=weeks)[::-1]  # reversed order: aligned on the index
    a = lagged_association(x, y, lags=(1,), seed=7)
    b = lagged_association(X, Y, lags=(1,), seed=7)
    pd.testing.assert_frame_equal(a, b)


def test_lagged_association_reasons_for_nan():
    out = lagged_association([1, 2, 3, 4, 5], [5, 4, 3, 2, 1], lags=(1, 2)).set_index("lag")
    assert out.loc[1, "n"] == 4 and not np.isnan(out.loc[1, "rho"])
    assert np.isnan(out.loc[2, "rho"]) and "3 pairs" in out.loc[2, "reason"]
    const = lagged_association([2, 2, 2, 2, 2, 2], [1, 2, 3, 4, 5, 6], lags=(1,))
    assert np.isnan(const.loc[0, "rho"]) and "constant" in const.loc[0, "reason"]
    # missing weeks drop the pair, not the series
    gaps = lagged_association([1, 2, np.nan, 4, 5, 6, 7], [0, 1, 2, 3, 4, 5, 6], lags=(1,))
    assert gaps.loc[0, "n"] == 5
    with pytest.raises(ValueError, match="same weeks"):
        lagged_association([1, 2, 3], [1, 2])


# ---- team benchmarks ---------------------------------------------------------------------------


def test_team_benchmarks_by_hand():
    w1, w2 = pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-08")
    table = pd.DataFrame(
        {
            "rep_id": ["a1", "a2", "a3", "b1", "b2", "a1", "a2", "a3"],
            "period_start": [w1, w1, w1, w1, w1, w2, w2, w2],
            "kpi": ["calls"] * 8,
            "value": [1.0, 3.0, 3.0, 5.0, np.nan, 10.0, 20.0, 30.0],
        }
    )
    reps = pd.DataFrame({"rep_id": ["a1", "a2", "a3", "b1", "b2"], "team": ["A", "A", "A", "B", "B"]})
    out = team_benchmarks(table, reps)
    # week 1, team A: values 1, 3, 3 -> median 3, ranks 1, 2.5, 2.5 -> percentiles 0, 75, 75
    assert out["team_median"].tolist()[:3] == [3.0, 3.0, 3.0]
    assert out["percentile"].tolist()[:3] == [0.0, 75.0, 75.0]
    # team B: one value -> median 5 and percentile 50; the NaN rep has no percentile
    assert out.loc[3, "team_median"] == 5.0 and out.loc[3, "percentile"] == 50.0
    assert out.loc[4, "team_median"] == 5.0 and np.isnan(out.loc[4, "percentile"])
    assert out.loc[4, "team_n"] == 1
    # week 2 is its own group
    assert out["team_median"].tolist()[5:] == [20.0, 20.0, 20.0]
    assert out["percentile"].tolist()[5:] == [0.0, 50.0, 100.0]
    # a Series mapping works the same
    same = team_benchmarks(table, reps.set_index("rep_id")["team"])
    pd.testing.assert_frame_equal(out, same)


def test_team_benchmarks_groups_reps_without_team_together():
    table = pd.DataFrame(
        {
            "rep_id": ["x", "y", "z"],
            "period_start": pd.Timestamp("2024-01-01"),
            "kpi": "calls",
            "value": [2.0, 4.0, 9.0],
        }
    )
    out = team_benchmarks(table, pd.Series({"x": "A"}))
    assert out["team_median"].tolist() == [2.0, 6.5, 6.5]
    assert out["percentile"].tolist() == [50.0, 0.0, 100.0]
