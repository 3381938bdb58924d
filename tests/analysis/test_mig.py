"""MIG equals disentanglement_lib's on the shared cases and behaves as its definition says."""

from __future__ import annotations

import numpy as np
import pytest

from latentkit.analysis.mig import mig


def test_shared_cases_match_the_reference(reference_case):
    result = mig(reference_case.codes, reference_case.factors)
    assert result.score == pytest.approx(reference_case.values["mig.discrete_mig"], abs=1e-12)
    np.testing.assert_allclose(result.per_factor, reference_case.matrix("mig_per_factor_all_rows"), atol=1e-12)
    np.testing.assert_allclose(result.mi_matrix, reference_case.matrix("mi_matrix_all_rows"), atol=1e-12)
    np.testing.assert_allclose(result.factor_entropy, reference_case.matrix("factor_entropy_all_rows"), atol=1e-12)


def test_noise_lowers_the_score_monotonically(make_disentangled):
    scores = [mig(*make_disentangled(noise=noise)).score for noise in (0.0, 0.2, 0.4, 0.8, 1.6)]
    assert all(earlier > later for earlier, later in zip(scores, scores[1:])), scores


def test_a_duplicated_code_closes_its_factors_gap(make_disentangled):
    codes, factors = make_disentangled(noise=0.1)
    duplicated = mig(np.column_stack([codes, codes[:, 0]]), factors)
    assert duplicated.per_factor[0] == 0.0  # two codes share the top MI: no gap


def test_a_factor_no_code_carries_scores_about_zero(make_disentangled):
    codes, factors = make_disentangled(noise=0.1)
    codes[:, 1] = np.random.default_rng(9).standard_normal(len(codes))
    per_factor = mig(codes, factors).per_factor
    assert per_factor[1] < 0.01
    assert per_factor[0] > 0.9 and per_factor[2] > 0.9
