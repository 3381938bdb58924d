"""The four architectures that ship with latentkit, as :class:`Plugin` objects.

Importing this module does not import torch: each ``build`` imports its
architecture module only when called.
"""

from __future__ import annotations

from typing import Any

from latentkit.defaults import GAN_LATENT_DIM, TRAIN_LATENT_DIM
from latentkit.models.plugin import Plugin

# What a built-in architecture's weights can come from (see latentkit.models.formats).
BUILTIN_FORMATS = (
    "latentkit .safetensors",
    "state dict (.pt .pth .ckpt .safetensors)",
)


def _build_mlp_vae(config: dict[str, Any]) -> Any:
    from latentkit.models.builtin import mlp_vae

    return mlp_vae.build(config)


def _build_conv_vae(config: dict[str, Any]) -> Any:
    from latentkit.models.builtin import conv_vae

    return conv_vae.build(config)


def _build_mlp_gan(config: dict[str, Any]) -> Any:
    from latentkit.models.builtin import mlp_gan

    return mlp_gan.build(config)


def _build_dcgan(config: dict[str, Any]) -> Any:
    from latentkit.models.builtin import dcgan

    return dcgan.build(config)


MLP_VAE = Plugin(
    name="mlp-vae",
    kind="vae",
    build=_build_mlp_vae,
    description="Fully connected VAE for small images (Kingma & Welling 2014); default 8x8x1, hidden 256-128",
    formats=BUILTIN_FORMATS,
    # Every config key with its default: the example `plugins --check` builds.
    example_config={"image_shape": [1, 8, 8], "latent_dim": TRAIN_LATENT_DIM, "hidden": [256, 128]},
)
CONV_VAE = Plugin(
    name="conv-vae",
    kind="vae",
    build=_build_conv_vae,
    description="Convolutional VAE of Burgess et al. 2018 for 64x64 images (dSprites)",
    formats=BUILTIN_FORMATS,
    # Every config key with its default: the example `plugins --check` builds.
    example_config={
        "image_shape": [1, 64, 64],
        "latent_dim": TRAIN_LATENT_DIM,
        "channels": [32, 32, 32, 32],
        "hidden": [256, 256],
    },
)
MLP_GAN = Plugin(
    name="mlp-gan",
    kind="gan",
    build=_build_mlp_gan,
    description="Fully connected GAN generator for small images; default 8x8x1, hidden 128-256",
    formats=BUILTIN_FORMATS,
    # Every config key with its default: the example `plugins --check` builds.
    example_config={"image_shape": [1, 8, 8], "latent_dim": GAN_LATENT_DIM, "hidden": [128, 256]},
)
DCGAN = Plugin(
    name="dcgan",
    kind="gan",
    build=_build_dcgan,
    description="DCGAN generator of Radford et al. 2016 for square power-of-two images (default 64x64x1)",
    formats=BUILTIN_FORMATS,
    # Every config key with its default: the example `plugins --check` builds.
    example_config={"image_shape": [1, 64, 64], "latent_dim": 64, "feature_maps": 32},
)

BUILTIN_PLUGINS: tuple[Plugin, ...] = (MLP_VAE, CONV_VAE, MLP_GAN, DCGAN)

__all__ = ["BUILTIN_PLUGINS", "CONV_VAE", "DCGAN", "MLP_GAN", "MLP_VAE"]
