"""``latentkit train``: train a built-in VAE, β-VAE or GAN and write a checkpoint.

It exists so the demo, the examples and the tests have real trained models;
the checkpoint carries full metadata, so every other command works on it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from latentkit.defaults import (
    BETA,
    BETA_VAE_BETA,
    DEVICE,
    GAN_LATENT_DIM,
    SEED,
    TRAIN_BATCH_SIZE,
    TRAIN_EPOCHS,
    TRAIN_KL_WARMUP,
    TRAIN_LATENT_DIM,
)
from latentkit.errors import LatentkitError

MODEL_TYPES = ("vae", "beta-vae", "gan")
NAMED_SOURCES = ("digits", "shapes")


@dataclass(frozen=True)
class TrainedCheckpoint:
    path: Path
    plugin: str
    kind: str
    config: dict[str, Any]
    history: list[dict[str, float]]

    @property
    def final_loss(self) -> float:
        """The last epoch's loss: the negative ELBO per image (VAE), the generator's loss (GAN)."""
        return float(self.history[-1]["loss"]) if self.history else float("nan")

    @property
    def final_loss_text(self) -> str:
        """The last epoch's loss, saying which loss it is."""
        if not self.history:
            return "no epoch ran"
        last = self.history[-1]
        if self.kind == "gan":
            return f"final generator loss {last['loss']:.3f}, discriminator loss {last['discriminator_loss']:.3f}"
        return f"final negative ELBO {last['loss']:.3f} per image (KL {last['kl']:.3f} nats)"


def dataset_spec(data: str) -> str:
    """What a checkpoint records as its data: a named source as is, a file or folder as an absolute path.

    An absolute path keeps working when the checkpoint is analysed from another folder.
    """
    if data in NAMED_SOURCES:
        return data
    return str(Path(data).expanduser().resolve())


def epoch_line(record: dict[str, float], epochs: int, kind: str) -> str:
    """One line per epoch: ``epoch 3/30: loss 61.2 (recon 48.0 + β·KL, KL 13.2 nats)`` or the GAN's two losses."""
    head = f"epoch {int(record['epoch'])}/{epochs}: "
    if kind == "gan":
        return (
            head + f"generator loss {record['loss']:.4f}, discriminator loss {record['discriminator_loss']:.4f} "
            "(non-saturating BCE, per image)"
        )
    return head + (
        f"loss {record['loss']:.3f} (negative ELBO per image: reconstruction {record['recon']:.3f} nats "
        f"+ β·KL, KL {record['kl']:.3f} nats)"
    )


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
    kl_warmup: int = TRAIN_KL_WARMUP,
    n: int | None = None,
    seed: int = SEED,
    device: str = DEVICE,
    plugin: str | None = None,
    config: dict[str, Any] | None = None,
    plugin_files: Sequence[str | Path] = (),
    progress: Callable[[int], Callable[[int], None]] | None = None,
    log: Callable[[str], None] | None = None,
) -> TrainedCheckpoint:
    """Train ``model_type`` (vae, beta-vae or gan) on ``data`` and save it to ``out``.

    β defaults to 1 for ``vae`` and to ``BETA_VAE_BETA`` for ``beta-vae``; the
    architecture follows the data (64×64 images: conv-vae / dcgan, else MLPs),
    unless ``plugin`` names one (from ``plugin_files`` or installed packages),
    built from ``config``. ``learning_rate`` defaults to the training module's
    per-kind default. ``log`` receives one line per epoch.
    ``kl_warmup`` (VAEs) raises β linearly from 0 over that many optimizer steps.
    ``n`` trains on a reproducible random subset of that many rows (the same
    selection as every analysis command's ``--n``).
    """
    from latentkit.options import DataSelection

    selection = DataSelection(data, n, seed)
    selection.validate()
    if model_type not in MODEL_TYPES:
        raise LatentkitError(f"unknown model type {model_type!r}", fix=f"use one of {', '.join(MODEL_TYPES)}")
    if epochs < 1:
        raise LatentkitError(f"--epochs {epochs} is not positive", fix="pass --epochs 1 or more")
    if model_type == "gan" and beta is not None:
        raise LatentkitError("--beta applies to VAEs only", fix="drop --beta, or train vae/beta-vae")
    if not 0 <= kl_warmup <= 10**9:
        raise LatentkitError(f"--kl-warmup {kl_warmup} is outside [0, 1e9] steps", fix="use e.g. --kl-warmup 500, or 0 for none")
    if model_type == "gan" and kl_warmup:
        raise LatentkitError("--kl-warmup applies to VAEs only", fix="drop --kl-warmup, or train vae/beta-vae")
    if plugin is None and (config is not None or plugin_files):
        raise LatentkitError("--config and --plugin-file need --plugin NAME", fix="add --plugin NAME, or drop them")
    if plugin is not None and latent_dim is not None:
        raise LatentkitError(
            "--latent-dim applies to the built-in architectures", fix="set the plugin's latent size in --config"
        )
    out = Path(out)
    if out.suffix != ".safetensors":
        raise LatentkitError(f"--out {out} does not end in .safetensors", fix="name the checkpoint *.safetensors")
    from latentkit.models.checkpoint import _check_device as check_device

    check_device(device)
    from latentkit.outputs import prepare_out_dir

    prepare_out_dir(out.parent if str(out.parent) else ".")

    from latentkit.data import open_data
    from latentkit.models.checkpoint import save
    from latentkit.training import train_gan, train_vae

    chosen = None
    if plugin is not None:
        from latentkit.models.registry import PluginRegistry

        chosen = PluginRegistry(plugin_files).get(plugin)
    source = selection.subset(open_data(data), default=None)
    kind = "gan" if model_type == "gan" else "vae"
    # progress counts images (every epoch passes over the whole source), so a long epoch still moves
    advance = progress(epochs * len(source)) if progress else None
    common: dict[str, Any] = {
        "epochs": epochs, "batch_size": batch_size, "seed": seed, "device": device, "on_batch": advance,
        "plugin": chosen, "config": config,
    }  # fmt: skip
    if learning_rate is not None:
        common["learning_rate"] = learning_rate
    if log is not None:
        common["on_epoch"] = lambda record: log(epoch_line(record, epochs, kind))
    if model_type == "gan":
        result = train_gan(source, latent_dim=GAN_LATENT_DIM if latent_dim is None else latent_dim, **common)
        training = {"epochs": epochs, "seed": seed}
    else:
        beta = beta if beta is not None else (BETA if model_type == "vae" else BETA_VAE_BETA)
        if beta < 0:
            raise LatentkitError(f"--beta {beta} is negative", fix="pass a β ≥ 0")
        result = train_vae(
            source, latent_dim=TRAIN_LATENT_DIM if latent_dim is None else latent_dim, beta=beta,
            kl_warmup=kl_warmup, **common,
        )  # fmt: skip
        training = {"beta": beta, "epochs": epochs, "seed": seed}
        if kl_warmup:  # recorded only when used, so checkpoints trained without it keep their bytes
            training["kl_warmup"] = kl_warmup
    save(
        result.model, out, plugin=result.plugin, config=result.config, dataset=dataset_spec(data), training=training
    )
    return TrainedCheckpoint(out, result.plugin, result.kind, result.config, result.history)
