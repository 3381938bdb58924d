"""traverse and interpolate on a VAE whose latent is (3, 2, 2): channels, and the whole tensor."""

import re

import numpy as np
import pytest

from latentkit.analysis.interpolation import slerp
from latentkit.commands.interpolate import interpolate
from latentkit.commands.traverse import traverse
from tests.spatial import SPATIAL_PLUGIN, spatial_decode, spatial_images, spatial_posterior, write_spatial_checkpoint


@pytest.fixture(scope="module")
def spatial_checkpoint(tmp_path_factory):
    return write_spatial_checkpoint(tmp_path_factory.mktemp("spatial"))


def test_traverse_varies_one_channel_at_a_time_at_every_position(spatial_checkpoint, tmp_path):
    result = traverse(
        spatial_checkpoint, plugin_files=[SPATIAL_PLUGIN], steps=5, out=tmp_path, figure_format="svg", base=3
    )
    # one row per channel, active channels first by KL (channel 1 carries the most), the constant one last
    assert result.dims.tolist() == [1, 0, 2]
    assert result.active.tolist() == [True, True, False]
    assert result.document["results"]["layout"]["latent_shape"] == [3, 2, 2]
    base, _ = spatial_posterior(spatial_images()[3:4])
    np.testing.assert_allclose(result.base_code, base.reshape(-1), rtol=1e-6)
    codes = result.codes.reshape(3, 5, 3, 2, 2)
    base = base.reshape(3, 2, 2)
    for row, channel in enumerate(result.dims):
        shift = codes[row, :, channel] - base[channel]  # (steps, 2, 2): the same at every position
        np.testing.assert_allclose(shift, np.broadcast_to(shift[:, :1, :1], shift.shape), atol=1e-6)
        np.testing.assert_allclose(codes[row, :, channel].mean(axis=(1, 2)), np.linspace(-3, 3, 5), atol=1e-6)
        others = [c for c in range(3) if c != channel]
        np.testing.assert_allclose(codes[row][:, others], np.broadcast_to(base[others], (5, 2, 2, 2)), atol=1e-6)
    np.testing.assert_allclose(result.images, spatial_decode(result.codes), atol=1e-6)
    # the decoder adds the channels and upsamples: shifting a channel's 4 positions by h moves every pixel
    # by σ'(·) h, so the three channels are equally sensitive on average
    assert result.sensitivity == pytest.approx(np.full(3, result.sensitivity[0]), rel=1e-5)
    figure = (tmp_path / "traverse.svg").read_text()
    assert re.findall(r"ch (\d) · KL", figure) == ["1", "0", "2"]
    assert "mean of the channel over its positions" in figure


def test_quantile_traversal_uses_the_channels_position_averaged_means(spatial_checkpoint):
    result = traverse(spatial_checkpoint, plugin_files=[SPATIAL_PLUGIN], steps=3, value_range="quantile", write=False)
    mean, _ = spatial_posterior(spatial_images())
    channel_means = mean.mean(axis=(2, 3))
    for row, channel in enumerate(result.dims):
        np.testing.assert_allclose(result.values[row], np.quantile(channel_means[:, channel], [0.05, 0.5, 0.95]))


def test_interpolate_moves_the_whole_latent_tensor(spatial_checkpoint):
    result = interpolate(
        spatial_checkpoint, plugin_files=[SPATIAL_PLUGIN], from_index=[0], to_index=[15], steps=5, write=False
    )
    mean, _ = spatial_posterior(spatial_images()[[0, 15]])
    start, end = mean.reshape(2, -1)
    lerp = result.codes[0, 0]
    np.testing.assert_allclose(lerp, start + np.linspace(0, 1, 5)[:, None] * (end - start), atol=1e-6)
    # slerp on the great circle through all 12 values, not channel by channel
    np.testing.assert_allclose(result.codes[1, 0], slerp(start, end, np.linspace(0, 1, 5)), atol=1e-6)
    per_channel = np.stack([slerp(start[c * 4 : c * 4 + 4], end[c * 4 : c * 4 + 4], np.linspace(0, 1, 5)) for c in range(3)], 1)
    assert np.abs(result.codes[1, 0] - per_channel.reshape(5, 12)).max() > 1e-3
    np.testing.assert_allclose(result.images, spatial_decode(result.codes), atol=1e-6)
    assert result.document["results"]["layout"]["kind"] == "spatial"
    assert result.prior_norm == pytest.approx(np.sqrt(12))


@pytest.mark.parametrize(("spatial", "width"), [("channel-mean", 3), ("flatten", 12)])
def test_umap_projects_position_averaged_channel_means_unless_asked_to_flatten(spatial_checkpoint, spatial, width):
    from latentkit.commands.embed import embed

    result = embed(spatial_checkpoint, plugin_files=[SPATIAL_PLUGIN], method="pca", spatial=spatial, write=False)
    mean, _ = spatial_posterior(spatial_images()[result.index])
    expected = mean.mean(axis=(2, 3)) if spatial == "channel-mean" else mean.reshape(len(mean), -1)
    assert result.features.shape == (64, width)
    np.testing.assert_allclose(result.features, expected, atol=1e-6)
    assert result.document["settings"]["spatial"] == spatial
    assert result.document["settings"]["latent_shape"] == [3, 2, 2]


@pytest.mark.parametrize(("spatial", "width"), [("channel-mean", 3), ("flatten", 12)])
def test_disentangle_scores_channel_codes_by_default(spatial_checkpoint, spatial, width):
    from latentkit.commands.disentangle import disentangle

    report = disentangle(
        spatial_checkpoint, plugin_files=[SPATIAL_PLUGIN], metrics="mig", n=64, spatial=spatial, write=False
    )
    assert report.document["results"]["codes"]["latent_dim"] == width
    assert report.document["results"]["codes"]["spatial"] == spatial
    mi = np.asarray(report.matrices["mutual_information"])
    assert mi.shape == (width, 4)
    if spatial == "flatten":
        # code c·4 + k is channel c at block k: channels 0 and 1 each hold block k's value (ln 2 nats),
        # channel 2 nothing, and the 16 block patterns make the blocks independent
        expected = np.zeros((12, 4))
        for channel in (0, 1):
            expected[channel * 4 : channel * 4 + 4] = np.log(2) * np.eye(4)
        np.testing.assert_allclose(mi, expected, atol=1e-9)
    else:
        # a channel's average mixes the four blocks: some, not all, of each block's bit
        assert (mi[:2] > 0.01).all() and (mi[:2] < np.log(2) - 0.01).all()
        np.testing.assert_allclose(mi[2], 0.0, atol=1e-9)


def test_an_unknown_spatial_reduction_is_refused(spatial_checkpoint):
    from latentkit.commands.embed import embed
    from latentkit.errors import LatentkitError

    with pytest.raises(LatentkitError, match="unknown --spatial 'mean'"):
        embed(spatial_checkpoint, plugin_files=[SPATIAL_PLUGIN], method="pca", spatial="mean", write=False)
