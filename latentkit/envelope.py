"""The one JSON envelope every command writes.

Every command's JSON document has the same top-level keys, in every case:

==================  =============================================================
``schema``          ``latentkit.<command>``
``schema_version``  the version of that command's schema (:data:`SCHEMA_VERSIONS`)
``checkpoint``      path, sha256, plugin, kind, latent_dim (null: no checkpoint); a sweep
                    has ``checkpoints`` here instead: each checkpoint's own document, in order
``data``            source, n_total, n (null: no data was read, e.g. a GAN's prior)
``settings``        every setting that shaped the numbers, incl. seed, batch_size, device
``results``         the command's numbers (the figure catalogue names their paths)
``notes``           sentences for the reader: diagnoses and warnings
``caveats``         what the numbers and figures cannot support (also drawn on the figures)
``figures``         files written beside the JSON, by role (empty when nothing written)
``provenance``      latentkit_version, versions (once), reproducing command
==================  =============================================================
"""

from __future__ import annotations

from typing import Any

# A command's schema version goes up when its ``results`` (or the envelope) change shape.
# Version 2 of the analysis commands is the first with this envelope.
SCHEMA_VERSIONS: dict[str, int] = {
    "info": 2,
    "plugins": 2,
    "kl-report": 2,
    "disentangle": 2,
    "interpolate": 2,
    "traverse": 2,
    "umap": 2,
    "check": 1,
    "report": 1,
    # a sweep over checkpoints: `checkpoints` in place of `checkpoint` (see commands/sweep.py)
    "kl-report-sweep": 1,
    "disentangle-sweep": 1,
    "check-sweep": 1,
}
ENVELOPE_KEYS = (
    "schema", "schema_version", "checkpoint", "data", "settings", "results", "notes", "caveats", "figures",
    "provenance",
)  # fmt: skip


def envelope(
    command: str,
    *,
    checkpoint: dict[str, Any] | None,
    data: dict[str, Any] | None,
    settings: dict[str, Any],
    results: dict[str, Any],
    notes: list[str],
    figures: dict[str, str],
    provenance: dict[str, Any],
    caveats: list[str] = (),  # type: ignore[assignment]
    checkpoints: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A command's JSON document (see the module docstring for the keys). A sweep passes
    ``checkpoints`` (each checkpoint's document) and ``checkpoint=None``; the key then replaces it."""
    if checkpoints is not None and checkpoint is not None:
        raise ValueError("a document holds one checkpoint or a sweep's checkpoints, not both")
    return {
        "schema": f"latentkit.{command}",
        "schema_version": SCHEMA_VERSIONS[command],
        **({"checkpoints": list(checkpoints)} if checkpoints is not None else {"checkpoint": checkpoint}),
        "data": data,
        "settings": settings,
        "results": results,
        "notes": list(notes),
        "caveats": list(caveats),
        "figures": dict(figures),
        "provenance": provenance,
    }


def checkpoint_block(checkpoint: Any, path: Any) -> dict[str, Any]:
    """The ``checkpoint`` block: path, sha256, plugin, kind, latent_dim, format, notes (from opening it)."""
    return {
        "path": str(path),
        "sha256": checkpoint.sha256,
        "plugin": checkpoint.plugin,
        "kind": checkpoint.kind,
        "latent_dim": checkpoint.latent_dim,
        "format": checkpoint.format,
        "notes": list(checkpoint.notes),
    }


def data_block(source: str, n_total: int, n: int) -> dict[str, Any]:
    """The ``data`` block: the source's name, its rows, and the rows used."""
    return {"source": source, "n_total": int(n_total), "n": int(n)}
