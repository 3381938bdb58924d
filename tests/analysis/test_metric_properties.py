"""Properties every disentanglement metric in the registry is checked for, in one place.

Each metric of :data:`latentkit.analysis.registry.METRICS` runs through its registry entry (as
``latentkit disentangle`` runs it) on codes built here, where the answer is known:

- permutation: reordering the code dimensions changes no score (all metrics: each treats the
  codes as an unordered set; classifier-based scores up to the fitting's tie-breaking).
- rescaling: multiplying each code by its own factor (some negative) and shifting it. Invariant
  by definition: MIG, modularity and the 20-bin MI scores (equal-width bins over each code's own
  range), DCI (trees split on order, not scale), SAP with correlations, explicitness (standardises
  first), the Gaussian total correlation (log-variances cancel the scales), FactorVAE (divides
  each code by its standard deviation). Not invariant, and why: discrete SAP and BetaVAE (linear
  classifiers with a fixed regularisation on raw codes), IRS (weighs each code by its largest
  deviation), the Wasserstein correlations (in units of the codes' variance). IRS and the
  normalised Wasserstein correlation are invariant to one scale shared by all codes.
- known answers: a perfect code (code j = factor j), pure noise (codes independent of the
  factors), and a duplicated code dimension.

Reference values on the shared cases stay in each metric's own test file.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest

from latentkit.analysis.registry import METRICS, MetricInput
from latentkit.analysis.validation import split_train_test

from .conftest import GeneratorSampler, disentangled

N, SIZES = 600, (3, 4, 5)
CHANCE = float(np.mean([1 / s for s in SIZES]))  # accuracy of guessing one class per factor
SAMPLER_CHANCE = 1 / len(GeneratorSampler.SIZES["a"])  # BetaVAE/FactorVAE: which of 5 factors was fixed
SCALES = np.array([-8.0, 0.25, 4.0])
SHIFTS = np.array([3.0, -1.0, 0.5])

TRANSFORMS = {
    "identity": lambda c: c,
    "permuted": lambda c: c[:, ::-1],
    "rescaled": lambda c: c * np.resize(SCALES, c.shape[1]) + np.resize(SHIFTS, c.shape[1]),
    "common scale": lambda c: c * 4.0 + 1.0,
    "duplicated": lambda c: np.column_stack([c, c[:, 0]]),
}

# Scores that change when each code gets its own scale (see the module docstring for why).
SCALE_DEPENDENT = {
    "sap", "irs", "unsupervised.gaussian_wasserstein_correlation", "unsupervised.gaussian_wasserstein_correlation_norm",
    "beta_vae.train_accuracy", "beta_vae.eval_accuracy",
}  # fmt: skip
COMMON_SCALE_DEPENDENT = {"sap", "unsupervised.gaussian_wasserstein_correlation", "beta_vae.train_accuracy", "beta_vae.eval_accuracy"}
# Fitted classifiers: the same model up to tie-breaking between equally good splits or features.
APPROXIMATE = {"dci": 0.02, "beta_vae": 0.03}

# Known answers: (low, high) bounds per score. None: the definition gives no clean answer there
# (modularity and IRS of pure noise are not 0; the plug-in MI score of noise is biased upwards).
PERFECT = {
    "mig": (0.98, 1.0), "dci.disentanglement": (0.99, 1.0), "dci.completeness": (0.99, 1.0),
    "dci.informativeness_train": (1.0, 1.0), "dci.informativeness_test": (1.0, 1.0),
    "sap": (0.3, 1.0), "sap_continuous": (0.99, 1.0), "modularity": (0.99, 1.0),
    "explicitness_train": (1.0, 1.0), "explicitness_test": (1.0, 1.0), "irs": (1.0, 1.0),
    "unsupervised.gaussian_total_correlation": (0.0, 0.01), "unsupervised.gaussian_wasserstein_correlation": (0.0, 0.01),
    "unsupervised.gaussian_wasserstein_correlation_norm": (0.0, 0.01), "unsupervised.mutual_info_score": (0.0, 0.02),
    "beta_vae.train_accuracy": (1.0, 1.0), "beta_vae.eval_accuracy": (1.0, 1.0),
    "factor_vae.train_accuracy": (1.0, 1.0), "factor_vae.eval_accuracy": (1.0, 1.0),
}  # fmt: skip
NOISE = {
    "mig": (0.0, 0.02), "dci.disentanglement": (0.0, 0.05), "dci.completeness": (0.0, 0.05),
    "dci.informativeness_train": None, "dci.informativeness_test": (0.0, CHANCE + 0.08),
    "sap": (0.0, 0.05), "sap_continuous": (0.0, 0.02), "modularity": None,
    "explicitness_train": (0.45, 0.6), "explicitness_test": (0.4, 0.6), "irs": None,
    "unsupervised.gaussian_total_correlation": (0.0, 0.02), "unsupervised.gaussian_wasserstein_correlation": (0.0, 0.02),
    "unsupervised.gaussian_wasserstein_correlation_norm": (0.0, 0.01), "unsupervised.mutual_info_score": None,
    "beta_vae.train_accuracy": (0.0, SAMPLER_CHANCE + 0.15), "beta_vae.eval_accuracy": (0.0, SAMPLER_CHANCE + 0.15),
    "factor_vae.train_accuracy": (0.0, SAMPLER_CHANCE + 0.15), "factor_vae.eval_accuracy": (0.0, SAMPLER_CHANCE + 0.15),
}  # fmt: skip
# A copy of code 0 beside it: "lower" (the copy competes with the original for factor 0: a gap
# closes or importance spreads), "same" (each code still carries one factor), "higher" (dependence
# between codes grows), "inf" (a singular covariance: infinite Gaussian total correlation). IRS
# (None) averages per-code scores weighted by each code's spread, so the copy doubles code 0's
# weight and moves the score towards code 0's own; tests/analysis/test_irs.py has the formula.
DUPLICATED = {
    "mig": "lower", "dci.disentanglement": "same", "dci.completeness": "lower", "dci.informativeness_train": "same",
    "dci.informativeness_test": "same", "sap": "lower", "sap_continuous": "lower", "modularity": "same",
    "explicitness_train": "same", "explicitness_test": "same", "irs": None,
    "unsupervised.gaussian_total_correlation": "inf", "unsupervised.gaussian_wasserstein_correlation": "higher",
    "unsupervised.gaussian_wasserstein_correlation_norm": "higher", "unsupervised.mutual_info_score": "higher",
    "beta_vae.train_accuracy": "same", "beta_vae.eval_accuracy": "same",
    "factor_vae.train_accuracy": "same", "factor_vae.eval_accuracy": "same",
}  # fmt: skip


class TransformedSampler(GeneratorSampler):
    """A :class:`GeneratorSampler` whose codes pass through ``transform`` (same noise draws)."""

    def __init__(self, kind: str, transform: str) -> None:
        super().__init__(kind)
        self.transform = TRANSFORMS[transform]

    def observe(self, factors: np.ndarray) -> np.ndarray:
        return self.transform(super().observe(factors))


@cache
def scores(metric: str, codes_kind: str, transform: str = "identity") -> dict[str, float]:
    """The metric's scores on codes of ``codes_kind`` ("noisy": code j = factor j + N(0, 0.3²),
    "perfect": code j = factor j, "noise": N(0, 1) codes) after ``transform``."""
    entry = METRICS[metric]
    if entry.needs_sampler:
        kind = {"noisy": "d", "perfect": "a", "noise": "noise"}[codes_kind]  # d: codes 3 and 4 are noise
        sampler, codes, factors = TransformedSampler(kind, transform), np.zeros((10, 1)), np.zeros((10, 1), int)
    else:
        sampler = None
        codes, factors = disentangled(noise={"noisy": 0.3, "perfect": 0.0, "noise": 0.3}[codes_kind], n=N, sizes=SIZES)
        if codes_kind == "noise":
            codes = np.random.default_rng(5).normal(size=codes.shape)
        codes = TRANSFORMS[transform](codes)
    train, test = split_train_test(len(codes))
    inp = MetricInput(codes, factors, train, test, seed=0, dci_model="fast", sampler=sampler, num_train=300, num_eval=200)
    return entry.compute(inp).scores


def _tolerance(metric: str) -> float:
    return APPROXIMATE.get(metric, 1e-9)


@pytest.mark.parametrize("metric", list(METRICS))
def test_permuting_the_code_dimensions_changes_no_score(metric):
    original, permuted = scores(metric, "noisy"), scores(metric, "noisy", "permuted")
    for name, value in original.items():
        assert permuted[name] == pytest.approx(value, abs=_tolerance(metric)), name


@pytest.mark.parametrize("metric", list(METRICS))
def test_rescaling_each_code_changes_only_the_scale_dependent_scores(metric):
    original, rescaled = scores(metric, "noisy"), scores(metric, "noisy", "rescaled")
    for name, value in original.items():
        if name not in SCALE_DEPENDENT:
            assert rescaled[name] == pytest.approx(value, abs=_tolerance(metric)), name
        elif not METRICS[metric].needs_sampler:  # the definition's dependence on scale shows
            assert rescaled[name] != pytest.approx(value, rel=1e-3), name


@pytest.mark.parametrize("metric", list(METRICS))
def test_one_scale_for_all_codes_changes_only_the_scores_in_the_codes_units(metric):
    original, rescaled = scores(metric, "noisy"), scores(metric, "noisy", "common scale")
    for name, value in original.items():
        if name not in COMMON_SCALE_DEPENDENT:
            assert rescaled[name] == pytest.approx(value, abs=_tolerance(metric)), name


@pytest.mark.parametrize("metric", list(METRICS))
def test_a_perfect_code_gets_the_best_answer(metric):
    for name, value in scores(metric, "perfect").items():
        low, high = PERFECT[name]
        assert low - 1e-9 <= value <= high + 1e-9, (name, value)


@pytest.mark.parametrize("metric", list(METRICS))
def test_codes_of_pure_noise_get_the_chance_answer(metric):
    for name, value in scores(metric, "noise").items():
        if NOISE[name] is not None:
            low, high = NOISE[name]
            assert low <= value <= high, (name, value)


@pytest.mark.parametrize("metric", list(METRICS))
def test_a_duplicated_code_dimension(metric):
    original, duplicated = scores(metric, "noisy"), scores(metric, "noisy", "duplicated")
    for name, value in original.items():
        expected, got = DUPLICATED[name], duplicated[name]
        if expected is None:
            continue
        if expected == "same":
            assert got == pytest.approx(value, abs=max(_tolerance(metric), 0.01)), name
        elif expected == "lower":
            assert got < value - 0.05, (name, value, got)
        elif expected == "higher":
            assert got > value + 0.01, (name, value, got)
        else:
            assert got == np.inf, (name, got)


def test_every_score_of_every_metric_has_expectations():
    names = {score.name for metric in METRICS.values() for score in metric.scores}
    assert names == set(PERFECT) == set(NOISE) == set(DUPLICATED)
    assert SCALE_DEPENDENT | COMMON_SCALE_DEPENDENT <= names
