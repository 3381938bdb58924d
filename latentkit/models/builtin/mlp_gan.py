"""A fully connected GAN for small images such as the 8x8 digits (Goodfellow et
al. 2014), with the activations Radford et al. 2016 recommend: ReLU in the
generator, tanh on its output, LeakyReLU(0.2) in the discriminator.

Config (every key optional; :data:`DEFAULT_CONFIG` fills the rest):

``image_shape``  ``[C, H, W]`` of the data, default ``[1, 8, 8]``
``latent_dim``   size of z, default 16
``hidden``       widths of the generator's hidden layers, default ``[128, 256]``;
                 the discriminator uses them in reverse order
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

from torch import nn

from latentkit.models.builtin import MLP_GAN
from latentkit.models.builtin._config import image_shape, merge_with_defaults, positive_int, positive_int_list
from latentkit.models.builtin._modules import ImageDiscriminator, ImageGenerator, mlp_layers

PLUGIN_NAME = "mlp-gan"
DEFAULT_CONFIG: dict[str, Any] = MLP_GAN.example_config  # one place: the plugin declares it
LEAKY_SLOPE = 0.2


def resolve_config(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` checked and completed with :data:`DEFAULT_CONFIG`."""
    merged = merge_with_defaults(PLUGIN_NAME, config, DEFAULT_CONFIG)
    return {
        "image_shape": image_shape(PLUGIN_NAME, merged["image_shape"]),
        "latent_dim": positive_int(PLUGIN_NAME, "latent_dim", merged["latent_dim"]),
        "hidden": positive_int_list(PLUGIN_NAME, "hidden", merged["hidden"]),
    }


class MLPGenerator(ImageGenerator):
    """z -> hidden ReLU layers -> one pre-tanh value per pixel."""

    def __init__(self, config: dict[str, Any]) -> None:
        config = resolve_config(config)
        pixels = math.prod(config["image_shape"])
        network = nn.Sequential(
            *mlp_layers([config["latent_dim"], *config["hidden"], pixels], nn.ReLU),
            nn.Unflatten(1, tuple(config["image_shape"])),
        )
        super().__init__(config, network)

    def make_discriminator(self) -> ImageDiscriminator:
        return MLPDiscriminator(self.config)


class MLPDiscriminator(ImageDiscriminator):
    """Flattened image -> the generator's hidden widths reversed (LeakyReLU) -> one logit."""

    def __init__(self, config: dict[str, Any]) -> None:
        config = resolve_config(config)
        pixels = math.prod(config["image_shape"])
        widths = [pixels, *reversed(config["hidden"]), 1]
        super().__init__(nn.Sequential(nn.Flatten(), *mlp_layers(widths, partial(nn.LeakyReLU, LEAKY_SLOPE))))


def build(config: dict[str, Any]) -> MLPGenerator:
    """The plugin factory: an :class:`MLPGenerator` from a (possibly partial) config."""
    return MLPGenerator(config)
