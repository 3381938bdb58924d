"""torch thread count for latentkit's small models: training and encoding, 1 thread against more.

Run on demand (not part of the tests):

    .venv/bin/python benchmarks/bench_threads.py

For each thread count (1, 2, and every core), in interleaved rounds (best of
three, so a busy neighbour hurts every setting alike): one training epoch of
the demo's mlp-vae on digits, one of conv-vae on 2,048 shapes images, and an
encoding pass of conv-vae over 4,096 shapes images. Printed as seconds and as a
ratio against one thread measured in the same run. Also reports CPU time, the
cost other processes on a shared machine pay.
"""

from __future__ import annotations

import os
import resource
import time

import numpy as np


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    import torch

    from latentkit.data import open_data
    from latentkit.encode import encode_posterior
    from latentkit.models.builtin import CONV_VAE
    from latentkit.training import train_vae

    digits = open_data("digits")
    shapes = open_data("shapes", limit=4096, seed=0)
    shapes_small = open_data("shapes", limit=2048, seed=0)
    torch.manual_seed(0)
    conv = CONV_VAE.build({"image_shape": [1, 64, 64], "latent_dim": 10}).eval()

    tasks = {
        "train mlp-vae, 1 epoch digits": lambda: train_vae(digits, latent_dim=10, epochs=1),
        "train conv-vae, 1 epoch 2k shapes": lambda: train_vae(shapes_small, latent_dim=10, epochs=1),
        "encode conv-vae, 4k shapes": lambda: encode_posterior(conv, shapes, batch_size=64),
    }
    counts = sorted({1, 2, os.cpu_count() or 1})
    best = {(t, c): (np.inf, np.inf) for t in tasks for c in counts}
    for _ in range(3):
        for name, task in tasks.items():
            for count in counts:
                torch.set_num_threads(count)
                wall, cpu = time.perf_counter(), _cpu()
                task()
                wall, cpu = time.perf_counter() - wall, _cpu() - cpu
                if wall < best[name, count][0]:
                    best[name, count] = (wall, cpu)
    print(f"{'task':36s} {'threads':>7s} {'wall s':>8s} {'cpu s':>8s} {'vs 1 thread':>12s}")
    for name in tasks:
        base = best[name, 1][0]
        for count in counts:
            wall, cpu = best[name, count]
            print(f"{name:36s} {count:7d} {wall:8.2f} {cpu:8.2f} {wall / base:11.2f}x")


if __name__ == "__main__":
    main()
