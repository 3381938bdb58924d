"""Recognising and describing pythae save folders without torch; opening them with it."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from latentkit import LatentkitError
from latentkit.models.plugin import FormatDescription, LoadedModel, LoadOptions

FORMAT = "pythae save folder"
CONFIG_NAME = "model_config.json"
WEIGHTS_NAME = "model.pt"
PICKLED = ("encoder.pkl", "decoder.pkl")
# Config class name -> model class name: the VAEs whose posterior is a diagonal Gaussian
# read from the encoder's `embedding` and `log_covariance` (no flows, no quantisation).
SUPPORTED = {
    "VAEConfig": "VAE",
    "BetaVAEConfig": "BetaVAE",
    "DisentangledBetaVAEConfig": "DisentangledBetaVAE",
    "BetaTCVAEConfig": "BetaTCVAE",
    "FactorVAEConfig": "FactorVAE",
    "INFOVAE_MMD_Config": "INFOVAE_MMD",
    "MSSSIM_VAEConfig": "MSSSIM_VAE",
}


def _folder(path: Path) -> Path | None:
    """The save folder: ``path`` itself, or the folder of a ``model.pt`` given directly."""
    if path.is_dir() and (path / CONFIG_NAME).is_file() and (path / WEIGHTS_NAME).is_file():
        return path
    if path.is_file() and path.name == WEIGHTS_NAME and (path.parent / CONFIG_NAME).is_file():
        return path.parent
    return None


def detect(path: Path) -> bool:
    """A folder (or its ``model.pt``) with pythae's ``model_config.json`` beside ``model.pt``."""
    return _folder(path) is not None


def _read_config(folder: Path) -> dict[str, Any]:
    source = folder / CONFIG_NAME
    try:
        config = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LatentkitError(f"{source} is not valid JSON ({exc})", fix="check the file") from exc
    return _checked(config, source)


def _checked(config: Any, source: Any) -> dict[str, Any]:
    if not isinstance(config, dict) or "name" not in config:
        raise LatentkitError(f"{source} names no pythae config class ('name')", fix="pass a pythae model_config.json")
    if config["name"] not in SUPPORTED:
        raise LatentkitError(
            f"{source} is a {config['name']!r}; latentkit-pythae opens the Gaussian VAEs {', '.join(SUPPORTED)}",
            fix="analyse a model whose encoder returns embedding and log_covariance",
        )
    for key in ("input_dim", "latent_dim"):
        if config.get(key) is None:
            raise LatentkitError(f"{source} has no {key!r}", fix="pass the model_config.json pythae wrote")
    return dict(config)


def _resolve(path: Path) -> Path:
    folder = _folder(path)
    if folder is None:
        raise LatentkitError(
            f"{path} is not a pythae save folder (needs {CONFIG_NAME} and {WEIGHTS_NAME})",
            fix="point at the folder model.save(...) wrote",
        )
    return folder


def describe(path: Path) -> FormatDescription:
    """Model class, latent shape and sizes from model_config.json; the parameter count maps
    model.pt without reading its weights."""
    from latentkit.models.checkpoint import TensorInfo
    from latentkit.models.state_dict import read_state_dict

    folder = _resolve(path)
    config = _read_config(folder)
    state = read_state_dict(folder / WEIGHTS_NAME, mmap=True)
    tensors = tuple(
        TensorInfo(n, str(t.dtype).removeprefix("torch."), tuple(t.shape)) for n, t in sorted(state.tensors.items())
    )
    files = {p.name: p.stat().st_size for p in sorted(folder.iterdir()) if p.is_file()}
    pickled = [name for name in PICKLED if name in files]
    notes = (f"custom networks pickled in {', '.join(pickled)}: opening them needs --trust-pickles",) if pickled else ()
    return FormatDescription(
        format=f"{FORMAT} ({SUPPORTED[config['name']]})",
        kind="vae",
        latent_shape=(int(config["latent_dim"]),),
        parameter_count=sum(math.prod(t.shape) for t in tensors),
        config=config,
        files=files,
        tensors=tensors,
        notes=notes,
    )


def build(config: dict[str, Any]) -> Any:
    """A pythae model with its default networks, from a model_config.json dict."""
    from latentkit_pythae._model import build_wrapped

    return build_wrapped(_checked(config, "the config"), None, None)


def load(path: Path, config: dict[str, Any] | None, device: str, options: LoadOptions) -> LoadedModel:
    """The pythae model in ``path`` with its weights; pickled networks only with ``trust_pickles``."""
    from latentkit_pythae._model import build_wrapped, load_weights, unpickle_network

    folder = _resolve(path)
    config = _checked(config, "--config") if config is not None else _read_config(folder)
    pickled = [name for name in PICKLED if (folder / name).is_file()]
    if pickled and not options.trust_pickles:
        raise LatentkitError(
            f"{folder} holds custom networks pickled by pythae ({', '.join(pickled)}); unpickling runs code from the file",
            fix="pass --trust-pickles if you trust where this folder came from",
        )
    encoder = unpickle_network(folder / "encoder.pkl") if "encoder.pkl" in pickled else None
    decoder = unpickle_network(folder / "decoder.pkl") if "decoder.pkl" in pickled else None
    model = load_weights(build_wrapped(config, encoder, decoder), folder / WEIGHTS_NAME)
    model.to(device)
    model.eval()
    notes = [f"pythae {SUPPORTED[config['name']]}; networks unpickled from {', '.join(pickled)} (--trust-pickles)"] if pickled else []
    return LoadedModel(model, config, {}, notes, format=f"{FORMAT} ({SUPPORTED[config['name']]})")
