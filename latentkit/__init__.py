"""latentkit: see what the latent space of a trained VAE or GAN really does.

The Python API: ``save``/``load`` checkpoints, ``Plugin`` to register an
architecture, and one function per command (``kl_report``, ...). Heavy
libraries load only when a function that needs them is called.
"""

from __future__ import annotations

from typing import Any

from latentkit.errors import LatentkitError
from latentkit.models.plugin import Plugin

__all__ = ["LatentkitError", "Plugin", "save", "load", "kl_report", "info", "train", "demo", "list_plugins",
           "interpolate", "traverse", "embed", "lerp", "slerp", "kl_report_sweep", "disentangle_sweep", "check_sweep"]

_LAZY = {
    "save": "latentkit.models.checkpoint",
    "load": "latentkit.models.formats",
    "kl_report": "latentkit.commands.kl_report",
    "info": "latentkit.commands.info",
    "train": "latentkit.commands.train",
    "demo": "latentkit.commands.demo",
    "list_plugins": "latentkit.commands.plugins",
    "interpolate": "latentkit.commands.interpolate",
    "traverse": "latentkit.commands.traverse",
    "embed": "latentkit.commands.embed",
    "kl_report_sweep": "latentkit.commands.sweep",
    "disentangle_sweep": "latentkit.commands.sweep",
    "check_sweep": "latentkit.commands.sweep",
    "lerp": "latentkit.analysis.interpolation",
    "slerp": "latentkit.analysis.interpolation",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'latentkit' has no attribute {name!r}")
