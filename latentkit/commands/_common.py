"""What every command shares: opening a checkpoint and its data, output folders, provenance."""

from __future__ import annotations

import json
import platform
import shlex
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from latentkit.defaults import DEVICE, FIGURE_DPI, FIGURE_FORMAT, OUT_DIR_HASH_CHARS, OUT_ROOT
from latentkit.errors import LatentkitError

_VERSIONED = ("latentkit-cli", "torch", "numpy", "scikit-learn", "safetensors", "matplotlib", "umap-learn", "lightgbm")


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


def command_line(command: str, positional: Sequence[str], options: dict[str, Any]) -> str:
    """A shell command that reproduces a run (options that are None/False left out)."""
    parts = ["latentkit", command, *positional]
    for flag, value in options.items():
        if value is None or value is False:
            continue
        if value is True:
            parts.append(flag)
        elif isinstance(value, (list, tuple)):
            for item in value:
                parts += [flag, str(item)]
        else:
            parts += [flag, str(value)]
    return shlex.join(parts)


def provenance(command: str, positional: Sequence[str], options: dict[str, Any]) -> dict[str, Any]:
    return {
        "latentkit_version": latentkit_version(),
        "versions": library_versions(),
        "command": command_line(command, positional, options),
    }


def default_out_dir(input_path: str | Path) -> Path:
    """``latentkit-out/<stem>-<6 hex digits>/`` for a checkpoint (or codes file).

    The digits are the start of the SHA-256 of the file's absolute path: the same
    file always gets the same folder, and ``a/model.safetensors`` and
    ``b/model.safetensors`` get different ones instead of overwriting each other.
    """
    import hashlib

    path = Path(input_path).expanduser().resolve()
    digest = hashlib.sha256(str(path).encode("utf-8")).hexdigest()[:OUT_DIR_HASH_CHARS]
    return Path(OUT_ROOT) / f"{path.stem}-{digest}"


def open_checkpoint(
    checkpoint: str | Path,
    *,
    device: str = DEVICE,
    plugin: str | None = None,
    config: dict[str, Any] | None = None,
    plugin_files: Sequence[str | Path] = (),
    strip_prefix: str | None = None,
    trust_pickles: bool = False,
) -> Any:
    """Open a model in any known format, with the ``--plugin``/``--config``/``--plugin-file``/
    ``--strip-prefix``/``--trust-pickles`` overrides."""
    from latentkit.models.formats import open_model

    return open_model(
        checkpoint,
        device,
        plugin=plugin,
        config=config,
        plugin_files=plugin_files,
        strip_prefix=strip_prefix,
        trust_pickles=trust_pickles,
    )


def format_option(figure_format: str, dpi: int = FIGURE_DPI) -> dict[str, Any]:
    """The ``--format`` and ``--dpi`` flags of a reproducing command line (left out at their defaults)."""
    return {
        "--format": figure_format if figure_format != FIGURE_FORMAT else None,
        "--dpi": dpi if dpi != FIGURE_DPI else None,
    }


def model_options(
    device: str,
    plugin: str | None,
    config: dict[str, Any] | None,
    plugin_files: Sequence[str | Path],
    strip_prefix: str | None = None,
    trust_pickles: bool = False,
) -> dict[str, Any]:
    """The checkpoint-opening flags of a reproducing command line (``--config`` inline JSON)."""
    return {
        "--plugin": plugin,
        "--config": json.dumps(config, sort_keys=True) if config is not None else None,
        "--plugin-file": [str(p) for p in plugin_files] or None,
        "--strip-prefix": strip_prefix,
        "--trust-pickles": trust_pickles,
        "--device": device if device != DEVICE else None,
    }


def open_source(data: str | None, checkpoint: Any, *, limit: int | None, seed: int) -> Any:
    """The data to analyse: ``--data`` if given, else the dataset the checkpoint names.

    Also sets torch's thread count for images of that size (:mod:`latentkit.threads`).
    """
    from latentkit.threads import use_threads_for

    source = _open_source(data, checkpoint, limit=limit, seed=seed)
    use_threads_for(source.image_shape)
    return source


def _open_source(data: str | None, checkpoint: Any, *, limit: int | None, seed: int) -> Any:
    from latentkit.data import open_data

    if data is not None:
        return open_data(data, limit=limit, seed=seed)
    spec = checkpoint.dataset
    if spec is None:
        raise LatentkitError(
            f"{checkpoint.path.name} does not say what it was trained on",
            fix="pass --data digits|shapes|PATH",
        )
    try:
        return open_data(spec, limit=limit, seed=seed)
    except LatentkitError as exc:
        raise LatentkitError(
            f"the data recorded in {checkpoint.path.name} ({spec!r}, from its latentkit.dataset metadata) "
            f"cannot be opened: {exc.message}",
            fix="pass --data PATH to where that data is now (or digits|shapes)",
        ) from exc


def require_vae(checkpoint: Any, what: str) -> None:
    if checkpoint.kind != "vae":
        raise LatentkitError(
            f"{what} needs an encoder, but {checkpoint.path.name} is a {checkpoint.kind.upper()} ({checkpoint.plugin})",
            fix="run it on a VAE checkpoint",
        )


def checkpoint_document(checkpoint: Any, path: str | Path) -> dict[str, Any]:
    """The ``checkpoint`` block of every JSON document: path, sha256, plugin, kind, latent_dim."""
    return {
        "path": str(path),
        "sha256": checkpoint.sha256,
        "plugin": checkpoint.plugin,
        "kind": checkpoint.kind,
        "latent_dim": checkpoint.latent_dim,
        "format": checkpoint.format,
        "notes": list(checkpoint.notes),
    }


def choose_rows(size: int, n: int | None, *, default: int, seed: int, name: str, flag: str = "--n") -> Any:
    """Sorted rows of a reproducible random subset of ``n`` of ``size`` rows (numpy int64).

    ``n`` None takes ``min(size, default)`` rows; an ``n`` larger than the data
    set is an error (a silent smaller sample would change what the numbers mean).
    """
    import numpy as np

    from latentkit.data.source import subset_indices

    if n is not None and n < 1:
        raise LatentkitError(f"{flag} {n} is not positive", fix=f"pass {flag} 1 or more")
    if size == 0:
        raise LatentkitError(f"{name} is empty", fix="pass --data with at least one item")
    if n is not None and n > size:
        raise LatentkitError(f"{flag} {n} is more than the {size} rows of {name}", fix=f"pass {flag} {size} or less")
    count = min(size, default) if n is None else n
    rows = subset_indices(size, count, seed)
    return np.arange(size, dtype=np.int64) if rows is None else rows
