"""Unsupervised scores of a representation: Gaussian total correlation, Wasserstein correlation, code MI."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from latentkit.analysis.mutual_info import binned_codes_mutual_info
from latentkit.analysis.validation import check_codes, constant_code_dims, constant_dims_note
from latentkit.defaults import NUM_BINS

# sqrtm of a PSD matrix can come back complex from rounding; an imaginary part this small
# relative to the real one is rounding and is dropped.
_NEGLIGIBLE_IMAGINARY = 1e-6


@dataclass(frozen=True, eq=False)
class UnsupervisedResult:
    """The four unsupervised scores and the matrices behind them.

    ``covariance`` (D, D) is the codes' covariance (ddof 1); ``mi_matrix`` (D, D) the MI
    between binned code pairs in nats, diagonal set to 0. Scores may be +inf or NaN (a
    singular covariance, a constant code); ``notes`` says why.
    """

    gaussian_total_correlation: float
    gaussian_wasserstein_correlation: float
    gaussian_wasserstein_correlation_norm: float
    mutual_info_score: float
    covariance: np.ndarray
    mi_matrix: np.ndarray
    notes: tuple[str, ...] = ()


def unsupervised_scores(codes: np.ndarray, *, num_bins: int = NUM_BINS) -> UnsupervisedResult:
    """Unsupervised scores of codes (N, D); no factors needed. Use all rows.

    With Sigma the covariance of the codes (ddof 1):

    * ``gaussian_total_correlation`` = 1/2 (sum_i log Sigma_ii - log det Sigma): the KL
      divergence from N(0, Sigma) to the product of its marginals (see
      :func:`gaussian_total_correlation`);
    * ``gaussian_wasserstein_correlation`` = 2 tr Sigma - 2 tr sqrtm(Sigma * diag(Sigma)[:, None]),
      and its ``_norm`` version divided by tr Sigma (see :func:`gaussian_wasserstein_correlation`);
    * ``mutual_info_score``: the mean over the D(D-1) ordered pairs of distinct codes of
      the plug-in MI between the codes cut into ``num_bins`` equal-width bins (default 20).

    The Gaussian scores see second moments only: rotating whitened independent codes leaves
    them near 0.

    References
    ----------
    Locatello et al. (2019). Challenging common assumptions in the unsupervised learning of
    disentangled representations. ICML (disentanglement_lib ``unsupervised_metrics``);
    Watanabe (1960) for total correlation.
    """
    codes = check_codes(codes)
    n_codes = codes.shape[1]
    notes = constant_dims_note(constant_code_dims(codes), "total correlation is undefined (NaN)")
    covariance = np.atleast_2d(np.cov(codes, rowvar=False))
    total_correlation = gaussian_total_correlation(covariance)
    if total_correlation == math.inf:
        notes += ("covariance is singular (a code is a linear function of others): total correlation is +inf",)
    wasserstein, wasserstein_notes = _wasserstein_with_notes(covariance)
    notes += wasserstein_notes
    trace = float(np.trace(covariance))
    wasserstein_norm = wasserstein / trace if trace > 0 else math.nan
    mi_matrix = binned_codes_mutual_info(codes, num_bins)
    np.fill_diagonal(mi_matrix, 0.0)
    if n_codes > 1:
        mutual_info = float(mi_matrix.sum() / (n_codes * (n_codes - 1)))
    else:
        mutual_info = math.nan
        notes += ("one code dimension: no pairs for the mutual information score",)
    return UnsupervisedResult(
        gaussian_total_correlation=total_correlation,
        gaussian_wasserstein_correlation=wasserstein,
        gaussian_wasserstein_correlation_norm=wasserstein_norm,
        mutual_info_score=mutual_info,
        covariance=covariance,
        mi_matrix=mi_matrix,
        notes=notes,
    )


def gaussian_total_correlation(covariance: np.ndarray) -> float:
    """Total correlation of N(0, Sigma): 1/2 (sum_i log Sigma_ii - log det Sigma), in nats.

    +inf for a singular Sigma with positive variances; NaN when a variance is 0.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        log_variances = np.sum(np.log(np.diag(covariance)))
        sign, log_det = np.linalg.slogdet(covariance)
        if sign <= 0:
            log_det = -math.inf
        return float(0.5 * (log_variances - log_det))


def gaussian_wasserstein_correlation(covariance: np.ndarray) -> float:
    """Squared 2-Wasserstein distance between N(0, Sigma) and N(0, diag Sigma).

        W = 2 tr Sigma - 2 tr sqrtm(Sigma * diag(Sigma)[:, None])

    ``scipy.linalg.sqrtm`` may return a complex matrix for a (near-)singular Sigma; the real
    part is returned when the imaginary part of the trace is negligible (|imag| <= 1e-6
    max(1, |real|)), NaN otherwise.
    """
    return _wasserstein_with_notes(covariance)[0]


def _wasserstein_with_notes(covariance: np.ndarray) -> tuple[float, tuple[str, ...]]:
    import warnings

    from scipy.linalg import LinAlgWarning, sqrtm

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LinAlgWarning)  # a singular matrix is reported through the value
        root = sqrtm(covariance * np.diag(covariance)[:, None])
    value = complex(2 * np.trace(covariance) - 2 * np.trace(root))
    if not np.isfinite(value.real):
        return math.nan, ("matrix square root failed: Wasserstein correlation is NaN",)
    if abs(value.imag) > _NEGLIGIBLE_IMAGINARY * max(1.0, abs(value.real)):
        note = f"matrix square root is complex (imaginary part {value.imag:.3g}): Wasserstein correlation is NaN"
        return math.nan, (note,)
    if value.imag != 0:
        return value.real, (f"matrix square root came back complex: dropped an imaginary part of {value.imag:.3g}",)
    return value.real, ()
