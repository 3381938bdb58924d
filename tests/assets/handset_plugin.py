"""A tiny VAE plugin whose posterior is set by hand, for known-answer tests.

mean = flatten(x) @ weight, logvar = logvar (a fixed vector), both from config,
so the KL per dimension and the active units can be computed independently.
"""

from latentkit import Plugin


def build(config):
    import torch

    class HandSetVAE(torch.nn.Module):
        def __init__(self, weight, logvar):
            super().__init__()
            self.weight = torch.nn.Parameter(torch.tensor(weight, dtype=torch.float32))
            self.logvar = torch.nn.Parameter(torch.tensor(logvar, dtype=torch.float32))
            self.latent_dim = self.weight.shape[1]

        def encode(self, x):
            flat = x.reshape(x.shape[0], -1)
            mean = flat @ self.weight
            return mean, self.logvar.expand_as(mean)

        def decode(self, z):
            return torch.sigmoid(z @ self.weight.T).reshape(z.shape[0], 1, 2, 2)

    return HandSetVAE(config["weight"], config["logvar"])


PLUGINS = [Plugin(name="handset-vae", kind="vae", build=build)]
