"""The torch side: two exported programs seen through latentkit's VAE protocol."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
from torch import nn

from latentkit import LatentkitError


def load_programs(path: Path) -> tuple[Any, Any]:
    """The ``encode`` and ``decode`` programs of the archive, as callable modules."""
    from torch.export.pt2_archive._package import load_pt2

    from latentkit_export._format import DECODE, ENCODE

    try:
        programs = load_pt2(path).exported_programs
        return programs[ENCODE].module(), programs[DECODE].module()
    except Exception as exc:
        raise LatentkitError(
            f"torch cannot load the programs in {path.name}: {type(exc).__name__}: {exc}".splitlines()[0],
            fix=f"re-export with this torch ({torch.__version__})",
        ) from exc


def _input_shape(program: Any) -> tuple[int, ...] | None:
    """The per-item shape of a program's first input (its batch dimension dropped), when static."""
    for node in program.graph.nodes:
        if node.op == "placeholder" and "val" in node.meta and hasattr(node.meta["val"], "shape"):
            try:
                return tuple(int(s) for s in node.meta["val"].shape[1:])
            except TypeError:  # a symbolic size
                return None
    return None


class ExportedVAE(nn.Module):
    """latentkit's VAE protocol over exported ``encode`` and ``decode`` programs."""

    def __init__(self, encode: Any, decode: Any, latent_shape: tuple[int, ...] | None) -> None:
        super().__init__()
        self.encode_program = encode
        self.decode_program = decode
        shape = latent_shape or _input_shape(decode)
        if shape is None:
            raise LatentkitError(
                "the decode program's latent shape is not static and latentkit.json gives none",
                fix='record "latent_shape" in latentkit.json',
            )
        self.latent_shape = shape
        self.latent_dim = math.prod(shape)
        self.image_shape = _input_shape(encode)

    def train(self, mode: bool = True) -> ExportedVAE:
        """Exported programs have no train mode (they were traced in the mode they were exported in)."""
        self.training = mode
        return self

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.image_shape is not None and tuple(x.shape[1:]) != self.image_shape:
            if math.prod(x.shape[1:]) != math.prod(self.image_shape):
                raise LatentkitError(
                    f"the encode program takes items of shape {list(self.image_shape)}; the data has {list(x.shape[1:])}",
                    fix="pass --data the model was exported for",
                )
            x = x.reshape(x.shape[0], *self.image_shape)
        mean, logvar = self.encode_program(x)
        return mean, logvar

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decode_program(z)
