"""The discretiser and MI estimates agree exactly with numpy's histogram and sklearn's mutual_info_score."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import mutual_info_score

from latentkit.analysis.mutual_info import (
    binned_codes_mutual_info,
    codes_factors_mutual_info,
    discrete_entropy,
    histogram_discretize,
    mutual_info_matrix,
)


def reference_discretize(values: np.ndarray, num_bins: int = 20) -> np.ndarray:
    """disentanglement_lib's histogram discretiser, written out per column."""
    labels = np.zeros_like(values)
    for column in range(values.shape[1]):
        edges = np.histogram(values[:, column], num_bins)[1][:-1]
        labels[:, column] = np.digitize(values[:, column], edges)
    return labels


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16, np.int64])
def test_discretiser_matches_numpy_histogram_bit_for_bit(dtype):
    rng = np.random.default_rng(1)
    for trial in range(60):
        n, d = int(rng.integers(2, 400)), int(rng.integers(1, 6))
        values = (rng.standard_normal((n, d)) * 10 ** rng.uniform(-2, 3) + rng.uniform(-50, 50)).astype(dtype)
        if trial % 5 == 0:
            values[:, 0] = values[0, 0]  # constant column: numpy widens the range by +-0.5
        for column in range(d):  # put values exactly on the edges and just below them
            try:
                edges = np.histogram_bin_edges(values[:, column], 20).astype(dtype)
            except ValueError:
                continue
            k = min(n // 3, 21)
            values[:k, column] = edges[:k]
            if np.issubdtype(dtype, np.floating):
                values[k : 2 * k, column] = np.nextafter(edges[:k], dtype(-np.inf))
        try:
            expected = reference_discretize(values)
        except ValueError:  # numpy cannot cut this range into 20 bins
            continue
        labels = histogram_discretize(values)
        assert labels.dtype == values.dtype
        np.testing.assert_array_equal(labels, expected)


def test_discretiser_labels_run_from_1_to_num_bins_with_the_maximum_in_the_last_bin():
    values = np.linspace(-3.0, 5.0, 101)[:, None]
    labels = histogram_discretize(values, num_bins=7)
    assert labels.min() == 1 and labels.max() == 7
    assert labels[np.argmax(values[:, 0]), 0] == 7


def test_mi_matrix_matches_sklearn_for_every_pair():
    rng = np.random.default_rng(2)
    x = rng.integers(0, 7, (500, 4))
    y = np.column_stack([x[:, 0] // 2, rng.integers(-3, 3, 500), rng.integers(0, 10**6, 500), np.full(500, 4)])
    expected = [[mutual_info_score(x[:, p], y[:, q]) for q in range(y.shape[1])] for p in range(x.shape[1])]
    np.testing.assert_allclose(mutual_info_matrix(x, y), expected, rtol=0, atol=1e-12)
    assert mutual_info_matrix(x, y)[:, 3].tolist() == [0.0] * 4  # a single-valued variable has MI 0


def test_entropy_is_mutual_information_with_itself_and_log_k_for_uniform_labels():
    rng = np.random.default_rng(3)
    labels = np.column_stack([rng.integers(0, 5, 1000), np.repeat(np.arange(8), 125), np.zeros(1000, int)])
    expected = [mutual_info_score(labels[:, k], labels[:, k]) for k in range(3)]
    np.testing.assert_allclose(discrete_entropy(labels), expected, rtol=0, atol=1e-12)
    assert discrete_entropy(labels)[1] == pytest.approx(np.log(8), abs=1e-12)


def test_independent_variables_get_the_plug_in_bias_not_zero():
    rng = np.random.default_rng(4)
    n, a, b = 20_000, 20, 10
    mi = mutual_info_matrix(rng.integers(0, a, (n, 1)), rng.integers(0, b, (n, 1)))[0, 0]
    assert mi == pytest.approx((a - 1) * (b - 1) / (2 * n), rel=0.3)


def test_code_pair_mi_matrix_is_symmetric_with_entropies_on_the_diagonal():
    rng = np.random.default_rng(5)
    codes = rng.standard_normal((2000, 3))
    codes[:, 2] = codes[:, 0] * 2 + 1
    mi = binned_codes_mutual_info(codes)
    np.testing.assert_allclose(mi, mi.T, atol=1e-12)
    np.testing.assert_allclose(np.diag(mi), discrete_entropy(histogram_discretize(codes).astype(int)), atol=1e-12)
    assert mi[0, 2] == pytest.approx(mi[0, 0])  # an affine copy bins identically


def test_shared_cases_mi_matrices_and_factor_entropies(reference_case):
    mi, entropy = codes_factors_mutual_info(reference_case.codes, reference_case.factors)
    np.testing.assert_allclose(mi, reference_case.matrix("mi_matrix_all_rows"), rtol=0, atol=1e-12)
    np.testing.assert_allclose(entropy, reference_case.matrix("factor_entropy_all_rows"), rtol=0, atol=1e-12)
    mi_train, _ = codes_factors_mutual_info(*reference_case.train)
    np.testing.assert_allclose(mi_train, reference_case.matrix("mi_matrix_train_rows"), rtol=0, atol=1e-12)
