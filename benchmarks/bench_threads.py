"""torch's thread count for latentkit's small models: `train` on digits with 1 thread against more.

Run on demand (not part of the tests):

    .venv/bin/python benchmarks/bench_threads.py [--epochs 10] [--rounds 2]

Runs ``latentkit --threads T train vae --data digits`` in fresh processes for
T = 1, 2 and every core, interleaved over rounds (a busy neighbour hurts every
setting alike), and prints each run's wall time and CPU time (user + system,
what other work on a shared machine pays), with the ratio to one thread from
the same round.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time


def _run(threads: int, epochs: int, out: str) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "latentkit", "-q", "--threads", str(threads), "train", "vae", "--data", "digits",
         "--epochs", str(epochs), "--out", out],
        check=True, capture_output=True,
    )  # fmt: skip
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    counts = sorted({1, 2, os.cpu_count() or 1})
    print(f"{'round':>5s} {'threads':>7s} {'wall s':>8s} {'cpu s':>8s} {'wall/1':>7s} {'cpu/1':>7s}")
    with tempfile.TemporaryDirectory() as tmp:
        for round_index in range(1, args.rounds + 1):
            base = None
            for count in counts:
                wall, cpu = _run(count, args.epochs, os.path.join(tmp, f"t{count}.safetensors"))
                base = base or (wall, cpu)
                print(f"{round_index:5d} {count:7d} {wall:8.2f} {cpu:8.2f} {wall / base[0]:7.2f} {cpu / base[1]:7.2f}")


if __name__ == "__main__":
    main()
