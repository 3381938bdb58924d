"""``latentkit interpolate``: decoded paths between pairs of latent codes, lerp against slerp.

Endpoints are the posterior means of data points for a VAE (chosen with the
seed, or given by index) and prior samples for a GAN. Each path is decoded at
``steps`` points including both ends. Writes ``interpolate.json`` (per mode: the
mean latent norm along the paths against the prior's typical norm √d, and the
paths' smoothness in pixel space), ``interpolate.npz`` (codes, images, modes, t)
and one grid figure with the modes side by side.

``interpolate.json`` (schema ``latentkit.interpolate``, version 2) is the common
envelope (:mod:`latentkit.envelope`); ``data`` is null for a GAN (its endpoints
are prior samples); ``settings``: modes, steps, pairs, seed, batch_size, device;
``figures``: ``grid`` and ``arrays`` (the .npz). ``results``:

================  ==============================================================
``layout``        the latent's shape (kind flat | spatial, latent_shape, channels,
                  positions); a spatial latent is interpolated as one tensor
``t``             the steps, 0 … 1
``prior_norm``    √d, the typical norm of a prior sample (d: every latent value)
``endpoints``     kind (posterior_mean | prior_sample), rows ((pairs, 2) data
                  rows, or null), norm_mean (mean norm of the endpoints)
``modes.<mode>``  norm {mean, min, per_pair_mean} along the paths, norm_ratio
                  (mean / √d); smoothness {mean, max, worst, per_pair_mean,
                  per_pair_max}: per path, the mean and the max of the mean
                  squared pixel difference between consecutive decoded steps
                  (pixel space, images in [0, 1]), averaged over paths (worst:
                  the largest single step of any path)
================  ==============================================================
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from latentkit.analysis import caveats as caveat
from latentkit.analysis.active_units import active_mask
from latentkit.analysis.interpolation import lerp, slerp
from latentkit.analysis.path_metrics import path_norms, path_smoothness, prior_norm
from latentkit.commands._common import default_out_dir
from latentkit.defaults import (
    MAX_PAIRS,
    MAX_PATH_POINTS,
    MAX_STEPS,
    ACTIVE_THRESHOLD,
    BATCH_SIZE,
    COLLAPSE_CHECK_N,
    DEVICE,
    FIGURE_DPI,
    FIGURE_FORMAT,
    INTERPOLATE_MODE,
    INTERPOLATE_MODES,
    INTERPOLATE_PAIRS,
    INTERPOLATE_STEPS,
    SEED,
)
from latentkit.envelope import checkpoint_block, data_block, envelope
from latentkit.errors import LatentkitError
from latentkit.options import DataSelection, ModelInput, OutputSpec, flag, provenance
from latentkit.outputs import to_json

JSON_NAME = "interpolate.json"
ARRAYS_NAME = "interpolate.npz"
PATHS = {"lerp": lerp, "slerp": slerp}


@dataclass(frozen=True)
class InterpolateSettings:
    """interpolate's own settings (beside the model, data and output specs)."""

    mode: str = field(default=INTERPOLATE_MODE, metadata=flag("--mode", always=True))
    steps: int = field(default=INTERPOLATE_STEPS, metadata=flag("--steps", always=True))
    pairs: int | None = field(default=None, metadata=flag("--pairs"))
    from_index: tuple[int, ...] = field(default=(), metadata=flag("--from"))
    to_index: tuple[int, ...] = field(default=(), metadata=flag("--to"))

    def validate(self) -> int:
        """Refuse bad settings before anything is loaded; return the number of pairs."""
        return check_settings(self.mode, self.steps, self.pairs, self.from_index, self.to_index)


@dataclass(frozen=True)
class PathSummary:
    """One mode's headline numbers (the JSON's ``modes.<mode>`` holds them with the per-pair detail)."""

    norm_mean: float  # mean latent norm along the paths
    norm_min: float
    norm_ratio: float  # norm_mean / √d
    smoothness_mean: float  # mean squared pixel difference between consecutive steps, averaged over paths
    smoothness_max: float  # each path's largest step, averaged over paths

    @classmethod
    def of(cls, metrics: dict[str, Any]) -> PathSummary:
        return cls(
            float(metrics["norm"]["mean"]),
            float(metrics["norm"]["min"]),
            float(metrics["norm_ratio"]),
            float(metrics["smoothness"]["mean"]),
            float(metrics["smoothness"]["max"]),
        )


@dataclass
class Interpolation:
    """Result of :func:`interpolate`; ``document`` is exactly what ``interpolate.json`` holds."""

    checkpoint: Path
    modes: tuple[str, ...]
    t: np.ndarray  # (steps,)
    codes: np.ndarray  # (modes, pairs, steps, D): flattened latents, D = C·H·W for a spatial latent
    images: np.ndarray  # (modes, pairs, steps, C, H, W)
    endpoints: np.ndarray | None  # (pairs, 2) data rows (VAE), None for prior samples
    prior_norm: float
    metrics: dict[str, dict[str, Any]]  # per mode, as in the JSON
    originals: np.ndarray | None  # (pairs, 2, C, H, W) the data images at the endpoints (VAE)
    caveats: list[str]  # what the figure cannot support (also drawn on it)
    document: dict[str, Any] = field(repr=False)
    out_dir: Path | None = None
    files: dict[str, Path] = field(default_factory=dict)

    @property
    def summaries(self) -> dict[str, PathSummary]:
        """Per mode, the numbers the console table shows."""
        return {mode: PathSummary.of(self.metrics[mode]) for mode in self.modes}

    def to_json(self) -> str:
        return to_json(self.document)


def check_settings(mode: str, steps: int, pairs: int | None, from_index: Sequence[int], to_index: Sequence[int]) -> int:
    """Refuse bad settings before anything is loaded; return the number of pairs."""
    if mode not in INTERPOLATE_MODES:
        raise LatentkitError(f"unknown --mode {mode!r}", fix=f"use one of {', '.join(INTERPOLATE_MODES)}")
    if not 2 <= steps <= MAX_STEPS:
        raise LatentkitError(
            f"--steps {steps} is outside 2..{MAX_STEPS}", fix=f"pass --steps between 2 and {MAX_STEPS} (both ends are steps)"
        )
    if len(from_index) != len(to_index):
        raise LatentkitError(
            f"{len(from_index)} --from but {len(to_index)} --to", fix="give one --to for every --from"
        )
    if from_index:
        if pairs is not None and pairs != len(from_index):
            raise LatentkitError(
                f"--pairs {pairs} disagrees with the {len(from_index)} --from/--to pair(s)",
                fix="drop --pairs when giving --from/--to",
            )
        if len(from_index) > MAX_PAIRS:
            raise LatentkitError(f"{len(from_index)} --from/--to pairs, more than {MAX_PAIRS}", fix="ask for fewer paths")
        _check_path_points(len(from_index), steps)
        return len(from_index)
    pairs = INTERPOLATE_PAIRS if pairs is None else pairs
    if not 1 <= pairs <= MAX_PAIRS:
        raise LatentkitError(f"--pairs {pairs} is outside 1..{MAX_PAIRS}", fix=f"pass --pairs between 1 and {MAX_PAIRS}")
    _check_path_points(pairs, steps)
    return pairs


def _check_path_points(pairs: int, steps: int) -> None:
    if pairs * steps > MAX_PATH_POINTS:
        raise LatentkitError(
            f"{pairs} paths × {steps} steps = {pairs * steps:,} decoded points, more than {MAX_PATH_POINTS:,}",
            fix="ask for fewer --pairs or --steps",
        )


def path_metrics(codes: np.ndarray, images: np.ndarray, latent_dim: int) -> dict[str, Any]:
    """Norm and smoothness numbers of one mode's paths.

    ``codes`` is (pairs, steps, D) and ``images`` (pairs, steps, C, H, W).
    """
    norms = path_norms(codes)  # (pairs, steps)
    mean_steps, max_steps = path_smoothness(images)
    reference = prior_norm(latent_dim)
    return {
        "norm": {"mean": float(norms.mean()), "min": float(norms.min()), "per_pair_mean": norms.mean(axis=1)},
        "norm_ratio": float(norms.mean() / reference),
        "smoothness": {
            "mean": float(mean_steps.mean()),
            "max": float(max_steps.mean()),
            "worst": float(max_steps.max()),
            "per_pair_mean": mean_steps,
            "per_pair_max": max_steps,
        },
    }


def interpolate(
    checkpoint: str | Path,
    *,
    data: str | None = None,
    out: str | Path | None = None,
    mode: str = INTERPOLATE_MODE,
    steps: int = INTERPOLATE_STEPS,
    pairs: int | None = None,
    from_index: Sequence[int] = (),
    to_index: Sequence[int] = (),
    seed: int = SEED,
    batch_size: int = BATCH_SIZE,
    device: str = DEVICE,
    plugin: str | None = None,
    config: dict[str, Any] | None = None,
    plugin_files: Sequence[str | Path] = (),
    strip_prefix: str | None = None,
    trust_pickles: bool = False,
    figure_format: str = FIGURE_FORMAT,
    dpi: int = FIGURE_DPI,
    write: bool = True,
    progress: Callable[[int], Callable[[int], None]] | None = None,
    prepared: Any | None = None,
) -> Interpolation:
    """Decode ``pairs`` paths of ``steps`` points between latent codes, by lerp and/or slerp.

    VAE endpoints: posterior means of data rows ``from_index[k] → to_index[k]``,
    or of ``2·pairs`` distinct rows drawn with ``seed``. GAN endpoints: ``2·pairs``
    prior samples drawn with ``seed`` (a GAN has no encoder, so ``data`` and
    indices are refused). ``pairs`` defaults to ``INTERPOLATE_PAIRS`` (or the
    number of ``from_index``). With ``write`` the JSON, the arrays and the
    figure go to ``out`` (default ``latentkit-out/<stem>-<hash>/``).
    """
    model = ModelInput(
        checkpoint, device, batch_size, plugin, config, tuple(plugin_files), strip_prefix, trust_pickles
    )
    selection = DataSelection(data, None, seed)
    output = OutputSpec(Path(out) if out is not None else None, figure_format, write, dpi)
    settings = InterpolateSettings(mode, steps, pairs, tuple(from_index), tuple(to_index))
    n_pairs = settings.validate()
    for spec in (model, selection, output):
        spec.validate()
    ckpt = model.open() if prepared is None else prepared.checkpoint
    if ckpt.kind != "vae" and (from_index or data is not None):
        raise LatentkitError(
            f"{ckpt.path.name} is a {ckpt.kind.upper()} ({ckpt.plugin}): it has no encoder, so its endpoints "
            "cannot be data points",
            fix="drop --from/--to and --data; a GAN's endpoints are prior samples drawn with --seed",
        )
    modes = ("lerp", "slerp") if mode == "both" else (mode,)
    t = np.linspace(0.0, 1.0, steps)

    from latentkit.analysis.layout import LatentLayout
    from latentkit.decode import decode_codes, prior_codes
    from latentkit.encode import encode_codes
    from latentkit.models.protocols import latent_shape_of

    source = None
    endpoints = None
    originals = None
    check_rows = np.zeros(0, dtype=np.int64)
    if ckpt.kind == "vae":
        source = selection.open(ckpt) if prepared is None else prepared.source
        endpoints = _data_endpoints(len(source), n_pairs, from_index, to_index, seed, source.name)
        # a sample of the data, to say whether the model is collapsed (the endpoints alone are too few)
        check_rows = selection.rows(len(source), default=COLLAPSE_CHECK_N, name=source.name)
    total = (endpoints.size + len(check_rows) if endpoints is not None else 0) + len(modes) * n_pairs * steps
    advance = progress(total) if progress else None
    caveats: list[str] = []
    if endpoints is not None:
        rows = endpoints.ravel()
        if prepared is not None:
            ends, layout = prepared.codes_of(rows, progress=advance)
        else:
            ends, layout = encode_codes(ckpt.model, source, rows, batch_size=batch_size, device=device, progress=advance)
        ends = ends.reshape(n_pairs, 2, -1)
        originals = source.get(rows).reshape(n_pairs, 2, *source.image_shape)
        if prepared is not None:  # per channel (position-averaged) for a spatial latent, as kl-report
            sample, _ = prepared.codes_of(check_rows, spatial="channel-mean", progress=advance)
        else:
            sample, _ = encode_codes(
                ckpt.model, source, check_rows, batch_size=batch_size, device=device, spatial="channel-mean",
                progress=advance,
            )  # fmt: skip
        n_active = int(active_mask(sample.astype(np.float64).var(axis=0), ACTIVE_THRESHOLD).sum())
        caveats += [
            c for c in (caveat.small_sample(len(check_rows)), caveat.collapsed_model(n_active, layout.channels)) if c
        ]
    else:
        layout = LatentLayout(latent_shape_of(ckpt.model))
        ends = prior_codes(ckpt.model, 2 * n_pairs, seed=seed).reshape(n_pairs, 2, -1)
    start, end = ends[:, 0], ends[:, 1]
    codes = np.stack([PATHS[m](start, end, t) for m in modes])  # (modes, pairs, steps, D)
    image_shape = tuple(source.image_shape) if source is not None else None
    images = decode_codes(
        ckpt.model,
        codes,
        batch_size=batch_size,
        device=device,
        image_shape=image_shape,
        latent_shape=layout.shape,
        progress=advance,
    )
    latent_dim = layout.size
    metrics = {m: path_metrics(codes[i], images[i], latent_dim) for i, m in enumerate(modes)}
    identical = caveat.identical_cells_caveat(images)
    if identical:
        caveats.append(identical)

    figures = {"grid": f"interpolate.{figure_format}", "arrays": ARRAYS_NAME} if write else {}
    document = envelope(
        "interpolate",
        checkpoint=checkpoint_block(ckpt, checkpoint),
        data=data_block(source.name, len(source), endpoints.size) if source is not None else None,
        settings={
            "modes": list(modes),
            "steps": steps,
            "pairs": n_pairs,
            "seed": seed,
            "batch_size": batch_size,
            "device": device,
        },
        results={
            "layout": layout.to_document(),
            "t": t,
            "prior_norm": prior_norm(latent_dim),
            "endpoints": {
                "kind": "posterior_mean" if endpoints is not None else "prior_sample",
                "rows": endpoints,
                "norm_mean": float(np.linalg.norm(ends.astype(np.float64), axis=-1).mean()),
            },
            "modes": metrics,
        },
        notes=[],
        caveats=caveats,
        figures=figures,
        provenance=provenance(
            "interpolate",
            [str(checkpoint)],
            model,
            selection,
            output,
            # --pairs is implied by --from/--to when they are given
            InterpolateSettings(mode, steps, None if from_index else n_pairs, tuple(from_index), tuple(to_index)),
        ),
    )
    result = Interpolation(
        checkpoint=Path(checkpoint),
        modes=modes,
        t=t,
        codes=codes,
        images=images,
        endpoints=endpoints,
        prior_norm=prior_norm(latent_dim),
        metrics=metrics,
        originals=originals,
        caveats=caveats,
        document=document,
    )
    if write:
        _write(result, out or default_out_dir(checkpoint), figures, figure_format, Path(checkpoint).name, dpi)
    return result


def _data_endpoints(
    size: int, pairs: int, from_index: Sequence[int], to_index: Sequence[int], seed: int, name: str
) -> np.ndarray:
    """(pairs, 2) data rows: the given indices (checked), or 2·pairs distinct rows drawn with ``seed``."""
    if from_index:
        for flag, values in (("--from", from_index), ("--to", to_index)):
            for value in values:
                if not 0 <= value < size:
                    raise LatentkitError(
                        f"{flag} {value} is out of range: {name} has {size} rows (0..{size - 1})",
                        fix=f"pass an index from 0 to {size - 1}",
                    )
        return np.array([from_index, to_index], dtype=np.int64).T
    if 2 * pairs > size:
        raise LatentkitError(
            f"{name} has {size} rows, too few for {pairs} pairs of distinct endpoints",
            fix=f"pass --pairs {size // 2} or less" if size >= 2 else "use a data set with at least 2 rows",
        )
    rows = np.random.default_rng(seed).choice(size, size=2 * pairs, replace=False)
    return rows.astype(np.int64).reshape(pairs, 2)


def _write(
    result: Interpolation, out: str | Path, figures: dict[str, str], fmt: str, checkpoint_name: str, dpi: int
) -> None:
    from latentkit.figures.grid import plot_interpolation_grid
    from latentkit.outputs import atomic_write_json, atomic_write_npz, output_set

    with output_set(out, "interpolate") as outs:
        out_dir = outs.staging
        result.out_dir = out_dir
        result.files["arrays"] = atomic_write_npz(
            out_dir / ARRAYS_NAME,
            {"codes": result.codes, "images": result.images, "modes": np.array(result.modes), "t": result.t},
        )
        if result.endpoints is not None:
            row_labels = [f"#{a} → #{b}" for a, b in result.endpoints]
        else:
            row_labels = [f"prior pair {k + 1}" for k in range(result.codes.shape[1])]
        notes = [
            f"mean ‖z‖ {m['norm']['mean']:.2f} (√d = {result.prior_norm:.2f})\n"
            f"frame-to-frame MSE {m['smoothness']['mean']:.2g}"
            for m in (result.metrics[mode] for mode in result.modes)
        ]
        result.files["figure"] = plot_interpolation_grid(
            result.images,
            result.t,
            result.modes,
            out_dir / figures["grid"],
            row_labels=row_labels,
            originals=result.originals,
            mode_notes=notes,
            caveats=result.caveats,
            dpi=dpi,
            title=f"{checkpoint_name}: paths between "
            + ("posterior means of data points" if result.endpoints is not None else "prior samples"),
            fmt=fmt,
        )
        result.files["json"] = atomic_write_json(out_dir / JSON_NAME, result.document)
    result.files = outs.final_paths(result.files)
    result.out_dir = outs.out_dir
