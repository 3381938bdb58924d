"""Modularity and explicitness (Ridgeway & Mozer 2018)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from latentkit.analysis.mutual_info import codes_factors_mutual_info
from latentkit.analysis.validation import (
    check_codes_and_factors,
    check_train_test,
    constant_code_dims,
    constant_dims_note,
)
from latentkit.defaults import NUM_BINS


@dataclass(frozen=True, eq=False)
class ModularityResult:
    """Modularity, per code (D,), and the MI matrix (D, K, nats) it is computed from."""

    score: float
    per_code: np.ndarray
    mi_matrix: np.ndarray
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, eq=False)
class ExplicitnessResult:
    """Explicitness on the training and test rows, overall and per factor (K,)."""

    score_train: float
    score_test: float
    per_factor_train: np.ndarray
    per_factor_test: np.ndarray
    notes: tuple[str, ...] = ()


def modularity(codes: np.ndarray, factors: np.ndarray, *, num_bins: int = NUM_BINS) -> ModularityResult:
    """Modularity of codes (N, D): how much each code is about a single factor (N, K).

    With m the plug-in MI matrix of histogram-binned codes (``num_bins``, default NUM_BINS = 20)
    and discrete factors, per code i, theta_i = max_j m_ij^2 and

        delta_i = (sum_j m_ij^2 - theta_i) / (theta_i (K - 1)),   modularity_i = 1 - delta_i

    (0 when theta_i = 0; 1 when K = 1). The score is the unweighted mean over codes, so
    pure-noise codes are not excluded: MI bias gives them a value that depends on the
    factors' cardinalities, often a high one. Duplicated codes do not lower it.
    disentanglement_lib computes it on the training rows of its split; pass those rows to
    compare (``split_train_test``).

    References
    ----------
    Ridgeway, Mozer (2018). Learning deep disentangled embeddings with the F-statistic loss.
    NeurIPS. Values match disentanglement_lib ``compute_modularity_explicitness``.
    """
    codes, factors = check_codes_and_factors(codes, factors)
    mi_matrix, _ = codes_factors_mutual_info(codes, factors, num_bins)
    squared = mi_matrix**2
    theta = squared.max(axis=1)
    n_factors = factors.shape[1]
    per_code = np.zeros(codes.shape[1])
    carries = theta > 0
    if n_factors == 1:
        per_code[carries] = 1.0
    else:
        delta = (squared[carries].sum(axis=1) - theta[carries]) / (theta[carries] * (n_factors - 1))
        per_code[carries] = 1.0 - delta
    notes = constant_dims_note(constant_code_dims(codes), "modularity 0")
    return ModularityResult(score=float(per_code.mean()), per_code=per_code, mi_matrix=mi_matrix, notes=notes)


def explicitness(
    codes_train: np.ndarray, factors_train: np.ndarray, codes_test: np.ndarray, factors_test: np.ndarray
) -> ExplicitnessResult:
    """Explicitness: how well a linear classifier on all codes recovers each factor.

    Codes are standardised with the training rows' mean and standard deviation (ddof 0,
    in the codes' own dtype); for each factor a ``sklearn.linear_model.LogisticRegression()``
    (all defaults: lbfgs, C = 1, max_iter = 100) is fitted on the training rows, and

        explicitness_j = mean over classes c of AUC(1[v_j = c], P(v_j = c | z))

    (one-vs-rest ROC AUC, macro average), on the training and on the test rows. The scores
    are means over factors. Differences from the reference, which fails or misaligns columns
    in these cases: classes absent from the rows scored (or present in only them) are left
    out of the average, and constant code dimensions (standard deviation 0) are dropped.

    References
    ----------
    Ridgeway, Mozer (2018). Learning deep disentangled embeddings with the F-statistic loss.
    NeurIPS. Values match disentanglement_lib ``compute_modularity_explicitness``.
    """
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    codes_train, factors_train, codes_test, factors_test = check_train_test(
        codes_train, factors_train, codes_test, factors_test
    )
    constant = constant_code_dims(codes_train)
    notes = constant_dims_note(constant, "dropped before standardising (standard deviation 0)")
    kept = np.setdiff1d(np.arange(codes_train.shape[1]), constant)
    if kept.size == 0:
        nan_per_factor = np.full(factors_train.shape[1], np.nan)
        return ExplicitnessResult(np.nan, np.nan, nan_per_factor, nan_per_factor.copy(), notes)
    features_train, features_test = _standardise(codes_train[:, kept], codes_test[:, kept])

    n_factors = factors_train.shape[1]
    per_factor_train = np.empty(n_factors)
    per_factor_test = np.empty(n_factors)
    unconverged = []
    for j in range(n_factors):
        # One BLAS thread: these problems are small, and threads contending with other
        # work made the fits 10x slower on a busy 2-core machine (values move by ~1e-6).
        with warnings.catch_warnings(record=True) as caught, threadpool_limits(limits=1):
            warnings.simplefilter("always", ConvergenceWarning)
            classifier = LogisticRegression().fit(features_train, factors_train[:, j])
        if any(issubclass(w.category, ConvergenceWarning) for w in caught):
            unconverged.append(j)
        classes = classifier.classes_
        per_factor_train[j] = _macro_auc(factors_train[:, j], classifier.predict_proba(features_train), classes)
        per_factor_test[j] = _macro_auc(factors_test[:, j], classifier.predict_proba(features_test), classes)
    if unconverged:
        notes += (
            f"logistic regression stopped at its iteration limit for factor {', '.join(map(str, unconverged))} "
            "(as in the reference)",
        )
    return ExplicitnessResult(
        score_train=float(per_factor_train.mean()),
        score_test=float(per_factor_test.mean()),
        per_factor_train=per_factor_train,
        per_factor_test=per_factor_test,
        notes=notes,
    )


def _standardise(codes_train: np.ndarray, codes_test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both arrays centred and scaled by the training rows' mean and std (ddof 0).

    Computed over contiguous (D, N) rows in the codes' dtype, as the reference does, so
    float32 codes round the same way (explicitness moves by ~1e-6 otherwise).
    """
    train_t = np.ascontiguousarray(codes_train.T)
    mean = train_t.mean(axis=1)
    std = train_t.std(axis=1)
    standardised_train = ((train_t - mean[:, None]) / std[:, None]).T
    standardised_test = ((np.ascontiguousarray(codes_test.T) - mean[:, None]) / std[:, None]).T
    return standardised_train, standardised_test


def _macro_auc(labels: np.ndarray, probabilities: np.ndarray, classes: np.ndarray) -> float:
    """Mean over classes of the one-vs-rest ROC AUC, over classes both present and absent in ``labels``."""
    from sklearn.metrics import roc_auc_score

    aucs = [
        roc_auc_score(labels == label, probabilities[:, column])
        for column, label in enumerate(classes)
        if 0 < np.count_nonzero(labels == label) < labels.size
    ]
    return float(np.mean(aucs)) if aucs else float("nan")
