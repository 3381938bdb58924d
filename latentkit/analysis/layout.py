"""How one item's latent code is laid out: channels first, then positions.

A VAE's latent for one item may be a flat vector (D,) or a tensor such as
(C, H, W) for a convolutional autoencoder (diffusers' ``AutoencoderKL``), or
(C, L) for audio. latentkit treats the first axis as *channels* and every
further axis as *positions*; a flat vector has D channels of one position each.
Codes cross module boundaries flattened in C order, so element ``c * P + p`` is
channel ``c`` at position ``p`` (P positions per channel), and a flat model's
codes are unchanged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class LatentLayout:
    """The shape of one item's latent, channels first (``(D,)`` for a flat code)."""

    shape: tuple[int, ...]

    def __post_init__(self) -> None:
        shape = tuple(int(s) for s in self.shape)
        if not shape or any(s < 1 for s in shape):
            raise ValueError(f"a latent shape needs at least one axis and positive sizes, got {list(shape)}")
        object.__setattr__(self, "shape", shape)

    @classmethod
    def flat(cls, dim: int) -> LatentLayout:
        return cls((int(dim),))

    @property
    def kind(self) -> str:
        """``"flat"`` for a vector, ``"spatial"`` for any shape with positions."""
        return "flat" if len(self.shape) == 1 else "spatial"

    @property
    def channels(self) -> int:
        return self.shape[0]

    @property
    def spatial_shape(self) -> tuple[int, ...]:
        """The positions' shape: ``(H, W)`` for (C, H, W), ``()`` for a flat code."""
        return self.shape[1:]

    @property
    def positions(self) -> int:
        return math.prod(self.shape[1:])

    @property
    def size(self) -> int:
        """Number of latent values per item (C · P)."""
        return math.prod(self.shape)

    def _by_channel(self, values: np.ndarray) -> np.ndarray:
        values = np.asarray(values)
        if values.shape[-1] != self.size:
            raise ValueError(f"expected a last axis of {self.size} latent values, got {values.shape}")
        return values.reshape(*values.shape[:-1], self.channels, self.positions)

    def channel_sum(self, values: np.ndarray) -> np.ndarray:
        """Sum over each channel's positions: (..., C·P) → (..., C)."""
        return self._by_channel(values).sum(axis=-1)

    def channel_mean(self, values: np.ndarray) -> np.ndarray:
        """Mean over each channel's positions: (..., C·P) → (..., C)."""
        return self._by_channel(values).mean(axis=-1)

    def channel_values(self, values: np.ndarray, channel: int) -> np.ndarray:
        """One channel's values at every position: (..., C·P) → (..., P)."""
        return self._by_channel(values)[..., channel, :]

    def channel_directions(self) -> np.ndarray:
        """(C, C·P) indicator rows: adding row ``c`` shifts every position of channel ``c`` by one."""
        return np.repeat(np.eye(self.channels), self.positions, axis=1)

    def per_position(self, values: np.ndarray) -> np.ndarray:
        """Per-element values (C·P,) as one 2-D map per channel, (C, rows, cols).

        (C, H, W) gives (C, H, W); (C, L) gives (C, 1, L); more spatial axes are
        folded into the columns; a flat code gives (C, 1, 1).
        """
        values = self._by_channel(np.asarray(values))
        spatial = self.spatial_shape
        rows = spatial[0] if len(spatial) >= 2 else 1
        return values.reshape(self.channels, rows, self.positions // rows)

    def to_document(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "latent_shape": list(self.shape),
            "channel_axis": 0,
            "channels": self.channels,
            "positions": self.positions,
        }
