"""``latentkit demo``: the main job on built-in data, end to end.

Trains a small VAE (β = 1) and a β-VAE (β = ``DEMO_BETA``) on scikit-learn's
8×8 digits, or reuses the ones a previous run made, then analyses both, so a
new user sees collapsed dimensions appear with β in under a minute.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from latentkit.defaults import DEMO_BETA, DEMO_DIR, DEMO_EPOCHS, DEMO_LATENT_DIM, DEVICE, SEED

DEMO_DATA = "digits"


@dataclass
class DemoResult:
    out_dir: Path
    checkpoints: list[Path]
    kl_reports: list[Any] = field(default_factory=list)
    interpolations: list[Any] = field(default_factory=list)
    traversals: list[Any] = field(default_factory=list)
    embeddings: list[Any] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)


def _reusable(path: Path, beta: float) -> bool:
    """A checkpoint from an earlier demo run with the same settings."""
    from latentkit.errors import LatentkitError
    from latentkit.models.checkpoint import read_header

    if not path.is_file():
        return False
    try:
        meta = read_header(path).latentkit_metadata
        training = json.loads(meta.get("training", "{}"))
    except (LatentkitError, json.JSONDecodeError):
        return False
    wanted = {"beta": beta, "epochs": DEMO_EPOCHS, "seed": SEED}
    config = json.loads(meta.get("config", "{}"))
    return training == wanted and config.get("latent_dim") == DEMO_LATENT_DIM and meta.get("dataset") == DEMO_DATA


def demo(
    *,
    out: str | Path = DEMO_DIR,
    retrain: bool = False,
    device: str = DEVICE,
    progress: Callable[[int], Callable[[int], None]] | None = None,
    log: Callable[[str], None] = lambda message: None,
) -> DemoResult:
    """Train (or reuse) the two demo models in ``out`` and run the analyses on both, on ``device``."""
    from latentkit.commands.embed import embed
    from latentkit.commands.interpolate import interpolate
    from latentkit.commands.kl_report import kl_report
    from latentkit.commands.traverse import traverse
    from latentkit.commands.train import train
    from latentkit.outputs import prepare_out_dir

    out_dir = prepare_out_dir(out)
    result = DemoResult(out_dir=out_dir, checkpoints=[])
    for name, model_type, beta in (("vae", "vae", 1.0), ("beta-vae", "beta-vae", DEMO_BETA)):
        path = out_dir / f"{name}.safetensors"
        if retrain or not _reusable(path, beta):
            log(f"training {name} (β={beta:g}) on {DEMO_DATA} for {DEMO_EPOCHS} epochs")
            train(
                model_type,
                data=DEMO_DATA,
                out=path,
                beta=beta,
                epochs=DEMO_EPOCHS,
                latent_dim=DEMO_LATENT_DIM,
                seed=SEED,
                device=device,
                progress=progress,
            )
        else:
            log(f"reusing {path}")
        result.checkpoints.append(path)
        report = kl_report(path, out=out_dir / name, seed=SEED, device=device, progress=progress)
        result.kl_reports.append(report)
        result.files.extend(report.files.values())
        # The figures of the latent space; PCA keeps the demo quick (`latentkit umap` runs UMAP).
        interpolation = interpolate(path, out=out_dir / name, seed=SEED, device=device, progress=progress)
        traversal = traverse(path, out=out_dir / name, seed=SEED, gif=True, device=device, progress=progress)
        embedding = embed(path, out=out_dir / name, method="pca", seed=SEED, device=device, progress=progress)
        result.interpolations.append(interpolation)
        result.traversals.append(traversal)
        result.embeddings.append(embedding)
        for figure in (interpolation, traversal, embedding):
            result.files.extend(figure.files.values())
    return result
