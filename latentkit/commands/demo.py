"""``latentkit demo``: the main job on built-in data, end to end.

Trains a small VAE (β = 1) and a β-VAE (β = ``DEMO_BETA``) on scikit-learn's
8×8 digits, or reuses the ones a previous run made, then analyses both, so a
new user sees collapsed dimensions appear with β in under a minute. It ends
with one report per model (``report.html``: KL, active units, interpolations,
traversals and a projection, from one encoding pass).
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
    reports: list[Any] = field(default_factory=list)  # latentkit.commands.report.Report, one per model
    files: list[Path] = field(default_factory=list)

    @property
    def report_pages(self) -> list[Path]:
        return [report.files["html"] for report in self.reports]


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
    from latentkit.commands.kl_report import kl_report
    from latentkit.commands.report import report
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
        kl = kl_report(path, out=out_dir / name, seed=SEED, device=device, progress=progress)
        result.kl_reports.append(kl)
        result.files.extend(kl.files.values())
    for name, path in zip(("vae", "beta-vae"), result.checkpoints):
        # Everything on one page per model; PCA keeps the demo quick (`latentkit report` runs UMAP).
        log(f"writing the report for {name}")
        page = report(path, out=out_dir / name, seed=SEED, projection="pca", device=device)
        result.reports.append(page)
        result.files.extend(page.files.values())
    return result
