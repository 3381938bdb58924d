"""Mutual information gap (MIG)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from latentkit.analysis.mutual_info import codes_factors_mutual_info
from latentkit.analysis.validation import check_codes_and_factors, constant_code_dims, constant_dims_note
from latentkit.defaults import NUM_BINS


@dataclass(frozen=True, eq=False)
class MIGResult:
    """MIG and what it is made of.

    ``score`` is the mean of ``per_factor``; ``mi_matrix`` [i, j] = I(z_i; v_j) in nats (D, K);
    ``factor_entropy`` H(v_j) (K,); ``top_codes`` [j] is the code with the largest MI with
    factor j and ``runner_up_codes`` [j] the second (K,).
    """

    score: float
    per_factor: np.ndarray
    mi_matrix: np.ndarray
    factor_entropy: np.ndarray
    top_codes: np.ndarray
    runner_up_codes: np.ndarray
    notes: tuple[str, ...] = ()


def top_two_gap(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per column of ``matrix`` (D, K): largest minus second-largest entry, and the rows holding them.

    With a single row (D = 1) the runner-up counts as 0 and its row as -1. Shared by MIG
    (over the MI matrix) and SAP (over the score matrix).
    """
    order = np.argsort(-matrix, axis=0, kind="stable")
    columns = np.arange(matrix.shape[1])
    top = matrix[order[0], columns]
    if matrix.shape[0] == 1:
        return top.copy(), order[0], np.full(matrix.shape[1], -1)
    return top - matrix[order[1], columns], order[0], order[1]


def mig(codes: np.ndarray, factors: np.ndarray, *, num_bins: int = NUM_BINS) -> MIGResult:
    """Mutual information gap of ``codes`` (N, D) with respect to ``factors`` (N, K).

    Each code dimension is cut into ``num_bins`` equal-width bins (default NUM_BINS = 20)
    and each factor is taken as discrete classes; then

        MIG = 1/K sum_j ( I(z_(1); v_j) - I(z_(2); v_j) ) / H(v_j),

    where z_(1), z_(2) are the codes with the largest and second-largest plug-in MI with
    factor j. It lies in [0, 1]; a factor carried by two codes gets a gap of 0, and a
    factor with more values than bins cannot reach 1. Use all rows (no train/test split),
    as disentanglement_lib does. Invariant to permuting codes and to rescaling a code
    (up to values landing exactly on a bin edge).

    References
    ----------
    Chen, Li, Grosse, Duvenaud (2018). Isolating sources of disentanglement in variational
    autoencoders. NeurIPS. Values match disentanglement_lib ``_compute_mig``.
    """
    codes, factors = check_codes_and_factors(codes, factors)
    mi_matrix, factor_entropy = codes_factors_mutual_info(codes, factors, num_bins)
    gap, top_codes, runner_up_codes = top_two_gap(mi_matrix)
    per_factor = gap / factor_entropy
    notes = constant_dims_note(constant_code_dims(codes), "MI 0 with every factor")
    if codes.shape[1] == 1:
        notes += ("only one code dimension: each gap is that code's normalised MI",)
    return MIGResult(
        score=float(per_factor.mean()),
        per_factor=per_factor,
        mi_matrix=mi_matrix,
        factor_entropy=factor_entropy,
        top_codes=top_codes,
        runner_up_codes=runner_up_codes,
        notes=notes,
    )
