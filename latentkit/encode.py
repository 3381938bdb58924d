"""Run a VAE's encoder over a data source in batches, keeping mergeable statistics.

One streaming pass: each batch's posterior means and variances fold into
float64 :class:`~latentkit.analysis.moments.RunningMoments`, so memory does not
grow with the data and statistics from shards merge to rounding error.
Posterior means themselves are kept only when asked for. Latents of any shape
(B, C, H, W, ...) are flattened channels first (see
:class:`~latentkit.analysis.layout.LatentLayout`); the layout comes from the
encoder's output.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from latentkit.analysis.kl import gaussian_kl
from latentkit.allocator import retain_freed_memory
from latentkit.analysis.latent_scale import LatentSampleStats
from latentkit.analysis.layout import LatentLayout
from latentkit.analysis.moments import RunningMoments
from latentkit.defaults import SCALE_SUBSAMPLE, SPATIAL_CODES, WORKERS
from latentkit.errors import LatentkitError

Progress = Callable[[int], None]  # called with the number of items just processed


@dataclass
class PosteriorStats:
    """Mergeable statistics of q(z|x) over a data set, per latent value and per channel.

    Per latent value (C·P, flattened channels first, see
    :class:`~latentkit.analysis.layout.LatentLayout`): ``mean`` holds moments
    of the posterior means μ(x), ``variance`` of σ²(x), ``kl`` of the KL terms
    (its mean per value is the per-position KL map). Per channel, one value per
    row: ``channel_mean`` of μ averaged over the channel's positions (its
    variance over the data gives active channels) and ``channel_kl`` of the KL
    summed over its positions (its mean is the channel's KL, which add up to
    the total). For a flat code each channel is one value and the two views
    agree. ``samples`` (when asked for) holds seeded posterior samples for the
    latent scale.
    """

    layout: LatentLayout
    mean: RunningMoments
    variance: RunningMoments
    kl: RunningMoments
    channel_mean: RunningMoments
    channel_kl: RunningMoments
    samples: LatentSampleStats | None = None

    @classmethod
    def empty(
        cls, layout: LatentLayout | int, *, sample_seed: int | None = None, subsample: int = SCALE_SUBSAMPLE
    ) -> PosteriorStats:
        """Empty statistics; ``sample_seed`` also draws seeded posterior samples (see ``latent_scale``)."""
        if isinstance(layout, int):
            layout = LatentLayout.flat(layout)
        d, c = layout.size, layout.channels
        samples = None if sample_seed is None else LatentSampleStats(layout, sample_seed, subsample)
        return cls(
            layout, RunningMoments(d), RunningMoments(d), RunningMoments(d), RunningMoments(c), RunningMoments(c), samples
        )

    @property
    def count(self) -> int:
        return self.mean.count

    def update(self, mu: np.ndarray, logvar: np.ndarray, rows: np.ndarray | None = None) -> None:
        """Fold a batch of flattened (B, C·P) means and log-variances; ``rows`` are their data indices."""
        kl = gaussian_kl(mu, logvar)
        self.mean.update(mu)
        self.variance.update(np.exp(np.asarray(logvar, dtype=np.float64)))
        self.kl.update(kl)
        self.channel_mean.update(self.layout.channel_mean(np.asarray(mu, dtype=np.float64)))
        self.channel_kl.update(self.layout.channel_sum(kl))
        if self.samples is not None:
            if rows is None:
                raise ValueError("posterior samples need the rows' data indices")
            self.samples.update(mu, logvar, rows)

    def merge(self, other: PosteriorStats) -> PosteriorStats:
        if other.layout != self.layout:
            raise ValueError(f"cannot merge statistics of latents {other.layout.shape} into {self.layout.shape}")
        if (other.samples is None) != (self.samples is None):
            raise ValueError("cannot merge statistics with posterior samples into statistics without")
        self.mean.merge(other.mean)
        self.variance.merge(other.variance)
        self.kl.merge(other.kl)
        self.channel_mean.merge(other.channel_mean)
        self.channel_kl.merge(other.channel_kl)
        if self.samples is not None and other.samples is not None:
            self.samples.merge(other.samples)
        return self


@dataclass
class EncodeResult:
    stats: PosteriorStats
    means: np.ndarray | None  # (N, C·P) or (N, C) float32 posterior means (see ``spatial``), when kept
    index: np.ndarray | None  # (N,) positions in the source, when kept

    @property
    def layout(self) -> LatentLayout:
        return self.stats.layout


def reduce_codes(means: np.ndarray, layout: LatentLayout, spatial: str) -> np.ndarray:
    """Posterior means (N, C·P) as the features a code analysis sees: ``flatten`` keeps every
    value, ``channel-mean`` averages each channel over its positions (N, C); a flat code is unchanged."""
    if spatial not in SPATIAL_CODES:
        raise LatentkitError(f"unknown --spatial {spatial!r}", fix=f"use one of {', '.join(SPATIAL_CODES)}")
    if spatial == "flatten" or layout.kind == "flat":
        return means
    return layout.channel_mean(means).astype(means.dtype, copy=False)


def _to_device_batch(x: Any, device: Any) -> Any:
    import torch

    from latentkit.distributed import local_device

    if isinstance(x, np.ndarray):
        x = torch.from_numpy(np.ascontiguousarray(x))
    return x.to(local_device(device), non_blocking=x.is_pinned())


class _BatchesOf:
    """Batch ``i`` of a source (rows i·B .. (i+1)·B−1) as a torch Dataset item, read in a worker.

    An error a worker meets is handed back as a value and raised in the main
    process as it is (a DataLoader would wrap it in a traceback-laden message).
    """

    def __init__(self, source: Any, batch_size: int) -> None:
        self.source, self.batch_size = source, batch_size

    def __len__(self) -> int:
        return -(-len(self.source) // self.batch_size)

    def __getitem__(self, i: int) -> tuple[Any, np.ndarray] | LatentkitError:
        import torch

        index = np.arange(i * self.batch_size, min((i + 1) * self.batch_size, len(self.source)), dtype=np.int64)
        try:
            return torch.from_numpy(np.ascontiguousarray(self.source.get(index))), index
        except LatentkitError as exc:
            return exc


def _batches(source: Any, batch_size: int, *, workers: int, device: str) -> Any:
    """(images, index) per batch: read here, or by ``workers`` processes ahead of the model.

    With workers, batches are read (``shapes`` rendered, files decoded and scaled)
    in parallel with the encoder, in order; on CUDA they land in pinned memory so
    the copy to the GPU does not block.
    """
    if workers == 0:
        for batch in source.batches(batch_size):
            yield batch.x, batch.index
        return
    import multiprocessing

    from torch.utils.data import DataLoader

    loader = DataLoader(
        _BatchesOf(source, batch_size),
        batch_size=None,  # items are whole batches
        num_workers=workers,
        pin_memory=str(device).startswith("cuda"),
        multiprocessing_context=multiprocessing.get_context("fork") if hasattr(os, "fork") else None,
    )
    for item in loader:
        if isinstance(item, LatentkitError):
            raise item
        yield item


_MAX_ABS_MEAN = 1e100  # μ² summed over many rows stays far below float64's 1.8e308
_MAX_ABS_LOGVAR = 600.0  # e^600 ≈ 4e260, likewise


def _check_outputs(mu: np.ndarray, logvar: np.ndarray, declared: tuple[int, ...], first_index: int) -> None:
    """Shapes agree with the model's declared latent (channels; positions follow the input), values finite.

    A model that declares only ``latent_dim`` may still return a spatial latent
    whose channel count, or whose total size, is ``latent_dim``.
    """
    if len(declared) == 1:
        size = int(np.prod(mu.shape[1:])) if mu.ndim >= 2 else -1
        fits = mu.ndim == 2 and mu.shape[1] == declared[0]
        fits = fits or (mu.ndim > 2 and declared[0] in (mu.shape[1], size))
        expected = f"two (batch, {declared[0]}) or (batch, {declared[0]}, ...) arrays"
    else:
        fits = mu.ndim == 1 + len(declared) and mu.shape[1] == declared[0]
        expected = f"two (batch, {declared[0]}, ...) arrays of {len(declared)} latent axes"
    if not fits or mu.shape != logvar.shape:
        raise LatentkitError(
            f"the encoder returned mean {list(mu.shape)} and logvar {list(logvar.shape)}; expected {expected}",
            fix="make the plugin's encode(x) return (mean, logvar) of shape (batch, *latent_shape), and set its "
            "latent_dim (flat) or latent_shape (channels first) to match",
        )
    finite = np.isfinite(mu) & np.isfinite(logvar)
    bad = ~finite.reshape(len(mu), mu.shape[1], -1).all(axis=(0, 2))
    if bad.any():
        where = "latent dimension(s)" if mu.ndim == 2 else "latent channel(s)"
        dims = ", ".join(str(d) for d in np.flatnonzero(bad)[:10])
        raise LatentkitError(
            f"the encoder returned NaN or inf in {where} {dims} (batch starting at row {first_index})",
            fix="check the input data's range and the model's weights (a diverged training run?)",
        )
    # KL = ½(μ² + e^logvar − 1 − logvar) must stay finite in float64 (and summable over rows).
    extreme = (np.abs(mu) > _MAX_ABS_MEAN) | (np.abs(logvar) > _MAX_ABS_LOGVAR)
    overflow = extreme.reshape(len(mu), mu.shape[1], -1).any(axis=(0, 2))
    if overflow.any():
        where = "latent dimension(s)" if mu.ndim == 2 else "latent channel(s)"
        dims = ", ".join(str(d) for d in np.flatnonzero(overflow)[:10])
        raise LatentkitError(
            f"the encoder returned means beyond ±{_MAX_ABS_MEAN:.0e} or log-variances beyond ±{_MAX_ABS_LOGVAR:g} "
            f"in {where} {dims} (batch starting at row {first_index}): the KL would overflow",
            fix="check the model's weights and the input's range (a diverged training run?)",
        )


def _encode_batch(model: Any, x: np.ndarray, device: str, first_index: int) -> tuple[np.ndarray, np.ndarray]:
    """(mean, logvar) of one batch as float64 numpy (B, *latent_shape), checked; call under inference mode."""
    from latentkit.models.protocols import latent_shape_of, output_array

    try:
        encoded = model.encode(_to_device_batch(x, device))
    except (RuntimeError, ValueError) as exc:
        raise LatentkitError(
            f"the model cannot take data of shape {list(x.shape[1:])}: {str(exc).splitlines()[0]}",
            fix="use data the model was trained on (see `latentkit info` for its image_shape)",
        ) from exc
    fix = "make the plugin's encode(x) return (mean, logvar) of shape (batch, *latent_shape)"
    if not isinstance(encoded, (tuple, list)) or len(encoded) != 2:
        raise LatentkitError(f"the encoder returned {type(encoded).__name__}, not a (mean, logvar) pair", fix=fix)
    mu = output_array(encoded[0], "the encoder", fix)
    logvar = output_array(encoded[1], "the encoder", fix)
    _check_outputs(mu, logvar, latent_shape_of(model), first_index)
    return mu, logvar


def root_rows(source: Any, index: np.ndarray) -> np.ndarray:
    """Rows of the underlying data set that ``source``'s positions ``index`` are (through any
    :class:`~latentkit.data.source.Subset`), so seeded draws follow the data row, not the shard."""
    index = np.asarray(index, dtype=np.int64)
    while isinstance(getattr(source, "indices", None), np.ndarray) and hasattr(source, "source"):
        index, source = source.indices[index], source.source
    return index


def _same_layout(layout: LatentLayout | None, mu: np.ndarray) -> LatentLayout:
    found = LatentLayout(mu.shape[1:])
    if layout is not None and found != layout:
        raise LatentkitError(
            f"the encoder returned latents of shape {list(found.shape)} after {list(layout.shape)} for earlier rows",
            fix="use data whose items all have the same size",
        )
    return found


def encode_rows(
    model: Any,
    source: Any,
    rows: np.ndarray,
    *,
    batch_size: int,
    device: str = "cpu",
    spatial: str = "flatten",
    progress: Progress | None = None,
) -> np.ndarray:
    """Posterior means E[z|x] of ``source``'s rows ``rows`` (any order, repeats allowed).

    (len(rows), C·P) flattened, or (len(rows), C) with ``spatial="channel-mean"``.
    """
    codes, _ = encode_codes(model, source, rows, batch_size=batch_size, device=device, spatial=spatial, progress=progress)
    return codes


def encode_codes(
    model: Any,
    source: Any,
    rows: np.ndarray,
    *,
    batch_size: int,
    device: str = "cpu",
    spatial: str = "flatten",
    progress: Progress | None = None,
) -> tuple[np.ndarray, LatentLayout]:
    """:func:`encode_rows` and the layout of the latents the encoder returned."""
    from latentkit.data.source import Subset

    rows = np.asarray(rows, dtype=np.int64)
    unique, inverse = np.unique(rows, return_inverse=True)
    result = encode_posterior(
        model,
        Subset(source, unique),
        batch_size=batch_size,
        device=device,
        keep_means=True,
        spatial=spatial,
        progress=progress,
    )
    assert result.means is not None
    return result.means[inverse], result.layout


def encode_posterior(
    model: Any,
    source: Any,
    *,
    batch_size: int,
    device: str = "cpu",
    keep_means: bool = False,
    spatial: str = "flatten",
    sample_seed: int | None = None,
    progress: Progress | None = None,
    workers: int = WORKERS,
) -> EncodeResult:
    """Encode every item of ``source`` with ``model.encode`` under ``torch.inference_mode``.

    ``keep_means`` keeps the posterior means, reduced per ``spatial`` (see
    :func:`reduce_codes`); ``sample_seed`` also folds seeded posterior samples
    into the statistics (for :func:`~latentkit.analysis.latent_scale.latent_scale`).
    ``workers`` > 0 reads the batches in that many DataLoader processes, ahead of
    the model. Under ``torchrun`` the pass is shared over the ranks (see
    :mod:`latentkit.distributed`): rank 0 gets the merged statistics and the
    means of every row in source order, and the other ranks leave.
    """
    from latentkit import distributed

    if len(source) == 0:
        raise LatentkitError("the data set is empty", fix="pass --data with at least one item")
    if batch_size < 1:
        raise LatentkitError(f"batch size {batch_size} is not positive", fix="pass --batch-size 1 or more")
    if workers < 0:
        raise LatentkitError(f"--workers {workers} is negative", fix="pass 0 (read in the main process) or more")
    reduce_codes(np.zeros((0, 1)), LatentLayout((1,)), spatial)  # refuse an unknown reduction before encoding
    options = {"batch_size": batch_size, "device": device, "keep_means": keep_means, "spatial": spatial,
               "sample_seed": sample_seed, "progress": progress, "workers": workers}  # fmt: skip
    if not distributed.sharding():
        result = _encode_all(model, source, **options)
        assert result.stats is not None
        return result
    from latentkit.data.source import Subset

    rows = distributed.shard(len(source))
    local, failure = EncodeResult(None, None, None), None  # type: ignore[arg-type]
    try:
        local = _encode_all(model, Subset(source, rows), **options)
        if local.index is not None:
            local.index = rows[local.index]
    except Exception as exc:  # reported by rank 0 for every rank, after the ranks agree on their status
        failure = exc
    combined = distributed.combine(local, failure, device)
    if progress is not None:
        progress(len(source) - len(rows))  # the other ranks' rows
    return combined


def _encode_all(
    model: Any,
    source: Any,
    *,
    batch_size: int,
    device: str,
    keep_means: bool,
    spatial: str,
    sample_seed: int | None,
    progress: Progress | None,
    workers: int,
) -> EncodeResult:
    """One process's pass over every row of ``source``; statistics None when it has no rows."""
    import torch

    retain_freed_memory()
    stats: PosteriorStats | None = None
    means: list[np.ndarray] = []
    indices: list[np.ndarray] = []
    with torch.inference_mode():
        for x, index in _batches(source, batch_size, workers=workers, device=device):
            index = np.asarray(index, dtype=np.int64)
            mu, logvar = _encode_batch(model, x, device, int(index[0]))
            layout = _same_layout(stats.layout if stats is not None else None, mu)
            if stats is None:
                stats = PosteriorStats.empty(layout, sample_seed=sample_seed)
            flat_mu, flat_logvar = mu.reshape(len(mu), -1), logvar.reshape(len(mu), -1)
            rows = root_rows(source, index) if sample_seed is not None else None
            stats.update(flat_mu, flat_logvar, rows)
            if keep_means:
                means.append(reduce_codes(flat_mu, layout, spatial).astype(np.float32))
                indices.append(index)
            if progress is not None:
                progress(len(index))
    return EncodeResult(
        stats=stats,  # type: ignore[arg-type]
        means=(np.concatenate(means) if means else None) if keep_means else None,
        index=(np.concatenate(indices) if indices else None) if keep_means else None,
    )


@dataclass
class EncodedRows:
    """One encoding pass over chosen rows of a source: the rows, their posterior means, the statistics."""

    rows: np.ndarray  # (n,) int64 rows of the source, sorted
    means: np.ndarray  # (n, C·P) float32 posterior means (flattened), in the order of ``rows``
    stats: PosteriorStats


def encode_subset(
    model: Any,
    source: Any,
    rows: np.ndarray,
    *,
    batch_size: int,
    device: str = "cpu",
    sample_seed: int | None = None,
    progress: Progress | None = None,
) -> EncodedRows:
    """Encode ``source``'s sorted ``rows`` once, keeping the flattened means and the streaming statistics
    (with seeded posterior samples when ``sample_seed`` is given, as kl-report draws them)."""
    from latentkit.data.source import Subset

    rows = np.asarray(rows, dtype=np.int64)
    subset = source if len(rows) == len(source) and np.array_equal(rows, np.arange(len(source))) else Subset(source, rows)
    result = encode_posterior(
        model, subset, batch_size=batch_size, device=device, keep_means=True, sample_seed=sample_seed,
        progress=progress,
    )  # fmt: skip
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

    def codes_of(
        self, rows: np.ndarray, *, spatial: str = "flatten", progress: Progress | None = None
    ) -> tuple[np.ndarray, LatentLayout]:
        """Like :func:`encode_codes`: posterior means of ``rows`` (any order, repeats allowed), reduced per
        ``spatial``, and the latent layout."""
        layout = self.encoded.stats.layout
        return reduce_codes(self.means_of(rows, progress=progress), layout, spatial), layout

    def means_of(self, rows: np.ndarray, progress: Progress | None = None) -> np.ndarray:
        """Flattened posterior means of ``rows`` (any order, repeats allowed): (len(rows), C·P) float32."""
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


class RowCodes:
    """Posterior means of any rows of ``source``, each distinct image encoded at most once per run.

    The β-VAE and FactorVAE samplers draw ~2.9 million observations from the
    737,280 ``shapes`` combinations with their defaults, so most draws repeat;
    asking here encodes only the images not seen before (in ``batch_size``
    batches) and looks the rest up. A source with ``first_same_image(index)``
    (``shapes``: 430,080 distinct images) has rows that are the same image
    share one encoding. Codes are reduced per ``spatial`` (see
    :func:`reduce_codes`). :meth:`prefetch` encodes every distinct image in a
    background thread, overlapping the encoder with other work. Memory: a
    (len(source), D) float32 table, whose pages are touched only as rows are filled.
    """

    PREFETCH_CHUNK = 128  # batches per prefetch step; the thread count is revised between steps

    def __init__(
        self, model: Any, source: Any, *, batch_size: int, device: str = "cpu", spatial: str = "flatten",
        workers: int = WORKERS,
    ) -> None:  # fmt: skip
        self.model, self.source, self.batch_size, self.device = model, source, batch_size, device
        self.spatial, self.workers = spatial, workers
        self.layout: LatentLayout | None = None
        self._codes: np.ndarray | None = None
        self._known = np.zeros(len(source), dtype=bool)
        self._first_same = getattr(source, "first_same_image", None)
        self.encoded = 0  # distinct images run through the encoder so far
        self._prefetch: Any = None  # the background thread of prefetch()
        self._prefetch_error: BaseException | None = None
        self._waiting: Any = None  # set when a caller waits for the prefetch: it may take every core
        self._cancel: Any = None  # set by stop()

    def keys(self, rows: np.ndarray) -> np.ndarray:
        """The row each of ``rows`` is looked up under: the first row with the same image (or itself)."""
        rows = np.asarray(rows, dtype=np.int64)
        return self._first_same(rows) if self._first_same is not None else rows

    def distinct_images(self) -> np.ndarray:
        """Every distinct image of the source, as its lowest row (sorted)."""
        return np.unique(self.keys(np.arange(len(self.source), dtype=np.int64)))

    def __call__(self, rows: np.ndarray, progress: Progress | None = None) -> np.ndarray:
        """Posterior means of ``rows`` (any order, repeats allowed): (len(rows), D) float32."""
        self.wait()
        keys = self.keys(rows)
        self._encode_missing(np.unique(keys), progress)
        assert self._codes is not None
        return self._codes[keys]

    def _encode_missing(self, keys: np.ndarray, progress: Progress | None = None) -> None:
        from latentkit.data.source import Subset

        missing = keys[~self._known[keys]]
        if not missing.size:
            return
        result = encode_posterior(
            self.model, Subset(self.source, missing), batch_size=self.batch_size, device=self.device,
            keep_means=True, spatial=self.spatial, progress=progress, workers=self.workers,
        )  # fmt: skip
        assert result.means is not None
        if self._codes is None:
            self.layout = result.layout
            self._codes = np.empty((len(self.source), result.means.shape[1]), dtype=np.float32)
        self._codes[missing] = result.means
        self._known[missing] = True
        self.encoded += int(missing.size)

    def prefetch(self, keys: np.ndarray, *, cores_busy_elsewhere: int = 1) -> None:
        """Start encoding the images ``keys`` (from :meth:`keys`) in a background thread.

        Until a caller asks for codes, the encoder leaves ``cores_busy_elsewhere`` of torch's
        threads to the caller's other work; then it takes them all. Only the caller's thread
        may ask for codes (:meth:`__call__` waits for the prefetch to end first).
        """
        import threading

        import torch

        if self._prefetch is not None:
            raise RuntimeError("a prefetch is already running")
        keys = np.unique(np.asarray(keys, dtype=np.int64))
        step = self.PREFETCH_CHUNK * self.batch_size
        full_threads = torch.get_num_threads()
        shared_threads = max(1, full_threads - cores_busy_elsewhere)
        self._waiting, self._cancel = threading.Event(), threading.Event()

        def run() -> None:
            try:
                for start in range(0, len(keys), step):
                    if self._cancel.is_set():
                        return
                    wanted = full_threads if self._waiting.is_set() else shared_threads
                    if torch.get_num_threads() != wanted:
                        torch.set_num_threads(wanted)  # this thread's own count
                    self._encode_missing(keys[start : start + step])
            except BaseException as exc:  # raised in the caller's thread by wait()
                self._prefetch_error = exc

        self._prefetch = threading.Thread(target=run, name="latentkit-prefetch", daemon=True)
        self._prefetch.start()

    def wait(self) -> None:
        """Wait for a running :meth:`prefetch` to end (giving it every core); raise its error, if any."""
        if self._prefetch is None:
            return
        self._waiting.set()
        self._prefetch.join()
        self._prefetch = None
        if self._prefetch_error is not None:
            error, self._prefetch_error = self._prefetch_error, None
            raise error

    def stop(self) -> None:
        """End a running :meth:`prefetch` after its current step, dropping any error it met."""
        if self._prefetch is None:
            return
        self._cancel.set()
        self._prefetch.join()
        self._prefetch, self._prefetch_error = None, None
