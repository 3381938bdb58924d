"""A hand-set VAE with a (3, 2, 2) latent (tests/assets/spatial_plugin.py) and data with a known answer.

Every image is 4×4 with four constant 2×2 blocks of 0.25 or 0.75; the 16 block
patterns each appear ``repeats`` times, so at every position the block mean p is
0.25 or 0.75 equally often (E p = 1/2, Var p = 1/16) and independently across
positions. Channel c's posterior is N(w_c p + b_c, exp(logvar_c)).
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np

from tests.conftest import ASSETS

SPATIAL_PLUGIN = ASSETS / "spatial_plugin.py"
WEIGHT = [2.0, -3.0, 0.0]  # channel 2 ignores the input
BIAS = [0.5, -1.0, 0.3]
LOGVAR = [-1.0, 0.5, 0.0]
SPATIAL_CONFIG = {"weight": WEIGHT, "bias": BIAS, "logvar": LOGVAR}


def spatial_images(repeats: int = 4) -> np.ndarray:
    """(16 · repeats, 1, 4, 4) float32 images, every 2×2 block pattern ``repeats`` times."""
    patterns = np.array(list(itertools.product([0.25, 0.75], repeat=4)), dtype=np.float32).reshape(16, 1, 2, 2)
    blocks = np.tile(patterns, (repeats, 1, 1, 1))
    return np.repeat(np.repeat(blocks, 2, axis=2), 2, axis=3)


def spatial_posterior(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean, logvar) of shape (N, 3, 2, 2) in float64, computed with numpy."""
    blocks = images.astype(np.float64).reshape(len(images), 1, 2, 2, 2, 2).mean(axis=(3, 5))  # (N, 1, 2, 2)
    mean = blocks * np.array(WEIGHT)[None, :, None, None] + np.array(BIAS)[None, :, None, None]
    return mean, np.broadcast_to(np.array(LOGVAR)[None, :, None, None], mean.shape)


def write_spatial_checkpoint(folder: Path, config: dict | None = None, repeats: int = 4) -> Path:
    """Write the data (``spatial.npz``) and a checkpoint naming it into ``folder``; return the checkpoint."""
    from latentkit.models.checkpoint import save
    from latentkit.models.registry import PluginRegistry

    images = spatial_images(repeats)
    data = folder / "spatial.npz"
    blocks = images[:, 0, ::2, ::2].reshape(len(images), 4)  # the four block values, as factors 0/1
    np.savez(data, x=images, y=np.arange(len(images)) % 4, factors=(blocks > 0.5).astype(np.int64))
    config = {**SPATIAL_CONFIG, **(config or {})}
    model = PluginRegistry([SPATIAL_PLUGIN]).get("spatial-vae").build(config)
    return save(model, folder / "spatial.safetensors", plugin="spatial-vae", config=config, dataset=str(data))


def spatial_decode(codes: np.ndarray) -> np.ndarray:
    """The plugin's decoder in numpy: flat codes (..., 12) → images (..., 1, 4, 4)."""
    z = np.asarray(codes, dtype=np.float64).reshape(*codes.shape[:-1], 3, 2, 2)
    mixed = z.sum(axis=-3, keepdims=True)  # decoder weights are all 1
    return 1 / (1 + np.exp(-np.repeat(np.repeat(mixed, 2, axis=-2), 2, axis=-1)))
