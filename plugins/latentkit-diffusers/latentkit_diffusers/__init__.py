"""latentkit plugin for diffusers' ``AutoencoderKL``, read from local files only.

Recognised (:func:`detect`, reading JSON and safetensors headers only):

* a folder whose ``config.json`` names a diffusers class (``_class_name``), with
  its weights in ``diffusion_pytorch_model.safetensors`` (or shards listed in
  ``diffusion_pytorch_model.safetensors.index.json``); a pipeline folder whose
  ``vae/`` subfolder is one;
* a single ``.safetensors`` file holding an AutoencoderKL's tensors, with the
  config from ``--config config.json`` (or a ``config.json`` beside it).

Only ``AutoencoderKL`` is opened; a folder naming another class is refused.
Nothing is ever downloaded. Images: latentkit's [0, 1] pixels are mapped to the
model's [-1, 1] convention (x ↦ 2x − 1) before encoding, and decoded images are
mapped back (y ↦ y / 2 + 0.5, clamped to [0, 1], as diffusers'
``VaeImageProcessor.postprocess`` does). Latents are the posterior's
``(C, H, W)`` mean and log-variance, unscaled (``scaling_factor`` is not applied).
"""

from __future__ import annotations

from latentkit import Plugin

from latentkit_diffusers._format import build, describe, detect, load

EXAMPLE_CONFIG = {
    "_class_name": "AutoencoderKL",
    "in_channels": 3,
    "out_channels": 3,
    "down_block_types": ["DownEncoderBlock2D", "DownEncoderBlock2D"],
    "up_block_types": ["UpDecoderBlock2D", "UpDecoderBlock2D"],
    "block_out_channels": [8, 16],
    "layers_per_block": 1,
    "latent_channels": 4,
    "norm_num_groups": 8,
    "sample_size": 16,
}

PLUGIN = Plugin(
    name="diffusers",
    kind="vae",
    build=build,
    detect=detect,
    load=load,
    describe=describe,
    formats=("diffusers AutoencoderKL folder (config.json + .safetensors)", "AutoencoderKL .safetensors + --config"),
    description="diffusers AutoencoderKL (Stable Diffusion-style VAE); images mapped [0,1] <-> [-1,1]; latents (C, H, W)",
    example_config=EXAMPLE_CONFIG,
)

__all__ = ["EXAMPLE_CONFIG", "PLUGIN"]
