"""Torch building blocks shared by the built-in architectures.

:class:`BernoulliVAE` holds what every built-in VAE has in common (Kingma &
Welling 2014): an encoder to the mean and log-variance of a diagonal Gaussian
q(z|x) and a decoder to the logits of a Bernoulli p(x|z). :class:`ImageGenerator`
and :class:`ImageDiscriminator` do the same for the GANs. The architecture
modules only supply the networks, so the protocol methods live in one place.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from latentkit.errors import LatentkitError


def mlp_layers(sizes: Sequence[int], activation: Callable[[], nn.Module]) -> list[nn.Module]:
    """Linear layers through ``sizes`` with ``activation`` between them (none after the last)."""
    layers: list[nn.Module] = []
    for size_in, size_out in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(size_in, size_out), activation()]
    return layers[:-1]


def halving_conv(channels_in: int, channels_out: int, *, bias: bool = True) -> nn.Conv2d:
    """A 4x4 stride-2 convolution that halves height and width exactly (even sizes)."""
    return nn.Conv2d(channels_in, channels_out, kernel_size=4, stride=2, padding=1, bias=bias)


def doubling_conv(channels_in: int, channels_out: int, *, bias: bool = True) -> nn.ConvTranspose2d:
    """The transpose of :func:`halving_conv`: doubles height and width exactly."""
    return nn.ConvTranspose2d(channels_in, channels_out, kernel_size=4, stride=2, padding=1, bias=bias)


def as_image_batch(x: torch.Tensor, image_shape: Sequence[int]) -> torch.Tensor:
    """``x`` as (B, C, H, W): images pass through, flat (B, C*H*W) rows are reshaped."""
    shape = tuple(image_shape)
    if x.dim() == 4 and tuple(x.shape[1:]) == shape:
        return x
    if x.dim() == 2 and x.shape[1] == math.prod(shape):
        return x.reshape(x.shape[0], *shape)
    raise LatentkitError(
        f"the model expects images of shape (B, {', '.join(map(str, shape))}) "
        f"or flat (B, {math.prod(shape)}), got {tuple(x.shape)}",
        fix="use data with the image shape the model was trained on",
    )


def _check_latent_batch(z: torch.Tensor, latent_dim: int) -> None:
    if z.dim() != 2 or z.shape[1] != latent_dim:
        raise LatentkitError(
            f"the model expects latent codes of shape (B, {latent_dim}), got {tuple(z.shape)}",
            fix=f"pass codes with {latent_dim} dimensions",
        )


class BernoulliVAE(nn.Module):
    """A VAE with q(z|x) = N(mean, diag(exp(logvar))), prior N(0, I) and a Bernoulli
    decoder (Kingma & Welling 2014).

    ``encoder`` maps (B, C, H, W) images to (B, 2 * latent_dim) = [mean, logvar];
    ``decoder`` maps (B, latent_dim) codes to (B, C, H, W) logits.
    """

    def __init__(self, config: dict[str, Any], encoder: nn.Module, decoder: nn.Module) -> None:
        super().__init__()
        self.config = config
        self.image_shape: tuple[int, int, int] = tuple(config["image_shape"])  # type: ignore[assignment]
        self.latent_dim: int = config["latent_dim"]
        self.encoder = encoder
        self.decoder = decoder

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log-variance of q(z|x), each (B, latent_dim)."""
        mean, logvar = self.encoder(as_image_batch(x, self.image_shape)).chunk(2, dim=1)
        return mean, logvar

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        """Logits of p(x|z), (B, C, H, W): what the training loss needs."""
        _check_latent_batch(z, self.latent_dim)
        return self.decoder(z)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Mean of p(x|z), the sigmoid of the logits: an image in [0, 1]."""
        return torch.sigmoid(self.decode_logits(z))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The encoder, the inference path (so hooks and tracing see ``encode``)."""
        return self.encode(x)


class ImageGenerator(nn.Module):
    """A GAN generator: ``network`` maps (B, latent_dim) codes to (B, C, H, W)
    pre-activations; ``generate`` squashes them with tanh (Radford et al. 2016)
    and rescales to [0, 1]."""

    def __init__(self, config: dict[str, Any], network: nn.Module) -> None:
        super().__init__()
        self.config = config
        self.image_shape: tuple[int, int, int] = tuple(config["image_shape"])  # type: ignore[assignment]
        self.latent_dim: int = config["latent_dim"]
        self.network = network

    def sample_latent(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` standard normal codes drawn with ``generator``, on the module's device."""
        noise_device = generator.device if generator is not None else torch.device("cpu")
        z = torch.randn(n, self.latent_dim, generator=generator, device=noise_device)
        return z.to(next(self.parameters()).device)

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        """Images in [0, 1], (B, C, H, W)."""
        _check_latent_batch(z, self.latent_dim)
        return (torch.tanh(self.network(z)) + 1.0) / 2.0

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.generate(z)

    def make_discriminator(self) -> ImageDiscriminator:
        """A fresh discriminator for this generator's images (training only, never saved)."""
        raise NotImplementedError


class ImageDiscriminator(nn.Module):
    """A GAN discriminator: takes images in [0, 1], feeds ``network`` the same
    images in [-1, 1] (the generator's tanh range) and returns (B,) logits of
    "real"."""

    def __init__(self, network: nn.Module) -> None:
        super().__init__()
        self.network = network

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.network(images * 2.0 - 1.0).reshape(images.shape[0])
