"""Active units (Burda, Grosse & Salakhutdinov 2016).

Dimension i is *active* when the posterior mean moves with the input::

    A_i = Cov_x( E_{q(z|x)}[z_i] ) > threshold   (threshold 0.01 in the paper)

The variance is taken over the data set (population variance, ddof = 0). A
dimension that is not active is *collapsed*: the encoder ignores the input there.

References: Y. Burda, R. Grosse, R. Salakhutdinov, "Importance Weighted
Autoencoders", ICLR 2016 (arXiv:1509.00519, 2015), section 5.2.
"""

from __future__ import annotations

import numpy as np

from latentkit.defaults import ACTIVE_THRESHOLD


def active_mask(mean_variance: np.ndarray, threshold: float = ACTIVE_THRESHOLD) -> np.ndarray:
    """Boolean mask of active dimensions from the per-dimension variance of posterior means."""
    return np.asarray(mean_variance, dtype=np.float64) > threshold


def active_units(posterior_means: np.ndarray, threshold: float = ACTIVE_THRESHOLD) -> int:
    """Number of active units from posterior means of shape (N, D)."""
    means = np.asarray(posterior_means, dtype=np.float64)
    return int(active_mask(means.var(axis=0), threshold).sum())
