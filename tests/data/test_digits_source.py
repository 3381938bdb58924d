"""The built-in digits source: scikit-learn's 8x8 digits scaled to [0, 1]."""

import numpy as np
from sklearn.datasets import load_digits

from latentkit.data import open_data


def test_digits_has_sklearns_images_scaled_and_its_labels():
    source = open_data("digits")
    reference = load_digits()

    x = np.concatenate([batch.x for batch in source.batches(500)])

    assert source.name == "digits"
    assert len(source) == 1797
    assert source.image_shape == (1, 8, 8)
    assert x.shape == (1797, 1, 8, 8) and x.dtype == np.float32
    assert x.min() == 0.0 and x.max() == 1.0
    np.testing.assert_allclose(x[:, 0], reference.images / 16, rtol=0, atol=1e-7)
    assert source.labels.dtype == np.int64
    np.testing.assert_array_equal(source.labels, reference.target)
    assert source.factors is None and source.factor_names is None and source.factor_sizes is None


def test_digits_random_access_matches_batches():
    source = open_data("digits")
    index = np.array([1796, 0, 5])

    np.testing.assert_array_equal(source.get(index), np.divide(source.array[index], 16, dtype=np.float32))
