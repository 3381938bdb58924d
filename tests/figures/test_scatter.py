import numpy as np

from latentkit.figures.scatter import plot_embedding, point_size


def _scatter_of(ax):
    (points,) = ax.collections
    return points


def test_scatter_with_categories_many_values_and_none(tmp_path, drawn_figures):
    rng = np.random.default_rng(0)
    points = rng.normal(size=(300, 2))
    labels, position = rng.integers(0, 10, 300), rng.integers(0, 32, 300)
    for name, values in (("labels", labels), ("position", position), ("plain", None)):
        plot_embedding(points, tmp_path / f"{name}.png", values=values, value_name=name, title=name)
    by_label, by_position, plain = drawn_figures
    for fig in drawn_figures:  # every point drawn where the embedding puts it
        offsets = _scatter_of(fig.axes[0]).get_offsets()
        assert sorted(map(tuple, np.asarray(offsets))) == sorted(map(tuple, points))
    # ≤ 20 categories: a legend naming each with its count, no colour bar
    legend = by_label.axes[0].get_legend()
    assert [t.get_text() for t in legend.get_texts()] == [f"labels={v} ({(labels == v).sum()})" for v in range(10)]
    assert len(by_label.axes) == 1
    assert len({tuple(c) for c in _scatter_of(by_label.axes[0]).get_facecolors()}) == 10
    # 32 ordered values: a colour bar (a second axes) and no legend
    assert len(by_position.axes) == 2 and by_position.axes[0].get_legend() is None
    # no values: one colour, no legend
    assert len({tuple(c) for c in _scatter_of(plain.axes[0]).get_facecolors()}) == 1
    assert plain.axes[0].get_legend() is None

    plot_embedding(
        points, tmp_path / "source.png", values=np.repeat([0, 1], 150), value_name="source",
        category_names=["data", "generated"], palette=["#000000", "#ff0000"],
    )  # fmt: skip
    names = drawn_figures[-1].axes[0].get_legend()
    assert [t.get_text() for t in names.get_texts()] == ["data (150)", "generated (150)"]
    colours = {tuple(np.round(c[:3], 3)) for c in _scatter_of(drawn_figures[-1].axes[0]).get_facecolors()}
    assert colours == {(0.0, 0.0, 0.0), (1.0, 0.0, 0.0)}
    assert point_size(100) > point_size(50_000) > 0
