"""``latentkit train``: train a built-in VAE, β-VAE or GAN and write a checkpoint.

It exists so the demo, the examples and the tests have real trained models;
the checkpoint carries full metadata, so every other command works on it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from latentkit.defaults import (
    BETA,
    BETA_VAE_BETA,
    GAN_LATENT_DIM,
    SEED,
    TRAIN_BATCH_SIZE,
    TRAIN_EPOCHS,
    TRAIN_LATENT_DIM,
)
from latentkit.errors import LatentkitError

MODEL_TYPES = ("vae", "beta-vae", "gan")


@dataclass(frozen=True)
class TrainedCheckpoint:
    path: Path
    plugin: str
    kind: str
    config: dict[str, Any]
    history: list[dict[str, float]]

    @property
    def final_loss(self) -> float:
        return float(self.history[-1]["loss"]) if self.history else float("nan")


def train(
    model_type: str,
    *,
    data: str,
    out: str | Path,
    beta: float | None = None,
    epochs: int = TRAIN_EPOCHS,
    latent_dim: int | None = None,
    batch_size: int = TRAIN_BATCH_SIZE,
    learning_rate: float | None = None,
    limit: int | None = None,
    seed: int = SEED,
    progress: Callable[[int], Callable[[int], None]] | None = None,
) -> TrainedCheckpoint:
    """Train ``model_type`` (vae, beta-vae or gan) on ``data`` and save it to ``out``.

    β defaults to 1 for ``vae`` and to ``BETA_VAE_BETA`` for ``beta-vae``; the
    architecture follows the data (64×64 images: conv-vae / dcgan, else MLPs).
    ``learning_rate`` defaults to the training module's per-kind default.
    """
    if model_type not in MODEL_TYPES:
        raise LatentkitError(f"unknown model type {model_type!r}", fix=f"use one of {', '.join(MODEL_TYPES)}")
    if epochs < 1:
        raise LatentkitError(f"--epochs {epochs} is not positive", fix="pass --epochs 1 or more")
    if model_type == "gan" and beta is not None:
        raise LatentkitError("--beta applies to VAEs only", fix="drop --beta, or train vae/beta-vae")
    out = Path(out)
    if out.suffix != ".safetensors":
        raise LatentkitError(f"--out {out} does not end in .safetensors", fix="name the checkpoint *.safetensors")
    from latentkit.outputs import prepare_out_dir

    prepare_out_dir(out.parent if str(out.parent) else ".")

    from latentkit.data import open_data
    from latentkit.models.checkpoint import save
    from latentkit.training import train_gan, train_vae

    source = open_data(data, limit=limit, seed=seed)
    advance = progress(epochs) if progress else None
    report = (lambda epoch, total, loss: advance(1)) if advance else None
    common: dict[str, Any] = {"epochs": epochs, "batch_size": batch_size, "seed": seed, "progress": report}
    if learning_rate is not None:
        common["learning_rate"] = learning_rate
    if model_type == "gan":
        result = train_gan(source, latent_dim=latent_dim or GAN_LATENT_DIM, **common)
        training = {"epochs": epochs, "seed": seed}
    else:
        beta = beta if beta is not None else (BETA if model_type == "vae" else BETA_VAE_BETA)
        if beta < 0:
            raise LatentkitError(f"--beta {beta} is negative", fix="pass a β ≥ 0")
        result = train_vae(source, latent_dim=latent_dim or TRAIN_LATENT_DIM, beta=beta, **common)
        training = {"beta": beta, "epochs": epochs, "seed": seed}
    save(result.model, out, plugin=result.plugin, config=result.config, dataset=data, training=training)
    return TrainedCheckpoint(out, result.plugin, result.kind, result.config, result.history)
