"""Numbers that compare paths through latent space: where they run, how smoothly they decode.

* :func:`prior_norm`, :func:`path_norms`: how far from the origin a path runs,
  against the typical norm √d of a code drawn from the prior N(0, I_d) (the
  norm concentrates there: E‖z‖² = d). Lerp between two typical codes dips
  well inside that sphere; slerp does not (White 2016).
* :func:`step_differences`, :func:`path_smoothness`: how much the decoded output
  changes between consecutive steps, in pixel space (images in [0, 1]), so
  paths can be compared by number, not only by eye.
* :func:`finite_difference_sensitivity`: how strongly a decoder responds to a
  change of one latent dimension.

All pure numpy: arrays in, arrays out, float64.

References: T. White, "Sampling Generative Networks", arXiv:1609.04468, 2016.
"""

from __future__ import annotations

import math

import numpy as np


def prior_norm(latent_dim: int) -> float:
    """√d, the typical norm of z ~ N(0, I_d) (E‖z‖² = d; ‖z‖ concentrates around √d)."""
    if latent_dim < 1:
        raise ValueError(f"latent_dim must be at least 1, got {latent_dim}")
    return math.sqrt(latent_dim)


def path_norms(codes: np.ndarray) -> np.ndarray:
    """‖z‖ of every code on the paths: ``codes`` (..., S, D) -> (..., S), float64."""
    return np.linalg.norm(np.asarray(codes, dtype=np.float64), axis=-1)


def step_differences(images: np.ndarray) -> np.ndarray:
    """Mean squared pixel difference between consecutive steps of each path.

    ``images`` (..., S, C, H, W) (any trailing image shape after the step axis
    at position -4) -> (..., S − 1): for step s, mean over pixels of
    (x_{s+1} − x_s)², in the images' own units (pixel values in [0, 1]).
    """
    x = np.asarray(images, dtype=np.float64)
    if x.ndim < 4 or x.shape[-4] < 2:
        raise ValueError(f"images must have shape (..., S, C, H, W) with S ≥ 2, got {x.shape}")
    diff = np.diff(x, axis=-4)
    return (diff**2).mean(axis=(-3, -2, -1))


def path_smoothness(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and maximum over each path of :func:`step_differences`: (..., ) each.

    A smooth path spreads its change evenly (max ≈ mean); a jump shows as a
    max well above the mean.
    """
    steps = step_differences(images)
    return steps.mean(axis=-1), steps.max(axis=-1)


def finite_difference_sensitivity(plus: np.ndarray, minus: np.ndarray, step: float) -> float:
    """Mean squared change of the output per unit change of one input, by central differences.

    ``plus``/``minus`` (N, ...) are the outputs at z + h·e_i and z − h·e_i for N
    base codes z; returns mean over codes and pixels of ((plus − minus) / 2h)²,
    the squared directional derivative of the decoder along e_i, averaged.
    """
    if not step > 0:
        raise ValueError(f"step must be positive, got {step}")
    plus = np.asarray(plus, dtype=np.float64)
    minus = np.asarray(minus, dtype=np.float64)
    if plus.shape != minus.shape or plus.size == 0:
        raise ValueError(f"plus and minus must be non-empty arrays of one shape, got {plus.shape} and {minus.shape}")
    return float((((plus - minus) / (2.0 * step)) ** 2).mean())
