"""Keep freed memory in the process, so that each batch does not fault in fresh pages.

An encoding pass allocates and frees the same few large activation buffers on
every batch (conv-vae at batch 64: a 8 MB first-layer output; at batch 1024,
128 MB). glibc serves blocks above its mmap threshold (128 kB, raised
dynamically up to 32 MB) with fresh ``mmap`` pages and returns freed heap tops
above 128 kB to the system, so every batch pays one page fault per 4 kB it
touches. Measured on conv-vae, 4,096 shapes, one thread (CPU seconds, minor
faults; ``benchmarks/bench_kl_report.py``): batch 64 2.06 s / 119k faults → 1.78 s
/ 8k; batch 1024 3.89 s / 675k → 1.80 s / 108k. Raising only the mmap threshold
helps up to its 32-64 MB cap and no further, so large blocks are taken from the
heap (``M_MMAP_MAX = 0``) and freed memory is kept up to :data:`TRIM_THRESHOLD`.

The cost: the process keeps up to that much freed memory mapped until it exits,
which a short-lived command does not notice. Settings the user made with
glibc's ``MALLOC_*_`` environment variables win; on another C library this is a
no-op.
"""

from __future__ import annotations

import ctypes
import os

# mallopt parameter numbers from glibc's malloc.h.
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
TRIM_THRESHOLD = 1 << 30  # freed heap top kept before it is handed back to the system
_USER_SETTINGS = ("MALLOC_MMAP_MAX_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_")

_applied: bool | None = None


def retain_freed_memory() -> bool:
    """Tell glibc to reuse freed blocks instead of returning them; True when it took effect.

    Idempotent and cheap; called by the CLI at start-up and by every encoding pass.
    """
    global _applied
    if _applied is not None:
        return _applied
    _applied = False
    if any(name in os.environ for name in _USER_SETTINGS):
        return _applied
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library the interpreter runs on
    except (OSError, AttributeError):  # not glibc (musl, macOS, Windows)
        return _applied
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    _applied = bool(mallopt(_M_MMAP_MAX, 0)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return _applied
