"""Unsupervised scores equal disentanglement_lib's; singular and constant codes give +inf/NaN with a note."""

from __future__ import annotations

import math

import numpy as np
import pytest

from latentkit.analysis.unsupervised import (
    gaussian_total_correlation,
    gaussian_wasserstein_correlation,
    unsupervised_scores,
)

SCORES = (
    "gaussian_total_correlation",
    "gaussian_wasserstein_correlation",
    "gaussian_wasserstein_correlation_norm",
    "mutual_info_score",
)


def test_shared_cases_match_the_reference(reference_case):
    result = unsupervised_scores(reference_case.codes)
    for name in SCORES:
        assert getattr(result, name) == pytest.approx(reference_case.values[f"unsupervised.{name}"], abs=1e-12), name


def test_independent_codes_score_about_zero_and_correlated_codes_more():
    rng = np.random.default_rng(0)
    independent = rng.standard_normal((20_000, 3))
    mixed = independent @ np.array([[1.0, 0.8, 0.0], [0.0, 0.6, 0.0], [0.0, 0.0, 1.0]])
    calm, busy = unsupervised_scores(independent), unsupervised_scores(mixed)
    assert calm.gaussian_total_correlation < 1e-3 and calm.gaussian_wasserstein_correlation_norm < 1e-3
    assert busy.gaussian_total_correlation == pytest.approx(-0.5 * math.log(1 - 0.8**2), rel=0.05)
    assert busy.mutual_info_score > calm.mutual_info_score


def test_closed_forms_on_a_known_covariance():
    covariance = np.array([[1.0, 0.5], [0.5, 1.0]])
    assert gaussian_total_correlation(covariance) == pytest.approx(-0.5 * math.log(0.75))
    # W2^2 between N(0, S) and N(0, I) for unit variances: 2 tr S - 2 tr sqrtm(S).
    eigen = np.linalg.eigvalsh(covariance)
    assert gaussian_wasserstein_correlation(covariance) == pytest.approx(4 - 2 * np.sqrt(eigen).sum())


def test_a_duplicated_code_makes_total_correlation_infinite_with_a_note():
    rng = np.random.default_rng(1)
    codes = rng.standard_normal((5000, 3))
    result = unsupervised_scores(np.column_stack([codes, codes[:, 0]]))
    assert result.gaussian_total_correlation == math.inf
    assert any("singular" in note for note in result.notes)
    assert np.isfinite(result.gaussian_wasserstein_correlation)  # complex part, if any, is rounding


def test_a_constant_code_makes_total_correlation_nan_with_a_note():
    rng = np.random.default_rng(2)
    codes = rng.standard_normal((5000, 3))
    codes[:, 1] = 0.25
    result = unsupervised_scores(codes)
    assert math.isnan(result.gaussian_total_correlation)
    assert result.notes[0] == "code 1 is constant: total correlation is undefined (NaN)"
    assert result.mi_matrix[1].tolist() == [0.0, 0.0, 0.0]
