"""FactorVAE score: which code varies least when one factor is held fixed?"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from latentkit.analysis.validation import FactorSampler, check_sampler, example_chunks, observe_codes
from latentkit.defaults import (
    FACTOR_VAE_BATCH_SIZE,
    FACTOR_VAE_NUM_EVAL,
    FACTOR_VAE_NUM_TRAIN,
    FACTOR_VAE_NUM_VARIANCE_ESTIMATE,
    FACTOR_VAE_PRUNE_THRESHOLD,
    SEED,
)


@dataclass(frozen=True, eq=False)
class FactorVAEResult:
    """FactorVAE accuracies and the majority-vote classifier behind them.

    ``vote_matrix`` (K, D): training votes, [k, i] = how often code i varied least (relative
    to its global variance) when factor k was fixed. ``code_to_factor`` (D,) is each code's
    majority factor (0 for a code with no votes, as in the reference). ``active_codes`` (D,)
    marks codes whose global standard deviation reaches the prune threshold;
    ``global_variance`` (D,) is that variance (ddof 1).
    """

    train_accuracy: float
    eval_accuracy: float
    num_active_dims: int
    active_codes: np.ndarray
    global_variance: np.ndarray
    vote_matrix: np.ndarray
    code_to_factor: np.ndarray
    notes: tuple[str, ...] = ()


def factor_vae_score(
    sampler: FactorSampler,
    *,
    seed: int = SEED,
    batch_size: int = FACTOR_VAE_BATCH_SIZE,
    num_train: int = FACTOR_VAE_NUM_TRAIN,
    num_eval: int = FACTOR_VAE_NUM_EVAL,
    num_variance_estimate: int = FACTOR_VAE_NUM_VARIANCE_ESTIMATE,
    prune_threshold: float = FACTOR_VAE_PRUNE_THRESHOLD,
) -> FactorVAEResult:
    """FactorVAE disentanglement score of the codes a ground-truth ``sampler`` produces.

    1. Global variance s_i^2 of each code (ddof 1) over ``num_variance_estimate`` random
       observations; a code is active when s_i >= ``prune_threshold`` (and s_i > 0).
    2. One vote: pick a factor k, draw ``batch_size`` factor vectors, set factor k in all of
       them to the first one's value, observe, and take the active code with the smallest
       local variance / s_i^2; the vote is (k, that code).
    3. Each code predicts its majority factor over ``num_train`` votes;

           accuracy = sum_i V[argmax_k V[k, i], i] / sum V

       on the training votes and on ``num_eval`` fresh votes (``eval_accuracy``, the score).

    Defaults are the paper study's (FACTOR_VAE_*: batch 64, 10,000 variance samples,
    10,000 train and 5,000 eval votes, threshold 0.05). Randomness comes from
    ``np.random.RandomState(seed)``; votes are drawn in chunks, so values match the
    reference statistically, not draw for draw.

    Differences from disentanglement_lib, none of which changes an accuracy: the reference
    files each vote under the code's index *within the active subset*, mislabelling the vote
    matrix once a code is pruned; here votes are filed under the code's own index. Its
    ``num_active_dims`` is always D; here it counts the active codes. A code with zero
    variance is never active, even with ``prune_threshold=0`` (disent's setting, where such
    a code's 0/0 ratio would win every vote).

    References
    ----------
    Kim, Mnih (2018). Disentangling by factorising. ICML. disentanglement_lib
    ``compute_factor_vae``.
    """
    n_factors = check_sampler(sampler)
    rng = np.random.RandomState(seed)
    global_variance = _global_variance(sampler, rng, num_variance_estimate)
    active = (np.sqrt(global_variance) >= prune_threshold) & (global_variance > 0)
    n_codes = global_variance.size
    pruned = np.flatnonzero(~active)
    notes: tuple[str, ...] = ()
    if pruned.size:
        notes += (
            f"code {', '.join(map(str, pruned))} pruned: global standard deviation below {prune_threshold}",
        )
    if not active.any():
        notes += ("no active code: the score is 0",)
        empty_votes = np.zeros((n_factors, n_codes), dtype=np.int64)
        return FactorVAEResult(
            0.0, 0.0, 0, active, global_variance, empty_votes, np.zeros(n_codes, dtype=np.intp), notes
        )
    train_votes = _votes(sampler, rng, num_train, batch_size, n_factors, global_variance, active)
    code_to_factor = np.argmax(train_votes, axis=0)
    eval_votes = _votes(sampler, rng, num_eval, batch_size, n_factors, global_variance, active)
    return FactorVAEResult(
        train_accuracy=_majority_vote_accuracy(train_votes, code_to_factor),
        eval_accuracy=_majority_vote_accuracy(eval_votes, code_to_factor),
        num_active_dims=int(active.sum()),
        active_codes=active,
        global_variance=global_variance,
        vote_matrix=train_votes,
        code_to_factor=code_to_factor,
        notes=notes,
    )


def observations_drawn(
    num_train: int = FACTOR_VAE_NUM_TRAIN,
    num_eval: int = FACTOR_VAE_NUM_EVAL,
    batch_size: int = FACTOR_VAE_BATCH_SIZE,
    num_variance_estimate: int = FACTOR_VAE_NUM_VARIANCE_ESTIMATE,
) -> int:
    """Observations :func:`factor_vae_score` asks its sampler for (fewer when every code is pruned)."""
    return num_variance_estimate + batch_size * (num_train + num_eval)


def _global_variance(sampler: FactorSampler, rng: np.random.RandomState, n_observations: int) -> np.ndarray:
    """Variance (ddof 1) of each code over ``n_observations`` random observations."""
    codes = []
    for n_chunk in example_chunks(n_observations, 1):
        codes.append(observe_codes(sampler, np.asarray(sampler.sample_factors(n_chunk, rng))))
    return np.var(np.concatenate(codes), axis=0, ddof=1)


def _votes(
    sampler: FactorSampler,
    rng: np.random.RandomState,
    n_votes: int,
    batch_size: int,
    n_factors: int,
    global_variance: np.ndarray,
    active: np.ndarray,
) -> np.ndarray:
    """Vote matrix (K, D) of ``n_votes`` fixed-factor batches."""
    active_index = np.flatnonzero(active)
    votes = np.zeros((n_factors, global_variance.size), dtype=np.int64)
    for n_chunk in example_chunks(n_votes, batch_size):
        fixed = rng.randint(n_factors, size=n_chunk)
        factors = np.asarray(sampler.sample_factors(n_chunk * batch_size, rng)).reshape(n_chunk, batch_size, -1)
        batches = np.arange(n_chunk)
        factors[batches, :, fixed] = factors[batches, :1, fixed]
        codes = observe_codes(sampler, factors.reshape(-1, n_factors)).reshape(n_chunk, batch_size, -1)
        local_variance = np.var(codes[:, :, active_index], axis=1, ddof=1)
        least_varying = active_index[np.argmin(local_variance / global_variance[active_index], axis=1)]
        np.add.at(votes, (fixed, least_varying), 1)
    return votes


def _majority_vote_accuracy(votes: np.ndarray, code_to_factor: np.ndarray) -> float:
    """Share of votes whose factor is the majority factor of the voted code."""
    total = votes.sum()
    correct = votes[code_to_factor, np.arange(votes.shape[1])].sum()
    return float(correct / total) if total else 0.0
