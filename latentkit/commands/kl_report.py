"""``latentkit kl-report``: which latent dimensions carry information, which collapsed, and their scale.

One streaming pass of the encoder over the data gives, per dimension, the
average KL(q(z_i|x) ‖ N(0, 1)) and the variance of the posterior mean over the
data (active units, Burda et al. 2016), and the latent scale: the
``scaling_factor`` and per-channel mean/std that make the latents unit-variance
(see :mod:`latentkit.analysis.latent_scale`). Writes ``kl-report.json``, a bar
chart, per-channel histograms of sampled latents and, for a latent with
positions, a per-position KL map.

Spatial latents (C, H, W, or any shape beyond a vector) are reported per
channel: a channel's KL is summed over its positions (so channels add up to the
total), and a channel is active when the variance over the data of its
position-averaged posterior mean exceeds the threshold. ``layout`` in the JSON
says which layout was used; a flat code is the case of one position per channel.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from latentkit.analysis.active_units import active_mask
from latentkit.analysis.kl import kl_share
from latentkit.analysis.latent_scale import (
    LatentScale,
    compare_with_config,
    latent_scale,
    model_normalization,
    scale_notes,
)
from latentkit.analysis.layout import LatentLayout
from latentkit.commands._common import require_vae
from latentkit.analysis import caveats as caveat
from latentkit.defaults import (
    ACTIVE_THRESHOLD,
    ACTIVITY_MIN_N,
    ACTIVITY_UNDECIDED_SE,
    BATCH_SIZE,
    DEVICE,
    FIGURE_DPI,
    FIGURE_FORMAT,
    SEED,
    WORKERS,
)
from latentkit.envelope import checkpoint_block, data_block, envelope
from latentkit.errors import LatentkitError
from latentkit.options import DataSelection, ModelInput, OutputSpec, flag, provenance
from latentkit.outputs import atomic_write_json, to_json, written_into

JSON_NAME = "kl-report.json"
# Below this average KL per active dimension, information is spread thinly.
TINY_KL_NATS = 0.05


@dataclass(frozen=True)
class KLSettings:
    """kl-report's own settings (beside the model, data and output specs)."""

    active_threshold: float = field(default=ACTIVE_THRESHOLD, metadata=flag("--active-threshold"))

    def validate(self) -> None:
        if not 0 <= self.active_threshold <= 1e12:  # NaN fails too; beyond 1e12 no variance of codes is meant
            raise LatentkitError(
                f"--active-threshold {self.active_threshold} is outside 0..1e12", fix="pass a value ≥ 0 (default 0.01)"
            )


@dataclass
class KLReport:
    """Result of :func:`kl_report`; ``document`` is exactly what ``kl-report.json`` holds."""

    checkpoint: Path
    source: str  # the data source's name
    per_dim: np.ndarray  # average KL per dimension (per channel, summed over positions), nats
    per_dim_stderr: np.ndarray  # standard error of that average over the data
    share: np.ndarray
    total: float
    mean_variance: np.ndarray  # Var_x of the (position-averaged) posterior mean per dimension/channel
    mean_sigma2: np.ndarray  # average posterior variance per dimension/channel
    active: np.ndarray  # bool mask
    threshold: float
    n: int
    notes: list[str]  # the diagnosis
    caveats: list[str]  # what the figure and the numbers cannot support (also drawn on the figure)
    undecided: np.ndarray  # bool mask: Var(μ) too close to the threshold for this n
    layout: LatentLayout
    per_position: np.ndarray  # (C, *spatial) average KL at each position of each channel
    scale: LatentScale
    scale_comparison: dict[str, Any]  # the scale against the model's own normalisation constants, by name
    document: dict[str, Any] = field(repr=False)
    out_dir: Path | None = None
    files: dict[str, Path] = field(default_factory=dict)

    @property
    def active_units(self) -> int:
        return int(self.active.sum())

    @property
    def collapsed(self) -> list[int]:
        return [int(i) for i in np.flatnonzero(~self.active)]

    @property
    def diagnosis(self) -> list[str]:
        """The notes (called the diagnosis before the JSON envelope; kept for the Python API)."""
        return self.notes

    def to_json(self) -> str:
        return to_json(self.document)


def _nats(value: float) -> str:
    return f"{value:.2f}" if value >= 0.01 or value == 0 else f"{value:.1e}"


def training_beta(metadata: dict[str, str]) -> float | None:
    """β recorded in a checkpoint's ``latentkit.training`` metadata, or None when it does not say."""
    import json

    try:
        beta = json.loads(metadata.get("training") or "{}").get("beta")
    except (ValueError, AttributeError):
        return None
    return float(beta) if isinstance(beta, (int, float)) and not isinstance(beta, bool) else None


def diagnose(
    per_dim: np.ndarray,
    active: np.ndarray,
    *,
    n: int,
    beta: float | None = None,
    undecided: np.ndarray | None = None,
    unit: str = "dimension",
) -> list[str]:
    """Short, actionable readings of a KL report (empty when nothing stands out).

    ``beta`` is the KL weight the checkpoint says it was trained with (None:
    unknown). Under ``ACTIVITY_MIN_N`` points nothing about activity is
    claimed: the only reading is that the sample is too small to decide.
    ``unit`` names what ``per_dim`` counts (``"channel"`` for a latent with
    positions). A nearly deterministic posterior is flagged by
    :func:`~latentkit.analysis.latent_scale.scale_notes`.
    """
    if n < ACTIVITY_MIN_N:
        return [
            f"n = {n} points are too few to decide which {unit}s are active or collapsed (need ≥ "
            f"{ACTIVITY_MIN_N}: Var(μ) over n points has a relative standard error of √(2/(n−1)) = "
            f"{np.sqrt(2 / max(n - 1, 1)):.0%}{'' if n > 1 else ', and is 0 for a single point'}). "
            f"Run on more data (--n {ACTIVITY_MIN_N} or more, or no --n)."
        ]
    d = len(per_dim)
    n_active = int(active.sum())
    notes = []
    beta_text = f"β = {beta:g}, from the checkpoint's metadata" if beta is not None else ""
    if n_active == 0:
        notes.append(
            "No active units: the posterior has collapsed to the prior everywhere and the decoder ignores z"
            + (f" ({beta_text})" if beta_text else "")
            + ". Try a lower β, KL annealing (warm-up) or free bits, or a weaker decoder."
        )
    elif n_active <= d // 2:
        lead = f"{d - n_active} of {d} {unit}s collapsed to the prior (posterior collapse)."
        if beta is None:
            tail = " If the model is a β-VAE with a large β this is expected; otherwise try KL annealing or a smaller latent_dim."
        elif beta > 1:
            tail = f" Expected for a β-VAE with large β ({beta_text}); lower β to keep more {unit}s."
        else:
            tail = (
                f" The KL weight does not explain it ({beta_text}): try KL annealing, free bits or a smaller "
                "latent_dim."
            )
        notes.append(lead + tail)
    if n_active == d and d > 1 and float(per_dim.max()) < TINY_KL_NATS:
        notes.append(
            f"Every {unit} is active but each carries under {TINY_KL_NATS} nats: information is spread "
            "thinly; the code may track noise. Check reconstructions, or raise β to concentrate it."
        )
    leaky = np.flatnonzero(~active & (per_dim > 0.1))
    if leaky.size:
        dims = ", ".join(str(i) for i in leaky[:8])
        notes.append(
            f"{unit.capitalize()}(s) {dims} cost KL but their posterior mean does not move with the input: the posterior "
            "variance departs from the prior without carrying information."
        )
    if undecided is not None and undecided.any():
        dims = ", ".join(str(i) for i in np.flatnonzero(undecided))
        notes.append(
            f"{unit.capitalize()}(s) {dims}: Var(μ) is within {ACTIVITY_UNDECIDED_SE:g} standard errors of the threshold at "
            f"n = {n}; whether they are active could change with more data."
        )
    return notes


def kl_report(
    checkpoint: str | Path,
    *,
    data: str | None = None,
    out: str | Path | None = None,
    active_threshold: float = ACTIVE_THRESHOLD,
    batch_size: int = BATCH_SIZE,
    n: int | None = None,
    seed: int = SEED,
    device: str = DEVICE,
    plugin: str | None = None,
    config: dict[str, Any] | None = None,
    plugin_files: Sequence[str | Path] = (),
    strip_prefix: str | None = None,
    trust_pickles: bool = False,
    workers: int = WORKERS,
    figure_format: str = FIGURE_FORMAT,
    dpi: int = FIGURE_DPI,
    write: bool = True,
    progress: Callable[[int], Callable[[int], None]] | None = None,
    prepared: Any | None = None,
    into: Path | None = None,
) -> KLReport:
    """Per-dimension KL, total KL and active units of a VAE checkpoint over ``data``.

    ``n`` rows (default: every row) are a reproducible random subset chosen with
    ``seed``; every setting is checked before the checkpoint is opened.
    ``plugin``/``config`` override the checkpoint's metadata; ``plugin_files``
    adds plugins from local files. ``progress(total)`` may return a per-batch
    callback. ``prepared`` (a :class:`~latentkit.commands._prepared.Prepared`) supplies the
    checkpoint, data and encoded codes already at hand. With ``write`` the
    JSON and the figure go to ``out`` (default ``latentkit-out/<stem>-<hash>/``), or straight into
    the folder ``into`` (a sweep's staging subfolder; the sweep commits it).
    """
    model = ModelInput(
        checkpoint, device, batch_size, plugin, config, tuple(plugin_files), strip_prefix, trust_pickles, workers
    )
    selection = DataSelection(data, n, seed)
    output = OutputSpec(Path(out) if out is not None else None, figure_format, write, dpi)
    settings = KLSettings(active_threshold)
    for spec in (model, selection, output, settings):
        spec.validate()
    out_dir = (output.out_dir(checkpoint) if into is None else Path(into)) if write else None
    ckpt = model.open() if prepared is None else prepared.checkpoint
    require_vae(ckpt, "kl-report")
    whole = selection.open(ckpt) if prepared is None else prepared.source
    source = selection.subset(whole, default=None)

    from latentkit.encode import encode_posterior

    result = prepared.posterior(source) if prepared is not None else None
    if result is None:
        callback = progress(len(source)) if progress else None
        result = encode_posterior(
            ckpt.model, source, batch_size=batch_size, device=device, sample_seed=seed, progress=callback,
            workers=workers,
        )  # fmt: skip
    stats = result.stats
    layout = stats.layout
    unit = "channel" if layout.kind == "spatial" else "dimension"
    per_dim = stats.channel_kl.mean.copy()
    per_position = stats.kl.mean.reshape(layout.shape)
    mean_variance = stats.channel_mean.variance(ddof=0)
    active = active_mask(mean_variance, active_threshold)
    mean_sigma2 = layout.channel_mean(stats.variance.mean)
    n = stats.count
    variance_se = caveat.variance_standard_error(mean_variance, n)
    undecided = caveat.undecided_dimensions(mean_variance, n, active_threshold)
    beta = training_beta(ckpt.metadata)
    assert stats.samples is not None
    scale = latent_scale(stats.mean, stats.variance, stats.samples, layout)
    try:
        comparison = compare_with_config(scale, model_normalization(ckpt.model, ckpt.config))
        mismatch = []
    except ValueError as exc:
        comparison, mismatch = {}, [f"Not compared with the model's normalisation: {exc}."]
    notes = diagnose(per_dim, active, n=n, beta=beta, undecided=undecided, unit=unit)
    notes += scale_notes(scale, comparison, active) + mismatch
    caveats = [
        c
        for c in (
            caveat.small_sample(n),
            caveat.collapsed_model(int(active.sum()), len(per_dim), active_threshold) if n >= ACTIVITY_MIN_N else None,
        )
        if c
    ]
    share = kl_share(per_dim)

    figures = {"kl_per_dim": f"kl-report.{figure_format}", "latent_histograms": f"kl-report-scale.{figure_format}"}
    if layout.kind == "spatial":
        figures["kl_per_position"] = f"kl-report-positions.{figure_format}"
    document = envelope(
        "kl-report",
        checkpoint=checkpoint_block(ckpt, checkpoint),
        data=data_block(whole.name, len(whole), stats.count),
        settings={"active_threshold": active_threshold, "seed": seed, "batch_size": batch_size, "device": device},
        results={
            "layout": layout.to_document(),
            "kl": {
                "total": float(per_dim.sum()),
                "per_dim": per_dim,
                "per_dim_stderr": stats.channel_kl.standard_error() if stats.count > 1 else None,
                "share": share,
                "per_position": per_position if layout.kind == "spatial" else None,
            },
            "active_units": int(active.sum()),
            "collapsed_units": int((~active).sum()),
            "active": [int(i) for i in np.flatnonzero(active)],
            "collapsed": [int(i) for i in np.flatnonzero(~active)],
            "posterior": {
                "mean_variance": mean_variance,
                "mean_variance_stderr": variance_se if n > 1 else None,
                "undecided": [int(i) for i in np.flatnonzero(undecided)] if n > 1 else None,
                "mean_sigma2": mean_sigma2,
            },
            "training_beta": beta,
            "scale": {
                **scale.to_document(),
                "config": comparison,
                "histograms": {
                    "edges": scale.histograms["edges"],
                    "counts": scale.histograms["counts"],
                    "subsample_per_channel": scale.histograms["subsample_per_channel"],
                },
            },
        },
        notes=notes,
        caveats=caveats,
        figures=figures if write else {},
        provenance=provenance("kl-report", [str(checkpoint)], model, selection, output, settings),
    )
    report = KLReport(
        checkpoint=Path(checkpoint),
        source=whole.name,
        per_dim=per_dim,
        per_dim_stderr=document["results"]["kl"]["per_dim_stderr"],
        share=share,
        total=float(per_dim.sum()),
        mean_variance=mean_variance,
        mean_sigma2=mean_sigma2,
        active=active,
        threshold=active_threshold,
        n=stats.count,
        notes=notes,
        caveats=caveats,
        undecided=undecided,
        layout=layout,
        per_position=per_position,
        scale=scale,
        scale_comparison=comparison,
        document=document,
        out_dir=out_dir,
    )
    if write and out_dir is not None:
        from latentkit.figures.kl import plot_kl_per_dimension

        final_dir = out_dir
        with written_into(into, final_dir, "kl-report") as outs:
            out_dir = outs.staging
            report.files["figure"] = plot_kl_per_dimension(
                per_dim,
                active,
                out_dir / figures["kl_per_dim"],
                mean_variance=mean_variance,
                threshold=active_threshold,
                undecided=undecided,
                title=f"{Path(checkpoint).name}: {int(active.sum())}/{len(per_dim)} active, "
                f"KL {_nats(float(per_dim.sum()))} nats (n = {n})",
                unit=unit,
                caveats=caveats,
                fmt=figure_format,
                dpi=dpi,
            )
            _write_scale_figures(report, out_dir, figures, Path(checkpoint).name, comparison, figure_format, dpi)
            report.files["json"] = atomic_write_json(out_dir / JSON_NAME, document)
        report.files = outs.final_paths(report.files)
        out_dir = final_dir
    return report


def _write_scale_figures(
    report: KLReport,
    out_dir: Path,
    figures: dict[str, str],
    name: str,
    comparison: dict[str, Any],
    fmt: str,
    dpi: int,
) -> None:
    """The latent histograms and, for a spatial latent, the per-position KL maps."""
    from latentkit.figures.latent_scale import plot_latent_histograms

    unit = "channel" if report.layout.kind == "spatial" else "dimension"
    report.files["latent_histograms"] = plot_latent_histograms(
        report.scale,
        out_dir / figures["latent_histograms"],
        title=f"{name}: sampled latents per {unit} over {report.n} items",
        config_scaling_factor=comparison.get("scaling_factor", {}).get("config"),
        fmt=fmt,
        dpi=dpi,
    )
    if "kl_per_position" in figures:
        from latentkit.figures.kl_map import plot_kl_per_position

        report.files["kl_per_position"] = plot_kl_per_position(
            report.layout.per_position(report.per_position.reshape(-1)),
            report.per_dim,
            report.active,
            out_dir / figures["kl_per_position"],
            title=f"{name}: average KL at each position of each channel [nats]",
            fmt=fmt,
            dpi=dpi,
        )
