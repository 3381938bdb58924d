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

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from latentkit.analysis.registry import METRICS, MetricInput
from latentkit.commands._common import default_out_dir, require_vae
from latentkit.defaults import (
    BATCH_SIZE,
    BOOTSTRAP,
    BOOTSTRAP_CONFIDENCE,
    DCI_MODEL,
    DEVICE,
    DISENTANGLE_N,
    FIGURE_FORMAT,
    ACTIVE_THRESHOLD,
    ACTIVITY_MIN_N,
    FIGURE_DPI,
    SEED,
    SPATIAL_CODE,
    SPATIAL_CODES,
    TRAIN_FRACTION,
    WORKERS,
)
from latentkit.envelope import checkpoint_block, data_block, envelope
from latentkit.errors import LatentkitError
from latentkit.options import DataSelection, ModelInput, OutputSpec, flag, provenance
from latentkit.outputs import atomic_write_json, prepare_out_dir, to_json, written_into

JSON_NAME = "disentangle.json"
DCI_MODELS = ("reference", "fast")


def parse_metrics(metrics: str | Sequence[str] | None) -> tuple[str, ...]:
    """``"mig,dci"`` or a list → validated metric names (None: every metric)."""
    if metrics is None:
        return tuple(METRICS)
    # one spelling everywhere: the JSON's names (beta_vae.eval_accuracy); beta-vae is accepted too
    names = [
        m.strip().replace("-", "_") for m in (metrics.split(",") if isinstance(metrics, str) else metrics) if m.strip()
    ]
    unknown = [m for m in names if m not in METRICS]
    if unknown or not names:
        raise LatentkitError(
            f"unknown metric {unknown[0]!r}" if unknown else "no metric named",
            fix=f"use a comma-separated list of {', '.join(METRICS)}",
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
    source: str  # the data source's name, or the codes file's path
    n_total: int  # rows of the source
    representation: str  # what the codes are
    binned_factors: int | None
    latent_shape: tuple[int, ...]  # the model's latent shape (the codes' width for a codes file)
    spatial: str | None  # how a spatial latent became codes (channel-mean | flatten), None for a flat one
    row_order: dict[str, Any] | None = None  # a codes file: its rows in file order or shuffled, and why

    def metric_input(self, *, seed: int, dci_model: str, num_train: int | None = None,
                     num_eval: int | None = None) -> MetricInput:
        return MetricInput(self.codes, self.factors, self.train, self.test, seed, dci_model, self.sampler,
                           num_train, num_eval)  # fmt: skip


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

    def prefetch(self, draws: int) -> Any:
        """See :func:`prefetch_codes`."""
        return prefetch_codes(self._codes_of, draws)


class RenderSampler:
    """A source that renders every factor combination as one of its rows (``shapes``).

    ``observe`` maps factors to rows (``source.index_of``) and returns their codes
    through ``codes_of(rows)`` (a :class:`~latentkit.encode.RowCodes`, which
    encodes each distinct observation once).
    """

    def __init__(self, source: Any, codes_of: Callable[[np.ndarray], np.ndarray]) -> None:
        self.factor_sizes = tuple(source.factor_sizes)
        self._source = source
        self._codes_of = codes_of

    def sample_factors(self, n: int, rng: np.random.RandomState) -> np.ndarray:
        return np.stack([rng.randint(size, size=n) for size in self.factor_sizes], axis=1)

    def observe(self, factors: np.ndarray) -> np.ndarray:
        return self._codes_of(self._source.index_of(np.asarray(factors)))

    def prefetch(self, draws: int) -> Any:
        """See :func:`prefetch_codes`."""
        return prefetch_codes(self._codes_of, draws)


def prefetch_codes(codes_of: Callable[[np.ndarray], np.ndarray], draws: int) -> Any:
    """Start encoding every distinct image behind ``codes_of`` in the background, when worth it.

    Worth it when ``draws`` uniform draws of rows would reach at least
    SAMPLER_PREFETCH_COVERAGE of the distinct images anyway: an image that ``m`` of the
    ``N`` rows show is drawn with probability 1 - (1 - m/N)^draws. Encoding them all up
    front, in long batched passes beside the other metrics, then costs at most a few percent
    more encoder work than encoding draws as they come. Returns the
    :class:`~latentkit.encode.RowCodes` now prefetching (``stop()`` ends it), or None.
    """
    from latentkit.defaults import SAMPLER_PREFETCH_COVERAGE
    from latentkit.encode import RowCodes

    if not isinstance(codes_of, RowCodes) or draws <= 0:
        return None
    n_rows = len(codes_of.source)
    keys, rows_per_image = np.unique(codes_of.keys(np.arange(n_rows, dtype=np.int64)), return_counts=True)
    expected = float(np.sum(-np.expm1(draws * np.log1p(-rows_per_image / n_rows))))
    if expected < SAMPLER_PREFETCH_COVERAGE * len(keys):
        return None
    codes_of.prefetch(keys)
    return codes_of


def _binned(factors: np.ndarray, bin_factors: int | None) -> np.ndarray:
    from latentkit.analysis.validation import bin_factors as cut

    return cut(factors, bin_factors) if bin_factors else factors


def _split(n: int) -> tuple[slice, slice]:
    from latentkit.analysis.validation import split_train_test

    return split_train_test(n, TRAIN_FRACTION)


ROW_ORDERS = ("auto", "file", "shuffle")


def file_order_problem(factors: np.ndarray, train: slice, test: slice) -> str | None:
    """Why the file-order split of ``factors`` would mislead, or None when it is fine.

    Rows sorted by a factor, or test rows holding classes of a factor that no training row has,
    make training and test rows different populations (a classifier is scored on classes it never saw).
    """
    for j in range(factors.shape[1]):
        column = factors[:, j]
        if column[0] != column[-1] and (np.all(column[1:] >= column[:-1]) or np.all(column[1:] <= column[:-1])):
            return f"the rows are sorted by factor {j}"
    for j in range(factors.shape[1]):
        unseen = np.setdiff1d(factors[test, j], factors[train, j])
        if unseen.size:
            return f"the test rows hold {unseen.size} class(es) of factor {j} that no training row has"
    return None


def order_rows(
    codes: np.ndarray, factors: np.ndarray, row_order: str, seed: int
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Codes and factors in the order the split uses, and the ``row_order`` record for the JSON."""
    if row_order not in ROW_ORDERS:
        raise LatentkitError(f"unknown --row-order {row_order!r}", fix=f"use one of {', '.join(ROW_ORDERS)}")
    train, test = _split(len(codes))
    reason = file_order_problem(factors, train, test) if row_order == "auto" else None
    if row_order == "file" or (row_order == "auto" and reason is None):
        return codes, factors, {"order": "file", "requested": row_order}
    permutation = np.random.default_rng(seed).permutation(len(codes))
    record = {
        "order": "shuffled",
        "requested": row_order,
        "reason": reason or "asked for",
        "permutation": f"numpy.random.default_rng({seed}).permutation({len(codes)})",
    }
    return codes[permutation], factors[permutation], record


def load_codes_file(
    path: str | Path, *, bin_factors: int | None = None, row_order: str = "auto", seed: int = SEED
) -> FactorData:
    """Read ``codes`` (N, D) and ``factors`` (N, K) (optional ``factor_names``) from an ``.npz``.

    ``row_order`` (auto, file, shuffle) decides whether the rows are shuffled with ``seed``
    before the fixed split (see the module docstring).
    """
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
    codes, factors, order = order_rows(codes, factors, row_order, seed)
    train, test = _split(len(codes))
    if LookupSampler.is_full_factorial(factors):
        sampler, missing = LookupSampler(factors, lambda rows: codes[rows]), None
    else:
        sampler, missing = None, "the codes file does not hold every factor combination exactly once"
    return FactorData(
        codes, factors, names, train, test, sampler, missing, str(path), len(codes), "codes file", bin_factors,
        (codes.shape[1],), None, order,
    )  # fmt: skip


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
    prepared: Any | None = None,
    workers: int = WORKERS,
) -> FactorData:
    """Encode ``n`` random observations of ``source`` (posterior means) with their factors.

    A spatial latent gives one code per channel, averaged over its positions
    (``spatial="channel-mean"``), or every value (``"flatten"``)."""
    from latentkit.analysis.validation import check_codes_and_factors
    from latentkit.data.source import factors_at
    from latentkit.encode import RowCodes

    if getattr(source, "factors", None) is None:
        raise LatentkitError(
            f"data {source.name} has no ground-truth factors",
            fix="use --data shapes, or an .npz with a 'factors' array (or --codes FILE.npz)",
        )
    rows = DataSelection(None, n, seed).rows(len(source), default=n, name=source.name)
    # The rows are put in random order so that the fixed split gives independent train and test draws.
    rows = rows[np.random.default_rng(seed + 1).permutation(n)]
    base = getattr(source, "source", source)  # a --limit subset wraps the full source
    base_rows = getattr(source, "indices", np.arange(len(source)))[rows] if base is not source else rows
    # Every observation of the run, the samplers' too, is encoded at most once.
    codes_of = RowCodes(
        checkpoint.model, base, batch_size=batch_size, device=device, spatial=spatial, workers=workers
    )
    if prepared is not None and prepared.bank is not None:
        codes, layout = prepared.codes_of(rows, spatial=spatial, progress=progress)
    else:
        codes = codes_of(base_rows, progress=progress)
        layout = codes_of.layout
        assert layout is not None
    factors = factors_at(source, rows)
    codes, factors = check_codes_and_factors(codes, _binned(factors, bin_factors))
    names = tuple(source.factor_names or _factor_names(None, factors.shape[1]))
    sampler, missing = None, None
    if bin_factors:
        missing = "factors were binned, so observations cannot be drawn by factor value"
    elif hasattr(base, "index_of"):
        sampler = RenderSampler(base, codes_of)
    elif base.factors is not None and LookupSampler.is_full_factorial(base.factors):
        sampler = LookupSampler(base.factors, codes_of)
    else:
        missing = f"data {source.name} cannot render observations by factor and is not a full factorial set"
    train, test = _split(n)
    return FactorData(
        codes, factors, names, train, test, sampler, missing, source.name, len(source), "posterior mean", bin_factors,
        tuple(layout.shape), spatial if layout.kind == "spatial" else None,
    )  # fmt: skip


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
    from latentkit.analysis.bootstrap import bias_corrected_interval, resampled_rows

    samples: dict[str, list[float]] = {}
    for rows in resampled_rows([data.train, data.test], n_resamples=resamples, seed=seed):
        resampled = MetricInput(data.codes[rows], data.factors[rows], data.train, data.test, seed, dci_model)
        for metric in metrics:
            try:
                run = METRICS[metric].compute(resampled)
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


@dataclass(frozen=True)
class DisentangleSettings:
    """disentangle's own settings (beside the model, data and output specs)."""

    codes: Path | None = field(default=None, metadata=flag("--codes"))
    metrics: str | None = field(default=None, metadata=flag("--metrics"))  # comma-separated, None: all
    dci_model: str = field(default=DCI_MODEL, metadata=flag("--dci-model", always=True))
    bootstrap: int = field(default=BOOTSTRAP, metadata=flag("--bootstrap"))
    bin_factors: int | None = field(default=None, metadata=flag("--bin-factors"))
    num_train: int | None = field(default=None, metadata=flag("--num-train"))
    num_eval: int | None = field(default=None, metadata=flag("--num-eval"))
    spatial: str = field(default=SPATIAL_CODE, metadata=flag("--spatial"))
    row_order: str = field(default="auto", metadata=flag("--row-order"))

    def validate(self) -> tuple[str, ...]:
        """Check every setting; return the metric names asked for."""
        chosen = parse_metrics(self.metrics)
        if self.dci_model not in DCI_MODELS:
            raise LatentkitError(f"unknown DCI model {self.dci_model!r}", fix=f"use one of {', '.join(DCI_MODELS)}")
        if self.bootstrap < 0:
            raise LatentkitError(f"--bootstrap {self.bootstrap} is negative", fix="pass 0 (none) or a number of resamples")
        if self.bin_factors is not None and self.bin_factors < 2:
            raise LatentkitError(f"--bin-factors {self.bin_factors} is below 2", fix="pass --bin-factors 2 or more")
        if self.row_order not in ROW_ORDERS:
            raise LatentkitError(f"unknown --row-order {self.row_order!r}", fix=f"use one of {', '.join(ROW_ORDERS)}")
        if self.spatial not in SPATIAL_CODES:
            raise LatentkitError(f"unknown --spatial {self.spatial!r}", fix=f"use one of {', '.join(SPATIAL_CODES)}")
        for name, value in (("--num-train", self.num_train), ("--num-eval", self.num_eval)):
            if value is not None and value < 1:
                raise LatentkitError(f"{name} {value} is not positive", fix=f"pass {name} 1 or more")
        return chosen


@dataclass
class DisentangleReport:
    """Result of :func:`disentangle`; ``document`` is exactly what ``disentangle.json`` holds."""

    metrics: tuple[str, ...]  # the metrics that ran
    scores: dict[str, float | None]
    intervals: dict[str, list[float]]
    notes: list[str]
    document: dict[str, Any] = field(repr=False)
    estimation: dict[str, Any] = field(default_factory=dict, repr=False)
    matrices: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    timings: dict[str, float] = field(default_factory=dict)  # seconds per metric and bootstrap (not in the JSON)
    caveats: list[str] = field(default_factory=list)  # what the scores cannot support (also on the heat maps)
    files: dict[str, Path] = field(default_factory=dict)

    def to_json(self) -> str:
        return to_json(self.document)


def sampler_n_note(metric: str, num_train: int, num_eval: int) -> str:
    """Why ``--n`` does not change a sampler score (they draw fresh observations by factor)."""
    return (
        f"{metric}: draws its own observations by factor ({num_train:,} training and {num_eval:,} evaluation "
        "votes), so --n does not apply to it; set --num-train/--num-eval to trade time for precision"
    )


def disentangle(
    checkpoint: str | Path | None = None,
    *,
    codes: str | Path | None = None,
    data: str | None = None,
    metrics: str | Sequence[str] | None = None,
    n: int | None = None,
    seed: int = SEED,
    dci_model: str = DCI_MODEL,
    bootstrap: int = BOOTSTRAP,
    bin_factors: int | None = None,
    spatial: str = SPATIAL_CODE,
    num_train: int | None = None,
    num_eval: int | None = None,
    row_order: str = "auto",
    out: str | Path | None = None,
    write: bool = True,
    batch_size: int = BATCH_SIZE,
    device: str = DEVICE,
    plugin: str | None = None,
    config: dict[str, Any] | None = None,
    plugin_files: Sequence[str | Path] = (),
    strip_prefix: str | None = None,
    trust_pickles: bool = False,
    workers: int = WORKERS,
    figure_format: str = FIGURE_FORMAT,
    dpi: int = FIGURE_DPI,
    progress: Callable[[int], Callable[[int], None]] | None = None,
    prepared: Any | None = None,
    into: Path | None = None,
) -> DisentangleReport:
    """Disentanglement scores of a VAE checkpoint over ``data``, or of precomputed ``codes``.

    ``n`` observations (default: all up to ``DISENTANGLE_N``) are drawn with
    ``seed``. ``metrics`` defaults to every metric the input supports (sampler
    scores are skipped with a note when the input cannot resample by factor).
    ``num_train`` and ``num_eval`` set the β-VAE/FactorVAE sample sizes
    (defaults: 10,000 and 5,000, as in Locatello et al. 2019). ``bootstrap`` > 0
    adds percentile confidence intervals of the array-level scores.
    ``spatial`` reduces a spatial latent to codes: ``channel-mean`` (each
    channel averaged over its positions, the default) or ``flatten`` (every
    value a code). ``prepared`` (a :class:`~latentkit.commands._prepared.Prepared`) supplies the
    opened checkpoint and data (and, with a bank, the encoded rows); ``into`` writes the files
    straight into that folder (a sweep's staging subfolder; the sweep commits it).
    """
    if (checkpoint is None) == (codes is None):
        raise LatentkitError(
            "give either a checkpoint or --codes FILE.npz", fix="latentkit disentangle CKPT --data shapes, or --codes FILE"
        )
    if not isinstance(metrics, (str, type(None))):
        metrics = ",".join(metrics)
    model = None
    if checkpoint is not None:
        model = ModelInput(
            checkpoint, device, batch_size, plugin, config, tuple(plugin_files), strip_prefix, trust_pickles, workers
        )
    selection = DataSelection(data, n, seed)
    output = OutputSpec(Path(out) if out is not None else None, figure_format, write, dpi)
    settings = DisentangleSettings(
        Path(codes) if codes is not None else None, metrics, dci_model, bootstrap, bin_factors, num_train, num_eval,
        spatial if codes is None else SPATIAL_CODE, row_order,
    )
    chosen = settings.validate()
    if metrics is not None:  # the reproducing command spells the metrics as the JSON does
        settings = dataclasses.replace(settings, metrics=",".join(chosen))
    for spec in (model, selection, output):
        if spec is not None:
            spec.validate()
    if codes is not None and (data is not None or n is not None):
        raise LatentkitError("--data and --n choose observations to encode; --codes are already encoded",
                             fix="drop --data/--n with --codes")  # fmt: skip
    if selection.n is not None and selection.n < 10:
        raise LatentkitError(f"--n {selection.n} is too small to score", fix="pass --n of a few thousand")

    ckpt = None
    if codes is not None:
        factor_data = load_codes_file(codes, bin_factors=bin_factors, row_order=row_order, seed=seed)
    else:
        assert model is not None
        ckpt = model.open() if prepared is None else prepared.checkpoint
        require_vae(ckpt, "disentangle")
        source = selection.open(ckpt) if prepared is None else prepared.source
        count = len(selection.rows(len(source), default=DISENTANGLE_N, name=source.name))
        callback = progress(count) if progress else None
        factor_data = encode_factor_data(
            ckpt, source, n=count, seed=seed, batch_size=batch_size, device=device, bin_factors=bin_factors,
            progress=callback, spatial=spatial, prepared=prepared, workers=workers,
        )  # fmt: skip
    out_dir = None
    if write:
        default = default_out_dir(codes if codes is not None else checkpoint)
        out_dir = Path(into) if into is not None else prepare_out_dir(out or default)
    report = score_factor_data(
        factor_data, chosen, asked=metrics is not None, seed=seed, dci_model=dci_model, bootstrap=bootstrap,
        num_train=num_train, num_eval=num_eval, sampler_notes=codes is None,
    )  # fmt: skip
    caveats = report.caveats
    order = factor_data.row_order or {}
    if order.get("order") == "shuffled" and order.get("requested") == "auto":
        report.notes.append(
            f"rows shuffled with seed {seed} before the {TRAIN_FRACTION:.0%}/{1 - TRAIN_FRACTION:.0%} split because "
            f"{order['reason']}; pass --row-order file for the reference's file-order split"
        )

    n_rows = len(factor_data.codes)
    figures = {}
    if write:
        if "mutual_information" in report.matrices:
            figures["mutual_information"] = f"disentangle-mi.{figure_format}"
        if "dci_importance" in report.matrices:
            figures["dci_importance"] = f"disentangle-dci.{figure_format}"
    report.document = envelope(
        "disentangle",
        checkpoint=checkpoint_block(ckpt, checkpoint) if ckpt is not None else None,
        data=data_block(factor_data.source, factor_data.n_total, n_rows),
        settings={
            "metrics": list(report.metrics),
            "dci_model": dci_model,
            "bootstrap": bootstrap,
            "bin_factors": bin_factors,
            "num_train": num_train,
            "num_eval": num_eval,
            "seed": seed,
            "batch_size": batch_size if ckpt is not None else None,
            "device": device if ckpt is not None else None,
        },
        results={
            "scores": report.scores,
            "intervals": {
                "method": "percentile, shifted by the bootstrap bias; training and test rows resampled separately",
                "confidence": BOOTSTRAP_CONFIDENCE,
                "resamples": bootstrap,
                "values": report.intervals,
            }
            if bootstrap
            else None,
            "estimation": report.estimation,
            "matrices": report.matrices,
            "codes": {
                "representation": factor_data.representation,
                "latent_dim": int(factor_data.codes.shape[1]),
                "latent_shape": list(factor_data.latent_shape),
                "spatial": factor_data.spatial,
            },
            "rows": {
                "n_train": factor_data.train.stop,
                "n_test": n_rows - factor_data.train.stop,
                **({"order": factor_data.row_order} if factor_data.row_order is not None else {}),
            },
            "factors": {
                "names": list(factor_data.factor_names),
                "sizes": [int(s) for s in factor_data.factors.max(axis=0) + 1],
                "binned": bin_factors,
            },
        },
        notes=report.notes,
        caveats=report.caveats,
        figures=figures,
        provenance=provenance(
            "disentangle",
            [str(checkpoint)] if checkpoint is not None else [],
            *((model,) if model is not None else ()),
            selection,
            output,
            settings,
        ),
    )
    if write and out_dir is not None:
        from latentkit.figures.heatmap import plot_factor_code_matrix

        final_dir = out_dir
        with written_into(into, final_dir, "disentangle") as outs:
            out_dir = outs.staging
            matrices = report.matrices
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
            report.files["json"] = atomic_write_json(out_dir / JSON_NAME, report.document)
        report.files = outs.final_paths(report.files)
        out_dir = final_dir
    return report


def score_factor_data(
    factor_data: FactorData,
    chosen: Sequence[str],
    *,
    asked: bool,
    seed: int,
    dci_model: str = DCI_MODEL,
    bootstrap: int = BOOTSTRAP,
    num_train: int | None = None,
    num_eval: int | None = None,
    sampler_notes: bool = False,
) -> DisentangleReport:
    """Run the registry's metrics ``chosen`` on ``factor_data`` (no JSON document, no files).

    A sampler metric the input cannot serve is an error when ``asked`` for by
    name, else skipped with a note. ``sampler_notes`` adds a note that the
    sampler metrics draw their own observations (when ``--n`` chose the rows).
    """
    import time

    notes: list[str] = []
    if factor_data.sampler is None:
        skipped = [m for m in chosen if METRICS[m].needs_sampler]
        if skipped and asked:
            raise LatentkitError(
                f"{', '.join(skipped)} need observations drawn by factor, but {factor_data.sampler_missing_reason}",
                fix="use --data shapes (or a full factorial set), or drop them from --metrics",
            )
        if skipped:
            notes.append(f"skipped {', '.join(skipped)}: {factor_data.sampler_missing_reason}")
        chosen = tuple(m for m in chosen if not METRICS[m].needs_sampler)

    inp = factor_data.metric_input(seed=seed, dci_model=dci_model, num_train=num_train, num_eval=num_eval)
    # The sampler metrics mostly wait for the encoder. When their draws would cover most
    # distinct images, every image is encoded in a background thread while the other metrics
    # run here; the sampler metrics then run last and find their codes ready.
    sampler_metrics = [m for m in chosen if METRICS[m].needs_sampler]
    draws = sum(METRICS[m].observations(inp) for m in sampler_metrics if METRICS[m].observations is not None)
    prefetch = getattr(factor_data.sampler, "prefetch", None)
    prefetching = prefetch(draws) if sampler_metrics and prefetch is not None else None
    runs, timings = {}, {}
    try:
        for metric in [m for m in chosen if not METRICS[m].needs_sampler] + sampler_metrics:
            start = time.perf_counter()
            runs[metric] = METRICS[metric].compute(inp)
            timings[metric] = time.perf_counter() - start
    finally:
        if prefetching is not None:
            prefetching.stop()  # a metric failed before the sampler metrics took their codes
    scores: dict[str, float | None] = {}
    estimation: dict[str, Any] = {}
    matrices: dict[str, np.ndarray] = {}
    for metric in chosen:  # results in the order asked for, whatever order they ran in
        run = runs[metric]
        if METRICS[metric].needs_sampler and sampler_notes:
            notes.append(sampler_n_note(metric, run.estimation["num_train"], run.estimation["num_eval"]))
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
        resamplable = [m for m in chosen if METRICS[m].resamplable]
        intervals = bootstrap_intervals(
            factor_data, resamplable, scores, resamples=bootstrap, seed=seed, dci_model=dci_model
        )
        timings["bootstrap"] = time.perf_counter() - start
    return DisentangleReport(
        tuple(chosen), scores, intervals, notes, {}, estimation=estimation, matrices=matrices, timings=timings,
        caveats=score_caveats(factor_data.codes),
    )  # fmt: skip


def score_caveats(codes: np.ndarray) -> list[str]:
    """What scores of these codes cannot support: too few rows, a collapsed model."""
    from latentkit.analysis import caveats as caveat
    from latentkit.analysis.active_units import active_mask

    code_variance = codes.astype(np.float64).var(axis=0)
    n_active = int(active_mask(code_variance, ACTIVE_THRESHOLD).sum())
    small = caveat.small_sample(len(codes), what="rows")
    caveats = [small] if small else []
    collapsed = caveat.collapsed_model(n_active, codes.shape[1])
    if collapsed and len(codes) >= ACTIVITY_MIN_N:
        caveats.append(
            collapsed + "; the scores and heat maps then measure noise in nearly constant codes, not disentanglement"
        )
    return caveats
