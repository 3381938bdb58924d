"""Writing the convention: encode and decode of any VAE module into one ``.pt2`` archive."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def save_vae(vae: Any, example_images: Any, path: str | Path) -> Path:
    """Export ``vae.encode`` and ``vae.decode`` with a dynamic batch dimension into ``path``.

    ``example_images`` is a batch of at least two images in [0, 1]; the latent
    and image shapes are recorded in ``latentkit.json``.
    """
    import torch
    from torch.export import Dim, export
    from torch.export.pt2_archive._package import package_pt2

    class Method(torch.nn.Module):  # torch.export traces forward(): point it at one method
        def __init__(self, module: Any, name: str) -> None:
            super().__init__()
            self.module, self.name = module, name

        def forward(self, x: torch.Tensor) -> Any:
            return getattr(self.module, self.name)(x)

    with torch.no_grad():
        mean, _ = vae.encode(example_images)
    batch = {0: Dim("batch")}
    programs = {
        "encode": export(Method(vae, "encode"), (example_images,), dynamic_shapes=(batch,)),
        "decode": export(Method(vae, "decode"), (mean,), dynamic_shapes=(batch,)),
    }
    meta = {"kind": "vae", "latent_shape": list(mean.shape[1:]), "image_shape": list(example_images.shape[1:])}
    package_pt2(str(path), exported_programs=programs, extra_files={"latentkit.json": json.dumps(meta)})
    return Path(path)
