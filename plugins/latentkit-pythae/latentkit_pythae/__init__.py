"""latentkit plugin for models saved by pythae (``model.save(folder)``).

A pythae save folder holds ``model_config.json`` (the config class's ``name``
and its fields), ``model.pt`` (weights under ``model_state_dict``) and
``environment.json``. The Gaussian-posterior VAEs are opened: those whose
encoder returns ``embedding`` (the mean) and ``log_covariance`` (the
log-variance of a diagonal Gaussian), listed in :data:`SUPPORTED`.

``model.pt`` is read with ``torch.load(weights_only=True)``. Custom networks are
pickled by pythae into ``encoder.pkl``/``decoder.pkl``; unpickling runs code
from the file, so such folders are refused unless ``--trust-pickles`` is given.
Images are in [0, 1], pythae's own convention; latents are flat (latent_dim,).
"""

from __future__ import annotations

from latentkit import Plugin

from latentkit_pythae._format import SUPPORTED, build, describe, detect, load

EXAMPLE_CONFIG = {"name": "VAEConfig", "input_dim": [1, 8, 8], "latent_dim": 4}

PLUGIN = Plugin(
    name="pythae",
    kind="vae",
    build=build,
    detect=detect,
    load=load,
    describe=describe,
    formats=("pythae save folder (model_config.json + model.pt)",),
    description="pythae Gaussian VAEs: " + ", ".join(SUPPORTED),
    example_config=EXAMPLE_CONFIG,
)

__all__ = ["EXAMPLE_CONFIG", "PLUGIN", "SUPPORTED"]
