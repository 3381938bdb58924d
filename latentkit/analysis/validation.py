"""Input checks shared by every disentanglement score, and the fixed-data row split.

Every score takes ``codes`` of shape (N, D) (one row per observation, one column per
code dimension) and, if supervised, ``factors`` of shape (N, K) holding integer class
labels of the ground-truth factors. Problems a user can fix raise
:class:`~latentkit.errors.LatentkitError`; a constant code dimension is not an error
(a collapsed latent is a legitimate finding), so :func:`constant_code_dims` reports
such dimensions and each score turns them into a note.
"""

from __future__ import annotations

import math
from typing import Iterator, Protocol, Sequence

import numpy as np

from latentkit.defaults import SAMPLER_OBSERVE_ROWS, TRAIN_FRACTION
from latentkit.errors import LatentkitError


MAX_ABS_CODE = 1e100  # squared codes summed over a data set stay far below float64's 1.8e308


def check_codes(codes: np.ndarray) -> np.ndarray:
    """Return ``codes`` as a finite floating (N, D) array with N, D > 0.

    Float32 input stays float32: the reference discretiser keeps the input dtype, so
    casting would move bin edges. Integer or boolean codes become float64.
    """
    codes = np.asarray(codes)
    if codes.ndim != 2:
        raise LatentkitError(
            f"codes must be a 2-D array (observations x code dimensions), got shape {codes.shape}",
            fix="pass one row per observation and one column per code dimension",
        )
    if codes.shape[0] == 0 or codes.shape[1] == 0:
        raise LatentkitError(
            f"codes are empty (shape {codes.shape}): no observations or no code dimensions",
            fix="encode at least a few hundred observations with a model that has a latent space",
        )
    if not np.issubdtype(codes.dtype, np.floating):
        if not (np.issubdtype(codes.dtype, np.integer) or codes.dtype == bool):
            raise LatentkitError(f"codes must be numbers, got dtype {codes.dtype}")
        codes = codes.astype(np.float64)
    finite = np.isfinite(codes)
    if not finite.all():
        bad_rows, bad_dims = np.nonzero(~finite)
        raise LatentkitError(
            f"codes contain {bad_rows.size} NaN or infinite values "
            f"(first at row {bad_rows[0]}, code {bad_dims[0]})",
            fix="check the encoder: a diverged model or an unnormalised input produces non-finite codes",
        )
    peak = float(np.abs(codes).max())
    if peak > MAX_ABS_CODE:
        raise LatentkitError(
            f"codes reach magnitude {peak:.3g}, beyond ±{MAX_ABS_CODE:.0e}: squares and variances overflow",
            fix="rescale the codes (e.g. divide each dimension by its standard deviation) or check the encoder",
        )
    return codes


def check_factors(factors: np.ndarray, *, require_variation: bool = True) -> np.ndarray:
    """Return ``factors`` as an int64 (N, K) array of class labels, each factor taking >= 2 values.

    Floats holding whole numbers are accepted (labels saved as floats); anything else
    non-integer is a continuous factor, which every score here treats as classes, so
    the user is offered ``--bin-factors N`` (see :func:`bin_factors`). A factor taking a
    single value is an error unless ``require_variation`` is False (test rows may).
    """
    factors = np.asarray(factors)
    if factors.ndim == 1:
        factors = factors[:, None]
    if factors.ndim != 2:
        raise LatentkitError(
            f"factors must be a 2-D array (observations x factors), got shape {factors.shape}",
            fix="pass one row per observation and one column per ground-truth factor",
        )
    if factors.shape[0] == 0 or factors.shape[1] == 0:
        raise LatentkitError(
            f"factors are empty (shape {factors.shape}): no observations or no factors",
            fix="use a data source that provides ground-truth factors",
        )
    if factors.dtype == bool:
        factors = factors.astype(np.int64)
    elif np.issubdtype(factors.dtype, np.floating):
        whole = np.isfinite(factors) & (factors == np.round(factors))
        if not whole.all():
            column = int(np.nonzero(~whole.all(axis=0))[0][0])
            raise LatentkitError(
                f"factor {column} is not integer class labels (it has fractional or non-finite values); "
                "the disentanglement scores treat every factor as discrete classes",
                fix="pass --bin-factors N to cut continuous factors into N equal-width classes",
            )
        factors = factors.astype(np.int64)
    elif not np.issubdtype(factors.dtype, np.integer):
        raise LatentkitError(
            f"factors must be integer class labels, got dtype {factors.dtype}",
            fix="pass --bin-factors N to cut continuous factors into N equal-width classes",
        )
    else:
        factors = factors.astype(np.int64, copy=False)
    single = _constant_columns(factors)
    if require_variation and single.size:
        raise LatentkitError(
            f"factor {_list(single)} takes a single value, so no code can be informative about it",
            fix="drop that factor or sample observations where it varies",
        )
    return factors


def check_codes_and_factors(codes: np.ndarray, factors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Check both arrays (see :func:`check_codes`, :func:`check_factors`) and that their rows pair up."""
    codes = check_codes(codes)
    factors = check_factors(factors)
    if codes.shape[0] != factors.shape[0]:
        raise LatentkitError(
            f"codes have {codes.shape[0]} rows but factors have {factors.shape[0]}",
            fix="pass the factors of exactly the observations that were encoded, in the same order",
        )
    return codes, factors


def check_train_test(
    codes_train: np.ndarray, factors_train: np.ndarray, codes_test: np.ndarray, factors_test: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Check a train/test pair of codes and factors: each pair as above, and equal widths."""
    codes_train, factors_train = check_codes_and_factors(codes_train, factors_train)
    codes_test = check_codes(codes_test)
    factors_test = check_factors(factors_test, require_variation=False)
    if codes_test.shape[0] != factors_test.shape[0]:
        raise LatentkitError(
            f"test codes have {codes_test.shape[0]} rows but test factors have {factors_test.shape[0]}",
            fix="pass the factors of exactly the observations that were encoded, in the same order",
        )
    if codes_test.shape[1] != codes_train.shape[1] or factors_test.shape[1] != factors_train.shape[1]:
        raise LatentkitError(
            f"test rows have {codes_test.shape[1]} codes and {factors_test.shape[1]} factors, "
            f"training rows {codes_train.shape[1]} and {factors_train.shape[1]}",
            fix="split one array of codes and one of factors into training and test rows",
        )
    return codes_train, factors_train, codes_test, factors_test


def constant_code_dims(codes: np.ndarray) -> np.ndarray:
    """Indices of code dimensions that take one value on every row (collapsed latents)."""
    return _constant_columns(codes)


def constant_dims_note(dims: Sequence[int] | np.ndarray, consequence: str) -> tuple[str, ...]:
    """A one-item notes tuple saying which code dimensions are constant and what that does, or ()."""
    dims = list(np.asarray(dims, dtype=int))
    if not dims:
        return ()
    noun = "code" if len(dims) == 1 else "codes"
    verb = "is" if len(dims) == 1 else "are"
    return (f"{noun} {_list(dims)} {verb} constant: {consequence}",)


def bin_factors(factors: np.ndarray, n: int) -> np.ndarray:
    """Cut each column of continuous ``factors`` into ``n`` equal-width classes 0..n-1.

    The bins span each column's own min..max; the maximum falls in the last class.
    A column that is constant maps to class 0 (and :func:`check_factors` then rejects it).
    """
    if n < 2:
        raise LatentkitError(f"--bin-factors needs at least 2 classes, got {n}", fix="pass --bin-factors 2 or more")
    values = np.asarray(factors, dtype=np.float64)
    if values.ndim == 1:
        values = values[:, None]
    if not np.isfinite(values).all():
        raise LatentkitError("factors contain NaN or infinite values", fix="drop those observations")
    classes = np.empty(values.shape, dtype=np.int64)
    for column in range(values.shape[1]):
        interior_edges = np.histogram_bin_edges(values[:, column], bins=n)[1:-1]
        classes[:, column] = np.digitize(values[:, column], interior_edges)
    return classes


def split_train_test(n: int, train_fraction: float = TRAIN_FRACTION) -> tuple[slice, slice]:
    """Row slices of the fixed-data split: training rows are the first ceil(fraction * n), test rows the rest.

    This is disentanglement_lib's ``split_train_test`` rule, used for its ``*_on_fixed_data``
    metrics; the rows are not shuffled, so shuffle upstream if the data are ordered.
    """
    if not 0.0 < train_fraction < 1.0:
        raise LatentkitError(f"train fraction must lie strictly between 0 and 1, got {train_fraction}")
    n_train = math.ceil(n * train_fraction)
    if n_train >= n:
        raise LatentkitError(
            f"{n} observations leave no test rows with a train fraction of {train_fraction}",
            fix="encode more observations",
        )
    return slice(0, n_train), slice(n_train, n)


class FactorSampler(Protocol):
    """A ground-truth sampler: the interface the BetaVAE and FactorVAE scores draw from.

    ``factor_sizes[k]`` is the number of values of factor k; ``sample_factors(n, rng)``
    returns (n, K) integer factors drawn from ``rng``; ``observe(factors)`` returns the
    (n, D) codes of observations rendered with those factors (encoder means for a VAE).
    """

    factor_sizes: Sequence[int]

    def sample_factors(self, n: int, rng: np.random.RandomState) -> np.ndarray: ...

    def observe(self, factors: np.ndarray) -> np.ndarray: ...


def check_sampler(sampler: FactorSampler) -> int:
    """Number of factors K of ``sampler``; at least two are needed to tell factors apart."""
    n_factors = len(sampler.factor_sizes)
    if n_factors < 2 or min(sampler.factor_sizes) < 2:
        raise LatentkitError(
            f"the sampler has factor sizes {list(sampler.factor_sizes)}: "
            "these scores need at least two factors, each with at least two values"
        )
    return n_factors


def observe_codes(sampler: FactorSampler, factors: np.ndarray) -> np.ndarray:
    """Codes of ``factors`` (n, K) from ``sampler.observe``, checked to be finite (n, D) floats."""
    codes = check_codes(sampler.observe(factors))
    if codes.shape[0] != factors.shape[0]:
        raise LatentkitError(
            f"the sampler returned {codes.shape[0]} codes for {factors.shape[0]} factor rows",
            fix="observe() must return one row of codes per row of factors",
        )
    return codes


def example_chunks(n_examples: int, rows_per_example: int) -> Iterator[int]:
    """Split ``n_examples`` into chunks whose observations fit one ``observe`` call (SAMPLER_OBSERVE_ROWS)."""
    per_chunk = max(1, SAMPLER_OBSERVE_ROWS // rows_per_example)
    for start in range(0, n_examples, per_chunk):
        yield min(per_chunk, n_examples - start)


def _constant_columns(values: np.ndarray) -> np.ndarray:
    columns = np.ascontiguousarray(values.T)  # row-wise reductions are ~10x faster than strided ones
    return np.nonzero(columns.min(axis=1) == columns.max(axis=1))[0]


def _list(indices: Sequence[int] | np.ndarray) -> str:
    return ", ".join(str(int(i)) for i in indices)
