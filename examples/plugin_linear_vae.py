"""A minimal latentkit plugin: a linear VAE for 8x8 images."""

from latentkit import Plugin


def build(config):
    import torch
    from torch import nn

    class LinearVAE(nn.Module):
        def __init__(self, latent_dim: int = 4, pixels: int = 64):
            super().__init__()
            self.latent_dim = latent_dim
            self.encoder = nn.Linear(pixels, 2 * latent_dim)
            self.decoder = nn.Linear(latent_dim, pixels)

        def encode(self, x):
            mean, logvar = self.encoder(x.flatten(1)).chunk(2, dim=1)
            return mean, logvar

        def decode(self, z):
            return torch.sigmoid(self.decoder(z)).view(-1, 1, 8, 8)

    return LinearVAE(**config)


LINEAR_VAE = Plugin(name="linear-vae", kind="vae", build=build)  # what an entry point names
PLUGINS = [LINEAR_VAE]  # what --plugin-file reads
