"""Modularity and explicitness equal disentanglement_lib's and behave as their definitions say."""

from __future__ import annotations

import numpy as np
import pytest

from latentkit.analysis.modularity import explicitness, modularity

from .conftest import split


def test_shared_cases_modularity_matches_the_reference(reference_case):
    on_train = modularity(*reference_case.train)
    assert on_train.score == pytest.approx(reference_case.values["modularity_explicitness.modularity_score"], abs=1e-12)
    np.testing.assert_allclose(on_train.mi_matrix, reference_case.matrix("mi_matrix_train_rows"), atol=1e-12)
    on_all_rows = modularity(reference_case.codes, reference_case.factors)
    expected = reference_case.values["modularity_explicitness.modularity_score_all_rows"]
    assert on_all_rows.score == pytest.approx(expected, abs=1e-12)


def test_shared_cases_explicitness_matches_the_reference(reference_case):
    result = explicitness(*reference_case.split)
    values = reference_case.values
    assert result.score_train == pytest.approx(values["modularity_explicitness.explicitness_score_train"], abs=1e-5)
    assert result.score_test == pytest.approx(values["modularity_explicitness.explicitness_score_test"], abs=1e-5)


def test_noise_lowers_the_scores_monotonically(make_disentangled):
    noises = (0.0, 0.5, 1.0, 2.0)
    modularities = [modularity(*make_disentangled(noise=noise)).score for noise in noises]
    explicitnesses = [explicitness(*split(*make_disentangled(noise=noise))).score_test for noise in noises]
    for scores in (modularities, explicitnesses):
        assert all(earlier > later for earlier, later in zip(scores, scores[1:])), scores


def test_a_factor_no_code_carries_is_barely_explicit(make_disentangled):
    codes, factors = make_disentangled(noise=0.1)
    codes[:, 1] = np.random.default_rng(9).standard_normal(len(codes))
    per_factor = explicitness(*split(codes, factors)).per_factor_test
    assert per_factor[1] == pytest.approx(0.5, abs=0.05)  # chance AUC
    assert per_factor[0] > 0.95


def test_a_constant_code_is_dropped_by_explicitness_and_scores_zero_modularity(make_disentangled):
    codes, factors = make_disentangled(noise=0.1)
    codes[:, 2] = 1.5
    result = explicitness(*split(codes, factors))
    assert np.isfinite(result.score_test)
    assert result.notes[0].startswith("code 2 is constant: dropped")
    assert modularity(codes, factors).per_code[2] == 0.0


def test_a_class_missing_from_the_test_rows_is_left_out_of_the_average(make_disentangled):
    codes_train, factors_train, codes_test, factors_test = split(*make_disentangled(noise=0.1))
    keep = factors_test[:, 0] != 3
    result = explicitness(codes_train, factors_train, codes_test[keep], factors_test[keep])
    assert result.per_factor_test[0] > 0.99
