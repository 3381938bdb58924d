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


def test_gif_frames_carry_a_title_and_the_current_value(tmp_path):
    from PIL import Image

    images = np.full((2, 3, 1, 8, 8), 0.5)  # identical tiles: only the header text can differ
    gif = write_traversal_gif(
        images, tmp_path / "t.gif", labels=["z0", "z1"], title="model: traversal",
        frame_labels=["z = -3", "z = +0", "z = +3"],
    )  # fmt: skip
    with Image.open(gif) as animation:
        frames = []
        for k in range(animation.n_frames):
            animation.seek(k)
            frames.append(np.asarray(animation.convert("L")))
    header = 2 * 14  # title line and value line
    assert (frames[0][:header] < 128).any()  # dark text in the header
    assert not np.array_equal(frames[0][:header], frames[1][:header])  # the value line changes
    assert np.array_equal(frames[0][header:], frames[1][header:])  # the tiles do not
