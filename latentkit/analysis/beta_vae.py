"""BetaVAE score: can a linear classifier tell which factor was held fixed from code differences?"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from latentkit.analysis.validation import FactorSampler, check_sampler, example_chunks, observe_codes
from latentkit.defaults import BETA_VAE_BATCH_SIZE, BETA_VAE_NUM_EVAL, BETA_VAE_NUM_TRAIN, SEED


@dataclass(frozen=True, eq=False)
class BetaVAEResult:
    """Accuracy of the fixed-factor classifier on its training examples and on fresh ones.

    ``confusion_eval`` (K, K) counts evaluation examples by true (row) and predicted
    (column) fixed factor.
    """

    train_accuracy: float
    eval_accuracy: float
    confusion_eval: np.ndarray
    notes: tuple[str, ...] = ()


def beta_vae_score(
    sampler: FactorSampler,
    *,
    seed: int = SEED,
    batch_size: int = BETA_VAE_BATCH_SIZE,
    num_train: int = BETA_VAE_NUM_TRAIN,
    num_eval: int = BETA_VAE_NUM_EVAL,
) -> BetaVAEResult:
    """BetaVAE disentanglement score of the codes a ground-truth ``sampler`` produces.

    One example: pick a factor k uniformly; draw two batches of ``batch_size`` factor
    vectors and copy factor k from the first batch into the second; observe both; the
    feature is mean_b |z1_b - z2_b| (length D) and the label is k. A
    ``sklearn.linear_model.LogisticRegression`` (defaults) is fitted on ``num_train``
    examples; the score is its accuracy on ``num_eval`` fresh examples (``eval_accuracy``).
    A code that carries only factor k barely changes within such a pair, so k is easy to
    read off. Defaults are the paper study's: batch 64, 10,000 train, 5,000 eval examples
    (BETA_VAE_*). Randomness comes from ``np.random.RandomState(seed)``; examples are drawn
    in chunks, so values match the reference statistically, not draw for draw. The
    classifier is untuned and the score is scale-sensitive.

    References
    ----------
    Higgins et al. (2017). beta-VAE: learning basic visual concepts with a constrained
    variational framework. ICLR. disentanglement_lib ``compute_beta_vae_sklearn``.
    """
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    n_factors = check_sampler(sampler)
    rng = np.random.RandomState(seed)
    train_features, train_labels = _fixed_factor_examples(sampler, rng, num_train, batch_size, n_factors)
    with warnings.catch_warnings(record=True) as caught, threadpool_limits(limits=1):  # small fit: see explicitness
        warnings.simplefilter("always", ConvergenceWarning)
        classifier = LogisticRegression(random_state=rng).fit(train_features, train_labels)
    notes: tuple[str, ...] = ()
    if any(issubclass(w.category, ConvergenceWarning) for w in caught):
        notes += ("logistic regression stopped at its iteration limit (as in the reference)",)
    eval_features, eval_labels = _fixed_factor_examples(sampler, rng, num_eval, batch_size, n_factors)
    eval_predictions = classifier.predict(eval_features)
    confusion = np.zeros((n_factors, n_factors), dtype=np.int64)
    np.add.at(confusion, (eval_labels, eval_predictions), 1)
    return BetaVAEResult(
        train_accuracy=float(np.mean(classifier.predict(train_features) == train_labels)),
        eval_accuracy=float(np.mean(eval_predictions == eval_labels)),
        confusion_eval=confusion,
        notes=notes,
    )


def observations_drawn(
    num_train: int = BETA_VAE_NUM_TRAIN, num_eval: int = BETA_VAE_NUM_EVAL, batch_size: int = BETA_VAE_BATCH_SIZE
) -> int:
    """Observations :func:`beta_vae_score` asks its sampler for: two batches per example."""
    return 2 * batch_size * (num_train + num_eval)


def _fixed_factor_examples(
    sampler: FactorSampler, rng: np.random.RandomState, n_examples: int, batch_size: int, n_factors: int
) -> tuple[np.ndarray, np.ndarray]:
    """``n_examples`` (feature, fixed factor) pairs: features (n, D) and labels (n,)."""
    features, labels = [], []
    for n_chunk in example_chunks(n_examples, 2 * batch_size):
        fixed = rng.randint(n_factors, size=n_chunk)
        first = np.asarray(sampler.sample_factors(n_chunk * batch_size, rng)).reshape(n_chunk, batch_size, -1)
        second = np.asarray(sampler.sample_factors(n_chunk * batch_size, rng)).reshape(n_chunk, batch_size, -1)
        examples = np.arange(n_chunk)
        second[examples, :, fixed] = first[examples, :, fixed]
        both = np.concatenate([first.reshape(-1, n_factors), second.reshape(-1, n_factors)])
        codes = observe_codes(sampler, both).reshape(2, n_chunk, batch_size, -1)
        features.append(np.mean(np.abs(codes[0] - codes[1]), axis=1))
        labels.append(fixed)
    return np.concatenate(features), np.concatenate(labels)
