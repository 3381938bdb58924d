"""``latentkit traverse``: vary one latent dimension at a time and decode (the disentanglement picture).

Each row varies one dimension over a range (default −3..3, or the quantiles of
its posterior means) with every other dimension held at a base code (a data
point's posterior mean, or zero). VAE rows are ordered by KL, collapsed
dimensions last (or hidden); GAN rows by decoder sensitivity.

A spatial latent (C, H, W, or any shape with positions) is traversed one
channel at a time: every position of the channel is shifted together, so that
the channel's position-averaged value takes the row's values while its spatial
pattern (from the base code) is kept; rows are labelled by channel, and KL,
active and sensitivity are per channel. A flat code is the case of one
position per channel (the dimension takes the value).

``traverse.json`` also gives each dimension's decoder sensitivity, the mean
squared change of the decoded output per unit change of that dimension around
base codes (central differences), which catches dimensions the encoder uses
but the decoder ignores, and the reverse.

``traverse.json`` (schema ``latentkit.traverse``, version 2) is the common
envelope (:mod:`latentkit.envelope`); ``data`` is null for a GAN; ``settings``:
range (R or "quantile"), quantiles, steps, base, active_only, sensitivity_n,
sensitivity_step, ignored_below {relative, absolute}, active_threshold, seed,
batch_size, device; ``notes``: where encoder and decoder disagree about a
dimension; ``figures``: ``traversal``, ``arrays`` (and ``gif``). ``results``:

================  ==============================================================
``layout``        kind (flat | spatial), latent_shape, channels, positions
``base``          kind (posterior_mean | zero), index (data row or null), code
``rows``          in figure order: dim (the channel, for a spatial latent),
                  values, kl, active, sensitivity, base_value, unchanged
``dimensions``    index = dimension or channel: kl, active (null for a GAN), sensitivity,
                  relative_sensitivity, decoder_ignores (list of dimensions)
================  ==============================================================

``traverse.npz``: ``codes`` (rows, steps, D), ``images`` (rows, steps, C, H, W),
``dims`` (rows,), ``values`` (rows, steps), ``base_code`` (D,), ``latent_shape``;
codes are flattened latents (reshape the last axis to ``latent_shape``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from latentkit.analysis import caveats as caveat
from latentkit.analysis.active_units import active_mask
from latentkit.analysis.layout import LatentLayout
from latentkit.analysis.path_metrics import finite_difference_sensitivity
from latentkit.commands._common import default_out_dir
from latentkit.defaults import (
    MAX_STEPS,
    ACTIVE_THRESHOLD,
    ACTIVITY_MIN_N,
    BATCH_SIZE,
    DEVICE,
    FIGURE_DPI,
    FIGURE_FORMAT,
    SEED,
    TRAVERSE_IGNORED_SENSITIVITY,
    TRAVERSE_IGNORED_SENSITIVITY_ABSOLUTE,
    TRAVERSE_N,
    TRAVERSE_QUANTILES,
    TRAVERSE_RANGE,
    TRAVERSE_SENSITIVITY_N,
    TRAVERSE_SENSITIVITY_STEP,
    TRAVERSE_STEPS,
)
from latentkit.envelope import checkpoint_block, data_block, envelope
from latentkit.errors import LatentkitError
from latentkit.options import DataSelection, ModelInput, OutputSpec, flag, provenance
from latentkit.outputs import to_json

JSON_NAME = "traverse.json"
ARRAYS_NAME = "traverse.npz"
GIF_NAME = "traverse.gif"
BASES = ("data", "zero")


@dataclass(frozen=True)
class TraverseSettings:
    """traverse's own settings (beside the model, data and output specs)."""

    value_range: float | str = field(default=TRAVERSE_RANGE, metadata=flag("--range", always=True))
    steps: int = field(default=TRAVERSE_STEPS, metadata=flag("--steps", always=True))
    base: str | int | None = field(default=None, metadata=flag("--base"))
    active_only: bool = field(default=False, metadata=flag("--active-only"))
    gif: bool = field(default=False, metadata=flag("--gif"))

    def validate(self) -> TraverseSettings:
        """The settings parsed and checked (before anything is loaded)."""
        if not 2 <= self.steps <= MAX_STEPS:
            raise LatentkitError(
                f"--steps {self.steps} is outside 2..{MAX_STEPS}", fix=f"pass --steps between 2 and {MAX_STEPS}"
            )
        return TraverseSettings(parse_range(self.value_range), self.steps, parse_base(self.base), self.active_only, self.gif)


@dataclass
class Traversal:
    """Result of :func:`traverse`; ``document`` is exactly what ``traverse.json`` holds."""

    dims: np.ndarray  # (rows,) the dimension (channel) each row varies, in figure order
    values: np.ndarray  # (rows, steps) the values that dimension (its position average) takes
    base_code: np.ndarray  # (D,) every other dimension's value, flattened
    codes: np.ndarray  # (rows, steps, D) flattened latents
    layout: LatentLayout
    images: np.ndarray  # (rows, steps, C, H, W)
    kl: np.ndarray | None  # (D,) per-dimension KL (VAE)
    active: np.ndarray | None  # (D,) bool (VAE)
    sensitivity: np.ndarray  # (D,)
    relative_sensitivity: np.ndarray  # (D,) sensitivity / its largest value
    sensitivity_n: int  # base codes the sensitivity is averaged over
    notes: list[str]
    checkpoint: Path
    caveats: list[str]  # what the figure cannot support (also drawn on it)
    document: dict[str, Any] = field(repr=False)
    out_dir: Path | None = None
    files: dict[str, Path] = field(default_factory=dict)

    def to_json(self) -> str:
        return to_json(self.document)


def parse_range(value: float | str) -> float | str:
    """``--range``: a positive number R (values −R..R) or ``quantile``."""
    if isinstance(value, str):
        if value == "quantile":
            return value
        try:
            value = float(value)
        except ValueError:
            raise LatentkitError(
                f"--range {value!r} is neither a number nor 'quantile'", fix="pass e.g. --range 3 or --range quantile"
            ) from None
    if not (np.isfinite(value) and value > 0):
        raise LatentkitError(f"--range {value} is not a positive number", fix="pass e.g. --range 3 (values -3..3)")
    return float(value)


def parse_base(value: str | int | None) -> str | int | None:
    """``--base``: ``data``, ``zero`` or a data row index."""
    if value is None or value in BASES:
        return value
    try:
        index = int(value)
    except (TypeError, ValueError):
        raise LatentkitError(
            f"--base {value!r} is not one of data, zero or a row index", fix="pass --base data, --base zero or --base 12"
        ) from None
    if index < 0:
        raise LatentkitError(f"--base {index} is a negative row index", fix="pass a row index from 0")
    return index


def decoder_sensitivity(
    model: Any,
    bases: np.ndarray,
    directions: np.ndarray,
    *,
    step: float,
    batch_size: int,
    device: str,
    image_shape: Any = None,
    latent_shape: tuple[int, ...] | None = None,
) -> np.ndarray:
    """Per direction u_i (rows of ``directions``, (K, D)): mean over ``bases`` (n, D) and pixels
    of ((x(z + h u_i) − x(z − h u_i)) / 2h)²; u_i = e_i for a flat code, the indicator of
    channel i's positions for a spatial one."""
    from latentkit.decode import decode_codes

    shifts = directions.astype(np.float32) * np.float32(step)  # (K, D)
    plus = bases[None, :, :] + shifts[:, None, :]  # (K, n, D)
    minus = bases[None, :, :] - shifts[:, None, :]
    images = decode_codes(
        model,
        np.stack([plus, minus]),
        batch_size=batch_size,
        device=device,
        image_shape=image_shape,
        latent_shape=latent_shape,
    )  # (2, K, n, C, H, W)
    return np.array([finite_difference_sensitivity(images[0, i], images[1, i], step) for i in range(len(shifts))])


def channel_codes(base_code: np.ndarray, dims: np.ndarray, values: np.ndarray, layout: LatentLayout) -> np.ndarray:
    """(rows, steps, D) codes: row r shifts every position of channel ``dims[r]`` of ``base_code``
    together so that the channel's position average equals ``values[r, s]``; the rest stays."""
    base_code = np.asarray(base_code, dtype=np.float64)
    directions = layout.channel_directions()[dims]  # (rows, D)
    offsets = values - layout.channel_mean(base_code)[dims][:, None]  # (rows, steps)
    return base_code[None, None, :] + offsets[:, :, None] * directions[:, None, :]


def traverse(
    checkpoint: str | Path,
    *,
    data: str | None = None,
    out: str | Path | None = None,
    value_range: float | str = TRAVERSE_RANGE,
    steps: int = TRAVERSE_STEPS,
    base: str | int | None = None,
    active_only: bool = False,
    n: int | None = None,
    gif: bool = False,
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
) -> Traversal:
    """Traverse every latent dimension of a checkpoint, one row per dimension.

    ``value_range``: R for the values −R..R, or ``"quantile"`` for the
    ``TRAVERSE_QUANTILES`` range of each dimension's posterior means (VAE),
    evenly spaced in quantile level. ``base``: ``"data"`` (a data point drawn
    with ``seed``; the VAE default), ``"zero"`` (the GAN default) or a data row
    index. A VAE encodes ``n`` data points (default all up to ``TRAVERSE_N``)
    for the KL order, the quantiles and the sensitivity's base codes.
    """
    model = ModelInput(
        checkpoint, device, batch_size, plugin, config, tuple(plugin_files), strip_prefix, trust_pickles
    )
    selection = DataSelection(data, n, seed)
    output = OutputSpec(Path(out) if out is not None else None, figure_format, write, dpi)
    settings = TraverseSettings(value_range, steps, base, active_only, gif).validate()
    for spec in (model, selection, output):
        spec.validate()
    value_range, base = settings.value_range, settings.base
    ckpt = model.open() if prepared is None else prepared.checkpoint
    is_vae = ckpt.kind == "vae"
    if not is_vae:
        asked = [
            flag
            for flag, given in (
                ("--data", data is not None),
                ("--range quantile", value_range == "quantile"),
                ("--base data/INDEX", base not in (None, "zero")),
                ("--active-only", active_only),
                ("--n", n is not None),
            )
            if given
        ]
        if asked:
            raise LatentkitError(
                f"{', '.join(asked)} need an encoder, but {ckpt.path.name} is a {ckpt.kind.upper()} ({ckpt.plugin})",
                fix="drop them: a GAN is traversed around --base zero over a fixed --range",
            )
    base = base if base is not None else ("data" if is_vae else "zero")

    from latentkit.decode import decode_codes, prior_codes
    from latentkit.encode import encode_rows
    from latentkit.models.protocols import latent_shape_of

    layout = LatentLayout(latent_shape_of(ckpt.model))  # the encoder's output refines it below

    source = rows = means = kl = active = None
    base_index: int | None = None
    if is_vae:
        source = selection.open(ckpt) if prepared is None else prepared.source
        rows = selection.rows(len(source), default=TRAVERSE_N, name=source.name)
        if isinstance(base, int) and base >= len(source):
            raise LatentkitError(
                f"--base {base} is out of range: {source.name} has {len(source)} rows (0..{len(source) - 1})",
                fix=f"pass a row index from 0 to {len(source) - 1}",
            )
    sensitivity_n = min(TRAVERSE_SENSITIVITY_N, len(rows)) if rows is not None else TRAVERSE_SENSITIVITY_N
    total = (len(rows) if rows is not None else 0) + steps * layout.channels
    advance = progress(total) if progress else None

    if is_vae:
        from latentkit.data.source import Subset
        from latentkit.encode import encode_posterior

        subset = Subset(source, rows)
        encoded = prepared.posterior(subset) if prepared is not None else None
        if encoded is None:
            encoded = encode_posterior(
                ckpt.model, subset, batch_size=batch_size, device=device, keep_means=True, progress=advance
            )
        elif advance:
            advance(len(rows))
        means = encoded.means.astype(np.float64)
        layout = encoded.layout
        kl = encoded.stats.channel_kl.mean.copy()
        active = active_mask(encoded.stats.channel_mean.variance(ddof=0), ACTIVE_THRESHOLD)
        rng = np.random.default_rng(seed)
        if base == "data":
            pick = int(rng.integers(len(rows)))
            base_index, base_code = int(rows[pick]), means[pick]
        elif isinstance(base, int):
            base_index = base
            if prepared is not None:
                base_code = prepared.codes_of(np.array([base]))[0][0].astype(np.float64)
            else:
                base_code = encode_rows(ckpt.model, source, np.array([base]), batch_size=1, device=device)[0]
        else:
            base_code = np.zeros(layout.size)
        sensitivity_bases = means[np.sort(rng.permutation(len(rows))[:sensitivity_n])]
    else:
        base_code = np.zeros(layout.size)
        sensitivity_bases = prior_codes(ckpt.model, sensitivity_n, seed=seed).astype(np.float64)

    image_shape = tuple(source.image_shape) if source is not None else None
    sensitivity = decoder_sensitivity(
        ckpt.model,
        sensitivity_bases.astype(np.float32),
        layout.channel_directions(),
        step=TRAVERSE_SENSITIVITY_STEP,
        batch_size=batch_size,
        device=device,
        image_shape=image_shape,
        latent_shape=layout.shape,
    )
    relative = sensitivity / sensitivity.max() if sensitivity.max() > 0 else np.zeros_like(sensitivity)
    decoder_uses = (relative >= TRAVERSE_IGNORED_SENSITIVITY) & (sensitivity >= TRAVERSE_IGNORED_SENSITIVITY_ABSOLUTE)

    if is_vae:
        # active dimensions first, each group by KL, largest first
        dims = np.array(sorted(range(layout.channels), key=lambda i: (not active[i], -kl[i], i)), dtype=np.int64)
        if active_only:
            dims = dims[active[dims]]
            if len(dims) == 0:
                raise LatentkitError(
                    f"{ckpt.path.name} has no active dimension (Var(μ) > {ACTIVE_THRESHOLD:g}) to show",
                    fix="drop --active-only to see every dimension",
                )
    else:
        dims = np.array(sorted(range(layout.channels), key=lambda i: (-sensitivity[i], i)), dtype=np.int64)

    if value_range == "quantile":
        levels = np.linspace(*TRAVERSE_QUANTILES, steps)
        channel_means = layout.channel_mean(means)
        values = np.stack([np.quantile(channel_means[:, i], levels) for i in dims])
    else:
        values = np.tile(np.linspace(-value_range, value_range, steps), (len(dims), 1))
    codes = channel_codes(base_code, dims, values, layout).astype(np.float32)
    images = decode_codes(
        ckpt.model,
        codes,
        batch_size=batch_size,
        device=device,
        image_shape=image_shape,
        latent_shape=layout.shape,
        progress=advance,
    )

    unit = "channel" if layout.kind == "spatial" else "dimension"
    notes = _notes(kl, active, sensitivity, decoder_uses, unit) if is_vae else []
    caveats = []
    if is_vae:
        caveats.append(caveat.small_sample(len(rows)))
        if len(rows) >= ACTIVITY_MIN_N:
            caveats.append(caveat.collapsed_model(int(active.sum()), layout.channels))
    caveats.append(caveat.identical_cells_caveat(images))
    caveats = [c for c in caveats if c]
    still = caveat.constant_rows(images)
    base_values = layout.channel_mean(base_code)  # per channel: the position average (a flat code's own values)
    figures = {"traversal": f"traverse.{figure_format}", "arrays": ARRAYS_NAME} if write else {}
    if write and gif:
        figures["gif"] = GIF_NAME
    document = envelope(
        "traverse",
        checkpoint=checkpoint_block(ckpt, checkpoint),
        data=data_block(source.name, len(source), len(rows)) if source is not None else None,
        settings={
            "range": value_range,
            "quantiles": list(TRAVERSE_QUANTILES) if value_range == "quantile" else None,
            "steps": steps,
            "base": base,
            "active_only": active_only,
            "sensitivity_n": len(sensitivity_bases),
            "sensitivity_step": TRAVERSE_SENSITIVITY_STEP,
            "ignored_below": {
                "relative": TRAVERSE_IGNORED_SENSITIVITY,
                "absolute": TRAVERSE_IGNORED_SENSITIVITY_ABSOLUTE,
            },
            "active_threshold": ACTIVE_THRESHOLD,
            "seed": seed,
            "batch_size": batch_size,
            "device": device,
        },
        results={
            "layout": layout.to_document(),
            "base": {"kind": "zero" if base == "zero" else "posterior_mean", "index": base_index, "code": base_code},
            "rows": [
                {
                    "dim": int(d),
                    "values": values[r],
                    "kl": float(kl[d]) if kl is not None else None,
                    "active": bool(active[d]) if active is not None else None,
                    "sensitivity": float(sensitivity[d]),
                    "base_value": float(base_values[d]),
                    "unchanged": bool(still[r]),
                }
                for r, d in enumerate(dims)
            ],
            "dimensions": {
                "kl": kl,
                "active": active,
                "sensitivity": sensitivity,
                "relative_sensitivity": relative,
                "decoder_ignores": [int(i) for i in np.flatnonzero(~decoder_uses)],
            },
        },
        notes=notes,
        caveats=caveats,
        figures=figures,
        provenance=provenance("traverse", [str(checkpoint)], model, selection, output, settings),
    )
    result = Traversal(
        dims=dims,
        values=values,
        base_code=base_code,
        codes=codes,
        layout=layout,
        images=images,
        kl=kl,
        active=active,
        sensitivity=sensitivity,
        relative_sensitivity=relative,
        sensitivity_n=len(sensitivity_bases),
        notes=notes,
        checkpoint=Path(checkpoint),
        caveats=caveats,
        document=document,
    )
    if write:
        _write(result, out or default_out_dir(checkpoint), figures, figure_format, Path(checkpoint).name, value_range, dpi)
    return result


def _notes(
    kl: np.ndarray, active: np.ndarray, sensitivity: np.ndarray, decoder_uses: np.ndarray, unit: str = "dimension"
) -> list[str]:
    """Where encoder and decoder disagree about a dimension (or channel: ``unit``)."""
    notes = []
    ignored = np.flatnonzero(active & ~decoder_uses)
    if ignored.size:
        dims = ", ".join(f"{i} (KL {kl[i]:.2f})" for i in ignored)
        notes.append(
            f"{unit.capitalize()}(s) {dims}: the encoder uses them but the decoder barely responds "
            f"(sensitivity under {TRAVERSE_IGNORED_SENSITIVITY:.0%} of the largest, or under "
            f"{TRAVERSE_IGNORED_SENSITIVITY_ABSOLUTE:g}): information paid for in KL that the output does not show."
        )
    unused = np.flatnonzero(~active & decoder_uses)
    if unused.size:
        dims = ", ".join(str(i) for i in unused)
        notes.append(
            f"{unit.capitalize()}(s) {dims}: collapsed in the encoder but the decoder responds to them, so prior samples "
            "vary there in ways no data point does; expect odd samples."
        )
    return notes


def _write(
    result: Traversal,
    out: str | Path,
    figures: dict[str, str],
    fmt: str,
    checkpoint_name: str,
    value_range: float | str,
    dpi: int,
) -> None:
    from latentkit.figures.traversal import plot_traversal, write_traversal_gif
    from latentkit.outputs import atomic_write_json, atomic_write_npz, output_set

    with output_set(out, "traverse") as outs:
        out_dir = outs.staging
        result.out_dir = out_dir
        result.files["arrays"] = atomic_write_npz(
            out_dir / ARRAYS_NAME,
            {
                "codes": result.codes,
                "images": result.images,
                "dims": result.dims,
                "values": result.values,
                "base_code": result.base_code,
                "latent_shape": np.array(result.layout.shape, dtype=np.int64),
            },
        )
        steps = result.values.shape[1]
        labels, base_steps = figure_rows(result)
        if value_range == "quantile":  # each row has its own values: show their span
            labels = [f"{label}\nvalues {row[0]:.2g} … {row[-1]:.2g}" for label, row in zip(labels, result.values)]
            levels = np.linspace(*TRAVERSE_QUANTILES, steps)
            column_labels = [f"{q:.0%}" for q in levels]
            xlabel = f"quantile of the {_unit(result)}'s posterior means (framed: nearest the base code)"
        else:
            column_labels = [f"{v:g}" for v in np.round(result.values[0], 2)]
            xlabel = f"value of the {_unit(result)} (framed: nearest the base code)"
        if result.layout.kind == "spatial":
            xlabel = xlabel.replace("value of the channel", "mean of the channel over its positions, all shifted together")
        xlabel += f"\nsens = decoder sensitivity, mean squared output change per unit of the {_unit(result)}"
        base = result.document["results"]["base"]
        base_text = f"data point #{base['index']}" if base["index"] is not None else "zero"
        active_text = ""
        if result.active is not None:
            active_text = f" · {int(result.active.sum())}/{len(result.active)} {_unit(result)}s active"
        result.files["figure"] = plot_traversal(
            result.images,
            out_dir / figures["traversal"],
            row_labels=labels,
            column_labels=column_labels,
            row_active=[bool(result.active[d]) if result.active is not None else True for d in result.dims],
            base_steps=base_steps,
            title=f"{checkpoint_name}: traversal around {base_text}{active_text}",
            xlabel=xlabel,
            caveats=result.caveats,
            fmt=fmt,
            dpi=dpi,
        )
        if "gif" in figures:
            if value_range == "quantile":
                frame_labels = [
                    f"every {_unit(result)} at its {q:.0%} quantile" for q in np.linspace(*TRAVERSE_QUANTILES, steps)
                ]
            else:
                frame_labels = [f"every {_unit(result)} at z = {v:+.2f}" for v in result.values[0]]
            result.files["gif"] = write_traversal_gif(
                result.images,
                out_dir / figures["gif"],
                labels=[_name(result, int(d)) for d in result.dims],
                title=f"{checkpoint_name}: traversal around {base_text}",
                frame_labels=frame_labels,
            )
        result.files["json"] = atomic_write_json(out_dir / JSON_NAME, result.document)
    result.files = outs.final_paths(result.files)
    result.out_dir = outs.out_dir


def figure_rows(result: Traversal) -> tuple[list[str], list[int | None]]:
    """Each row's label and the column to frame (nearest the base value; None when it lies outside the row)."""
    base_values = np.array([row["base_value"] for row in result.document["results"]["rows"]])
    base_steps: list[int | None] = []
    for r in range(len(result.dims)):
        row = result.values[r]
        inside = row.min() <= base_values[r] <= row.max()
        base_steps.append(int(np.argmin(np.abs(row - base_values[r]))) if inside else None)
    labels = [
        _row_label(result, int(d), base_values[r], framed=base_steps[r] is not None, unchanged=bool(row["unchanged"]))
        for r, (d, row) in enumerate(zip(result.dims, result.document["results"]["rows"]))
    ]
    return labels, base_steps


def _unit(result: Traversal) -> str:
    return "channel" if result.layout.kind == "spatial" else "dimension"


def _name(result: Traversal, dim: int) -> str:
    """``z3`` for a dimension of a flat code, ``ch 3`` for a channel of a spatial latent."""
    return f"ch {dim}" if result.layout.kind == "spatial" else f"z{dim}"


def _row_label(result: Traversal, dim: int, base_value: float, *, framed: bool, unchanged: bool) -> str:
    """``z3 · KL 0.52`` then ``sens 1.2e-02 · base 0.31``, saying why a row has no framed cell."""
    name = _name(result, dim)
    first = f"{name} · KL {result.kl[dim]:.2f}" if result.kl is not None else name
    value = f"{base_value:.2f}"
    base = f"base {'0.00' if value == '-0.00' else value}" + ("" if framed else " (outside range)")
    second = f"sens {result.sensitivity[dim]:.1e} · {base}"
    return f"{first}\n{second}" + ("\nno visible change" if unchanged else "")
