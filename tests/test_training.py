"""Training the built-in architectures: reproducibility, the β-VAE effect, data handling, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import latentkit.training as training
from latentkit.data import open_data
from latentkit.defaults import ACTIVE_THRESHOLD
from latentkit.errors import LatentkitError
from latentkit.models.builtin import MLP_VAE
from latentkit.training import TrainResult, default_plugin_name, negative_elbo_terms, train_gan, train_vae


@pytest.fixture(scope="module")
def digits():
    return open_data("digits")


@pytest.fixture(scope="module")
def few_digits():
    return open_data("digits", limit=150, seed=1)


def _active_units(model, source) -> int:
    """Units whose posterior mean varies over the data by more than ACTIVE_THRESHOLD (Burda et al. 2015)."""
    with torch.inference_mode():
        means = np.concatenate([model.encode(torch.from_numpy(b.x))[0].numpy() for b in source.batches(512)])
    return int((means.var(axis=0) > ACTIVE_THRESHOLD).sum())


def _same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_same_seed_gives_bit_identical_vae(few_digits):
    settings = {"latent_dim": 3, "beta": 2.0, "epochs": 1, "batch_size": 32, "learning_rate": 1e-3}
    first = train_vae(few_digits, seed=7, **settings)
    second = train_vae(few_digits, seed=7, **settings)
    other = train_vae(few_digits, seed=8, **settings)
    assert _same_weights(first.model, second.model)
    assert first.history == second.history
    assert not _same_weights(first.model, other.model)


def test_same_seed_gives_bit_identical_gan(few_digits):
    settings = {"latent_dim": 4, "epochs": 1, "batch_size": 32, "learning_rate": 2e-4}
    first = train_gan(few_digits, seed=7, **settings)
    second = train_gan(few_digits, seed=7, **settings)
    assert _same_weights(first.model, second.model)
    assert first.history == second.history


def test_vae_result_history_and_progress(few_digits):
    calls = []
    result = train_vae(
        few_digits, latent_dim=2, epochs=3, batch_size=64, beta=4.0, progress=lambda *args: calls.append(args)
    )
    assert isinstance(result, TrainResult)
    assert (result.kind, result.plugin) == ("vae", "mlp-vae")
    assert result.config == {"image_shape": [1, 8, 8], "latent_dim": 2, "hidden": [256, 128]}
    assert not result.model.training
    assert [record["epoch"] for record in result.history] == [1, 2, 3]
    for record in result.history:
        assert record["loss"] == pytest.approx(record["recon"] + 4.0 * record["kl"], rel=1e-4)
    assert calls == [(epoch, 3, record["loss"]) for epoch, record in zip([1, 2, 3], result.history)]


def test_gan_result_history(few_digits):
    result = train_gan(few_digits, latent_dim=3, epochs=2, batch_size=64)
    assert (result.kind, result.plugin, result.config["latent_dim"]) == ("gan", "mlp-gan", 3)
    assert not result.model.training
    assert all({"epoch", "loss", "discriminator_loss"} <= record.keys() for record in result.history)


def test_large_beta_leaves_fewer_active_units(digits):
    """Higgins et al. 2017: a larger β presses more posteriors onto the prior.
    Measured with these settings over seeds 0-4: β=1 keeps 6-9 of 10 units, β=8 none."""
    settings = {"latent_dim": 10, "epochs": 10, "batch_size": 64, "learning_rate": 3e-3, "seed": 0}
    plain = train_vae(digits, beta=1.0, **settings)
    pressed = train_vae(digits, beta=8.0, **settings)
    assert _active_units(pressed.model, digits) < _active_units(plain.model, digits)
    assert _active_units(plain.model, digits) >= 3
    assert pressed.history[-1]["kl"] < plain.history[-1]["kl"]


def test_negative_elbo_kl_is_the_closed_form_gaussian_kl(few_digits):
    torch.manual_seed(0)
    model = MLP_VAE.build({"latent_dim": 3})
    x = torch.from_numpy(few_digits.get(np.arange(16)))
    recon, kl = negative_elbo_terms(model, x, torch.Generator().manual_seed(0))
    mean, logvar = model.encode(x)
    posterior = torch.distributions.Normal(mean, torch.exp(0.5 * logvar))
    expected = torch.distributions.kl_divergence(posterior, torch.distributions.Normal(0.0, 1.0)).sum(1).mean()
    assert kl.item() == pytest.approx(expected.item(), rel=1e-5)
    assert recon.item() > 0


@pytest.mark.parametrize("cache_bytes", [training.TRAIN_CACHE_BYTES, 0], ids=["cached", "streamed"])
def test_every_row_once_per_epoch_in_a_new_order(monkeypatch, cache_bytes):
    monkeypatch.setattr(training, "TRAIN_CACHE_BYTES", cache_bytes)
    source = _RowNumberSource(70)
    batches = training._ShuffledBatches(source, (1, 1, 1), 16, torch.Generator().manual_seed(0), torch.device("cpu"))
    assert (batches.cached is None) == (cache_bytes == 0)
    epochs = [torch.cat(list(batches.epoch())).flatten().long() for _ in range(2)]
    for rows in epochs:
        assert sorted(rows.tolist()) == list(range(70))
    assert not torch.equal(epochs[0], epochs[1])


def test_streamed_training_reads_batches_with_get(monkeypatch, few_digits):
    monkeypatch.setattr(training, "TRAIN_CACHE_BYTES", 0)
    streamed = train_vae(few_digits, latent_dim=2, epochs=3, batch_size=50, seed=4)
    losses = [epoch["loss"] for epoch in streamed.history]
    assert len(losses) == 3 and losses[2] < losses[1] < losses[0]  # it learns from the batches it reads


def test_default_architecture_follows_the_image_size():
    assert default_plugin_name("vae", (1, 64, 64)) == "conv-vae"
    assert default_plugin_name("gan", (3, 64, 64)) == "dcgan"
    assert default_plugin_name("vae", (1, 8, 8)) == "mlp-vae"
    assert default_plugin_name("gan", (3, 32, 32)) == "mlp-gan"


def test_convolutional_architectures_train_on_shapes():
    shapes = open_data("shapes", limit=24, seed=0)
    vae = train_vae(shapes, latent_dim=4, epochs=3, batch_size=12)
    gan = train_gan(shapes, latent_dim=8, epochs=1, batch_size=12)
    assert (vae.plugin, gan.plugin) == ("conv-vae", "dcgan")
    assert vae.history[-1]["loss"] < vae.history[0]["loss"]  # the VAE learns
    with torch.inference_mode():  # the generator makes 64x64 shapes images, a different one for each code
        images = gan.model.generate(torch.randn(2, 8, generator=torch.Generator().manual_seed(0)))
    assert tuple(images.shape) == (2, 1, 64, 64)
    assert not torch.equal(images[0], images[1])


@pytest.mark.parametrize(
    ("train", "settings", "message"),
    [
        (train_vae, {"plugin_name": "dcgan"}, "VAE architecture 'dcgan'"),
        (train_gan, {"plugin_name": "mlp-vae"}, "GAN architecture 'mlp-vae'"),
        (train_vae, {"plugin_name": "conv-vae"}, "image_shape"),
        (train_vae, {"latent_dim": 0}, "latent_dim"),
        (train_vae, {"epochs": 0}, "epochs"),
        (train_gan, {"batch_size": 0}, "batch_size"),
        (train_vae, {"learning_rate": -1.0}, "learning_rate"),
        (train_vae, {"beta": -1.0}, "beta"),
    ],
)
def test_bad_settings_are_latentkit_errors(few_digits, train, settings, message):
    with pytest.raises(LatentkitError, match=message) as caught:
        train(few_digits, **{"epochs": 1, **settings})
    assert caught.value.fix


class _RowNumberSource:
    """N one-pixel images whose value is their row number (a fake source for the shuffling)."""

    name = "rows"
    image_shape = (1, 1, 1)

    def __init__(self, size: int) -> None:
        self.size = size

    def __len__(self) -> int:
        return self.size

    def get(self, index):
        return np.asarray(index, dtype=np.float32).reshape(-1, 1, 1, 1)

    def batches(self, batch_size):
        from latentkit.data import Batch

        for start in range(0, self.size, batch_size):
            index = np.arange(start, min(start + batch_size, self.size), dtype=np.int64)
            yield Batch(x=self.get(index), index=index)


def test_kl_warmup_ramps_beta_from_zero(few_digits):
    """β_t = β·min(1, t/kl_warmup): one warm-up step is no warm-up; a ramp of 1e9 steps leaves the KL weightless."""
    settings = {"latent_dim": 3, "beta": 4.0, "epochs": 2, "batch_size": 32, "seed": 3}
    plain = train_vae(few_digits, **settings)
    one_step = train_vae(few_digits, kl_warmup=1, **settings)
    assert _same_weights(plain.model, one_step.model) and plain.history == one_step.history
    slow = train_vae(few_digits, kl_warmup=10**9, **settings)
    for record in slow.history:  # loss = recon + β_t·KL with β_t ≤ 4·10/1e9
        assert record["kl"] > 0
        assert 0 <= record["loss"] - record["recon"] <= 4e-8 * record["kl"] + 1e-9
    assert not _same_weights(plain.model, slow.model)
    with pytest.raises(LatentkitError, match="kl_warmup"):
        train_vae(few_digits, kl_warmup=-1, **settings)
