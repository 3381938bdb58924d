"""``latentkit check``: gate a checkpoint on rules over catalogue figures, for CI.

Only the analyses the rules need run (:class:`Analyses`), each at most once,
over one shared encoding pass of the checkpoint (as ``report`` shares one), and
disentanglement rules compute only the metrics named. A baseline (another
checkpoint, analysed in its own single pass, or a JSON document saved earlier,
a ``latentkit report`` included) gives relative rules their reference values. The result renders as a table, JSON,
JUnit XML, GitHub Actions annotations and a Markdown summary.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from latentkit.catalogue import Figure
from latentkit.defaults import COLLAPSE_CHECK_N, DISENTANGLE_N, TRAVERSE_N, UMAP_N
from latentkit.envelope import checkpoint_block, envelope
from latentkit.errors import LatentkitError
from latentkit.options import DataSelection, ModelInput, flag, provenance
from latentkit.rules import Rule, find_rules_file, parse_rules, read_rules_file

Progress = Callable[[str], Callable[[int], Callable[[int], None]] | None]


# the rows each analysis encodes by default (None: every row), as its command chooses them
_DEFAULT_ROWS = {"kl-report": None, "disentangle": DISENTANGLE_N, "traverse": TRAVERSE_N, "umap": UMAP_N,
                 "interpolate": COLLAPSE_CHECK_N}  # fmt: skip


class Analyses:
    """Encode once, analyse many: the figures of one checkpoint, each analysis run at most once.

    ``values(figures)`` groups the figures by the analysis that produces them
    (``kl``, ``disentangle:<metric>`` — all disentanglement metrics in one run
    over one encoding — ``interpolate``, ``traverse``, ``umap``), opens the
    checkpoint and encodes the union of the rows those analyses choose in one
    pass (a :class:`~latentkit.commands._prepared.Prepared`, as ``report``
    shares), runs each group's command on it in memory (``write=False``) once,
    and reads the values out of its JSON document with the catalogue.
    ``documents`` keeps every document produced, for reports and for the notes.
    """

    def __init__(
        self,
        model: ModelInput,
        selection: DataSelection,
        *,
        progress: Progress | None = None,
        sources: Callable[[Any], Any] | None = None,
    ) -> None:
        self.model = model
        self.selection = selection
        self.progress = progress
        self.open_source = sources or selection.open  # a sweep shares its opened data (SharedSources)
        self.documents: dict[str, dict[str, Any]] = {}
        self.runs: list[str] = []  # the analyses run, in order (at most once each)
        self.prepared: Any | None = None

    def _common(self) -> dict[str, Any]:
        m, s = self.model, self.selection
        return {
            "data": s.data, "seed": s.seed, "batch_size": m.batch_size, "device": m.device, "plugin": m.plugin,
            "config": m.config, "plugin_files": m.plugin_files, "strip_prefix": m.strip_prefix,
            "trust_pickles": m.trust_pickles, "write": False, "prepared": self.prepared,
        }  # fmt: skip

    def _prepare(self, commands: Sequence[str]) -> Any:
        """The checkpoint opened once and, for a VAE, the union of the commands' rows encoded in one pass."""
        import numpy as np

        from latentkit.commands._prepared import Prepared

        ckpt = self.model.open()
        if ckpt.kind != "vae":
            return Prepared(ckpt, self.open_source(ckpt) if self.selection.data is not None else None, None)
        source = self.open_source(ckpt)
        rows = np.zeros(0, dtype=np.int64)
        for command in commands:
            chosen = self.selection.rows(len(source), default=_DEFAULT_ROWS[command], name=source.name)
            rows = np.union1d(rows, chosen).astype(np.int64)
        progress = self.progress("encode") if self.progress else None
        m = self.model
        return Prepared.encode(
            ckpt, source, rows, seed=self.selection.seed, batch_size=m.batch_size, device=m.device,
            progress=progress(len(rows)) if progress else None,
        )  # fmt: skip

    def _run(self, command: str, metrics: Sequence[str] = ()) -> dict[str, Any]:
        progress = self.progress(command) if self.progress else None
        checkpoint = self.model.checkpoint
        common = self._common()
        if command == "kl-report":
            from latentkit.commands.kl_report import kl_report

            result = kl_report(checkpoint, n=self.selection.n, progress=progress, **common)
        elif command == "disentangle":
            from latentkit.commands.disentangle import disentangle

            result = disentangle(checkpoint, metrics=",".join(metrics), n=self.selection.n, progress=progress, **common)
        elif command == "interpolate":
            from latentkit.commands.interpolate import interpolate

            result = interpolate(checkpoint, progress=progress, **common)
        elif command == "traverse":
            from latentkit.commands.traverse import traverse

            result = traverse(checkpoint, n=self.selection.n, progress=progress, **common)
        elif command == "umap":
            from latentkit.commands.embed import embed

            result = embed(checkpoint, n=self.selection.n, progress=progress, **common)
        else:  # pragma: no cover - the catalogue names only these
            raise AssertionError(command)
        self.runs.append(command)
        return result.document

    def values(self, figures: Sequence[Figure]) -> dict[str, Any]:
        """Each figure's value (``None`` where not finite), running only the analyses they need."""
        needed: dict[str, list[str]] = {}
        for fig in figures:
            metrics = needed.setdefault(fig.command, [])
            if fig.analysis.startswith("disentangle:") and fig.analysis.split(":", 1)[1] not in metrics:
                metrics.append(fig.analysis.split(":", 1)[1])
        missing = [command for command in needed if command not in self.documents]
        if missing and self.prepared is None:
            self.prepared = self._prepare(missing)
        for command in missing:
            self.documents[command] = self._run(command, needed[command])
        return {fig.name: fig.read(self.documents[fig.command]) for fig in figures}


@dataclass(frozen=True)
class CheckSettings:
    """check's own settings: the rules and where they came from, and the baseline."""

    require: tuple[str, ...] = field(default=(), metadata=flag("--require"))
    rules_file: Path | None = field(default=None, metadata=flag("--rules-file"))
    baseline: Path | None = field(default=None, metadata=flag("--baseline"))


@dataclass(frozen=True)
class RuleOutcome:
    """One rule checked: the measured value, the baseline value, the threshold, and whether it held."""

    rule: Rule
    measured: float | None
    baseline: float | None
    threshold: float | None
    passed: bool

    @property
    def message(self) -> str:
        measured = _number(self.measured)
        if self.passed:
            return f"{self.rule.text}: measured {measured}"
        if self.measured is None or not math.isfinite(self.measured):
            return f"{self.rule.text}: {self.rule.name} is not finite (see the notes)"
        against = f" (baseline {_number(self.baseline)})" if self.baseline is not None else ""
        return f"{self.rule.text}: measured {measured}, needed {self.rule.op} {_number(self.threshold)}{against}"

    def to_document(self) -> dict[str, Any]:
        return {
            "rule": self.rule.text, "figure": self.rule.name, "op": self.rule.op, "measured": self.measured,
            "baseline": self.baseline, "threshold": self.threshold, "passed": self.passed,
        }  # fmt: skip


def _number(value: float | None) -> str:
    if value is None:
        return "null"
    return f"{value:.6g}"


@dataclass
class CheckResult:
    """Result of :func:`check`; ``document`` is its JSON (schema ``latentkit.check``)."""

    checkpoint: Path
    outcomes: list[RuleOutcome]
    rules_file: Path | None
    baseline: Path | None
    analyses: list[str]  # the analyses that ran, in order
    notes: list[str]
    document: dict[str, Any] = field(repr=False)
    files: dict[str, Path] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(o.passed for o in self.outcomes)

    @property
    def failures(self) -> list[RuleOutcome]:
        return [o for o in self.outcomes if not o.passed]

    def to_json(self) -> str:
        from latentkit.outputs import to_json

        return to_json(self.document)


def _flat(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _rule_values(rules: Sequence[Rule], values: dict[str, Any]) -> dict[str, float | None]:
    """The number each rule reads (an indexed per-dimension figure picks its element)."""
    found: dict[str, float | None] = {}
    for rule in rules:
        value = values[rule.figure.name]
        if rule.index is not None:
            if value is None or rule.index >= len(value):
                size = 0 if value is None else len(value)
                raise LatentkitError(
                    f"rule {rule.text!r}: {rule.figure.name} has {size} dimensions", fix=f"index 0..{size - 1}"
                )
            value = value[rule.index]
        found[rule.name] = _flat(value)
    return found


def baseline_values(
    path: Path,
    rules: Sequence[Rule],
    model: ModelInput,
    selection: DataSelection,
    progress: Progress | None,
    *,
    sources: Callable[[Any], Any] | None = None,
) -> dict[str, float | None]:
    """The baseline's value of every figure the relative rules read.

    ``path`` is a checkpoint (analysed like the candidate, on the same data) or
    a JSON document saved earlier: a ``latentkit check`` result (its measured
    figures), a ``latentkit report`` or any command's JSON (read with the catalogue).
    """
    relative = [r for r in rules if r.needs_baseline]
    if path.suffix.lower() == ".json":
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise LatentkitError(f"cannot read baseline {path} as JSON: {exc}", fix="pass a JSON file latentkit wrote") from None
        if not isinstance(document, dict) or not str(document.get("schema", "")).startswith("latentkit."):
            raise LatentkitError(f"baseline {path} is not a latentkit JSON document", fix="pass a file written by latentkit --json")
        values: dict[str, Any] = {}
        measured = (document.get("results") or {}).get("figures")
        for rule in relative:
            if isinstance(measured, dict) and rule.name in measured:
                values[rule.figure.name] = measured[rule.name]
                continue
            try:
                values[rule.figure.name] = rule.figure.read(document)
            except KeyError:
                raise LatentkitError(
                    f"baseline {path} ({document.get('schema')}) does not hold {rule.name}",
                    fix=f"save the baseline with `latentkit check` on the same rules, `latentkit report`, or `latentkit {rule.figure.command} --json`",
                ) from None
        return {name: value for name, value in _rule_values(relative, values).items()}
    base_model = dataclasses.replace(model, checkpoint=path)
    analyses = Analyses(base_model, selection, progress=progress, sources=sources)
    return _rule_values(relative, analyses.values([r.figure for r in relative]))


def collect_rules(require: Sequence[str], rules_file: Path | None, *, cwd: Path | None = None) -> tuple[list[str], Path | None]:
    """The rule texts: the rules file's (``--rules-file``, else the nearest one found) then ``--require``."""
    found = rules_file if rules_file is not None else find_rules_file(cwd or Path.cwd())
    texts = read_rules_file(found) if found is not None else []
    texts = [*texts, *require]
    if not texts:
        raise LatentkitError(
            "no rules to check",
            fix="pass --require 'active_units >= 8', or add [tool.latentkit.check] require = [...] to pyproject.toml",
        )
    return texts, found


@dataclass(frozen=True)
class CheckPlan:
    """Everything ``check`` decides before analysing anything: the specs, the parsed rules, the settings."""

    model: ModelInput
    selection: DataSelection
    texts: list[str]
    rules_file: Path | None
    rules: list[Rule]
    settings: CheckSettings


def plan_check(
    checkpoint: str | Path,
    *,
    require: Sequence[str] = (),
    rules_file: str | Path | None = None,
    baseline: str | Path | None = None,
    data: str | None = None,
    n: int | None = None,
    seed: int = 0,
    batch_size: int | None = None,
    device: str | None = None,
    plugin: str | None = None,
    config: dict[str, Any] | None = None,
    plugin_files: Sequence[str | Path] = (),
    strip_prefix: str | None = None,
    trust_pickles: bool = False,
    junit: str | Path | None = None,
    cwd: str | Path | None = None,
    baseline_optional: bool = False,
) -> CheckPlan:
    """Check every setting and parse every rule; nothing is opened. ``baseline_optional``: relative
    rules may go without ``--baseline`` (a sweep compares with its first checkpoint)."""
    from latentkit.defaults import BATCH_SIZE, DEVICE

    model = ModelInput(
        checkpoint, device or DEVICE, batch_size or BATCH_SIZE, plugin, config, tuple(Path(p) for p in plugin_files),
        strip_prefix, trust_pickles,
    )  # fmt: skip
    selection = DataSelection(data, n, seed)
    for spec in (model, selection):
        spec.validate()
    texts, found = collect_rules(tuple(require), Path(rules_file) if rules_file else None, cwd=Path(cwd) if cwd else None)
    rules = parse_rules(texts)
    if any(r.needs_baseline for r in rules) and baseline is None and not baseline_optional:
        first = next(r for r in rules if r.needs_baseline)
        raise LatentkitError(f"rule {first.text!r} compares with a baseline, but none was given", fix="pass --baseline CKPT|REPORT.json")
    if baseline is not None and not Path(baseline).is_file():
        raise LatentkitError(f"baseline {baseline} does not exist", fix="pass --baseline with a checkpoint or a saved JSON report")
    settings = CheckSettings(tuple(require), Path(rules_file) if rules_file else None, Path(baseline) if baseline else None)
    if junit is not None:
        from latentkit.outputs import prepare_out_dir

        prepare_out_dir(Path(junit).parent)  # a folder that cannot be written fails before any analysis
    return CheckPlan(model, selection, texts, found, list(rules), settings)


def check(
    checkpoint: str | Path,
    *,
    require: Sequence[str] = (),
    rules_file: str | Path | None = None,
    baseline: str | Path | None = None,
    data: str | None = None,
    n: int | None = None,
    seed: int = 0,
    batch_size: int | None = None,
    device: str | None = None,
    plugin: str | None = None,
    config: dict[str, Any] | None = None,
    plugin_files: Sequence[str | Path] = (),
    strip_prefix: str | None = None,
    trust_pickles: bool = False,
    junit: str | Path | None = None,
    cwd: str | Path | None = None,
    progress: Progress | None = None,
) -> CheckResult:
    """Check every rule against ``checkpoint``; nothing is analysed before every rule has parsed.

    ``progress(analysis)`` may return a ``progress(total) -> advance(n)`` for one analysis.
    With ``junit`` the JUnit XML is written there (atomically).
    """
    plan = plan_check(
        checkpoint, require=require, rules_file=rules_file, baseline=baseline, data=data, n=n, seed=seed,
        batch_size=batch_size, device=device, plugin=plugin, config=config, plugin_files=plugin_files,
        strip_prefix=strip_prefix, trust_pickles=trust_pickles, junit=junit, cwd=cwd,
    )  # fmt: skip
    base = None
    if baseline is not None:
        base = baseline_values(Path(baseline), plan.rules, plan.model, plan.selection, progress)
    result = check_with(plan, checkpoint, base, progress=progress)
    if junit is not None:
        from latentkit.outputs import atomic_write_text

        result.files["junit"] = atomic_write_text(junit, junit_xml(result))
        result.document["figures"] = {"junit": str(junit)}
    return result


def check_with(
    plan: CheckPlan,
    checkpoint: str | Path,
    base: dict[str, float | None] | None,
    *,
    progress: Progress | None = None,
    sources: Callable[[Any], Any] | None = None,
    baseline_from: Path | None = None,
) -> CheckResult:
    """The rules of ``plan`` checked on ``checkpoint``, relative ones against ``base`` (the baseline's
    values by rule name; None: the checkpoint is its own baseline, as a sweep's first one is).
    ``baseline_from`` names where ``base`` came from when it is not ``--baseline`` (a sweep's first checkpoint)."""
    model = dataclasses.replace(plan.model, checkpoint=Path(checkpoint))
    settings = plan.settings
    if baseline_from is not None and any(r.needs_baseline for r in plan.rules):
        settings = dataclasses.replace(settings, baseline=Path(baseline_from))
    analyses = Analyses(model, plan.selection, progress=progress, sources=sources)
    values = analyses.values(list({r.figure.name: r.figure for r in plan.rules}.values()))
    measured = _rule_values(plan.rules, values)
    if base is None:
        base = {r.name: measured[r.name] for r in plan.rules if r.needs_baseline}
        if base:
            settings = dataclasses.replace(settings, baseline=model.checkpoint)
    outcomes = []
    for rule in plan.rules:
        base_value = base.get(rule.name) if rule.needs_baseline else None
        threshold = None
        if not rule.needs_baseline or base_value is not None:
            threshold = rule.threshold(base_value)
        passed = threshold is not None and rule.holds(measured[rule.name], base_value)
        outcomes.append(RuleOutcome(rule, measured[rule.name], base_value, threshold, passed))

    notes = [f"{command}: {note}" for command, doc in analyses.documents.items() for note in doc["notes"]]
    ckpt_block = next((doc["checkpoint"] for doc in analyses.documents.values()), None)
    data_blocks = {command: doc["data"] for command, doc in analyses.documents.items()}
    selection = plan.selection
    document = envelope(
        "check",
        checkpoint=ckpt_block,
        data=next(iter(data_blocks.values()), None),
        settings={
            "rules": plan.texts,
            "rules_file": str(plan.rules_file) if plan.rules_file else None,
            "baseline": str(settings.baseline) if settings.baseline is not None else None,
            "n": selection.n,
            "seed": selection.seed,
            "batch_size": model.batch_size,
            "device": model.device,
        },
        results={
            "passed": all(o.passed for o in outcomes),
            "rules": [o.to_document() for o in outcomes],
            "figures": measured,
            "analyses": list(analyses.runs),
            "data": data_blocks,
        },
        notes=notes,
        figures={},
        provenance=provenance("check", [str(checkpoint)], model, selection, settings),
    )
    return CheckResult(model.checkpoint, outcomes, plan.rules_file, settings.baseline, list(analyses.runs), notes, document)


def junit_xml(result: CheckResult | Sequence[CheckResult]) -> str:
    """JUnit XML: one test suite per checkpoint (several for a sweep), one test case per rule, a
    ``failure`` for each rule that does not hold."""
    results = [result] if isinstance(result, CheckResult) else list(result)
    root = ElementTree.Element("testsuites", name="latentkit")
    for one in results:
        # a sweep names each suite by the checkpoint's path (two may share a file name)
        label = one.checkpoint.name if len(results) == 1 else str(one.checkpoint)
        suite = ElementTree.SubElement(
            root,
            "testsuite",
            name=f"latentkit check {label}",
            tests=str(len(one.outcomes)),
            failures=str(len(one.failures)),
            errors="0",
            skipped="0",
        )
        for outcome in one.outcomes:
            case = ElementTree.SubElement(suite, "testcase", classname="latentkit.check", name=outcome.rule.text)
            if not outcome.passed:
                failure = ElementTree.SubElement(case, "failure", message=outcome.message, type="RuleFailed")
                failure.text = outcome.message
    root.set("tests", str(sum(len(one.outcomes) for one in results)))
    root.set("failures", str(sum(len(one.failures) for one in results)))
    ElementTree.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ElementTree.tostring(root, encoding="unicode") + "\n"


def _escape_annotation(text: str) -> str:
    # GitHub Actions workflow-command escaping of the message part
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def github_annotations(result: CheckResult, *, label: str | None = None) -> list[str]:
    """One ``::error`` workflow command per failed rule (``label``: the checkpoint, in a sweep)."""
    prefix = f"{label}: " if label else ""
    return [
        f"::error title={_escape_annotation('latentkit check: ' + o.rule.name).replace(':', '%3A').replace(',', '%2C')}::"
        f"{_escape_annotation(prefix + o.message)}"
        for o in result.failures
    ]


def markdown_summary(result: CheckResult, *, label: str | None = None) -> str:
    """A Markdown table of every rule, for ``$GITHUB_STEP_SUMMARY`` (``label``: the checkpoint's path, in a sweep)."""
    verdict = "passed" if result.passed else f"failed ({len(result.failures)} of {len(result.outcomes)} rules)"
    lines = [
        f"### latentkit check `{label or result.checkpoint.name}`: {verdict}",
        "",
        "| rule | measured | baseline | threshold | result |",
        "| --- | --- | --- | --- | --- |",
    ]
    for o in result.outcomes:
        text = o.rule.text.replace("|", "\\|")
        baseline = _number(o.baseline) if o.rule.needs_baseline else "—"
        lines.append(
            f"| `{text}` | {_number(o.measured)} | {baseline} | {o.rule.op} {_number(o.threshold)} | "
            f"{'✅ pass' if o.passed else '❌ fail'} |"
        )
    return "\n".join(lines) + "\n\n"


__all__ = [
    "Analyses", "CheckPlan", "CheckResult", "check", "check_with", "github_annotations", "junit_xml",
    "markdown_summary", "plan_check",
]  # fmt: skip
