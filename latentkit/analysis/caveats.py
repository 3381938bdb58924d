"""Caveats: plain sentences for what a figure or a number cannot support.

Each function returns ``None`` when there is nothing to say. Figures draw the
caveats and store them in their metadata; commands print them and put them in
their JSON (``caveats``).
"""

from __future__ import annotations

import numpy as np

from latentkit.defaults import (
    ACTIVE_THRESHOLD,
    ACTIVITY_MIN_N,
    ACTIVITY_UNDECIDED_SE,
    IDENTICAL_PIXEL_RANGE,
    TRUSTWORTHINESS_WARN,
)


def variance_standard_error(variance: np.ndarray, n: int) -> np.ndarray:
    """Standard error of a sample variance of n Gaussian values: σ² √(2 / (n − 1)) (inf for n < 2)."""
    variance = np.asarray(variance, dtype=np.float64)
    if n < 2:
        return np.full_like(variance, np.inf)
    return variance * np.sqrt(2.0 / (n - 1))


def undecided_dimensions(variance: np.ndarray, n: int, threshold: float = ACTIVE_THRESHOLD) -> np.ndarray:
    """Mask of dimensions whose Var(μ) lies within ``ACTIVITY_UNDECIDED_SE`` standard errors of ``threshold``."""
    variance = np.asarray(variance, dtype=np.float64)
    se = variance_standard_error(variance, n)
    return np.abs(variance - threshold) <= ACTIVITY_UNDECIDED_SE * se


def collapsed_model(active_count: int, dim: int, threshold: float = ACTIVE_THRESHOLD) -> str | None:
    """The model has no active dimension: whatever structure a picture shows, the codes barely move."""
    if active_count > 0:
        return None
    return (
        f"collapsed model: none of the {dim} latent dimensions is active (Var(μ) ≤ {threshold:g}); "
        "the codes barely move with the input, so any structure shown here is not information the model carries"
    )


def small_sample(n: int, minimum: int = ACTIVITY_MIN_N, what: str = "points") -> str | None:
    """Too few points to decide which dimensions are active."""
    if n >= minimum:
        return None
    return (
        f"tiny sample: n = {n} {what} are too few to judge which dimensions are active "
        f"(need ≥ {minimum}); the active/collapsed labels here are not reliable"
    )


def identical_cells(images: np.ndarray, tolerance: float = IDENTICAL_PIXEL_RANGE) -> bool:
    """True when all (…, C, H, W) ``images`` differ by less than ``tolerance`` in every pixel."""
    images = np.asarray(images, dtype=np.float64)
    if images.ndim < 4 or images.size == 0:
        return False
    cells = images.reshape(-1, *images.shape[-3:])
    return bool((cells.max(axis=0) - cells.min(axis=0)).max() < tolerance)


def constant_rows(images: np.ndarray, tolerance: float = IDENTICAL_PIXEL_RANGE) -> np.ndarray:
    """Per row of (rows, steps, C, H, W) ``images``: whether the row's cells all look the same."""
    images = np.asarray(images, dtype=np.float64)
    spread = images.max(axis=1) - images.min(axis=1)  # (rows, C, H, W)
    return spread.reshape(len(images), -1).max(axis=1) < tolerance


def identical_cells_caveat(images: np.ndarray) -> str | None:
    """Every decoded cell looks the same (within one 8-bit grey level)."""
    if not identical_cells(images):
        return None
    count = int(np.prod(np.shape(images)[:-3]))
    return (
        f"identical cells: all {count} decoded images are the same to within one grey level; "
        "the decoder ignores these codes, so the grid shows nothing about the latent space"
    )


def low_trustworthiness(trust: float, method: str, warn: float = TRUSTWORTHINESS_WARN) -> str | None:
    """The 2-D picture invents neighbourhoods."""
    if trust >= warn:
        return None
    why = "two linear components miss the rest" if method == "pca" else "compare with --method pca"
    return (
        f"low trustworthiness: {trust:.3f} < {warn:g}; some neighbourhoods in the picture are not "
        f"neighbourhoods of the projected points, do not read clusters into it ({why})"
    )
