"""A tiny VAE with a spatial (C, 2, 2) latent, set by hand, for known-answer tests.

Images are (1, 4, 4). Channel c's posterior mean at each of the 2×2 positions is
``weight[c] · (mean of the 2×2 image block there) + bias[c]`` and its log-variance
is ``logvar[c]`` everywhere, so KL, active channels and the latent scale have
closed forms. A channel with weight 0 ignores the input. The decoder adds the
channels with ``decoder`` weights, upsamples ×2 and takes the sigmoid.
``scaling_factor`` etc. in the config are exposed as ``latent_normalization``.
"""

from latentkit import Plugin

NORMALIZATION = ("scaling_factor", "shift_factor", "latents_mean", "latents_std")


def build(config):
    import torch

    class SpatialVAE(torch.nn.Module):
        def __init__(self, weight, bias, logvar, decoder):
            super().__init__()
            self.weight = torch.nn.Parameter(torch.tensor(weight, dtype=torch.float32))
            self.bias = torch.nn.Parameter(torch.tensor(bias, dtype=torch.float32))
            self.logvar = torch.nn.Parameter(torch.tensor(logvar, dtype=torch.float32))
            self.decoder = torch.nn.Parameter(torch.tensor(decoder, dtype=torch.float32))
            channels = len(weight)
            self.latent_shape = (channels, 2, 2)
            self.latent_dim = channels * 4
            self.latent_normalization = {k: config[k] for k in NORMALIZATION if k in config}

        def encode(self, x):
            blocks = torch.nn.functional.avg_pool2d(x, 2)  # (B, 1, 2, 2)
            mean = blocks * self.weight[None, :, None, None] + self.bias[None, :, None, None]
            return mean, self.logvar[None, :, None, None].expand_as(mean)

        def decode(self, z):
            mixed = (z * self.decoder[None, :, None, None]).sum(dim=1, keepdim=True)
            return torch.sigmoid(torch.nn.functional.interpolate(mixed, scale_factor=2))

    return SpatialVAE(config["weight"], config["bias"], config["logvar"], config.get("decoder", [1.0] * len(config["weight"])))


PLUGINS = [Plugin(name="spatial-vae", kind="vae", build=build)]
