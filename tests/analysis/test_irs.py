"""IRS equals disentanglement_lib's and behaves as its definition says."""

from __future__ import annotations

import numpy as np
import pytest

from latentkit.analysis.irs import irs


def test_shared_cases_match_the_reference(reference_case):
    result = irs(reference_case.codes, reference_case.factors)
    assert result.score == pytest.approx(reference_case.values["irs.IRS"], abs=1e-9)
    active = result.active_codes
    np.testing.assert_allclose(result.irs_matrix[active], reference_case.matrix("irs_matrix"), atol=1e-9)
    np.testing.assert_allclose(result.per_code[active], reference_case.matrix("irs_per_code"), atol=1e-9)


def test_a_perfect_code_finds_each_codes_factor(make_disentangled):
    np.testing.assert_array_equal(irs(*make_disentangled(noise=0.0)).parent_factor, [0, 1, 2])


def test_a_duplicated_code_counts_twice_in_the_weighted_average(make_disentangled):
    codes, factors = make_disentangled(noise=0.3)
    single, doubled = irs(codes, factors), irs(np.column_stack([codes, codes[:, 0]]), factors)
    weights, per_code = single.max_deviation, single.per_code
    expected = (weights @ per_code + weights[0] * per_code[0]) / (weights.sum() + weights[0])
    assert doubled.score == pytest.approx(expected, abs=1e-12)


def test_noise_lowers_the_score_monotonically(make_disentangled):
    scores = [irs(*make_disentangled(noise=noise)).score for noise in (0.0, 0.2, 0.5, 1.0, 2.0)]
    assert all(earlier > later for earlier, later in zip(scores, scores[1:])), scores


def test_a_constant_code_is_dropped_and_noted(make_disentangled):
    codes, factors = make_disentangled(noise=0.1)
    with_constant = np.column_stack([codes[:, :1], np.full(len(codes), 4.0), codes[:, 1:]])
    result = irs(with_constant, factors)
    assert result.score == pytest.approx(irs(codes, factors).score, abs=1e-12)
    assert result.active_codes.tolist() == [True, False, True, True]
    assert np.isnan(result.per_code[1]) and result.parent_factor[1] == -1
    assert result.notes == ("code 1 is constant: dropped by IRS",)


def test_all_constant_codes_score_zero():
    factors = np.column_stack([np.arange(100) % 3, np.arange(100) % 4])
    result = irs(np.ones((100, 2)), factors)
    assert result.score == 0.0
    assert "no code varies" in result.notes[-1]
