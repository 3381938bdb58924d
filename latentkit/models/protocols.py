"""The two small protocols every model satisfies, and the generator view of a VAE.

Tensors are float32; images are NCHW (or flat for flat data) with values in
[0, 1]. Both protocols are runtime-checkable so a loaded module can be checked
against its declared kind.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:  # pragma: no cover - typing only
    import torch


@runtime_checkable
class VAEModel(Protocol):
    """A VAE with a diagonal Gaussian posterior and the prior N(0, I).

    ``encode(x)`` returns ``(mean, logvar)`` of q(z|x), each (B, latent_dim).
    ``decode(z)`` returns the *mean* of p(x|z) as an image in [0, 1] (for a
    Bernoulli decoder, the sigmoid of its logits), not a sample.
    """

    latent_dim: int

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]: ...

    def decode(self, z: torch.Tensor) -> torch.Tensor: ...


@runtime_checkable
class GANModel(Protocol):
    """A generator: ``sample_latent(n, generator)`` draws latent codes (standard
    normal unless the plugin says otherwise) and ``generate(z)`` maps them to
    images in [0, 1]."""

    latent_dim: int

    def sample_latent(self, n: int, generator: torch.Generator) -> torch.Tensor: ...

    def generate(self, z: torch.Tensor) -> torch.Tensor: ...


class VAEGeneratorView:
    """A VAE seen as a generator (prior sample + decode), so every figure command
    that needs ``sample_latent``/``generate`` works on both kinds."""

    def __init__(self, vae: VAEModel) -> None:
        self.vae = vae
        self.latent_dim = vae.latent_dim

    def sample_latent(self, n: int, generator: torch.Generator) -> torch.Tensor:
        import torch

        device = next(iter(self.vae.parameters())).device if hasattr(self.vae, "parameters") else "cpu"
        z = torch.randn(n, self.latent_dim, generator=generator)
        return z.to(device)

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        return self.vae.decode(z)


def as_generator(model: VAEModel | GANModel) -> GANModel:
    """The generator view of ``model``: itself for a GAN, a prior view for a VAE."""
    if isinstance(model, GANModel):
        return model
    return VAEGeneratorView(model)  # type: ignore[return-value]
