"""Finding and describing AutoencoderKL files without torch; opening them with it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from latentkit import LatentkitError
from latentkit.models.checkpoint import read_header
from latentkit.models.plugin import FormatDescription, LoadedModel, LoadOptions

CLASS_NAME = "AutoencoderKL"
WEIGHTS_NAME = "diffusion_pytorch_model.safetensors"
INDEX_NAME = "diffusion_pytorch_model.safetensors.index.json"
# Tensors every AutoencoderKL has, whatever its size: how a single weights file is recognised.
SIGNATURE_TENSORS = frozenset({"encoder.conv_in.weight", "encoder.conv_norm_out.weight", "decoder.conv_in.weight"})
FORMAT = "diffusers AutoencoderKL"


def _model_folder(path: Path) -> Path | None:
    """The folder holding the VAE's config.json: ``path`` itself, or a pipeline's ``vae/``."""
    if not path.is_dir():
        return None
    if (path / "config.json").is_file():
        return path
    if (path / "model_index.json").is_file() and (path / "vae" / "config.json").is_file():
        return path / "vae"
    return None


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LatentkitError(f"{path} is not valid JSON ({exc})", fix="check the file") from exc


def _tensor_names(path: Path) -> set[str] | None:
    try:
        header = read_header(path)
    except LatentkitError:
        return None
    if any(key.startswith("latentkit.") for key in header.metadata):
        return None  # a latentkit checkpoint names its own plugin
    return {t.name for t in header.tensors}


def detect(path: Path) -> bool:
    """A diffusers model folder (config.json with ``_class_name``) or an AutoencoderKL .safetensors file."""
    folder = _model_folder(path)
    if folder is not None:
        try:
            config = _read_json(folder / "config.json")
        except LatentkitError:
            return False
        return isinstance(config, dict) and "_class_name" in config
    if path.is_file() and path.suffix == ".safetensors":
        names = _tensor_names(path)
        return names is not None and SIGNATURE_TENSORS <= names
    return False


def _weight_files(folder: Path) -> list[Path]:
    index = folder / INDEX_NAME
    if index.is_file():
        weight_map = _read_json(index).get("weight_map", {})
        return [folder / name for name in sorted(set(weight_map.values()))]
    if (folder / WEIGHTS_NAME).is_file():
        return [folder / WEIGHTS_NAME]
    found = sorted(folder.glob("*.safetensors"))
    if len(found) == 1:
        return found
    if not found:
        pickled = sorted(p.name for p in folder.glob("*.bin"))
        extra = f" ({', '.join(pickled)} are pickles and are not read)" if pickled else ""
        raise LatentkitError(
            f"{folder} holds no .safetensors weights{extra}",
            fix="re-save the model with save_pretrained(folder, safe_serialization=True)",
        )
    raise LatentkitError(
        f"{folder} holds several weight files: {', '.join(p.name for p in found)}",
        fix=f"keep one, or name it {WEIGHTS_NAME}",
    )


def _resolve(path: Path, config: dict[str, Any] | None) -> tuple[dict[str, Any], list[Path], list[Path]]:
    """(config, weight files, every file of the model) for a folder or a single weights file."""
    folder = _model_folder(path)
    if folder is not None:
        weights = _weight_files(folder)
        if config is None:
            config = _read_json(folder / "config.json")
        return _checked(config, folder / "config.json"), weights, [folder / "config.json", *weights]
    if config is None:
        beside = path.parent / "config.json"
        if not beside.is_file():
            raise LatentkitError(
                f"{path.name} holds AutoencoderKL weights but no config",
                fix="pass --config config.json (the model's diffusers config)",
            )
        return _checked(_read_json(beside), beside), [path], [beside, path]
    return _checked(config, "--config"), [path], [path]


def _checked(config: Any, source: Any) -> dict[str, Any]:
    if not isinstance(config, dict):
        raise LatentkitError(f"{source} is not a JSON object", fix="pass the model's diffusers config.json")
    name = config.get("_class_name", CLASS_NAME)
    if name != CLASS_NAME:
        raise LatentkitError(
            f"{source} names the diffusers class {name!r}; latentkit-diffusers opens {CLASS_NAME} only",
            fix="point at the VAE's folder (e.g. the pipeline's vae/ subfolder)",
        )
    return dict(config)


def latent_shape(config: dict[str, Any]) -> tuple[int, int, int]:
    """(C, H, W) of the latents of a ``sample_size`` image: each block but the last halves H and W."""
    size = config.get("sample_size", 32)
    height, width = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
    factor = 2 ** (len(config.get("block_out_channels", [64])) - 1)
    return int(config.get("latent_channels", 4)), height // factor, width // factor


def describe(path: Path) -> FormatDescription:
    """Format, latent shape, parameter count and sizes from config.json and the safetensors headers."""
    config, weights, files = _resolve(path, None)
    headers = [read_header(w) for w in weights]
    return FormatDescription(
        format=FORMAT,
        kind="vae",
        latent_shape=latent_shape(config),
        parameter_count=sum(h.parameter_count for h in headers),
        config=config,
        files={str(f.relative_to(path) if path.is_dir() else f.name): f.stat().st_size for f in files},
        tensors=tuple(t for h in headers for t in h.tensors),
    )


def build(config: dict[str, Any]) -> Any:
    """An AutoencoderKL with random weights from a diffusers config dict, wrapped for latentkit.

    Strict (every key must be an AutoencoderKL setting), because latentkit also tries this
    on configs found in other files, such as Lightning hyper-parameters; a folder's own
    config.json is read leniently by :func:`load`, as diffusers does.
    """
    from latentkit_diffusers._model import build_wrapped, unknown_keys

    config = _checked(config, "the config")
    unknown = unknown_keys(config)
    if unknown:
        raise LatentkitError(
            f"unknown AutoencoderKL config key {unknown[0]!r}",
            fix="pass a diffusers AutoencoderKL config.json",
        )
    return build_wrapped(config)


def load(path: Path, config: dict[str, Any] | None, device: str, options: LoadOptions) -> LoadedModel:
    """The AutoencoderKL at ``path`` with its weights, in eval mode on ``device``."""
    from latentkit_diffusers._model import build_wrapped, load_weights

    config, weights, files = _resolve(path, config)
    model = load_weights(build_wrapped(config), weights, path)
    model.to(device)
    model.eval()
    keep = {k: v for k, v in config.items() if not k.startswith("_")}
    notes = [f"images mapped from [0, 1] to [-1, 1]; latents {'x'.join(map(str, latent_shape(config)))} (unscaled)"]
    return LoadedModel(model, keep, {}, notes, format=FORMAT, files=tuple(files))


__all__ = ["build", "describe", "detect", "latent_shape", "load"]
