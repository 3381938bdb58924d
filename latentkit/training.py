"""Training the built-in VAEs and GANs on a data source.

VAEs minimise the negative ELBO with a Bernoulli likelihood, weighting the KL
term by β (Kingma & Welling 2014; Higgins et al. 2017): per image, the binary
cross-entropy summed over pixels plus β·KL(q(z|x) || N(0, I)), averaged over the
batch. GANs use the non-saturating loss with Adam(β1 = 0.5) as in Radford et al.
2016.

Runs are reproducible: the same seed gives bit-identical weights on the same
device and thread count (``torch.manual_seed`` for the initial weights, and
seeded generators for the shuffling and the noise).

Data smaller than ``TRAIN_CACHE_BYTES`` as float32 is read once and kept in
memory; larger data is streamed from the source batch by batch every epoch, in
a seeded random order. No CLI or plotting imports here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from latentkit.defaults import (
    BETA,
    DEVICE,
    GAN_LATENT_DIM,
    GAN_LEARNING_RATE,
    SEED,
    TRAIN_BATCH_SIZE,
    TRAIN_CACHE_BYTES,
    TRAIN_EPOCHS,
    TRAIN_KL_WARMUP,
    TRAIN_LATENT_DIM,
    TRAIN_LEARNING_RATE,
)
from latentkit.errors import LatentkitError
from latentkit.models.builtin import BUILTIN_PLUGINS
from latentkit.models.plugin import Plugin
from latentkit.threads import use_threads_for

if TYPE_CHECKING:  # pragma: no cover - typing only
    from latentkit.data import DataSource

Progress = Callable[[int, int, float], None]
"""``progress(epoch, total_epochs, loss)``, called after each epoch (``epoch`` from 1)."""

GAN_ADAM_BETAS = (0.5, 0.999)  # Radford et al. 2016
CONV_IMAGE_SIZE = (64, 64)  # data of this size gets the convolutional architectures by default
DEFAULT_PLUGINS = {  # kind -> (for CONV_IMAGE_SIZE data, for anything else)
    "vae": ("conv-vae", "mlp-vae"),
    "gan": ("dcgan", "mlp-gan"),
}


@dataclass
class TrainResult:
    """A trained model (in eval mode) and what is needed to save and describe it.

    ``history`` has one dict per epoch: ``epoch`` (from 1) and ``loss``, the mean
    over the epoch's images of the training objective; for a VAE also ``recon``
    and ``kl`` (loss = recon + β·kl); for a GAN ``loss`` is the generator's loss
    and ``discriminator_loss`` the discriminator's.
    """

    model: nn.Module
    plugin: str
    config: dict[str, Any]
    history: list[dict[str, float]]
    kind: str


def default_plugin_name(kind: str, image_shape: tuple[int, int, int]) -> str:
    """The built-in architecture of ``kind`` for data of ``image_shape``: the
    convolutional one for 64x64 images, the fully connected one otherwise."""
    conv_name, mlp_name = DEFAULT_PLUGINS[kind]
    return conv_name if tuple(image_shape[1:]) == CONV_IMAGE_SIZE else mlp_name


def train_vae(
    source: DataSource,
    *,
    plugin_name: str | None = None,
    latent_dim: int = TRAIN_LATENT_DIM,
    beta: float = BETA,
    epochs: int = TRAIN_EPOCHS,
    batch_size: int = TRAIN_BATCH_SIZE,
    learning_rate: float = TRAIN_LEARNING_RATE,
    seed: int = SEED,
    device: str = DEVICE,
    progress: Progress | None = None,
    plugin: Plugin | None = None,
    config: dict[str, Any] | None = None,
    on_epoch: Callable[[dict[str, float]], None] | None = None,
    on_batch: Callable[[int], None] | None = None,
    kl_warmup: int = TRAIN_KL_WARMUP,
) -> TrainResult:
    """Train a β-VAE (β = 1: the plain VAE) with Adam on ``source``.

    ``plugin`` (with its ``config``) trains a plugin's architecture instead of a built-in one.
    ``kl_warmup`` > 0 raises the KL weight linearly from 0 to β over that many optimizer steps,
    β_t = β·min(1, t / kl_warmup) (KL annealing, Bowman et al. 2016), so the decoder learns to use
    z before the KL term can close the posterior; without it a conv-vae on ``shapes`` collapses
    to the prior in its first hundreds of steps.
    """
    if not (isinstance(beta, (int, float)) and math.isfinite(beta) and beta >= 0):
        raise LatentkitError(f"beta must be a number >= 0, got {beta!r}", fix="use e.g. --beta 1 or --beta 8")
    if isinstance(kl_warmup, bool) or not isinstance(kl_warmup, int) or not 0 <= kl_warmup <= 10**9:
        raise LatentkitError(
            f"kl_warmup must be a whole number of steps in [0, 1e9], got {kl_warmup!r}", fix="use e.g. --kl-warmup 500"
        )
    plugin, model, batches = _prepare(
        source, "vae", plugin_name, latent_dim, epochs, batch_size, learning_rate, seed, device, plugin, config
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    noise = torch.Generator(device=device).manual_seed(seed)

    history: list[dict[str, float]] = []
    model.train()
    step = 0
    for epoch in range(1, epochs + 1):
        sums: dict[str, Any] = {"loss": 0.0, "recon": 0.0, "kl": 0.0}
        seen = 0
        for x in batches.epoch():
            step += 1
            recon, kl = negative_elbo_terms(model, x, noise)
            loss = recon + (beta * min(1.0, step / kl_warmup) if kl_warmup else beta) * kl
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            for key, value in (("loss", loss), ("recon", recon), ("kl", kl)):
                sums[key] += value.detach().double() * x.shape[0]  # no .item(): no device sync per step
            seen += x.shape[0]
            if on_batch is not None:
                on_batch(x.shape[0])
        history.append(_epoch_record(epoch, sums, seen))
        if on_epoch is not None:
            on_epoch(history[-1])
        _report(progress, epoch, epochs, history[-1]["loss"])
    model.eval()
    return TrainResult(model=model, plugin=plugin.name, config=_model_config(model, config), history=history, kind="vae")


def train_gan(
    source: DataSource,
    *,
    plugin_name: str | None = None,
    latent_dim: int = GAN_LATENT_DIM,
    epochs: int = TRAIN_EPOCHS,
    batch_size: int = TRAIN_BATCH_SIZE,
    learning_rate: float = GAN_LEARNING_RATE,
    seed: int = SEED,
    device: str = DEVICE,
    progress: Progress | None = None,
    plugin: Plugin | None = None,
    config: dict[str, Any] | None = None,
    on_epoch: Callable[[dict[str, float]], None] | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> TrainResult:
    """Train a GAN on ``source`` with the non-saturating loss; only the generator is returned.

    ``plugin`` (with its ``config``) trains a plugin's generator; it must offer
    ``make_discriminator()`` like the built-in ones.
    """
    plugin, generator, batches = _prepare(
        source, "gan", plugin_name, latent_dim, epochs, batch_size, learning_rate, seed, device, plugin, config
    )
    if not callable(getattr(generator, "make_discriminator", None)):
        raise LatentkitError(
            f"plugin {plugin.name!r} builds a generator without make_discriminator(), so latentkit cannot train it",
            fix="add make_discriminator() to the generator, or train it elsewhere and save it with latentkit.save",
        )
    discriminator = generator.make_discriminator().to(device)
    generator_optimizer = torch.optim.Adam(generator.parameters(), lr=learning_rate, betas=GAN_ADAM_BETAS)
    discriminator_optimizer = torch.optim.Adam(discriminator.parameters(), lr=learning_rate, betas=GAN_ADAM_BETAS)
    noise = torch.Generator(device=device).manual_seed(seed)

    history: list[dict[str, float]] = []
    generator.train()
    discriminator.train()
    for epoch in range(1, epochs + 1):
        sums: dict[str, Any] = {"loss": 0.0, "discriminator_loss": 0.0}
        seen = 0
        for real in batches.epoch():
            n = real.shape[0]
            fake = generator.generate(generator.sample_latent(n, noise))
            real_logits, fake_logits = discriminator(real), discriminator(fake.detach())
            discriminator_loss = F.binary_cross_entropy_with_logits(
                real_logits, torch.ones_like(real_logits)
            ) + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
            discriminator_optimizer.zero_grad(set_to_none=True)
            discriminator_loss.backward()
            discriminator_optimizer.step()

            judged = discriminator(fake)
            generator_loss = F.binary_cross_entropy_with_logits(judged, torch.ones_like(judged))
            generator_optimizer.zero_grad(set_to_none=True)
            generator_loss.backward()
            generator_optimizer.step()

            sums["loss"] += generator_loss.detach().double() * n
            sums["discriminator_loss"] += discriminator_loss.detach().double() * n
            seen += n
            if on_batch is not None:
                on_batch(n)
        history.append(_epoch_record(epoch, sums, seen))
        if on_epoch is not None:
            on_epoch(history[-1])
        _report(progress, epoch, epochs, history[-1]["loss"])
    generator.eval()
    return TrainResult(
        model=generator, plugin=plugin.name, config=_model_config(generator, config), history=history, kind="gan"
    )


def negative_elbo_terms(
    model: nn.Module, x: torch.Tensor, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """The two terms of the negative ELBO for a batch, each averaged over it:
    Bernoulli reconstruction (binary cross-entropy summed over pixels) of one
    reparameterised sample z = mean + σ·ε, and the closed-form KL(q(z|x) || N(0, I))
    (Kingma & Welling 2014). A model without ``decode_logits`` (a plugin's) is
    scored on the probabilities ``decode(z)`` returns."""
    mean, logvar = model.encode(x)
    epsilon = torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
    z = mean + torch.exp(0.5 * logvar) * epsilon
    if hasattr(model, "decode_logits"):
        logits = model.decode_logits(z)
        recon = F.binary_cross_entropy_with_logits(logits, x.reshape(logits.shape), reduction="none")
    else:
        probabilities = model.decode(z)
        recon = F.binary_cross_entropy(
            probabilities.clamp(1e-6, 1 - 1e-6), x.reshape(probabilities.shape), reduction="none"
        )
    kl = 0.5 * (mean.pow(2) + logvar.exp() - 1.0 - logvar)
    return recon.flatten(1).sum(dim=1).mean(), kl.sum(dim=1).mean()


def _prepare(
    source: DataSource,
    kind: str,
    plugin_name: str | None,
    latent_dim: int,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    seed: int,
    device: str,
    plugin: Plugin | None = None,
    config: dict[str, Any] | None = None,
) -> tuple[Plugin, nn.Module, _ShuffledBatches]:
    """Check the settings, seed torch, build the model on ``device`` and set up the data.

    Without ``plugin`` the built-in architecture for the data is built; with it,
    ``plugin.build(config)``, checked to make images of the data's shape.
    """
    _require_positive_int("epochs", epochs)
    _require_positive_int("batch_size", batch_size)
    if not (isinstance(learning_rate, (int, float)) and math.isfinite(learning_rate) and learning_rate > 0):
        raise LatentkitError(
            f"learning_rate must be a number > 0, got {learning_rate!r}", fix="use e.g. 1e-3"
        )
    if len(source) == 0:
        raise LatentkitError(f"data source {source.name!r} is empty", fix="use data with at least one image")
    image_shape = tuple(int(size) for size in source.image_shape)
    use_threads_for(image_shape)
    torch.manual_seed(seed)
    if plugin is None:
        plugin = _builtin_plugin(kind, plugin_name or default_plugin_name(kind, image_shape))  # type: ignore[arg-type]
        model = plugin.build({"image_shape": list(image_shape), "latent_dim": latent_dim}).to(device)
    else:
        if plugin.kind != kind:
            raise LatentkitError(
                f"plugin {plugin.name!r} builds a {plugin.kind.upper()}, not a {kind.upper()}",
                fix=f"train it as {'gan' if plugin.kind == 'gan' else 'vae'}",
            )
        model = plugin.build(dict(config or {})).to(device)
        _check_output_shape(model, kind, image_shape, plugin.name, source.name, device)
    shuffle = torch.Generator().manual_seed(seed)
    return plugin, model, _ShuffledBatches(source, image_shape, batch_size, shuffle, torch.device(device))


def _model_config(model: nn.Module, given: dict[str, Any] | None) -> dict[str, Any]:
    """The config to save: the model's own ``config`` attribute, else the one it was built from."""
    own = getattr(model, "config", None)
    return dict(own) if isinstance(own, dict) else dict(given or {})


def _check_output_shape(
    model: nn.Module, kind: str, image_shape: tuple[int, ...], name: str, data: str, device: str
) -> None:
    """A plugin's model must make images of the data's shape, or the loss is meaningless."""
    with torch.no_grad():
        z = torch.zeros(1, int(model.latent_dim), device=device)
        made = model.decode(z) if kind == "vae" else model.generate(z)
    if tuple(made.shape[1:]) != tuple(image_shape):
        raise LatentkitError(
            f"plugin {name!r} makes images of shape {list(made.shape[1:])} but {data} holds {list(image_shape)}",
            fix="pass --config for the data's image size, or --data with images the model makes",
        )


def _builtin_plugin(kind: str, name: str) -> Plugin:
    names = [plugin.name for plugin in BUILTIN_PLUGINS if plugin.kind == kind]
    for plugin in BUILTIN_PLUGINS:
        if plugin.name == name and plugin.kind == kind:
            return plugin
    raise LatentkitError(
        f"cannot train {kind.upper()} architecture {name!r}",
        fix=f"use one of: {', '.join(names)}",
    )


def _require_positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise LatentkitError(f"{name} must be a positive integer, got {value!r}", fix=f"set {name} to e.g. 64")


def _epoch_record(epoch: int, sums: dict[str, Any], seen: int) -> dict[str, float]:
    """The epoch's mean of each summed loss (``sums`` holds loss x batch size, summed)."""
    record: dict[str, float] = {"epoch": epoch}
    record.update({key: float(total) / seen for key, total in sums.items()})
    if not math.isfinite(record["loss"]):
        raise LatentkitError(
            f"training diverged in epoch {epoch} (loss {record['loss']})",
            fix="lower the learning rate or change the seed",
        )
    return record


def _report(progress: Progress | None, epoch: int, epochs: int, loss: float) -> None:
    if progress is not None:
        progress(epoch, epochs, loss)


class _ShuffledBatches:
    """Each epoch, the source's images in a fresh random order, as float32
    batches on ``device``.

    Small data (under ``TRAIN_CACHE_BYTES`` as float32) is read once and kept.
    Larger data is streamed: each batch is read from the source with
    ``get(indices)`` for the next slice of a seeded permutation, so memory stays
    at one batch whatever the data's size or stored order.
    """

    def __init__(
        self,
        source: DataSource,
        image_shape: tuple[int, ...],
        batch_size: int,
        shuffle: torch.Generator,
        device: torch.device,
    ) -> None:
        self.source = source
        self.image_shape = image_shape
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.device = device
        self.cached: torch.Tensor | None = None
        if len(source) * 4 * math.prod(image_shape) < TRAIN_CACHE_BYTES:
            batches = (self._checked(batch.x) for batch in source.batches(batch_size))
            self.cached = torch.cat([torch.from_numpy(x) for x in batches]).to(device)

    def epoch(self) -> Iterator[torch.Tensor]:
        order = torch.randperm(len(self.source), generator=self.shuffle)
        for start in range(0, len(order), self.batch_size):
            indices = order[start : start + self.batch_size]
            if self.cached is not None:
                yield self.cached[indices.to(self.cached.device)]
            else:
                # sorted within the batch: the order inside a batch does not matter, locality does
                rows = np.sort(indices.numpy()).astype(np.int64)
                yield torch.from_numpy(self._checked(self.source.get(rows))).to(self.device)

    def _checked(self, x: np.ndarray) -> np.ndarray:
        """``x`` as contiguous float32, after checking it has the source's image shape."""
        x = np.ascontiguousarray(x, dtype=np.float32)
        if x.ndim != 4 or tuple(x.shape[1:]) != self.image_shape:
            raise LatentkitError(
                f"data source {self.source.name!r} gave images of shape {x.shape}, "
                f"expected (B, {', '.join(map(str, self.image_shape))})",
                fix="check the data source's image_shape",
            )
        return x
