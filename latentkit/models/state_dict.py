"""Plain PyTorch and Lightning state dicts: weights saved by other code, onto a known architecture.

A ``.pt``/``.pth``/``.ckpt`` file is read only with ``torch.load(weights_only=True)``
(no pickled code runs); a ``.safetensors`` file without latentkit metadata is read
with safetensors. The weights are taken from the first of:

* ``state_dict`` (PyTorch Lightning), ``model_state_dict`` (pythae, many training
  scripts) or ``model``, when that entry maps names to tensors;
* the top level, when it maps names to tensors.

Keys may carry a prefix (Lightning's ``self.model = ...`` gives ``model.``):
``strip_prefix`` removes one; without it a single prefix under which the
architecture's keys all appear is detected and stripped, with a note. Lightning's
``hyper_parameters`` become the config when the architecture accepts them.
Without ``--plugin`` every architecture that can be built is tried, and the one
whose tensor names and shapes the file holds is used.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from latentkit.errors import LatentkitError
from latentkit.models.plugin import Plugin

PICKLE_SUFFIXES = (".pt", ".pth", ".ckpt")
STATE_DICT_SUFFIXES = (*PICKLE_SUFFIXES, ".safetensors")
NESTED_KEYS = ("state_dict", "model_state_dict", "model")
CONFIG_KEYS_IN_HPARAMS = ("config", "model_config", "hparams")


@dataclass
class StateDictFile:
    """The tensors of a file (names → tensors) and what else it said about itself."""

    path: Path
    tensors: dict[str, Any]
    nesting: str | None  # "state_dict", "model_state_dict", "model" or None (top level)
    hyper_parameters: dict[str, Any] | None = None
    is_lightning: bool = False

    @property
    def format(self) -> str:
        if self.is_lightning:
            return "Lightning checkpoint"
        return "state dict (safetensors)" if self.path.suffix == ".safetensors" else "state dict (torch)"


@dataclass
class MatchedStateDict:
    """A file's tensors renamed to fit an architecture, with the config that builds it."""

    plugin: Plugin
    config: dict[str, Any]
    tensors: dict[str, Any]
    module: Any
    notes: list[str] = field(default_factory=list)


def _is_tensor_map(value: Any) -> bool:
    import torch

    return isinstance(value, Mapping) and bool(value) and all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in value.items()
    )


def read_state_dict(path: str | Path, *, mmap: bool = False) -> StateDictFile:
    """The tensors of a state-dict file; ``mmap`` maps them instead of reading them (for ``info``:
    a pickle is memory-mapped, a safetensors file gives shape-only tensors from its header)."""
    path = Path(path)
    if not path.is_file():
        raise LatentkitError(f"checkpoint {path} does not exist", fix="check the path")
    if path.suffix == ".safetensors" and mmap:
        return StateDictFile(path, _meta_tensors(path), None)
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            return StateDictFile(path, load_file(str(path), device="cpu"), None)
        except Exception as exc:
            raise LatentkitError(
                f"{path} is not a valid safetensors file: {str(exc).splitlines()[0]}",
                fix="check the path, or re-save the weights",
            ) from exc
    import torch

    try:  # never unpickle arbitrary objects
        state = torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except Exception as exc:
        if mmap and "mmap" in str(exc):  # the legacy (non-zip) format cannot be mapped
            return read_state_dict(path, mmap=False)
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise LatentkitError(
            f"cannot read {path.name} as a weights-only torch file: {first}",
            fix="save a state_dict (torch.save(model.state_dict(), path)); pickled modules are not read",
        ) from exc
    hparams = state.get("hyper_parameters") if isinstance(state, Mapping) else None
    hparams = dict(hparams) if isinstance(hparams, Mapping) else None
    is_lightning = isinstance(state, Mapping) and ("pytorch-lightning_version" in state or "hyper_parameters" in state)
    if isinstance(state, Mapping):
        for key in NESTED_KEYS:
            if _is_tensor_map(state.get(key)):
                return StateDictFile(path, dict(state[key]), key, hparams, is_lightning)
        tensors = {k: v for k, v in state.items() if isinstance(k, str) and _is_tensor_map({k: v})}
        if tensors and len(tensors) == len(state):
            return StateDictFile(path, tensors, None, hparams, is_lightning)
    found = ", ".join(repr(k) for k in list(state)[:8]) if isinstance(state, Mapping) else type(state).__name__
    raise LatentkitError(
        f"{path.name} holds no state dict (looked for names → tensors at the top level and under "
        f"{', '.join(map(repr, NESTED_KEYS))}; found {found})",
        fix="save model.state_dict(), or put it under 'state_dict'",
    )


def _meta_tensors(path: Path) -> dict[str, Any]:
    """Shape-only (``meta`` device) tensors from a safetensors header: no weight is read."""
    import torch

    from latentkit.models.checkpoint import read_header

    dtypes = {"F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
              "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8,
              "BOOL": torch.bool}  # fmt: skip
    return {
        t.name: torch.empty(t.shape, dtype=dtypes.get(t.dtype, torch.float32), device="meta")
        for t in read_header(path).tensors
    }


def prefixes_holding(file_keys: Iterable[str], wanted: Sequence[str]) -> list[str]:
    """Every prefix p such that the file has p + k for each wanted key k ('' included)."""
    keys = set(file_keys)
    if not wanted:
        return []
    first = wanted[0]
    candidates = {k[: len(k) - len(first)] for k in keys if k.endswith(first)}
    return sorted(p for p in candidates if all(p + k in keys for k in wanted))


def close_keys(missing: str, file_keys: Iterable[str], n: int = 3) -> list[str]:
    """File keys that look like ``missing``: the same key under a prefix first, then similar names."""
    keys = sorted(file_keys)
    same_tail = [k for k in keys if k.endswith("." + missing) or k.endswith(missing)]
    similar = difflib.get_close_matches(missing, keys, n=n, cutoff=0.6)
    return list(dict.fromkeys([*same_tail, *similar]))[:n]


def tensor_mismatch(
    expected: dict[str, tuple[int, ...]],
    found: dict[str, tuple[int, ...]],
    filename: str,
    what: str,
    fix: str,
    *,
    file_keys: Iterable[str] | None = None,
) -> LatentkitError | None:
    """The first way the file's tensors (``found``: name to shape) differ from what ``what`` builds, or None.

    A missing tensor names close keys in ``file_keys`` (default: ``found``); a wrong shape or an extra
    tensor carries ``fix``.
    """
    for name, shape in expected.items():
        if name not in found:
            return missing_tensor_error(name, found if file_keys is None else file_keys, filename, what)
        if tuple(found[name]) != tuple(shape):
            return LatentkitError(
                f"tensor {name!r} has shape {list(found[name])} in {filename} but {what} expects {list(shape)}",
                fix=fix,
            )
    extra = sorted(set(found) - set(expected))
    if extra:
        return LatentkitError(f"{filename} holds tensor {extra[0]!r} that {what} does not have", fix=fix)
    return None


def missing_tensor_error(missing: str, file_keys: Iterable[str], filename: str, what: str) -> LatentkitError:
    """The error for a tensor the architecture needs and the file lacks, naming close keys."""
    keys = list(file_keys)
    close = close_keys(missing, keys)
    if close and close[0].endswith(missing) and close[0] != missing:
        prefix = close[0][: len(close[0]) - len(missing)]
        return LatentkitError(
            f"tensor {missing!r} that {what} needs is missing from {filename}; it has {close[0]!r}",
            fix=f"pass --strip-prefix {prefix}",
        )
    hint = f"; close keys in the file: {', '.join(map(repr, close))}" if close else f"; the file has {len(keys)} tensors"
    return LatentkitError(
        f"tensor {missing!r} that {what} needs is missing from {filename}{hint}",
        fix="check --plugin/--config match the model that wrote this file",
    )


def strip_prefix(tensors: Mapping[str, Any], prefix: str) -> tuple[dict[str, Any], int]:
    """The tensors whose names start with ``prefix``, renamed without it, and how many others were left out."""
    kept = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
    return kept, len(tensors) - len(kept)


def _fit(
    plugin: Plugin, config: dict[str, Any], sd: StateDictFile, prefix: str | None
) -> tuple[MatchedStateDict | None, LatentkitError | None]:
    """Build ``plugin`` from ``config`` and rename the file's tensors to its keys.

    The architecture is built on the meta device first (no memory) and checked against the file's
    tensors; only a config that fits is built for real, so hostile hyper_parameters (a 30000 x 30000
    layer) are refused before anything is allocated. Returns the match, or the error that says why
    the file does not fit.
    """
    from latentkit.models.checkpoint import build_architecture

    try:
        skeleton = build_architecture(plugin, config, plugin.name, meta=True)
        module = None if skeleton is not None else build_architecture(plugin, config, plugin.name, meta=False)
    except LatentkitError as exc:
        return None, exc
    expected = (skeleton if skeleton is not None else module).state_dict()
    notes: list[str] = []
    if prefix is None:
        found = prefixes_holding(sd.tensors, list(expected))
        if "" in found or not found:
            prefix = ""
        elif len(found) == 1:
            prefix = found[0]
            notes.append(f"stripped the key prefix {prefix!r} (detected; --strip-prefix sets it)")
        else:
            return None, LatentkitError(
                f"{sd.path.name} holds {plugin.name}'s tensors under several prefixes: {', '.join(map(repr, found))}",
                fix=f"pass --strip-prefix {found[0]} (or another of them)",
            )
    tensors, dropped = strip_prefix(sd.tensors, prefix) if prefix else (dict(sd.tensors), 0)
    if prefix and dropped:
        notes.append(f"left out {dropped} tensors outside the prefix {prefix!r}")
    mismatch = tensor_mismatch(
        {k: tuple(v.shape) for k, v in expected.items()},
        {k: tuple(v.shape) for k, v in tensors.items()},
        sd.path.name,
        f"{plugin.name} with this config",
        "pass --config with the settings the model was trained with (e.g. latent_dim, image_shape), "
        "or --strip-prefix to select one sub-module",
        file_keys=sd.tensors,
    )
    if mismatch is not None:
        return None, mismatch
    if module is None:
        try:
            module = build_architecture(plugin, config, plugin.name, meta=False)
        except LatentkitError as exc:
            return None, exc
    return MatchedStateDict(plugin, dict(config), tensors, module, notes), None


def _config_candidates(plugin: Plugin, sd: StateDictFile) -> list[tuple[dict[str, Any], str]]:
    """Configs to try when none is given: the Lightning hyper-parameters (as a whole, a nested
    config, or the keys the plugin knows), then the plugin's example config."""
    found: list[tuple[dict[str, Any], str]] = []
    hp = sd.hyper_parameters
    if hp:
        dicts = [hp, *(hp[k] for k in CONFIG_KEYS_IN_HPARAMS if isinstance(hp.get(k), Mapping))]
        for d in dicts:
            found.append((dict(d), "the checkpoint's hyper_parameters"))
            if plugin.example_config is not None:
                known = {k: v for k, v in d.items() if k in plugin.example_config}
                if known and len(known) < len(d):
                    ignored = ", ".join(sorted(set(d) - set(known)))
                    found.append((known, f"the checkpoint's hyper_parameters (ignored: {ignored})"))
    if plugin.example_config is not None:
        found.append((dict(plugin.example_config), f"{plugin.name}'s example config (the tensor shapes match it)"))
    return found


def match_architecture(
    sd: StateDictFile, plugin: Plugin, config: dict[str, Any] | None, prefix: str | None
) -> MatchedStateDict:
    """Fit the file to one architecture: with ``config`` if given, else the candidates in turn."""
    if plugin.build is None:
        raise LatentkitError(f"plugin {plugin.name!r} cannot build an architecture from a config", fix="pick a plugin with build")
    if config is not None:
        matched, error = _fit(plugin, config, sd, prefix)
        if matched is None:
            raise error  # type: ignore[misc]
        return matched
    first_error: LatentkitError | None = None
    for candidate, source in _config_candidates(plugin, sd):
        matched, error = _fit(plugin, candidate, sd, prefix)
        if matched is not None:
            matched.notes.append(f"config from {source}")
            return matched
        first_error = first_error or error
    raise first_error or LatentkitError(
        f"{sd.path.name} holds no config for {plugin.name}", fix="pass --config with the architecture's settings"
    )


def _names_fit(plugin: Plugin, sd: StateDictFile, config: dict[str, Any] | None, prefix: str | None) -> bool:
    """Whether the file holds every tensor name of ``plugin``'s architecture (shapes aside),
    built from ``config`` or else from any of the configs the file or the plugin suggests."""
    if plugin.build is None:
        return False
    from latentkit.models.checkpoint import build_architecture

    candidates = [config] if config is not None else [c for c, _ in _config_candidates(plugin, sd)]
    for candidate in candidates:
        try:  # names only: on the meta device, so a hostile config allocates nothing
            skeleton = build_architecture(plugin, candidate, plugin.name, meta=True)
            if skeleton is None:  # the plugin cannot build on the meta device
                skeleton = build_architecture(plugin, candidate, plugin.name, meta=False)
            names = list(skeleton.state_dict())
        except Exception:
            continue
        if prefix is not None:
            if set(names) == set(strip_prefix(sd.tensors, prefix)[0]):
                return True
        elif any(set(names) == set(strip_prefix(sd.tensors, p)[0]) for p in prefixes_holding(sd.tensors, names)):
            return True
    return False


def find_architecture(
    sd: StateDictFile, plugins: Sequence[Plugin], config: dict[str, Any] | None, prefix: str | None
) -> MatchedStateDict:
    """The one architecture among ``plugins`` whose tensor names the file holds, fitted to it."""
    fitting = [p for p in plugins if _names_fit(p, sd, config, prefix)]
    if len(fitting) > 1:
        raise LatentkitError(
            f"{sd.path.name} fits several architectures: {', '.join(p.name for p in fitting)}",
            fix=f"pass --plugin {fitting[0].name} (or another of them)",
        )
    if not fitting:
        sample = ", ".join(repr(k) for k in sorted(sd.tensors)[:4])
        raise LatentkitError(
            f"the tensor names in {sd.path.name} ({sample}, ...) match no known architecture "
            f"({', '.join(p.name for p in plugins if p.build is not None)})",
            fix="pass --plugin NAME --config cfg.json for its architecture (latentkit plugins lists them), "
            "or --strip-prefix if its keys carry one",
        )
    return match_architecture(sd, fitting[0], config, prefix)


def load_into(matched: MatchedStateDict, device: str) -> Any:
    """Load the matched tensors into the module; eval mode on ``device``."""
    module = matched.module
    module.load_state_dict(matched.tensors)
    module.to(device)
    module.eval()
    return module
