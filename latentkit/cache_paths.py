"""Where latentkit keeps its caches (encoded codes, UMAP's compiled numba functions).

One root for all of them: ``$LATENTKIT_CACHE_DIR``, else ``$XDG_CACHE_HOME/latentkit``, else
``~/.cache/latentkit``. Imports nothing heavy, so every layer may ask.
"""

from __future__ import annotations

import os
from pathlib import Path

from latentkit.defaults import CACHE_DIR_ENV


def cache_root() -> Path:
    """``$LATENTKIT_CACHE_DIR``, else ``$XDG_CACHE_HOME/latentkit``, else ``~/.cache/latentkit``."""
    configured = os.environ.get(CACHE_DIR_ENV)
    if configured:
        return Path(configured).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "latentkit"
