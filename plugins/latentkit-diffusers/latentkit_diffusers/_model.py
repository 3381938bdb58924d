"""The torch side: AutoencoderKL seen through latentkit's VAE protocol."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
from torch import nn

from latentkit import LatentkitError
from latentkit.models.state_dict import tensor_mismatch


class DiffusersVAE(nn.Module):
    """latentkit's VAE protocol over a diffusers ``AutoencoderKL``.

    ``encode(x)`` takes images in [0, 1] and returns the posterior's mean and
    log-variance, each (B, C, H, W), exactly as ``latent_dist.mean`` and
    ``latent_dist.logvar`` (diffusers clamps the log-variance to [-30, 20]).
    ``decode(z)`` returns ``decode(z).sample / 2 + 0.5`` clamped to [0, 1].
    """

    def __init__(self, vae: Any, config: dict[str, Any]) -> None:
        super().__init__()
        from latentkit_diffusers._format import latent_shape

        self.vae = vae
        self.in_channels = int(config.get("in_channels", 3))
        self.latent_shape: tuple[int, int, int] = latent_shape(config)
        self.latent_dim = math.prod(self.latent_shape)
        # What latent-diffusion users apply, (z - shift) * scaling_factor; kl-report compares it with the data.
        self.latent_normalization = {
            key: config[key]
            for key in ("scaling_factor", "shift_factor", "latents_mean", "latents_std")
            if config.get(key) is not None
        }

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise LatentkitError(
                f"this AutoencoderKL takes (batch, {self.in_channels}, H, W) images; the data has shape {list(x.shape)}",
                fix=f"pass --data with {self.in_channels}-channel images",
            )
        posterior = self.vae.encode(x * 2 - 1).latent_dist
        return posterior.mean, posterior.logvar

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return (self.vae.decode(z).sample / 2 + 0.5).clamp(0, 1)


def unknown_keys(config: dict[str, Any]) -> list[str]:
    """Config keys that are not AutoencoderKL settings (diffusers' own ``_`` keys aside)."""
    import inspect

    from diffusers import AutoencoderKL

    known = set(inspect.signature(AutoencoderKL.__init__).parameters)
    return sorted(k for k in config if not k.startswith("_") and k not in known)


def build_wrapped(config: dict[str, Any]) -> DiffusersVAE:
    from diffusers import AutoencoderKL

    try:
        vae = AutoencoderKL.from_config(config)
    except Exception as exc:
        raise LatentkitError(
            f"diffusers cannot build an AutoencoderKL from this config: {type(exc).__name__}: {exc}".splitlines()[0],
            fix="check the config.json (or --config) of the model",
        ) from exc
    return DiffusersVAE(vae, config)


def load_weights(model: DiffusersVAE, weights: list[Path], where: Path) -> DiffusersVAE:
    """Load the safetensors weight files into ``model.vae``; every tensor must fit."""
    from safetensors.torch import load_file

    tensors: dict[str, torch.Tensor] = {}
    for file in weights:
        tensors.update(load_file(str(file), device="cpu"))
    expected = model.vae.state_dict()
    mismatch = tensor_mismatch(
        {k: tuple(v.shape) for k, v in expected.items()},
        {k: tuple(v.shape) for k, v in tensors.items()},
        where.name,
        "this AutoencoderKL config",
        "pass the config.json that belongs to these weights",
    )
    if mismatch is not None:
        raise mismatch
    model.vae.load_state_dict({k: v.to(expected[k].dtype) for k, v in tensors.items()})
    return model
