"""One typed option spec per concern: model input, data selection, output.

Every command that opens a checkpoint reads these three specs (and a small
settings dataclass of its own). Each field that is a command-line flag names it
in its metadata, so the reproducing command line and the ``provenance`` block of
the JSON are derived from the specs (:func:`flags`, :func:`provenance`), never
listed by hand. Field defaults come from :mod:`latentkit.defaults`, the one
source the CLI's flag defaults use too. ``validate()`` runs before anything is
loaded, so a bad setting costs nothing.
"""

from __future__ import annotations

import json
import platform
import shlex
from collections.abc import Sequence
from dataclasses import MISSING, dataclass, field, fields
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from latentkit.defaults import (
    BATCH_SIZE,
    DEVICE,
    FIGURE_DPI,
    FIGURE_FORMAT,
    MAX_SEED,
    OUT_DIR_HASH_CHARS,
    OUT_ROOT,
    SEED,
    WORKERS,
)
from latentkit.errors import LatentkitError

# Flag metadata: ``flag`` names the option; ``always`` writes it even at its default (the seed).
ALWAYS = "always"


def flag(name: str, *, always: bool = False) -> dict[str, Any]:
    """Field metadata of a spec field that is the command-line flag ``name``."""
    return {"flag": name, ALWAYS: always}


@dataclass(frozen=True)
class ModelInput:
    """Which checkpoint, how to build its model, and where to run it."""

    checkpoint: Path
    device: str = field(default=DEVICE, metadata=flag("--device"))
    batch_size: int = field(default=BATCH_SIZE, metadata=flag("--batch-size"))
    plugin: str | None = field(default=None, metadata=flag("--plugin"))
    config: dict[str, Any] | None = field(default=None, metadata=flag("--config"), hash=False)
    plugin_files: tuple[Path, ...] = field(default=(), metadata=flag("--plugin-file"))
    strip_prefix: str | None = field(default=None, metadata=flag("--strip-prefix"))
    trust_pickles: bool = field(default=False, metadata=flag("--trust-pickles"))
    workers: int = field(default=WORKERS, metadata=flag("--workers"))

    def __post_init__(self) -> None:
        object.__setattr__(self, "checkpoint", Path(self.checkpoint))
        object.__setattr__(self, "plugin_files", tuple(Path(p) for p in self.plugin_files))

    def validate(self) -> None:
        if self.batch_size < 1:
            raise LatentkitError(f"--batch-size {self.batch_size} is not positive", fix="pass --batch-size 1 or more")
        if self.workers < 0:
            raise LatentkitError(f"--workers {self.workers} is negative", fix="pass 0 (read in the main process) or more")

    def open(self) -> Any:
        """Open the model in any known format, with the ``--plugin``/``--config``/``--plugin-file``/
        ``--strip-prefix``/``--trust-pickles`` overrides."""
        from latentkit.distributed import local_device
        from latentkit.models.formats import open_model
        from latentkit.models.protocols import check_latent_size

        opened = open_model(
            self.checkpoint,
            local_device(self.device),  # under torchrun, cuda is this rank's own GPU
            plugin=self.plugin,
            config=self.config,
            plugin_files=self.plugin_files,
            strip_prefix=self.strip_prefix,
            trust_pickles=self.trust_pickles,
        )
        check_latent_size(opened.model, opened.plugin)
        return opened


@dataclass(frozen=True)
class DataSelection:
    """Which data: a source (default: the checkpoint's dataset), how many rows, and the seed.

    ``n`` None means the command's default count (every row for ``kl-report``);
    ``n`` rows are a reproducible random subset chosen with ``seed``. ``--n``
    larger than the data set is an error in every command: a silently smaller
    sample would change what the numbers mean. ``seed`` also seeds everything
    else a command draws at random, so it is always written out.
    """

    data: str | None = field(default=None, metadata=flag("--data"))
    n: int | None = field(default=None, metadata=flag("--n"))
    seed: int = field(default=SEED, metadata=flag("--seed", always=True))

    def validate(self) -> None:
        if not 0 <= self.seed <= MAX_SEED:
            raise LatentkitError(f"--seed {self.seed} is outside 0..{MAX_SEED}", fix=f"pass --seed between 0 and {MAX_SEED}")
        if self.n is not None and self.n < 1:
            raise LatentkitError(f"--n {self.n} is not positive", fix="pass --n 1 or more, or leave it out")

    def open(self, checkpoint: Any) -> Any:
        """The whole data source: ``--data`` if given, else the dataset the checkpoint names.

        Also sets torch's thread count for images of that size (:mod:`latentkit.threads`).
        """
        from latentkit.threads import use_threads_for

        source = self._open(checkpoint)
        use_threads_for(source.image_shape)
        return source

    def _open(self, checkpoint: Any) -> Any:
        from latentkit.data import open_data

        if self.data is not None:
            return open_data(self.data)
        spec = checkpoint.dataset
        if spec is None:
            raise LatentkitError(
                f"{checkpoint.path.name} does not say what it was trained on",
                fix="pass --data digits|shapes|PATH",
            )
        try:
            return open_data(spec)
        except LatentkitError as exc:
            raise LatentkitError(
                f"the data recorded in {checkpoint.path.name} ({spec!r}, from its latentkit.dataset metadata) "
                f"cannot be opened: {exc.message}",
                fix="pass --data PATH to where that data is now (or digits|shapes)",
            ) from exc

    def rows(self, size: int, *, default: int | None, name: str) -> Any:
        """Sorted rows (numpy int64) of ``n`` of ``size`` rows; ``n`` None takes ``min(size, default)``
        (every row when ``default`` is None)."""
        import numpy as np

        from latentkit.data.source import subset_indices

        self.validate()
        if size == 0:
            raise LatentkitError(f"{name} is empty", fix="pass --data with at least one item")
        if self.n is not None and self.n > size:
            raise LatentkitError(
                f"--n {self.n} is more than the {size} rows of {name}", fix=f"pass --n {size} or less"
            )
        count = self.n if self.n is not None else (size if default is None else min(size, default))
        chosen = subset_indices(size, count, self.seed)
        return np.arange(size, dtype=np.int64) if chosen is None else chosen

    def subset(self, source: Any, *, default: int | None) -> Any:
        """``source`` restricted to :meth:`rows` (the source itself when every row is kept)."""
        from latentkit.data.source import Subset

        rows = self.rows(len(source), default=default, name=source.name)
        return source if len(rows) == len(source) else Subset(source, rows)


@dataclass(frozen=True)
class OutputSpec:
    """Where results go and in what format; ``write`` False keeps everything in memory."""

    out: Path | None = None
    figure_format: str = field(default=FIGURE_FORMAT, metadata=flag("--format"))
    write: bool = True
    dpi: int = field(default=FIGURE_DPI, metadata=flag("--dpi"))

    def validate(self) -> None:
        from latentkit.figures.style import check_dpi, check_format

        check_format(self.figure_format)
        check_dpi(self.dpi)

    def out_dir(self, stem: str | Path) -> Path:
        """The folder to write to (``--out``, else ``latentkit-out/<stem>/``), created and checked."""
        from latentkit.outputs import prepare_out_dir

        return prepare_out_dir(self.out or default_out_dir(stem))


def default_out_dir(input_path: str | Path, *, hash_chars: int = OUT_DIR_HASH_CHARS) -> Path:
    """``latentkit-out/<stem>-<6 hex digits>/`` for a checkpoint (or codes file).

    The digits are the start of the SHA-256 of the file's absolute path: the same
    file always gets the same folder, and ``a/model.safetensors`` and
    ``b/model.safetensors`` get different ones instead of overwriting each other.
    ``hash_chars`` digits are used (a sweep lengthens them where two paths' folders would collide).
    """
    import hashlib

    path = Path(input_path).expanduser().resolve()
    digest = hashlib.sha256(str(path).encode("utf-8")).hexdigest()[:hash_chars]
    return Path(OUT_ROOT) / f"{path.stem}-{digest}"


def _flag_value(value: Any) -> Any:
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def flags(*specs: Any) -> list[tuple[str, Any]]:
    """The ``(flag, value)`` pairs of the specs, leaving out fields at their defaults."""
    pairs = []
    for spec in specs:
        for f in fields(spec):
            name = f.metadata.get("flag")
            if name is None:
                continue
            value = getattr(spec, f.name)
            default = f.default_factory() if f.default_factory is not MISSING else f.default  # type: ignore[misc]
            if value is None or value is False or (value == default and not f.metadata.get(ALWAYS)):
                continue
            if value == () or value == []:
                continue
            pairs.append((name, _flag_value(value)))
    return pairs


def command_line(command: str, positional: Sequence[str], pairs: Sequence[tuple[str, Any]]) -> str:
    """A shell command that reproduces a run."""
    parts = ["latentkit", command, *positional]
    for name, value in pairs:
        if value is True:
            parts.append(name)
        elif isinstance(value, list):
            for item in value:
                parts += [name, str(item)]
        else:
            parts += [name, str(value)]
    return shlex.join(parts)


_VERSIONED = (
    "latentkit-cli", "torch", "numpy", "scipy", "scikit-learn", "safetensors", "matplotlib", "umap-learn", "lightgbm",
)  # fmt: skip


def latentkit_version() -> str:
    try:
        return version("latentkit-cli")
    except PackageNotFoundError:  # running from a source tree
        return "0+unknown"


def library_versions(names: Sequence[str] = _VERSIONED) -> dict[str, str]:
    """Installed versions (read from package metadata, nothing imported)."""
    found = {"python": platform.python_version()}
    for name in names:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            pass
    return found


def provenance(command: str, positional: Sequence[str], *specs: Any) -> dict[str, Any]:
    """The ``provenance`` block: latentkit's version, library versions, and the reproducing command."""
    return {
        "latentkit_version": latentkit_version(),
        "versions": library_versions(),
        "command": command_line(command, positional, flags(*specs)),
    }
