"""What every data source looks like, and the pieces they share.

A source is a fixed, indexed set of images. Images stay in their stored form
(uint8, a memory map, a PNG file, a sprite table) until a batch is asked for;
only that batch becomes float32 in [0, 1]. :class:`Subset` is the one place
``--limit`` is implemented, for every kind of source.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from latentkit.errors import LatentkitError


@dataclass(frozen=True)
class Batch:
    """Images of one batch and their positions in the source they came from."""

    x: np.ndarray  # (B, C, H, W) float32 in [0, 1]
    index: np.ndarray  # (B,) int64, positions within the source (0..len-1)


class DataSource(Protocol):
    """A fixed, indexed set of images with optional labels and ground-truth factors."""

    name: str  # "digits", "shapes", or the path given
    image_shape: tuple[int, int, int]  # (C, H, W)
    labels: np.ndarray | None  # (N,) int64
    factors: np.ndarray | None  # (N, K) int64 class indices
    factor_names: tuple[str, ...] | None
    factor_sizes: tuple[int, ...] | None

    def __len__(self) -> int: ...

    def batches(self, batch_size: int) -> Iterator[Batch]: ...

    def get(self, index: np.ndarray) -> np.ndarray: ...


class IndexedSource:
    """Base for sources: ``batches`` walks the rows in order through ``get``."""

    name: str
    image_shape: tuple[int, int, int]
    labels: np.ndarray | None = None
    factor_names: tuple[str, ...] | None = None
    factor_sizes: tuple[int, ...] | None = None

    def __len__(self) -> int:
        raise NotImplementedError

    def get(self, index: np.ndarray) -> np.ndarray:
        """Images at ``index`` as a (len(index), C, H, W) float32 array in [0, 1]."""
        raise NotImplementedError

    def factors_of(self, index: np.ndarray) -> np.ndarray | None:
        """Factors of the rows at ``index``, (len(index), K) int64, or None without factors."""
        return None

    @property
    def factors(self) -> np.ndarray | None:
        """Factors of every row, (N, K) int64; computed on each access where they are lazy."""
        return self.factors_of(np.arange(len(self), dtype=np.int64))

    def batches(self, batch_size: int) -> Iterator[Batch]:
        """Consecutive batches in index order; the last one may be short."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        for start in range(0, len(self), batch_size):
            index = np.arange(start, min(start + batch_size, len(self)), dtype=np.int64)
            yield Batch(x=self.get(index), index=index)


def _unit_range_problem(values: np.ndarray) -> tuple[int, str] | None:
    """The first row of float ``values`` that is not finite or not in [0, 1], and what is wrong."""
    low, high = float(values.min(initial=0.0)), float(values.max(initial=0.0))
    if 0.0 <= low and high <= 1.0:  # also False when a NaN reached min or max
        return None
    flat = values.reshape(len(values), -1)
    not_finite = ~np.isfinite(flat).all(axis=1)
    if not_finite.any():
        return int(np.argmax(not_finite)), "contains NaN or inf"
    row = int(np.argmax(((flat < 0) | (flat > 1)).any(axis=1)))
    return row, f"has values in [{flat[row].min():g}, {flat[row].max():g}], outside [0, 1]"


class ArraySource(IndexedSource):
    """Images held in one (N, C, H, W) array (in memory or memory-mapped), scaled per batch.

    Integer arrays are divided by ``full_scale`` (the value that means white:
    255 for uint8 files, 16 for the digits). Float arrays must already lie in
    [0, 1]; a sample is checked when the source is made and every batch as it
    is read, so a NaN deep in a large file is reported with its row.
    """

    SAMPLE_ROWS = 256  # rows of a float array checked up front

    def __init__(
        self,
        name: str,
        array: np.ndarray,
        *,
        full_scale: float | None,
        labels: np.ndarray | None = None,
        factors: np.ndarray | None = None,
        factor_names: tuple[str, ...] | None = None,
        factor_sizes: tuple[int, ...] | None = None,
    ) -> None:
        self.name = name
        self.array = array
        self.image_shape = tuple(int(d) for d in array.shape[1:])
        self.full_scale = full_scale
        self.labels = labels
        self._factors = factors
        self.factor_names = factor_names
        self.factor_sizes = factor_sizes
        if full_scale is None:
            sample_rows = np.linspace(0, len(array) - 1, min(len(array), self.SAMPLE_ROWS)).astype(np.int64)
            self._check_unit_range(np.unique(sample_rows))

    def __len__(self) -> int:
        return len(self.array)

    def factors_of(self, index: np.ndarray) -> np.ndarray | None:
        return None if self._factors is None else self._factors[index]

    def get(self, index: np.ndarray) -> np.ndarray:
        index = np.asarray(index, dtype=np.int64)
        if self.full_scale is not None:
            return np.divide(self.array[index], np.float32(self.full_scale), dtype=np.float32)
        return self._check_unit_range(index)

    def _check_unit_range(self, index: np.ndarray) -> np.ndarray:
        """Rows at ``index`` as float32, after checking they are finite and in [0, 1]."""
        values = np.asarray(self.array[index], dtype=np.float32)
        problem = _unit_range_problem(values)
        if problem is not None:
            row, what = problem
            raise LatentkitError(
                f"{self.name}: x row {int(index[row])} {what}",
                fix="store images as uint8 0..255 or floats in [0, 1] with no NaN/inf "
                "(e.g. x = x / 255, or (x + 1) / 2 for [-1, 1] data)",
            )
        return values


class Subset(IndexedSource):
    """The rows ``indices`` (sorted) of ``source``, renumbered 0..len-1.

    ``source`` and ``indices`` stay visible so callers can reach the full
    source (e.g. ``ShapesSource.render``) and report original row numbers.
    """

    def __init__(self, source: DataSource, indices: np.ndarray) -> None:
        self.source = source
        self.indices = np.asarray(indices, dtype=np.int64)
        self.name = source.name
        self.image_shape = source.image_shape
        self.labels = None if source.labels is None else source.labels[self.indices]
        self.factor_names = source.factor_names
        self.factor_sizes = source.factor_sizes

    def __len__(self) -> int:
        return len(self.indices)

    def get(self, index: np.ndarray) -> np.ndarray:
        return self.source.get(self.indices[index])

    def factors_of(self, index: np.ndarray) -> np.ndarray | None:
        return factors_at(self.source, self.indices[index])


class RowCache(IndexedSource):
    """``source`` whose rows are kept once read (rendered, decoded), up to ``max_bytes`` of them.

    A sweep analyses the same rows with every checkpoint; with the cache each row is rendered
    or decoded once and the later checkpoints read it from memory. Rows past the budget are read
    again each time. Only the process that made the cache fills it (a DataLoader worker reads
    through), so workers never hold copies; one thread reads at a time (a prefetching
    :class:`~latentkit.encode.RowCodes` is the only reader while it runs). Everything else
    (factors, ``index_of``, ``first_same_image``) is the source's own.
    """

    def __init__(self, source: DataSource, max_bytes: int) -> None:
        import os

        self._inner = source
        self._max_bytes = max_bytes
        self._pid = os.getpid()
        self._slot = np.full(len(source), -1, dtype=np.int64)  # row -> position in _rows, -1: not kept
        self._rows: np.ndarray | None = None
        self._kept = 0
        self.reads = 0  # rows read from the source (for tests and benchmarks)
        self.name = source.name
        self.image_shape = source.image_shape
        self.labels = source.labels
        self.factor_names = source.factor_names
        self.factor_sizes = source.factor_sizes

    def __getattr__(self, name: str) -> object:
        if name in ("source", "indices") or name.startswith("_"):  # not a Subset
            raise AttributeError(name)
        return getattr(self._inner, name)

    def __len__(self) -> int:
        return len(self._inner)

    def factors_of(self, index: np.ndarray) -> np.ndarray | None:
        return factors_at(self._inner, index)

    def get(self, index: np.ndarray) -> np.ndarray:
        import os

        index = np.asarray(index, dtype=np.int64)
        if os.getpid() != self._pid:
            return self._inner.get(index)
        slots = self._slot[index]
        missing = np.unique(index[slots < 0])
        if missing.size == 0:
            assert self._rows is not None
            return self._rows[slots]
        fresh = self._inner.get(missing)
        self.reads += int(missing.size)
        if self._rows is None:
            capacity = min(len(self._inner), self._max_bytes // max(fresh[0].nbytes, 1))
            self._rows = np.empty((capacity, *fresh.shape[1:]), dtype=fresh.dtype)  # pages used as rows arrive
        keep = min(len(missing), len(self._rows) - self._kept)
        self._rows[self._kept : self._kept + keep] = fresh[:keep]
        self._slot[missing[:keep]] = np.arange(self._kept, self._kept + keep)
        self._kept += keep
        out = np.empty((len(index), *fresh.shape[1:]), dtype=fresh.dtype)
        found = slots >= 0
        out[found] = self._rows[slots[found]]
        out[~found] = fresh[np.searchsorted(missing, index[~found])]
        return out


def factors_at(source: DataSource, index: np.ndarray) -> np.ndarray | None:
    """Factors of ``source``'s rows at ``index``, without building the full table when it is lazy."""
    factors_of = getattr(source, "factors_of", None)
    if factors_of is not None:
        return factors_of(index)
    return None if source.factors is None else source.factors[index]


def check_limit(limit: int) -> None:
    """Refuse a row limit that is not positive."""
    if limit <= 0:
        raise LatentkitError(
            f"--limit {limit} is not positive", fix="pass --limit 1 or more, or leave it out to use every row"
        )


def subset_indices(size: int, limit: int, seed: int) -> np.ndarray | None:
    """Sorted rows of a reproducible random subset of ``limit`` out of ``size``; None for all rows."""
    check_limit(limit)
    if limit >= size:
        return None
    chosen = np.random.default_rng(seed).choice(size, size=limit, replace=False)
    return np.sort(chosen).astype(np.int64)


def limit_rows(source: DataSource, limit: int | None, seed: int) -> DataSource:
    """``source`` itself without a limit (or one ≥ its size), else a random :class:`Subset` of it."""
    if limit is None:
        return source
    indices = subset_indices(len(source), limit, seed)
    return source if indices is None else Subset(source, indices)
