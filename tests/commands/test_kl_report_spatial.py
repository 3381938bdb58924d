"""kl-report on a hand-set VAE whose latent is (3, 2, 2): per-channel KL, active channels, latent scale."""

import json
import re

import numpy as np
import pytest

from latentkit.commands.kl_report import kl_report
from tests.spatial import BIAS, LOGVAR, SPATIAL_PLUGIN, WEIGHT, spatial_images, spatial_posterior, write_spatial_checkpoint


@pytest.fixture(scope="module")
def spatial_report(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("spatial")
    checkpoint = write_spatial_checkpoint(tmp_path, {"scaling_factor": 0.5, "latents_std": [1.0, 1.5, 1.0]})
    report = kl_report(checkpoint, out=tmp_path / "out", plugin_files=[SPATIAL_PLUGIN], batch_size=64, figure_format="svg")
    return report, json.loads((tmp_path / "out" / "kl-report.json").read_text()), tmp_path


def test_channel_kl_is_summed_over_positions_and_adds_up_to_the_total(spatial_report):
    report, doc, _ = spatial_report
    mean, logvar = spatial_posterior(spatial_images())
    kl = 0.5 * (mean**2 + np.exp(logvar) - 1 - logvar)  # (N, 3, 2, 2)
    np.testing.assert_allclose(report.per_dim, kl.sum(axis=(2, 3)).mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(doc["results"]["kl"]["per_position"], kl.mean(axis=0), rtol=1e-6)
    assert sum(doc["results"]["kl"]["per_dim"]) == pytest.approx(doc["results"]["kl"]["total"], rel=1e-12)
    assert doc["results"]["kl"]["total"] == pytest.approx(kl.sum(axis=(1, 2, 3)).mean(), rel=1e-6)
    assert doc["results"]["layout"] == {"kind": "spatial", "latent_shape": [3, 2, 2], "channel_axis": 0, "channels": 3, "positions": 4}


def test_a_channel_that_ignores_the_input_is_not_active(spatial_report):
    report, doc, _ = spatial_report
    # Var over the data of the position-averaged mean: w² · Var(mean of 4 independent blocks) = w² / 64
    np.testing.assert_allclose(report.mean_variance, np.array(WEIGHT) ** 2 / 64, atol=1e-7)
    assert doc["results"]["active"] == [0, 1] and doc["results"]["collapsed"] == [2]
    assert any(note.startswith("Channel(s) 2 cost KL") for note in doc["notes"])


def test_implied_scale_equals_the_closed_form_and_sits_beside_the_config(spatial_report):
    _, doc, _ = spatial_report
    w, b, sigma2 = np.array(WEIGHT), np.array(BIAS), np.exp(LOGVAR)
    # block means p are 0.25 or 0.75 equally often: E p = 1/2, Var p = 1/16
    channel_mean, channel_var = w / 2 + b, w**2 / 16 + sigma2
    implied = doc["results"]["scale"]["implied"]
    np.testing.assert_allclose(implied["latents_mean"], channel_mean, rtol=1e-6)
    np.testing.assert_allclose(implied["latents_std"], np.sqrt(channel_var), rtol=1e-6)
    np.testing.assert_allclose(doc["results"]["scale"]["posterior_means"]["std"], np.abs(w) / 4, atol=1e-6)
    scaling_factor = 1 / np.sqrt(channel_var.mean() + channel_mean.var())
    assert implied["scaling_factor"] == pytest.approx(scaling_factor, rel=1e-6)
    assert implied["shift_factor"] == pytest.approx(channel_mean.mean(), rel=1e-6)
    from latentkit.catalogue import read_figure

    assert read_figure("latent_scale.scaling_factor", doc) == implied["scaling_factor"]
    np.testing.assert_allclose(read_figure("latent_scale.latents_std", doc), np.sqrt(channel_var), rtol=1e-6)
    np.testing.assert_allclose(read_figure("latent_scale.noise_share", doc), sigma2 / channel_var, rtol=1e-6)
    config = doc["results"]["scale"]["config"]
    assert config["scaling_factor"]["config"] == 0.5
    assert config["scaling_factor"]["relative_difference"] == pytest.approx(0.5 / scaling_factor - 1, rel=1e-6)
    np.testing.assert_allclose(
        config["latents_std"]["relative_difference"], np.array([1.0, 1.5, 1.0]) / np.sqrt(channel_var) - 1, rtol=1e-6
    )
    assert "shift_factor" not in config  # only what the model declares is compared


def leaves(value, path=""):
    """Every number of a JSON value with its path."""
    if isinstance(value, dict):
        return [leaf for key in sorted(value) for leaf in leaves(value[key], f"{path}.{key}")]
    if isinstance(value, list):
        return [leaf for i, item in enumerate(value) for leaf in leaves(item, f"{path}[{i}]")]
    return [(path, value)]


def test_batches_give_the_numbers_of_one_pass(spatial_report):
    _, doc, tmp_path = spatial_report
    small = kl_report(tmp_path / "spatial.safetensors", plugin_files=[SPATIAL_PLUGIN], batch_size=5, write=False)
    batched = json.loads(small.to_json())
    for key in ("kl", "scale", "posterior", "active", "collapsed"):
        ours, theirs = leaves(batched["results"][key]), leaves(doc["results"][key])
        assert [path for path, _ in ours] == [path for path, _ in theirs]
        for (path, a), (_, b) in zip(ours, theirs):
            if isinstance(a, float) or isinstance(b, float):
                assert a == pytest.approx(b, rel=1e-9, abs=1e-12), path
            else:
                assert a == b, path


def test_figures_show_every_channel(spatial_report):
    _, doc, tmp_path = spatial_report
    out = tmp_path / "out"
    assert set(doc["figures"]) == {"kl_per_dim", "kl_per_position", "latent_histograms"}
    positions = (out / doc["figures"]["kl_per_position"]).read_text()
    assert re.findall(r"channel (\d): [\d.]+ nats \((\w+)\)", positions) == [("0", "active"), ("1", "active"), ("2", "collapsed")]
    histograms = (out / doc["figures"]["latent_histograms"]).read_text()
    assert len(re.findall(r"channel \d: mean", histograms)) == 3
    assert "model's 0.5" in histograms


def test_a_flat_latent_keeps_its_per_dimension_report(handset_checkpoint, tmp_path):
    from tests.conftest import HANDSET_PLUGIN

    report = kl_report(handset_checkpoint, plugin_files=[HANDSET_PLUGIN], write=False)
    assert report.document["results"]["layout"]["kind"] == "flat" and report.document["results"]["kl"]["per_position"] is None
    np.testing.assert_allclose(report.per_dim, report.document["results"]["kl"]["per_dim"])
