"""Disentanglement, completeness and informativeness (DCI) from per-factor gradient-boosted trees."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from latentkit.analysis.validation import check_train_test, constant_code_dims, constant_dims_note
from latentkit.defaults import (
    DCI_FAST_LEARNING_RATE,
    DCI_FAST_MAX_BIN,
    DCI_FAST_MAX_DEPTH,
    DCI_FAST_MIN_DATA_IN_LEAF,
    DCI_FAST_NUM_ROUNDS,
    DCI_MODEL,
    DCI_N_JOBS,
    SEED,
)
from latentkit.errors import LatentkitError

DCIModel = Literal["reference", "fast"]

# dlib adds this to every importance before normalising, so that zero rows/columns have a
# defined (maximal) entropy.
_IMPORTANCE_EPSILON = 1e-11


@dataclass(frozen=True, eq=False)
class DCIResult:
    """DCI scores and the matrices behind them.

    ``importance_matrix`` R (D, K): R[i, j] = importance of code i for predicting factor j,
    each column summing to 1 (or 0 if that factor's model made no split).
    ``per_code_disentanglement`` (D,) with weights ``code_weights`` (D,, sum 1);
    ``per_factor_completeness`` (K,) with weights ``factor_weights`` (K,, sum 1);
    ``per_factor_accuracy_train`` / ``_test`` (K,) are the classifiers' accuracies, whose
    means are the informativeness scores. ``model`` is "reference" or "fast".
    """

    disentanglement: float
    completeness: float
    informativeness_train: float
    informativeness_test: float
    importance_matrix: np.ndarray
    per_code_disentanglement: np.ndarray
    code_weights: np.ndarray
    per_factor_completeness: np.ndarray
    factor_weights: np.ndarray
    per_factor_accuracy_train: np.ndarray
    per_factor_accuracy_test: np.ndarray
    model: str
    notes: tuple[str, ...] = ()


def dci(
    codes_train: np.ndarray,
    factors_train: np.ndarray,
    codes_test: np.ndarray,
    factors_test: np.ndarray,
    *,
    model: DCIModel = DCI_MODEL,
    random_state: int | None = SEED,
    n_jobs: int = DCI_N_JOBS,
) -> DCIResult:
    """DCI of codes (N, D) with respect to discrete factors (N, K), from a train/test split.

    For each factor j a classifier predicts v_j from all (raw, unstandardised) codes on the
    training rows; its feature importances form column j of R (D, K). With
    P[i, j] = R[i, j] / sum_k R[i, k] and Q[i, j] = R[i, j] / sum_l R[l, j] (after adding 1e-11):

        disentanglement = sum_i rho_i (1 - H_K(P[i, :])),   rho_i = sum_j R[i, j] / sum R
        completeness    = sum_j w_j  (1 - H_D(Q[:, j])),   w_j = sum_i R[i, j] / sum R
        informativeness = mean_j accuracy of classifier j (on the train or the test rows)

    H_b is entropy in log base b, so unused codes (zero rows) weigh nothing, and completeness
    depends on D (not comparable across latent sizes). With K = 1 (D = 1) every code
    (factor) scores 1 for disentanglement (completeness).

    ``model="reference"`` (default DCI_MODEL) fits ``sklearn.ensemble.GradientBoostingClassifier``
    with every setting at its default except ``random_state``, as disentanglement_lib does.
    An integer ``random_state`` (default SEED = 0) gives each factor's classifier a fresh
    ``RandomState(random_state)``; it breaks ties between equal-gain splits, so values are
    fixed by the input (with 0 they equal dlib's run with ``random_state=0``).
    ``random_state=None`` is the reference's own behaviour: every classifier draws from
    numpy's global RNG, whose stream runs on from one factor to the next, so factors are then
    fitted one after another in order, and calling ``np.random.seed(s)`` first reproduces
    dlib's value for that seed (values move by ~1e-3 between seeds). Otherwise factors are
    fitted in parallel on ``n_jobs`` threads (default DCI_N_JOBS; -1 = one per factor,
    1 = sequential), largest first. Tree building releases the GIL, and with a thread per
    factor the operating system keeps every core busy until the last factors finish (case e
    on 2 idle cores: 0.55 of the sequential time, where two workers would wait on its two
    32-class factors); values are identical to a sequential run.

    ``model="fast"`` grows LightGBM trees the way the reference grows its trees (100 rounds,
    learning rate 0.1, depth 3, leaves down to 1 sample, least-squares splits on the
    residuals, Newton-step leaves; DCI_FAST_*), but on binned thresholds (DCI_FAST_MAX_BIN);
    deterministic, one LightGBM thread per factor, factors in parallel as above. Importances
    are the least-squares impurity decreases (LightGBM "gain"), normalised per factor.
    Identical code columns are fitted once and share their importance equally, which is
    what the reference's random tie-breaking gives on average. On the shared reference
    cases every DCI figure lies within 0.02 of the reference, at a few percent of its time.

    References
    ----------
    Eastwood, Williams (2018). A framework for the quantitative evaluation of disentangled
    representations. ICLR. Values match disentanglement_lib ``_compute_dci`` (which reports
    accuracies under the name ``*_err``/``*_loss``).
    """
    codes_train, factors_train, codes_test, factors_test = check_train_test(
        codes_train, factors_train, codes_test, factors_test
    )
    if model not in ("reference", "fast"):
        raise LatentkitError(f"unknown DCI model {model!r}", fix='use "reference" or "fast"')
    n_factors = factors_train.shape[1]
    class_counts = [np.unique(factors_train[:, j]).size for j in range(n_factors)]
    single = [j for j, count in enumerate(class_counts) if count < 2]
    if single:
        raise LatentkitError(
            f"factor {single[0]} takes a single value on the training rows, so no classifier can be fitted",
            fix="encode more observations, or shuffle them so the training rows cover every factor",
        )

    notes = constant_dims_note(constant_code_dims(codes_train), "importance 0")
    features_train, features_test = codes_train, codes_test
    if model == "fast":
        # Identical columns tie at every split. The reference permutes features at random
        # before each split, so in expectation it shares their importance equally; LightGBM
        # always takes the first. Fit on distinct columns and share each one's importance.
        _, first_copy, column_group, group_size = np.unique(
            codes_train, axis=1, return_index=True, return_inverse=True, return_counts=True
        )
        kept_order = np.argsort(first_copy)  # keep the codes' own order (it breaks LightGBM's ties)
        features_train = codes_train[:, first_copy[kept_order]]
        features_test = codes_test[:, first_copy[kept_order]]
        if first_copy.size < codes_train.shape[1]:
            notes += ("some code dimensions are identical copies: their importance is shared equally",)
    fit_factor = _fit_gbt_factor if model == "reference" else _fit_lightgbm_factor

    def fit(j: int) -> tuple[np.ndarray, float, float]:
        return fit_factor(features_train, factors_train[:, j], features_test, factors_test[:, j], random_state)

    # Cost grows with the class count (one tree per class per round): start the largest.
    order = sorted(range(n_factors), key=lambda j: -class_counts[j])
    if model == "reference" and random_state is None:
        fitted = {j: fit(j) for j in range(n_factors)}  # global RNG: the order matters
    else:
        workers = n_factors if n_jobs == -1 else max(1, min(n_jobs, n_factors))
        if workers == 1:
            fitted = {j: fit(j) for j in order}
        else:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=workers) as pool:
                fitted = dict(zip(order, pool.map(fit, order)))

    importance = np.column_stack([fitted[j][0] for j in range(n_factors)])
    if model == "fast":
        importance_of_distinct = np.empty_like(importance)
        importance_of_distinct[kept_order] = importance
        importance = importance_of_distinct[column_group] / group_size[column_group, None]
    accuracy_train = np.array([fitted[j][1] for j in range(n_factors)])
    accuracy_test = np.array([fitted[j][2] for j in range(n_factors)])
    scores = disentanglement_completeness(importance)
    return DCIResult(
        informativeness_train=float(accuracy_train.mean()),
        informativeness_test=float(accuracy_test.mean()),
        importance_matrix=importance,
        per_factor_accuracy_train=accuracy_train,
        per_factor_accuracy_test=accuracy_test,
        model=model,
        notes=notes,
        **scores,
    )


def disentanglement_completeness(importance: np.ndarray) -> dict[str, float | np.ndarray]:
    """Disentanglement and completeness (with per-code/per-factor parts and weights) of R (D, K).

    See :func:`dci` for the formulas. An all-zero R gets uniform weights (dlib's rule).
    """
    importance = np.asarray(importance, dtype=np.float64)
    n_codes, n_factors = importance.shape
    per_code = 1.0 - _normalised_entropy(importance.T + _IMPORTANCE_EPSILON, n_factors)
    per_factor = 1.0 - _normalised_entropy(importance + _IMPORTANCE_EPSILON, n_codes)
    weights_source = importance if importance.sum() > 0 else np.ones_like(importance)
    total = weights_source.sum()
    code_weights = weights_source.sum(axis=1) / total
    factor_weights = weights_source.sum(axis=0) / total
    return {
        "disentanglement": float(np.sum(per_code * code_weights)),
        "completeness": float(np.sum(per_factor * factor_weights)),
        "per_code_disentanglement": per_code,
        "code_weights": code_weights,
        "per_factor_completeness": per_factor,
        "factor_weights": factor_weights,
    }


def _normalised_entropy(weights: np.ndarray, base: int) -> np.ndarray:
    """Entropy in log ``base`` of each column of positive ``weights``, normalised to a distribution (0 if base is 1)."""
    if base == 1:
        return np.zeros(weights.shape[1])
    p = weights / weights.sum(axis=0, keepdims=True)
    return -np.sum(p * np.log(p), axis=0) / np.log(base)


def _fit_gbt_factor(
    codes_train: np.ndarray,
    labels_train: np.ndarray,
    codes_test: np.ndarray,
    labels_test: np.ndarray,
    random_state: int | None,
) -> tuple[np.ndarray, float, float]:
    """Reference classifier for one factor: importances (D,), train accuracy, test accuracy."""
    from sklearn.ensemble import GradientBoostingClassifier

    classifier = GradientBoostingClassifier(random_state=random_state)
    classifier.fit(codes_train, labels_train)
    importance = np.abs(classifier.feature_importances_)
    accuracy_train = float(np.mean(classifier.predict(codes_train) == labels_train))
    accuracy_test = float(np.mean(classifier.predict(codes_test) == labels_test))
    return importance, accuracy_train, accuracy_test


def _fit_lightgbm_factor(
    codes_train: np.ndarray,
    labels_train: np.ndarray,
    codes_test: np.ndarray,
    labels_test: np.ndarray,
    random_state: int | None,
) -> tuple[np.ndarray, float, float]:
    """LightGBM trees grown the way the reference grows them: importances (D,), train and test accuracy.

    The reference (sklearn's log-loss gradient boosting) fits each round's trees to the
    residuals y - p by least squares with unit weights, then resets every leaf to a Newton
    step, ((K-1)/K) sum r / sum p(1-p) (without the factor for two classes). LightGBM would
    pick splits by Newton gain instead, which spreads importance differently. So LightGBM
    gets the residuals with unit hessians (its split gain is then the reference's
    least-squares impurity decrease, and so is its "gain" importance), and each new leaf is
    then set to the reference's Newton step. What remains different is binned thresholds
    (DCI_FAST_MAX_BIN) and tie-breaking. LightGBM has no randomness here: ``random_state``
    is unused.
    """
    import lightgbm

    classes, targets = np.unique(labels_train, return_inverse=True)
    n_rows, n_classes = targets.size, classes.size
    binary = n_classes == 2
    trees_per_round = 1 if binary else n_classes
    one_hot = (targets[:, None] == np.arange(n_classes)).astype(np.float64)
    prior = one_hot.mean(axis=0)
    if binary:
        initial_raw = np.log(prior[1:] / prior[0])
        one_hot = one_hot[:, 1:]
    else:
        initial_raw = np.log(prior) - np.log(prior).mean()
    newton_factor = 1.0 if binary else (n_classes - 1) / n_classes
    max_leaves = 2**DCI_FAST_MAX_DEPTH
    params = {
        "objective": "none",  # gradients come from us, every round
        "num_class": trees_per_round,
        "boost_from_average": False,
        "learning_rate": DCI_FAST_LEARNING_RATE,
        "max_depth": DCI_FAST_MAX_DEPTH,
        "num_leaves": max_leaves,
        "min_data_in_leaf": DCI_FAST_MIN_DATA_IN_LEAF,
        "min_sum_hessian_in_leaf": 0.0,
        "max_bin": DCI_FAST_MAX_BIN,
        "feature_pre_filter": False,
        "deterministic": True,
        "force_row_wise": True,
        "num_threads": 1,  # parallelism is across factors; more threads contend on small data
        "verbosity": -1,
    }
    booster = lightgbm.Booster(params, lightgbm.Dataset(codes_train, label=targets.astype(np.float64), params=params))
    raw = np.tile(initial_raw, (n_rows, 1))
    unit_hessian = np.ones(n_rows) if binary else np.ones_like(raw)
    cell_offset = np.arange(trees_per_round) * max_leaves
    for round_index in range(DCI_FAST_NUM_ROUNDS):
        probability = _class_probabilities(raw)
        residual = one_hot - probability
        gradient = -residual[:, 0] if binary else -residual  # LightGBM wants 1-D for one tree per round
        if booster.update(fobj=lambda _scores, _data: (gradient, unit_hessian)):
            break  # no tree could split: later rounds would add nothing
        leaves = booster.predict(
            codes_train, start_iteration=round_index, num_iteration=1, pred_leaf=True, num_threads=1
        ).reshape(n_rows, trees_per_round)
        cells = (leaves + cell_offset).ravel()
        size = trees_per_round * max_leaves
        gradient_sum = np.bincount(cells, weights=residual.ravel(), minlength=size)
        hessian_sum = np.bincount(cells, weights=(probability * (1 - probability)).ravel(), minlength=size)
        safe = np.abs(hessian_sum) >= 1e-150
        step = np.zeros(size)
        step[safe] = DCI_FAST_LEARNING_RATE * newton_factor * gradient_sum[safe] / hessian_sum[safe]
        for cell in np.flatnonzero(np.bincount(cells, minlength=size)):
            tree, leaf = divmod(int(cell), max_leaves)
            booster.set_leaf_output(round_index * trees_per_round + tree, leaf, float(step[cell]))
        raw += step[leaves + cell_offset]

    def predicted_classes(raw_scores: np.ndarray) -> np.ndarray:
        raw_scores = raw_scores.reshape(-1, trees_per_round)
        return classes[(raw_scores[:, 0] > 0).astype(np.intp) if binary else np.argmax(raw_scores, axis=1)]

    gain = booster.feature_importance(importance_type="gain").astype(np.float64)
    importance = gain / gain.sum() if gain.sum() > 0 else gain
    raw_test = booster.predict(codes_test, raw_score=True, num_threads=1).reshape(-1, trees_per_round) + initial_raw
    accuracy_train = float(np.mean(predicted_classes(raw) == labels_train))
    accuracy_test = float(np.mean(predicted_classes(raw_test) == labels_test))
    return importance, accuracy_train, accuracy_test


def _class_probabilities(raw: np.ndarray) -> np.ndarray:
    """Sigmoid of one raw score column, softmax across several."""
    if raw.shape[1] == 1:
        return 1.0 / (1.0 + np.exp(-raw))
    exp = np.exp(raw - raw.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)
