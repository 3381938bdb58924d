"""scikit-learn's 8x8 handwritten digits: 1797 images that ship with scikit-learn (no download)."""

from __future__ import annotations

from functools import cache

import numpy as np

from latentkit.data.source import ArraySource

DIGITS_MAX_VALUE = 16  # pixel values are ink counts 0..16


@cache
def _digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """Images as (1797, 1, 8, 8) uint8 0..16 and labels as int64, read once per process."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = digits.images.astype(np.uint8)[:, None]
    labels = digits.target.astype(np.int64)
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


def open_digits() -> ArraySource:
    """The digits as a source; values 0..16 become [0, 1] batch by batch, labels are the digit."""
    images, labels = _digits_arrays()
    return ArraySource("digits", images, full_scale=DIGITS_MAX_VALUE, labels=labels)
