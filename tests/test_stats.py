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
    lo, hi = poisson_interval([np.nan])
    assert np.isnan(lo).all() and np.isnan(hi).all()


# ---- input checks -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("k", "n", "message"),
    [
        (5, 4, "k = 5 successes exceed n = 4 trials"),
        (-1, 4, "got -1"),
        (1.5, 4, "whole number of events >= 0, got 1.5"),
        (1, 2.5, "got 2.5"),
        (1, np.inf, "got inf"),
    ],
)
def test_wilson_rejects_impossible_counts_naming_the_value(k, n, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        wilson(k, n)


def test_poisson_interval_rejects_negative_and_fractional_counts():
    with pytest.raises(ValueError, match="got -1"):
        poisson_interval([3, -1])
    with pytest.raises(ValueError, match="got 2.5"):
        poisson_interval(2.5)
    with pytest.raises(ValueError, match="phi must be > 0"):
        poisson_interval(3, phi=0)
    lo, hi = poisson_interval([np.nan])  # missing stays missing
    assert np.isnan(lo).all() and np.isnan(hi).all()


# ---- overdispersion ----------------------------------------------------------------------------


def test_scaled_intervals_by_hand():
    # phi = 2: 10 events are worth 5 Poisson events: 2 x Garwood(5) = 2 x (1.6235, 11.6683)
    lo, hi = poisson_interval(10, phi=2)
    assert float(lo) == pytest.approx(2 * 1.62348, abs=1e-4) and float(hi) == pytest.approx(2 * 11.66833, abs=1e-4)
    # a rate on the effective sample: 4 of 200 with phi 2 = Wilson(2, 100)
    np.testing.assert_allclose(wilson(4, 200, phi=2), wilson(2, 100))
    ci = stats.count_interval([10], [5], phi=2)
    assert ci.loc[0, "rate"] == 2 and ci.loc[0, "ci_low"] == pytest.approx(float(lo) / 5)


def test_count_dispersion_by_hand():
    # rep a: 2, 6 (mean 4): X2 = 4/4 + 4/4 = 2; rep b: 10, 10: 0; df = 4 - 2 = 2 -> phi = 1
    d = stats.count_dispersion([2, 6, 10, 10], ["a", "a", "b", "b"])
    assert (d.chi2, d.df, d.raw, d.phi, d.reps, d.rep_weeks) == (2.0, 2, 1.0, 1.0, 2, 4)
    # exposure: rep a 0 in 1 day, 12 in 3 days -> lambda 3/day, mu = 3, 9: X2 = 9/3 + 9/9 = 4; df 1 -> phi 4
    e = stats.count_dispersion([0, 12], ["a", "a"], exposure=[1, 3])
    assert e.chi2 == pytest.approx(4.0) and e.phi == pytest.approx(4.0) and e.df == 1
    # below Poisson variance: floored at 1; one week per rep: no df, no phi
    assert stats.count_dispersion([5, 5, 5], "a").phi == 1.0
    assert np.isnan(stats.count_dispersion([5, 7], ["a", "b"]).phi)
    # weeks without exposure are left out
    assert stats.count_dispersion([3, 99], ["a", "a"], exposure=[1, 0]).rep_weeks == 1


def test_rate_dispersion_by_hand():
    # rep a: 1/10, 5/10 (p = .3): X2 = (1-3)^2/2.1 + (5-3)^2/2.1 = 8/2.1; rep b: 0/5, 0/5 adds 0; df = 4 - 2
    d = stats.rate_dispersion([1, 5, 0, 0], [10, 10, 5, 5], ["a", "a", "b", "b"])
    assert d.chi2 == pytest.approx(8 / 2.1) and d.df == 2 and d.phi == pytest.approx(4 / 2.1)


def _panel(seed: int = 1):
    rng = np.random.default_rng(seed)
    reps = np.repeat(np.arange(6), 9)
    exposure = rng.integers(2, 6, reps.size).astype(float)
    y = rng.negative_binomial(3, 0.08, reps.size).astype(float)
    n = rng.integers(5, 60, reps.size).astype(float)
    k = rng.binomial(n.astype(int), rng.beta(3, 7, reps.size)).astype(float)
    return reps, exposure, y, n, k


def test_count_dispersion_equals_statsmodels_quasi_poisson_scale():
    import statsmodels.api as sm

    reps, exposure, y, _, _ = _panel()
    d = stats.count_dispersion(y, reps, exposure)
    dummies = pd.get_dummies(reps).astype(float).to_numpy()
    fit = sm.GLM(y, dummies, family=sm.families.Poisson(), exposure=exposure).fit(scale="X2")
    assert d.raw == pytest.approx(fit.scale, rel=1e-9)
    assert d.df == fit.df_resid
    assert d.phi == pytest.approx(max(1.0, fit.scale))


def test_rate_dispersion_equals_statsmodels_quasi_binomial_scale():
    import statsmodels.api as sm

    reps, _, _, n, k = _panel(2)
    d = stats.rate_dispersion(k, n, reps)
    dummies = pd.get_dummies(reps).astype(float).to_numpy()
    fit = sm.GLM(k / n, dummies, family=sm.families.Binomial(), var_weights=n).fit(scale="X2")
    assert d.raw == pytest.approx(fit.scale, rel=1e-9)
    assert d.df == fit.df_resid


# ---- one-sided tests and comparisons -------------------------------------------------------------


def test_count_and_rate_p_below_by_hand():
    # k = 80 vs E = 100, phi = 4: z = -20 / 20 = -1; normal p = Phi(-1); t with 10 df
    assert float(stats.count_p_below(80, 100, phi=4)) == pytest.approx(sst.norm.cdf(-1))
    assert float(stats.count_p_below(80, 100, phi=4, df=10)) == pytest.approx(sst.t.cdf(-1, 10))
    assert float(stats.count_p_below(120, 100, phi=4, df=10)) == pytest.approx(sst.t.cdf(1, 10))
    assert np.isnan(stats.count_p_below(3, 0))
    # 10 of 200 vs 10%: z = (0.05 - 0.1) / sqrt(2 * .09 / 200) = -1.6667
    assert float(stats.rate_p_below(10, 200, 0.1, phi=2, df=30)) == pytest.approx(
        sst.t.cdf(-0.05 / np.sqrt(0.0009), 30)
    )
    # a 100% benchmark still has a variance (b kept at 1 - 1/(2n))
    assert 0 < float(stats.rate_p_below(9, 10, 1.0)) < 0.5
    assert np.isnan(stats.rate_p_below(0, 0, 0.5))


def test_compare_counts_and_rates_by_hand():
    # 10 in 5 days vs 30 in 5 days, phi 2: lambda = 4, z = (6 - 2) / sqrt(2 * 4 * 0.4) = 2.236
    c = stats.compare_counts([10, 10, 3], [5, 5, 5], [30, 12, 3], [5, 5, 0], phi=2, df=np.inf)
    assert c.loc[0, "z"] == pytest.approx(4 / np.sqrt(3.2))
    assert c.loc[0, "p_value"] == pytest.approx(2 * sst.norm.sf(4 / np.sqrt(3.2)))
    assert c["change"].tolist() == ["up", "no clear change", ""]
    r = stats.compare_rates([50, 5, 0], [100, 10, 10], [20, 5, 0], [100, 10, 0], phi=1.5, df=40)
    p0 = 0.35
    z = -0.3 / np.sqrt(1.5 * p0 * (1 - p0) * 0.02)
    assert r.loc[0, "z"] == pytest.approx(z) and r.loc[0, "p_value"] == pytest.approx(2 * sst.t.sf(abs(z), 40))
    assert r["change"].tolist() == ["down", "no clear change", ""]


def test_change_tests_hold_their_level_on_overdispersed_stationary_pairs():
    # Stationary weekly counts with variance 5x the mean; phi estimated from 8 reps x 8 weeks of the same process
    rng = np.random.default_rng(7)
    mean, phi_true = 40.0, 5.0
    shape = mean / (phi_true - 1)  # negative binomial: var = mean + mean^2 / shape = 5 x mean
    draw = lambda size: rng.negative_binomial(shape, shape / (shape + mean), size).astype(float)  # noqa: E731
    calls = []
    for _ in range(300):
        hist = draw((8, 8))
        d = stats.count_dispersion(hist.ravel(), np.repeat(np.arange(8), 8))
        a, b = draw(2)
        calls.append(stats.compare_counts(a, 1, b, 1, phi=d.phi, df=d.df).loc[0, "change"])
    assert np.mean(np.array(calls) != "no clear change") <= 0.05 + 0.03  # 5% level, binomial slack for 300 pairs
    # plain Poisson (phi = 1) calls far more "changes" on the same data: what the old overview did
    plain = [stats.compare_counts(*(x for v in draw(2) for x in (v, 1)), phi=1).loc[0, "change"] for _ in range(300)]
    assert np.mean(np.array(plain) != "no clear change") > 0.3


# ---- shrinkage ---------------------------------------------------------------------------------


def test_fit_beta_binomial_method_of_moments_by_hand():
    # p = 15/30 = 0.5; S = 10*(0.3² + 0 + 0.3²) = 1.8; S / 0.25 = 7.2
    # rho = (7.2 - 2) / (30 - 300/30 - 2) = 5.2 / 18; M = 18/5.2 - 1 = 2.4615
    prior = fit_beta_binomial([2, 5, 8], [10, 10, 10])
    assert prior.method == "moments"
    assert prior.strength == pytest.approx(18 / 5.2 - 1)
    assert prior.alpha == pytest.approx(prior.beta)
    assert prior.mean == pytest.approx(0.5)
    # with phi = 2 the same counts are worth half: k/2 of n/2
    half = fit_beta_binomial([1, 2.5, 4], [5, 5, 5])
    assert fit_beta_binomial([2, 5, 8], [10, 10, 10], phi=2).strength == pytest.approx(half.strength)


def test_fit_beta_binomial_pools_fully_when_reps_look_alike():
    # identical rates: no evidence that reps differ beyond chance -> full pooling, not a weak prior
    prior = fit_beta_binomial([5, 10, 20], [10, 20, 40])
    assert prior.method == "pooled" and "not above chance" in prior.reason
    assert prior.mean == pytest.approx(0.5) and prior.strength == np.inf
    out = shrink([5, 10, 20], [10, 20, 40])
    assert (out["mean"] == 0.5).all() and (out["weight"] == 1).all()
    lo, hi = wilson(35, 70)
    assert np.allclose(out["ci_low"], lo) and np.allclose(out["ci_high"], hi)


def test_fit_beta_binomial_pools_when_too_few_reps_or_rate_zero():
    one = fit_beta_binomial([3], [10])
    assert one.method == "pooled" and "1 rep" in one.reason
    zero = fit_beta_binomial([0, 0, 0], [5, 5, 10])
    assert zero.method == "pooled" and zero.mean == pytest.approx(0.5 / 21)  # a proper centre
    empty = fit_beta_binomial([], [])
    assert empty.mean == pytest.approx(0.5)


def test_shrink_at_pooled_rate_zero_gives_the_pooled_interval_not_a_narrower_one():
    out = shrink([0, 0, 0], [5, 5, 10])
    lo, hi = wilson(0, 20)
    assert (out["mean"] == 0).all()
    assert np.allclose(out["ci_low"], 0) and np.allclose(out["ci_high"], hi)


def test_shrink_pulls_small_n_more_than_large_n():
    k = pd.Series([2, 40, 5, 30, 12], index=["tiny", "big", "r3", "r4", "r5"])
    n = [2, 40, 50, 100, 60]  # tiny and big both have a raw rate of 100%
    out = shrink(k, n)
    pooled = k.sum() / sum(n)
    assert list(out.index) == list(k.index)
    assert out.loc["tiny", "raw"] == out.loc["big", "raw"] == 1.0
    assert out.loc["tiny", "weight"] > out.loc["big", "weight"]
    assert out.loc["big", "mean"] > out.loc["tiny", "mean"] > pooled
    assert out["mean"].idxmax() == "big"


def test_shrink_by_hand_with_a_given_prior_and_zero_n():
    out = shrink([3, 1, 0], [10, 10, 0], prior=BetaPrior(0.2, 10.0, "moments"))
    # B = 10 / (10 + 10) = 0.5; pooled p = 4/20; mean = .5 x .3 + .5 x .2
    assert out.loc[0, "weight"] == pytest.approx(0.5)
    assert out.loc[0, "mean"] == pytest.approx(0.25)
    rl, rh = wilson(3, 10)
    pl, ph = wilson(4, 20)
    assert out.loc[0, "ci_low"] == pytest.approx(0.5 * rl + 0.5 * pl)
    assert out.loc[0, "ci_high"] == pytest.approx(0.5 * rh + 0.5 * ph)
    # n = 0: the pooled rate and interval, no raw rate
    assert out.loc[2, "mean"] == pytest.approx(0.2) and np.isnan(out.loc[2, "raw"])
    assert out.loc[2, "ci_high"] == pytest.approx(float(ph))


reps_strategy = st.lists(
    st.integers(0, 200).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))), min_size=1, max_size=12
)


@settings(max_examples=80, deadline=None)
@given(reps_strategy, st.sampled_from([1.0, 1.7, 4.0]))
def test_shrinkage_invariants(pairs, phi):
    k = np.array([p[0] for p in pairs], dtype=float)
    n = np.array([p[1] for p in pairs], dtype=float)
    assume(n.sum() > 0)
    pooled = k.sum() / n.sum()
    out = shrink(k, n, phi=phi)
    has = n > 0
    raw = out["raw"].to_numpy()[has]
    mean = out["mean"].to_numpy()
    eps = 1e-12
    # the estimate lies between the rep's own rate and the pool, and inside its interval
    assert np.all(mean[has] >= np.minimum(raw, pooled) - eps) and np.all(mean[has] <= np.maximum(raw, pooled) + eps)
    assert np.all((out["ci_low"] <= mean + eps) & (mean <= out["ci_high"] + eps))
    assert np.all((out["ci_low"] >= -eps) & (out["ci_high"] <= 1 + eps))
    # never wider than the rep's own interval nor narrower than the pooled one (widths between the two)
    pl, ph = wilson(k[has].sum(), n[has].sum(), phi=phi)
    width = (out["ci_high"] - out["ci_low"]).to_numpy()[has]
    own = (out["raw_high"] - out["raw_low"]).to_numpy()[has]
    pw = float(ph - pl)
    assert np.all(width <= np.maximum(own, pw) + 1e-9) and np.all(width >= np.minimum(own, pw) - 1e-9)
    assert np.allclose(mean[~has], pooled)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(0, 5000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
    st.floats(1.0, 20.0),
)
def test_scaled_intervals_contain_the_estimate(kn, phi):
    k, n = kn
    plo, phi_hi = poisson_interval(k, phi=phi)
    assert float(plo) <= k <= float(phi_hi)
    if n > 0:
        lo, hi = wilson(k, n, phi=phi)
        assert float(lo) - 1e-12 <= k / n <= float(hi) + 1e-12
        # overdispersion only ever widens
        lo1, hi1 = wilson(k, n)
        assert float(hi - lo) >= float(hi1 - lo1) - 1e-12


def test_sum_interval_is_a_t_interval_and_unit_invariant():
    hours = [3.0, 5.0, 4.0, 8.0]
    total, lo, hi = stats.sum_interval(hours)
    half = sst.t.ppf(0.975, 3) * np.std(hours, ddof=1) / 2
    assert total == 20 and lo == pytest.approx(4 * (5 - half)) and hi == pytest.approx(4 * (5 + half))
    t_min, lo_min, hi_min = stats.sum_interval([60 * h for h in hours])
    assert (lo_min / t_min, hi_min / t_min) == (pytest.approx(lo / total), pytest.approx(hi / total))
    one = stats.sum_interval([7.5, np.nan])
    assert one[0] == 7.5 and np.isnan(one[1]) and np.isnan(one[2])


# ---- trend, association, activity score -----------------------------------------------------------


def test_trend_needs_weeks_and_states_direction_only_when_the_interval_excludes_zero():
    short = stats.trend([432, 382, 234, 60, 287])
    assert short["direction"] == "" and "only 5 weeks" in short["reason"]
    # the R001: 432, 382, 234, 60, 287, 300 is not a trend
    assert stats.trend([432, 382, 234, 60, 287, 300])["direction"] == "no clear trend"
    rising = stats.trend(np.round(50 * 1.15 ** np.arange(12)))
    assert rising["direction"] == "rising" and rising["ci_low"] > 0
    assert rising["weekly_change"] == pytest.approx(0.15, abs=0.01)
    flat = stats.trend([10] * 8)
    assert flat["direction"] == "no clear trend" and flat["slope"] == 0


def test_trend_false_alarm_rate_on_stationary_overdispersed_series():
    rng = np.random.default_rng(3)
    calls = []
    for _ in range(400):
        y = rng.negative_binomial(5, 5 / (5 + 60), 12)  # mean 60, var 780: phi 13
        calls.append(stats.trend(y)["direction"])
    false = np.mean(np.isin(calls, ["rising", "falling"]))
    assert false <= 0.08, false


def test_effort_association_within_and_between_by_construction():
    rng = np.random.default_rng(5)
    weeks = pd.date_range("2024-01-01", periods=12, freq="W-MON")
    rows = []
    for i in range(8):
        base = 50 + 10 * i  # busier reps ...
        x = base + rng.normal(0, 8, 12)
        y = np.r_[np.nan, 100 - 0.5 * base + 0.8 * (x[:-1] - base) + rng.normal(0, 1, 11)]
        rows += [
            {"rep_id": f"r{i}", "period_start": w, "calls": a, "meetings": b}
            for w, a, b in zip(weeks, x, y, strict=True)
        ]
    panel = pd.DataFrame(rows)
    out = stats.effort_association(panel, "calls", "meetings", lag=1).set_index("effect")
    # ... get fewer meetings (between: -0.5), but a rep's above-usual week is followed by more (within: +0.8)
    assert out.loc["within rep", "slope"] == pytest.approx(0.8, abs=0.05)
    assert out.loc["within rep", "direction"] == "positive"
    assert out.loc["between reps", "slope"] == pytest.approx(-0.5, abs=0.1)
    assert out.loc["between reps", "direction"] == "negative"
    assert (out["reps"] == 8).all() and (out["rep_weeks"] == 88).all() and (out["label"] == "exploratory").all()
    few = stats.effort_association(panel[panel["rep_id"].isin(["r0", "r1"])], "calls", "meetings")
    assert few["slope"].isna().all() and "only 2 reps" in few.loc[0, "reason"]


def test_capped_score_interval_by_hand():
    # calls 300 of 200 (capped at 1), meetings 5 of 10 (0.5), weights 1 and 3: 100 x (1 + 1.5) / 4 = 62.5
    score, lo, hi = stats.capped_score_interval([300, 5], [200, 10], [1, 3], phi=[4, 1.5])
    assert score == 62.5 and lo < score < hi <= 100
    again = stats.capped_score_interval([300, 5], [200, 10], [1, 3], phi=[4, 1.5])
    assert again == (score, lo, hi)  # seeded: the same every time
    full = stats.capped_score_interval([200, 10], [200, 10], [1, 3])  # exactly on target: it may be below
    assert full[0] == 100 and full[2] == 100 and full[1] < 100
    assert stats.capped_score_interval([900, 90], [200, 10], [1, 3]) == (100, 100, 100)  # far above every target
    assert np.isnan(stats.capped_score_interval([5], [0], [1])[0])


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
