"""SAP in both modes equals disentanglement_lib's and behaves as its definition says."""

from __future__ import annotations

import numpy as np
import pytest

from latentkit.analysis.sap import sap

from .conftest import split


@pytest.mark.parametrize("continuous", [False, True], ids=["discrete", "continuous"])
def test_shared_cases_match_the_reference(reference_case, continuous):
    mode = "continuous" if continuous else "discrete"
    result = sap(*reference_case.split, continuous_factors=continuous)
    assert result.score == pytest.approx(reference_case.values[f"sap_{mode}.SAP_score"], abs=1e-9)
    np.testing.assert_allclose(result.score_matrix, reference_case.matrix(f"sap_score_matrix_{mode}"), atol=1e-9)
    assert result.continuous_factors is continuous


def test_discrete_mode_rewards_a_perfect_binary_code_fully(make_disentangled):
    result = sap(*split(*make_disentangled(noise=0.0, sizes=(2, 2))))
    assert result.score == pytest.approx(0.5, abs=0.05)  # accuracy 1 vs chance 0.5 per factor


def test_noise_lowers_the_score_monotonically(make_disentangled):
    scores = [
        sap(*split(*make_disentangled(noise=noise)), continuous_factors=True).score for noise in (0.0, 0.5, 1.0, 2.0)
    ]
    assert all(earlier > later for earlier, later in zip(scores, scores[1:])), scores


def test_a_factor_no_code_carries_scores_about_zero(make_disentangled):
    codes, factors = make_disentangled(noise=0.1)
    codes[:, 2] = np.random.default_rng(9).standard_normal(len(codes))
    for continuous in (False, True):
        per_factor = sap(*split(codes, factors), continuous_factors=continuous).per_factor
        assert per_factor[2] < 0.05


def test_a_constant_code_scores_zero_in_continuous_mode_and_is_noted(make_disentangled):
    codes, factors = make_disentangled(noise=0.1)
    codes[:, 1] = 2.0
    result = sap(*split(codes, factors), continuous_factors=True)
    assert result.score_matrix[1].tolist() == [0.0, 0.0, 0.0]
    assert result.notes == ("code 1 is constant: score 0",)
