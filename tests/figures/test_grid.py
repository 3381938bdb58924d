import numpy as np

from latentkit.figures.grid import display_images, plot_interpolation_grid, tile_mosaic


def test_display_images_handles_grey_rgb_and_other_channel_counts():
    grey = np.full((2, 1, 3, 4), 0.5)
    assert display_images(grey).shape == (2, 3, 4, 3)
    rgba = np.random.default_rng(0).random((2, 4, 3, 4))
    np.testing.assert_allclose(display_images(rgba), np.moveaxis(rgba[:, :3], 1, -1), rtol=1e-6)
    two = np.stack([np.zeros((3, 4)), np.ones((3, 4))])[None]
    assert (display_images(two) == 0).all()  # first channel, in grey
    assert display_images(np.full((1, 1, 2, 2), 3.0)).max() == 1.0  # clipped


def test_mosaic_places_each_tile_at_its_offset():
    images = np.arange(2 * 3, dtype=np.float32).reshape(2, 3, 1, 1, 1) / 10  # (rows, steps, C, H, W) = 1x1 tiles
    images = np.repeat(np.repeat(images, 4, axis=3), 5, axis=4)  # 4x5 tiles
    mosaic, pad = tile_mosaic(images, pad=2)
    assert mosaic.shape == (2 * (4 + 2) + 2, 3 * (5 + 2) + 2, 3)
    for r in range(2):
        for s in range(3):
            top, left = pad + r * 6, pad + s * 7
            assert (mosaic[top : top + 4, left : left + 5] == images[r, s, 0, 0, 0]).all()
    assert mosaic[0, 0, 0] == 1.0  # background between tiles


def test_interpolation_grid_shows_one_panel_per_mode_with_each_path_in_a_row(tmp_path, drawn_figures):
    from matplotlib.patches import Rectangle

    from latentkit.figures.style import caveats_of, figure_text

    images = np.random.default_rng(0).random((2, 3, 5, 1, 8, 8))
    target = plot_interpolation_grid(
        images, np.linspace(0, 1, 5), ("lerp", "slerp"), tmp_path / "grid.png", row_labels=["a", "b", "c"],
        caveats=["only 3 pairs"],
    )  # fmt: skip
    (fig,) = drawn_figures
    assert [ax.get_title() for ax in fig.axes] == ["lerp", "slerp"]
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["a", "b", "c"]
    assert [t.get_text() for t in fig.axes[1].get_yticklabels()] == ["", "", ""]  # rows named once
    assert len(fig.axes[0].get_xticklabels()) == 5
    for m, ax in enumerate(fig.axes):
        (shown,) = ax.get_images()
        mosaic = np.asarray(shown.get_array())
        pad = 1
        for r in range(3):
            for s in range(5):
                top, left = pad + r * (8 + pad), pad + s * (8 + pad)
                np.testing.assert_allclose(mosaic[top : top + 8, left : left + 8, 0], images[m, r, s, 0], rtol=1e-6)
        frames = [p for p in ax.patches if isinstance(p, Rectangle)]
        assert len(frames) == 3 * 2  # the two decoded endpoints of each row are framed
    assert "3 rows × 5 steps" in figure_text(target)
    assert caveats_of(target) == ["only 3 pairs"]
