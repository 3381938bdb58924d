import numpy as np
import pytest

from latentkit.analysis.moments import RunningMoments


@pytest.mark.parametrize("batch_size", [1, 7, 64, 1000])
def test_streaming_moments_equal_the_whole_batch(batch_size):
    rng = np.random.default_rng(batch_size)
    rows = rng.normal(5.0, 3.0, size=(1000, 4)) * np.array([1, 10, 1e-3, 1e4])
    moments = RunningMoments(4)
    for start in range(0, len(rows), batch_size):
        moments.update(rows[start : start + batch_size])
    assert moments.count == 1000
    np.testing.assert_allclose(moments.mean, rows.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(moments.variance(), rows.var(axis=0), rtol=1e-10)
    np.testing.assert_allclose(moments.variance(ddof=1), rows.var(axis=0, ddof=1), rtol=1e-10)


def test_shards_merge_in_any_split_to_rounding_error():
    rng = np.random.default_rng(3)
    rows = rng.normal(size=(999, 3)) + 1e6  # a large offset stresses naive formulas
    cuts = [0, 5, 400, 401, 999]
    shards = []
    for a, b in zip(cuts, cuts[1:]):
        shard = RunningMoments(3)
        shard.update(rows[a:b])
        shards.append(shard)
    merged = RunningMoments(3)
    for shard in reversed(shards):
        merged.merge(shard)
    np.testing.assert_allclose(merged.mean, rows.mean(axis=0), rtol=1e-14)
    np.testing.assert_allclose(merged.variance(), rows.var(axis=0), rtol=1e-8)


def test_standard_error_and_empty_moments():
    moments = RunningMoments(1)
    assert np.isnan(moments.variance()).all()
    moments.update(np.array([[1.0], [3.0]]))
    assert moments.standard_error()[0] == pytest.approx(1.0)  # sqrt(2 / 2)
    with pytest.raises(ValueError):
        moments.update(np.zeros((2, 2)))
