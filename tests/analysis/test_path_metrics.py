import numpy as np
import pytest

from latentkit.analysis.path_metrics import (
    finite_difference_sensitivity,
    path_norms,
    path_smoothness,
    prior_norm,
    step_differences,
)


def test_prior_norm_is_the_typical_norm_of_prior_samples():
    assert prior_norm(16) == 4.0
    z = np.random.default_rng(0).normal(size=(20_000, 64))
    assert path_norms(z).mean() == pytest.approx(prior_norm(64), rel=0.01)
    with pytest.raises(ValueError):
        prior_norm(0)


def test_step_differences_and_smoothness_are_mean_squared_pixel_changes():
    images = np.zeros((2, 4, 1, 2, 2))  # 2 paths, 4 steps, 1x2x2 images
    images[0, 1:, 0, 0, 0] = 1.0  # path 0: one pixel jumps 0 -> 1 between steps 0 and 1
    images[1] = np.linspace(0, 1, 4)[:, None, None, None]  # path 1: every pixel ramps evenly
    steps = step_differences(images)
    np.testing.assert_allclose(steps, [[0.25, 0.0, 0.0], [1 / 9, 1 / 9, 1 / 9]])
    mean, worst = path_smoothness(images)
    np.testing.assert_allclose(mean, [0.25 / 3, 1 / 9])
    np.testing.assert_allclose(worst, [0.25, 1 / 9])
    with pytest.raises(ValueError, match="S ≥ 2"):
        step_differences(images[:, :1])


def test_sensitivity_of_a_linear_map_is_its_squared_column_averaged():
    rng = np.random.default_rng(1)
    matrix = rng.normal(size=(12, 3))  # x = A z, 12 "pixels"
    bases = rng.normal(size=(5, 3))
    h = 0.1
    for i in range(3):
        step = np.eye(3)[i] * h
        plus, minus = (bases + step) @ matrix.T, (bases - step) @ matrix.T
        assert finite_difference_sensitivity(plus, minus, h) == pytest.approx((matrix[:, i] ** 2).mean())
    with pytest.raises(ValueError):
        finite_difference_sensitivity(plus, minus, 0.0)
