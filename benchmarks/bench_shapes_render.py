"""How fast the shapes source renders batches, on one core, against the floor of a plain copy.

The floor is what any float32 batch costs at least: converting an equally
sized, preallocated uint8 array to float32. ``render`` takes factors,
``get`` takes indices (mixed-radix decode, then render), as the encoder does.

    python benchmarks/bench_shapes_render.py [--seconds 0.5]
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = "1"  # before numpy loads: one core

import argparse  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

import numpy as np  # noqa: E402

from latentkit.data import ShapesSource  # noqa: E402
from latentkit.data import shapes as shapes_module  # noqa: E402

BATCH_SIZES = (64, 128, 256)
DISTINCT_BATCHES = 64  # random batches cycled through, so no two consecutive calls repeat


def images_per_second(run: Callable[[int], object], batch_size: int, seconds: float) -> float:
    """Best of 5 timed rounds of ``run(round_call)`` (each ~seconds/5), as images per second."""
    run(0)  # warm up
    calls = 1
    while True:  # calls per round so that a round takes about seconds / 5
        started = time.perf_counter()
        for call in range(calls):
            run(call)
        elapsed = time.perf_counter() - started
        if elapsed >= seconds / 5:
            break
        calls *= 2
    best = elapsed
    for _ in range(4):
        started = time.perf_counter()
        for call in range(calls):
            run(call)
        best = min(best, time.perf_counter() - started)
    return calls * batch_size / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=0.5, help="time per measurement")
    seconds = parser.parse_args().seconds
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

    shapes_module._sprite_table.cache_clear()
    started = time.perf_counter()
    table = shapes_module._sprite_table()
    print(
        f"sprite table: {(time.perf_counter() - started) * 1e3:.0f} ms to draw, "
        f"{table.rows.nbytes / 2**20:.1f} MiB (numpy {np.__version__}, one core)\n"
    )

    source = ShapesSource()
    rng = np.random.default_rng(0)
    print(f"{'batch':>5}  {'render img/s':>12}  {'get img/s':>10}  {'floor img/s':>11}  {'render/floor':>12}")
    for batch_size in BATCH_SIZES:
        index = rng.integers(0, len(source), size=(DISTINCT_BATCHES, batch_size))
        factors = [source.factors_of(batch) for batch in index]
        floor_input = rng.integers(0, 2, size=(batch_size, *source.image_shape), dtype=np.uint8)

        render = images_per_second(lambda call: source.render(factors[call % DISTINCT_BATCHES]), batch_size, seconds)
        get = images_per_second(lambda call: source.get(index[call % DISTINCT_BATCHES]), batch_size, seconds)
        floor = images_per_second(lambda call: floor_input.astype(np.float32), batch_size, seconds)
        print(f"{batch_size:>5}  {render:>12,.0f}  {get:>10,.0f}  {floor:>11,.0f}  {render / floor:>12.2f}")


if __name__ == "__main__":
    main()
