"""Reading ``.pt2`` archives: the listing and metadata with zipfile alone, the programs with torch."""

from __future__ import annotations

import json
import math
import zipfile
from pathlib import Path
from typing import Any

from latentkit import LatentkitError
from latentkit.models.plugin import FormatDescription, LoadedModel, LoadOptions

FORMAT = "torch.export archive (.pt2)"
ENCODE, DECODE = "encode", "decode"
METADATA_NAME = "latentkit.json"


def detect(path: Path) -> bool:
    """A ``.pt2`` file that is a zip archive (what torch.export writes)."""
    return path.is_file() and path.suffix == ".pt2" and zipfile.is_zipfile(path)


def _archive(path: Path) -> tuple[list[str], dict[str, Any], int]:
    """(program names, latentkit.json, parameter count) from the archive's listing and JSON files."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            programs = sorted({n.split("/models/", 1)[1][: -len(".json")] for n in names if "/models/" in n and n.endswith(".json")})
            meta_files = [n for n in names if n.endswith(f"/extra/{METADATA_NAME}")]
            metadata = json.loads(archive.read(meta_files[0])) if meta_files else {}
            weights: dict[str, int] = {}
            for name in names:
                if name.endswith("_weights_config.json"):
                    config = json.loads(archive.read(name)).get("config", {})
                    for key, entry in config.items():
                        sizes = entry.get("tensor_meta", {}).get("sizes", [])
                        weights[key] = math.prod(int(s.get("as_int", 0)) for s in sizes)
    except (zipfile.BadZipFile, OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError) as exc:
        raise LatentkitError(f"{path} is not a readable .pt2 archive ({exc})", fix="re-export the model") from exc
    if not isinstance(metadata, dict):
        raise LatentkitError(f"{METADATA_NAME} in {path.name} is not a JSON object", fix='write {"kind": "vae"}')
    return programs, metadata, sum(weights.values())


def _check(path: Path, programs: list[str], metadata: dict[str, Any]) -> None:
    missing = [p for p in (ENCODE, DECODE) if p not in programs]
    if missing:
        raise LatentkitError(
            f"{path.name} holds the programs {programs or 'none'}; latentkit-export needs {ENCODE!r} and {DECODE!r}",
            fix="export encode and decode into one archive as the latentkit-export README shows",
        )
    kind = metadata.get("kind", "vae")
    if kind != "vae":
        raise LatentkitError(f"{path.name} says kind {kind!r}; latentkit-export opens VAEs", fix='record {"kind": "vae"}')


def _shape(metadata: dict[str, Any], key: str) -> tuple[int, ...] | None:
    value = metadata.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, int) and v > 0 for v in value):
        raise LatentkitError(f"{METADATA_NAME}: {key!r} must be a list of positive ints, got {value!r}", fix="re-export")
    return tuple(value)


def describe(path: Path) -> FormatDescription:
    """Programs, kind, latent shape and parameter count from the archive's JSON files (no weights)."""
    programs, metadata, parameters = _archive(path)
    _check(path, programs, metadata)
    return FormatDescription(
        format=FORMAT,
        kind="vae",
        latent_shape=_shape(metadata, "latent_shape"),
        parameter_count=parameters,
        config={"programs": programs, **metadata},
        files={path.name: path.stat().st_size},
    )


def pickled_entries(path: Path) -> list[str]:
    """Archive entries torch would unpickle beyond ``weights_only``: weights or constants stored
    as pickles, custom or opaque objects, and sample inputs that ``weights_only`` refuses (torch
    then retries them with full unpickling, which runs code from the file)."""
    import io

    import torch

    found = []
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if name.endswith(("_weights_config.json", "_constants_config.json")):
                for key, entry in json.loads(archive.read(name)).get("config", {}).items():
                    stored = str(entry.get("path_name", ""))
                    if entry.get("use_pickle") or stored.startswith(("custom_obj", "opaque_obj")):
                        found.append(f"{name}:{key}")
            elif "/data/sample_inputs/" in name and name.endswith(".pt"):
                try:
                    torch.load(io.BytesIO(archive.read(name)), weights_only=True)
                except Exception:
                    found.append(name)
    return found


def load(path: Path, config: dict[str, Any] | None, device: str, options: LoadOptions) -> LoadedModel:
    """The archive's encode and decode programs as one VAE module; archives that hold pickled
    objects only with ``trust_pickles``."""
    from latentkit_export._model import ExportedVAE, load_programs

    programs, metadata, _ = _archive(path)
    _check(path, programs, metadata)
    pickled = pickled_entries(path)
    if pickled and not options.trust_pickles:
        raise LatentkitError(
            f"{path.name} holds pickled objects that loading would run ({', '.join(pickled[:3])}"
            f"{', ...' if len(pickled) > 3 else ''})",
            fix="pass --trust-pickles if you trust where this file came from, or re-export with plain tensors",
        )
    encode, decode = load_programs(path)
    model = ExportedVAE(encode, decode, _shape(metadata, "latent_shape"))
    model.to(device)
    model.eval()
    return LoadedModel(model, {"programs": programs, **metadata}, {}, [], format=FORMAT)
