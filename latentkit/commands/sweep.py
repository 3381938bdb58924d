"""Sweeps: ``kl-report``, ``disentangle`` or ``check`` over many checkpoints, one comparison table.

``latentkit kl-report 'runs/*/model.safetensors'`` analyses every checkpoint the
quoted glob matches (expanded here, in sorted order) and compares them: one row
per checkpoint, the command's headline figures from the catalogue, each with
its change against the *first* checkpoint (the "did this retrain get worse"
view). Every data source is opened once for the whole sweep (``--data`` for
all, else each checkpoint's own dataset, so checkpoints naming the same data
share it), and each checkpoint is encoded exactly once (``check`` shares one
pass between all its analyses, see :class:`~latentkit.commands.check.Analyses`).

Outputs form one set in ``--out`` (default ``latentkit-out/<command>-sweep-<hash>/``):
each checkpoint's own files in a subfolder named as its default output folder
(``<stem>-<hash of its path>``, lengthened where two would collide), beside
``<command>.sweep.json`` (the sweep's document) and ``<command>.sweep.csv`` (the
table); they appear together or not at all (:meth:`~latentkit.outputs.OutputSet.nested`).

Under ``torchrun`` every rank takes part in each checkpoint's encoding pass and rank 0
finishes each checkpoint and writes (:class:`~latentkit.distributed.sweep_passes`).
"""

from __future__ import annotations

import csv
import glob
import hashlib
import io
import os
import shlex
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from latentkit import catalogue, distributed
from latentkit.defaults import FIGURE_DPI, FIGURE_FORMAT, OUT_DIR_HASH_CHARS, OUT_ROOT, SEED, SWEEP_ROW_CACHE_BYTES
from latentkit.envelope import envelope
from latentkit.errors import LatentkitError
from latentkit.options import DataSelection, ModelInput, OutputSpec, default_out_dir

GLOB_CHARACTERS = "*?["
# The headline figures of kl-report's table (disentangle's are the scores that ran; check's, its rules').
KL_HEADLINE = ("kl.total", "active_units", "collapsed_units", "latent_scale.scaling_factor")
_MODEL_OPTIONS = ("device", "batch_size", "plugin", "config", "plugin_files", "strip_prefix", "trust_pickles", "workers")


def expand_checkpoints(arguments: Sequence[str | Path]) -> list[Path]:
    """The checkpoints the arguments name, in order; a quoted glob expands here, sorted.

    An argument with glob characters that is not itself a path is a pattern; one
    matching nothing is an error. A checkpoint named twice is an error (the sweep
    would compare it with itself and write its folder twice).
    """
    paths: list[Path] = []
    for argument in arguments:
        text = str(argument)
        if any(c in text for c in GLOB_CHARACTERS) and not Path(text).exists():
            matches = sorted(glob.glob(os.path.expanduser(text), recursive=True))
            if not matches:
                raise LatentkitError(
                    f"{text!r} matches no file",
                    fix="check the pattern (latentkit expands it from the current folder; ** matches subfolders)",
                )
            paths += [Path(m) for m in matches]
        else:
            paths.append(Path(text))
    seen: dict[Path, Path] = {}
    for path in paths:
        key = path.expanduser().resolve()
        if key in seen:
            raise LatentkitError(f"checkpoint {path} is named twice", fix="name each checkpoint once")
        seen[key] = path
    if not paths:
        raise LatentkitError("no checkpoint given", fix="pass one or more checkpoints, or a quoted glob")
    return paths


def checkpoint_folders(paths: Sequence[Path]) -> list[str]:
    """Each checkpoint's subfolder: its default output folder's name, ``<stem>-<hash>``, with a longer
    hash for the paths whose short ones collide (``runs/*/model.safetensors`` all share a stem)."""
    chars = [OUT_DIR_HASH_CHARS] * len(paths)
    while True:
        names = [default_out_dir(p, hash_chars=c).name for p, c in zip(paths, chars)]
        clashing = [i for i, name in enumerate(names) if names.count(name) > 1]
        if not clashing:
            return names
        for i in clashing:
            chars[i] = 64 if chars[i] >= 16 else 16


def default_sweep_dir(command: str, paths: Sequence[Path]) -> Path:
    """``latentkit-out/<command>-sweep-<6 hex digits of the SHA-256 of the absolute paths, in order>/``."""
    text = "\n".join(str(p.expanduser().resolve()) for p in paths)
    return Path(OUT_ROOT) / f"{command}-sweep-{hashlib.sha256(text.encode('utf-8')).hexdigest()[:OUT_DIR_HASH_CHARS]}"


class SharedSources:
    """The data sources of a sweep, each opened once: ``--data`` for every checkpoint, else each
    checkpoint's own dataset, shared by the checkpoints that name the same one. A source that renders
    or decodes its rows on each read (``shapes``, a PNG folder) keeps them once read, up to
    ``SWEEP_ROW_CACHE_BYTES`` (:class:`~latentkit.data.source.RowCache`); arrays are held already."""

    def __init__(self, selection: DataSelection) -> None:
        self.selection = selection
        self.opened: dict[str, Any] = {}

    def __call__(self, checkpoint: Any) -> Any:
        key = self.selection.data if self.selection.data is not None else checkpoint.dataset
        if key is None:
            return self.selection.open(checkpoint)  # the usual error: the checkpoint names no data
        if key not in self.opened:
            from latentkit.data.source import ArraySource, RowCache

            source = self.selection.open(checkpoint)
            self.opened[key] = source if isinstance(source, ArraySource) else RowCache(source, SWEEP_ROW_CACHE_BYTES)
        return self.opened[key]


@dataclass(frozen=True)
class Column:
    """A compared figure: its name (a catalogue name, or a rule's figure with an index), unit, direction."""

    name: str
    unit: str
    direction: str  # higher, lower or none (catalogue.Figure.direction)

    def to_document(self) -> dict[str, str]:
        return {"name": self.name, "unit": self.unit, "direction": self.direction}


@dataclass(frozen=True)
class ComparisonRow:
    """One checkpoint's headline figures and their changes against the first checkpoint (value − first)."""

    checkpoint: Path
    folder: str | None  # its subfolder of the sweep's output folder (None: nothing written)
    values: dict[str, Any]
    changes: dict[str, Any]
    passed: bool | None = None  # check: whether every rule held

    def to_document(self) -> dict[str, Any]:
        document = {"checkpoint": str(self.checkpoint), "folder": self.folder, "values": self.values,
                    "changes": self.changes}  # fmt: skip
        if self.passed is not None:
            document["passed"] = self.passed
        return document


def _finite(value: Any) -> Any:
    import math

    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    value = float(value)
    return value if math.isfinite(value) else None


def compare(
    checkpoints: Sequence[Path],
    values: Sequence[dict[str, Any]],
    columns: Sequence[Column],
    *,
    folders: Sequence[str | None] | None = None,
    passed: Sequence[bool] | None = None,
) -> list[ComparisonRow]:
    """The comparison rows: each value and its change against the first checkpoint's (None where either
    is missing or not finite; the first row's changes are 0)."""
    first = {c.name: _finite(values[0].get(c.name)) for c in columns}
    rows = []
    for i, (path, found) in enumerate(zip(checkpoints, values)):
        own = {c.name: _finite(found.get(c.name)) for c in columns}
        changes = {
            name: (value - first[name]) if value is not None and first[name] is not None else None
            for name, value in own.items()
        }
        rows.append(ComparisonRow(
            path, folders[i] if folders else None, own, changes, None if passed is None else bool(passed[i])
        ))  # fmt: skip
    return rows


@dataclass
class SweepResult:
    """Result of a sweep: each checkpoint's own result (in order) and the comparison; ``document`` is
    its JSON (schema ``latentkit.<command>-sweep``): top-level ``checkpoints`` (in place of
    ``checkpoint``) holds each checkpoint's full document, ``results.comparison`` the table's rows."""

    command: str
    checkpoints: list[Path]
    results: list[Any]  # KLReport, DisentangleReport or CheckResult, one per checkpoint
    columns: list[Column]
    rows: list[ComparisonRow]
    document: dict[str, Any] = field(repr=False)
    data_sources: int = 0  # distinct data sources opened for the whole sweep
    out_dir: Path | None = None
    files: dict[str, Path] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """False when a checkpoint failed its rules (``check``); True otherwise."""
        return all(row.passed is not False for row in self.rows)

    def to_json(self) -> str:
        from latentkit.outputs import to_json

        return to_json(self.document)

    def table_csv(self) -> str:
        """The comparison as CSV: checkpoint, folder, [passed,] then each figure and its change."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        check = any(row.passed is not None for row in self.rows)
        writer.writerow(["checkpoint", "folder", *(["passed"] if check else []),
                         *(f"{c.name}{suffix}" for c in self.columns for suffix in ("", " change"))])  # fmt: skip
        for row in self.rows:
            writer.writerow([
                str(row.checkpoint), row.folder or "", *([row.passed] if check else []),
                *(_cell(mapping[c.name]) for c in self.columns for mapping in (row.values, row.changes)),
            ])  # fmt: skip
        return buffer.getvalue()


def _cell(value: Any) -> str:
    return "" if value is None else repr(value) if isinstance(value, float) else str(value)


def _sweep_command(document: dict[str, Any], paths: Sequence[Path]) -> str:
    """The reproducing command of the sweep: the first checkpoint's command with every checkpoint named."""
    parts = shlex.split(document["provenance"]["command"])
    return shlex.join([*parts[:2], *(str(p) for p in paths), *parts[3:]])


def _same_or_none(blocks: Sequence[Any]) -> Any:
    return blocks[0] if all(block == blocks[0] for block in blocks) else None


def sweep_document(
    command: str,
    paths: Sequence[Path],
    documents: Sequence[dict[str, Any]],
    columns: Sequence[Column],
    rows: Sequence[ComparisonRow],
    *,
    figures: dict[str, str],
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The sweep's envelope: shared settings and data where every checkpoint has the same, each
    checkpoint's full document, the comparison."""
    first = documents[0]
    return envelope(
        f"{command}-sweep",
        checkpoint=None,
        checkpoints=list(documents),
        data=_same_or_none([doc["data"] for doc in documents]),
        settings=first["settings"],
        results={
            "reference": str(paths[0]),
            "columns": [c.to_document() for c in columns],
            "comparison": [row.to_document() for row in rows],
            **(extra or {}),
        },
        notes=[f"changes are against the first checkpoint, {paths[0]}"],
        caveats=[f"{path}: {caveat}" for path, doc in zip(paths, documents) for caveat in doc.get("caveats", [])],
        figures=figures,
        provenance={**first["provenance"], "command": _sweep_command(first, paths)},
    )


# A command's part in a sweep: run it on one checkpoint (opened, with its data), written into a folder or not.
RunOne = Callable[[Path, Any, "Path | None", bool], Any]


def _analyse(
    command: str,
    arguments: Sequence[str | Path],
    run_one: RunOne,
    columns_of: Callable[[list[dict[str, Any]]], list[Column]],
    *,
    options: dict[str, Any],
    out: str | Path | None,
    write: bool,
) -> SweepResult:
    """The sweep of a command that writes files (kl-report, disentangle): each checkpoint opened and run
    in turn with the shared data, its files staged in its subfolder, all committed as one output set."""
    from latentkit.commands._prepared import Prepared
    from latentkit.outputs import output_set, prepare_out_dir

    paths = expand_checkpoints(arguments)
    model = _model_input(paths[0], options)
    selection = DataSelection(options.get("data"), options.get("n"), options.get("seed", SEED))
    output = OutputSpec(Path(out) if out is not None else None, options.get("figure_format", FIGURE_FORMAT), write,
                        options.get("dpi", FIGURE_DPI))  # fmt: skip
    for spec in (model, selection, output):
        spec.validate()
    main = distributed.is_main()  # under torchrun only rank 0 writes
    out_dir = prepare_out_dir(out if out is not None else default_sweep_dir(command, paths)) if write and main else None
    folders = checkpoint_folders(paths)
    sources = SharedSources(selection)
    results = []
    with ExitStack() as stack:
        outs = stack.enter_context(output_set(out_dir, f"{command}.sweep")) if out_dir is not None else None
        with distributed.sweep_passes() as passes:  # the other ranks leave at its end
            for path, folder in zip(paths, folders):
                passes.next_checkpoint()
                try:
                    with _naming(path):
                        checkpoint = _model_input(path, options).open()
                        prepared = Prepared(checkpoint, sources(checkpoint), None)
                        into = outs.nested(folder, command) if outs is not None else None
                        results.append(run_one(path, prepared, into, write and main))
                except distributed.PassDone:  # this rank's share of the checkpoint is done
                    pass
                checkpoint = prepared = None  # one model in memory at a time
        documents = [r.document for r in results]
        columns = columns_of(documents)
        values = [{c.name: _read(c.name, doc) for c in columns} for doc in documents]
        rows = compare(paths, values, columns, folders=folders if write else None)
        names = {"json": f"{command}.sweep.json", "table": f"{command}.sweep.csv"} if write else {}
        document = sweep_document(command, paths, documents, columns, rows, figures=names)
        result = SweepResult(command, paths, results, columns, rows, document, len(sources.opened))
        if outs is not None:
            outs.write_json(names["json"], document)
            outs.path(names["table"]).write_text(result.table_csv(), encoding="utf-8")
    if outs is not None:
        result.out_dir = out_dir
        result.files = {key: outs.final(name) for key, name in names.items()}
        for one, folder in zip(results, folders):
            one.files = {key: outs.out_dir / folder / Path(value).name for key, value in one.files.items()}
            if hasattr(one, "out_dir"):
                one.out_dir = outs.out_dir / folder
    return result


def _model_input(path: Path, options: dict[str, Any]) -> ModelInput:
    return ModelInput(path, **{key: options[key] for key in _MODEL_OPTIONS if key in options})


@contextmanager
def _naming(path: Path) -> Iterator[None]:
    """An error about one checkpoint of a sweep says which one."""
    try:
        yield
    except LatentkitError as exc:
        if str(path) in exc.message:
            raise
        raise LatentkitError(f"{path}: {exc.message}", fix=exc.fix) from exc


def _read(name: str, document: dict[str, Any]) -> Any:
    try:
        return catalogue.read_figure(name, document)
    except KeyError:  # e.g. a metric that did not run for this checkpoint
        return None


def _catalogue_columns(names: Sequence[str]) -> list[Column]:
    return [Column(f.name, f.unit, f.direction) for f in map(catalogue.figure, names)]


def kl_report_sweep(checkpoints: Sequence[str | Path], *, out: str | Path | None = None, write: bool = True,
                    **options: Any) -> SweepResult:  # fmt: skip
    """:func:`~latentkit.commands.kl_report.kl_report` over every checkpoint (``options`` are its own),
    compared on :data:`KL_HEADLINE`."""
    from latentkit.commands.kl_report import kl_report

    def run_one(path: Path, prepared: Any, into: Path | None, write: bool) -> Any:
        return kl_report(path, write=write, prepared=prepared, into=into, **options)

    return _analyse("kl-report", checkpoints, run_one, lambda docs: _catalogue_columns(KL_HEADLINE),
                    options=options, out=out, write=write)  # fmt: skip


def disentangle_sweep(checkpoints: Sequence[str | Path], *, out: str | Path | None = None, write: bool = True,
                      **options: Any) -> SweepResult:  # fmt: skip
    """:func:`~latentkit.commands.disentangle.disentangle` over every checkpoint (``options`` are its
    own), compared on every score that ran, in the catalogue's order."""
    from latentkit.commands.disentangle import disentangle

    def run_one(path: Path, prepared: Any, into: Path | None, write: bool) -> Any:
        return disentangle(path, write=write, prepared=prepared, into=into, **options)

    def columns(documents: list[dict[str, Any]]) -> list[Column]:
        scored = {name for doc in documents for name in doc["results"]["scores"]}
        return _catalogue_columns([f.name for f in catalogue.FIGURES if f.command == "disentangle" and f.name in scored])

    return _analyse("disentangle", checkpoints, run_one, columns, options=options, out=out, write=write)


def check_sweep(
    checkpoints: Sequence[str | Path],
    *,
    baseline: str | Path | None = None,
    junit: str | Path | None = None,
    progress: Any | None = None,
    **options: Any,
) -> SweepResult:
    """:func:`~latentkit.commands.check.check` on every checkpoint (``options`` are its own): the rules
    are evaluated per checkpoint, and the sweep passes only when every checkpoint does.

    Relative rules compare with ``baseline`` when given (analysed or read once for the whole sweep),
    else with the first checkpoint, itself included (its values are reused, not measured again).
    With ``junit`` one XML file holds one test suite per checkpoint.
    """
    from latentkit.commands.check import baseline_values, check_with, junit_xml, plan_check

    paths = expand_checkpoints(checkpoints)
    plan = plan_check(paths[0], baseline=baseline, junit=junit, baseline_optional=True, **options)
    sources = SharedSources(plan.selection)
    base = None
    results: list[Any] = []
    with distributed.sweep_passes() as passes:  # under torchrun: every rank for each checkpoint's pass
        if baseline is not None:
            try:
                base = baseline_values(Path(baseline), plan.rules, plan.model, plan.selection, progress, sources=sources)
            except distributed.PassDone:
                pass
        for i, path in enumerate(paths):
            passes.next_checkpoint()
            try:
                with _naming(path):
                    first = paths[0] if baseline is None and i > 0 else None
                    results.append(check_with(plan, path, base, progress=progress, sources=sources, baseline_from=first))
            except distributed.PassDone:
                continue
            if base is None:  # the first checkpoint is the others' baseline
                base = {o.rule.name: o.measured for o in results[0].outcomes if o.rule.needs_baseline}
    columns = []
    for rule in plan.rules:
        if rule.name not in [c.name for c in columns]:
            columns.append(Column(rule.name, rule.figure.unit, rule.figure.direction))
    values = [r.document["results"]["figures"] for r in results]
    rows = compare(paths, values, columns, passed=[r.passed for r in results])
    passed = all(r.passed for r in results)
    names = {"junit": str(junit)} if junit is not None else {}
    document = sweep_document("check", paths, [r.document for r in results], columns, rows, figures=names,
                              extra={"passed": passed})  # fmt: skip
    result = SweepResult("check", paths, results, columns, rows, document, len(sources.opened))
    if junit is not None:
        from latentkit.outputs import atomic_write_text

        result.files["junit"] = atomic_write_text(junit, junit_xml(results))
    return result


__all__ = [
    "Column",
    "ComparisonRow",
    "KL_HEADLINE",
    "SharedSources",
    "SweepResult",
    "check_sweep",
    "checkpoint_folders",
    "compare",
    "default_sweep_dir",
    "disentangle_sweep",
    "expand_checkpoints",
    "kl_report_sweep",
]
