import numpy as np

from latentkit.figures.scatter import plot_embedding, point_size


def test_scatter_with_categories_many_values_and_none(tmp_path):
    rng = np.random.default_rng(0)
    points = rng.normal(size=(300, 2))
    for name, values in (("labels", rng.integers(0, 10, 300)), ("position", rng.integers(0, 32, 300)), ("plain", None)):
        target = plot_embedding(points, tmp_path / f"{name}.png", values=values, value_name=name, title=name)
        assert target.stat().st_size > 2000
    names = plot_embedding(
        points, tmp_path / "source.png", values=np.repeat([0, 1], 150), value_name="source",
        category_names=["data", "generated"], palette=["#000000", "#ff0000"],
    )  # fmt: skip
    assert names.exists()
    assert point_size(100) > point_size(50_000) > 0
