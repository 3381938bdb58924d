"""``latentkit disentangle``: every standard disentanglement score, from one command.

Two inputs:

* a VAE checkpoint and a data source with ground-truth factors (``shapes``, or an
  ``.npz`` with ``factors``): ``n`` observations are drawn at random (``seed``),
  encoded to posterior means, and split into training rows (the first
  ceil(0.8 n)) and test rows (the rest). Because the rows are a random draw,
  the two parts are independent samples, as in disentanglement_lib's protocol;
* precomputed codes (``--codes FILE.npz`` with ``codes`` and ``factors``): the
  reference's fixed-data rule, rows in file order.

MIG, IRS and the unsupervised scores use all rows; modularity the training rows;
DCI, SAP and explicitness train on the training rows and test on the test rows.
The β-VAE and FactorVAE scores draw fresh observations with one factor held
fixed, so they need a source that renders by factor (``shapes``) or a full
factorial set (codes or images for every factor combination).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from latentkit.commands._common import (
    format_option,
    checkpoint_document,
    choose_rows,
    default_out_dir,
    library_versions,
    model_options,
    open_checkpoint,
    open_source,
    provenance,
    require_vae,
)
from latentkit.defaults import (
    ACTIVE_THRESHOLD,
    ACTIVITY_MIN_N,
    BATCH_SIZE,
    BETA_VAE_NUM_EVAL,
    BETA_VAE_NUM_TRAIN,
    BOOTSTRAP,
    BOOTSTRAP_CONFIDENCE,
    DCI_MODEL,
    DEVICE,
    DISENTANGLE_METRICS,
    DISENTANGLE_N,
    FACTOR_VAE_NUM_EVAL,
    FACTOR_VAE_NUM_TRAIN,
    FIGURE_DPI,
    FIGURE_FORMAT,
    JSON_SCHEMA_VERSION,
    NUM_BINS,
    SEED,
    SPATIAL_CODE,
    SPATIAL_CODES,
    TRAIN_FRACTION,
)
from latentkit.errors import LatentkitError
from latentkit.outputs import atomic_write_json, prepare_out_dir, to_json

JSON_NAME = "disentangle.json"
SAMPLER_METRICS = ("beta_vae", "factor_vae")
DCI_MODELS = ("reference", "fast")
# Scores a bootstrap resample recomputes (the sampler scores draw fresh data instead).
ARRAY_METRICS = tuple(m for m in DISENTANGLE_METRICS if m not in SAMPLER_METRICS)
_VERSIONS = ("numpy", "scipy", "scikit-learn", "lightgbm", "torch")


def parse_metrics(metrics: str | Sequence[str] | None) -> tuple[str, ...]:
    """``"mig,dci"`` or a list → validated metric names (None: every metric)."""
    if metrics is None:
        return DISENTANGLE_METRICS
    # one spelling everywhere: the JSON's names (beta_vae.eval_accuracy); beta-vae is accepted too
    names = [
        m.strip().replace("-", "_") for m in (metrics.split(",") if isinstance(metrics, str) else metrics) if m.strip()
    ]
    unknown = [m for m in names if m not in DISENTANGLE_METRICS]
    if unknown or not names:
        raise LatentkitError(
            f"unknown metric {unknown[0]!r}" if unknown else "no metric named",
            fix=f"use a comma-separated list of {', '.join(DISENTANGLE_METRICS)}",
        )
    return tuple(dict.fromkeys(names))


@dataclass
class FactorData:
    """Codes and factors with their row split, and a sampler when the input can resample by factor."""

    codes: np.ndarray  # (N, D)
    factors: np.ndarray  # (N, K) int64
    factor_names: tuple[str, ...]
    train: slice
    test: slice
    sampler: Any | None  # FactorSampler, or None
    sampler_missing_reason: str | None
    description: dict[str, Any]


class LookupSampler:
    """A full factorial set seen as a sampler: every factor combination maps to one row.

    ``observe`` returns the codes of those rows, through ``codes_of(rows)`` (a
    lookup in precomputed codes, or encoding the images of those rows).
    """

    def __init__(self, factors: np.ndarray, codes_of: Callable[[np.ndarray], np.ndarray]) -> None:
        self.factor_sizes = tuple(int(s) for s in factors.max(axis=0) + 1)
        self._strides = np.cumprod((1,) + self.factor_sizes[::-1])[:-1][::-1]
        self._row_of = np.empty(int(np.prod(self.factor_sizes)), dtype=np.int64)
        self._row_of[factors @ self._strides] = np.arange(len(factors))
        self._codes_of = codes_of

    @staticmethod
    def is_full_factorial(factors: np.ndarray) -> bool:
        if factors.min() < 0:
            return False
        sizes = factors.max(axis=0) + 1
        total = int(np.prod(sizes.astype(np.float64)))
        if total != len(factors):
            return False
        strides = np.cumprod(np.concatenate([[1], sizes[::-1]]))[:-1][::-1]
        return np.unique(factors @ strides).size == total

    def sample_factors(self, n: int, rng: np.random.RandomState) -> np.ndarray:
        return np.stack([rng.randint(size, size=n) for size in self.factor_sizes], axis=1)

    def observe(self, factors: np.ndarray) -> np.ndarray:
        return self._codes_of(self._row_of[np.asarray(factors) @ self._strides])


class RenderSampler:
    """A source that renders any factor combination (``shapes``), encoded to posterior means."""

    def __init__(self, renderer: Any, encode: Callable[[np.ndarray], np.ndarray]) -> None:
        self.factor_sizes = tuple(renderer.factor_sizes)
        self._renderer = renderer
        self._encode = encode

    def sample_factors(self, n: int, rng: np.random.RandomState) -> np.ndarray:
        return np.stack([rng.randint(size, size=n) for size in self.factor_sizes], axis=1)

    def observe(self, factors: np.ndarray) -> np.ndarray:
        return self._encode(self._renderer.render(np.asarray(factors)))


def _binned(factors: np.ndarray, bin_factors: int | None) -> np.ndarray:
    from latentkit.analysis.validation import bin_factors as cut

    return cut(factors, bin_factors) if bin_factors else factors


def _split(n: int) -> tuple[slice, slice]:
    from latentkit.analysis.validation import split_train_test

    return split_train_test(n, TRAIN_FRACTION)


def load_codes_file(path: str | Path, *, bin_factors: int | None = None) -> FactorData:
    """Read ``codes`` (N, D) and ``factors`` (N, K) (optional ``factor_names``) from an ``.npz``."""
    from latentkit.analysis.validation import check_codes_and_factors

    path = Path(path)
    if not path.is_file():
        raise LatentkitError(f"codes file {path} does not exist", fix="check the --codes path")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except Exception as exc:  # zipfile/np errors: a corrupt or foreign file
        raise LatentkitError(
            f"cannot read {path} as an .npz file: {str(exc).splitlines()[0]}",
            fix="save it with np.savez(path, codes=..., factors=...)",
        ) from exc
    for key in ("codes", "factors"):
        if key not in arrays:
            raise LatentkitError(
                f"{path.name} has no array {key!r} (it has {', '.join(sorted(arrays)) or 'none'})",
                fix="save it with np.savez(path, codes=codes_N_by_D, factors=factors_N_by_K)",
            )
    codes, factors = check_codes_and_factors(arrays["codes"], _binned(arrays["factors"], bin_factors))
    names = _factor_names(arrays.get("factor_names"), factors.shape[1])
    train, test = _split(len(codes))
    if LookupSampler.is_full_factorial(factors):
        sampler, missing = LookupSampler(factors, lambda rows: codes[rows]), None
    else:
        sampler, missing = None, "the codes file does not hold every factor combination exactly once"
    description = {"kind": "codes", "path": str(path), "binned_factors": bin_factors}
    return FactorData(codes, factors, names, train, test, sampler, missing, description)


def _factor_names(raw: Any, k: int) -> tuple[str, ...]:
    if raw is None:
        return tuple(f"factor_{j}" for j in range(k))
    names = tuple(str(name) for name in np.asarray(raw).ravel())
    if len(names) != k:
        raise LatentkitError(
            f"factor_names has {len(names)} entries for {k} factors", fix="give one name per factor column"
        )
    return names


def encode_factor_data(
    checkpoint: Any,
    source: Any,
    *,
    n: int,
    seed: int,
    batch_size: int,
    device: str,
    bin_factors: int | None,
    progress: Callable[[int], None] | None,
    spatial: str = SPATIAL_CODE,
) -> FactorData:
    """Encode ``n`` random observations of ``source`` (posterior means) with their factors.

    A spatial latent gives one code per channel, averaged over its positions
    (``spatial="channel-mean"``), or every value (``"flatten"``)."""
    from latentkit.analysis.validation import check_codes_and_factors
    from latentkit.data.source import factors_at
    from latentkit.encode import encode_codes, posterior_means

    if getattr(source, "factors", None) is None:
        raise LatentkitError(
            f"data {source.name} has no ground-truth factors",
            fix="use --data shapes, or an .npz with a 'factors' array (or --codes FILE.npz)",
        )
    if n < 10:
        raise LatentkitError(f"--n {n} is too small to score", fix="pass --n of a few thousand")
    rows = choose_rows(len(source), n, default=n, seed=seed, name=source.name)
    # The rows are put in random order so that the fixed split gives independent train and test draws.
    rows = rows[np.random.default_rng(seed + 1).permutation(n)]
    codes, layout = encode_codes(
        checkpoint.model, source, rows, batch_size=batch_size, device=device, spatial=spatial, progress=progress
    )
    factors = factors_at(source, rows)
    codes, factors = check_codes_and_factors(codes, _binned(factors, bin_factors))
    names = tuple(source.factor_names or _factor_names(None, factors.shape[1]))

    def encode(images: np.ndarray) -> np.ndarray:
        return posterior_means(checkpoint.model, images, batch_size=batch_size, device=device, spatial=spatial)

    base = getattr(source, "source", source)  # a --limit subset wraps the full source
    sampler, missing = None, None
    if bin_factors:
        missing = "factors were binned, so observations cannot be drawn by factor value"
    elif hasattr(base, "render"):
        sampler = RenderSampler(base, encode)
    elif base.factors is not None and LookupSampler.is_full_factorial(base.factors):
        sampler = LookupSampler(base.factors, lambda idx: encode(base.get(idx)))
    else:
        missing = f"data {source.name} cannot render observations by factor and is not a full factorial set"
    train, test = _split(n)
    description = {
        "kind": "checkpoint",
        **checkpoint_document(checkpoint, checkpoint.path),
        "data": source.name,
        "representation": "posterior mean",
        "latent_shape": list(layout.shape),
        "spatial": spatial if layout.kind == "spatial" else None,
        "binned_factors": bin_factors,
    }
    return FactorData(codes, factors, names, train, test, sampler, missing, description)


@dataclass
class MetricRun:
    """The scores of one metric, how they were estimated, notes, and matrices worth drawing."""

    scores: dict[str, float]
    estimation: dict[str, Any]
    notes: tuple[str, ...] = ()
    matrices: dict[str, np.ndarray] = field(default_factory=dict)


def run_array_metric(
    metric: str, data: FactorData, *, dci_model: str, seed: int, reference_sap_mode: bool = False
) -> MetricRun:
    """Compute one array-level metric on ``data`` with its split (see the module docstring)."""
    codes, factors, tr, te = data.codes, data.factors, data.train, data.test
    n_train, n_all = tr.stop - tr.start, len(codes)
    rows_all = {"rows": "all", "n": n_all}
    rows_split = {"rows": "train/test", "n_train": n_train, "n_test": n_all - n_train}
    if metric == "mig":
        from latentkit.analysis.mig import mig

        r = mig(codes, factors, num_bins=NUM_BINS)
        est = {"estimator": "plug-in MI of 20-bin equal-width histograms (nats)", "num_bins": NUM_BINS, **rows_all}
        return MetricRun({"mig": r.score}, est, r.notes, {"mutual_information": r.mi_matrix})
    if metric == "dci":
        from latentkit.analysis.dci import dci

        r = dci(codes[tr], factors[tr], codes[te], factors[te], model=dci_model, random_state=seed)
        classifier = (
            "sklearn GradientBoostingClassifier() defaults" if dci_model == "reference" else "LightGBM (fast DCI)"
        )
        est = {"estimator": classifier, "model": dci_model, "random_state": seed, "informativeness": "accuracy", **rows_split}
        scores = {
            "dci.disentanglement": r.disentanglement,
            "dci.completeness": r.completeness,
            "dci.informativeness_train": r.informativeness_train,
            "dci.informativeness_test": r.informativeness_test,
        }
        return MetricRun(scores, est, r.notes, {"dci_importance": r.importance_matrix})
    if metric == "sap":
        from latentkit.analysis.sap import sap

        discrete = sap(codes[tr], factors[tr], codes[te], factors[te], continuous_factors=False)
        continuous = sap(codes[tr], factors[tr], codes[te], factors[te], continuous_factors=True)
        est = {
            "sap": {"estimator": "LinearSVC(C=0.01, class_weight='balanced') test accuracy per code", **rows_split},
            "sap_continuous": {"estimator": "squared Pearson correlation on the training rows", "n": n_train},
        }
        scores = {"sap": discrete.score, "sap_continuous": continuous.score}
        return MetricRun(scores, est, discrete.notes + continuous.notes, {"sap": discrete.score_matrix})
    if metric == "modularity":
        from latentkit.analysis.modularity import explicitness, modularity

        mod = modularity(codes[tr], factors[tr], num_bins=NUM_BINS)
        exp = explicitness(codes[tr], factors[tr], codes[te], factors[te])
        est = {
            "modularity": {"estimator": "20-bin MI matrix", "num_bins": NUM_BINS, "rows": "train", "n": n_train},
            "explicitness": {"estimator": "LogisticRegression() one-vs-rest ROC AUC on standardised codes", **rows_split},
        }
        scores = {"modularity": mod.score, "explicitness_train": exp.score_train, "explicitness_test": exp.score_test}
        return MetricRun(scores, est, mod.notes + exp.notes)
    if metric == "irs":
        from latentkit.analysis.irs import irs

        r = irs(codes, factors)
        est = {"estimator": "99th percentile of |z - E[z | v_j]|, factors binned to 20 bins", **rows_all}
        return MetricRun({"irs": r.score}, est, r.notes)
    if metric == "unsupervised":
        from latentkit.analysis.unsupervised import unsupervised_scores

        r = unsupervised_scores(codes, num_bins=NUM_BINS)
        est = {"estimator": "Gaussian fit of the codes (covariance ddof=1); 20-bin MI of code pairs", **rows_all}
        scores = {
            "unsupervised.gaussian_total_correlation": r.gaussian_total_correlation,
            "unsupervised.gaussian_wasserstein_correlation": r.gaussian_wasserstein_correlation,
            "unsupervised.gaussian_wasserstein_correlation_norm": r.gaussian_wasserstein_correlation_norm,
            "unsupervised.mutual_info_score": r.mutual_info_score,
        }
        return MetricRun(scores, est, r.notes)
    raise AssertionError(f"not an array metric: {metric}")  # parse_metrics guards this


def run_sampler_metric(metric: str, sampler: Any, *, seed: int, num_train: int, num_eval: int) -> MetricRun:
    """β-VAE or FactorVAE score: fresh observations drawn with one factor held fixed."""
    if metric == "beta_vae":
        from latentkit.analysis.beta_vae import beta_vae_score

        r = beta_vae_score(sampler, num_train=num_train, num_eval=num_eval, seed=seed)
        scores = {"beta_vae.train_accuracy": r.train_accuracy, "beta_vae.eval_accuracy": r.eval_accuracy}
        est = {"estimator": "LogisticRegression on batch-mean |z1 - z2|", "num_train": num_train, "num_eval": num_eval, "seed": seed}
        return MetricRun(scores, est, r.notes)
    from latentkit.analysis.factor_vae import factor_vae_score

    r = factor_vae_score(sampler, num_train=num_train, num_eval=num_eval, seed=seed)
    scores = {"factor_vae.train_accuracy": r.train_accuracy, "factor_vae.eval_accuracy": r.eval_accuracy}
    est = {"estimator": "majority vote of the lowest normalised variance code", "num_train": num_train, "num_eval": num_eval, "seed": seed}
    return MetricRun(scores, est, r.notes)


def bootstrap_intervals(
    data: FactorData,
    metrics: Sequence[str],
    scores: dict[str, float | None],
    *,
    resamples: int,
    seed: int,
    dci_model: str,
) -> dict[str, list[float]]:
    """Bias-corrected percentile intervals of each array-level score over ``resamples`` row resamples.

    Training and test rows are resampled separately (with replacement), so the
    split keeps its meaning; a resample where a score is not finite is dropped.
    The interval is shifted by the bootstrap bias (see
    :func:`~latentkit.analysis.bootstrap.bias_corrected_interval`).
    """
    from latentkit.analysis.bootstrap import bias_corrected_interval

    rng = np.random.default_rng(seed)
    tr, te = data.train, data.test
    samples: dict[str, list[float]] = {}
    for _ in range(resamples):
        rows = np.concatenate(
            [rng.integers(tr.start, tr.stop, tr.stop - tr.start), rng.integers(te.start, te.stop, te.stop - te.start)]
        )
        resampled = FactorData(
            data.codes[rows], data.factors[rows], data.factor_names, tr, te, None, None, data.description
        )
        for metric in metrics:
            try:
                run = run_array_metric(metric, resampled, dci_model=dci_model, seed=seed)
            except LatentkitError:  # e.g. a resample where a factor takes one value
                continue
            for name, value in run.scores.items():
                if value is not None and math.isfinite(value):
                    samples.setdefault(name, []).append(float(value))
    return {
        name: list(bias_corrected_interval(np.array(values), scores[name], BOOTSTRAP_CONFIDENCE))
        for name, values in samples.items()
        if len(values) >= 2 and scores.get(name) is not None
    }


@dataclass
class DisentangleReport:
    scores: dict[str, float | None]
    intervals: dict[str, list[float]]
    notes: list[str]
    document: dict[str, Any] = field(repr=False)
    matrices: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    timings: dict[str, float] = field(default_factory=dict)  # seconds per metric and bootstrap (not in the JSON)
    caveats: list[str] = field(default_factory=list)  # what the scores cannot support (also on the heat maps)
    files: dict[str, Path] = field(default_factory=dict)

    def to_json(self) -> str:
        return to_json(self.document)


def disentangle(
    checkpoint: str | Path | None = None,
    *,
    codes: str | Path | None = None,
    data: str | None = None,
    metrics: str | Sequence[str] | None = None,
    n: int = DISENTANGLE_N,
    seed: int = SEED,
    dci_model: str = DCI_MODEL,
    bootstrap: int = BOOTSTRAP,
    bin_factors: int | None = None,
    spatial: str = SPATIAL_CODE,
    num_train: int | None = None,
    num_eval: int | None = None,
    out: str | Path | None = None,
    write: bool = True,
    batch_size: int = BATCH_SIZE,
    device: str = DEVICE,
    plugin: str | None = None,
    config: dict[str, Any] | None = None,
    plugin_files: Sequence[str | Path] = (),
    strip_prefix: str | None = None,
    trust_pickles: bool = False,
    figure_format: str = FIGURE_FORMAT,
    dpi: int = FIGURE_DPI,
    progress: Callable[[int], Callable[[int], None]] | None = None,
) -> DisentangleReport:
    """Disentanglement scores of a VAE checkpoint over ``data``, or of precomputed ``codes``.

    ``metrics`` defaults to every metric the input supports (sampler scores are
    skipped with a note when the input cannot resample by factor). ``num_train``
    and ``num_eval`` set the β-VAE/FactorVAE sample sizes (defaults: 10,000 and
    5,000, as in Locatello et al. 2019). ``bootstrap`` > 0 adds percentile
    confidence intervals of the array-level scores. ``spatial`` reduces a
    spatial latent to codes: ``channel-mean`` (each channel averaged over its
    positions, the default) or ``flatten`` (every value a code).
    """
    import time

    from latentkit.figures.style import check_dpi

    check_dpi(dpi)
    asked = metrics is not None
    chosen = parse_metrics(metrics)
    if dci_model not in DCI_MODELS:
        raise LatentkitError(f"unknown DCI model {dci_model!r}", fix=f"use one of {', '.join(DCI_MODELS)}")
    if bootstrap < 0:
        raise LatentkitError(f"--bootstrap {bootstrap} is negative", fix="pass 0 (none) or a number of resamples")
    if (checkpoint is None) == (codes is None):
        raise LatentkitError(
            "give either a checkpoint or --codes FILE.npz", fix="latentkit disentangle CKPT --data shapes, or --codes FILE"
        )
    if bin_factors is not None and bin_factors < 2:
        raise LatentkitError(f"--bin-factors {bin_factors} is below 2", fix="pass --bin-factors 2 or more")
    if spatial not in SPATIAL_CODES:
        raise LatentkitError(f"unknown --spatial {spatial!r}", fix=f"use one of {', '.join(SPATIAL_CODES)}")
    if codes is not None:
        factor_data = load_codes_file(codes, bin_factors=bin_factors)
    else:
        ckpt = open_checkpoint(
            checkpoint,
            device=device,
            plugin=plugin,
            config=config,
            plugin_files=plugin_files,
            strip_prefix=strip_prefix,
            trust_pickles=trust_pickles,
        )
        require_vae(ckpt, "disentangle")
        source = open_source(data, ckpt, limit=None, seed=seed)
        callback = progress(n) if progress else None
        factor_data = encode_factor_data(
            ckpt, source, n=n, seed=seed, batch_size=batch_size, device=device, bin_factors=bin_factors,
            progress=callback, spatial=spatial,
        )  # fmt: skip
    out_dir = prepare_out_dir(out or default_out_dir(codes if codes is not None else checkpoint)) if write else None

    notes: list[str] = []
    if factor_data.sampler is None:
        skipped = [m for m in chosen if m in SAMPLER_METRICS]
        if skipped and asked:
            raise LatentkitError(
                f"{', '.join(skipped)} need observations drawn by factor, but {factor_data.sampler_missing_reason}",
                fix="use --data shapes (or a full factorial set), or drop them from --metrics",
            )
        if skipped:
            notes.append(f"skipped {', '.join(skipped)}: {factor_data.sampler_missing_reason}")
        chosen = tuple(m for m in chosen if m not in SAMPLER_METRICS)

    scores: dict[str, float | None] = {}
    estimation: dict[str, Any] = {}
    matrices: dict[str, np.ndarray] = {}
    timings: dict[str, float] = {}
    for metric in chosen:
        start = time.perf_counter()
        if metric in SAMPLER_METRICS:
            defaults = (BETA_VAE_NUM_TRAIN, BETA_VAE_NUM_EVAL) if metric == "beta_vae" else (FACTOR_VAE_NUM_TRAIN, FACTOR_VAE_NUM_EVAL)
            run = run_sampler_metric(
                metric, factor_data.sampler, seed=seed, num_train=num_train or defaults[0], num_eval=num_eval or defaults[1]
            )
            if codes is None:
                notes.append(
                    f"{metric}: draws its own observations by factor ({num_train or defaults[0]:,} training and "
                    f"{num_eval or defaults[1]:,} evaluation votes), so --n does not apply to it; "
                    "set --num-train/--num-eval to trade time for precision"
                )
        else:
            run = run_array_metric(metric, factor_data, dci_model=dci_model, seed=seed)
        timings[metric] = time.perf_counter() - start
        estimation[metric] = run.estimation
        matrices.update(run.matrices)
        notes.extend(f"{metric}: {note}" for note in run.notes)
        for name, value in run.scores.items():
            finite = value is not None and math.isfinite(value)
            scores[name] = float(value) if finite else None
            if not finite:
                notes.append(f"{name} is {value} (not finite), written as null; see the {metric} notes")

    intervals = {}
    if bootstrap:
        start = time.perf_counter()
        array_metrics = [m for m in chosen if m in ARRAY_METRICS]
        intervals = bootstrap_intervals(
            factor_data, array_metrics, scores, resamples=bootstrap, seed=seed, dci_model=dci_model
        )
        timings["bootstrap"] = time.perf_counter() - start

    from latentkit.analysis import caveats as caveat
    from latentkit.analysis.active_units import active_mask

    code_variance = factor_data.codes.astype(np.float64).var(axis=0)
    n_active = int(active_mask(code_variance, ACTIVE_THRESHOLD).sum())
    small = caveat.small_sample(len(factor_data.codes), what="rows")
    caveats = [small] if small else []
    collapsed = caveat.collapsed_model(n_active, factor_data.codes.shape[1])
    if collapsed and len(factor_data.codes) >= ACTIVITY_MIN_N:
        caveats.append(
            collapsed + "; the scores and heat maps then measure noise in nearly constant codes, not disentanglement"
        )

    n_rows = len(factor_data.codes)
    figures = {}
    if write:
        if "mutual_information" in matrices:
            figures["mutual_information"] = f"disentangle-mi.{figure_format}"
        if "dci_importance" in matrices:
            figures["dci_importance"] = f"disentangle-dci.{figure_format}"
    document = {
        "schema": "latentkit.disentangle",
        "schema_version": JSON_SCHEMA_VERSION,
        "input": {
            **factor_data.description,
            "n": n_rows,
            "n_train": factor_data.train.stop,
            "n_test": n_rows - factor_data.train.stop,
            "latent_dim": int(factor_data.codes.shape[1]),
            "factor_names": list(factor_data.factor_names),
            "factor_sizes": [int(s) for s in factor_data.factors.max(axis=0) + 1],
        },
        "seed": seed,
        "scores": scores,
        "intervals": {
            "method": "percentile, shifted by the bootstrap bias; training and test rows resampled separately",
            "confidence": BOOTSTRAP_CONFIDENCE,
            "resamples": bootstrap,
            "values": intervals,
        }
        if bootstrap
        else None,
        "estimation": estimation,
        "matrices": {name: matrix for name, matrix in matrices.items()},
        "notes": notes,
        "caveats": caveats,
        "figures": figures,
        "versions": library_versions(_VERSIONS),
        "provenance": provenance(
            "disentangle",
            [str(checkpoint)] if checkpoint is not None else [],
            {
                "--codes": str(codes) if codes is not None else None,
                "--data": data,
                "--metrics": ",".join(chosen) if asked else None,
                "--n": n if codes is None else None,
                "--seed": seed,
                "--dci-model": dci_model,
                "--bootstrap": bootstrap or None,
                "--bin-factors": bin_factors,
                "--spatial": spatial if spatial != SPATIAL_CODE and codes is None else None,
                "--num-train": num_train,
                "--num-eval": num_eval,
                **format_option(figure_format, dpi),
                **model_options(device, plugin, config, plugin_files, strip_prefix, trust_pickles),
            },
        ),
    }
    report = DisentangleReport(scores, intervals, notes, document, matrices, timings, caveats=caveats)
    if write and out_dir is not None:
        from latentkit.figures.heatmap import plot_factor_code_matrix

        if "mutual_information" in figures:
            report.files["mutual_information"] = plot_factor_code_matrix(
                matrices["mutual_information"], factor_data.factor_names, out_dir / figures["mutual_information"],
                title="mutual information I(z_i; v_j)", value_label="nats", caveats=caveats, fmt=figure_format, dpi=dpi,
            )  # fmt: skip
        if "dci_importance" in figures:
            report.files["dci_importance"] = plot_factor_code_matrix(
                matrices["dci_importance"], factor_data.factor_names, out_dir / figures["dci_importance"],
                title=f"DCI importance ({dci_model} classifier)", value_label="importance", caveats=caveats,
                fmt=figure_format, dpi=dpi,
            )  # fmt: skip
        report.files["json"] = atomic_write_json(out_dir / JSON_NAME, document)
    return report
