"""The percentile bootstrap covers a statistic with a known sampling distribution."""

from __future__ import annotations

import math

import numpy as np
import pytest

from latentkit.analysis.bootstrap import bootstrap_ci, percentile_interval
from latentkit.analysis.mig import mig
from latentkit.errors import LatentkitError


def column_mean(codes, _factors):
    return float(codes[:, 0].mean())


def test_interval_of_the_mean_covers_it_with_the_normal_width():
    rng = np.random.default_rng(0)
    sigma, n = 2.0, 2000
    codes = rng.normal(5.0, sigma, (n, 1))
    low, high = bootstrap_ci(column_mean, codes, None, n_resamples=1000, seed=1)
    assert low < 5.0 < high
    assert high - low == pytest.approx(2 * 1.96 * sigma / math.sqrt(n), rel=0.1)


def test_same_seed_same_interval_and_wider_for_higher_confidence():
    codes = np.random.default_rng(3).standard_normal((500, 1))
    first = bootstrap_ci(column_mean, codes, None, n_resamples=200, seed=7)
    assert bootstrap_ci(column_mean, codes, None, n_resamples=200, seed=7) == first
    assert bootstrap_ci(column_mean, codes, None, n_resamples=200, seed=8) != first
    narrow = bootstrap_ci(column_mean, codes, None, n_resamples=200, seed=7, confidence=0.5)
    assert first.low < narrow.low < narrow.high < first.high


def test_rows_of_codes_and_factors_are_resampled_together(make_disentangled):
    codes, factors = make_disentangled(noise=0.3, n=1000)
    low, high = bootstrap_ci(lambda c, f: mig(c, f).score, codes, factors, n_resamples=30, seed=0)
    # Resampled apart, codes and factors would be independent and MIG about 0.
    assert mig(codes, factors).score - 0.1 < low < high < 1.0


def test_non_finite_scores_are_left_out_and_errors_are_latentkit_errors():
    codes = np.arange(10.0)[:, None]
    assert all(math.isnan(v) for v in bootstrap_ci(lambda c, f: math.inf, codes, None, n_resamples=5, seed=0))
    with pytest.raises(LatentkitError):
        bootstrap_ci(column_mean, codes, None, n_resamples=0, seed=0)


def test_percentile_interval_takes_the_central_quantiles_of_finite_estimates():
    estimates = np.concatenate([np.arange(101.0), [np.nan, np.inf]])
    assert percentile_interval(estimates, 0.9) == pytest.approx((5.0, 95.0))
    with pytest.raises(LatentkitError):
        percentile_interval(estimates, 1.0)


def test_bias_corrected_interval_shifts_by_the_bootstrap_bias():
    from latentkit.analysis.bootstrap import bias_corrected_interval, percentile_interval

    estimates = np.linspace(0.8, 0.9, 101)  # mean 0.85, against an estimate of 0.95: bias -0.1
    plain = percentile_interval(estimates, 0.9)
    shifted = bias_corrected_interval(estimates, 0.95, 0.9)
    assert shifted.low == pytest.approx(plain.low + 0.1) and shifted.high == pytest.approx(plain.high + 0.1)
    assert shifted.low < 0.95 < shifted.high
