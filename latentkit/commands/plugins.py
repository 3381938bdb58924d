"""``latentkit plugins``: every plugin latentkit can find, where it comes from, whether it loads."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from latentkit.models.registry import PluginEntry, PluginRegistry


def list_plugins(plugin_files: Sequence[str | Path] = (), *, check_build: bool = False) -> list[PluginEntry]:
    """One entry per plugin; a broken one is reported with its reason, never fatal.

    ``check_build`` also builds each from its default config (imports torch).
    """
    return PluginRegistry(plugin_files, strict=False).entries(check_build=check_build)
