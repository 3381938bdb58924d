import numpy as np
import pytest

from latentkit.data import open_data
from latentkit.encode import PosteriorStats, encode_posterior
from latentkit.errors import LatentkitError
from latentkit.models.checkpoint import load
from tests.conftest import HANDSET_PLUGIN, handset_posterior


@pytest.mark.parametrize("batch_size", [1, 16, 100, 1000])
def test_streaming_statistics_equal_the_whole_batch_for_any_batch_size(
    handset_checkpoint, handset_data, handset_images, batch_size
):
    model = load(handset_checkpoint, plugin_files=[HANDSET_PLUGIN]).model
    result = encode_posterior(model, open_data(str(handset_data)), batch_size=batch_size, keep_means=True)
    mean, logvar = handset_posterior(handset_images)
    kl = 0.5 * (mean**2 + np.exp(logvar) - 1 - logvar)
    np.testing.assert_allclose(result.stats.kl.mean, kl.mean(axis=0), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(result.stats.mean.variance(), mean.var(axis=0), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(result.means, mean, rtol=1e-6, atol=1e-6)
    assert result.index.tolist() == list(range(len(handset_images)))


def test_statistics_of_shards_merge_to_those_of_the_whole(handset_checkpoint, handset_data):
    model = load(handset_checkpoint, plugin_files=[HANDSET_PLUGIN]).model
    whole = encode_posterior(model, open_data(str(handset_data)), batch_size=32).stats
    merged = PosteriorStats.empty(4)
    for shard_seed in range(3):  # three disjoint shards built from a permutation
        idx = np.array_split(np.random.default_rng(9).permutation(257), 3)[shard_seed]
        source = open_data(str(handset_data))
        from latentkit.data import Subset

        merged.merge(encode_posterior(model, Subset(source, np.sort(idx)), batch_size=10).stats)
    assert merged.count == whole.count
    np.testing.assert_allclose(merged.kl.mean, whole.kl.mean, rtol=1e-12)
    np.testing.assert_allclose(merged.mean.variance(), whole.mean.variance(), rtol=1e-10)


def test_nan_outputs_name_the_dimension(handset_checkpoint, handset_data):
    import torch

    model = load(handset_checkpoint, plugin_files=[HANDSET_PLUGIN]).model
    with torch.no_grad():
        model.weight[:, 2] = float("nan")
    with pytest.raises(LatentkitError, match=r"NaN or inf in latent dimension\(s\) 2"):
        encode_posterior(model, open_data(str(handset_data)), batch_size=64)


def test_data_the_model_cannot_take(handset_checkpoint):
    model = load(handset_checkpoint, plugin_files=[HANDSET_PLUGIN]).model
    with pytest.raises(LatentkitError, match=r"cannot take data of shape \[1, 8, 8\]"):
        encode_posterior(model, open_data("digits"), batch_size=64)



def test_code_bank_serves_encoded_rows_and_encodes_only_the_missing_ones(handset_checkpoint, handset_data, handset_images):
    from latentkit.encode import CodeBank, encode_subset

    model = load(handset_checkpoint, plugin_files=[HANDSET_PLUGIN]).model
    source = open_data(str(handset_data))
    rows = np.array([3, 10, 11, 40, 200], dtype=np.int64)
    seen = []
    bank = CodeBank(model, source, encode_subset(model, source, rows, batch_size=2), batch_size=4, device="cpu")
    mean, _ = handset_posterior(handset_images)

    exact = bank.posterior(rows)
    np.testing.assert_allclose(exact.means, mean[rows], rtol=1e-6, atol=1e-6)
    assert exact.stats.count == 5
    np.testing.assert_allclose(exact.stats.mean.variance(), mean[rows].var(axis=0), rtol=1e-6, atol=1e-9)
    assert bank.posterior(rows[:4]) is None  # other rows: the caller encodes them itself

    asked = np.array([200, 5, 3, 5, 256])  # any order, a repeat, two rows the bank lacks
    got = bank.means_of(asked, progress=seen.append)
    np.testing.assert_allclose(got, mean[asked], rtol=1e-6, atol=1e-6)
    assert bank.extra_rows == 2 and sum(seen) == 2 + 2  # 2 served + the 2 distinct rows encoded


class _SpatialEncoder:
    """Encodes (B, 1, H, W) images to (B, 2, H, W) latents: channel 0 the pixels, channel 1 twice them."""

    def __init__(self, latent_dim: int = 2, latent_shape=None, nan_channel=None):
        self.latent_dim = latent_dim
        if latent_shape is not None:
            self.latent_shape = latent_shape
        self.nan_channel = nan_channel

    def encode(self, x):
        import torch

        mean = torch.cat([x, 2 * x], dim=1)
        if self.nan_channel is not None:
            mean[:, self.nan_channel, 0, 0] = float("nan")
        return mean, torch.zeros_like(mean)


def test_spatial_latents_are_read_channels_first_even_without_a_declared_shape(handset_images):
    from latentkit.data.source import ArraySource

    result = encode_posterior(_SpatialEncoder(), ArraySource("x", handset_images, full_scale=None), batch_size=50, keep_means=True)
    assert result.layout.shape == (2, 2, 2)
    flat = handset_images.reshape(len(handset_images), -1).astype(np.float64)
    np.testing.assert_allclose(result.stats.channel_mean.mean, [flat.mean(), 2 * flat.mean()], rtol=1e-6)
    np.testing.assert_allclose(result.means, np.concatenate([flat, 2 * flat], axis=1), rtol=1e-6)
    kl = 0.5 * np.concatenate([flat, 2 * flat], axis=1) ** 2  # σ² = 1
    np.testing.assert_allclose(result.stats.channel_kl.mean, [kl[:, :4].sum(1).mean(), kl[:, 4:].sum(1).mean()], rtol=1e-6)


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (_SpatialEncoder(latent_dim=3), r"mean \[50, 2, 2, 2\].*expected two \(batch, 3\) or \(batch, 3, \.\.\.\)"),
        (_SpatialEncoder(latent_shape=(4, 2, 2)), r"expected two \(batch, 4, \.\.\.\) arrays of 3 latent axes"),
        (_SpatialEncoder(nan_channel=1), r"NaN or inf in latent channel\(s\) 1 "),
    ],
)
def test_spatial_outputs_that_do_not_fit_are_named(handset_images, model, message):
    from latentkit.data.source import ArraySource

    with pytest.raises(LatentkitError, match=message):
        encode_posterior(model, ArraySource("x", handset_images, full_scale=None), batch_size=50)


def test_spatial_statistics_with_samples_merge_across_shards_to_those_of_one_pass(tmp_path):
    from latentkit.data import Subset
    from tests.spatial import SPATIAL_PLUGIN, write_spatial_checkpoint

    checkpoint = write_spatial_checkpoint(tmp_path)
    ckpt = load(checkpoint, plugin_files=[SPATIAL_PLUGIN])
    source = open_data(ckpt.dataset)
    whole = encode_posterior(ckpt.model, source, batch_size=64, sample_seed=3).stats
    shards = np.array_split(np.random.default_rng(1).permutation(len(source)), 3)
    parts = [encode_posterior(ckpt.model, Subset(source, np.sort(rows)), batch_size=7, sample_seed=3).stats for rows in shards]
    merged = parts[2].merge(parts[0]).merge(parts[1])
    assert merged.count == whole.count == 64 and merged.layout == whole.layout
    for name in ("channel_kl", "channel_mean", "kl", "mean"):
        np.testing.assert_allclose(getattr(merged, name).mean, getattr(whole, name).mean, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(getattr(merged, name).m2, getattr(whole, name).m2, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(merged.samples.subsample.values, whole.samples.subsample.values)
    with pytest.raises(ValueError, match="without"):
        whole.merge(encode_posterior(ckpt.model, source, batch_size=64).stats)


def test_row_codes_encode_each_distinct_row_once(handset_checkpoint, handset_data, handset_images):
    from latentkit.encode import RowCodes

    model = load(handset_checkpoint, plugin_files=[HANDSET_PLUGIN]).model
    seen: list[int] = []
    encode = model.encode
    model.encode = lambda x: (seen.append(len(x)), encode(x))[1]
    codes_of = RowCodes(model, open_data(str(handset_data)), batch_size=16)
    first = codes_of(np.array([5, 3, 5, 200, 3]))
    again = codes_of(np.array([200, 7, 5]))
    mean, _ = handset_posterior(handset_images)
    np.testing.assert_allclose(first, mean[[5, 3, 5, 200, 3]], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(again, mean[[200, 7, 5]], rtol=1e-6, atol=1e-6)
    assert sum(seen) == codes_of.encoded == 4  # rows 3, 5, 200, then 7


def test_dataloader_workers_give_the_same_pass(handset_checkpoint, handset_data):
    model = load(handset_checkpoint, plugin_files=[HANDSET_PLUGIN]).model
    alone = encode_posterior(model, open_data(str(handset_data)), batch_size=40, keep_means=True)
    read_ahead = encode_posterior(model, open_data(str(handset_data)), batch_size=40, keep_means=True, workers=2)
    np.testing.assert_array_equal(read_ahead.means, alone.means)
    np.testing.assert_array_equal(read_ahead.index, alone.index)
    np.testing.assert_array_equal(read_ahead.stats.kl.mean, alone.stats.kl.mean)


def test_a_workers_error_reaches_the_user_as_it_is(handset_checkpoint, tmp_path):
    model = load(handset_checkpoint, plugin_files=[HANDSET_PLUGIN]).model
    x = np.random.default_rng(0).random((600, 1, 4, 4)).astype(np.float32)
    x[599, 0, 1, 1] = np.inf  # the last row: not among the rows checked when the file is opened
    np.save(tmp_path / "x.npy", x)
    with pytest.raises(LatentkitError, match="x row 599 contains NaN or inf") as caught:
        encode_posterior(model, open_data(str(tmp_path / "x.npy")), batch_size=64, workers=2)
    assert caught.value.fix and "uint8" in caught.value.fix
