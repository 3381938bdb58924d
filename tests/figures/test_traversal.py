import numpy as np

from latentkit.figures.traversal import plot_traversal, write_traversal_gif


def test_traversal_figure_and_gif(tmp_path):
    from PIL import Image

    images = np.random.default_rng(0).random((3, 5, 1, 8, 8))
    figure = plot_traversal(
        images, tmp_path / "t.svg", row_labels=["z0", "z1", "z2"], column_labels=list("abcde"),
        row_active=[True, True, False], base_steps=[2, None, 0], fmt="svg",
    )  # fmt: skip
    assert figure.read_text().startswith("<?xml")
    gif = write_traversal_gif(images, tmp_path / "t.gif", labels=["z0", "z1", "z2"])
    with Image.open(gif) as animation:
        assert animation.n_frames == 2 * 5 - 2  # forward and back, ends not repeated
        assert animation.info["loop"] == 0
    first = gif.read_bytes()
    write_traversal_gif(images, gif, labels=["z0", "z1", "z2"])
    assert gif.read_bytes() == first  # deterministic
