"""Time of ``latentkit report`` against the separate commands it replaces (target: at most 0.6x).

Run on demand (not part of the tests):

    .venv/bin/python benchmarks/bench_report.py [--quick] [--rounds 2]

Each case runs, as separate processes from the command line (imports included,
as a user pays them):

* the separate commands with the report's settings (same rows, seed, projection,
  bootstrap and DCI model): ``kl-report``, ``disentangle`` (when the data has
  factors), ``interpolate``, ``traverse`` and ``umap``;
* ``report --no-cache`` (one encoding pass, one process);
* ``report`` a second time with the codes cache warm.

Rounds are interleaved and the best of each is kept, so the machine's noise
hits both sides alike. Ratios are report time / sum of the separate commands.

Cases: an mlp-vae on ``digits`` (every row, UMAP; digits has no factors), and an
untrained conv-vae on 5,000 ``shapes`` images (UMAP, disentanglement with 20
bootstrap resamples of the fast DCI). ``--quick`` runs PCA projections instead
of UMAP and drops the bootstrap.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PY = sys.executable
ARRAY_METRICS = "mig,dci,sap,modularity,irs,unsupervised"


def _run(args: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run([PY, "-m", "latentkit", "-q", *args], capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"latentkit {' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    return elapsed


def make_checkpoints(folder: Path) -> dict[str, Path]:
    import torch

    from latentkit.models.builtin import CONV_VAE, MLP_VAE
    from latentkit.models.checkpoint import save

    torch.manual_seed(0)
    mlp = {"latent_dim": 10, "hidden": [256, 128]}
    conv = {"image_shape": [1, 64, 64], "latent_dim": 10}
    return {
        "digits": save(MLP_VAE.build(mlp), folder / "mlp.safetensors", plugin="mlp-vae", config=mlp, dataset="digits"),
        "shapes": save(CONV_VAE.build(conv), folder / "conv.safetensors", plugin="conv-vae", config=conv, dataset="shapes"),
    }


def case(name: str, checkpoint: Path, *, n: int | None, factors: bool, projection: str, bootstrap: int, out: Path,
         env: dict[str, str], rounds: int) -> None:  # fmt: skip
    ckpt = str(checkpoint)
    rows = ["--n", str(n)] if n is not None else []
    separate = {
        "kl-report": ["kl-report", ckpt, "--out", str(out / "kl"), *rows],
        "interpolate": ["interpolate", ckpt, "--out", str(out / "interpolate")],
        "traverse": ["traverse", ckpt, "--out", str(out / "traverse"), *rows],
        "umap": ["umap", ckpt, "--out", str(out / "umap"), "--method", projection, *rows],
    }
    if factors:
        separate["disentangle"] = [
            "disentangle", ckpt, "--out", str(out / "disentangle"), "--metrics", ARRAY_METRICS,
            "--dci-model", "fast", "--bootstrap", str(bootstrap), "--n", str(n),
        ]  # fmt: skip
    report = ["report", ckpt, "--out", str(out / "report"), "--projection", projection, "--bootstrap", str(bootstrap), *rows]
    best_parts: dict[str, float] = {}
    best_cold = best_warm = float("inf")
    for _ in range(rounds):
        for command, args in separate.items():
            best_parts[command] = min(best_parts.get(command, float("inf")), _run(args, env))
        best_cold = min(best_cold, _run([*report, "--no-cache"], env))
        _run(report, env)  # fills the cache
        best_warm = min(best_warm, _run(report, env))
    total = sum(best_parts.values())
    print(f"{name}:")
    for command, seconds in best_parts.items():
        print(f"  {command:12s} {seconds:7.2f} s")
    print(f"  {'sum':12s} {total:7.2f} s")
    print(f"  report, cold cache  {best_cold:7.2f} s  ratio {best_cold / total:.2f}x  (target ≤ 0.6x)")
    print(f"  report, warm cache  {best_warm:7.2f} s  ratio {best_warm / total:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="PCA projections, no bootstrap")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    projection = "pca" if args.quick else "umap"
    bootstrap = 0 if args.quick else 20
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        env = {**os.environ, "LATENTKIT_CACHE_DIR": str(folder / "cache")}
        checkpoints = make_checkpoints(folder)
        case("digits, mlp-vae, every row (1,797)", checkpoints["digits"], n=None, factors=False,
             projection=projection, bootstrap=bootstrap, out=folder / "digits", env=env, rounds=args.rounds)  # fmt: skip
        case("shapes, conv-vae, 5,000 rows", checkpoints["shapes"], n=5000, factors=True,
             projection=projection, bootstrap=bootstrap, out=folder / "shapes", env=env, rounds=args.rounds)  # fmt: skip


if __name__ == "__main__":
    main()
