import json

import numpy as np
import pytest

from latentkit.analysis.interpolation import lerp, slerp
from latentkit.commands.interpolate import interpolate
from latentkit.errors import LatentkitError


def model_of(path):
    from latentkit.models.checkpoint import load

    return load(path).model


def test_grid_has_modes_pairs_and_steps_of_the_models_images(mlp_vae_checkpoint, tmp_path, drawn_figures):
    result = interpolate(mlp_vae_checkpoint, out=tmp_path, pairs=3, steps=5, seed=1)
    assert result.modes == ("lerp", "slerp")
    assert result.codes.shape == (2, 3, 5, 4)
    assert result.images.shape == (2, 3, 5, 1, 8, 8)  # the model's output shape

    arrays = np.load(tmp_path / "interpolate.npz")
    assert arrays["images"].shape == (2, 3, 5, 1, 8, 8)
    np.testing.assert_array_equal(arrays["codes"], result.codes)
    assert arrays["modes"].tolist() == ["lerp", "slerp"]
    np.testing.assert_array_equal(arrays["t"], np.linspace(0, 1, 5))
    doc = json.loads((tmp_path / "interpolate.json").read_text())
    assert doc["schema"] == "latentkit.interpolate" and doc["settings"]["pairs"] == 3
    assert (tmp_path / doc["figures"]["grid"]).exists()
    (grid,) = drawn_figures  # one panel per mode; its tiles are the decoded images, data at both ends
    assert [ax.get_title().split("\n")[0] for ax in grid.axes] == ["lerp", "slerp"]
    for m, ax in enumerate(grid.axes):
        mosaic = np.asarray(ax.get_images()[0].get_array())
        for r in range(3):
            for s in range(5):
                top, left = 1 + r * 9, 1 + (s + 1) * 9  # 8x8 tiles, 1 pixel apart, after the data column
                tile = mosaic[top : top + 8, left : left + 8, 0]
                np.testing.assert_allclose(tile, np.clip(result.images[m, r, s, 0], 0, 1), atol=1e-6)
    assert doc["provenance"]["command"].startswith("latentkit interpolate ")


def test_vae_endpoints_are_posterior_means_and_paths_are_lerp_and_slerp(mlp_vae_checkpoint):
    import torch

    from latentkit.data import open_data

    result = interpolate(mlp_vae_checkpoint, from_index=[3, 10], to_index=[100, 7], steps=4, write=False)
    np.testing.assert_array_equal(result.endpoints, [[3, 100], [10, 7]])
    model = model_of(mlp_vae_checkpoint)
    digits = open_data("digits")
    with torch.no_grad():
        means = model.encode(torch.from_numpy(digits.get(np.array([3, 10, 100, 7]))))[0].numpy()
        decoded_start = model.decode(torch.from_numpy(means[:2])).numpy()
    start, end = means[:2], means[2:]
    np.testing.assert_allclose(result.codes[:, :, 0], np.stack([start, start]), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(result.codes[:, :, -1], np.stack([end, end]), rtol=1e-5, atol=1e-6)
    t = np.linspace(0, 1, 4)
    np.testing.assert_allclose(result.codes[0], lerp(start, end, t), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(result.codes[1], slerp(start, end, t), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(result.images[0, :, 0], decoded_start, rtol=1e-5, atol=1e-6)


def test_gan_endpoints_are_prior_samples_and_slerp_keeps_their_norm(mlp_gan_checkpoint):
    import torch

    result = interpolate(mlp_gan_checkpoint, pairs=6, steps=9, seed=5, write=False)
    assert result.endpoints is None and result.document["data"] is None
    prior = model_of(mlp_gan_checkpoint).sample_latent(12, torch.Generator().manual_seed(5)).numpy().reshape(6, 2, -1)
    np.testing.assert_array_equal(result.codes[:, :, 0], np.stack([prior[:, 0]] * 2))
    lerp_metrics, slerp_metrics = result.metrics["lerp"], result.metrics["slerp"]
    assert result.prior_norm == pytest.approx(np.sqrt(6))
    assert slerp_metrics["norm"]["mean"] > lerp_metrics["norm"]["mean"]  # lerp dips inside the sphere
    assert slerp_metrics["norm"]["min"] > lerp_metrics["norm"]["min"]
    # smoothness: mean squared pixel difference between consecutive steps, per path
    steps = ((np.diff(result.images[1].astype(np.float64), axis=1)) ** 2).mean(axis=(2, 3, 4))
    np.testing.assert_allclose(slerp_metrics["smoothness"]["per_pair_mean"], steps.mean(axis=1), rtol=1e-10)
    assert slerp_metrics["smoothness"]["max"] == pytest.approx(steps.max(axis=1).mean())


def test_same_seed_gives_byte_identical_outputs(mlp_vae_checkpoint, tmp_path):
    for run in ("a", "b"):
        interpolate(mlp_vae_checkpoint, out=tmp_path / run, mode="slerp", pairs=2, steps=3, seed=7)
    for name in ("interpolate.json", "interpolate.npz", "interpolate.png"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    other = interpolate(mlp_vae_checkpoint, mode="slerp", pairs=2, steps=3, seed=8, write=False)
    saved = json.loads((tmp_path / "a" / "interpolate.json").read_text())
    assert other.endpoints.tolist() != saved["results"]["endpoints"]["rows"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"steps": 1}, "--steps 1 is outside 2..1000"),
        ({"mode": "cubic"}, "unknown --mode"),
        ({"pairs": 0}, "--pairs 0 is outside 1..1000"),
        ({"from_index": [1], "to_index": []}, "one --to for every --from"),
        ({"from_index": [1], "to_index": [1797]}, "--to 1797 is out of range: digits has 1797 rows"),
        ({"from_index": [-1], "to_index": [2]}, "--from -1 is out of range"),
        ({"pairs": 899}, "too few for 899 pairs"),
        ({"figure_format": "jpg"}, "unknown figure format"),
    ],
)
def test_bad_settings_are_refused_before_writing(mlp_vae_checkpoint, tmp_path, kwargs, message):
    with pytest.raises(LatentkitError, match=message):
        interpolate(mlp_vae_checkpoint, out=tmp_path / "out", **kwargs)
    assert not (tmp_path / "out").exists()


def test_a_gan_has_no_data_endpoints(mlp_gan_checkpoint, tmp_path):
    for kwargs in ({"from_index": [0], "to_index": [1]}, {"data": "digits"}):
        with pytest.raises(LatentkitError, match="no encoder"):
            interpolate(mlp_gan_checkpoint, out=tmp_path / "out", **kwargs)
    assert not (tmp_path / "out").exists()
