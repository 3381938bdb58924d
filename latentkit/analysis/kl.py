"""KL divergence of a diagonal Gaussian posterior from the standard normal prior.

Per dimension, closed form (Kingma & Welling 2014, appendix B)::

    KL(N(μ, σ²) ‖ N(0, 1)) = ½ (μ² + σ² − 1 − log σ²)

with σ² = exp(logvar). Averaged over the data it says how many nats each latent
dimension carries; a dimension whose average KL is ~0 has collapsed to the prior.

References: D. P. Kingma, M. Welling, "Auto-Encoding Variational Bayes", ICLR 2014.
"""

from __future__ import annotations

import numpy as np


def gaussian_kl(mean: np.ndarray, logvar: np.ndarray) -> np.ndarray:
    """Elementwise KL(N(mean, exp(logvar)) ‖ N(0, 1)) in nats, same shape as the inputs."""
    mean = np.asarray(mean, dtype=np.float64)
    logvar = np.asarray(logvar, dtype=np.float64)
    return 0.5 * (mean**2 + np.exp(logvar) - 1.0 - logvar)


def per_dimension_kl(mean: np.ndarray, logvar: np.ndarray) -> np.ndarray:
    """KL of each latent dimension averaged over the rows: (N, D) → (D,)."""
    return gaussian_kl(mean, logvar).mean(axis=0)


def kl_share(per_dim: np.ndarray) -> np.ndarray:
    """Each dimension's share of the total KL (sums to 1; all zeros when the total is 0)."""
    per_dim = np.asarray(per_dim, dtype=np.float64)
    total = per_dim.sum()
    if total <= 0:
        return np.zeros_like(per_dim)
    return per_dim / total
