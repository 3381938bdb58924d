import json

import numpy as np
import pytest

from latentkit.commands.traverse import decoder_sensitivity, traverse
from latentkit.errors import LatentkitError
from tests.conftest import HANDSET_PLUGIN, handset_posterior


def test_each_row_varies_exactly_one_dimension(mlp_vae_checkpoint, tmp_path):
    result = traverse(mlp_vae_checkpoint, out=tmp_path, steps=5, gif=True, seed=2)
    assert sorted(result.dims.tolist()) == [0, 1, 2, 3]
    assert result.codes.shape == (4, 5, 4) and result.images.shape == (4, 5, 1, 8, 8)
    for row, dim in enumerate(result.dims):
        changed = np.flatnonzero((result.codes[row] != result.base_code.astype(np.float32)).any(axis=0))
        assert changed.tolist() == [dim]
        np.testing.assert_allclose(result.codes[row, :, dim], np.linspace(-3, 3, 5), rtol=1e-6)
    saved = np.load(tmp_path / "traverse.npz")
    np.testing.assert_array_equal(saved["codes"], result.codes)
    np.testing.assert_array_equal(saved["dims"], result.dims)
    doc = json.loads((tmp_path / "traverse.json").read_text())
    assert [row["dim"] for row in doc["results"]["rows"]] == result.dims.tolist()
    assert doc["results"]["base"]["kind"] == "posterior_mean" and 0 <= doc["results"]["base"]["index"] < 1797
    assert (tmp_path / "traverse.gif").exists() and (tmp_path / doc["figures"]["traversal"]).exists()


def test_vae_rows_follow_kl_with_collapsed_last_and_sensitivity_finds_the_ignored_dimension(
    handset_checkpoint, handset_images, tmp_path
):
    result = traverse(handset_checkpoint, plugin_files=[HANDSET_PLUGIN], write=False)
    mean, logvar = handset_posterior(handset_images)
    kl = (0.5 * (mean**2 + np.exp(logvar) - 1 - logvar)).mean(axis=0)
    np.testing.assert_allclose(result.kl, kl, rtol=1e-5)
    active = mean.var(axis=0) > 0.01
    assert active.tolist() == [True, True, True, False]
    expected = sorted(range(4), key=lambda i: (not active[i], -kl[i]))
    assert result.dims.tolist() == expected and result.dims[-1] == 3
    # The hand-set decoder has a zero weight column for dimension 3: it ignores it exactly.
    assert result.sensitivity[3] == 0.0 and (result.sensitivity[:3] > 0).all()
    assert result.document["results"]["dimensions"]["decoder_ignores"] == [3]
    assert result.notes == []  # collapsed and ignored agree
    hidden = traverse(handset_checkpoint, plugin_files=[HANDSET_PLUGIN], active_only=True, write=False)
    assert hidden.dims.tolist() == expected[:3]


def test_quantile_range_uses_each_dimensions_posterior_means(handset_checkpoint, handset_images):
    result = traverse(
        handset_checkpoint, plugin_files=[HANDSET_PLUGIN], value_range="quantile", steps=5, base="zero", write=False
    )
    mean, _ = handset_posterior(handset_images)
    for row, dim in enumerate(result.dims):
        expected = np.quantile(mean[:, dim], np.linspace(0.05, 0.95, 5))
        np.testing.assert_allclose(result.values[row], expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(result.base_code, np.zeros(4))


def test_sensitivity_of_a_linear_decoder_is_its_squared_columns_averaged():
    import torch

    matrix = torch.tensor([[1.0, 0.0, 2.0], [0.5, 0.0, -1.0]])  # 2 pixels, 3 dimensions

    class LinearDecoder(torch.nn.Module):
        latent_dim = 3

        def encode(self, x):  # pragma: no cover - protocol only
            raise NotImplementedError

        def decode(self, z):
            return (z @ matrix.T).reshape(-1, 1, 1, 2)

    bases = np.random.default_rng(0).normal(size=(7, 3)).astype(np.float32)
    sensitivity = decoder_sensitivity(LinearDecoder(), bases, np.eye(3), step=0.1, batch_size=4, device="cpu")
    np.testing.assert_allclose(sensitivity, (matrix.numpy() ** 2).mean(axis=0), rtol=1e-4)


def test_gan_rows_are_ordered_by_sensitivity_around_zero(mlp_gan_checkpoint):
    result = traverse(mlp_gan_checkpoint, steps=3, write=False)
    assert result.kl is None and result.document["results"]["base"]["kind"] == "zero"
    assert (np.diff(result.sensitivity[result.dims]) <= 0).all()
    assert result.images.shape == (6, 3, 1, 8, 8)


def test_same_seed_gives_byte_identical_json(mlp_vae_checkpoint, tmp_path):
    for run in ("a", "b"):
        traverse(mlp_vae_checkpoint, out=tmp_path / run, steps=3, seed=4, n=300)
    assert (tmp_path / "a" / "traverse.json").read_bytes() == (tmp_path / "b" / "traverse.json").read_bytes()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"steps": 1}, "--steps 1 is outside 2..1000"),
        ({"value_range": "wide"}, "neither a number nor 'quantile'"),
        ({"value_range": -2.0}, "not a positive number"),
        ({"base": "middle"}, "not one of data, zero or a row index"),
        ({"base": 5000}, "--base 5000 is out of range: digits has 1797 rows"),
        ({"n": 5000}, "--n 5000 is more than the 1797 rows of digits"),
    ],
)
def test_bad_settings_are_refused_before_writing(mlp_vae_checkpoint, tmp_path, kwargs, message):
    with pytest.raises(LatentkitError, match=message):
        traverse(mlp_vae_checkpoint, out=tmp_path / "out", **kwargs)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "kwargs", [{"value_range": "quantile"}, {"base": "data"}, {"active_only": True}, {"data": "digits"}]
)
def test_a_gan_has_no_posterior_to_traverse_from(mlp_gan_checkpoint, tmp_path, kwargs):
    with pytest.raises(LatentkitError, match="need an encoder"):
        traverse(mlp_gan_checkpoint, out=tmp_path / "out", **kwargs)
    assert not (tmp_path / "out").exists()
