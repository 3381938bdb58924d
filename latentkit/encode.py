"""Run a VAE's encoder over a data source in batches, keeping mergeable statistics.

One streaming pass: each batch's posterior means and variances fold into
float64 :class:`~latentkit.analysis.moments.RunningMoments`, so memory does not
grow with the data and statistics from shards merge to rounding error.
Posterior means themselves (N × D, small) are kept only when asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from latentkit.analysis.kl import gaussian_kl
from latentkit.allocator import retain_freed_memory
from latentkit.analysis.moments import RunningMoments
from latentkit.errors import LatentkitError

Progress = Callable[[int], None]  # called with the number of items just processed


@dataclass
class PosteriorStats:
    """Mergeable per-dimension statistics of q(z|x) over a data set.

    ``mean`` holds moments of the posterior means μ(x) (their variance over the
    data gives active units), ``variance`` of σ²(x), and ``kl`` of the
    per-dimension KL terms (their mean is the average KL, their standard error
    its Monte Carlo-free uncertainty over the data).
    """

    mean: RunningMoments
    variance: RunningMoments
    kl: RunningMoments

    @classmethod
    def empty(cls, dim: int) -> PosteriorStats:
        return cls(RunningMoments(dim), RunningMoments(dim), RunningMoments(dim))

    @property
    def count(self) -> int:
        return self.mean.count

    def update(self, mu: np.ndarray, logvar: np.ndarray) -> None:
        self.mean.update(mu)
        self.variance.update(np.exp(np.asarray(logvar, dtype=np.float64)))
        self.kl.update(gaussian_kl(mu, logvar))

    def merge(self, other: PosteriorStats) -> PosteriorStats:
        self.mean.merge(other.mean)
        self.variance.merge(other.variance)
        self.kl.merge(other.kl)
        return self


@dataclass
class EncodeResult:
    stats: PosteriorStats
    means: np.ndarray | None  # (N, D) float32 posterior means, when kept
    index: np.ndarray | None  # (N,) positions in the source, when kept


def _to_device_batch(x: np.ndarray, device: Any) -> Any:
    import torch

    return torch.from_numpy(np.ascontiguousarray(x)).to(device)


def _check_outputs(mu: np.ndarray, logvar: np.ndarray, latent_dim: int, first_index: int) -> None:
    if mu.ndim != 2 or mu.shape != logvar.shape or mu.shape[1] != latent_dim:
        raise LatentkitError(
            f"the encoder returned mean {list(mu.shape)} and logvar {list(logvar.shape)}; "
            f"expected two (batch, {latent_dim}) arrays",
            fix="make the plugin's encode(x) return (mean, logvar) of shape (batch, latent_dim)",
        )
    bad = ~(np.isfinite(mu).all(axis=0) & np.isfinite(logvar).all(axis=0))
    if bad.any():
        dims = ", ".join(str(d) for d in np.flatnonzero(bad)[:10])
        raise LatentkitError(
            f"the encoder returned NaN or inf in latent dimension(s) {dims} (batch starting at row {first_index})",
            fix="check the input data's range and the model's weights (a diverged training run?)",
        )


def _encode_batch(model: Any, x: np.ndarray, device: str, first_index: int) -> tuple[np.ndarray, np.ndarray]:
    """(mean, logvar) of one batch as float64 numpy, checked; call under inference mode."""
    import torch

    try:
        mu_t, logvar_t = model.encode(_to_device_batch(x, device))
    except (RuntimeError, ValueError) as exc:
        raise LatentkitError(
            f"the model cannot take data of shape {list(x.shape[1:])}: {str(exc).splitlines()[0]}",
            fix="use data the model was trained on (see `latentkit info` for its image_shape)",
        ) from exc
    mu = mu_t.detach().to("cpu", torch.float64).numpy()
    logvar = logvar_t.detach().to("cpu", torch.float64).numpy()
    _check_outputs(mu, logvar, int(model.latent_dim), first_index)
    return mu, logvar


def posterior_means(model: Any, images: np.ndarray, *, batch_size: int, device: str = "cpu") -> np.ndarray:
    """Posterior means μ(x) of an in-memory batch of images, encoded ``batch_size`` at a time."""
    import torch

    retain_freed_memory()
    out = np.empty((len(images), int(model.latent_dim)), dtype=np.float32)
    with torch.inference_mode():
        for start in range(0, len(images), batch_size):
            mu, _ = _encode_batch(model, images[start : start + batch_size], device, start)
            out[start : start + len(mu)] = mu
    return out


def encode_rows(
    model: Any,
    source: Any,
    rows: np.ndarray,
    *,
    batch_size: int,
    device: str = "cpu",
    progress: Progress | None = None,
) -> np.ndarray:
    """Posterior means E[z|x] of ``source``'s rows ``rows`` (any order, repeats allowed): (len(rows), D)."""
    from latentkit.data.source import Subset

    rows = np.asarray(rows, dtype=np.int64)
    unique, inverse = np.unique(rows, return_inverse=True)
    result = encode_posterior(
        model, Subset(source, unique), batch_size=batch_size, device=device, keep_means=True, progress=progress
    )
    assert result.means is not None
    return result.means[inverse]


def encode_posterior(
    model: Any,
    source: Any,
    *,
    batch_size: int,
    device: str = "cpu",
    keep_means: bool = False,
    progress: Progress | None = None,
) -> EncodeResult:
    """Encode every item of ``source`` with ``model.encode`` under ``torch.inference_mode``."""
    import torch

    if len(source) == 0:
        raise LatentkitError("the data set is empty", fix="pass --data with at least one item")
    if batch_size < 1:
        raise LatentkitError(f"batch size {batch_size} is not positive", fix="pass --batch-size 1 or more")
    retain_freed_memory()
    latent_dim = int(model.latent_dim)
    stats = PosteriorStats.empty(latent_dim)
    means: list[np.ndarray] = []
    indices: list[np.ndarray] = []
    with torch.inference_mode():
        for batch in source.batches(batch_size):
            mu, logvar = _encode_batch(model, batch.x, device, int(batch.index[0]))
            stats.update(mu, logvar)
            if keep_means:
                means.append(mu.astype(np.float32))
                indices.append(batch.index)
            if progress is not None:
                progress(len(batch.index))
    return EncodeResult(
        stats=stats,
        means=np.concatenate(means) if keep_means else None,
        index=np.concatenate(indices) if keep_means else None,
    )


@dataclass
class EncodedRows:
    """One encoding pass over chosen rows of a source: the rows, their posterior means, the statistics."""

    rows: np.ndarray  # (n,) int64 rows of the source, sorted
    means: np.ndarray  # (n, D) float32 posterior means, in the order of ``rows``
    stats: PosteriorStats


def encode_subset(
    model: Any,
    source: Any,
    rows: np.ndarray,
    *,
    batch_size: int,
    device: str = "cpu",
    progress: Progress | None = None,
) -> EncodedRows:
    """Encode ``source``'s sorted ``rows`` once, keeping the means and the streaming statistics."""
    from latentkit.data.source import Subset

    rows = np.asarray(rows, dtype=np.int64)
    subset = source if len(rows) == len(source) and np.array_equal(rows, np.arange(len(source))) else Subset(source, rows)
    result = encode_posterior(model, subset, batch_size=batch_size, device=device, keep_means=True, progress=progress)
    assert result.means is not None
    return EncodedRows(rows=rows, means=result.means, stats=result.stats)


class CodeBank:
    """Encode once, analyse many: serves posterior means of rows already encoded.

    Commands given a bank ask it before running the encoder. :meth:`posterior`
    answers for exactly the bank's rows (means and statistics); :meth:`means_of`
    for any rows, encoding the few the bank lacks (counted in ``extra_rows``).
    """

    def __init__(self, model: Any, source: Any, encoded: EncodedRows, *, batch_size: int, device: str) -> None:
        self.model = model
        self.source = source
        self.encoded = encoded
        self.batch_size = batch_size
        self.device = device
        self.extra_rows = 0

    def posterior(self, rows: np.ndarray) -> EncodeResult | None:
        """Means and statistics of ``rows`` when they are the bank's rows, else None."""
        rows = np.asarray(rows, dtype=np.int64)
        if not np.array_equal(rows, self.encoded.rows):
            return None
        return EncodeResult(stats=self.encoded.stats, means=self.encoded.means, index=np.arange(len(rows)))

    def means_of(self, rows: np.ndarray, progress: Progress | None = None) -> np.ndarray:
        """Posterior means of ``rows`` (any order, repeats allowed): (len(rows), D) float32."""
        rows = np.asarray(rows, dtype=np.int64)
        known = self.encoded.rows
        position = np.clip(np.searchsorted(known, rows), 0, max(len(known) - 1, 0))
        found = known[position] == rows if len(known) else np.zeros(len(rows), bool)
        out = np.empty((len(rows), self.encoded.means.shape[1]), dtype=np.float32)
        out[found] = self.encoded.means[position[found]]
        if progress is not None and found.any():
            progress(int(found.sum()))
        if not found.all():
            missing = rows[~found]
            self.extra_rows += int(np.unique(missing).size)
            out[~found] = encode_rows(
                self.model, self.source, missing, batch_size=self.batch_size, device=self.device, progress=progress
            )
        return out
