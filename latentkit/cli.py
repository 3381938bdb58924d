"""The ``latentkit`` command line: parse, call a command function, print, map errors to exit codes.

Only Typer wiring and rich output live here; the work is in
:mod:`latentkit.commands`. Heavy libraries are imported inside the commands, so
``latentkit --help`` stays fast. Errors become one line and exit code 2 in
:func:`main`, the single place that maps exceptions to exit statuses.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stdout
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
import typer.core
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from latentkit import defaults
from latentkit.errors import ExitCode, Interrupted, LatentkitError

def _plain_metavars(command: Any, ctx: Any) -> Any:
    """Name what each flag takes (PATH, INT, TEXT; nothing for an on/off flag) instead of type names.

    Typer shows ``<bool>``, ``<list[Path]>`` and ``<str>`` by default; an argument is shown by its
    upper-case name.
    """
    from typer.core import TyperArgument

    kinds = {int: "INT", float: "NUMBER", str: "TEXT"}
    help_option = command.get_help_option(ctx)
    for param in [*command.params, *([help_option] if help_option is not None else [])]:
        if isinstance(param, TyperArgument):
            param.metavar = param.metavar or param.name.upper()
            param.display_type_rich = lambda ctx: None  # its name says what it is
        elif param.metavar is not None:
            continue
        elif getattr(param, "is_flag", False):
            param.metavar = ""
        else:
            descriptor = param.type_descriptor
            annotation = descriptor.annotation
            element = (getattr(annotation, "__args__", None) or (annotation,))[0]
            is_path = descriptor.is_path or (isinstance(element, type) and issubclass(element, Path))
            param.metavar = "PATH" if is_path else kinds.get(element, "VALUE")
    return command


class _Group(typer.core.TyperGroup):
    """The command group, showing plain placeholders in every command's help."""

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        return _plain_metavars(command, ctx) if command is not None else None

    def format_help(self, ctx: Any, formatter: Any) -> None:
        _plain_metavars(self, ctx)
        super().format_help(ctx, formatter)


app = typer.Typer(
    cls=_Group,
    name="latentkit",
    help="See what the latent space of a trained VAE or GAN really does.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


class _State:
    debug = False
    quiet = False


state = _State()


def _literal(value: object) -> str:
    """A string from a file, shown as is, with control characters (terminal escapes, newlines) escaped."""
    text = str(value)
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


def _console(*, stderr: bool = False) -> Console:
    return Console(stderr=stderr, no_color="NO_COLOR" in os.environ or None, highlight=False)


# --- options shared by commands ------------------------------------------------------
DataOpt = Annotated[
    Optional[str],
    typer.Option("--data", help="digits, shapes, a .npz/.npy file or a folder of PNGs (default: the checkpoint's dataset)."),
]
OutOpt = Annotated[Optional[Path], typer.Option("--out", help="Output folder (default: latentkit-out/<checkpoint stem>-<hash of its path>/).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the JSON result to stdout and nothing else.")]
SeedOpt = Annotated[
    int, typer.Option("--seed", min=0, max=defaults.MAX_SEED, help="Seed: the same seed gives the same numbers.")
]
NOpt = Annotated[
    Optional[int],
    typer.Option("--n", "--limit", help="Use a reproducible random subset of N items (default: all); --limit is an alias."),
]
BatchOpt = Annotated[int, typer.Option("--batch-size", help="Items per batch (the default is the fastest measured on CPU).")]
DeviceOpt = Annotated[str, typer.Option("--device", help="cpu, cuda or cuda:N.")]
WorkersOpt = Annotated[
    int, typer.Option("--workers", help="Processes reading batches ahead of the model (0: read in the main process).")
]
PluginOpt = Annotated[Optional[str], typer.Option("--plugin", help="Plugin that builds the model (overrides the checkpoint).")]
ConfigOpt = Annotated[
    Optional[str], typer.Option("--config", help="Model config: a JSON file, or inline JSON (overrides the checkpoint).")
]
PluginFileOpt = Annotated[
    Optional[list[Path]], typer.Option("--plugin-file", help="Python file defining PLUGINS (runs its code).")
]
StripPrefixOpt = Annotated[
    Optional[str], typer.Option("--strip-prefix", help="Remove this prefix from state-dict keys (e.g. model.).")
]
TrustPicklesOpt = Annotated[
    bool, typer.Option("--trust-pickles", help="Allow pickled networks (e.g. pythae encoder.pkl): runs code from the file.")
]
FormatOpt = Annotated[str, typer.Option("--format", help="Figure format: png, svg or pdf.")]
DpiOpt = Annotated[
    int, typer.Option("--dpi", help=f"Figure resolution (default {defaults.FIGURE_DPI}: print; figures are sized for a paper column).")
]
SpatialOpt = Annotated[
    str,
    typer.Option(
        "--spatial",
        help="A latent with positions (C, H, W): channel-mean (each channel averaged over its positions, "
        "C features) or flatten (every value a feature).",
    ),
]


def _number(value: float) -> str:
    """4 decimals, or 2 significant digits in scientific notation for values too small to show so."""
    if value != value:  # nan
        return "-"
    return f"{value:.4f}" if value == 0 or abs(value) >= 1e-3 else f"{value:.1e}"


def _print_notes(notes: Any, console: Console) -> None:
    for text in notes:
        console.print("[yellow]note:[/yellow] ", end="")
        console.print(text, markup=False)


def _print_opening_notes(document: dict[str, Any], console: Console) -> None:
    """What opening the model inferred (a stripped key prefix, a config from the file), one line each."""
    for text in (document.get("checkpoint") or {}).get("notes", []):
        console.print("[cyan]model:[/cyan] ", end="")
        console.print(text, markup=False)


def _print_caveats(caveats: Any, console: Console) -> None:
    for text in caveats:
        console.print("[bold dark_orange]caveat:[/bold dark_orange] ", end="")
        console.print(text, markup=False)


def _config(value: str | None) -> dict[str, Any] | None:
    if value is None:
        return None
    from latentkit.models.checkpoint import parse_config_option

    return parse_config_option(value)


# Seconds between plain progress lines when stderr is not a terminal (a CI log, a file).
PROGRESS_LINE_SECONDS = 10.0


class _ProgressLines:
    """Plain ``what: done/total (p%), t s`` lines on stderr, at most one per ``interval`` seconds.

    The first and the last line are always printed, so a log shows that the
    step started and how long it took.
    """

    def __init__(self, description: str, console: Console, interval: float) -> None:
        import time

        self._clock = time.monotonic
        self.description, self.console, self.interval = description, console, interval
        self.start_time = self._clock()
        self.last = -float("inf")
        self.total = self.done = 0

    def start(self, total: int) -> Callable[[int], None]:
        if not self.total:
            self.start_time = self._clock()
        self.total += total
        self._line(force=True)
        return self.advance

    def advance(self, n: int) -> None:
        self.done += n
        self._line(force=self.done >= self.total)

    def _line(self, *, force: bool) -> None:
        now = self._clock()
        if not force and now - self.last < self.interval:
            return
        self.last = now
        share = f" ({self.done / self.total:.0%})" if self.total else ""
        self.console.print(
            f"{self.description}: {self.done}/{self.total}{share}, {now - self.start_time:.0f} s",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )


@contextmanager
def _progress(description: str, *, enabled: bool) -> Iterator[Callable[[int], Callable[[int], None]]]:
    """Yield ``start(total) -> advance(n)``.

    On a terminal a rich bar is drawn on stderr; elsewhere (CI logs, files)
    plain progress lines are printed every ``PROGRESS_LINE_SECONDS``. Nothing
    when disabled (``-q``).
    """
    if not enabled:
        yield lambda total: (lambda n: None)
        return
    console = _console(stderr=True)
    if not console.is_terminal:
        yield _ProgressLines(description, console, PROGRESS_LINE_SECONDS).start
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:

        def start(total: int) -> Callable[[int], None]:
            task = bar.add_task(description, total=total)
            return lambda n: bar.advance(task, n)

        yield start


def _emit_json(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


# --- commands ---------------------------------------------------------------------------
def _print_version(value: bool) -> None:
    if value:
        from latentkit.commands._common import latentkit_version

        typer.echo(f"latentkit {latentkit_version()}")
        raise typer.Exit(0)


# Options of the whole program that users also type after the command (`latentkit kl-report X -q`).
GLOBAL_FLAGS = ("-q", "--quiet", "--debug")
GLOBAL_VALUE_OPTIONS = ("--threads",)


def hoist_global_flags(argv: list[str]) -> list[str]:
    """Move ``-q``/``--quiet``/``--debug``/``--threads N`` given after the command to the front,
    where Typer reads them. Tokens after a ``--`` separator are left alone.
    """
    end = argv.index("--") if "--" in argv else len(argv)
    hoisted: list[str] = []
    rest: list[str] = []
    i = 0
    while i < end:
        token = argv[i]
        if token in GLOBAL_FLAGS or token.split("=", 1)[0] in GLOBAL_VALUE_OPTIONS and "=" in token:
            hoisted.append(token)
        elif token in GLOBAL_VALUE_OPTIONS and i + 1 < end:
            hoisted += [token, argv[i + 1]]
            i += 1
        else:
            rest.append(token)
        i += 1
    return hoisted + rest + argv[end:]


@app.callback()
def _main_options(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors (also after the command).")] = False,
    quiet: Annotated[
        bool, typer.Option("-q", "--quiet", help="No progress bars or progress lines (also after the command).")
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", help="Print the version and exit.", is_eager=True, callback=_print_version),
    ] = False,
    threads: Annotated[
        Optional[int],
        typer.Option(
            "--threads",
            help="CPU threads for torch (default: 1 for small images such as digits, every core for larger "
            "ones; OMP_NUM_THREADS is honoured).",
        ),
    ] = None,
) -> None:
    """See what the latent space of a trained VAE or GAN really does."""
    from latentkit.threads import request_threads

    from latentkit import distributed

    state.debug = debug
    state.quiet = quiet or not distributed.is_main()  # under torchrun only rank 0 draws progress
    request_threads(threads)


def _device_fit_text(fit) -> str:
    weights = f"weights {fit.weights_bytes / 2**20:.1f} MiB in float32"
    if fit.free_bytes is None:
        return f"{fit.device} ({fit.name}): usable; {weights}, free memory unknown"
    verdict = "fit" if fit.fits else "do NOT fit"
    return f"{fit.device} ({fit.name}): usable; {weights} {verdict} in {fit.free_bytes / 2**30:.1f} GiB free"


@app.command()
def info(
    checkpoint: Annotated[
        Path, typer.Argument(help="A model: latentkit .safetensors, state dict, or a format a plugin opens.")
    ],
    as_json: JsonOpt = False,
    plugin: PluginOpt = None,
    plugin_file: PluginFileOpt = None,
    device: Annotated[
        Optional[str],
        typer.Option(
            "--device",
            help="Also check that this device (cpu, cuda, cuda:N) is usable and has room for the weights.",
        ),
    ] = None,
) -> None:
    """Show what a model holds: format, plugin, kind, latent shape, parameters, size (weights are not loaded)."""
    from latentkit.commands.info import info as run_info
    from latentkit.outputs import to_json

    result = run_info(checkpoint, plugin=plugin, plugin_files=plugin_file or (), device=device)
    if as_json:
        _emit_json(to_json(result.to_document()))
        return
    console = _console()
    training = result.training or {}
    rows = [
        ("file", f"{result.path} ({result.size / 1e6:.2f} MB)"),
        ("format", result.format),
        ("plugin", result.plugin or "none (pass --plugin/--config to load it)"),
        ("kind", result.kind or "?"),
        ("latent shape", "×".join(map(str, result.latent_shape)) if result.latent_shape is not None else "?"),
        ("parameters", f"{result.parameter_count:,}" if result.parameter_count is not None else "?"),
        ("dataset", result.dataset or "-"),
        *((label, str(training[key])) for key, label in (("beta", "β"), ("epochs", "epochs"), ("seed", "seed")) if key in training),
        ("config", json.dumps(result.config, sort_keys=True) if result.config is not None else "-"),
        *(("note", note) for note in result.notes),
        *((("device", _device_fit_text(result.device)),) if result.device is not None else ()),
    ]
    table = Table(show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column()
    for key, value in rows:
        table.add_row(Text(key), Text(_literal(value)))
    console.print(table)
    if result.tensors:
        tensors = Table("tensor", "shape", "dtype", title=f"{len(result.tensors)} tensors")
        for t in result.tensors:
            tensors.add_row(Text(_literal(t.name)), "×".join(map(str, t.shape)) or "scalar", Text(t.dtype))
        console.print(tensors)


@app.command()
def plugins(
    plugin_file: PluginFileOpt = None,
    check: Annotated[
        bool, typer.Option("--check", help="Also build each plugin from its example config (imports torch); exit 1 if one is broken.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """List the plugins latentkit can find: name, kind, formats it opens, origin and status."""
    from latentkit.commands.plugins import list_plugins
    from latentkit.outputs import to_json

    rows = list_plugins(plugin_file or (), check_build=check)
    if as_json:
        from latentkit.envelope import envelope
        from latentkit.options import provenance

        command = ["--check"] if check else []
        for path in plugin_file or ():
            command += ["--plugin-file", str(path)]
        document = envelope(
            "plugins", checkpoint=None, data=None, settings={"check": check}, notes=[], figures={},
            results={"plugins": [row.to_document() for row in rows]}, provenance=provenance("plugins", command),
        )  # fmt: skip
        _emit_json(to_json(document))
    else:
        table = Table("name", "kind", "opens", "origin", "status")
        for row in rows:
            status = Text("ok", style="green") if row.status == "ok" else Text.assemble(("broken", "red"), f": {row.reason}")
            table.add_row(Text(row.name), row.kind or "?", Text("\n".join(row.formats) or "-"), Text(row.origin), status)
        _console().print(table)
    if check and any(row.status != "ok" for row in rows):
        raise typer.Exit(ExitCode.CHECK_FAILED)


CheckpointsArg = Annotated[
    list[Path],
    typer.Argument(
        help="A VAE: a checkpoint, state dict or plugin format (latentkit info shows which). Several, or a quoted "
        "glob ('runs/*/model.safetensors'), make a sweep: one table comparing them with the first.",
        show_default=False,
    ),
]


@app.command("kl-report")
def kl_report(
    checkpoints: CheckpointsArg,
    data: DataOpt = None,
    out: OutOpt = None,
    as_json: JsonOpt = False,
    active_threshold: Annotated[
        float, typer.Option("--active-threshold", help="A dimension is active when Var_x(E\\[z_i|x]) exceeds this (Burda et al. 2016).")
    ] = defaults.ACTIVE_THRESHOLD,
    batch_size: BatchOpt = defaults.BATCH_SIZE,
    n: NOpt = None,
    seed: SeedOpt = defaults.SEED,
    device: DeviceOpt = defaults.DEVICE,
    workers: WorkersOpt = defaults.WORKERS,
    plugin: PluginOpt = None,
    config: ConfigOpt = None,
    plugin_file: PluginFileOpt = None,
    strip_prefix: StripPrefixOpt = None,
    trust_pickles: TrustPicklesOpt = False,
    figure_format: FormatOpt = defaults.FIGURE_FORMAT,
    dpi: DpiOpt = defaults.FIGURE_DPI,
) -> None:
    """Per-dimension KL, total KL and active units of a VAE (per channel for spatial latents), and the
    latent scale: the scaling_factor and per-channel mean/std that make its latents unit-variance."""
    from latentkit.commands.kl_report import kl_report as run_kl_report
    from latentkit.commands.sweep import expand_checkpoints, kl_report_sweep

    paths = expand_checkpoints(checkpoints)
    options = dict(
        data=data, out=out, active_threshold=active_threshold, batch_size=batch_size, n=n, seed=seed, device=device,
        workers=workers, plugin=plugin, config=_config(config), plugin_files=plugin_file or (),
        strip_prefix=strip_prefix, trust_pickles=trust_pickles, figure_format=figure_format, dpi=dpi,
    )  # fmt: skip
    with _progress("encoding", enabled=not state.quiet) as progress:
        if len(paths) > 1:
            _print_sweep(kl_report_sweep(paths, progress=progress, **options), as_json=as_json)
            return
        report = run_kl_report(paths[0], progress=progress, **options)
    if as_json:
        _emit_json(report.to_json())
    _print_kl_report(report, _console(stderr=as_json))


_GOOD_CHANGE = {"higher": 1, "lower": -1}


def _figure_text(value: Any) -> str:
    if value is None:
        return "-"
    return str(value) if isinstance(value, int) else f"{value:.4g}"


def _change_text(change: Any, direction: str) -> Text:
    """ " (−2)": a change against the first checkpoint, green when better and red when worse."""
    if change is None:
        return Text(" (-)", style="dim")
    if change == 0:
        return Text(" (±0)", style="dim")
    shown = f"{change:+d}" if isinstance(change, int) else f"{change:+.3g}"
    sign = _GOOD_CHANGE.get(direction, 0) * (1 if change > 0 else -1)
    return Text(f" ({shown.replace('-', '−')})", style={1: "green", -1: "red"}.get(sign, ""))


def _print_sweep(result: Any, *, as_json: bool) -> None:
    """A sweep: one row per checkpoint, each figure with its change against the first."""
    if as_json:
        _emit_json(result.to_json())
    console = _console(stderr=as_json)
    check = any(row.passed is not None for row in result.rows)
    table = Table(title=f"{result.command}: {len(result.rows)} checkpoints, changes against the first")
    for header in ["checkpoint", *(["result"] if check else []), *(c.name for c in result.columns)]:
        table.add_column(header, overflow="fold")  # a path or a figure name wraps rather than losing its end
    for i, row in enumerate(result.rows):
        cells = []
        for column in result.columns:
            cell = Text(_figure_text(row.values[column.name]))
            if i > 0:
                cell.append_text(_change_text(row.changes[column.name], column.direction))
            cells.append(cell)
        verdict = [Text("pass", style="green") if row.passed else Text("FAIL", style="red")] if check else []
        table.add_row(Text(_literal(row.checkpoint)), *verdict, *cells)
    console.print(table)
    _print_caveats(result.document["caveats"], console)
    for path in result.files.values():
        console.print(f"wrote {path}", markup=False)
    if result.out_dir is not None:
        console.print(f"each checkpoint's own files: {result.out_dir}/<folder>/ (folder column of the CSV)", markup=False)


def _print_kl_report(report: Any, console: Console) -> None:
    import numpy as np

    _print_opening_notes(report.document, console)

    spatial = report.layout.kind == "spatial"
    scale = report.scale
    table = Table(
        "channel" if spatial else "dim", "KL (nats)", "± s.e.", "share", "Var(μ)", "mean σ²", "mean z", "std z", "",
        title=escape(f"{report.checkpoint.name} on {report.source} (n={report.n})")
        + (f", latents {'×'.join(map(str, report.layout.shape))}" if spatial else ""),
    )  # fmt: skip
    stderr = report.per_dim_stderr if report.per_dim_stderr is not None else np.full_like(report.per_dim, np.nan)
    shares_mean_something = bool(report.total >= defaults.KL_SHARE_MIN_TOTAL)
    for i in np.argsort(-report.per_dim, kind="stable"):
        state_text = "[green]active[/green]" if report.active[i] else "[dim]collapsed[/dim]"
        if report.undecided[i]:
            state_text += " [yellow](undecided)[/yellow]"
        table.add_row(
            str(i),
            _number(report.per_dim[i]),
            _number(stderr[i]),
            f"{report.share[i]:.1%}" if shares_mean_something else "–",
            _number(report.mean_variance[i]),
            _number(report.mean_sigma2[i]),
            f"{scale.latents_mean[i]:.4g}",
            f"{scale.latents_std[i]:.4g}",
            state_text,
        )
    console.print(table)
    d = len(report.per_dim)
    console.print(
        f"total KL [bold]{_number(report.total)}[/bold] nats · active units [bold]{report.active_units}/{d}[/bold] "
        f"(Var(μ) > {report.threshold:g})"
        + (f" · collapsed: {', '.join(map(str, report.collapsed))}" if report.collapsed else "")
        + ("" if shares_mean_something else f" · shares not shown: total KL under {defaults.KL_SHARE_MIN_TOTAL:g} nats")
    )
    line = f"latent scale: scaling_factor [bold]{scale.scaling_factor:.5g}[/bold] (1/std of sampled latents)"
    line += f" · shift_factor {scale.shift_factor:.4g}"
    for key, entry in report.scale_comparison.items():
        if key in ("scaling_factor", "shift_factor"):
            line += f" · model's {key} {entry['config']:.5g} ({entry['relative_difference']:+.1%})"
    console.print(line)
    for note in report.notes:
        console.print("[yellow]diagnosis:[/yellow] ", end="")
        console.print(note, markup=False)
    _print_caveats(report.caveats, console)
    for path in report.files.values():
        console.print(f"wrote {path}", markup=False)


@app.command()
def interpolate(
    checkpoint: Annotated[Path, typer.Argument(help="A VAE or GAN: a checkpoint, state dict or plugin format (latentkit info shows which).")],
    data: DataOpt = None,
    out: OutOpt = None,
    as_json: JsonOpt = False,
    mode: Annotated[str, typer.Option("--mode", help="lerp, slerp, or both (side by side).")] = defaults.INTERPOLATE_MODE,
    steps: Annotated[int, typer.Option("--steps", help="Points per path, both ends included (≥ 2).")] = defaults.INTERPOLATE_STEPS,
    pairs: Annotated[
        Optional[int], typer.Option("--pairs", help=f"Paths, one row each (default {defaults.INTERPOLATE_PAIRS}).")
    ] = None,
    from_index: Annotated[
        Optional[list[int]], typer.Option("--from", help="VAE: data row a path starts at (repeatable, one --to each).")
    ] = None,
    to_index: Annotated[Optional[list[int]], typer.Option("--to", help="VAE: data row a path ends at.")] = None,
    seed: SeedOpt = defaults.SEED,
    batch_size: BatchOpt = defaults.BATCH_SIZE,
    device: DeviceOpt = defaults.DEVICE,
    plugin: PluginOpt = None,
    config: ConfigOpt = None,
    plugin_file: PluginFileOpt = None,
    strip_prefix: StripPrefixOpt = None,
    trust_pickles: TrustPicklesOpt = False,
    figure_format: FormatOpt = defaults.FIGURE_FORMAT,
    dpi: DpiOpt = defaults.FIGURE_DPI,
) -> None:
    """Decoded paths between pairs of latent codes, lerp against slerp (VAE: data points; GAN: prior samples)."""
    from latentkit.commands.interpolate import interpolate as run_interpolate

    with _progress("interpolating", enabled=not state.quiet) as progress:
        result = run_interpolate(
            checkpoint,
            data=data,
            out=out,
            mode=mode,
            steps=steps,
            pairs=pairs,
            from_index=from_index or (),
            to_index=to_index or (),
            seed=seed,
            batch_size=batch_size,
            device=device,
            plugin=plugin,
            config=_config(config),
            plugin_files=plugin_file or (),
            strip_prefix=strip_prefix,
            trust_pickles=trust_pickles,
            figure_format=figure_format,
            dpi=dpi,
            progress=progress,
        )
    if as_json:
        _emit_json(result.to_json())
    console = _console(stderr=as_json)
    _print_opening_notes(result.document, console)
    table = Table(
        "mode", "mean ‖z‖", "min ‖z‖", "mean ‖z‖ / √d", "frame-to-frame MSE mean", "max",
        title=escape(f"{result.checkpoint.name}") + f": {result.codes.shape[1]} paths × {len(result.t)} steps "
        f"between {'data points' if result.endpoints is not None else 'prior samples'}",
    )  # fmt: skip
    for name, m in result.summaries.items():
        table.add_row(
            name,
            f"{m.norm_mean:.3f}",
            f"{m.norm_min:.3f}",
            f"{m.norm_ratio:.2f}",
            f"{m.smoothness_mean:.3g}",
            f"{m.smoothness_max:.3g}",
        )
    console.print(table)
    console.print(
        f"prior norm √d = {result.prior_norm:.3f}; frame-to-frame MSE = mean squared pixel difference between "
        "consecutive decoded steps (pixels in [0, 1]; small = a smooth path), per path, averaged over paths "
        "(max: each path's largest step)"
    )
    _print_caveats(result.caveats, console)
    _print_files(result.files, console)


@app.command()
def traverse(
    checkpoint: Annotated[Path, typer.Argument(help="A VAE or GAN: a checkpoint, state dict or plugin format (latentkit info shows which).")],
    data: DataOpt = None,
    out: OutOpt = None,
    as_json: JsonOpt = False,
    value_range: Annotated[
        str,
        typer.Option(
            "--range",
            help="R: each dimension takes values -R..R; 'quantile': the "
            f"{defaults.TRAVERSE_QUANTILES[0]:.0%}-{defaults.TRAVERSE_QUANTILES[1]:.0%} quantiles of its posterior means (VAE).",
        ),
    ] = f"{defaults.TRAVERSE_RANGE:g}",
    steps: Annotated[int, typer.Option("--steps", help="Values per dimension (≥ 2).")] = defaults.TRAVERSE_STEPS,
    base: Annotated[
        Optional[str],
        typer.Option(
            "--base",
            help="Code the other dimensions keep: data (a data point, VAE default), zero (GAN default) or a row index.",
        ),
    ] = None,
    active_only: Annotated[bool, typer.Option("--active-only", help="VAE: hide collapsed dimensions.")] = False,
    n: Annotated[
        Optional[int],
        typer.Option(
            "--n", help=f"VAE: data points encoded for the KL order and quantiles (default: all up to {defaults.TRAVERSE_N})."
        ),
    ] = None,
    gif: Annotated[bool, typer.Option("--gif", help="Also write traverse.gif, every dimension moving back and forth.")] = False,
    seed: SeedOpt = defaults.SEED,
    batch_size: BatchOpt = defaults.BATCH_SIZE,
    device: DeviceOpt = defaults.DEVICE,
    plugin: PluginOpt = None,
    config: ConfigOpt = None,
    plugin_file: PluginFileOpt = None,
    strip_prefix: StripPrefixOpt = None,
    trust_pickles: TrustPicklesOpt = False,
    figure_format: FormatOpt = defaults.FIGURE_FORMAT,
    dpi: DpiOpt = defaults.FIGURE_DPI,
) -> None:
    """Vary one latent dimension at a time around a base code: one row per dimension, with decoder sensitivity."""
    from latentkit.commands.traverse import traverse as run_traverse

    with _progress("traversing", enabled=not state.quiet) as progress:
        result = run_traverse(
            checkpoint,
            data=data,
            out=out,
            value_range=value_range,
            steps=steps,
            base=base,
            active_only=active_only,
            n=n,
            gif=gif,
            seed=seed,
            batch_size=batch_size,
            device=device,
            plugin=plugin,
            config=_config(config),
            plugin_files=plugin_file or (),
            strip_prefix=strip_prefix,
            trust_pickles=trust_pickles,
            figure_format=figure_format,
            dpi=dpi,
            progress=progress,
        )
    if as_json:
        _emit_json(result.to_json())
    console = _console(stderr=as_json)
    _print_opening_notes(result.document, console)
    title = f"{result.checkpoint.name}: traversal"
    table = Table("dim", "KL (nats)", "", "sensitivity", "relative", title=title)
    relative = result.relative_sensitivity
    for d in result.dims:
        state_text = ""
        if result.active is not None:
            state_text = "[green]active[/green]" if result.active[d] else "[dim]collapsed[/dim]"
        table.add_row(
            str(d),
            f"{result.kl[d]:.4f}" if result.kl is not None else "-",
            state_text,
            f"{result.sensitivity[d]:.3e}",
            f"{relative[d]:.1%}",
        )
    console.print(table)
    console.print(
        "sensitivity = mean squared change of the decoded output per unit change of the dimension "
        f"(central differences around {result.sensitivity_n} base codes)"
    )
    _print_notes(result.notes, console)
    _print_caveats(result.caveats, console)
    _print_files(result.files, console)


@app.command("umap")
def umap_command(
    checkpoint: Annotated[Path, typer.Argument(help="A VAE or GAN: a checkpoint, state dict or plugin format (latentkit info shows which).")],
    data: DataOpt = None,
    out: OutOpt = None,
    as_json: JsonOpt = False,
    method: Annotated[str, typer.Option("--method", help="umap, pca (instant) or tsne.")] = defaults.UMAP_METHOD,
    n: Annotated[
        Optional[int],
        typer.Option("--n", help=f"Data points, a reproducible random subset (default: all up to {defaults.UMAP_N})."),
    ] = None,
    color_by: Annotated[
        Optional[str], typer.Option("--color-by", help="VAE: y (labels) or a factor name (default: y, else the first factor).")
    ] = None,
    generated: Annotated[
        bool, typer.Option("--generated", help="VAE: project data and prior samples together, as for a GAN.")
    ] = False,
    spatial: SpatialOpt = defaults.SPATIAL_CODE,
    neighbors: Annotated[int, typer.Option("--neighbors", help="UMAP's n_neighbors.")] = defaults.UMAP_NEIGHBORS,
    min_dist: Annotated[float, typer.Option("--min-dist", help="UMAP's min_dist.")] = defaults.UMAP_MIN_DIST,
    seed: Annotated[
        int,
        typer.Option(
            "--seed",
            min=0,
            max=defaults.MAX_SEED,
            help="Seed: the same seed gives the same subset and embedding (UMAP then runs single-threaded).",
        ),
    ] = defaults.SEED,
    batch_size: BatchOpt = defaults.BATCH_SIZE,
    device: DeviceOpt = defaults.DEVICE,
    plugin: PluginOpt = None,
    config: ConfigOpt = None,
    plugin_file: PluginFileOpt = None,
    strip_prefix: StripPrefixOpt = None,
    trust_pickles: TrustPicklesOpt = False,
    figure_format: FormatOpt = defaults.FIGURE_FORMAT,
    dpi: DpiOpt = defaults.FIGURE_DPI,
) -> None:
    """2-D projection of the posterior means (VAE) or of data and samples together (GAN), with its trustworthiness."""
    from latentkit.commands.embed import embed

    with _progress(f"projecting ({method})", enabled=not state.quiet) as progress:
        result = embed(
            checkpoint,
            data=data,
            out=out,
            method=method,
            n=n,
            color_by=color_by,
            generated=generated,
            spatial=spatial,
            neighbors=neighbors,
            min_dist=min_dist,
            seed=seed,
            batch_size=batch_size,
            device=device,
            plugin=plugin,
            config=_config(config),
            plugin_files=plugin_file or (),
            strip_prefix=strip_prefix,
            trust_pickles=trust_pickles,
            figure_format=figure_format,
            dpi=dpi,
            progress=progress,
        )
    if as_json:
        _emit_json(result.to_json())
    console = _console(stderr=as_json)
    _print_opening_notes(result.document, console)
    what = f"{result.n_data} posterior means"
    if result.n_generated:
        what = f"{result.n_data} data points + {result.n_generated} generated samples"
    console.print(
        f"{result.checkpoint.name}: {result.method} of {what}, coloured by {result.color_by or 'nothing'}"
    )
    console.print(
        f"trustworthiness [bold]{result.trustworthiness:.3f}[/bold] (k = {result.trustworthiness_k}, on {result.trustworthiness_n} points; 1 = every "
        "neighbour shown is a real one)"
    )
    _print_caveats(result.caveats, console)
    _print_files(result.files, console)


def _print_files(files: dict[str, Path], console: Console) -> None:
    for path in files.values():
        console.print(f"wrote {path}", markup=False)


@app.command()
def train(
    model_type: Annotated[str, typer.Argument(help="vae, beta-vae or gan.", metavar="MODEL_TYPE")],
    data: Annotated[str, typer.Option("--data", help="digits, shapes, a .npz/.npy file or a folder of PNGs.")],
    out: Annotated[Path, typer.Option("--out", help="Checkpoint to write (.safetensors).")],
    beta: Annotated[
        Optional[float], typer.Option("--beta", help=f"KL weight (vae: {defaults.BETA:g}, beta-vae: {defaults.BETA_VAE_BETA:g}).")
    ] = None,
    epochs: Annotated[int, typer.Option("--epochs", help="Passes over the data.")] = defaults.TRAIN_EPOCHS,
    latent_dim: Annotated[Optional[int], typer.Option("--latent-dim", help="Latent dimensions.")] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Training batch size.")] = defaults.TRAIN_BATCH_SIZE,
    learning_rate: Annotated[
        Optional[float],
        typer.Option("--lr", help=f"Adam learning rate (VAE {defaults.TRAIN_LEARNING_RATE:g}, GAN {defaults.GAN_LEARNING_RATE:g})."),
    ] = None,
    kl_warmup: Annotated[
        int,
        typer.Option(
            "--kl-warmup",
            help="VAEs: raise β linearly from 0 over this many optimizer steps (0 = off); 500 keeps a shapes model from collapsing.",
        ),
    ] = defaults.TRAIN_KL_WARMUP,
    n: NOpt = None,
    seed: SeedOpt = defaults.SEED,
    device: DeviceOpt = defaults.DEVICE,
    plugin: Annotated[
        Optional[str], typer.Option("--plugin", help="Train this plugin's architecture instead of a built-in one.")
    ] = None,
    config: Annotated[
        Optional[str], typer.Option("--config", help="The plugin's config: a JSON file, or inline JSON (with --plugin).")
    ] = None,
    plugin_file: PluginFileOpt = None,
) -> None:
    """Train a built-in VAE, β-VAE or GAN (or a plugin's, with --plugin) and write a checkpoint with full metadata."""
    from latentkit.commands.train import train as run_train

    console = _console(stderr=True)
    log = None if state.quiet else (lambda line: console.print(line, markup=False, highlight=False, soft_wrap=True))
    with _progress(f"training {model_type}", enabled=not state.quiet) as progress:
        result = run_train(
            model_type,
            data=data,
            out=out,
            beta=beta,
            epochs=epochs,
            latent_dim=latent_dim,
            batch_size=batch_size,
            learning_rate=learning_rate,
            kl_warmup=kl_warmup,
            n=n,
            seed=seed,
            device=device,
            plugin=plugin,
            config=_config(config),
            plugin_files=plugin_file or (),
            progress=progress,
            log=log,
        )
    _console().print(f"wrote {result.path} ({result.plugin}, {result.final_loss_text})", markup=False)


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", help="Folder for the demo models and reports.")] = Path(defaults.DEMO_DIR),
    retrain: Annotated[bool, typer.Option("--retrain", help="Train again even if the models exist.")] = False,
    device: DeviceOpt = defaults.DEVICE,
) -> None:
    """Train a small VAE and a β-VAE on digits (or reuse them) and analyse both."""
    from latentkit.commands.demo import demo as run_demo

    console = _console()
    with _progress("demo", enabled=not state.quiet) as progress:
        result = run_demo(
            out=out, retrain=retrain, device=device, progress=progress, log=lambda msg: console.print(msg, markup=False)
        )
    for report, page in zip(result.kl_reports, result.reports):
        _print_kl_report(report, console)
        for section in page.sections:  # caveats of the report's figures, each named by its section
            for note in section.notes:
                if note.startswith("Caveat: "):
                    console.print(
                        Text("caveat", style="bold dark_orange") + Text(f" ({section.title}): {note.removeprefix('Caveat: ')}")
                    )
    console.print(Text(f"demo outputs in {result.out_dir}", style="bold"))
    for path in result.files:
        console.print(f"  {path}", markup=False, soft_wrap=True)
    for page in result.report_pages:
        console.print(f"report: {page}", markup=False, soft_wrap=True)


@app.command()
def disentangle(
    checkpoints: Annotated[
        Optional[list[Path]],
        typer.Argument(
            help="A VAE checkpoint (or use --codes). Several, or a quoted glob ('runs/*/model.safetensors'), make a "
            "sweep: one table comparing them with the first.",
            show_default=False,
        ),
    ] = None,
    codes: Annotated[
        Optional[Path], typer.Option("--codes", help="Score precomputed codes: an .npz with codes (N, D) and factors (N, K).")
    ] = None,
    data: DataOpt = None,
    metrics: Annotated[
        Optional[str],
        typer.Option(
            "--metrics",
            help=f"Comma-separated subset of {', '.join(defaults.DISENTANGLE_METRICS)} (default: all the input supports).",
        ),
    ] = None,
    n: Annotated[
        Optional[int],
        typer.Option("--n", help=f"Observations encoded from the data (default: all up to {defaults.DISENTANGLE_N})."),
    ] = None,
    dci_model: Annotated[
        str, typer.Option("--dci-model", help="reference (sklearn gradient boosting, as in the papers) or fast (LightGBM).")
    ] = defaults.DCI_MODEL,
    bootstrap: Annotated[int, typer.Option("--bootstrap", help="Resamples for 95% percentile intervals (0: none).")] = defaults.BOOTSTRAP,
    bin_factors: Annotated[
        Optional[int], typer.Option("--bin-factors", help="Cut continuous factors into N equal-width classes.")
    ] = None,
    spatial: SpatialOpt = defaults.SPATIAL_CODE,
    num_train: Annotated[
        Optional[int], typer.Option("--num-train", help="β-VAE/FactorVAE training votes (default 10000).")
    ] = None,
    num_eval: Annotated[Optional[int], typer.Option("--num-eval", help="β-VAE/FactorVAE evaluation votes (default 5000).")] = None,
    row_order: Annotated[
        str,
        typer.Option(
            "--row-order",
            help="--codes: auto (shuffle with --seed when rows are sorted by a factor or the test rows hold unseen "
            "classes), file (the reference's split: first 80% of rows train), or shuffle.",
        ),
    ] = "auto",
    out: OutOpt = None,
    as_json: JsonOpt = False,
    seed: SeedOpt = defaults.SEED,
    batch_size: BatchOpt = defaults.BATCH_SIZE,
    device: DeviceOpt = defaults.DEVICE,
    workers: WorkersOpt = defaults.WORKERS,
    plugin: PluginOpt = None,
    config: ConfigOpt = None,
    plugin_file: PluginFileOpt = None,
    strip_prefix: StripPrefixOpt = None,
    trust_pickles: TrustPicklesOpt = False,
    figure_format: FormatOpt = defaults.FIGURE_FORMAT,
    dpi: DpiOpt = defaults.FIGURE_DPI,
) -> None:
    """Disentanglement scores (MIG, DCI, SAP, modularity, IRS, unsupervised, β-VAE, FactorVAE)."""
    from latentkit.commands.disentangle import disentangle as run_disentangle
    from latentkit.commands.sweep import disentangle_sweep, expand_checkpoints

    paths = expand_checkpoints(checkpoints) if checkpoints else [None]
    options = dict(
        codes=codes, data=data, metrics=metrics, n=n, seed=seed, dci_model=dci_model, bootstrap=bootstrap,
        bin_factors=bin_factors, spatial=spatial, num_train=num_train, num_eval=num_eval, row_order=row_order, out=out,
        batch_size=batch_size, device=device, workers=workers, plugin=plugin, config=_config(config),
        plugin_files=plugin_file or (), strip_prefix=strip_prefix, trust_pickles=trust_pickles,
        figure_format=figure_format, dpi=dpi,
    )  # fmt: skip
    with _progress("encoding", enabled=not state.quiet) as progress:
        if len(paths) > 1:
            if codes is not None:
                raise LatentkitError("give either checkpoints or --codes FILE.npz", fix="drop --codes for a sweep")
            del options["codes"]
            _print_sweep(disentangle_sweep(paths, progress=progress, **options), as_json=as_json)
            return
        report = run_disentangle(paths[0], progress=progress, **options)
    if as_json:
        _emit_json(report.to_json())
    console = _console(stderr=as_json)
    _print_opening_notes(report.document, console)
    has_ci = bool(report.intervals)
    table = Table("score", "value", *(["95% interval"] if has_ci else []), title="disentanglement")
    for name, value in report.scores.items():
        shown = "null" if value is None else f"{value:.4f}"
        interval = report.intervals.get(name)
        extra = ([f"[{interval[0]:.4f}, {interval[1]:.4f}]" if interval else "-"] if has_ci else [])
        table.add_row(name, shown, *extra)
    console.print(table)
    console.print("time per metric: " + ", ".join(f"{m} {t:.2f} s" for m, t in report.timings.items()))
    _print_notes(report.notes, console)
    _print_caveats(report.caveats, console)
    for path in report.files.values():
        console.print(f"wrote {path}", markup=False)


@app.command()
def check(
    checkpoints: Annotated[
        list[Path],
        typer.Argument(
            help="The checkpoint to gate (.safetensors). Several, or a quoted glob, make a sweep: each is checked, "
            "exit 1 if any fails; relative rules compare with --baseline, else with the first.",
            show_default=False,
        ),
    ],
    require: Annotated[
        Optional[list[str]],
        typer.Option("--require", help="A rule FIGURE OP VALUE, e.g. 'active_units >= 8' or 'mig >= baseline - 0.05' (repeatable)."),
    ] = None,
    rules_file: Annotated[
        Optional[Path],
        typer.Option("--rules-file", help="TOML with [check] require = [...] (default: the nearest latentkit.toml or pyproject.toml [tool.latentkit.check])."),
    ] = None,
    baseline: Annotated[
        Optional[Path], typer.Option("--baseline", help="A checkpoint or a saved latentkit JSON for relative rules.")
    ] = None,
    data: DataOpt = None,
    n: Annotated[Optional[int], typer.Option("--n", help="Rows each analysis uses (default: each analysis's own).")] = None,
    as_json: JsonOpt = False,
    junit: Annotated[Optional[Path], typer.Option("--junit", help="Also write JUnit XML here, one test case per rule.")] = None,
    seed: SeedOpt = defaults.SEED,
    batch_size: BatchOpt = defaults.BATCH_SIZE,
    device: DeviceOpt = defaults.DEVICE,
    plugin: PluginOpt = None,
    config: ConfigOpt = None,
    plugin_file: PluginFileOpt = None,
    strip_prefix: StripPrefixOpt = None,
    trust_pickles: TrustPicklesOpt = False,
) -> None:
    """Gate a checkpoint on rules over named figures: exit 0 when every rule holds, 1 when one fails, 2 on bad input."""
    from latentkit.commands.check import check as run_check
    from latentkit.commands.sweep import check_sweep, expand_checkpoints

    paths = expand_checkpoints(checkpoints)
    options = dict(
        require=require or (), rules_file=rules_file, baseline=baseline, data=data, n=n, seed=seed,
        batch_size=batch_size, device=device, plugin=plugin, config=_config(config), plugin_files=plugin_file or (),
        strip_prefix=strip_prefix, trust_pickles=trust_pickles, junit=junit,
    )  # fmt: skip
    with _progress("analysing", enabled=not state.quiet) as progress:
        if len(paths) > 1:
            sweep = check_sweep(paths, progress=lambda analysis: progress, **options)
        else:
            result = run_check(paths[0], progress=lambda analysis: progress, **options)
    if len(paths) > 1:
        _print_sweep(sweep, as_json=as_json)
        console = _console(stderr=as_json)
        for one in sweep.results:
            for outcome in one.failures:
                console.print(Text.assemble(("FAIL ", "red"), f"{_literal(one.checkpoint)}: {outcome.message}"))
        failing = sum(not one.passed for one in sweep.results)
        verdict = f"{failing} of {len(sweep.results)} checkpoints failed" if failing else "every checkpoint passes every rule"
        console.print(Text(verdict, style="bold"))
        _github_report(sweep.results, as_json=as_json, labelled=True)
        if not sweep.passed:
            raise typer.Exit(ExitCode.CHECK_FAILED)
        return
    if as_json:
        _emit_json(result.to_json())
    console = _console(stderr=as_json)
    has_baseline = any(o.rule.needs_baseline for o in result.outcomes)
    table = Table(
        "rule", "measured", *(["baseline"] if has_baseline else []), "needed", "",
        title=escape(f"latentkit check {result.checkpoint.name}"),
    )  # fmt: skip
    for o in result.outcomes:
        extra = [f"{o.baseline:.6g}" if o.baseline is not None else "-"] if has_baseline else []
        table.add_row(
            Text(o.rule.text),
            "not finite" if o.measured is None else f"{o.measured:.6g}",
            *extra,
            "-" if o.threshold is None else f"{o.rule.op} {o.threshold:.6g}",
            "[green]pass[/green]" if o.passed else "[red]FAIL[/red]",
        )
    console.print(table)
    for note in result.notes:
        console.print(Text(f"note: {note}"))
    verdict = "every rule holds" if result.passed else f"{len(result.failures)} of {len(result.outcomes)} rules failed"
    console.print(f"[bold]{verdict}[/bold] (analyses run: {', '.join(result.analyses)})")
    for path in result.files.values():
        console.print(Text(f"wrote {path}"))
    _github_report([result], as_json=as_json, labelled=False)
    if not result.passed:
        raise typer.Exit(ExitCode.CHECK_FAILED)


def _github_report(results: list[Any], *, as_json: bool, labelled: bool) -> None:
    """Under GitHub Actions: an ``::error`` annotation per failed rule and a step-summary table per checkpoint."""
    from latentkit.commands.check import github_annotations, markdown_summary

    if os.environ.get("GITHUB_ACTIONS") != "true":
        return
    labels = [str(result.checkpoint) if labelled else None for result in results]
    for result, label in zip(results, labels):
        for line in github_annotations(result, label=label):
            print(line, file=sys.stderr if as_json else sys.stdout, flush=True)  # stdout stays JSON with --json
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as handle:
            handle.write("".join(markdown_summary(result, label=label) for result, label in zip(results, labels)))


@app.command()
def report(
    checkpoint: Annotated[Path, typer.Argument(help="A VAE or GAN checkpoint (.safetensors).")],
    data: DataOpt = None,
    out: OutOpt = None,
    as_json: JsonOpt = False,
    n: Annotated[
        Optional[int],
        typer.Option("--n", help=f"Data points encoded once and shared by every analysis (default: all up to {defaults.REPORT_N})."),
    ] = None,
    projection: Annotated[str, typer.Option("--projection", help="umap, pca (instant) or tsne.")] = defaults.REPORT_PROJECTION,
    bootstrap: Annotated[
        int, typer.Option("--bootstrap", help="Resamples for the disentanglement scores' 95% intervals (0: none).")
    ] = defaults.REPORT_BOOTSTRAP,
    dci_model: Annotated[
        str, typer.Option("--dci-model", help="fast (LightGBM) or reference (sklearn gradient boosting).")
    ] = defaults.REPORT_DCI_MODEL,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help=f"Encode afresh and keep nothing (cache: ${defaults.CACHE_DIR_ENV}, else ~/.cache/latentkit).")
    ] = False,
    seed: SeedOpt = defaults.SEED,
    batch_size: BatchOpt = defaults.BATCH_SIZE,
    device: DeviceOpt = defaults.DEVICE,
    plugin: PluginOpt = None,
    config: ConfigOpt = None,
    plugin_file: PluginFileOpt = None,
    strip_prefix: StripPrefixOpt = None,
    trust_pickles: TrustPicklesOpt = False,
) -> None:
    """One self-contained HTML page (and JSON) with every analysis of a checkpoint, from one encoding pass."""
    from latentkit.commands.report import STAGES
    from latentkit.commands.report import report as run_report

    with _stages(STAGES, enabled=not state.quiet) as stage:
        result = run_report(
            checkpoint,
            data=data,
            out=out,
            n=n,
            seed=seed,
            projection=projection,
            bootstrap=bootstrap,
            dci_model=dci_model,
            batch_size=batch_size,
            device=device,
            plugin=plugin,
            config=_config(config),
            plugin_files=plugin_file or (),
            strip_prefix=strip_prefix,
            trust_pickles=trust_pickles,
            cache=not no_cache,
            stage=stage,
        )
    if as_json:
        _emit_json(result.to_json())
    console = _console(stderr=as_json)
    for value, label in result.cards:
        console.print(f"{label}: {value}", markup=False, soft_wrap=True)
    for section in result.sections:
        if not section.applies:
            console.print(f"{section.title}: does not apply ({section.reason})", markup=False, soft_wrap=True)
    if result.cache_note:
        console.print(f"codes: {result.cache_note}", markup=False, soft_wrap=True)
    for path in result.files.values():
        console.print(f"wrote {path}", markup=False, soft_wrap=True)


@contextmanager
def _stages(stages: tuple[str, ...], *, enabled: bool) -> Iterator[Callable[[str], None]]:
    """Yield ``stage(name)``: a rich bar on stderr over ``stages``, advanced as each one starts."""
    if not enabled:
        yield lambda name: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("report: {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=_console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task(stages[0], total=len(stages))
        started: list[str] = []

        def stage(name: str) -> None:
            if started:
                bar.advance(task, 1)
            started.append(name)
            bar.update(task, description=name)

        yield stage
        bar.update(task, completed=len(stages))


class _SignalCatcher:
    """SIGINT/SIGTERM handler: the first raises :class:`Interrupted`; later ones are ignored while shutting down."""

    def __init__(self) -> None:
        self.signum: int | None = None

    def __call__(self, signum: int, frame: Any) -> None:
        if self.signum is not None:
            return
        self.signum = signum
        raise Interrupted(signum)


@contextmanager
def _catch_signals() -> Iterator[_SignalCatcher]:
    """Turn SIGINT and SIGTERM into :class:`Interrupted` (so cleanup runs) for the duration of a command."""
    import signal

    catcher = _SignalCatcher()
    try:
        previous = {sig: signal.signal(sig, catcher) for sig in (signal.SIGINT, signal.SIGTERM)}
    except ValueError:  # not the main thread: leave signals alone
        yield catcher
        return
    previous_hook = sys.unraisablehook

    def redeliver(unraisable: Any) -> None:
        # The signal landed where Python cannot raise (a weakref or __del__ callback, e.g. during an
        # import): instead of "Exception ignored in ...", send it again so it interrupts the command.
        if isinstance(unraisable.exc_value, Interrupted) and catcher.signum == unraisable.exc_value.signum:
            catcher.signum = None
            os.kill(os.getpid(), unraisable.exc_value.signum)
            return
        previous_hook(unraisable)

    sys.unraisablehook = redeliver
    try:
        yield catcher
    finally:
        sys.unraisablehook = previous_hook
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the app and turn every exception into one line and an exit code.

    This is the one place exceptions become exit statuses: a :class:`LatentkitError` (bad input,
    with its fix) and usage errors are exit 2 with one line; SIGINT is 130 and SIGTERM 143 (after
    the command's cleanup, with one "interrupted" line); anything else is a bug: exit 70.
    """
    import warnings

    with _catch_signals() as catcher, warnings.catch_warnings():
        if "--debug" not in (sys.argv[1:] if argv is None else argv):
            # Library warnings (numpy overflow, Pillow, scikit-learn) are not for the user's stderr: the
            # problems they point at are reported in the result's notes or refused with one line.
            warnings.simplefilter("ignore")
        status = _run(argv)
        if catcher.signum is not None:  # typer turns KeyboardInterrupt into a quiet exit 130
            _console(stderr=True).print("interrupted", markup=False)
            return 128 + catcher.signum
        return status


@functools.cache
def _click_command() -> Any:
    """The click command group, built from ``app`` once per process.

    ``app(...)`` rebuilds it on every call (evaluating every command's type hints, ~0.1 s); a process
    that runs several commands (the tests, the fuzz harness) reuses this one.
    """
    return typer.main.get_command(app)


def _run(argv: list[str] | None) -> int:
    try:  # typer ≥ 0.29 vendors click; older typer uses click itself
        from typer._click.exceptions import ClickException
    except ImportError:  # pragma: no cover - depends on the installed typer
        from click import ClickException

    from latentkit import distributed
    from latentkit.allocator import retain_freed_memory

    retain_freed_memory()  # before torch allocates anything
    argv = hoist_global_flags(list(sys.argv[1:] if argv is None else argv))
    follower = distributed.world_size() > 1 and not distributed.is_main()
    try:
        if follower:  # under torchrun only rank 0 prints; the others share the encoding and leave
            with open(os.devnull, "w") as devnull, redirect_stdout(devnull):
                status = _click_command().main(args=argv, prog_name="latentkit", standalone_mode=False)
        else:
            status = _click_command().main(args=argv, prog_name="latentkit", standalone_mode=False)
    except distributed.FollowerDone as exc:
        return exc.exit_code
    except LatentkitError as exc:
        if state.debug:
            _console(stderr=True).print_exception()
        where = f"rank {distributed.rank()}: " if follower else ""
        # _literal: names read from files (npz members, tensor names) may hold control characters
        message = _literal(f"error: {where}{exc.message}" + (f" — {exc.fix}" if exc.fix else ""))
        _console(stderr=True).print(message, markup=False, soft_wrap=True)
        return ExitCode.USAGE
    except typer.Exit as exc:
        return exc.exit_code
    except ClickException as exc:  # usage errors: one line too, naming the help to read
        context = getattr(exc, "ctx", None)
        where = f" — see `{context.command_path} --help`" if context is not None else ""
        _console(stderr=True).print(f"error: {exc.format_message()}{where}", markup=False, soft_wrap=True)
        return ExitCode.USAGE
    except (KeyboardInterrupt, typer.Abort):
        return ExitCode.INTERRUPTED
    except Exception as exc:  # a bug: say so in one line unless --debug
        if state.debug:
            raise
        _console(stderr=True).print(
            f"internal error: {type(exc).__name__}: {exc} — run with --debug for the traceback and report it",
            markup=False,
            soft_wrap=True,
        )
        return ExitCode.INTERNAL
    return status if isinstance(status, int) else ExitCode.OK
