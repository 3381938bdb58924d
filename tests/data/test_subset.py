"""``limit``/``seed``: one reproducible random subset, implemented once for every source."""

import numpy as np
import pytest

from latentkit.data import Subset, open_data
from latentkit.data.source import subset_indices
from latentkit.errors import LatentkitError


def test_same_seed_same_rows_and_different_seed_different_rows():
    first, again, other = (subset_indices(1797, 100, seed) for seed in (7, 7, 8))

    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    assert first.dtype == np.int64 and len(np.unique(first)) == 100
    assert np.all(np.diff(first) > 0) and first[0] >= 0 and first[-1] < 1797


def test_rows_are_those_default_rng_chooses():
    source = open_data("digits", limit=100, seed=1)
    expected = np.sort(np.random.default_rng(1).choice(1797, size=100, replace=False))

    np.testing.assert_array_equal(source.indices, expected)


def test_limit_at_or_above_the_size_keeps_every_row():
    for limit in (1797, 5000):
        source = open_data("digits", limit=limit)
        assert len(source) == 1797 and not isinstance(source, Subset)


@pytest.mark.parametrize("limit", [0, -3])
def test_limit_not_positive_is_an_error(limit):
    with pytest.raises(LatentkitError, match="--limit") as raised:
        open_data("digits", limit=limit)
    assert raised.value.fix


def test_subset_rows_labels_and_batches_follow_the_chosen_rows():
    full = open_data("digits")
    subset = open_data("digits", limit=50, seed=3)

    batches = list(subset.batches(16))

    assert [len(batch.index) for batch in batches] == [16, 16, 16, 2]
    np.testing.assert_array_equal(np.concatenate([batch.index for batch in batches]), np.arange(50))
    np.testing.assert_array_equal(np.concatenate([batch.x for batch in batches]), full.get(subset.indices))
    np.testing.assert_array_equal(subset.labels, full.labels[subset.indices])
    assert subset.name == "digits" and subset.image_shape == (1, 8, 8)


def test_subset_of_a_subset_maps_factors_through_both():
    shapes = open_data("shapes")
    outer = Subset(shapes, np.array([10, 20, 30, 40, 50]))
    inner = Subset(outer, np.array([1, 3]))

    np.testing.assert_array_equal(inner.factors, shapes.factors_of(np.array([20, 40])))
    np.testing.assert_array_equal(inner.get(np.array([0, 1])), shapes.get(np.array([20, 40])))
    assert inner.factor_names == shapes.factor_names and inner.factor_sizes == shapes.factor_sizes
