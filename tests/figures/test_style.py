import numpy as np

from latentkit.figures.style import caveats_of, pyplot, save_figure


def test_a_figure_is_laid_out_at_the_resolution_it_is_saved_at(tmp_path, drawn_figures):
    """Found by the fuzzer: measuring the caveats with a renderer at the style's 300 dpi cost a
    full 300-dpi pixel buffer (133 MB for a 57-inch-tall grid) even when saving at --dpi 20."""
    from PIL import Image

    fig = pyplot().figure(figsize=(2.0, 40.0))
    fig.add_subplot().plot([0, 1], [0, 1])
    target = save_figure(fig, tmp_path / "tall.png", caveats=["only 3 rows"], dpi=20)
    (kept,) = drawn_figures
    assert kept.dpi == 20
    buffer = np.asarray(kept.canvas.get_renderer().buffer_rgba())
    assert buffer.shape[0] <= 40 * 20 + 1  # rows of pixels: 40 inches at 20 dpi, not at 300
    with Image.open(target) as image:
        assert image.height < 45 * 20  # the saved file: the figure (trimmed) and the caveat line
    assert caveats_of(target) == ["only 3 rows"]
