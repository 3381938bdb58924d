"""Time of ``latentkit check`` with one KL rule against ``latentkit kl-report`` alone.

Run on demand (not part of the tests):

    .venv/bin/python benchmarks/bench_check.py [--rounds 5] [--n 10000]

Both run as fresh processes (imports included) on the same conv-vae checkpoint
and the same ``--n`` shapes images, interleaved, best of ``--rounds``. The
target is a ratio of at most 1.1: a gate on one KL figure costs one kl-report
pass and nothing else (no figure is drawn and no file written by ``check``,
which kl-report does, so the ratio can fall below 1).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PY = sys.executable


def make_checkpoint(folder: Path) -> Path:
    import torch

    from latentkit.models.builtin import CONV_VAE
    from latentkit.models.checkpoint import save

    torch.manual_seed(0)
    config = {"image_shape": [1, 64, 64], "latent_dim": 10}
    return save(CONV_VAE.build(config), folder / "conv.safetensors", plugin="conv-vae", config=config, dataset="shapes")


def wall(cmd: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--n", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        ckpt = make_checkpoint(folder)
        common = [str(ckpt), "--n", str(args.n)]
        kl = [PY, "-m", "latentkit", "-q", "kl-report", *common, "--out", str(folder / "out")]
        gate = [PY, "-m", "latentkit", "-q", "check", *common, "--require", "kl.total <= 1000"]
        times: dict[str, list[float]] = {"kl-report": [], "check": []}
        for _ in range(args.rounds):
            times["kl-report"].append(wall(kl))
            times["check"].append(wall(gate))
        best = {name: min(values) for name, values in times.items()}
        ratio = best["check"] / best["kl-report"]
        print(f"kl-report alone: {best['kl-report']:.2f} s   check (one KL rule): {best['check']:.2f} s")
        print(f"ratio check / kl-report: {ratio:.2f}x (target <= 1.1x; best of {args.rounds}, n = {args.n})")


if __name__ == "__main__":
    main()
