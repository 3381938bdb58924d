import json

import numpy as np
import pytest

from latentkit.commands.embed import embed
from latentkit.errors import LatentkitError


@pytest.fixture
def factor_data(tmp_path):
    """400 digits with their label and two made-up factors (parity, and the label's half)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = (digits.images[:400] * (255 / 16)).astype(np.uint8)[:, None]
    y = digits.target[:400]
    path = tmp_path / "factors.npz"
    np.savez(path, x=x, factors=np.stack([y % 2, y // 5], axis=1), factor_names=np.array(["parity", "half"]))
    return path


def posterior_means(checkpoint, index):
    import torch

    from latentkit.data import open_data
    from latentkit.models.checkpoint import load

    model = load(checkpoint).model
    with torch.no_grad():
        return model.encode(torch.from_numpy(open_data("digits").get(index)))[0].numpy()


def test_pca_embedding_equals_scikit_learns_on_the_posterior_means(mlp_vae_checkpoint, tmp_path, drawn_figures):
    from sklearn.decomposition import PCA

    result = embed(mlp_vae_checkpoint, out=tmp_path, method="pca", n=500, seed=3)
    saved = np.load(tmp_path / "embedding.npz")
    assert saved["embedding"].shape == (500, 2)  # one row per point
    assert saved["index"].shape == (500,) and len(np.unique(saved["index"])) == 500
    means = posterior_means(mlp_vae_checkpoint, saved["index"])
    np.testing.assert_allclose(result.features, means, rtol=1e-5, atol=1e-6)
    expected = PCA(n_components=2, random_state=3).fit_transform(result.features)
    np.testing.assert_allclose(saved["embedding"], expected, rtol=1e-5, atol=1e-5)
    from sklearn.datasets import load_digits

    np.testing.assert_array_equal(saved["color"], load_digits().target[saved["index"]])
    assert str(saved["color_by"]) == "y"
    doc = json.loads((tmp_path / "embedding.json").read_text())
    assert doc["schema"] == "latentkit.umap" and doc["results"]["points"] == {"data": 500, "generated": 0}
    assert 0.5 < doc["results"]["trustworthiness"]["value"] <= 1.0 and doc["results"]["trustworthiness"]["k"] == 10
    assert (tmp_path / doc["figures"]["embedding"]).exists()
    (figure,) = drawn_figures  # every point where the embedding puts it, coloured by its digit
    (points,) = figure.axes[0].collections
    offsets = np.asarray(points.get_offsets())
    assert sorted(map(tuple, offsets)) == sorted(map(tuple, saved["embedding"]))
    legend = [t.get_text() for t in figure.axes[0].get_legend().get_texts()]
    counts = np.bincount(saved["color"], minlength=10)
    assert legend == [f"y={d} ({counts[d]})" for d in range(10)]


def test_umap_is_deterministic_for_a_seed(mlp_vae_checkpoint, tmp_path):
    for run in ("a", "b"):
        embed(mlp_vae_checkpoint, out=tmp_path / run, method="umap", n=300, seed=1)
    assert (tmp_path / "a" / "embedding.json").read_bytes() == (tmp_path / "b" / "embedding.json").read_bytes()
    first, second = (np.load(tmp_path / run / "embedding.npz") for run in ("a", "b"))
    np.testing.assert_array_equal(first["embedding"], second["embedding"])
    assert json.loads((tmp_path / "a" / "embedding.json").read_text())["settings"]["knn"] == "exact"


def test_color_by_a_factor(mlp_vae_checkpoint, factor_data):
    result = embed(mlp_vae_checkpoint, data=str(factor_data), method="pca", color_by="half", write=False)
    labels = np.load(factor_data)["factors"][:, 1]
    np.testing.assert_array_equal(result.color, labels[result.index])
    default = embed(mlp_vae_checkpoint, data=str(factor_data), method="pca", write=False)
    assert default.color_by == "parity"  # no labels: the first factor
    with pytest.raises(LatentkitError, match="valid: parity, half"):
        embed(mlp_vae_checkpoint, data=str(factor_data), method="pca", color_by="shape", write=False)


def test_a_gan_is_projected_together_with_the_data(mlp_gan_checkpoint, tmp_path):
    result = embed(mlp_gan_checkpoint, out=tmp_path, method="pca", n=200)
    saved = np.load(tmp_path / "embedding.npz")
    assert saved["embedding"].shape == (400, 2)
    assert (saved["index"][200:] == -1).all() and (saved["index"][:200] >= 0).all()
    assert saved["color"].tolist() == [0] * 200 + [1] * 200
    assert saved["color_names"].tolist() == ["data", "generated"]
    assert result.document["settings"]["space"] == "pixel_pca" and result.features.shape == (400, 50)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "isomap"}, "unknown --method 'isomap'"),
        ({"n": 2000}, "--n 2000 is more than the 1797 rows of digits"),
        ({"n": 0}, "--n 0 is not positive"),
        ({"color_by": "colour"}, "valid: y"),
        ({"n": 10}, "too few for umap"),
    ],
)
def test_bad_settings_are_refused_before_writing(mlp_vae_checkpoint, tmp_path, kwargs, message):
    with pytest.raises(LatentkitError, match=message):
        embed(mlp_vae_checkpoint, out=tmp_path / "out", **kwargs)
    assert not (tmp_path / "out").exists()


def test_a_gan_projection_is_coloured_by_source_only(mlp_gan_checkpoint, tmp_path):
    with pytest.raises(LatentkitError, match="coloured by source"):
        embed(mlp_gan_checkpoint, out=tmp_path / "out", color_by="y")
    assert not (tmp_path / "out").exists()
