"""How many CPU threads torch uses for latentkit's work.

torch starts one intra-op thread per core. For small inputs (8×8 digits, MLPs)
each operation is too short to split: the threads spend their time meeting each
other, and on a machine shared with other work they also wait for cores, so one
thread is faster (benchmarks/bench_threads.py measures it). Larger images
(64×64 shapes, conv nets) gain from every core.

The choice, in order: ``--threads N`` (:func:`request_threads`); else
``OMP_NUM_THREADS`` or ``MKL_NUM_THREADS`` when set (torch reads them itself and
latentkit leaves them alone); else one thread for images under
``SMALL_INPUT_PIXELS`` pixels and torch's default otherwise.
"""

from __future__ import annotations

import os

from latentkit.defaults import SMALL_INPUT_PIXELS
from latentkit.errors import LatentkitError

_requested: int | None = None
THREAD_ENVIRONMENT = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")


def request_threads(threads: int | None) -> None:
    """Fix the thread count for this process (``--threads``); None returns to the automatic choice."""
    global _requested
    if threads is not None and threads < 1:
        raise LatentkitError(f"--threads {threads} is not positive", fix="pass --threads 1 or more")
    _requested = threads


def choose_threads(image_pixels: int | None, cores: int | None = None) -> int | None:
    """The thread count to set for images of ``image_pixels`` pixels, or None to leave torch's own choice."""
    if _requested is not None:
        return _requested
    if any(name in os.environ for name in THREAD_ENVIRONMENT):
        return None
    if image_pixels is not None and image_pixels < SMALL_INPUT_PIXELS:
        return 1
    return None


def use_threads_for(image_shape: tuple[int, ...] | list[int] | None) -> int:
    """Set torch's intra-op thread count for work on images of ``image_shape``; return the count in use."""
    import math

    import torch

    pixels = math.prod(int(d) for d in image_shape) if image_shape else None
    chosen = choose_threads(pixels)
    if chosen is not None and torch.get_num_threads() != chosen:
        torch.set_num_threads(chosen)
    return torch.get_num_threads()
