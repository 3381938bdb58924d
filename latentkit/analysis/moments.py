"""Streaming, mergeable mean and variance (float64), one value per dimension.

Batches update a :class:`RunningMoments`; moments computed on separate shards
merge exactly (to rounding error) with :meth:`RunningMoments.merge`, so a pass
over data of any size keeps O(D) memory.

The pairwise update is Chan, Golub & LeVeque's::

    n = n_a + n_b,  δ = mean_b − mean_a
    mean = mean_a + δ · n_b / n
    M2 = M2_a + M2_b + δ² · n_a · n_b / n

References: T. F. Chan, G. H. Golub, R. J. LeVeque, "Updating formulae and a
pairwise algorithm for computing sample variances", Stanford STAN-CS-79-773 (1979).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class RunningMoments:
    """Count, mean and sum of squared deviations (M2) of a stream of (B, D) rows."""

    dim: int
    count: int = 0
    mean: np.ndarray = field(default=None)  # type: ignore[assignment]
    m2: np.ndarray = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.mean is None:
            self.mean = np.zeros(self.dim, dtype=np.float64)
        if self.m2 is None:
            self.m2 = np.zeros(self.dim, dtype=np.float64)

    def update(self, rows: np.ndarray) -> None:
        """Fold a batch of rows (B, D) into the moments."""
        rows = np.asarray(rows, dtype=np.float64)
        if rows.ndim != 2 or rows.shape[1] != self.dim:
            raise ValueError(f"expected rows of shape (B, {self.dim}), got {rows.shape}")
        if rows.shape[0] == 0:
            return
        batch = RunningMoments(
            self.dim,
            count=rows.shape[0],
            mean=rows.mean(axis=0),
            m2=((rows - rows.mean(axis=0)) ** 2).sum(axis=0),
        )
        self.merge(batch)

    def merge(self, other: RunningMoments) -> RunningMoments:
        """Fold ``other`` (moments of a disjoint shard) into ``self``; returns ``self``."""
        if other.dim != self.dim:
            raise ValueError(f"cannot merge moments of dimension {other.dim} into {self.dim}")
        if other.count == 0:
            return self
        if self.count == 0:
            self.count, self.mean, self.m2 = other.count, other.mean.copy(), other.m2.copy()
            return self
        n = self.count + other.count
        delta = other.mean - self.mean
        self.mean = self.mean + delta * (other.count / n)
        self.m2 = self.m2 + other.m2 + delta**2 * (self.count * other.count / n)
        self.count = n
        return self

    def variance(self, ddof: int = 0) -> np.ndarray:
        """Per-dimension variance; ``ddof=0`` is the population variance over the stream."""
        if self.count - ddof <= 0:
            return np.full(self.dim, np.nan)
        return self.m2 / (self.count - ddof)

    def standard_error(self) -> np.ndarray:
        """Standard error of the mean, sqrt(var_{ddof=1} / n)."""
        return np.sqrt(self.variance(ddof=1) / self.count)
