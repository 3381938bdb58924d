"""Run a model's generator over latent codes in batches, and the codes figure commands start from.

The counterpart of :mod:`latentkit.encode` for the figure commands: decode
(VAE) or generate (GAN) any array of codes to images and draw prior samples
reproducibly. Codes and
images cross this boundary as numpy (float32), so the layers above stay free of
torch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from latentkit.errors import LatentkitError

Progress = Callable[[int], None]


def decode_codes(
    model: Any,
    codes: np.ndarray,
    *,
    batch_size: int,
    device: str = "cpu",
    image_shape: tuple[int, ...] | None = None,
    latent_shape: tuple[int, ...] | None = None,
    progress: Progress | None = None,
) -> np.ndarray:
    """Images of ``codes`` (..., D) through the model's generator view: (..., C, H, W) float32.

    A VAE decodes (the mean image), a GAN generates; any leading shape is kept.
    Codes are flat; each is reshaped to ``latent_shape`` (default the model's
    declared one, see :func:`~latentkit.models.protocols.latent_shape_of`)
    before the model sees it, so spatial latents (C, H, W) decode whole.
    Flat outputs (B, P) are reshaped to ``image_shape`` (C, H, W) when given,
    else to one-pixel-high images (B, 1, 1, P).
    """
    import torch

    from latentkit.models.protocols import as_generator, latent_shape_of, output_array

    if batch_size < 1:
        raise LatentkitError(f"batch size {batch_size} is not positive", fix="pass --batch-size 1 or more")
    generator = as_generator(model)
    codes = np.asarray(codes, dtype=np.float32)
    shape = tuple(latent_shape) if latent_shape is not None else latent_shape_of(model)
    if int(np.prod(shape)) != codes.shape[-1]:
        raise LatentkitError(
            f"codes of {codes.shape[-1]} values do not fit the model's latent shape {list(shape)}",
            fix="give codes of the model's latent size (see `latentkit info`)",
        )
    flat = codes.reshape(-1, codes.shape[-1])
    images: list[np.ndarray] = []
    with torch.inference_mode():
        for start in range(0, len(flat), batch_size):
            chunk = flat[start : start + batch_size]
            z = torch.from_numpy(np.ascontiguousarray(chunk.reshape(len(chunk), *shape))).to(device)
            x = output_array(generator.generate(z), "the decoder", "make decode(z)/generate(z) return images", "float32")
            if x.ndim == 2:  # a flat-image model
                flat_shape = image_shape if image_shape and int(np.prod(image_shape)) == x.shape[1] else (1, 1, -1)
                x = x.reshape(len(x), *flat_shape)
            if x.ndim != 4 or len(x) != len(z):
                raise LatentkitError(
                    f"the model turned {len(z)} codes into an array of shape {list(x.shape)}; expected (B, C, H, W)",
                    fix="make decode(z)/generate(z) return one image per code",
                )
            images.append(x)
            if progress is not None:
                progress(len(z))
    stacked = np.concatenate(images) if images else np.zeros((0, 1, 1, 1), np.float32)
    return stacked.reshape(*codes.shape[:-1], *stacked.shape[1:])


def prior_codes(model: Any, n: int, *, seed: int) -> np.ndarray:
    """``n`` flat codes (n, D) from the model's prior (``sample_latent``), drawn with a CPU generator seeded ``seed``."""
    import torch

    from latentkit.models.protocols import as_generator, output_array

    generator = torch.Generator().manual_seed(seed)
    z = as_generator(model).sample_latent(n, generator)
    fix = "make sample_latent(n, generator) return an (n, *latent_shape) tensor"
    return output_array(z, "sample_latent", fix, "float32").reshape(n, -1)
