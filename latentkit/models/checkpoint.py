"""Checkpoint files: a model's tensors plus latentkit metadata in a safetensors header.

Header metadata (all strings, namespaced because other tools write there too):

* ``latentkit.format``: the format version, ``"1"``;
* ``latentkit.plugin``: the registered plugin that builds the architecture;
* ``latentkit.kind``: ``vae`` or ``gan``;
* ``latentkit.config``: a JSON object handed to the plugin's ``build``;
* ``latentkit.dataset`` (optional): what the model was trained on;
* any other ``latentkit.<key>`` given to :func:`save`; unknown keys are ignored.

The header is parsed by hand (8-byte little-endian length, then JSON), so
``latentkit info`` never loads the weights nor imports torch. Other formats
(state dicts, plugin formats) are opened by :mod:`latentkit.models.formats`.
"""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from latentkit.defaults import CHECKPOINT_FORMAT, DEVICE
from latentkit.errors import LatentkitError

META_PREFIX = "latentkit."
_MAX_HEADER_BYTES = 100 * 1024 * 1024
_DTYPE_BYTES = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2, "F16": 2,
    "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8,
}  # fmt: skip


@dataclass(frozen=True)
class TensorInfo:
    name: str
    dtype: str
    shape: tuple[int, ...]

    @property
    def numel(self) -> int:
        n = 1
        for s in self.shape:
            n *= s
        return n


@dataclass(frozen=True)
class CheckpointHeader:
    """What a checkpoint says about itself, read without loading any weight."""

    path: Path
    file_size: int
    tensors: tuple[TensorInfo, ...]
    metadata: dict[str, str]  # the whole raw header metadata, other tools' keys included

    @property
    def latentkit_metadata(self) -> dict[str, str]:
        return {k[len(META_PREFIX) :]: v for k, v in self.metadata.items() if k.startswith(META_PREFIX)}

    @property
    def parameter_count(self) -> int:
        return sum(t.numel for t in self.tensors)


def _corrupt(path: Path, why: str) -> LatentkitError:
    return LatentkitError(
        f"{path} is not a valid safetensors file: {why}",
        fix="check the path, or re-save the model with latentkit.save(...)",
    )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _tensor_entry(path: Path, name: str, info: Any) -> tuple[TensorInfo, int, int]:
    """One header entry as (tensor, start, end), every field type-checked."""
    if not isinstance(info, dict) or not {"dtype", "shape", "data_offsets"} <= set(info):
        raise _corrupt(path, f"tensor {name!r} needs dtype, shape and data_offsets")
    dtype, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
    if not isinstance(dtype, str) or dtype not in _DTYPE_BYTES:
        raise _corrupt(path, f"tensor {name!r} has unknown dtype {str(dtype)[:40]!r}")
    if not isinstance(shape, list) or not all(_is_int(s) and s >= 0 for s in shape):
        raise _corrupt(path, f"tensor {name!r} has a shape that is not a list of sizes")
    if not isinstance(offsets, list) or len(offsets) != 2 or not all(_is_int(o) for o in offsets):
        raise _corrupt(path, f"tensor {name!r} has data_offsets that are not two integers")
    return TensorInfo(name, dtype, tuple(shape)), offsets[0], offsets[1]


def read_header(path: str | Path) -> CheckpointHeader:
    """Parse a safetensors header (tensor names, shapes, dtypes, metadata) without the weights."""
    path = Path(path)
    if not path.exists():
        raise LatentkitError(f"checkpoint {path} does not exist", fix="check the path")
    if path.is_dir():
        raise LatentkitError(f"checkpoint {path} is a folder", fix="pass the .safetensors file inside it")
    size = path.stat().st_size
    with path.open("rb") as fh:
        prefix = fh.read(8)
        if len(prefix) < 8:
            raise _corrupt(path, f"the file has {size} bytes, fewer than a header needs")
        (header_len,) = struct.unpack("<Q", prefix)
        if header_len > min(size - 8, _MAX_HEADER_BYTES):
            raise _corrupt(path, "the header length is larger than the file (truncated or not safetensors)")
        raw = fh.read(header_len)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _corrupt(path, f"the header is not JSON ({exc})") from exc
    except RecursionError as exc:
        raise _corrupt(path, "the header's JSON is nested too deeply") from exc
    if not isinstance(header, dict):
        raise _corrupt(path, "the header is not a JSON object")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise _corrupt(path, "__metadata__ must map strings to strings")
    data_len = size - 8 - header_len
    tensors = []
    spans: list[tuple[int, int, str]] = []
    for name, info in header.items():
        tensor, start, end = _tensor_entry(path, name, info)
        if not (0 <= start <= end <= data_len):
            raise _corrupt(path, f"tensor {name!r} lies outside the file (truncated?)")
        if end - start != tensor.numel * _DTYPE_BYTES[tensor.dtype]:
            raise _corrupt(path, f"tensor {name!r} has {end - start} bytes for shape {list(tensor.shape)} {tensor.dtype}")
        tensors.append(tensor)
        spans.append((start, end, name))
    spans.sort()
    for (_, end, first), (start, _, second) in zip(spans, spans[1:]):
        if start < end:
            raise _corrupt(path, f"tensors {first!r} and {second!r} overlap in the file")
    return CheckpointHeader(path, size, tuple(sorted(tensors, key=lambda t: t.name)), dict(metadata))


@dataclass
class Checkpoint:
    """A loaded checkpoint: the module (in eval mode) and what the header said."""

    path: Path
    model: Any  # torch.nn.Module satisfying VAEModel or GANModel
    kind: str
    plugin: str
    config: dict[str, Any]
    metadata: dict[str, str] = field(default_factory=dict)  # latentkit.* keys, prefix stripped
    format: str = "latentkit checkpoint"
    notes: list[str] = field(default_factory=list)  # what opening it inferred, for the user
    files: tuple[Path, ...] = ()  # the files that make up a model saved as several (hashed by sha256)
    _sha256: str | None = field(default=None, repr=False)

    @property
    def dataset(self) -> str | None:
        return self.metadata.get("dataset")

    @property
    def latent_dim(self) -> int:
        return int(self.model.latent_dim)

    @property
    def latent_shape(self) -> tuple[int, ...]:
        """The shape of one latent code: ``(latent_dim,)``, or e.g. ``(C, H, W)`` for spatial latents."""
        from latentkit.models.protocols import latent_shape_of

        return latent_shape_of(self.model)

    @property
    def sha256(self) -> str:
        """SHA-256 of the file, computed once, streaming (files can be hundreds of MB)."""
        if self._sha256 is None:
            self._sha256 = file_sha256(self.path, self.files)
        return self._sha256


def file_sha256(path: Path, files: Sequence[Path] = ()) -> str:
    """SHA-256 of a file; of a model saved as several files (``files``, or every file of the
    folder ``path``), of their relative names and contents in name order."""
    digest = hashlib.sha256()
    path = Path(path)
    if not files and path.is_dir():
        files = [p for p in path.rglob("*") if p.is_file()]
    base = path if path.is_dir() else path.parent
    named = sorted((Path(f).relative_to(base).as_posix(), Path(f)) for f in files) if files else [("", path)]
    for name, file in named:
        digest.update(name.encode() + b"\0")
        with file.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def _parse_config(text: str, source: str) -> dict[str, Any]:
    try:
        config = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LatentkitError(f"{source} is not valid JSON ({exc})", fix="pass a JSON object") from exc
    except RecursionError as exc:
        raise LatentkitError(f"{source} is nested too deeply", fix="pass a flat JSON object of settings") from exc
    if not isinstance(config, dict):
        raise LatentkitError(f"{source} is not a JSON object", fix="pass a JSON object such as {\"latent_dim\": 10}")
    return config


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Read a ``--config`` JSON file."""
    path = Path(path)
    if not path.is_file():
        raise LatentkitError(f"config file {path} does not exist", fix="check the --config path")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise LatentkitError(f"config file {path} is not UTF-8 text", fix="pass a JSON file saved as UTF-8") from exc
    return _parse_config(text, f"config file {path}")


def parse_config_option(value: str) -> dict[str, Any]:
    """``--config``: inline JSON (starting with ``{``) or the path of a JSON file."""
    if value.lstrip().startswith("{"):
        return _parse_config(value, "--config")
    return read_config_file(value)


def _infer_kind(model: Any) -> str:
    from latentkit.models.protocols import GANModel, VAEModel

    if isinstance(model, VAEModel):
        return "vae"
    if isinstance(model, GANModel):
        return "gan"
    raise LatentkitError(
        f"{type(model).__name__} satisfies neither the VAE protocol (latent_dim, encode, decode) "
        "nor the GAN protocol (latent_dim, sample_latent, generate)",
        fix="add those methods, or pass kind='vae'/'gan' to latentkit.save",
    )


def save(model: Any, path: str | Path, *, plugin: str, config: dict[str, Any], **metadata: Any) -> Path:
    """Write ``model``'s weights and latentkit metadata to a ``.safetensors`` file.

    ``plugin`` names the registered plugin whose ``build(config)`` rebuilds the
    module; extra keyword arguments become ``latentkit.<key>`` header entries
    (e.g. ``dataset="digits"``; non-strings are stored as JSON). ``kind`` is
    inferred from the module's methods unless given.
    """
    from latentkit.outputs import atomic_path

    path = Path(path)
    try:
        config_text = json.dumps(config, sort_keys=True)
    except TypeError as exc:
        raise LatentkitError(f"config is not JSON-serialisable: {exc}", fix="use plain numbers, strings, lists") from exc
    kind = str(metadata.pop("kind", None) or _infer_kind(model))
    header = {
        f"{META_PREFIX}format": CHECKPOINT_FORMAT,
        f"{META_PREFIX}plugin": plugin,
        f"{META_PREFIX}kind": kind,
        f"{META_PREFIX}config": config_text,
    }
    for key, value in metadata.items():
        if value is not None:
            header[f"{META_PREFIX}{key}"] = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    # clone() breaks storage sharing, which safetensors refuses to write.
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in model.state_dict().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        tmp.write_bytes(canonical_safetensors(tensors, header))
    return path


def canonical_safetensors(tensors: dict[str, Any], metadata: dict[str, str]) -> bytes:
    """safetensors bytes whose header JSON has sorted keys, so equal tensors and metadata give equal bytes.

    safetensors writes its metadata map in hash order, which changes from run to
    run; the tensor data it lays out is kept as is, only the header is rewritten
    (sorted keys, no spaces, padded with spaces to a multiple of 8 bytes as the
    format allows).
    """
    import struct

    from safetensors.torch import save

    raw = save(tensors, metadata=metadata)
    (length,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + length])
    text = json.dumps(header, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + raw[8 + length :]


def _load_tensors(path: Path, device: str) -> dict[str, Any]:
    from safetensors.torch import load_file

    try:
        return load_file(str(path), device=device)
    except Exception as exc:
        raise _corrupt(path, str(exc).splitlines()[0]) from exc


def _check_shapes(expected: dict[str, tuple[int, ...]], found: dict[str, tuple[int, ...]], path: Path) -> None:
    """The architecture's tensors (``expected``) are exactly the file's (``found``), by name and shape."""
    from latentkit.models.state_dict import tensor_mismatch

    mismatch = tensor_mismatch(
        expected,
        found,
        path.name,
        "the architecture",
        "check --plugin/--config (e.g. latent_dim, image_shape) match the model that wrote this file",
    )
    if mismatch is not None:
        raise mismatch


def _shapes(state: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    return {name: tuple(value.shape) for name, value in state.items()}


def build_architecture(spec: Any, config: dict[str, Any], plugin_name: str, *, meta: bool) -> Any:
    """``spec.build(config)``; with ``meta`` on torch's meta device (shapes only, no memory).

    A plugin that fails on the meta device for another reason than a :class:`LatentkitError`
    (e.g. it computes with its weights while building) gives None: it is checked after the real build.
    """
    import torch

    try:
        if meta:
            with torch.device("meta"):
                return spec.build(dict(config))
        return spec.build(dict(config))
    except LatentkitError:
        raise
    except Exception as exc:
        if meta:
            return None
        if isinstance(exc, RecursionError):
            raise LatentkitError(
                f"plugin {plugin_name!r} could not build the config: it is nested too deeply",
                fix="check --config (or the checkpoint's latentkit.config) against the plugin's settings",
            ) from exc
        raise LatentkitError(
            f"plugin {plugin_name!r} rejected the config: {type(exc).__name__}: {exc}".splitlines()[0],
            fix="check --config (or the checkpoint's latentkit.config) against the plugin's settings",
        ) from exc


def load(
    path: str | Path,
    device: str = DEVICE,
    *,
    plugin: str | None = None,
    config: dict[str, Any] | None = None,
    plugin_files: Sequence[str | Path] = (),
) -> Checkpoint:
    """Rebuild the model a checkpoint describes and load its weights.

    ``plugin``/``config`` override (or stand in for) the header's metadata, so
    safetensors files written by other code load too. Returns a
    :class:`Checkpoint` whose ``.model`` is in eval mode on ``device``.
    """
    from latentkit.models.registry import PluginRegistry

    path = Path(path)
    header = read_header(path)
    meta = header.latentkit_metadata
    fmt = meta.get("format")
    if fmt is not None and fmt != CHECKPOINT_FORMAT:
        raise LatentkitError(
            f"{path.name} uses latentkit checkpoint format {fmt}; this version reads format {CHECKPOINT_FORMAT}",
            fix="upgrade latentkit",
        )
    plugin_name = plugin or meta.get("plugin")
    if plugin_name is None:
        raise LatentkitError(
            f"{path.name} has no latentkit metadata (no latentkit.plugin in its header)",
            fix="pass --plugin NAME --config cfg.json (see `latentkit plugins`), or save it with latentkit.save",
        )
    if config is None:
        if "config" not in meta:
            raise LatentkitError(
                f"{path.name} has no latentkit.config in its header",
                fix="pass --config cfg.json with the architecture's settings",
            )
        config = _parse_config(meta["config"], f"latentkit.config in {path.name}")
    spec = PluginRegistry(plugin_files).get(plugin_name)
    _check_device(device)
    # The architecture is first built on the meta device (no memory) and checked against the tensors the
    # file ships, so a config asking for a model larger than its weights is refused before any allocation.
    skeleton = build_architecture(spec, config, plugin_name, meta=True)
    if skeleton is not None:
        _check_shapes(_shapes(skeleton.state_dict()), {t.name: t.shape for t in header.tensors}, path)
    module = build_architecture(spec, config, plugin_name, meta=False)
    tensors = _load_tensors(path, "cpu")
    _check_shapes(_shapes(module.state_dict()), _shapes(tensors), path)
    module.load_state_dict(tensors)
    module.to(device)
    module.eval()
    kind = spec.kind
    if "kind" in meta and meta["kind"] != kind:
        raise LatentkitError(
            f"{path.name} says latentkit.kind {meta['kind'][:40]!r} but plugin {plugin_name!r} builds a {kind.upper()}",
            fix="pass --plugin with the plugin that wrote this file, or re-save it with latentkit.save",
        )
    actual = _infer_kind(module)
    if actual != kind:
        raise LatentkitError(
            f"plugin {plugin_name!r} says kind {kind!r} but builds a {actual.upper()} module",
            fix="fix the plugin's kind",
        )
    meta = {**meta, "plugin": plugin_name, "kind": kind, "config": json.dumps(config, sort_keys=True)}
    return Checkpoint(path=path, model=module, kind=kind, plugin=plugin_name, config=dict(config), metadata=meta)


def device_memory(device: str) -> tuple[str, int | None]:
    """The device's name and its free memory in bytes (``None`` where it cannot be read), after checking it is usable."""
    import os

    import torch

    _check_device(device)
    dev = torch.device(device)
    if dev.type == "cuda":
        index = dev.index if dev.index is not None else torch.cuda.current_device()
        if index >= torch.cuda.device_count():
            raise LatentkitError(
                f"device {device!r} asked for, but this machine has {torch.cuda.device_count()} CUDA device(s)",
                fix="use cuda:0 … cuda:N-1, or --device cpu",
            )
        free, _total = torch.cuda.mem_get_info(index)
        return torch.cuda.get_device_name(index), int(free)
    try:
        return "CPU", int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return "CPU", None


def _check_device(device: str) -> None:
    import torch

    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise LatentkitError(f"unknown device {device!r}", fix="use cpu, cuda or cuda:N") from exc
    if dev.type not in ("cpu", "cuda"):
        raise LatentkitError(f"device {device!r} is not supported", fix="use cpu, cuda or cuda:N")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise LatentkitError(f"device {device!r} asked for, but CUDA is not available here", fix="use --device cpu")
