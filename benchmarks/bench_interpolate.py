"""Speed of ``latentkit interpolate``: 8 pairs × 10 steps × 2 modes on conv-vae (64×64 shapes).

Run on demand (not part of the tests):

    .venv/bin/python benchmarks/bench_interpolate.py

Prints the end-to-end command time (a new process, as a user runs it) and where
it goes: Python start-up and imports, the model (loading the checkpoint,
encoding the endpoints, decoding the 160 images), the numbers, drawing the
figure, and writing the arrays and JSON. The split is measured in a child
process that runs the real command function with its steps wrapped in timers;
each share is of that child's total wall time.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PY = sys.executable
LATENTKIT = str(Path(sys.executable).with_name("latentkit"))
SETTINGS = ["--pairs", "8", "--steps", "10", "--mode", "both"]


def worker(checkpoint: str, out: str, result: str) -> None:
    """Child process: the interpolate command with its stages timed."""
    wall_start = time.perf_counter()
    timings: dict[str, float] = {}

    def timed(name, function):
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                timings[name] = timings.get(name, 0.0) + time.perf_counter() - start

        return wrapper

    start = time.perf_counter()
    import latentkit.commands.interpolate as command
    import latentkit.decode as decode
    import latentkit.encode as encode
    import latentkit.figures.grid as grid
    import latentkit.outputs as outputs

    timings["import latentkit + numpy"] = time.perf_counter() - start
    start = time.perf_counter()
    import torch  # noqa: F401

    timings["import torch"] = time.perf_counter() - start
    start = time.perf_counter()
    from latentkit.figures.style import pyplot

    pyplot()
    timings["import matplotlib"] = time.perf_counter() - start

    command.open_checkpoint = timed("model: load checkpoint", command.open_checkpoint)
    encode.encode_rows = timed("model: encode endpoints", encode.encode_rows)
    decode.decode_codes = timed("model: decode paths", decode.decode_codes)
    command.path_metrics = timed("numbers (norms, smoothness)", command.path_metrics)
    grid.plot_interpolation_grid = timed("drawing the figure", grid.plot_interpolation_grid)
    outputs.atomic_write_npz = timed("writing npz", outputs.atomic_write_npz)
    outputs.atomic_write_json = timed("writing json", outputs.atomic_write_json)

    start = time.perf_counter()
    command.interpolate(checkpoint, out=out, pairs=8, steps=10, mode="both", seed=0)
    timings["command function (total)"] = time.perf_counter() - start
    timings["worker wall"] = time.perf_counter() - wall_start
    Path(result).write_text(json.dumps(timings))


def make_checkpoint(folder: Path) -> Path:
    import torch

    from latentkit.models.builtin import CONV_VAE
    from latentkit.models.checkpoint import save

    torch.manual_seed(0)
    config = {"image_shape": [1, 64, 64], "latent_dim": 10}
    return save(CONV_VAE.build(config), folder / "conv.safetensors", plugin="conv-vae", config=config, dataset="shapes")


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--worker":
        worker(*sys.argv[2:])
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        checkpoint = make_checkpoint(folder)
        ends = []
        for run in range(3):
            start = time.perf_counter()
            subprocess.run(
                [LATENTKIT, "-q", "interpolate", str(checkpoint), *SETTINGS, "--out", str(folder / f"e{run}")],
                check=True,
                capture_output=True,
            )
            ends.append(time.perf_counter() - start)
        bare = []
        for _ in range(3):
            start = time.perf_counter()
            subprocess.run([PY, "-c", "pass"], check=True)
            bare.append(time.perf_counter() - start)
        start = time.perf_counter()
        result = folder / "timings.json"
        subprocess.run([PY, __file__, "--worker", str(checkpoint), str(folder / "w"), str(result)], check=True)
        child_wall = time.perf_counter() - start
        timings = json.loads(result.read_text())

    end_to_end = statistics.median(ends)
    startup = child_wall - timings["worker wall"]
    print("`latentkit interpolate` conv-vae, 8 pairs × 10 steps × 2 modes (160 images of 64×64)")
    print(
        f"end to end (median of 3 new processes): {end_to_end:.2f} s   "
        f"(bare python start-up: {statistics.median(bare):.2f} s)"
    )
    print(f"split, measured in one timed child process of {child_wall:.2f} s:")
    rows = {"python start-up and exit": startup}
    rows.update({k: v for k, v in timings.items() if k not in ("command function (total)", "worker wall")})
    accounted = sum(rows.values())
    rows["rest of the command (data source, json document, provenance)"] = child_wall - accounted
    groups = {"imports": 0.0, "model": 0.0, "drawing": 0.0, "other": 0.0}
    for name, seconds in rows.items():
        print(f"  {name:62s} {seconds:6.2f} s  {seconds / child_wall:6.1%}")
        key = (
            "imports" if name.startswith(("import", "python")) else
            "model" if name.startswith("model") else
            "drawing" if name.startswith("drawing") else "other"
        )  # fmt: skip
        groups[key] += seconds
    print("shares: " + ", ".join(f"{k} {v / child_wall:.0%}" for k, v in groups.items()))


if __name__ == "__main__":
    main()
