"""``latentkit info``: what a model file or folder holds, read without its weights where the format allows.

A latentkit checkpoint is described from its safetensors header (no torch);
a plugin format by the plugin's ``describe``; a state dict by mapping the file
(``torch.load(mmap=True, weights_only=True)``), so no weight is read.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from latentkit.models.checkpoint import TensorInfo, file_sha256


@dataclass(frozen=True)
class DeviceFit:
    """``info --device``: the device is usable, and its free memory against the weights' float32 size.

    Weights only: activations come on top and depend on ``--batch-size``.
    """

    device: str
    name: str
    free_bytes: int | None
    weights_bytes: int

    @property
    def fits(self) -> bool | None:
        return None if self.free_bytes is None else self.weights_bytes <= self.free_bytes

    def to_dict(self) -> dict[str, Any]:
        return {
            "device": self.device, "name": self.name, "free_bytes": self.free_bytes,
            "weights_bytes": self.weights_bytes, "fits": self.fits,
        }  # fmt: skip


@dataclass(frozen=True)
class CheckpointInfo:
    """What ``latentkit info`` shows: format, the plugin that opens it, kind, latent shape, sizes."""

    path: Path
    format: str
    plugin: str | None
    kind: str | None
    latent_shape: tuple[int, ...] | None
    parameter_count: int | None
    size: int  # bytes, every file of the model together
    config: dict[str, Any] | None
    dataset: str | None = None
    training: dict[str, Any] | None = None  # β, epochs, seed as `latentkit train` recorded them
    tensors: tuple[TensorInfo, ...] = ()
    metadata: dict[str, str] = field(default_factory=dict)
    files: dict[str, int] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    device: DeviceFit | None = None  # only with ``--device``: whether the weights fit there

    @property
    def latent_dim(self) -> int | None:
        if self.latent_shape is None:
            return None
        n = 1
        for s in self.latent_shape:
            n *= s
        return n

    def to_document(self) -> dict[str, Any]:
        """The ``latentkit.info`` document: the common envelope, the description under ``results``."""
        from latentkit.envelope import envelope
        from latentkit.options import provenance

        return envelope(
            "info",
            checkpoint={
                "path": str(self.path),
                "sha256": file_sha256(self.path) if self.path.is_file() else None,
                "plugin": self.plugin,
                "kind": self.kind,
                "latent_dim": self.latent_dim,
                "format": self.format,
                "notes": list(self.notes),
            },
            data=None,
            settings={},
            results={
                "file_size": self.size,
                "files": self.files,
                "config": self.config,
                "dataset": self.dataset,
                "training": self.training,
                "latent_shape": list(self.latent_shape) if self.latent_shape is not None else None,
                "parameter_count": self.parameter_count,
                "tensors": [{"name": t.name, "shape": list(t.shape), "dtype": t.dtype} for t in self.tensors],
                "metadata": self.metadata,
                "device": self.device.to_dict() if self.device is not None else None,
            },
            notes=[],
            figures={},
            provenance=provenance(
                "info", [str(self.path), *(["--device", self.device.device] if self.device is not None else [])]
            ),
        )


def _json_object(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _latentkit_checkpoint(path: Path) -> CheckpointInfo:
    from latentkit.models.checkpoint import read_header

    header = read_header(path)
    meta = header.latentkit_metadata
    config = _json_object(meta.get("config"))
    latent = (config or {}).get("latent_dim")
    return CheckpointInfo(
        path=path,
        format="latentkit checkpoint",
        plugin=meta.get("plugin"),
        kind=meta.get("kind"),
        latent_shape=(latent,) if isinstance(latent, int) else None,
        parameter_count=header.parameter_count,
        size=header.file_size,
        config=config,
        dataset=meta.get("dataset"),
        training=_json_object(meta.get("training")),
        tensors=header.tensors,
        metadata=header.metadata,
        files={path.name: header.file_size},
    )


def info(
    checkpoint: str | Path,
    *,
    plugin: str | None = None,
    plugin_files: Sequence[str | Path] = (),
    device: str | None = None,
) -> CheckpointInfo:
    """Describe a model in any known format: format, plugin, kind, latent shape, parameters, size.

    With ``device``, also check that the device is usable and compare its free memory with the
    weights' float32 size (no weight is read; this is the one case that imports torch).
    """
    from dataclasses import replace

    from latentkit.models.formats import is_latentkit_checkpoint, require_path, describe

    path = Path(checkpoint)
    require_path(path)
    if is_latentkit_checkpoint(path):
        result = _latentkit_checkpoint(path)
    else:
        description, name = describe(path, plugin=plugin, plugin_files=plugin_files)
        result = CheckpointInfo(
            path=path,
            format=description.format,
            plugin=name,
            kind=description.kind,
            latent_shape=description.latent_shape,
            parameter_count=description.parameter_count,
            size=description.size,
            config=description.config,
            tensors=tuple(description.tensors),
            metadata=dict(description.metadata),
            files=dict(description.files),
            notes=description.notes,
        )
    if device is None:
        return result
    from latentkit.models.checkpoint import device_memory

    device_name, free = device_memory(device)
    weights = 4 * result.parameter_count if result.parameter_count is not None else result.size
    return replace(result, device=DeviceFit(device, device_name, free, weights))
