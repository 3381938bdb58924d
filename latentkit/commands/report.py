"""``latentkit report``: everything latentkit knows about a checkpoint, on one page.

The checkpoint and its data are opened once and the chosen rows are encoded
once (the codes are cached on disk, see :mod:`latentkit.codes_cache`); every
analysis then runs on those codes through the command that owns it: KL per
dimension and active units (``kl-report``), disentanglement scores with
bootstrap intervals when the data has ground-truth factors (``disentangle``),
interpolations (``interpolate``), traversals (``traverse``) and a 2-D
projection with its trustworthiness (``umap``). Writes ``report.html``, one
self-contained page, and ``report.json`` with the same content.

A section that does not apply (KL for a GAN, disentanglement without factors)
stays in the report and says why.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from latentkit.defaults import (
    BATCH_SIZE,
    DEVICE,
    REPORT_BOOTSTRAP,
    REPORT_DCI_MODEL,
    REPORT_N,
    REPORT_PROJECTION,
    SEED,
    UMAP_METHODS,
)
from latentkit.envelope import checkpoint_block, data_block, envelope
from latentkit.errors import LatentkitError
from latentkit.options import DataSelection, ModelInput, default_out_dir, flag, latentkit_version, provenance
from latentkit.outputs import to_json
from latentkit.report_page import Figure, Section, Table

JSON_NAME = "report.json"
HTML_NAME = "report.html"
STAGES = ("encode", "kl", "disentangle", "interpolate", "traverse", "projection", "write")
# The sampler scores (β-VAE, FactorVAE) draw and encode fresh observations; the report scores the shared codes.
def _array_metrics() -> tuple[str, ...]:
    """The metric registry's scores of the codes themselves (no sampler drawing fresh observations)."""
    from latentkit.analysis.registry import METRICS

    return tuple(name for name, metric in METRICS.items() if not metric.needs_sampler)
_DCI_MODELS = ("reference", "fast")

Stage = Callable[[str], None]


@dataclass
class Report:
    """Result of :func:`report`; ``document`` is exactly what ``report.json`` holds."""

    sections: list[Section]
    cards: list[tuple[str, str]]  # headline (value, label) pairs at the top of the page
    document: dict[str, Any] = field(repr=False)
    cache_note: str | None = None  # what the codes cache did (not in the JSON: it differs between runs)
    cache_hit: bool = False
    encoded_rows: int = 0  # rows the shared encoding pass covered
    extra_rows: int = 0  # rows encoded outside it (interpolation endpoints outside the encoded rows)
    out_dir: Path | None = None
    files: dict[str, Path] = field(default_factory=dict)

    def to_json(self) -> str:
        return to_json(self.document)


@dataclass(frozen=True)
class ReportSettings:
    """report's own settings (beside the model and data specs)."""

    projection: str = field(default=REPORT_PROJECTION, metadata=flag("--projection"))
    bootstrap: int = field(default=REPORT_BOOTSTRAP, metadata=flag("--bootstrap"))
    dci_model: str = field(default=REPORT_DCI_MODEL, metadata=flag("--dci-model"))
    no_cache: bool = field(default=False, metadata=flag("--no-cache"))

    def validate(self) -> None:
        if self.projection not in UMAP_METHODS:
            raise LatentkitError(f"unknown --projection {self.projection!r}", fix=f"use one of {', '.join(UMAP_METHODS)}")
        if self.bootstrap < 0:
            raise LatentkitError(
                f"--bootstrap {self.bootstrap} is negative", fix="pass 0 (no intervals) or a number of resamples"
            )
        if self.dci_model not in _DCI_MODELS:
            raise LatentkitError(f"unknown --dci-model {self.dci_model!r}", fix=f"use one of {', '.join(_DCI_MODELS)}")


def codes_cache_key(
    ckpt: Any, data_spec: str, rows: np.ndarray, *, seed: int, batch_size: int, device: str, plugin_files: Sequence[Path]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(key, slot) of the codes cache: everything the codes depend on, and the entry they live in."""
    import hashlib
    from importlib.metadata import PackageNotFoundError, version

    from latentkit.data.identity import BUILTIN_DATA, data_identity
    from latentkit.models.checkpoint import file_sha256

    try:
        torch_version = version("torch")
    except PackageNotFoundError:  # pragma: no cover - torch is a dependency
        torch_version = None
    key = {
        "checkpoint_sha256": ckpt.sha256,
        "model": {
            "format": ckpt.format,
            "plugin": ckpt.plugin,
            "config": ckpt.config,
            "plugin_files": [file_sha256(Path(p)) for p in plugin_files],
        },
        "data": data_identity(data_spec),
        "rows_sha256": hashlib.sha256(np.ascontiguousarray(rows, dtype=np.int64).tobytes()).hexdigest(),
        "seed": seed,
        "settings": {"batch_size": batch_size, "device": device},
        "latentkit_version": latentkit_version(),
        "torch_version": torch_version,
    }
    data_place = data_spec if data_spec in BUILTIN_DATA else str(Path(data_spec).resolve())
    slot = {"checkpoint": str(Path(ckpt.path).resolve()), "data": data_place}
    return key, slot


def report(
    checkpoint: str | Path,
    *,
    data: str | None = None,
    out: str | Path | None = None,
    n: int | None = None,
    seed: int = SEED,
    projection: str = REPORT_PROJECTION,
    bootstrap: int = REPORT_BOOTSTRAP,
    dci_model: str = REPORT_DCI_MODEL,
    batch_size: int = BATCH_SIZE,
    device: str = DEVICE,
    plugin: str | None = None,
    config: dict[str, Any] | None = None,
    plugin_files: Sequence[str | Path] = (),
    strip_prefix: str | None = None,
    trust_pickles: bool = False,
    cache: bool = True,
    write: bool = True,
    stage: Stage | None = None,
) -> Report:
    """Every analysis of ``checkpoint`` over one shared encoding pass, as one HTML page and one JSON document.

    ``n`` rows of the data (default: all up to ``REPORT_N``) are chosen with
    ``seed`` and encoded once; ``cache`` reuses codes encoded earlier for the
    same inputs. ``stage(name)`` is called as each of :data:`STAGES` starts.
    """
    from latentkit.commands._prepared import Prepared

    model = ModelInput(checkpoint, device, batch_size, plugin, config, tuple(plugin_files), strip_prefix, trust_pickles)
    selection = DataSelection(data, n, seed)
    settings = ReportSettings(projection, bootstrap, dci_model, not cache)
    for spec in (model, selection, settings):
        spec.validate()
    out_dir = None
    if write:
        from latentkit.outputs import prepare_out_dir

        out_dir = prepare_out_dir(out or default_out_dir(checkpoint))
    plugin_files = model.plugin_files
    say = stage or (lambda name: None)
    say("encode")
    ckpt = model.open()
    is_vae = ckpt.kind == "vae"
    data_spec = data or ckpt.dataset
    source = rows = None
    result = Report(sections=[], cards=[], document={})
    if is_vae:
        source = selection.open(ckpt)
        rows = selection.rows(len(source), default=REPORT_N, name=source.name)
        prepared = _encode_once(ckpt, source, data_spec, rows, seed, batch_size, device, plugin_files, cache, result)
    else:
        if n is not None and data_spec is None:
            raise LatentkitError("--n needs data to choose rows from", fix="pass --data, or drop --n")
        if data_spec is not None:
            source = selection.open(ckpt)
            rows = selection.rows(len(source), default=REPORT_N, name=source.name)
        prepared = Prepared(ckpt, source, None)
    count = len(rows) if rows is not None else None

    common: dict[str, Any] = {"seed": seed, "batch_size": batch_size, "device": device, "figure_format": "png"}
    with tempfile.TemporaryDirectory(prefix="latentkit-report-") as scratch:
        work = Path(scratch)
        runs = _run_analyses(checkpoint, prepared, work, common, count, is_vae, source, projection, bootstrap, dci_model, say)
        sections = _sections(ckpt, checkpoint, source, count, runs)
        images = {
            name: path.read_bytes() for name, path in runs.images.items()
        }  # read before the scratch folder goes
    result.sections = sections
    result.cards = _cards(runs, ckpt)
    result.extra_rows = prepared.bank.extra_rows if prepared.bank is not None else 0
    result.encoded_rows = count if is_vae and count is not None else 0
    result.document = _document(ckpt, checkpoint, source, count, runs, sections, model, selection, settings)
    say("write")
    if write and out_dir is not None:
        _write(result, out_dir, images, ckpt, checkpoint, source, count, seed)
    return result


def _encode_once(
    ckpt: Any,
    source: Any,
    spec: str,
    rows: np.ndarray,
    seed: int,
    batch_size: int,
    device: str,
    plugin_files: Sequence[Path],
    cache: bool,
    result: Report,
) -> Any:
    from latentkit.codes_cache import cached_encode
    from latentkit.commands._prepared import Prepared

    key, slot = codes_cache_key(
        ckpt, spec, rows, seed=seed, batch_size=batch_size, device=device, plugin_files=plugin_files
    )

    def store(encode: Callable[[], Any]) -> Any:
        encoded, outcome = cached_encode(key, slot, encode, enabled=cache)
        result.cache_note, result.cache_hit = outcome.note, outcome.hit
        return encoded

    return Prepared.encode(ckpt, source, rows, seed=seed, batch_size=batch_size, device=device, store=store)


@dataclass
class _Runs:
    """Each analysis's result, or why it was not run."""

    kl: Any = None
    disentangle: Any = None
    interpolate: Any = None
    traverse: Any = None
    projection: Any = None
    skipped: dict[str, str] = field(default_factory=dict)
    images: dict[str, Path] = field(default_factory=dict)


def _run_analyses(
    checkpoint: str | Path,
    prepared: Any,
    work: Path,
    common: dict[str, Any],
    count: int | None,
    is_vae: bool,
    source: Any,
    projection: str,
    bootstrap: int,
    dci_model: str,
    say: Stage,
) -> _Runs:
    """Run each analysis through its command on the prepared checkpoint, data and codes."""
    from latentkit.commands.disentangle import disentangle
    from latentkit.commands.embed import embed
    from latentkit.commands.interpolate import interpolate
    from latentkit.commands.kl_report import kl_report
    from latentkit.commands.traverse import traverse

    runs = _Runs()
    name = Path(checkpoint).name
    ckpt = prepared.checkpoint

    def attempt(key: str, call: Callable[[], Any]) -> Any:
        try:
            return call()
        except LatentkitError as exc:  # this analysis cannot run on this input; the others still can
            runs.skipped[key] = f"it could not run: {exc.message}"
            return None

    say("kl")
    if is_vae:
        runs.kl = attempt(
            "kl", lambda: kl_report(checkpoint, out=work / "kl", n=count, prepared=prepared, **common)
        )
    else:
        runs.skipped["kl"] = (
            f"{name} is a {ckpt.kind.upper()} ({ckpt.plugin}): it has no encoder, so there is no posterior q(z|x) "
            "whose KL to the prior could be measured, and no active units."
        )
    say("disentangle")
    if not is_vae:
        runs.skipped["disentangle"] = (
            f"{name} is a {ckpt.kind.upper()} ({ckpt.plugin}): disentanglement scores need an encoder to map "
            "observations to codes."
        )
    elif not _has_factors(source):
        runs.skipped["disentangle"] = (
            f"the data ({source.name}) has no ground-truth factors to score codes against; pass --data shapes, "
            "or an .npz with a 'factors' array."
        )
    else:
        runs.disentangle = attempt(
            "disentangle",
            lambda: disentangle(
                checkpoint, out=work / "disentangle", n=count, metrics=_array_metrics(), bootstrap=bootstrap,
                dci_model=dci_model, prepared=prepared, **common,
            ),
        )  # fmt: skip
    say("interpolate")
    runs.interpolate = attempt("interpolate", lambda: interpolate(checkpoint, out=work / "interpolate", prepared=prepared, **common))
    say("traverse")
    runs.traverse = attempt(
        "traverse", lambda: traverse(checkpoint, out=work / "traverse", n=count if is_vae else None, prepared=prepared, **common)
    )
    say("projection")
    if source is None:
        runs.skipped["projection"] = (
            f"{name} does not name its training data, and a GAN's projection shows data and generated samples "
            "together; pass --data."
        )
    else:
        runs.projection = attempt(
            "projection",
            lambda: embed(checkpoint, out=work / "projection", n=count, method=projection, prepared=prepared, **common),
        )
    for key, run in (("kl", runs.kl), ("interpolate", runs.interpolate), ("traverse", runs.traverse), ("projection", runs.projection)):
        if run is not None:
            runs.images[key] = run.files["figure"]
    if runs.disentangle is not None:
        for role in ("mutual_information", "dci_importance"):
            if role in runs.disentangle.files:
                runs.images[f"disentangle.{role}"] = runs.disentangle.files[role]
    return runs


def _has_factors(source: Any) -> bool:
    from latentkit.data.source import factors_at

    return source is not None and len(source) > 0 and factors_at(source, np.zeros(1, dtype=np.int64)) is not None


# --- sections ----------------------------------------------------------------------------------


def _metadata_section(ckpt: Any, checkpoint: str | Path, source: Any, count: int | None) -> Section:
    rows: list[list[Any]] = [
        ["file", str(checkpoint)],
        ["sha256", ckpt.sha256],
        ["plugin", ckpt.plugin],
        ["kind", ckpt.kind.upper()],
        ["format", ckpt.format],
        ["latent dimensions", str(ckpt.latent_dim)],
        ["parameters", f"{sum(p.numel() for p in ckpt.model.parameters()):,}"],
        ["trained on", ckpt.dataset or "not recorded"],
    ]
    for key in sorted(ckpt.metadata):
        if key not in ("plugin", "kind", "dataset"):
            rows.append([f"metadata: {key}", ckpt.metadata[key]])
    if source is not None:
        rows.append(["data analysed", f"{source.name}: {count} of {len(source)} rows"])
    else:
        rows.append(["data analysed", "none (prior samples only)"])
    return Section("metadata", "Checkpoint", tables=[Table("", ["field", "value"], rows)], notes=list(ckpt.notes))


def _kl_section(runs: _Runs) -> Section:
    section = Section("kl", "KL per dimension")
    kl = runs.kl
    if kl is None:
        return _not_applicable(section, runs.skipped["kl"])
    stderr = kl.per_dim_stderr if kl.per_dim_stderr is not None else [None] * len(kl.per_dim)
    order = np.argsort(-kl.per_dim, kind="stable")
    unit = "dimension" if kl.layout.kind == "flat" else "channel"
    activity = ["undecided" if kl.undecided[i] else bool(kl.active[i]) for i in range(len(kl.per_dim))]
    section.summary = [
        f"Total KL {kl.total:.4g} nats over {len(kl.per_dim)} dimensions, averaged over {kl.n} data points; "
        "dimensions sorted by KL."
    ]
    section.tables = [
        Table(
            "",
            [unit, "KL (nats)", "± std. error", "share of total", "Var(μ) over data", "mean σ²", "active"],
            [
                [int(i), float(kl.per_dim[i]), _float(stderr[i]), float(kl.share[i]), float(kl.mean_variance[i]),
                 float(kl.mean_sigma2[i]), activity[i]]
                for i in order
            ],  # fmt: skip
        )
    ]
    section.notes = _caveats(kl)
    section.figures = [
        Figure(
            "kl",
            "Average KL per latent dimension, sorted",
            "blue bars are active dimensions (their posterior mean moves with the input), grey bars collapsed to "
            "the prior; the tall bars are where the model stores information about the input.",
        )
    ]
    return section


def _active_section(runs: _Runs) -> Section:
    section = Section("active-units", "Active units and diagnosis")
    kl = runs.kl
    if kl is None:
        return _not_applicable(section, runs.skipped["kl"])
    d = len(kl.per_dim)
    section.summary = [
        f"{kl.active_units} of {d} dimensions are active: the variance over the data of their posterior mean "
        f"exceeds {kl.threshold:g} (Burda et al. 2016).",
        "Active: " + (", ".join(str(i) for i in np.flatnonzero(kl.active)) or "none")
        + ". Collapsed: " + (", ".join(str(i) for i in kl.collapsed) or "none") + ".",
    ]
    section.notes = list(kl.diagnosis)
    if not section.notes:
        section.summary.append(
            "The diagnosis flags nothing: no collapsed dimensions, no over-narrow posterior, no dimension paying KL "
            "without carrying information."
        )
    return section


def _disentangle_section(runs: _Runs) -> Section:
    section = Section("disentanglement", "Disentanglement scores")
    result = runs.disentangle
    if result is None:
        return _not_applicable(section, runs.skipped["disentangle"])
    doc = result.document["results"]
    intervals = result.intervals
    confidence = doc["intervals"]["confidence"] if doc.get("intervals") else None
    section.summary = [
        f"Scores of the posterior means of {result.document['data']['n']} observations against the ground-truth "
        f"factors ({', '.join(doc['factors']['names'])}); training rows {doc['rows']['n_train']}, test rows "
        f"{doc['rows']['n_test']}."
        + (
            f" Intervals: {confidence:.0%} bootstrap percentile intervals over {doc['intervals']['resamples']} "
            "resamples."
            if confidence
            else " No intervals (--bootstrap 0)."
        ),
        "The β-VAE and FactorVAE scores draw fresh observations with one factor held fixed; run "
        "`latentkit disentangle` for them.",
    ]
    interval_column = f"{confidence:.0%} interval" if confidence else "interval"
    section.tables = [
        Table(
            "",
            ["score (catalogue name)", "value", interval_column, "better", "meaning"],
            [[name, value, intervals.get(name), *_catalogue_entry(name)] for name, value in result.scores.items()],
        )
    ]
    section.notes = list(result.notes) + _caveats(result)
    if "disentangle.mutual_information" in runs.images:
        section.figures.append(
            Figure(
                "disentangle.mutual_information",
                "Mutual information between each code dimension and each factor",
                "in a disentangled code each factor (row) has one bright cell; a factor bright in several codes is "
                "split across them, and a code bright for several factors mixes them.",
            )
        )
    if "disentangle.dci_importance" in runs.images:
        section.figures.append(
            Figure(
                "disentangle.dci_importance",
                "DCI importance of each code dimension for predicting each factor",
                "one dominant code per factor means high completeness; one dominant factor per code means high "
                "disentanglement.",
            )
        )
    return section


def _interpolation_section(runs: _Runs) -> Section:
    section = Section("interpolation", "Interpolation")
    result = runs.interpolate
    if result is None:
        return _not_applicable(section, runs.skipped["interpolate"])
    kind = "posterior means of data points" if result.endpoints is not None else "prior samples"
    section.summary = [
        f"{result.codes.shape[1]} paths of {len(result.t)} steps between {kind}, decoded; the prior's typical "
        f"norm is √d = {result.prior_norm:.3g}."
    ]
    rows = []
    for mode in result.modes:
        m = result.metrics[mode]
        rows.append(
            [mode, m["norm"]["mean"], m["norm_ratio"], m["smoothness"]["mean"], m["smoothness"]["max"], m["smoothness"]["worst"]]
        )
    section.tables = [
        Table(
            "",
            ["mode", "mean ‖z‖", "‖z‖ / √d", "frame-to-frame MSE, mean", "largest step (mean over paths)", "largest step, worst"],
            rows,
        )
    ]
    section.notes = _caveats(result)
    section.figures = [
        Figure(
            "interpolate",
            "Decoded interpolation paths",
            "each row walks from one endpoint to the other; a good latent space changes the image a little at "
            "every step, with no sudden jumps and no implausible images midway. Lerp passes closer to the origin "
            "(‖z‖ / √d well under 1) than prior samples lie.",
        )
    ]
    return section


def _traversal_section(runs: _Runs) -> Section:
    section = Section("traversal", "Traversals")
    result = runs.traverse
    if result is None:
        return _not_applicable(section, runs.skipped["traverse"])
    doc = result.document["results"]
    value_range = result.document["settings"]["range"]
    section.summary = [
        f"Each row varies one dimension over {-value_range:g} … {value_range:g} with the others held at the base code "
        f"({'data point #' + str(doc['base']['index']) if doc['base']['index'] is not None else 'zero'})."
    ]
    relative = doc["dimensions"]["relative_sensitivity"]
    section.tables = [
        Table(
            "",
            ["dimension", "KL (nats)", "active", "decoder sensitivity", "relative sensitivity"],
            [
                [int(d), _float(result.kl[d]) if result.kl is not None else None,
                 bool(result.active[d]) if result.active is not None else None,
                 float(result.sensitivity[d]), float(relative[d])]
                for d in result.dims
            ],  # fmt: skip
        )
    ]
    section.notes = list(result.notes) + _caveats(result)
    section.figures = [
        Figure(
            "traverse",
            "Latent traversals, one dimension per row",
            "a dimension that changes one visible property and nothing else is disentangled; a row that does not "
            "change at all is a dimension the decoder ignores (collapsed rows are shown last).",
        )
    ]
    return section


def _projection_section(runs: _Runs) -> Section:
    section = Section("projection", "Projection")
    result = runs.projection
    if result is None:
        return _not_applicable(section, runs.skipped["projection"])
    doc = result.document["results"]
    trust = doc["trustworthiness"]
    settings = result.document["settings"]
    space = "posterior means" if settings["space"] == "posterior_mean" else "data and generated samples (PCA of pixels)"
    section.summary = [
        f"{settings['method'].upper() if settings['method'] != 'tsne' else 't-SNE'} of the {space}, "
        f"{doc['points']['data']} data points"
        + (f" and {doc['points']['generated']} generated samples" if doc["points"]["generated"] else "")
        + (f", coloured by {doc['color']['by']}." if doc["color"]["by"] else ".")
    ]
    section.tables = [
        Table(
            "",
            ["method", "points", "trustworthiness", "k", "computed on"],
            [[settings["method"], len(result.embedding), trust["value"], trust["k"], f"{trust['n']} points"]],
        )
    ]
    section.notes = _caveats(result)
    section.figures = [
        Figure(
            "projection",
            "2-D projection",
            "nearby points have nearby codes only as far as the trustworthiness allows (1 = every neighbour shown "
            "is a true neighbour); read which points group together, not the distances between groups.",
        )
    ]
    return section


def _catalogue_entry(name: str) -> list[str | None]:
    """The figure catalogue's direction and description of a score (None for a name it lacks)."""
    from latentkit.catalogue import FIGURES

    entry = next((f for f in FIGURES if f.name == name), None)
    if entry is None:
        return [None, None]
    return [{"higher": "higher", "lower": "lower"}.get(entry.direction, "neither"), entry.description]


def _caveats(result: Any) -> list[str]:
    """What a figure cannot support (also drawn on the figure), as notes of its section."""
    return [f"Caveat: {text}" for text in getattr(result, "caveats", [])]


def _not_applicable(section: Section, reason: str) -> Section:
    section.applies = False
    section.reason = reason
    return section


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _sections(ckpt: Any, checkpoint: str | Path, source: Any, count: int | None, runs: _Runs) -> list[Section]:
    sections = [
        _metadata_section(ckpt, checkpoint, source, count),
        _kl_section(runs),
        _active_section(runs),
        _disentangle_section(runs),
        _interpolation_section(runs),
        _traversal_section(runs),
        _projection_section(runs),
    ]
    return sections


# --- the JSON document and the files ---------------------------------------------------------------

def _analysis_block(run: Any) -> dict[str, Any] | None:
    """A command's settings, results, notes and caveats (the report states checkpoint, data and provenance once)."""
    if run is None:
        return None
    return {key: run.document[key] for key in ("settings", "results", "notes", "caveats") if key in run.document}


def _document(
    ckpt: Any,
    checkpoint: str | Path,
    source: Any,
    count: int | None,
    runs: _Runs,
    sections: list[Section],
    model: ModelInput,
    selection: DataSelection,
    settings: ReportSettings,
) -> dict[str, Any]:
    order = ["active-units"] + [s.id for s in sections if s.id != "active-units"]  # the diagnosis first
    by_id = {s.id: s for s in sections}
    said = [(by_id[i].title, note) for i in order for note in by_id[i].notes if by_id[i].applies]
    notes = [f"{title}: {note}" for title, note in said if not note.startswith("Caveat: ")]
    caveats = [f"{title}: {note.removeprefix('Caveat: ')}" for title, note in said if note.startswith("Caveat: ")]
    return envelope(
        "report",
        checkpoint=checkpoint_block(ckpt, checkpoint),
        data=data_block(source.name, len(source), count) if source is not None else None,
        settings={
            "seed": selection.seed,
            "projection": settings.projection,
            "metrics": list(_array_metrics()),
            "bootstrap": settings.bootstrap,
            "dci_model": settings.dci_model,
            "batch_size": model.batch_size,
            "device": model.device,
        },
        results={
            "kl": _analysis_block(runs.kl),
            "disentangle": _analysis_block(runs.disentangle),
            "interpolate": _analysis_block(runs.interpolate),
            "traverse": _analysis_block(runs.traverse),
            "projection": _analysis_block(runs.projection),
            "sections": [asdict(section) for section in sections],
        },
        notes=notes,
        caveats=caveats,
        figures={"html": HTML_NAME},
        provenance=provenance("report", [str(checkpoint)], model, selection, settings),
    )


def _cards(runs: _Runs, ckpt: Any) -> list[tuple[str, str]]:
    cards = [(f"{ckpt.kind.upper()} · {ckpt.latent_dim}", "kind · latent dimensions")]
    if runs.kl is not None:
        cards += [(f"{runs.kl.active_units}/{len(runs.kl.per_dim)}", "active units"), (f"{runs.kl.total:.3g}", "total KL (nats)")]
    if runs.disentangle is not None:
        for name in ("mig", "dci.disentanglement"):
            value = runs.disentangle.scores.get(name)
            if value is not None:
                cards.append((f"{value:.3f}", name))
    if runs.projection is not None:
        cards.append((f"{runs.projection.trustworthiness:.3f}", "projection trustworthiness"))
    return cards


def _write(
    result: Report,
    out_dir: Path,
    images: dict[str, bytes],
    ckpt: Any,
    checkpoint: str | Path,
    source: Any,
    count: int | None,
    seed: int,
) -> None:
    from latentkit.outputs import output_set
    from latentkit.report_page import render_page

    data_text = f"{source.name}, {count} of {len(source)} rows" if source is not None else "no data"
    page = render_page(
        title=f"latentkit report: {Path(checkpoint).name}",
        subtitle=f"{ckpt.plugin} ({ckpt.kind.upper()}, {ckpt.latent_dim} latent dimensions) · data: {data_text} · seed {seed}",
        cards=result.cards,
        sections=result.sections,
        images=images,
        footer=[
            f"Reproduce with: {result.document['provenance']['command']}",
            f"latentkit {result.document['provenance']['latentkit_version']}. The numbers on this page are in "
            f"{JSON_NAME} beside it. This page is self-contained: it loads nothing from anywhere.",
        ],
    )
    text = result.to_json()  # both files are ready before either is written
    with output_set(out_dir, "report") as outs:  # the page and its numbers arrive together or not at all
        outs.path(HTML_NAME).write_text(page, encoding="utf-8")
        outs.path(JSON_NAME).write_text(text, encoding="utf-8")
    result.out_dir = outs.out_dir
    result.files["html"] = outs.final(HTML_NAME)
    result.files["json"] = outs.final(JSON_NAME)
