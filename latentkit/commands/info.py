"""``latentkit info``: what a checkpoint holds, read from its header alone (no torch, instant)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from latentkit.defaults import JSON_SCHEMA_VERSION
from latentkit.models.checkpoint import CheckpointHeader, TensorInfo, read_header


@dataclass(frozen=True)
class CheckpointInfo:
    header: CheckpointHeader
    plugin: str | None
    kind: str | None
    config: dict[str, Any] | None
    dataset: str | None

    @property
    def latent_dim(self) -> int | None:
        value = (self.config or {}).get("latent_dim")
        return int(value) if isinstance(value, int) else None

    @property
    def tensors(self) -> tuple[TensorInfo, ...]:
        return self.header.tensors

    def to_document(self) -> dict[str, Any]:
        return {
            "schema": "latentkit.info",
            "schema_version": JSON_SCHEMA_VERSION,
            "path": str(self.header.path),
            "file_size": self.header.file_size,
            "plugin": self.plugin,
            "kind": self.kind,
            "config": self.config,
            "dataset": self.dataset,
            "latent_dim": self.latent_dim,
            "parameter_count": self.header.parameter_count,
            "tensors": [{"name": t.name, "shape": list(t.shape), "dtype": t.dtype} for t in self.tensors],
            "metadata": self.header.metadata,
        }


def info(checkpoint: str | Path) -> CheckpointInfo:
    """Read a checkpoint's header: plugin, kind, config, tensors, sizes."""
    header = read_header(checkpoint)
    meta = header.latentkit_metadata
    config = None
    if "config" in meta:
        try:
            parsed = json.loads(meta["config"])
            config = parsed if isinstance(parsed, dict) else None
        except json.JSONDecodeError:
            config = None
    return CheckpointInfo(header, meta.get("plugin"), meta.get("kind"), config, meta.get("dataset"))
