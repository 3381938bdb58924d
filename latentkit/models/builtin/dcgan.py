"""The DCGAN of Radford et al. 2016: a generator of transposed convolutions with
batch norm and ReLU, a tanh output, and a mirrored discriminator of stride-2
convolutions with LeakyReLU(0.2); weights drawn from N(0, 0.02).

The generator projects z to a 4x4 map of ``feature_maps * 2**(k-1)`` channels
and doubles the size k times, halving the channels, up to the image (for 64x64
and the default 32: 256 -> 128 -> 64 -> 32 -> C channels). Only the generator
is the plugin's module (and the checkpoint); the discriminator is built for
training only.

Config (every key optional; :data:`DEFAULT_CONFIG` fills the rest):

``image_shape``   ``[C, H, W]``, default ``[1, 64, 64]``; square, with H a power of
                  two from 8 to 256
``latent_dim``    size of z, default 64
``feature_maps``  channels of the last generator (first discriminator) layer,
                  default 32: half the reference implementation's 64, 3.4x faster
                  to train on a CPU (0.95M instead of 3.3M generator weights)
"""

from __future__ import annotations

import math
from typing import Any

from torch import nn

from latentkit.models.builtin import DCGAN
from latentkit.models.builtin._config import (
    image_shape,
    image_size_error,
    merge_with_defaults,
    positive_int,
)
from latentkit.models.builtin._modules import ImageDiscriminator, ImageGenerator, doubling_conv, halving_conv

PLUGIN_NAME = "dcgan"
DEFAULT_CONFIG: dict[str, Any] = DCGAN.example_config  # one place: the plugin declares it
LEAKY_SLOPE = 0.2
SMALLEST_SIZE, LARGEST_SIZE = 8, 256
INIT_STD = 0.02


def resolve_config(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` checked and completed with :data:`DEFAULT_CONFIG`."""
    merged = merge_with_defaults(PLUGIN_NAME, config, DEFAULT_CONFIG)
    resolved = {
        "image_shape": image_shape(PLUGIN_NAME, merged["image_shape"]),
        "latent_dim": positive_int(PLUGIN_NAME, "latent_dim", merged["latent_dim"]),
        "feature_maps": positive_int(PLUGIN_NAME, "feature_maps", merged["feature_maps"]),
    }
    _, height, width = resolved["image_shape"]
    if height != width or height & (height - 1) or not SMALLEST_SIZE <= height <= LARGEST_SIZE:
        raise image_size_error(
            PLUGIN_NAME,
            resolved["image_shape"],
            f"images must be square with a power-of-two size from {SMALLEST_SIZE} to {LARGEST_SIZE}",
            "[1, 64, 64] or [3, 32, 32]",
        )
    return resolved


def _layer_channels(config: dict[str, Any]) -> list[int]:
    """Channels at 4x4, 8x8, ... up to half the image size (generator order)."""
    doublings = int(math.log2(config["image_shape"][1])) - 2
    return [config["feature_maps"] * 2 ** (doublings - 1 - i) for i in range(doublings)]


def _init_weights(module: nn.Module) -> None:
    """Radford et al. 2016: conv weights ~ N(0, 0.02), batch-norm scales ~ N(1, 0.02)."""
    for layer in module.modules():
        if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(layer.weight, 0.0, INIT_STD)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
        elif isinstance(layer, nn.BatchNorm2d):
            nn.init.normal_(layer.weight, 1.0, INIT_STD)
            nn.init.zeros_(layer.bias)


class DCGANGenerator(ImageGenerator):
    """z -> 4x4 projection -> (transposed conv, batch norm, ReLU) x k -> pre-tanh image."""

    def __init__(self, config: dict[str, Any]) -> None:
        config = resolve_config(config)
        channels = _layer_channels(config)
        layers: list[nn.Module] = [
            nn.Unflatten(1, (config["latent_dim"], 1, 1)),
            nn.ConvTranspose2d(config["latent_dim"], channels[0], kernel_size=4, stride=1, padding=0, bias=False),
            nn.BatchNorm2d(channels[0]),
            nn.ReLU(),
        ]
        for channels_in, channels_out in zip(channels[:-1], channels[1:]):
            layers += [doubling_conv(channels_in, channels_out, bias=False), nn.BatchNorm2d(channels_out), nn.ReLU()]
        layers.append(doubling_conv(channels[-1], config["image_shape"][0]))
        super().__init__(config, nn.Sequential(*layers))
        _init_weights(self)

    def make_discriminator(self) -> ImageDiscriminator:
        return DCGANDiscriminator(self.config)


class DCGANDiscriminator(ImageDiscriminator):
    """Image -> (stride-2 conv, batch norm, LeakyReLU) x k down to 4x4 -> one logit.
    No batch norm on the first layer (Radford et al. 2016)."""

    def __init__(self, config: dict[str, Any]) -> None:
        config = resolve_config(config)
        channels = _layer_channels(config)[::-1]
        layers: list[nn.Module] = [halving_conv(config["image_shape"][0], channels[0]), nn.LeakyReLU(LEAKY_SLOPE)]
        for channels_in, channels_out in zip(channels[:-1], channels[1:]):
            layers += [
                halving_conv(channels_in, channels_out, bias=False),
                nn.BatchNorm2d(channels_out),
                nn.LeakyReLU(LEAKY_SLOPE),
            ]
        layers.append(nn.Conv2d(channels[-1], 1, kernel_size=4, stride=1, padding=0))
        super().__init__(nn.Sequential(*layers))
        _init_weights(self)


def build(config: dict[str, Any]) -> DCGANGenerator:
    """The plugin factory: a :class:`DCGANGenerator` from a (possibly partial) config."""
    return DCGANGenerator(config)
