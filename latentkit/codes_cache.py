"""A disk cache of encoded codes, so a second report on the same inputs skips the encoder.

An entry holds what one encoding pass produced (the data rows encoded, their
flattened posterior means, the latent shape, the float64 running moments of μ,
σ² and the KL terms per value and per channel, and the seeded posterior
samples' statistics when drawn)
together with the key it was computed for and a SHA-256 checksum of its arrays.
The key names everything the codes depend on: the checkpoint's content hash,
the model overrides (plugin, config, plugin files' content), the data's
identity, the rows (and the seed that chose them), the batch size and device,
and the versions of latentkit and torch.

There is one entry per (checkpoint path, data) pair. A lookup whose stored key
differs, or whose file is unreadable or fails its checksum, is a miss with a
note saying why; the fresh codes then replace the entry. Entries are written
atomically, so an interrupted run never leaves a half-written one.

Location: ``$LATENTKIT_CACHE_DIR``, else ``$XDG_CACHE_HOME/latentkit``, else
``~/.cache/latentkit``; entries live in its ``codes/`` folder.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from latentkit.analysis.latent_scale import ChannelSubsample, LatentSampleStats
from latentkit.analysis.layout import LatentLayout
from latentkit.analysis.moments import RunningMoments
from latentkit.cache_paths import cache_root
from latentkit.defaults import CODES_CACHE_MAX_BYTES
from latentkit.encode import EncodedRows, PosteriorStats

CACHE_FORMAT = 2
_MOMENTS = ("mean", "variance", "kl", "channel_mean", "channel_kl")


def _moment_arrays(prefix: str, moments: RunningMoments) -> dict[str, np.ndarray]:
    return {
        f"{prefix}_count": np.array(moments.count, dtype=np.int64),
        f"{prefix}_mean": np.asarray(moments.mean, dtype=np.float64),
        f"{prefix}_m2": np.asarray(moments.m2, dtype=np.float64),
    }


def _moments_from(prefix: str, arrays: dict[str, np.ndarray], dim: int) -> RunningMoments:
    moments = RunningMoments(
        dim,
        count=int(arrays[f"{prefix}_count"]),
        mean=arrays[f"{prefix}_mean"].astype(np.float64),
        m2=arrays[f"{prefix}_m2"].astype(np.float64),
    )
    if moments.mean.shape != (dim,) or moments.m2.shape != (dim,):
        raise ValueError("array shapes disagree")
    return moments


def entry_arrays(codes: EncodedRows) -> dict[str, np.ndarray]:
    """The arrays an entry stores: rows, means, the latent shape, count/mean/M2 of each running
    moment, and the seeded posterior samples' statistics when the pass drew them."""
    stats = codes.stats
    out = {
        "rows": np.asarray(codes.rows, dtype=np.int64),
        "means": np.asarray(codes.means, dtype=np.float32),
        "latent_shape": np.array(stats.layout.shape, dtype=np.int64),
    }
    for name in _MOMENTS:
        out.update(_moment_arrays(name, getattr(stats, name)))
    if stats.samples is not None:
        samples = stats.samples
        out["samples_settings"] = np.array([samples.seed, samples.capacity], dtype=np.int64)
        out["samples_values"] = samples.subsample.values
        out["samples_priority"] = samples.subsample.priority
    return out


def from_entry_arrays(arrays: dict[str, np.ndarray]) -> EncodedRows:
    layout = LatentLayout(tuple(int(s) for s in arrays["latent_shape"]))
    means = arrays["means"]
    rows = arrays["rows"].astype(np.int64)
    if rows.shape != (len(means),) or means.ndim != 2 or means.shape[1] != layout.size:
        raise ValueError("array shapes disagree")
    dims = {"mean": layout.size, "variance": layout.size, "kl": layout.size}
    moments = {name: _moments_from(name, arrays, dims.get(name, layout.channels)) for name in _MOMENTS}
    samples = None
    if "samples_settings" in arrays:
        seed, capacity = (int(v) for v in arrays["samples_settings"])
        values, priority = arrays["samples_values"].astype(np.float64), arrays["samples_priority"].astype(np.float64)
        if values.shape != priority.shape or values.ndim != 2 or len(values) != layout.channels:
            raise ValueError("array shapes disagree")
        samples = LatentSampleStats(
            layout,
            seed,
            capacity,
            subsample=ChannelSubsample(layout.channels, capacity, values=values, priority=priority),
        )
    return EncodedRows(
        rows=rows, means=means.astype(np.float32), stats=PosteriorStats(layout, **moments, samples=samples)
    )


@dataclass
class CacheOutcome:
    """What the cache did: ``hit`` when the codes came from ``path``; ``note`` says why not, or that it did."""

    hit: bool
    path: Path | None
    note: str


def checksum(arrays: dict[str, np.ndarray]) -> str:
    """SHA-256 over every array's name, dtype, shape and bytes, in name order."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        value = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}|{value.dtype.str}|{value.shape}|".encode())
        digest.update(value.tobytes())
    return digest.hexdigest()


def entry_path(root: Path, slot: dict[str, Any]) -> Path:
    """The entry file of one (checkpoint path, data) pair."""
    name = hashlib.sha256(json.dumps(slot, sort_keys=True).encode()).hexdigest()[:32]
    return root / "codes" / f"{name}.npz"


def _read(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The stored key and arrays of an entry; ValueError when it is damaged."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except Exception as exc:  # zip, npy or OS errors: all mean a damaged entry
        raise ValueError(f"unreadable ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from exc
    try:
        meta = json.loads(str(arrays.pop("meta")))
        key, stored_sum = meta["key"], meta["checksum"]
    except (KeyError, ValueError, TypeError) as exc:
        raise ValueError("its metadata is missing or unreadable") from exc
    if checksum(arrays) != stored_sum:
        raise ValueError("its checksum does not match its contents")
    try:
        from_entry_arrays(arrays)
    except (KeyError, ValueError, IndexError, TypeError) as exc:
        raise ValueError(f"its arrays are incomplete ({exc})") from exc
    return key, arrays


def _changed(stored: dict[str, Any], wanted: dict[str, Any]) -> str:
    fields = [name for name in sorted(set(stored) | set(wanted)) if stored.get(name) != wanted.get(name)]
    return ", ".join(field.replace("_", " ") for field in fields) or "key"


def cached_encode(
    key: dict[str, Any],
    slot: dict[str, Any],
    compute: Callable[[], EncodedRows],
    *,
    enabled: bool = True,
    root: Path | None = None,
) -> tuple[EncodedRows, CacheOutcome]:
    """The codes for ``key``: from the entry of ``slot`` when it holds them intact, else ``compute()`` (stored).

    A cache that cannot be written (read-only folder, full disk) never fails the
    run; the outcome's note says the codes were not kept.
    """
    if not enabled:
        return compute(), CacheOutcome(False, None, "cache disabled (--no-cache): encoded afresh")
    key = json.loads(json.dumps(key, sort_keys=True, default=str))  # as it will read back from the entry
    path = entry_path(root or cache_root(), slot)
    reason = "no cached codes for these inputs"
    if path.is_file():
        try:
            stored_key, arrays = _read(path)
        except ValueError as exc:
            reason = f"the cached codes at {path} were damaged ({exc}), so they were recomputed"
        else:
            if stored_key == key:
                return from_entry_arrays(arrays), CacheOutcome(True, path, f"reused cached codes from {path}")
            reason = f"the cached codes were for a different {_changed(stored_key, key)}, so they were recomputed"
    codes = compute()
    return codes, CacheOutcome(False, path, _store(path, key, codes, reason))


def _store(path: Path, key: dict[str, Any], codes: EncodedRows, reason: str) -> str:
    from latentkit.outputs import atomic_write_npz

    arrays = entry_arrays(codes)
    size = sum(value.nbytes for value in arrays.values())
    if size > CODES_CACHE_MAX_BYTES:
        return f"{reason}; not cached ({size / 2**20:.0f} MiB is over the {CODES_CACHE_MAX_BYTES / 2**20:.0f} MiB limit)"
    meta = json.dumps({"key": key, "checksum": checksum(arrays), "format": CACHE_FORMAT}, sort_keys=True)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_npz(path, {**arrays, "meta": np.array(meta)})
    except OSError as exc:
        return f"{reason}; could not cache them at {path} ({exc.strerror or exc})"
    return f"{reason}; cached at {path}"
