"""A fully connected VAE for small images such as the 8x8 digits (Kingma & Welling 2014).

Config (every key optional; :data:`DEFAULT_CONFIG` fills the rest):

``image_shape``  ``[C, H, W]`` of the data, default ``[1, 8, 8]``
``latent_dim``   size of z, default 10
``hidden``       widths of the encoder's hidden layers, default ``[256, 128]``;
                 the decoder uses them in reverse order
"""

from __future__ import annotations

import math
from typing import Any

from torch import nn

from latentkit.models.builtin import MLP_VAE
from latentkit.models.builtin._config import image_shape, merge_with_defaults, positive_int, positive_int_list
from latentkit.models.builtin._modules import BernoulliVAE, mlp_layers

PLUGIN_NAME = "mlp-vae"
DEFAULT_CONFIG: dict[str, Any] = MLP_VAE.example_config  # one place: the plugin declares it


def resolve_config(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` checked and completed with :data:`DEFAULT_CONFIG`."""
    merged = merge_with_defaults(PLUGIN_NAME, config, DEFAULT_CONFIG)
    return {
        "image_shape": image_shape(PLUGIN_NAME, merged["image_shape"]),
        "latent_dim": positive_int(PLUGIN_NAME, "latent_dim", merged["latent_dim"]),
        "hidden": positive_int_list(PLUGIN_NAME, "hidden", merged["hidden"]),
    }


class MLPVAE(BernoulliVAE):
    """Flatten -> hidden ReLU layers -> [mean, logvar]; decoder mirrored, ending in pixel logits."""

    def __init__(self, config: dict[str, Any]) -> None:
        config = resolve_config(config)
        pixels = math.prod(config["image_shape"])
        widths = [pixels, *config["hidden"]]
        encoder = nn.Sequential(nn.Flatten(), *mlp_layers([*widths, 2 * config["latent_dim"]], nn.ReLU))
        decoder = nn.Sequential(
            *mlp_layers([config["latent_dim"], *reversed(widths)], nn.ReLU),
            nn.Unflatten(1, tuple(config["image_shape"])),
        )
        super().__init__(config, encoder, decoder)


def build(config: dict[str, Any]) -> MLPVAE:
    """The plugin factory: an :class:`MLPVAE` from a (possibly partial) config."""
    return MLPVAE(config)
