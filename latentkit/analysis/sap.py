"""Separated attribute predictability (SAP)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from latentkit.analysis.mig import top_two_gap
from latentkit.analysis.validation import check_train_test, constant_code_dims, constant_dims_note
from latentkit.defaults import SAP_SVC_C

# A code whose training variance is at most this predicts nothing in continuous mode (dlib's rule).
_MIN_CODE_VARIANCE = 1e-12


@dataclass(frozen=True, eq=False)
class SAPResult:
    """SAP and its score matrix.

    ``score_matrix`` S (D, K): how well code i alone predicts factor j (test accuracy in
    discrete mode, squared correlation on the training rows in continuous mode).
    ``per_factor`` (K,) is each column's top-two gap, ``top_codes``/``runner_up_codes``
    (K,) the rows holding them. ``continuous_factors`` records the mode: the two modes
    give different numbers and must always be reported with the score.
    """

    score: float
    per_factor: np.ndarray
    score_matrix: np.ndarray
    top_codes: np.ndarray
    runner_up_codes: np.ndarray
    continuous_factors: bool
    notes: tuple[str, ...] = ()


def sap(
    codes_train: np.ndarray,
    factors_train: np.ndarray,
    codes_test: np.ndarray,
    factors_test: np.ndarray,
    *,
    continuous_factors: bool = False,
    svc_c: float = SAP_SVC_C,
) -> SAPResult:
    """SAP of codes (N, D) with respect to factors (N, K), from a train/test split.

        SAP = 1/K sum_j ( S[(1), j] - S[(2), j] ),

    the mean over factors of the gap between the two codes that predict the factor best.

    Discrete mode (default, the paper's): S[i, j] is the test accuracy of
    ``sklearn.svm.LinearSVC(C=svc_c, class_weight="balanced")`` (default SAP_SVC_C = 0.01,
    otherwise sklearn defaults) fitted on code i alone. One-vs-rest on one feature can
    only isolate the classes at either end of an ordinal factor, so a perfect code scores
    well below 1 for factors with more than two values; ``C`` acts on unstandardised codes,
    so the score changes when a code is rescaled.

    Continuous mode: S[i, j] = cov(z_i, v_j)^2 / (var z_i var v_j) (ddof 1) on the training
    rows only, 0 when var z_i <= 1e-12; the factor's class index is treated as a number.

    References
    ----------
    Kumar, Sattigeri, Balakrishnan (2018). Variational inference of disentangled latent
    concepts from unlabeled observations. ICLR. Values match disentanglement_lib ``_compute_sap``.
    """
    codes_train, factors_train, codes_test, factors_test = check_train_test(
        codes_train, factors_train, codes_test, factors_test
    )
    if continuous_factors:
        score_matrix = _squared_correlations(codes_train, factors_train)
    else:
        score_matrix = _single_code_accuracies(codes_train, factors_train, codes_test, factors_test, svc_c)
    per_factor, top_codes, runner_up_codes = top_two_gap(score_matrix)
    consequence = "score 0" if continuous_factors else "each predicts a single class"
    return SAPResult(
        score=float(per_factor.mean()),
        per_factor=per_factor,
        score_matrix=score_matrix,
        top_codes=top_codes,
        runner_up_codes=runner_up_codes,
        continuous_factors=continuous_factors,
        notes=constant_dims_note(constant_code_dims(codes_train), consequence),
    )


def _squared_correlations(codes: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """Squared Pearson correlation (D, K) of every code with every factor, 0 for near-constant codes."""
    centred_codes = codes.astype(np.float64) - codes.mean(axis=0, dtype=np.float64)
    centred_factors = factors.astype(np.float64) - factors.mean(axis=0, dtype=np.float64)
    n_minus_one = codes.shape[0] - 1
    covariance = centred_codes.T @ centred_factors / n_minus_one
    code_variance = np.einsum("ij,ij->j", centred_codes, centred_codes) / n_minus_one
    factor_variance = np.einsum("ij,ij->j", centred_factors, centred_factors) / n_minus_one
    informative = code_variance > _MIN_CODE_VARIANCE
    scores = np.zeros_like(covariance)
    scores[informative] = covariance[informative] ** 2 / np.outer(code_variance[informative], factor_variance)
    return scores


def _single_code_accuracies(
    codes_train: np.ndarray, factors_train: np.ndarray, codes_test: np.ndarray, factors_test: np.ndarray, svc_c: float
) -> np.ndarray:
    """Test accuracy (D, K) of a balanced linear SVM predicting factor j from code i alone."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.svm import LinearSVC

    n_codes, n_factors = codes_train.shape[1], factors_train.shape[1]
    accuracies = np.zeros((n_codes, n_factors))
    with warnings.catch_warnings():
        # The reference runs with the same iteration cap and ignores these too.
        warnings.simplefilter("ignore", ConvergenceWarning)
        for i in range(n_codes):
            feature_train = codes_train[:, i : i + 1]
            feature_test = codes_test[:, i : i + 1]
            for j in range(n_factors):
                classifier = LinearSVC(C=svc_c, class_weight="balanced")
                classifier.fit(feature_train, factors_train[:, j])
                accuracies[i, j] = np.mean(classifier.predict(feature_test) == factors_test[:, j])
    return accuracies
