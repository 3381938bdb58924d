"""UMAP speed: import, compile and fit, first process against second process, 10,000 and 50,000 points.

Run on demand (not part of the tests):

    .venv/bin/python benchmarks/bench_umap.py [--quick]   # --quick: 10,000 points only

Every number is measured in this run and compared with the baseline the issue
names, measured here too: a *refit in the same process* with umap-learn
(defaults, ``random_state`` set as latentkit sets it, on the same points).

For each size N it measures, each in fresh Python processes:

1. umap-learn as is: ``import umap``, the first fit, a refit in the same
   process, and the first fit of a second process (numba's defaults: umap-learn
   caches 1 of the functions it compiles, pynndescent's search cannot be cached);
2. latentkit's UMAP (``latentkit.analysis.projection.umap_embedding``: exact
   k-NN handed over as ``precomputed_knn``, umap-learn's functions cached under
   a fresh cache folder): import, first fit (compile = first fit − refit),
   refit, and the first fit of a second process with the cache warm; the two
   processes' embeddings must be identical;
3. the whole ``latentkit umap CKPT --n N`` command in a new process, cold
   cache then warm cache, as a ratio to the baseline refit (goal ≤ 2x for N = 10,000).

The points are posterior means (latent_dim 10) of an mlp-vae trained briefly on
digits, over an .npz of N noisy copies of the digits.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PY = sys.executable
LATENTKIT = str(Path(sys.executable).with_name("latentkit"))
SEED = 0


def worker(kind: str, points: str, result: str, refit: bool) -> None:
    """Runs in a child process: time import, first fit, (refit); save the embedding."""
    start = time.perf_counter()
    import numpy as np

    x = np.load(points)
    if kind == "latentkit":
        from latentkit.analysis.projection import enable_umap_cache, umap_embedding

        enable_umap_cache()
        import umap  # noqa: F401  (counted as import, as the command does)

        def fit() -> np.ndarray:
            return umap_embedding(x, seed=SEED)[0]
    else:
        import warnings

        import umap

        def fit() -> np.ndarray:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return umap.UMAP(random_state=SEED).fit_transform(x)

    imported = time.perf_counter()
    embedding = fit()
    first = time.perf_counter()
    times = {"import": imported - start, "first_fit": first - imported}
    if refit:
        again = fit()
        times["refit"] = time.perf_counter() - first
        times["refit_identical"] = bool(np.array_equal(embedding, again))
    np.save(result + ".npy", embedding)
    Path(result).write_text(json.dumps(times))


def child(kind: str, points: Path, folder: Path, name: str, refit: bool, env: dict[str, str]) -> dict:
    result = folder / name
    start = time.perf_counter()
    subprocess.run(
        [PY, __file__, "--worker", kind, str(points), str(result), "1" if refit else "0"], check=True, env=env
    )
    times = json.loads(result.read_text())
    times["process"] = time.perf_counter() - start
    return times


def prepare(folder: Path, sizes: list[int]) -> tuple[Path, Path, dict[int, Path]]:
    """A briefly trained mlp-vae, an .npz of max(sizes) noisy digits, and the posterior means per size."""
    import numpy as np
    from sklearn.datasets import load_digits

    from latentkit.commands.embed import embed
    from latentkit.data import open_data
    from latentkit.models.checkpoint import save
    from latentkit.training import train_vae

    trained = train_vae(open_data("digits"), latent_dim=10, epochs=5, seed=SEED)
    checkpoint = save(trained.model, folder / "vae.safetensors", plugin=trained.plugin, config=trained.config)
    rng = np.random.default_rng(SEED)
    digits = load_digits().images
    n = max(sizes)
    noisy = digits[rng.integers(0, len(digits), n)] + rng.normal(0, 1.0, (n, 8, 8))
    data = folder / "digits-noisy.npz"
    np.savez(data, x=(np.clip(noisy, 0, 16) * (255 / 16)).astype(np.uint8)[:, None])
    points = {}
    for size in sizes:
        features = embed(checkpoint, data=str(data), method="pca", n=size, seed=SEED, write=False).features
        points[size] = folder / f"means-{size}.npy"
        np.save(points[size], features)
    return checkpoint, data, points


def command(checkpoint: Path, data: Path, n: int, out: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(
        [LATENTKIT, "-q", "umap", str(checkpoint), "--data", str(data), "--n", str(n), "--out", str(out), "--json"],
        check=True,
        env=env,
        capture_output=True,
    )
    return time.perf_counter() - start


def bench(size: int, checkpoint: Path, data: Path, points: Path, folder: Path) -> None:
    import numpy as np

    print(f"\n=== {size:,} points of dimension 10 ===", flush=True)
    plain_env = dict(os.environ)
    base1 = child("umap-learn", points, folder, f"base1-{size}", True, plain_env)
    base2 = child("umap-learn", points, folder, f"base2-{size}", False, plain_env)
    baseline = base1["refit"]
    print(
        f"umap-learn : import {base1['import']:.1f} s | first fit {base1['first_fit']:.1f} s | "
        f"refit (baseline) {baseline:.1f} s | second process: import {base2['import']:.1f} s, "
        f"first fit {base2['first_fit']:.1f} s ({base2['first_fit'] / baseline:.1f}x the refit)",
        flush=True,
    )

    cache_home = folder / f"cache-{size}"  # a cold latentkit numba cache
    env = {**os.environ, "XDG_CACHE_HOME": str(cache_home)}
    env.pop("NUMBA_CACHE_DIR", None)
    ours1 = child("latentkit", points, folder, f"ours1-{size}", True, env)
    ours2 = child("latentkit", points, folder, f"ours2-{size}", False, env)
    compile_s = ours1["first_fit"] - ours1["refit"]
    same = np.array_equal(np.load(folder / f"ours1-{size}.npy"), np.load(folder / f"ours2-{size}.npy"))
    print(
        f"latentkit  : import {ours1['import']:.1f} s | first fit {ours1['first_fit']:.1f} s "
        f"(compile ≈ {compile_s:.1f} s) | refit {ours1['refit']:.1f} s ({ours1['refit'] / baseline:.2f}x baseline) | "
        f"second process: import {ours2['import']:.1f} s, first fit {ours2['first_fit']:.1f} s "
        f"({ours2['first_fit'] / baseline:.2f}x baseline) | same embedding across processes: {same}",
        flush=True,
    )
    print(
        f"             whole second process (python + imports + fit): {ours2['process']:.1f} s = "
        f"{ours2['process'] / baseline:.2f}x baseline; umap-learn's: {base2['process']:.1f} s = "
        f"{base2['process'] / baseline:.2f}x",
        flush=True,
    )

    shutil.rmtree(cache_home, ignore_errors=True)
    cold = command(checkpoint, data, size, folder / f"cmd-{size}-a", env)
    warm = command(checkpoint, data, size, folder / f"cmd-{size}-b", env)
    identical = (folder / f"cmd-{size}-a" / "embedding.json").read_bytes() == (
        folder / f"cmd-{size}-b" / "embedding.json"
    ).read_bytes()
    print(
        f"`latentkit umap --n {size}` end to end: first process (cold cache) {cold:.1f} s = {cold / baseline:.2f}x | "
        f"second process {warm:.1f} s = {warm / baseline:.2f}x the baseline refit | identical JSON: {identical}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 points only")
    parser.add_argument("--worker", nargs=4, metavar=("KIND", "POINTS", "RESULT", "REFIT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        kind, points, result, refit = args.worker
        worker(kind, points, result, refit == "1")
        return
    sizes = [10_000] if args.quick else [10_000, 50_000]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        checkpoint, data, points = prepare(folder, sizes)
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; times are wall seconds")
        for size in sizes:
            bench(size, checkpoint, data, points[size], folder)


if __name__ == "__main__":
    main()
