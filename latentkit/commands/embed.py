"""``latentkit umap``: a 2-D picture of the latent space, and how far to trust it.

VAE: the posterior means of (a reproducible subsample of) the data, projected
with UMAP, PCA or t-SNE and coloured by label or by a ground-truth factor. A
spatial latent (C, H, W) is projected from its position-averaged channel means
(C features) by default, or from every value with ``spatial="flatten"``.
GAN (or a VAE with ``generated``): real data and generated samples projected
together from PCA features of their pixels, coloured by source, so mode
coverage shows. Every projection is scored with trustworthiness (k = 10) on a
subsample. Writes ``embedding.json``, ``embedding.npz`` (so it can be
re-plotted without recomputing) and a scatter figure.

``embedding.json`` (schema ``latentkit.umap``, version 2) is the common envelope
(:mod:`latentkit.envelope`); ``data``: source, n_total, n (data points
projected); ``settings``: method, space (posterior_mean | pixel_pca),
spatial (channel-mean | flatten, null for a flat code or pixels), latent_shape,
generated, pixel_components, neighbors, min_dist, knn (exact | nndescent),
exact_knn_max, seed, batch_size, device; ``caveats``: warnings for the reader
of the picture (also drawn on it); ``figures``: ``embedding`` and ``arrays``
(the .npz). ``results``:

===================  ===========================================================
``points``           data, generated: how many of each
``color``            by (y, a factor name, source, or null), names
``trustworthiness``  value, k, n (the subsample it was computed on)
===================  ===========================================================

``embedding.npz``: ``embedding`` (m, 2), ``index`` (m,) rows of the data (−1 for
generated samples), and when coloured ``color`` (m,), ``color_by``, and
``color_names`` for named categories.

The module is not named ``umap`` so that it never shadows umap-learn.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from latentkit.analysis import caveats as caveat
from latentkit.analysis.active_units import active_mask
from latentkit.commands._common import default_out_dir
from latentkit.defaults import (
    ACTIVE_THRESHOLD,
    ACTIVITY_MIN_N,
    BATCH_SIZE,
    DEVICE,
    FIGURE_DPI,
    FIGURE_FORMAT,
    SEED,
    SPATIAL_CODE,
    SPATIAL_CODES,
    TRUSTWORTHINESS_K,
    TRUSTWORTHINESS_SUBSAMPLE,
    UMAP_EXACT_KNN_MAX,
    UMAP_METHOD,
    UMAP_METHODS,
    UMAP_MIN_DIST,
    UMAP_N,
    UMAP_NEIGHBORS,
    UMAP_PIXEL_COMPONENTS,
)
from latentkit.envelope import checkpoint_block, data_block, envelope
from latentkit.errors import LatentkitError
from latentkit.options import DataSelection, ModelInput, OutputSpec, flag, provenance
from latentkit.outputs import to_json

JSON_NAME = "embedding.json"
ARRAYS_NAME = "embedding.npz"
SOURCE_NAMES = ("data", "generated")
METHOD_LABELS = {"umap": "UMAP", "pca": "PC", "tsne": "t-SNE"}


@dataclass(frozen=True)
class UmapSettings:
    """umap's own settings (beside the model, data and output specs)."""

    method: str = field(default=UMAP_METHOD, metadata=flag("--method", always=True))
    color_by: str | None = field(default=None, metadata=flag("--color-by"))
    generated: bool = field(default=False, metadata=flag("--generated"))
    spatial: str = field(default=SPATIAL_CODE, metadata=flag("--spatial"))
    neighbors: int = field(default=UMAP_NEIGHBORS, metadata=flag("--neighbors"))
    min_dist: float = field(default=UMAP_MIN_DIST, metadata=flag("--min-dist"))

    def validate(self) -> None:
        if self.method not in UMAP_METHODS:
            raise LatentkitError(f"unknown --method {self.method!r}", fix=f"use one of {', '.join(UMAP_METHODS)}")
        if self.spatial not in SPATIAL_CODES:
            raise LatentkitError(f"unknown --spatial {self.spatial!r}", fix=f"use one of {', '.join(SPATIAL_CODES)}")
        if self.neighbors < 2:
            raise LatentkitError(
                f"--neighbors {self.neighbors} is less than 2", fix="pass --neighbors 2 or more (default 15)"
            )
        if not 0 <= self.min_dist:
            raise LatentkitError(f"--min-dist {self.min_dist} is negative", fix="pass --min-dist 0 or more (default 0.1)")


@dataclass
class Embedding:
    """Result of :func:`embed`; ``document`` is exactly what ``embedding.json`` holds."""

    checkpoint: Path
    method: str
    n_data: int  # data points projected
    n_generated: int  # generated samples projected with them (0 unless joint)
    embedding: np.ndarray  # (m, 2) float32
    index: np.ndarray  # (m,) rows of the data; -1 for generated samples
    color: np.ndarray | None  # (m,) the colouring values (labels, a factor, or 0 data / 1 generated)
    color_by: str | None
    features: np.ndarray  # (m, k) what was projected: posterior means, or PCA features of pixels
    trustworthiness: float
    trustworthiness_k: int  # neighbours it counts
    trustworthiness_n: int  # points it was computed on (a subsample)
    caveats: list[str]  # what the picture cannot support (also drawn on it)
    document: dict[str, Any] = field(repr=False)
    out_dir: Path | None = None
    files: dict[str, Path] = field(default_factory=dict)

    def to_json(self) -> str:
        return to_json(self.document)


def color_choices(source: Any) -> list[str]:
    """What ``--color-by`` accepts for ``source``: ``y`` when it has labels, then its factor names."""
    choices = ["y"] if source.labels is not None else []
    return choices + list(source.factor_names or ())


def resolve_color_by(source: Any, color_by: str | None) -> str | None:
    """The colouring to use: ``color_by`` checked against the data, or labels, else the first factor."""
    choices = color_choices(source)
    if color_by is None:
        return choices[0] if choices else None
    if color_by not in choices:
        valid = ", ".join(choices) if choices else "none (it has no labels or factors)"
        raise LatentkitError(
            f"--color-by {color_by!r} is not a label or factor of {source.name}; valid: {valid}",
            fix="pass one of those, or leave --color-by out",
        )
    return color_by


def embed(
    checkpoint: str | Path,
    *,
    data: str | None = None,
    out: str | Path | None = None,
    method: str = UMAP_METHOD,
    n: int | None = None,
    color_by: str | None = None,
    generated: bool = False,
    spatial: str = SPATIAL_CODE,
    neighbors: int = UMAP_NEIGHBORS,
    min_dist: float = UMAP_MIN_DIST,
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
) -> Embedding:
    """Project a checkpoint's latent codes (VAE) or its samples with the data (GAN) to 2-D.

    ``n`` points of the data (default all up to ``UMAP_N``; more than the data
    holds is an error) are chosen with ``seed``; ``seed`` also makes the
    projection deterministic (for UMAP at the cost of its parallelism).
    ``generated`` asks a VAE for the joint data/prior-sample projection a GAN
    always gets. ``spatial`` reduces a spatial latent: ``channel-mean`` (each
    channel averaged over its positions) or ``flatten`` (every value).
    """
    model = ModelInput(
        checkpoint, device, batch_size, plugin, config, tuple(plugin_files), strip_prefix, trust_pickles
    )
    selection = DataSelection(data, n, seed)
    output = OutputSpec(Path(out) if out is not None else None, figure_format, write, dpi)
    settings = UmapSettings(method, color_by, generated, spatial, neighbors, min_dist)
    for spec in (settings, model, selection, output):
        spec.validate()
    ckpt = model.open() if prepared is None else prepared.checkpoint
    joint = generated or ckpt.kind != "vae"
    source = selection.open(ckpt) if prepared is None else prepared.source
    if joint and color_by is not None:
        raise LatentkitError(
            "--color-by applies to a VAE's posterior means; a joint projection of data and generated samples "
            "is coloured by source",
            fix="drop --color-by (or --generated)",
        )
    color_by = None if joint else resolve_color_by(source, color_by)
    rows = selection.rows(len(source), default=UMAP_N, name=source.name)
    points = 2 * len(rows) if joint else len(rows)
    minimum = neighbors + 1 if method == "umap" else 4
    if points < minimum:
        raise LatentkitError(
            f"{points} points are too few for {method}", fix=f"project at least {minimum} points (--n)"
        )

    from latentkit.analysis import projection

    stages = 2  # projection, trustworthiness
    advance = progress(len(rows) * (2 if joint else 1) + stages) if progress else None
    features, index, color, color_names, space, layout = _features(
        ckpt, source, rows, joint=joint, color_by=color_by, spatial=spatial, seed=seed, batch_size=batch_size,
        device=device, progress=advance, prepared=prepared,
    )  # fmt: skip
    spatial_used = spatial if layout is not None and layout.kind == "spatial" else None
    knn = None
    if method == "pca":
        embedding = projection.pca_embedding(features, seed=seed)
    elif method == "tsne":
        embedding = projection.tsne_embedding(features, seed=seed)
    else:
        embedding, knn = projection.umap_embedding(features, seed=seed, n_neighbors=neighbors, min_dist=min_dist)
    if advance:
        advance(1)
    trust, trust_n = projection.trustworthiness_score(
        features, embedding, k=TRUSTWORTHINESS_K, subsample=TRUSTWORTHINESS_SUBSAMPLE, seed=seed
    )
    if advance:
        advance(1)
    caveats = _caveats(features, space, trust, method)

    figures = {"embedding": f"embedding.{figure_format}", "arrays": ARRAYS_NAME} if write else {}
    document = envelope(
        "umap",
        checkpoint=checkpoint_block(ckpt, checkpoint),
        data=data_block(source.name, len(source), len(rows)),
        settings={
            "method": method,
            "space": space,
            "spatial": spatial_used,
            "latent_shape": list(layout.shape) if layout is not None else None,
            "generated": joint,
            "pixel_components": features.shape[1] if joint else None,
            "neighbors": neighbors if method == "umap" else None,
            "min_dist": min_dist if method == "umap" else None,
            "knn": knn,
            "exact_knn_max": UMAP_EXACT_KNN_MAX if method == "umap" else None,
            "seed": seed,
            "batch_size": batch_size,
            "device": device,
        },
        results={
            "points": {"data": len(rows), "generated": len(rows) if joint else 0},
            "color": {"by": "source" if joint else color_by, "names": color_names},
            "trustworthiness": {"value": trust, "k": TRUSTWORTHINESS_K, "n": trust_n},
        },
        notes=[],
        caveats=caveats,
        figures=figures,
        provenance=provenance(
            "umap",
            [str(checkpoint)],
            model,
            selection,
            output,
            UmapSettings(
                method,
                color_by if not joint else None,
                generated,
                spatial,
                neighbors if method == "umap" else UMAP_NEIGHBORS,
                min_dist if method == "umap" else UMAP_MIN_DIST,
            ),
        ),
    )
    result = Embedding(
        checkpoint=Path(checkpoint),
        method=method,
        n_data=len(rows),
        n_generated=len(rows) if joint else 0,
        embedding=embedding,
        index=index,
        color=color,
        color_by="source" if joint else color_by,
        features=features,
        trustworthiness=trust,
        trustworthiness_k=TRUSTWORTHINESS_K,
        trustworthiness_n=trust_n,
        caveats=caveats,
        document=document,
    )
    if write:
        _write(
            result, out or default_out_dir(checkpoint), figures, figure_format, Path(checkpoint).name, method, space, dpi
        )
    return result


def _caveats(features: np.ndarray, space: str, trust: float, method: str) -> list[str]:
    """Warnings a reader of the picture needs: a collapsed model, too few points, low trust."""
    found = []
    if space == "posterior_mean":
        n = len(features)
        found.append(caveat.small_sample(n))
        if n >= ACTIVITY_MIN_N:
            active = active_mask(features.astype(np.float64).var(axis=0), ACTIVE_THRESHOLD)
            collapsed = caveat.collapsed_model(int(active.sum()), features.shape[1])
            if collapsed:
                collapsed += "; the picture, scaled to fill the plot, magnifies structure the decoder largely ignores"
            found.append(collapsed)
    found.append(caveat.low_trustworthiness(trust, method))
    return [c for c in found if c]


def _features(
    ckpt: Any,
    source: Any,
    rows: np.ndarray,
    *,
    joint: bool,
    color_by: str | None,
    spatial: str,
    seed: int,
    batch_size: int,
    device: str,
    progress: Callable[[int], None] | None,
    prepared: Any | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, list[str] | None, str]:
    """What to project, the data row of each point, its colour value, colour names, the space's name,
    and the latent layout (None for pixels)."""
    from latentkit.decode import decode_codes, prior_codes
    from latentkit.encode import encode_codes

    if not joint:
        if prepared is not None:
            means, layout = prepared.codes_of(rows, spatial=spatial, progress=progress)
        else:
            means, layout = encode_codes(
                ckpt.model, source, rows, batch_size=batch_size, device=device, spatial=spatial, progress=progress
            )
        color = None
        if color_by == "y":
            color = np.asarray(source.labels)[rows].astype(np.int64)
        elif color_by is not None:
            from latentkit.data.source import factors_at

            column = list(source.factor_names).index(color_by)
            color = np.asarray(factors_at(source, rows))[:, column].astype(np.int64)
        return means.astype(np.float32), rows, color, None, "posterior_mean", layout

    from latentkit.analysis.projection import pca_embedding

    real = np.concatenate([source.get(rows[i : i + batch_size]) for i in range(0, len(rows), batch_size)])
    if progress:
        progress(len(rows))
    fake = decode_codes(
        ckpt.model,
        prior_codes(ckpt.model, len(rows), seed=seed),
        batch_size=batch_size,
        device=device,
        image_shape=tuple(source.image_shape),
        progress=progress,
    )
    if fake.shape[1:] != real.shape[1:]:
        raise LatentkitError(
            f"the model makes images of shape {list(fake.shape[1:])} but {source.name} holds {list(real.shape[1:])}",
            fix="pass --data with images the model was trained on",
        )
    pixels = np.concatenate([real, fake]).reshape(2 * len(rows), -1)
    components = min(UMAP_PIXEL_COMPONENTS, pixels.shape[1], len(pixels) - 1)
    features = pca_embedding(pixels, components, seed=seed)
    index = np.concatenate([rows, np.full(len(rows), -1, dtype=np.int64)])
    color = np.concatenate([np.zeros(len(rows), np.int64), np.ones(len(rows), np.int64)])
    return features, index, color, list(SOURCE_NAMES), "pixel_pca", None


def _write(
    result: Embedding,
    out: str | Path,
    figures: dict[str, str],
    fmt: str,
    checkpoint_name: str,
    method: str,
    space: str,
    dpi: int,
) -> None:
    from latentkit.figures.scatter import SOURCE_COLORS, plot_embedding
    from latentkit.outputs import atomic_write_json, atomic_write_npz, output_set

    with output_set(out, "embedding") as outs:
        out_dir = outs.staging
        result.out_dir = out_dir
        names = result.document["results"]["color"]["names"]
        arrays: dict[str, Any] = {"embedding": result.embedding, "index": result.index}
        if result.color is not None:
            arrays["color"] = result.color
            arrays["color_by"] = np.array(result.color_by)
        if names:
            arrays["color_names"] = np.array(names)
        result.files["arrays"] = atomic_write_npz(out_dir / ARRAYS_NAME, arrays)
        what = "posterior means" if space == "posterior_mean" else "data and generated samples (pixel PCA)"
        trust = result.document["results"]["trustworthiness"]
        result.files["figure"] = plot_embedding(
            result.embedding,
            out_dir / figures["embedding"],
            values=result.color,
            value_name=result.color_by or "",
            category_names=names,
            palette=SOURCE_COLORS if names else None,
            title=f"{checkpoint_name}: {what}, {METHOD_LABELS[method] if method != 'pca' else 'PCA'}\n"
            f"n = {len(result.embedding)} · trustworthiness {trust['value']:.3f} (k = {trust['k']})",
            axis_label=METHOD_LABELS[method],
            caveats=result.caveats,
            fmt=fmt,
            dpi=dpi,
        )
        result.files["json"] = atomic_write_json(out_dir / JSON_NAME, result.document)
    result.files = outs.final_paths(result.files)
    result.out_dir = outs.out_dir
