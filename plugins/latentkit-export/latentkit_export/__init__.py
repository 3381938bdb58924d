"""latentkit plugin for VAEs saved with ``torch.export``: one ``.pt2`` archive, no Python plugin.

The convention (see this package's README for the lines that write it):

* one ``.pt2`` archive (torch's PT2 archive, ``package_pt2``) holding two
  exported programs named ``encode`` (images in [0, 1], shape (B, *image_shape)
  → ``(mean, logvar)``, each (B, *latent_shape)) and ``decode`` (latents →
  images in [0, 1]), both exported with a dynamic batch dimension;
* an extra file ``latentkit.json``: ``{"kind": "vae"}``, optionally with
  ``"latent_shape"`` and ``"image_shape"`` (lists of ints) so that ``latentkit
  info`` shows them without loading any weight.

:func:`save_vae` writes it from any module with ``encode``/``decode`` methods.
"""

from __future__ import annotations

from latentkit import Plugin

from latentkit_export._format import ENCODE, DECODE, FORMAT, METADATA_NAME, describe, detect, load
from latentkit_export._save import save_vae

PLUGIN = Plugin(
    name="export",
    kind="vae",
    detect=detect,
    load=load,
    describe=describe,
    formats=(f"torch.export .pt2 ({ENCODE} + {DECODE} programs)",),
    description="Any VAE exported with torch.export as one .pt2 archive (encode + decode programs)",
)

__all__ = ["PLUGIN", "save_vae"]
