"""What ``report`` opens once and hands to every analysis: encode once, analyse many times.

A command given a :class:`Prepared` takes its checkpoint and data from it and
asks its :class:`~latentkit.encode.CodeBank` for posterior means before running
the encoder, so several analyses share one checkpoint load and one encoding
pass. Without one, a command opens and encodes what it needs itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class Prepared:
    checkpoint: Any  # a loaded latentkit.models.checkpoint.Checkpoint
    source: Any | None  # the whole data source (None: a GAN analysed without data)
    bank: Any | None  # CodeBank of the encoded rows (None for a GAN)

    @classmethod
    def encode(
        cls,
        checkpoint: Any,
        source: Any,
        rows: np.ndarray,
        *,
        seed: int,
        batch_size: int,
        device: str,
        progress: Callable[[int], None] | None = None,
        store: Callable[[Callable[[], Any]], Any] | None = None,
    ) -> Prepared:
        """The one encoding pass over ``source``'s sorted ``rows`` (posterior samples seeded with ``seed``,
        as kl-report draws them). ``store(encode)`` may answer instead of ``encode()`` (a codes cache)."""
        from latentkit.encode import CodeBank, encode_subset

        def encode() -> Any:
            return encode_subset(
                checkpoint.model, source, rows, batch_size=batch_size, device=device, sample_seed=seed, progress=progress
            )

        encoded = encode() if store is None else store(encode)
        return cls(checkpoint, source, CodeBank(checkpoint.model, source, encoded, batch_size=batch_size, device=device))

    def rows_of(self, source: Any) -> np.ndarray | None:
        """The rows of the whole source that ``source`` holds (it, or a Subset of it), else None."""
        if source is self.source:
            return np.arange(len(source), dtype=np.int64)
        if getattr(source, "source", None) is self.source:
            return np.asarray(source.indices, dtype=np.int64)
        return None

    def posterior(self, source: Any) -> Any | None:
        """An EncodeResult (means and statistics) for ``source`` when the bank holds exactly its rows."""
        rows = self.rows_of(source)
        if self.bank is None or rows is None:
            return None
        return self.bank.posterior(rows)

    def codes_of(
        self, rows: np.ndarray, *, spatial: str = "flatten", progress: Callable[[int], None] | None = None
    ) -> tuple[np.ndarray, Any]:
        """Posterior means of rows of the whole source and their layout, as ``encode_codes`` gives them."""
        return self.bank.codes_of(rows, spatial=spatial, progress=progress)
