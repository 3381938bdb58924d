"""Encoding passes shared over the processes of ``torchrun``, on PyTorch's own collectives.

Under ``torchrun --nproc-per-node N`` (or any launcher that sets ``WORLD_SIZE``,
``RANK`` and ``MASTER_ADDR``/``MASTER_PORT``) a command's first encoding pass is
split over the ranks: rank r encodes the r-th contiguous block of the rows
(``np.array_split`` order), so that concatenating the blocks in rank order gives
the rows in source order. Mergeable statistics (anything with a ``merge``
method) and posterior means are gathered to rank 0, which merges the statistics in
rank order and concatenates the means. Then every rank but 0 leaves (:class:`FollowerDone`),
and rank 0 carries on alone: it computes the metrics, prints and writes. Later
encoding passes of the same command (a sampler's fresh observations, one base
image) run on rank 0 only.

Before anything is exchanged the ranks exchange their status: when one failed
(bad rows in its block, out of memory), rank 0 reports that rank and its
reason in one line and every rank stops with exit status 2, before any output is
written. A rank that dies without a word (killed) closes its connections, so the
others' collectives fail at once; ``torchrun`` stops the rest within its monitor
interval (0.1 s).

A sweep over checkpoints (:mod:`latentkit.commands.sweep`) keeps every rank for every
checkpoint (:func:`sweep_passes`): each checkpoint's first encoding pass is split over the
ranks as above, rank 0 carries that checkpoint on alone, and the other ranks go straight to
the next checkpoint's pass (:class:`PassDone`), where they wait for rank 0; they leave after
the last one. Each checkpoint's numbers are those of one process.

Backends: gloo for CPU models, nccl for CUDA ones (each rank then uses
``cuda:LOCAL_RANK``). One process (no ``WORLD_SIZE``, or 1) never touches
``torch.distributed``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from latentkit.errors import LatentkitError

# How long a rank waits in a collective for the others (a rank's block must finish within it).
COLLECTIVE_TIMEOUT = timedelta(minutes=30)


class FollowerDone(Exception):
    """Raised on ranks other than 0 once their share is done; the CLI exits with ``exit_code``, silently."""

    def __init__(self, exit_code: int = 0) -> None:
        super().__init__(f"rank {rank()} done")
        self.exit_code = exit_code


class PassDone(Exception):
    """Raised on ranks other than 0 in a sweep once their share of a checkpoint's pass is done."""


@dataclass
class _State:
    solo: bool = False  # True on rank 0 once the followers have left (or, in a sweep, for the rest of a checkpoint)
    sweep: bool = False  # the ranks stay for the next checkpoint's pass instead of leaving


_state = _State()


def world_size() -> int:
    """Processes in the job (``WORLD_SIZE``), 1 without a launcher."""
    try:
        return max(1, int(os.environ.get("WORLD_SIZE", "1")))
    except ValueError:
        return 1


def rank() -> int:
    try:
        return int(os.environ.get("RANK", "0"))
    except ValueError:
        return 0


def is_main() -> bool:
    return rank() == 0


def sharding() -> bool:
    """True while an encoding pass is to be split over several ranks."""
    return world_size() > 1 and not _state.solo


def local_device(device: str) -> str:
    """``cuda`` means this rank's own GPU (``cuda:LOCAL_RANK``) under a launcher; anything else is unchanged."""
    if device == "cuda" and world_size() > 1 and "LOCAL_RANK" in os.environ:
        return f"cuda:{int(os.environ['LOCAL_RANK'])}"
    return device


def _group(device: str) -> Any:
    import torch
    import torch.distributed as dist

    if not dist.is_initialized():
        backend = "nccl" if str(device).startswith("cuda") else "gloo"
        if backend == "nccl":
            torch.cuda.set_device(torch.device(local_device(str(device))))
        dist.init_process_group(backend=backend, timeout=COLLECTIVE_TIMEOUT)
    return dist


def shard(n: int) -> Any:
    """Rows 0..n-1 of this rank's block (contiguous; blocks in rank order cover 0..n-1 once)."""
    import numpy as np

    return np.array_split(np.arange(n, dtype=np.int64), world_size())[rank()]


class sweep_passes:  # noqa: N801 - used as a context manager, like contextlib's
    """Keep every rank for the first encoding pass of each checkpoint of a sweep.

    Call :meth:`next_checkpoint` before each checkpoint; on ranks other than 0 a
    checkpoint's work ends with :class:`PassDone` (catch it and go on), and leaving the
    block ends the group and raises :class:`FollowerDone` there. One process: no effect.
    """

    def __enter__(self) -> sweep_passes:
        _state.sweep = world_size() > 1
        return self

    def next_checkpoint(self) -> None:
        if _state.sweep:
            _state.solo = False  # the next pass is split over the ranks again

    def __exit__(self, kind: Any, value: Any, traceback: Any) -> None:
        was_sweep, _state.sweep = _state.sweep, False
        if not was_sweep:
            return
        import torch.distributed as dist

        if dist.is_initialized():
            _leave(dist)
        _state.solo = True
        if kind is None and not is_main():
            raise FollowerDone()


def _collective(dist: Any, what: str, call: Any) -> Any:
    try:
        return call()
    except RuntimeError as exc:  # a peer died or hung: its connection closed or the timeout passed
        raise LatentkitError(
            f"rank {rank()} of {world_size()}: another rank stopped during the {what} "
            f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})",
            fix="see the launcher's report for the rank that failed (killed, out of memory?) and run again",
        ) from exc


def _leave(dist: Any) -> None:
    """End this rank's part in the group: no more collectives; rank 0 carries on alone.

    The group is destroyed here, not at interpreter exit, where gloo's threads
    would abort the process (SIGABRT) and make torchrun stop the others.
    """
    _state.solo = True
    dist.destroy_process_group()


def combine(local: Any, failure: BaseException | None, device: str) -> Any:
    """Combine this rank's result of a shared pass with the others'; followers then leave.

    ``local`` is a dataclass whose fields are gathered to rank 0: mergeable
    objects (anything with a ``merge`` method) are merged there in rank order,
    arrays concatenated in rank order, anything else kept as rank 0 has it; a
    rank without rows contributes None.
    ``failure`` is this rank's exception, if its block failed: the ranks first
    agree on their status, so one failure stops all.
    """
    import dataclasses

    import numpy as np

    dist = _group(device)
    size = world_size()
    status = None
    if failure is not None:
        if isinstance(failure, LatentkitError):
            status = (failure.message, failure.fix)
        else:
            status = (f"{type(failure).__name__}: {failure}".splitlines()[0], "run it in one process with --debug to see why")
    statuses: list[Any] = [None] * size
    _collective(dist, "status exchange", lambda: dist.all_gather_object(statuses, status))
    failed = [(r, s) for r, s in enumerate(statuses) if s is not None]
    if failed:
        _leave(dist)
        if not is_main():
            raise FollowerDone(exit_code=2)
        first_rank, (message, fix) = failed[0]
        raise LatentkitError(f"rank {first_rank} of {size}: {message}", fix=fix)

    fields = {}
    for item in dataclasses.fields(local):  # every rank gathers every field, so the collectives match
        value = getattr(local, item.name)
        parts: list[Any] | None = [None] * size if is_main() else None
        what = "gather of codes" if isinstance(value, np.ndarray) else "exchange of statistics"
        _collective(dist, what, lambda: dist.gather_object(value, parts, dst=0))
        if parts is None:
            continue
        present = [part for part in parts if part is not None]  # a rank with no rows has none
        if present and hasattr(present[0], "merge"):
            merged = present[0]
            for part in present[1:]:
                merged.merge(part)
            fields[item.name] = merged
        elif present and isinstance(present[0], np.ndarray):
            fields[item.name] = np.concatenate(present)
        else:
            fields[item.name] = value
    if _state.sweep:  # a sweep: rank 0 goes on alone with this checkpoint, the others to the next one
        _state.solo = True
        if not is_main():
            raise PassDone()
        return dataclasses.replace(local, **fields)
    _leave(dist)
    if not is_main():
        raise FollowerDone()
    return dataclasses.replace(local, **fields)
