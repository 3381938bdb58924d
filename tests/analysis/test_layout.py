import numpy as np
import pytest

from latentkit.analysis.layout import LatentLayout


def test_flattened_values_group_by_channel_as_numpy_reshapes_them():
    rng = np.random.default_rng(0)
    latents = rng.normal(size=(5, 3, 2, 4))  # (N, C, H, W)
    layout = LatentLayout((3, 2, 4))
    flat = latents.reshape(5, -1)
    np.testing.assert_allclose(layout.channel_sum(flat), latents.sum(axis=(2, 3)))
    np.testing.assert_allclose(layout.channel_mean(flat), latents.mean(axis=(2, 3)))
    np.testing.assert_allclose(layout.channel_values(flat, 1), latents[:, 1].reshape(5, -1))
    directions = layout.channel_directions()
    np.testing.assert_allclose((flat + 2.0 * directions[1]).reshape(latents.shape)[:, 1], latents[:, 1] + 2.0)
    np.testing.assert_allclose((flat + 2.0 * directions[1]).reshape(latents.shape)[:, [0, 2]], latents[:, [0, 2]])
    assert (layout.kind, layout.channels, layout.positions, layout.size) == ("spatial", 3, 8, 24)


def test_a_flat_code_is_one_position_per_channel():
    layout = LatentLayout.flat(4)
    values = np.arange(8.0).reshape(2, 4)
    assert layout.kind == "flat" and layout.positions == 1
    np.testing.assert_array_equal(layout.channel_sum(values), values)
    np.testing.assert_array_equal(layout.channel_directions(), np.eye(4))


@pytest.mark.parametrize(
    ("shape", "maps"), [((4,), (4, 1, 1)), ((2, 5), (2, 1, 5)), ((2, 3, 4), (2, 3, 4)), ((2, 3, 4, 5), (2, 3, 20))]
)
def test_per_position_maps_are_two_dimensional(shape, maps):
    layout = LatentLayout(shape)
    values = np.arange(layout.size, dtype=float)
    assert layout.per_position(values).shape == maps
    np.testing.assert_array_equal(layout.per_position(values).reshape(-1), values)


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="positive sizes"):
        LatentLayout((3, 0, 2))
    with pytest.raises(ValueError, match="last axis of 12"):
        LatentLayout((3, 2, 2)).channel_sum(np.zeros((2, 10)))
