"""What every command shares: the output folder and the VAE check.

Opening a checkpoint and its data, and provenance, live with the option specs
in :mod:`latentkit.options`; the JSON envelope in :mod:`latentkit.envelope`.
"""

from __future__ import annotations

from typing import Any

from latentkit.errors import LatentkitError
from latentkit.options import default_out_dir, latentkit_version

__all__ = ["default_out_dir", "latentkit_version", "require_vae"]


def require_vae(checkpoint: Any, what: str) -> None:
    if checkpoint.kind != "vae":
        raise LatentkitError(
            f"{what} needs an encoder, but {checkpoint.path.name} is a {checkpoint.kind.upper()} ({checkpoint.plugin})",
            fix="run it on a VAE checkpoint",
        )
