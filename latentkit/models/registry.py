"""Finding plugins: built-ins, installed packages and local files.

Plugins come from three places:

* the entry-point group ``latentkit.plugins`` (latentkit's own built-ins are
  registered there too, in its ``pyproject.toml``), read by name without
  importing anything until a plugin is asked for;
* the built-in module, as a fallback when latentkit runs from a source tree
  that was never installed;
* Python files given with ``--plugin-file`` (they run user code, so only when
  asked), each defining a module-level list ``PLUGINS``.

A plugin that fails to import is reported as broken with its reason and
breaks nothing else.

Which plugin opens a path (:meth:`PluginRegistry.claimants`): every plugin
with a ``detect`` is asked, in name order (entry points and built-ins, then
plugin files); a broken plugin is skipped.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from latentkit.defaults import SUPPORTED_PLUGIN_API_VERSIONS
from latentkit.errors import LatentkitError
from latentkit.models.plugin import KINDS, Plugin

ENTRY_POINT_GROUP = "latentkit.plugins"
_OWN_DISTRIBUTION = "latentkit-cli"


@dataclass(frozen=True)
class PluginEntry:
    """One row of ``latentkit plugins``: where a plugin comes from and whether it loads."""

    name: str
    origin: str  # "built-in", "entry point <dist> <version>" or "file <path>"
    kind: str | None
    status: str  # "ok" or "broken"
    reason: str | None = None
    plugin: Plugin | None = None

    @property
    def formats(self) -> tuple[str, ...]:
        return self.plugin.formats if self.plugin is not None else ()

    def to_document(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "origin": self.origin,
            "formats": list(self.formats),
            "status": self.status,
            "reason": self.reason,
            "description": self.plugin.description if self.plugin is not None else None,
        }


def _check_plugin(obj: Any, where: str) -> Plugin:
    """Check that ``obj`` looks like a plugin; raise a ValueError with the reason if not."""
    for attr in ("name", "kind"):
        if not hasattr(obj, attr):
            raise ValueError(f"{where} has no attribute '{attr}'")
    if obj.kind not in KINDS:
        raise ValueError(f"{where} has kind {obj.kind!r}; expected one of {', '.join(KINDS)}")
    api = getattr(obj, "api_version", 1)
    if api not in SUPPORTED_PLUGIN_API_VERSIONS:
        supported = ", ".join(map(str, SUPPORTED_PLUGIN_API_VERSIONS))
        raise ValueError(f"{where} targets plugin API {api}; this latentkit supports {supported}")
    for attr in ("build", "detect", "load", "describe"):
        value = getattr(obj, attr, None)
        if value is not None and not callable(value):
            raise ValueError(f"{where}.{attr} is not callable")
    if getattr(obj, "build", None) is None and getattr(obj, "load", None) is None:
        raise ValueError(f"{where} has neither build nor load")
    if (getattr(obj, "detect", None) is None) != (getattr(obj, "load", None) is None):
        raise ValueError(f"{where} must define detect and load together")
    if api == 1:  # a version-1 plugin object may be any object with name, kind and build
        obj = Plugin(name=obj.name, kind=obj.kind, build=obj.build, api_version=1,
                     description=getattr(obj, "description", ""))
    return obj


def _load_plugin_file(path: Path) -> list[Plugin]:
    """Run a plugin file and return its ``PLUGINS``; a LatentkitError if it cannot."""
    if not path.is_file():
        raise LatentkitError(f"plugin file {path} does not exist", fix="check the --plugin-file path")
    module_name = f"latentkit_plugin_file_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise LatentkitError(f"cannot import plugin file {path}", fix="pass a .py file")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # user code: any failure is the file's problem
        raise LatentkitError(
            f"plugin file {path} failed to import: {type(exc).__name__}: {exc}",
            fix="fix the file, or run with --debug for the traceback",
        ) from exc
    plugins = getattr(module, "PLUGINS", None)
    if not isinstance(plugins, (list, tuple)):
        raise LatentkitError(
            f"plugin file {path} defines no list PLUGINS",
            fix="add a module-level list PLUGINS = [latentkit.Plugin(...), ...]",
        )
    checked = []
    for i, obj in enumerate(plugins):
        try:
            checked.append(_check_plugin(obj, f"PLUGINS[{i}] in {path.name}"))
        except ValueError as exc:
            raise LatentkitError(str(exc), fix="see 'Write a plugin' in the README") from exc
    return checked


class PluginRegistry:
    """Name → plugin, from entry points, built-ins and plugin files (files win on name clashes)."""

    def __init__(self, plugin_files: Sequence[str | Path] = (), *, strict: bool = True) -> None:
        """``strict=False`` records a plugin file that fails to load (shown as broken
        by :meth:`entries`) instead of raising."""
        self._entry_points = {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
        self._file_plugins: dict[str, tuple[Plugin, Path]] = {}
        self._broken_files: dict[Path, str] = {}
        for path in map(Path, plugin_files):
            try:
                for plugin in _load_plugin_file(path):
                    self._file_plugins[plugin.name] = (plugin, path)
            except LatentkitError as exc:
                if strict:
                    raise
                self._broken_files[path] = exc.message

    def names(self) -> list[str]:
        """Every known plugin name, without importing any plugin module."""
        from latentkit.models.builtin import BUILTIN_PLUGINS  # cheap: no torch

        builtin = {plugin.name for plugin in BUILTIN_PLUGINS}
        return sorted(set(self._entry_points) | builtin | set(self._file_plugins))

    def _origin(self, name: str) -> str:
        if name in self._file_plugins:
            return f"file {self._file_plugins[name][1]}"
        ep = self._entry_points.get(name)
        if ep is None or ep.dist is None or ep.dist.name == _OWN_DISTRIBUTION:
            return "built-in"
        return f"entry point {ep.dist.name} {ep.dist.version}"

    def _import(self, name: str) -> Plugin:
        if name in self._file_plugins:
            return self._file_plugins[name][0]
        ep = self._entry_points.get(name)
        if ep is not None:
            return _check_plugin(ep.load(), f"entry point {ep.value}")
        from latentkit.models.builtin import BUILTIN_PLUGINS

        for plugin in BUILTIN_PLUGINS:
            if plugin.name == name:
                return plugin
        raise KeyError(name)

    def get(self, name: str) -> Plugin:
        """The plugin called ``name``; a LatentkitError naming the known ones otherwise."""
        if name not in self.names():
            raise LatentkitError(
                f"unknown plugin {name!r}; known plugins: {', '.join(self.names())}",
                fix="pick one of those, or pass --plugin-file PATH that defines it",
            )
        try:
            return self._import(name)
        except Exception as exc:
            raise LatentkitError(
                f"plugin {name!r} ({self._origin(name)}) is broken: {type(exc).__name__}: {exc}",
                fix="reinstall or fix the package that provides it (latentkit plugins shows its status)",
            ) from exc

    def plugins(self) -> list[tuple[str, Plugin | None, str | None]]:
        """(name, plugin or None, why it is broken) for every known plugin, in name order."""
        found: list[tuple[str, Plugin | None, str | None]] = []
        for name in self.names():
            try:
                found.append((name, self._import(name), None))
            except Exception as exc:  # a broken plugin is skipped, never fatal
                found.append((name, None, f"{type(exc).__name__}: {exc}"))
        return found

    def claimants(self, path: Path) -> list[Plugin]:
        """The plugins whose ``detect`` recognises ``path`` (asked in name order)."""
        claiming = []
        for _name, plugin, _reason in self.plugins():
            if plugin is None or plugin.detect is None:
                continue
            try:
                if plugin.detect(path):
                    claiming.append(plugin)
            except Exception:  # a detector that fails has not recognised the path
                continue
        return claiming

    def formats(self) -> list[str]:
        """Every format the working plugins open, each once, for error messages."""
        seen: dict[str, None] = {}
        for _name, plugin, _reason in self.plugins():
            for fmt in plugin.formats if plugin is not None else ():
                seen.setdefault(fmt, None)
        return list(seen)

    def entries(self, *, check_build: bool = False) -> list[PluginEntry]:
        """A row per plugin, importing each (cheap by contract) to learn its kind.

        With ``check_build`` each plugin that has ``build`` also builds its
        ``example_config`` (``{}`` when it declares none), which imports torch.
        """
        rows = [
            PluginEntry(path.name, f"file {path}", None, "broken", reason)
            for path, reason in self._broken_files.items()
        ]
        for name in self.names():
            origin = self._origin(name)
            try:
                plugin = self._import(name)
                if check_build and plugin.build is not None:
                    plugin.build(dict(plugin.example_config or {}))
            except Exception as exc:  # a broken plugin is shown, never fatal
                rows.append(PluginEntry(name, origin, None, "broken", f"{type(exc).__name__}: {exc}"))
                continue
            rows.append(PluginEntry(name, origin, plugin.kind, "ok", None, plugin))
        return rows

