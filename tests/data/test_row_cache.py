"""RowCache: rows read once are served from memory, within a byte budget, and equal the source's."""

from __future__ import annotations

import numpy as np

from latentkit.data.shapes import ShapesSource
from latentkit.data.source import RowCache, Subset


class CountingShapes(ShapesSource):
    def __init__(self) -> None:
        super().__init__()
        self.rendered = 0

    def get(self, index):
        self.rendered += len(index)
        return super().get(index)


def test_rows_are_rendered_once_and_equal_the_source():
    inner = CountingShapes()
    cache = RowCache(inner, max_bytes=10**9)
    rows = np.array([5, 700_000, 3, 5], dtype=np.int64)
    first = cache.get(rows)
    assert inner.rendered == 3  # row 5 asked twice, rendered once
    np.testing.assert_array_equal(first, ShapesSource().get(rows))
    np.testing.assert_array_equal(cache.get(rows[::-1]), first[::-1])
    assert inner.rendered == 3 and cache.reads == 3
    # a Subset over the cache (as kl-report's --n makes) reads through it; factors and index_of are the source's
    subset = Subset(cache, np.array([3, 5]))
    np.testing.assert_array_equal(subset.get(np.array([1, 0])), first[[0, 2]])  # rows 5, 3
    assert inner.rendered == 3
    np.testing.assert_array_equal(subset.factors_of(np.array([0, 1])), inner.factors_of(np.array([3, 5])))
    assert cache.index_of(inner.factors_of(np.array([700_000])))[0] == 700_000
    assert not hasattr(cache, "source") and not hasattr(cache, "indices")  # not mistaken for a Subset


def test_rows_past_the_budget_are_read_again():
    inner = CountingShapes()
    row_bytes = inner.get(np.array([0])).nbytes
    inner.rendered = 0
    cache = RowCache(inner, max_bytes=2 * row_bytes)  # room for two rows
    rows = np.array([10, 20, 30, 40])
    np.testing.assert_array_equal(cache.get(rows), ShapesSource().get(rows))
    np.testing.assert_array_equal(cache.get(rows), ShapesSource().get(rows))
    assert inner.rendered == 4 + 2  # the first two kept, the other two read again
