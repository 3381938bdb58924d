"""The procedural shapes source: factor indexing, rendering geometry, speed of set-up."""

import time

import numpy as np
import pytest

from latentkit.data import SHAPES_FACTOR_NAMES, SHAPES_FACTOR_SIZES, ShapesSource, open_data
from latentkit.data import shapes as shapes_module

SHAPES = ShapesSource()
SQUARE, ELLIPSE, HEART = 0, 1, 2


def image(shape=SQUARE, scale=5, orientation=0, pos_x=16, pos_y=16):
    """One rendered image as (64, 64)."""
    return SHAPES.render(np.array([[shape, scale, orientation, pos_x, pos_y]]))[0, 0]


def centre_of_mass(images):
    """(x, y) centres of mass of (B, 64, 64) images, in pixel-centre coordinates."""
    grid = np.arange(64) + 0.5
    mass = images.sum(axis=(1, 2))
    return (images.sum(axis=1) @ grid) / mass, (images.sum(axis=2) @ grid) / mass


def test_size_names_and_shape():
    source = open_data("shapes")

    assert len(source) == 737_280 == int(np.prod(SHAPES_FACTOR_SIZES))
    assert SHAPES_FACTOR_NAMES == ("shape", "scale", "orientation", "pos_x", "pos_y")
    assert SHAPES_FACTOR_SIZES == (3, 6, 40, 32, 32)
    assert source.image_shape == (1, 64, 64) and source.name == "shapes" and source.labels is None
    assert source.factor_names == SHAPES_FACTOR_NAMES and source.factor_sizes == SHAPES_FACTOR_SIZES


def test_index_and_factors_are_mixed_radix_with_pos_y_fastest():
    assert SHAPES.factors_of(np.array([0, 1, 32, 1024, 40960, 245760, 737279])).tolist() == [
        [0, 0, 0, 0, 0],
        [0, 0, 0, 0, 1],
        [0, 0, 0, 1, 0],
        [0, 0, 1, 0, 0],
        [0, 1, 0, 0, 0],
        [1, 0, 0, 0, 0],
        [2, 5, 39, 31, 31],
    ]
    index = np.random.default_rng(0).integers(0, 737_280, 1000)
    factors = SHAPES.factors_of(index)
    assert factors.dtype == np.int64
    np.testing.assert_array_equal(SHAPES.index_of(factors), index)
    all_factors = SHAPES.factors
    assert all_factors.shape == (737_280, 5)
    np.testing.assert_array_equal(all_factors[index], factors)


def test_render_is_deterministic_binary_float32_even_after_redrawing_the_sprites():
    factors = SHAPES.factors_of(np.random.default_rng(1).integers(0, 737_280, 200))
    first = SHAPES.render(factors)
    shapes_module._sprite_table.cache_clear()
    second = SHAPES.render(factors)

    assert first.shape == (200, 1, 64, 64) and first.dtype == np.float32
    assert first.tobytes() == second.tobytes()
    assert set(np.unique(first)) <= {0.0, 1.0}


def test_sprites_are_drawn_quickly_and_fit_inside_their_patch():
    shapes_module._sprite_table.cache_clear()
    started = time.perf_counter()
    shapes_module._sprite_table()
    assert time.perf_counter() - started < 1.0

    masks = shapes_module._sprite_masks()
    assert masks.shape == (3, 6, 40, shapes_module.PATCH, shapes_module.PATCH)
    edges = masks[..., 0, :], masks[..., -1, :], masks[..., :, 0], masks[..., :, -1]
    assert not any(edge.any() for edge in edges)


@pytest.mark.parametrize("shape", [SQUARE, ELLIPSE, HEART])
def test_shape_moves_right_with_pos_x_and_down_with_pos_y(shape):
    positions = np.arange(32)
    for scale, orientation in [(0, 0), (5, 0), (5, 7), (3, 23)]:
        across = np.array([[shape, scale, orientation, p, 16] for p in positions])
        down = np.array([[shape, scale, orientation, 16, p] for p in positions])
        x_of_across, y_of_across = centre_of_mass(SHAPES.render(across)[:, 0])
        x_of_down, y_of_down = centre_of_mass(SHAPES.render(down)[:, 0])
        assert np.all(np.diff(x_of_across) > 0) and np.all(np.diff(y_of_down) > 0)
        unclipped = slice(8, 24)  # away from the edges the shape only shifts
        assert np.ptp(y_of_across[unclipped]) < 1e-9 and np.ptp(x_of_down[unclipped]) < 1e-9
        # ... and its centre of mass sits on the position, 0.1 .. 0.9 of the image
        centre = 64 * (0.1 + 0.8 * positions[unclipped] / 31)
        np.testing.assert_allclose(x_of_across[unclipped], centre, atol=1.0)
        np.testing.assert_allclose(y_of_down[unclipped], centre, atol=1.0)


def test_no_shape_leaves_the_image_at_the_extreme_positions():
    sprites = SHAPES.factors_of(np.arange(0, 737_280, 1024))  # every (shape, scale, orientation)
    for pos_x, pos_y in [(0, 0), (0, 31), (31, 0), (31, 31)]:
        factors = sprites.copy()
        factors[:, 3], factors[:, 4] = pos_x, pos_y
        areas = SHAPES.render(factors).sum(axis=(1, 2, 3))
        whole = SHAPES.render(np.column_stack([sprites[:, :3], np.full((720, 2), 16)])).sum(axis=(1, 2, 3))
        assert np.all(areas >= 0.4 * whole)


@pytest.mark.parametrize("shape", [SQUARE, ELLIPSE, HEART])
def test_area_grows_with_scale(shape):
    for orientation in (0, 13):
        areas = [image(shape, scale, orientation).sum() for scale in range(6)]
        assert np.all(np.diff(areas) > 0)
        assert 0.2 < areas[0] / areas[-1] < 0.35  # area ~ scale²: (0.5)² = 0.25


def test_square_at_scale_1_spans_about_0_3_of_the_image():
    columns = np.flatnonzero(image(SQUARE, 5, 0).any(axis=0))
    assert len(columns) == 20


def test_rotation_turns_the_ellipse_but_a_quarter_turn_leaves_the_square():
    def differing_pixels(a, b):
        return int((a != b).sum())

    assert differing_pixels(image(SQUARE, 5, 0), image(SQUARE, 5, 10)) <= 4
    assert differing_pixels(image(SQUARE, 5, 0), image(SQUARE, 5, 5)) > 40  # 45°
    assert differing_pixels(image(ELLIPSE, 5, 0), image(ELLIPSE, 5, 10)) > 100
    assert differing_pixels(image(ELLIPSE, 5, 0), image(ELLIPSE, 5, 20)) <= 4  # half turn
    assert differing_pixels(image(HEART, 5, 0), image(HEART, 5, 20)) > 50  # a heart is not symmetric


def test_ellipse_is_about_twice_as_wide_as_tall():
    ellipse = image(ELLIPSE, 5, 0)
    width, height = ellipse.any(axis=0).sum(), ellipse.any(axis=1).sum()
    assert 1.8 < width / height < 2.2


@pytest.mark.parametrize("scale", [0, 5])
def test_heart_points_down_with_two_lobes_on_top(scale):
    heart = image(HEART, scale, 0)
    rows = np.flatnonzero(heart.any(axis=1))
    top, bottom = heart[rows[0]], heart[rows[-1]]
    assert np.count_nonzero(np.diff(top)) == 4  # two separate lobes: two runs of ink
    assert bottom.sum() <= 2  # the point


def test_shape_classes_differ():
    square, ellipse, heart = (image(shape, 5, 3) for shape in (SQUARE, ELLIPSE, HEART))
    for a, b in [(square, ellipse), (square, heart), (ellipse, heart)]:
        assert (a != b).sum() > 50


def test_batches_cover_the_source_in_index_order_exactly_once():
    subset = open_data("shapes", limit=1000, seed=5)

    batches = list(subset.batches(256))

    assert [len(batch.index) for batch in batches] == [256, 256, 256, 232]
    index = np.concatenate([batch.index for batch in batches])
    np.testing.assert_array_equal(index, np.arange(1000))
    assert index.dtype == np.int64
    np.testing.assert_array_equal(np.concatenate([batch.x for batch in batches]), SHAPES.render(subset.factors))
    first = next(SHAPES.batches(64))
    np.testing.assert_array_equal(first.index, np.arange(64))
    np.testing.assert_array_equal(first.x, SHAPES.render(SHAPES.factors_of(np.arange(64))))


def test_render_refuses_factors_out_of_range():
    with pytest.raises(ValueError, match="out of range"):
        SHAPES.render(np.array([[3, 0, 0, 0, 0]]))
    with pytest.raises(ValueError, match=r"\(B, 5\)"):
        SHAPES.render(np.zeros((2, 4), dtype=np.int64))


def test_first_same_image_maps_every_row_to_the_lowest_row_with_identical_pixels():
    every = np.arange(len(SHAPES))
    first = SHAPES.first_same_image(every)
    assert first.dtype == np.int64 and np.all(first <= every)
    assert np.unique(first).size == 420 * 32 * 32 == 430_080  # 60 squares, 120 ellipses, 240 hearts
    # a square repeats every quarter turn (10 of 40 orientations), an ellipse every half turn, a heart never
    square, ellipse, heart = (SHAPES.index_of(np.array([[s, 2, o, 7, 9] for o in (3, 13, 23, 33)])) for s in range(3))
    assert SHAPES.first_same_image(square).tolist() == [square[0]] * 4
    assert SHAPES.first_same_image(ellipse).tolist() == [ellipse[0], ellipse[1], ellipse[0], ellipse[1]]
    assert SHAPES.first_same_image(heart).tolist() == heart.tolist()
    # same answer: the same image; different answers: different images
    rows = np.random.default_rng(2).integers(0, len(SHAPES), 2000)
    np.testing.assert_array_equal(SHAPES.get(first[rows]), SHAPES.get(rows))
    distinct_sprites = np.unique(first[::1024])  # pos_x = pos_y = 0 of every sprite
    images = SHAPES.get(distinct_sprites).reshape(len(distinct_sprites), -1)
    assert len(distinct_sprites) == 420 and np.unique(images, axis=0).shape[0] == 420
