"""DCI: the reference classifier reproduces disentanglement_lib, the fast one stays within 0.02 of it."""

from __future__ import annotations

import numpy as np
import pytest

from latentkit.analysis.dci import dci, disentanglement_completeness
from latentkit.errors import LatentkitError

from .conftest import load_case, shared_case_names, split

FIGURES = ("disentanglement", "completeness", "informativeness_train", "informativeness_test")
# The reference classifier takes ~25 s of CPU per small case (~15 s on 2 cores in parallel)
# and ~3 min on case e: the small cases stay in the default suite, case e runs with -m slow.
SLOW_REFERENCE_CASES = {"e_dsprites_like"}


def reference_params(slow_cases: set[str]) -> list:
    return [
        pytest.param(name, marks=pytest.mark.slow) if name in slow_cases else name for name in shared_case_names()
    ]


@pytest.mark.parametrize("case_name", reference_params(SLOW_REFERENCE_CASES))
def test_reference_model_with_random_state_0_matches_the_reference(case_name):
    case = load_case(case_name)
    result = dci(*case.split, model="reference", random_state=0)
    for figure in FIGURES:
        assert getattr(result, figure) == pytest.approx(case.values[f"dci_random_state_0.{figure}"], abs=1e-9), figure
    np.testing.assert_allclose(result.importance_matrix.sum(axis=0), 1.0)


@pytest.mark.slow
@pytest.mark.parametrize("case_name", shared_case_names())
def test_reference_model_on_the_global_rng_matches_dlib_seeded_run(case_name):
    case = load_case(case_name)
    np.random.seed(0)  # what the reference run did right before calling DCI
    result = dci(*case.split, model="reference", random_state=None)
    for figure in FIGURES:
        assert getattr(result, figure) == pytest.approx(case.values[f"dci.{figure}"], abs=1e-9), figure
    np.testing.assert_allclose(result.importance_matrix, case.matrix("dci_importance_matrix"), atol=1e-9)


@pytest.mark.parametrize("case_name", reference_params({"e_dsprites_like"}))
def test_fast_model_is_within_0_02_of_the_reference(case_name):
    case = load_case(case_name)
    result = dci(*case.split, model="fast")
    for figure in FIGURES:
        assert getattr(result, figure) == pytest.approx(case.values[f"dci_random_state_0.{figure}"], abs=0.02), figure


def test_parallel_fitting_gives_the_values_of_sequential_fitting(make_disentangled):
    codes, factors = make_disentangled(noise=0.5, n=500, sizes=(2, 3, 4))
    for model in ("reference", "fast"):
        sequential = dci(*split(codes, factors), model=model, n_jobs=1)
        parallel = dci(*split(codes, factors), model=model, n_jobs=-1)
        np.testing.assert_array_equal(parallel.importance_matrix, sequential.importance_matrix)
        np.testing.assert_array_equal(parallel.per_factor_accuracy_test, sequential.per_factor_accuracy_test)


def test_fast_model_is_deterministic(make_disentangled):
    data = split(*make_disentangled(noise=0.5, n=1000))
    first, second = dci(*data, model="fast"), dci(*data, model="fast")
    np.testing.assert_array_equal(first.importance_matrix, second.importance_matrix)
    assert first.informativeness_test == second.informativeness_test


def test_noise_lowers_the_scores_monotonically(make_disentangled):
    results = [dci(*split(*make_disentangled(noise=noise)), model="fast") for noise in (0.05, 0.3, 0.6, 1.2)]
    for figure in ("disentanglement", "completeness", "informativeness_test"):
        scores = [getattr(result, figure) for result in results]
        assert all(earlier > later for earlier, later in zip(scores, scores[1:])), (figure, scores)


def test_a_duplicated_code_lowers_completeness_but_not_disentanglement(make_disentangled):
    codes, factors = make_disentangled(noise=0.05)
    duplicated = dci(*split(np.column_stack([codes, codes[:, 0]]), factors), model="fast")
    # Factor 0's importance is shared by codes 0 and 3: C_0 = 1 - log 2 / log 4.
    assert duplicated.per_factor_completeness[0] == pytest.approx(1 - np.log(2) / np.log(4), abs=0.03)
    assert duplicated.importance_matrix[0, 0] == pytest.approx(duplicated.importance_matrix[3, 0])
    assert duplicated.disentanglement > 0.95
    assert "identical copies" in duplicated.notes[0]


def test_a_factor_no_code_carries_gets_about_zero_completeness_and_chance_accuracy(make_disentangled):
    codes, factors = make_disentangled(noise=0.05, sizes=(4, 5, 6))
    codes[:, 1] = np.random.default_rng(9).standard_normal(len(codes))
    result = dci(*split(codes, factors), model="fast")
    assert result.per_factor_completeness[1] < 0.2
    assert result.per_factor_accuracy_test[1] == pytest.approx(1 / 5, abs=0.07)
    assert result.per_factor_completeness[0] > 0.9


def test_disentanglement_completeness_closed_forms():
    identity = disentanglement_completeness(np.eye(4))
    assert identity["disentanglement"] == pytest.approx(1.0) and identity["completeness"] == pytest.approx(1.0)
    duplicated = disentanglement_completeness(np.vstack([np.eye(5), np.eye(5)]) / 2)  # dlib's own test
    assert duplicated["disentanglement"] == pytest.approx(1.0)
    assert duplicated["completeness"] == pytest.approx(1 - np.log(2) / np.log(10))
    uniform = disentanglement_completeness(np.ones((3, 3)))
    assert uniform["disentanglement"] == pytest.approx(0.0, abs=1e-9)
    nothing = disentanglement_completeness(np.zeros((3, 2)))
    np.testing.assert_allclose(nothing["code_weights"], 1 / 3)  # uniform weights, no 0/0


def test_bad_settings_are_latentkit_errors(make_disentangled):
    data = split(*make_disentangled(n=200))
    with pytest.raises(LatentkitError, match="unknown DCI model"):
        dci(*data, model="xgboost")
    codes_train, factors_train, codes_test, factors_test = data
    factors_train = factors_train.copy()
    factors_train[:, 0] = 1
    with pytest.raises(LatentkitError, match="single value"):
        dci(codes_train, factors_train, codes_test, factors_test)
