"""The convolutional VAE of Burgess et al. 2018 ("Understanding disentangling in
β-VAE"), the architecture used for dSprites in Higgins et al. 2017 follow-ups.

Encoder: 4 convolutions of 32 channels, 4x4 kernels, stride 2 (64x64 -> 4x4),
then fully connected 256, 256 and 2 * latent_dim (mean, logvar). The decoder is
its transpose: fully connected 256, 256, 32*4*4, then 4 transposed convolutions
back to the image's channels (pixel logits). ReLU throughout.

Config (every key optional; :data:`DEFAULT_CONFIG` fills the rest):

``image_shape``  ``[C, H, W]``, default ``[1, 64, 64]``; H and W must be multiples
                 of 2 ** len(channels) (16 by default)
``latent_dim``   size of z, default 10
``channels``     channels of each stride-2 convolution, default ``[32, 32, 32, 32]``
``hidden``       widths of the fully connected layers, default ``[256, 256]``
"""

from __future__ import annotations

from typing import Any

from torch import nn

from latentkit.models.builtin import CONV_VAE
from latentkit.models.builtin._config import (
    image_shape,
    image_size_error,
    merge_with_defaults,
    positive_int,
    positive_int_list,
)
from latentkit.models.builtin._modules import BernoulliVAE, doubling_conv, halving_conv, mlp_layers

PLUGIN_NAME = "conv-vae"
DEFAULT_CONFIG: dict[str, Any] = CONV_VAE.example_config  # one place: the plugin declares it


def resolve_config(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` checked and completed with :data:`DEFAULT_CONFIG`."""
    merged = merge_with_defaults(PLUGIN_NAME, config, DEFAULT_CONFIG)
    resolved = {
        "image_shape": image_shape(PLUGIN_NAME, merged["image_shape"]),
        "latent_dim": positive_int(PLUGIN_NAME, "latent_dim", merged["latent_dim"]),
        "channels": positive_int_list(PLUGIN_NAME, "channels", merged["channels"]),
        "hidden": positive_int_list(PLUGIN_NAME, "hidden", merged["hidden"]),
    }
    factor = 2 ** len(resolved["channels"])
    _, height, width = resolved["image_shape"]
    if height % factor or width % factor:
        raise image_size_error(
            PLUGIN_NAME,
            resolved["image_shape"],
            f"height and width must be multiples of {factor} for {len(resolved['channels'])} stride-2 convolutions",
            "[1, 64, 64]",
        )
    return resolved


class ConvVAE(BernoulliVAE):
    """Stride-2 convolutions -> fully connected -> [mean, logvar]; the decoder is the transpose."""

    def __init__(self, config: dict[str, Any]) -> None:
        config = resolve_config(config)
        image_channels, height, width = config["image_shape"]
        channels = [image_channels, *config["channels"]]
        factor = 2 ** len(config["channels"])
        feature_shape = (channels[-1], height // factor, width // factor)
        feature_size = feature_shape[0] * feature_shape[1] * feature_shape[2]
        fully_connected = [feature_size, *config["hidden"]]

        encoder_layers: list[nn.Module] = []
        for channels_in, channels_out in zip(channels[:-1], channels[1:]):
            encoder_layers += [halving_conv(channels_in, channels_out), nn.ReLU()]
        encoder = nn.Sequential(
            *encoder_layers,
            nn.Flatten(),
            *mlp_layers(fully_connected, nn.ReLU),
            nn.ReLU(),
            nn.Linear(fully_connected[-1], 2 * config["latent_dim"]),
        )

        decoder_layers: list[nn.Module] = [
            *mlp_layers([config["latent_dim"], *reversed(fully_connected)], nn.ReLU),
            nn.ReLU(),
            nn.Unflatten(1, feature_shape),
        ]
        reversed_channels = channels[::-1]
        for channels_in, channels_out in zip(reversed_channels[:-1], reversed_channels[1:]):
            decoder_layers += [doubling_conv(channels_in, channels_out), nn.ReLU()]
        decoder = nn.Sequential(*decoder_layers[:-1])  # no ReLU on the pixel logits
        super().__init__(config, encoder, decoder)


def build(config: dict[str, Any]) -> ConvVAE:
    """The plugin factory: a :class:`ConvVAE` from a (possibly partial) config."""
    return ConvVAE(config)
