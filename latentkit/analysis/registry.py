"""The disentanglement metrics as data: one :class:`Metric` entry per metric.

Each entry says which rows it uses, whether it needs a sampler (observations
drawn with one factor held fixed), which scores it produces with their
direction, and a function computing it from a :class:`MetricInput`.
``latentkit disentangle`` loops over these entries; ``check`` and ``report``
find a score's metric here, and the figure catalogue lists their scores.

Row use follows disentanglement_lib as in Locatello et al. 2019: MIG, IRS and
the unsupervised scores use all rows; modularity the training rows; DCI, SAP
and explicitness train on the training rows and test on the test rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from latentkit.defaults import NUM_BINS

Direction = Literal["higher", "lower", "none"]


@dataclass(frozen=True)
class Score:
    """One number a metric produces: its JSON name, what it means, its unit and direction."""

    name: str
    description: str
    direction: Direction
    unit: str = "score in [0, 1]"


@dataclass
class MetricInput:
    """Codes (N, D) and integer factors (N, K) with their row split; a sampler when one exists."""

    codes: np.ndarray
    factors: np.ndarray
    train: slice
    test: slice
    seed: int
    dci_model: str = "reference"
    sampler: Any | None = None
    num_train: int | None = None
    num_eval: int | None = None


@dataclass
class MetricRun:
    """The scores of one metric, how they were estimated, notes, and matrices worth drawing."""

    scores: dict[str, float]
    estimation: dict[str, Any]
    notes: tuple[str, ...] = ()
    matrices: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass(frozen=True)
class Metric:
    """A disentanglement metric: ``compute(MetricInput) -> MetricRun``."""

    name: str
    compute: Callable[[MetricInput], MetricRun]
    rows: Literal["all", "train", "train/test", "sampler"]
    needs_sampler: bool
    scores: tuple[Score, ...]
    observations: Callable[[MetricInput], int] | None = None  # a sampler metric: how many it draws

    @property
    def resamplable(self) -> bool:
        """Whether a row bootstrap can recompute it (sampler scores draw fresh data instead)."""
        return not self.needs_sampler


def _rows_all(inp: MetricInput) -> dict[str, Any]:
    return {"rows": "all", "n": len(inp.codes)}


def _rows_split(inp: MetricInput) -> dict[str, Any]:
    n_train = inp.train.stop - inp.train.start
    return {"rows": "train/test", "n_train": n_train, "n_test": len(inp.codes) - n_train}


def _mig(inp: MetricInput) -> MetricRun:
    from latentkit.analysis.mig import mig

    r = mig(inp.codes, inp.factors, num_bins=NUM_BINS)
    est = {"estimator": "plug-in MI of 20-bin equal-width histograms (nats)", "num_bins": NUM_BINS, **_rows_all(inp)}
    return MetricRun({"mig": r.score}, est, r.notes, {"mutual_information": r.mi_matrix})


def _dci(inp: MetricInput) -> MetricRun:
    from latentkit.analysis.dci import dci

    c, f, tr, te = inp.codes, inp.factors, inp.train, inp.test
    r = dci(c[tr], f[tr], c[te], f[te], model=inp.dci_model, random_state=inp.seed)
    classifier = "sklearn GradientBoostingClassifier() defaults" if inp.dci_model == "reference" else "LightGBM (fast DCI)"
    est = {
        "estimator": classifier, "model": inp.dci_model, "random_state": inp.seed, "informativeness": "accuracy",
        **_rows_split(inp),
    }  # fmt: skip
    scores = {
        "dci.disentanglement": r.disentanglement,
        "dci.completeness": r.completeness,
        "dci.informativeness_train": r.informativeness_train,
        "dci.informativeness_test": r.informativeness_test,
    }
    return MetricRun(scores, est, r.notes, {"dci_importance": r.importance_matrix})


def _sap(inp: MetricInput) -> MetricRun:
    from latentkit.analysis.sap import sap

    c, f, tr, te = inp.codes, inp.factors, inp.train, inp.test
    discrete = sap(c[tr], f[tr], c[te], f[te], continuous_factors=False)
    continuous = sap(c[tr], f[tr], c[te], f[te], continuous_factors=True)
    est = {
        "sap": {"estimator": "LinearSVC(C=0.01, class_weight='balanced') test accuracy per code", **_rows_split(inp)},
        "sap_continuous": {"estimator": "squared Pearson correlation on the training rows", "n": tr.stop - tr.start},
    }
    scores = {"sap": discrete.score, "sap_continuous": continuous.score}
    return MetricRun(scores, est, discrete.notes + continuous.notes, {"sap": discrete.score_matrix})


def _modularity(inp: MetricInput) -> MetricRun:
    from latentkit.analysis.modularity import explicitness, modularity

    c, f, tr, te = inp.codes, inp.factors, inp.train, inp.test
    mod = modularity(c[tr], f[tr], num_bins=NUM_BINS)
    exp = explicitness(c[tr], f[tr], c[te], f[te])
    est = {
        "modularity": {"estimator": "20-bin MI matrix", "num_bins": NUM_BINS, "rows": "train", "n": tr.stop - tr.start},
        "explicitness": {"estimator": "LogisticRegression() one-vs-rest ROC AUC on standardised codes", **_rows_split(inp)},
    }
    scores = {"modularity": mod.score, "explicitness_train": exp.score_train, "explicitness_test": exp.score_test}
    return MetricRun(scores, est, mod.notes + exp.notes)


def _irs(inp: MetricInput) -> MetricRun:
    from latentkit.analysis.irs import irs

    r = irs(inp.codes, inp.factors)
    est = {"estimator": "99th percentile of |z - E[z | v_j]|, factors binned to 20 bins", **_rows_all(inp)}
    return MetricRun({"irs": r.score}, est, r.notes)


def _unsupervised(inp: MetricInput) -> MetricRun:
    from latentkit.analysis.unsupervised import unsupervised_scores

    r = unsupervised_scores(inp.codes, num_bins=NUM_BINS)
    est = {"estimator": "Gaussian fit of the codes (covariance ddof=1); 20-bin MI of code pairs", **_rows_all(inp)}
    scores = {
        "unsupervised.gaussian_total_correlation": r.gaussian_total_correlation,
        "unsupervised.gaussian_wasserstein_correlation": r.gaussian_wasserstein_correlation,
        "unsupervised.gaussian_wasserstein_correlation_norm": r.gaussian_wasserstein_correlation_norm,
        "unsupervised.mutual_info_score": r.mutual_info_score,
    }
    return MetricRun(scores, est, r.notes)


def _beta_vae(inp: MetricInput) -> MetricRun:
    from latentkit.analysis.beta_vae import beta_vae_score
    from latentkit.defaults import BETA_VAE_NUM_EVAL, BETA_VAE_NUM_TRAIN

    num_train, num_eval = inp.num_train or BETA_VAE_NUM_TRAIN, inp.num_eval or BETA_VAE_NUM_EVAL
    r = beta_vae_score(inp.sampler, num_train=num_train, num_eval=num_eval, seed=inp.seed)
    scores = {"beta_vae.train_accuracy": r.train_accuracy, "beta_vae.eval_accuracy": r.eval_accuracy}
    est = {
        "estimator": "LogisticRegression on batch-mean |z1 - z2|", "num_train": num_train, "num_eval": num_eval,
        "seed": inp.seed,
    }  # fmt: skip
    return MetricRun(scores, est, r.notes)


def _beta_vae_observations(inp: MetricInput) -> int:
    from latentkit.analysis.beta_vae import observations_drawn
    from latentkit.defaults import BETA_VAE_NUM_EVAL, BETA_VAE_NUM_TRAIN

    return observations_drawn(inp.num_train or BETA_VAE_NUM_TRAIN, inp.num_eval or BETA_VAE_NUM_EVAL)


def _factor_vae_observations(inp: MetricInput) -> int:
    from latentkit.analysis.factor_vae import observations_drawn
    from latentkit.defaults import FACTOR_VAE_NUM_EVAL, FACTOR_VAE_NUM_TRAIN

    return observations_drawn(inp.num_train or FACTOR_VAE_NUM_TRAIN, inp.num_eval or FACTOR_VAE_NUM_EVAL)


def _factor_vae(inp: MetricInput) -> MetricRun:
    from latentkit.analysis.factor_vae import factor_vae_score
    from latentkit.defaults import FACTOR_VAE_NUM_EVAL, FACTOR_VAE_NUM_TRAIN

    num_train, num_eval = inp.num_train or FACTOR_VAE_NUM_TRAIN, inp.num_eval or FACTOR_VAE_NUM_EVAL
    r = factor_vae_score(inp.sampler, num_train=num_train, num_eval=num_eval, seed=inp.seed)
    scores = {"factor_vae.train_accuracy": r.train_accuracy, "factor_vae.eval_accuracy": r.eval_accuracy}
    est = {
        "estimator": "majority vote of the lowest normalised variance code", "num_train": num_train,
        "num_eval": num_eval, "seed": inp.seed,
    }  # fmt: skip
    return MetricRun(scores, est, r.notes)


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("mig", _mig, "all", False, (
            Score("mig", "Mutual information gap (Chen et al. 2018): top minus second code MI per factor, over H(factor)", "higher"),
        )),
        Metric("dci", _dci, "train/test", False, (
            Score("dci.disentanglement", "DCI disentanglement (Eastwood & Williams 2018): 1 - entropy of each code's importance over factors", "higher"),
            Score("dci.completeness", "DCI completeness: 1 - entropy of each factor's importance over codes", "higher"),
            Score("dci.informativeness_train", "DCI informativeness: classifier accuracy on the training rows", "higher", "accuracy"),
            Score("dci.informativeness_test", "DCI informativeness: classifier accuracy on the test rows", "higher", "accuracy"),
        )),
        Metric("sap", _sap, "train/test", False, (
            Score("sap", "SAP (Kumar et al. 2018): gap between the two most predictive single codes, discrete factors", "higher"),
            Score("sap_continuous", "SAP with squared correlations (continuous factors)", "higher"),
        )),
        Metric("modularity", _modularity, "train/test", False, (
            Score("modularity", "Modularity (Ridgeway & Mozer 2018): how much each code depends on one factor only", "higher"),
            Score("explicitness_train", "Explicitness: one-vs-rest ROC AUC of a linear classifier, training rows", "higher", "ROC AUC"),
            Score("explicitness_test", "Explicitness: one-vs-rest ROC AUC of a linear classifier, test rows", "higher", "ROC AUC"),
        )),
        Metric("irs", _irs, "all", False, (
            Score("irs", "Interventional robustness (Suter et al. 2019)", "higher"),
        )),
        Metric("unsupervised", _unsupervised, "all", False, (
            Score("unsupervised.gaussian_total_correlation", "Total correlation of a Gaussian fit of the codes", "lower", "nats"),
            Score("unsupervised.gaussian_wasserstein_correlation", "Wasserstein dependency of a Gaussian fit of the codes", "lower", "variance"),
            Score("unsupervised.gaussian_wasserstein_correlation_norm", "The same, normalised by the codes' total variance", "lower", "ratio"),
            Score("unsupervised.mutual_info_score", "Mean mutual information between pairs of binned codes", "lower", "nats"),
        )),
        Metric("beta_vae", _beta_vae, "sampler", True, (
            Score("beta_vae.train_accuracy", "β-VAE score (Higgins et al. 2017), training accuracy", "higher", "accuracy"),
            Score("beta_vae.eval_accuracy", "β-VAE score (Higgins et al. 2017), evaluation accuracy", "higher", "accuracy"),
        ), _beta_vae_observations),
        Metric("factor_vae", _factor_vae, "sampler", True, (
            Score("factor_vae.train_accuracy", "FactorVAE score (Kim & Mnih 2018), training accuracy", "higher", "accuracy"),
            Score("factor_vae.eval_accuracy", "FactorVAE score (Kim & Mnih 2018), evaluation accuracy", "higher", "accuracy"),
        ), _factor_vae_observations),
    )
}  # fmt: skip


def metric_of_score(score: str) -> Metric:
    """The metric that produces the score named ``score`` (KeyError if none)."""
    for metric in METRICS.values():
        if any(s.name == score for s in metric.scores):
            return metric
    raise KeyError(score)
