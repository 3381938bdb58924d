"""Opening any model path: which format it is, and which plugin opens it.

The order, for ``latentkit <command> PATH``:

1. a ``.safetensors`` file whose header names a latentkit plugin (a latentkit
   checkpoint) is rebuilt by that plugin (``--plugin``/``--config`` override it);
2. with ``--plugin NAME``: a plugin that opens its own format loads the path;
   a build-only plugin gets the path's weights as a state dict;
3. otherwise every installed plugin with a ``detect`` is asked (in name order):
   one that recognises the path opens it; two that both do are an error naming
   both, fixed with ``--plugin``;
4. otherwise a state-dict file (``.pt``, ``.pth``, ``.ckpt``, ``.safetensors``)
   is matched against every architecture that can be built;
5. otherwise: an error listing the formats latentkit knows.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from latentkit.defaults import DEVICE
from latentkit.errors import LatentkitError
from latentkit.models.checkpoint import META_PREFIX, Checkpoint, _check_device, _infer_kind, read_header
from latentkit.models.plugin import FormatDescription, LoadedModel, LoadOptions, Plugin
from latentkit.models.registry import PluginRegistry
from latentkit.models.state_dict import STATE_DICT_SUFFIXES

LATENTKIT_FORMAT = "latentkit checkpoint"


def is_latentkit_checkpoint(path: Path) -> bool:
    """A ``.safetensors`` file whose header carries latentkit metadata (header only, no torch)."""
    if path.suffix != ".safetensors" or not path.is_file():
        return False
    metadata = read_header(path).metadata
    return f"{META_PREFIX}plugin" in metadata or f"{META_PREFIX}format" in metadata


def require_path(path: Path) -> None:
    if not path.exists():
        raise LatentkitError(f"checkpoint {path} does not exist", fix="check the path")


def _no_format_error(path: Path, registry: PluginRegistry) -> LatentkitError:
    what = "folder" if path.is_dir() else "file"
    return LatentkitError(
        f"no installed plugin recognises the {what} {path}; latentkit opens: {'; '.join(registry.formats())}",
        fix="pass --plugin NAME (latentkit plugins lists them), or install the plugin package for this format",
    )


def choose_plugin(path: Path, registry: PluginRegistry) -> Plugin | None:
    """The one plugin whose ``detect`` claims ``path``; None when none does; an error when several do."""
    claiming = registry.claimants(path)
    if len(claiming) > 1:
        names = ", ".join(p.name for p in claiming)
        raise LatentkitError(
            f"several plugins recognise {path}: {names}",
            fix=f"pass --plugin {claiming[0].name} (or another of them) to choose",
        )
    return claiming[0] if claiming else None


def _from_plugin_loader(
    path: Path, plugin: Plugin, config: dict[str, Any] | None, device: str, options: LoadOptions
) -> Checkpoint:
    _check_device(device)
    try:
        loaded = plugin.load(path, config, device, options)  # type: ignore[misc]
    except LatentkitError:
        raise
    except Exception as exc:
        raise LatentkitError(
            f"plugin {plugin.name!r} could not open {path}: {type(exc).__name__}: {exc}".splitlines()[0],
            fix="check the files, --config and --plugin; run with --debug for the traceback",
        ) from exc
    if not isinstance(loaded, LoadedModel):  # a plugin may return the bare module
        loaded = LoadedModel(loaded, dict(config or {}))
    actual = _infer_kind(loaded.model)
    if actual != plugin.kind:
        raise LatentkitError(
            f"plugin {plugin.name!r} says kind {plugin.kind!r} but opened a {actual.upper()} module",
            fix="fix the plugin's kind",
        )
    meta = {
        **loaded.metadata,
        "plugin": plugin.name,
        "kind": plugin.kind,
        "config": json.dumps(loaded.config, sort_keys=True),
    }
    return Checkpoint(
        path=path,
        model=loaded.model,
        kind=plugin.kind,
        plugin=plugin.name,
        config=dict(loaded.config),
        metadata=meta,
        format=loaded.format or (plugin.formats[0] if plugin.formats else plugin.name),
        notes=list(loaded.notes),
        files=tuple(loaded.files),
    )


def _from_state_dict(
    path: Path,
    plugin: Plugin | None,
    config: dict[str, Any] | None,
    device: str,
    options: LoadOptions,
    registry: PluginRegistry,
) -> Checkpoint:
    from latentkit.models.state_dict import find_architecture, load_into, match_architecture, read_state_dict

    _check_device(device)
    sd = read_state_dict(path)
    if plugin is not None:
        matched = match_architecture(sd, plugin, config, options.strip_prefix)
    else:
        builders = [p for _n, p, _r in registry.plugins() if p is not None and p.build is not None]
        matched = find_architecture(sd, builders, config, options.strip_prefix)
    module = load_into(matched, device)
    kind = _infer_kind(module)
    notes = list(matched.notes)
    if sd.nesting:
        notes.insert(0, f"weights read from the file's {sd.nesting!r} entry")
    name = matched.plugin.name
    meta = {"plugin": name, "kind": kind, "config": json.dumps(matched.config, sort_keys=True)}
    return Checkpoint(
        path=path, model=module, kind=kind, plugin=name, config=matched.config, metadata=meta,
        format=sd.format, notes=notes,
    )  # fmt: skip


def open_model(
    path: str | Path,
    device: str = DEVICE,
    *,
    plugin: str | None = None,
    config: dict[str, Any] | None = None,
    plugin_files: Sequence[str | Path] = (),
    strip_prefix: str | None = None,
    trust_pickles: bool = False,
) -> Checkpoint:
    """Open a model from any format latentkit or an installed plugin knows (order in the module docstring).

    Returns a :class:`~latentkit.models.checkpoint.Checkpoint` whose ``.model`` is
    in eval mode on ``device``; ``.format`` names the format and ``.notes`` say
    what was inferred (a stripped key prefix, a config taken from the file).
    """
    from latentkit.models.checkpoint import load as load_latentkit_checkpoint

    path = Path(path)
    require_path(path)
    options = LoadOptions(strip_prefix=strip_prefix, trust_pickles=trust_pickles)
    if is_latentkit_checkpoint(path):
        return load_latentkit_checkpoint(path, device, plugin=plugin, config=config, plugin_files=plugin_files)
    registry = PluginRegistry(plugin_files)
    chosen = registry.get(plugin) if plugin is not None else choose_plugin(path, registry)
    if chosen is not None and chosen.load is not None:
        return _from_plugin_loader(path, chosen, config, device, options)
    if path.is_file() and path.suffix in STATE_DICT_SUFFIXES:
        return _from_state_dict(path, chosen, config, device, options, registry)
    if chosen is not None:
        raise LatentkitError(
            f"plugin {chosen.name!r} builds an architecture but {path} is not a weights file",
            fix=f"pass a .safetensors/.pt/.pth/.ckpt file for {chosen.name}",
        )
    raise _no_format_error(path, registry)


def describe(
    path: str | Path, *, plugin: str | None = None, plugin_files: Sequence[str | Path] = ()
) -> tuple[FormatDescription, str | None]:
    """What ``path`` holds and which plugin opens it, reading as little as the format allows."""
    from latentkit.models.state_dict import find_architecture, match_architecture, read_state_dict

    path = Path(path)
    require_path(path)
    if is_latentkit_checkpoint(path):
        raise ValueError("latentkit checkpoints are described by latentkit.commands.info")
    registry = PluginRegistry(plugin_files)
    chosen = registry.get(plugin) if plugin is not None else choose_plugin(path, registry)
    if chosen is not None and chosen.describe is not None:
        try:
            return chosen.describe(path), chosen.name
        except LatentkitError:
            raise
        except Exception as exc:  # plugin code: any failure is reported, not a traceback
            raise LatentkitError(
                f"plugin {chosen.name!r} could not describe {path}: {type(exc).__name__}: {exc}".splitlines()[0],
                fix="check the files; run with --debug for the traceback",
            ) from exc
    if chosen is not None and chosen.load is not None:
        return FormatDescription(chosen.formats[0] if chosen.formats else chosen.name, chosen.kind, None, None), chosen.name
    if not (path.is_file() and path.suffix in STATE_DICT_SUFFIXES):
        raise _no_format_error(path, registry)
    from latentkit.models.checkpoint import TensorInfo

    sd = read_state_dict(path, mmap=True)
    if path.suffix == ".safetensors":
        tensors = read_header(path).tensors
    else:
        tensors = tuple(
            TensorInfo(name, str(t.dtype).removeprefix("torch."), tuple(t.shape)) for name, t in sorted(sd.tensors.items())
        )
    notes = [f"weights under the file's {sd.nesting!r} entry"] if sd.nesting else []
    name = kind = config = latent = None
    try:
        if chosen is not None:
            matched = match_architecture(sd, chosen, None, None)
        else:
            builders = [p for _n, p, _r in registry.plugins() if p is not None and p.build is not None]
            matched = find_architecture(sd, builders, None, None)
        name, kind, config = matched.plugin.name, _infer_kind(matched.module), matched.config
        latent = (int(matched.module.latent_dim),)
        notes += matched.notes
    except LatentkitError as exc:
        notes.append(f"no architecture fits without more flags: {exc.message} ({exc.fix})")
    if sd.hyper_parameters is not None and config is None:
        config = sd.hyper_parameters
    description = FormatDescription(
        format=sd.format, kind=kind, latent_shape=latent, parameter_count=sum(t.numel for t in tensors),
        config=config, files={path.name: path.stat().st_size}, tensors=tensors, notes=tuple(notes),
    )  # fmt: skip
    return description, name


load = open_model  # the public ``latentkit.load``
