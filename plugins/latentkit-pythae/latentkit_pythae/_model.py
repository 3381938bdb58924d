"""The torch side: a pythae VAE seen through latentkit's VAE protocol."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
from torch import nn

from latentkit import LatentkitError


class PythaeVAE(nn.Module):
    """latentkit's VAE protocol over a pythae model.

    ``encode(x)`` returns the encoder's ``(embedding, log_covariance)``, the mean
    and log-variance of q(z|x); ``decode(z)`` returns the decoder's
    ``reconstruction``. Both use pythae's [0, 1] image convention unchanged.
    """

    def __init__(self, model: Any, config: dict[str, Any]) -> None:
        super().__init__()
        self.model = model
        self.input_dim = tuple(int(s) for s in config["input_dim"])
        self.latent_dim = int(config["latent_dim"])

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if math.prod(x.shape[1:]) != math.prod(self.input_dim):
            raise LatentkitError(
                f"this pythae model takes inputs of shape {list(self.input_dim)}; the data has {list(x.shape[1:])}",
                fix="pass --data the model was trained on",
            )
        out = self.model.encoder(x.reshape(x.shape[0], *self.input_dim))
        return out.embedding, out.log_covariance

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.model.decoder(z)["reconstruction"].reshape(z.shape[0], *self.input_dim)


def build_wrapped(config: dict[str, Any], encoder: Any, decoder: Any) -> PythaeVAE:
    import pythae.models as models

    from latentkit_pythae._format import SUPPORTED

    config_class = getattr(models, config["name"])
    model_class = getattr(models, SUPPORTED[config["name"]])
    fields = {k: v for k, v in config.items() if k != "name"}
    fields["input_dim"] = tuple(fields["input_dim"])
    try:
        model_config = config_class.from_dict(fields)
        model = model_class(model_config=model_config, encoder=encoder, decoder=decoder)
    except Exception as exc:
        raise LatentkitError(
            f"pythae cannot build a {model_class.__name__} from this config: {type(exc).__name__}: {exc}".splitlines()[0],
            fix="pass the model_config.json pythae wrote",
        )
    return PythaeVAE(model, config)


def unpickle_network(path: Path) -> nn.Module:
    """A network pythae pickled (runs code from the file: only with --trust-pickles)."""
    from pythae.models.base.base_utils import CPU_Unpickler

    with path.open("rb") as fh:
        return CPU_Unpickler(fh).load()


def load_weights(wrapped: PythaeVAE, weights: Path) -> PythaeVAE:
    """``model_state_dict`` of model.pt (weights only) into the pythae model; every tensor must fit."""
    from latentkit.models.state_dict import read_state_dict, tensor_mismatch

    state = read_state_dict(weights)
    mismatch = tensor_mismatch(
        {k: tuple(v.shape) for k, v in wrapped.model.state_dict().items()},
        {k: tuple(v.shape) for k, v in state.tensors.items()},
        weights.name,
        "this pythae config",
        "pass the model_config.json that belongs to these weights",
    )
    if mismatch is not None:
        raise mismatch
    wrapped.model.load_state_dict(state.tensors)
    return wrapped
