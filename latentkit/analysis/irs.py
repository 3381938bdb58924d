"""Interventional robustness score (IRS)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from latentkit.analysis.mutual_info import histogram_discretize
from latentkit.analysis.validation import check_codes_and_factors, constant_code_dims, constant_dims_note
from latentkit.defaults import IRS_DIFF_QUANTILE, NUM_BINS


@dataclass(frozen=True, eq=False)
class IRSResult:
    """IRS and what it is made of.

    ``irs_matrix`` (D, K): 1 - (mean over values k of factor j of the ``diff_quantile``
    quantile of |z_i - E[z_i | v_j = k]|) / ``max_deviation`` [i]. ``per_code`` (D,) is each
    row's maximum and ``parent_factor`` (D,) its column. Constant codes are dropped:
    ``active_codes`` (D,) is False for them and their rows are NaN (parent -1).
    ``max_deviation`` (D,) = max_n |z_ni - mean z_i| weights the per-code scores.
    """

    score: float
    per_code: np.ndarray
    irs_matrix: np.ndarray
    parent_factor: np.ndarray
    max_deviation: np.ndarray
    active_codes: np.ndarray
    notes: tuple[str, ...] = ()


def irs(
    codes: np.ndarray,
    factors: np.ndarray,
    *,
    diff_quantile: float = IRS_DIFF_QUANTILE,
    num_bins: int = NUM_BINS,
) -> IRSResult:
    """Interventional robustness of codes (N, D) to changes of the other factors (N, K).

    Factors are first cut into ``num_bins`` equal-width bins (default NUM_BINS = 20, as the
    reference does, so factors with more values have neighbours merged). For code i and
    factor j, with q the ``diff_quantile`` quantile (default IRS_DIFF_QUANTILE = 0.99;
    1.0 is the paper's "max" version),

        cum_ij  = mean over values k of v_j of q_n |z_ni - E[z_i | v_j = k]|
        IRS_ij  = 1 - cum_ij / max_n |z_ni - mean z_i|
        IRS     = sum_i maxdev_i max_j IRS_ij / sum_i maxdev_i

    i.e. per code the best factor's robustness, averaged with weights maxdev_i (so the
    score depends on outliers and per-code scale). Exactly constant codes are dropped (the
    reference tests variance > 0, which float rounding can miss); with no code left the
    score is 0. Use all rows.

    References
    ----------
    Suter, Miladinovic, Schölkopf, Bauer (2019). Robustly disentangled causal mechanisms:
    validating deep representations for interventional robustness. ICML. Values match
    disentanglement_lib ``compute_irs`` (whose ``num_active_dims`` output is a bug).
    """
    codes, factors = check_codes_and_factors(codes, factors)
    n_codes, n_factors = codes.shape[1], factors.shape[1]
    active = np.ones(n_codes, dtype=bool)
    constant = constant_code_dims(codes)
    active[constant] = False
    notes = constant_dims_note(constant, "dropped by IRS")
    irs_matrix = np.full((n_codes, n_factors), np.nan)
    per_code = np.full(n_codes, np.nan)
    parent_factor = np.full(n_codes, -1)
    max_deviation = np.zeros(n_codes)
    if not active.any():
        notes += ("no code varies: IRS is 0",)
        return IRSResult(0.0, per_code, irs_matrix, parent_factor, max_deviation, active, notes)

    # The codes' own dtype, column-major as in the reference: float32 sums then round the
    # same way and the values agree bit for bit (float64 would move them by ~1e-7).
    latents = np.asfortranarray(codes[:, active])
    binned_factors = histogram_discretize(factors, num_bins)
    max_deviation[active] = np.max(np.abs(latents - latents.mean(axis=0)), axis=0)
    mean_quantile_deviation = np.zeros((latents.shape[1], n_factors))
    for j in range(n_factors):
        values = np.unique(binned_factors[:, j])
        for value in values:
            group = latents[binned_factors[:, j] == value]
            deviation = np.abs(group - group.mean(axis=0))
            mean_quantile_deviation[:, j] += np.percentile(deviation, diff_quantile * 100, axis=0)
        mean_quantile_deviation[:, j] /= values.size
    irs_matrix[active] = 1.0 - mean_quantile_deviation / max_deviation[active, None]
    per_code[active] = irs_matrix[active].max(axis=1)
    parent_factor[active] = irs_matrix[active].argmax(axis=1)
    weights = max_deviation[active]
    score = np.average(per_code[active], weights=weights) if weights.sum() > 0 else per_code[active].mean()
    return IRSResult(float(score), per_code, irs_matrix, parent_factor, max_deviation, active, notes)
