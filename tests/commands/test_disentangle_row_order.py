"""--codes row order: rows sorted by a factor are shuffled with the seed (auto), or kept (file, the reference)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from latentkit.commands.disentangle import disentangle, file_order_problem, order_rows
from latentkit.errors import LatentkitError


def _sorted_codes(tmp_path):
    rng = np.random.default_rng(0)
    factors = np.column_stack([np.repeat(np.arange(5), 200), rng.integers(0, 4, 1000)])  # sorted by factor 0
    codes = factors + rng.normal(0, 0.1, factors.shape)
    path = tmp_path / "sorted.npz"
    np.savez(path, codes=codes, factors=factors)
    return path


def test_rows_sorted_by_a_factor_are_shuffled_with_the_seed_and_recorded(tmp_path):
    path = _sorted_codes(tmp_path)
    settings = {"metrics": "dci,mig", "dci_model": "fast", "seed": 3}
    auto = disentangle(codes=path, out=tmp_path / "auto", **settings)
    kept = disentangle(codes=path, row_order="file", write=False, **settings)
    doc = json.loads((tmp_path / "auto" / "disentangle.json").read_text())
    assert doc["results"]["rows"]["order"] == {
        "order": "shuffled",
        "requested": "auto",
        "reason": "the rows are sorted by factor 0",
        "permutation": "numpy.random.default_rng(3).permutation(1000)",
    }
    assert any("--row-order file" in note for note in auto.notes)
    # File order: the test rows are all class 4 of factor 0, which no training row has, so factor 0 is
    # predicted on none of them and factor 1 on all: test accuracy 1/2. Shuffled, both are predicted.
    assert kept.scores["dci.informativeness_test"] == pytest.approx(0.5)
    assert auto.scores["dci.informativeness_test"] > 0.95
    assert auto.scores["mig"] == pytest.approx(kept.scores["mig"])  # MIG uses all rows: order does not matter


def test_the_reference_order_is_kept_when_it_is_sound():
    rng = np.random.default_rng(1)
    factors = rng.integers(0, 4, (500, 2))
    codes = factors.astype(float)
    assert file_order_problem(factors, slice(0, 400), slice(400, 500)) is None
    same_codes, same_factors, record = order_rows(codes, factors, "auto", seed=0)
    assert record == {"order": "file", "requested": "auto"}
    assert same_codes is codes and same_factors is factors


def test_unseen_test_classes_are_detected_and_unknown_orders_refused():
    factors = np.zeros((10, 1), dtype=np.int64)
    factors[[2, 9]] = 1  # class 1 in training row 2 and test row 9: fine
    factors[8] = 2  # class 2 only in the test rows
    assert file_order_problem(factors, slice(0, 8), slice(8, 10)) == (
        "the test rows hold 1 class(es) of factor 0 that no training row has"
    )
    with pytest.raises(LatentkitError, match="--row-order"):
        order_rows(np.zeros((10, 1)), factors, "sorted", seed=0)
