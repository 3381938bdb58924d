"""Checking and completing the config dicts of the built-in architectures.

A config is the JSON object a checkpoint stores to rebuild its module, so it
must be complete (every default filled in) and plain JSON (lists, ints). Each
bad key is reported as a :class:`LatentkitError` naming the plugin, the key and
the fix. No torch here: these checks run before any module is built.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from latentkit.errors import LatentkitError


def merge_with_defaults(plugin: str, config: Any, defaults: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` on top of a deep copy of ``defaults``; unknown keys are an error."""
    if not isinstance(config, Mapping):
        raise LatentkitError(
            f"{plugin} config must be a JSON object, got {type(config).__name__}",
            fix=f"pass a dict with keys from: {', '.join(defaults)}",
        )
    unknown = sorted(str(key) for key in config if key not in defaults)
    if unknown:
        raise LatentkitError(
            f"unknown {plugin} config key {unknown[0]!r}",
            fix=f"remove it; {plugin} takes only: {', '.join(defaults)}",
        )
    merged = copy.deepcopy(dict(defaults))
    merged.update(copy.deepcopy(dict(config)))
    return merged


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def positive_int(plugin: str, key: str, value: Any) -> int:
    """``value`` if it is an int >= 1 (a bool is not an int here)."""
    if not _is_int(value) or value < 1:
        raise LatentkitError(
            f"{plugin} config key {key!r} must be a positive integer, got {value!r}",
            fix=f"set {key!r} to an integer such as 10",
        )
    return int(value)


def positive_int_list(plugin: str, key: str, value: Any, *, length: int | None = None) -> list[int]:
    """``value`` as a list of positive ints (optionally of exactly ``length`` items)."""
    ok = isinstance(value, Sequence) and not isinstance(value, str) and all(_is_int(v) and v >= 1 for v in value)
    ok = ok and len(value) >= 1 and (length is None or len(value) == length)
    if not ok:
        size = f"{length} " if length is not None else ""
        raise LatentkitError(
            f"{plugin} config key {key!r} must be a list of {size}positive integers, got {value!r}",
            fix=f"set {key!r} to e.g. [256, 128]" if length is None else f"set {key!r} to {length} integers",
        )
    return [int(v) for v in value]


def image_shape(plugin: str, value: Any) -> list[int]:
    """``value`` as ``[C, H, W]`` of positive ints."""
    return positive_int_list(plugin, "image_shape", value, length=3)


def image_size_error(plugin: str, shape: Sequence[int], requirement: str, example: str) -> LatentkitError:
    """The error for an image size the architecture cannot take."""
    return LatentkitError(
        f"{plugin} cannot take images of shape {list(shape)} (config key 'image_shape'): {requirement}",
        fix=f"set 'image_shape' to e.g. {example}, or use a plugin that fits this data",
    )
