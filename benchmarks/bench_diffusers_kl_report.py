"""kl-report on a tiny diffusers AutoencoderKL against a plain loop calling diffusers directly.

Run on demand (not part of the tests), with latentkit-diffusers installed:

    .venv/bin/python benchmarks/bench_diffusers_kl_report.py [--n 2048] [--batch-size 64]

Both sides start from the saved folder and the same .npz of images in [0, 1] and do the whole
job: open the model, encode every image, and sum the KL. The baseline is what a user would write
by hand: ``AutoencoderKL.from_pretrained(folder)``, then per batch
``vae.encode(2x - 1).latent_dist.kl()`` under ``torch.inference_mode``. latentkit's side is
``latentkit.kl_report(folder, data=..., write=False)``, which also keeps per-channel statistics.
A third side runs the plain loop after latentkit's allocator setting (``retain_freed_memory``),
which latentkit applies in every encoding pass: it separates that setting's effect (glibc stops
returning freed activation buffers, so batches stop faulting in fresh pages) from latentkit's
own overhead. A fourth adds latentkit's thread choice (latentkit.threads: one thread for small
images), so the remaining difference is latentkit's own work.
Each measurement runs in a fresh process (so neither side inherits the other's allocator or
thread state) and times the job inside it, after the imports; rounds are
interleaved, best of three. The printed figure is images/s and latentkit's ratio to the
baseline (>= 1 means latentkit is as fast). The mean KL per image is printed to show both sides
computed the same number.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def make_model(folder: Path) -> None:
    import torch
    from diffusers import AutoencoderKL

    from latentkit_diffusers import EXAMPLE_CONFIG

    torch.manual_seed(0)
    AutoencoderKL.from_config(EXAMPLE_CONFIG).save_pretrained(folder)


def plain_loop(folder: Path, data: Path, batch_size: int) -> float:
    import torch
    from diffusers import AutoencoderKL

    vae = AutoencoderKL.from_pretrained(folder).eval()
    images = np.load(data)["x"]
    total = 0.0
    with torch.inference_mode():
        for start in range(0, len(images), batch_size):
            x = torch.from_numpy(images[start : start + batch_size])
            total += float(vae.encode(x * 2 - 1).latent_dist.kl().double().sum())
    return total / len(images)


def latentkit_kl(folder: Path, data: Path, batch_size: int) -> float:
    from latentkit.commands.kl_report import kl_report

    return kl_report(folder, data=str(data), batch_size=batch_size, write=False).total


def plain_loop_retained(folder: Path, data: Path, batch_size: int) -> float:
    """The plain loop with latentkit's allocator setting (glibc keeps freed memory), to separate
    that setting's effect from latentkit's own work."""
    from latentkit.allocator import retain_freed_memory

    retain_freed_memory()
    return plain_loop(folder, data, batch_size)


def plain_loop_tuned(folder: Path, data: Path, batch_size: int) -> float:
    """The plain loop with both of latentkit's process settings: the allocator and its thread
    choice for these images (latentkit.threads): what is left is latentkit's own overhead."""
    from latentkit.threads import use_threads_for

    use_threads_for((3, 16, 16))
    return plain_loop_retained(folder, data, batch_size)


WORKERS = {
    "plain loop": plain_loop,
    "plain loop, allocator": plain_loop_retained,
    "plain loop, tuned": plain_loop_tuned,
    "latentkit kl-report": latentkit_kl,
}


def _measure(name: str, folder: Path, data: Path, batch_size: int) -> tuple[float, float]:
    """(seconds, mean KL) of one side, run in a fresh process."""
    out = subprocess.run(
        [sys.executable, __file__, "--worker", name, str(folder), str(data), str(batch_size)],
        capture_output=True, text=True, check=True,
    ).stdout.split()
    return float(out[-2]), float(out[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2048)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        name, folder, data, batch_size = args.worker
        import diffusers  # noqa: F401  imports are not part of the job being timed
        import latentkit.commands.kl_report  # noqa: F401
        import latentkit_diffusers._model  # noqa: F401

        start = time.perf_counter()
        kl = WORKERS[name](Path(folder), Path(data), int(batch_size))
        print(time.perf_counter() - start, kl)
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder, data = Path(tmp) / "vae", Path(tmp) / "images.npz"
        make_model(folder)
        rng = np.random.default_rng(0)
        np.savez(data, x=rng.random((args.n, 3, 16, 16)).astype(np.float32))
        best = dict.fromkeys(WORKERS, float("inf"))
        totals = {}
        for _ in range(args.rounds):
            for name in WORKERS:
                seconds, totals[name] = _measure(name, folder, data, args.batch_size)
                best[name] = min(best[name], seconds)
        base = best["plain loop"]
        for name, seconds in best.items():
            print(f"{name:22s} {args.n / seconds:8.0f} images/s  ({seconds:.2f} s, ratio to plain loop "
                  f"{base / seconds:.2f}; mean KL per image {totals[name]:.6f} nats)")


if __name__ == "__main__":
    main()
