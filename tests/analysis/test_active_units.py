import numpy as np

from latentkit.analysis.active_units import active_mask, active_units


def test_active_units_counts_dimensions_whose_mean_moves_with_the_input():
    rng = np.random.default_rng(0)
    means = np.column_stack([rng.normal(0, 1, 500), rng.normal(0, 0.05, 500), np.full(500, 2.0)])
    # variances ≈ 1, 0.0025, 0 against the 0.01 threshold of Burda et al.
    assert active_units(means) == 1
    assert active_units(means, threshold=0.001) == 2
    assert active_mask(np.array([0.02, 0.01, 0.0])).tolist() == [True, False, False]
