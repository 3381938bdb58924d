"""Shared fixtures: a hand-set VAE checkpoint and small data written to tmp_path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

ASSETS = Path(__file__).parent / "assets"
HANDSET_PLUGIN = ASSETS / "handset_plugin.py"

# mean = flatten(x) @ WEIGHT for 1x2x2 images; dimension 3 ignores the input (collapsed)
WEIGHT = [[1.0, 0.0, 0.5, 0.0], [0.0, 2.0, 0.0, 0.0], [0.0, 0.0, 0.5, 0.0], [0.0, 0.0, 0.0, 0.0]]
LOGVAR = [-1.0, -2.0, 0.0, 1.5]


@pytest.fixture(autouse=True, scope="session")
def _private_xdg_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Caches of libraries and of latentkit (UMAP's compiled numba code) go to a session folder, not ~/.cache."""
    import os

    root = tmp_path_factory.mktemp("xdg-cache")
    previous = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(root)
    yield root
    if previous is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = previous


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test caches encoded codes in a temporary folder, never in the user's ~/.cache."""
    root = tmp_path_factory.mktemp("latentkit-cache")
    monkeypatch.setenv("LATENTKIT_CACHE_DIR", str(root))
    return root


@pytest.fixture
def handset_images() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.random((257, 1, 2, 2)).astype(np.float32)


@pytest.fixture
def handset_data(tmp_path: Path, handset_images: np.ndarray) -> Path:
    path = tmp_path / "handset.npz"
    np.savez(path, x=handset_images, y=np.arange(len(handset_images)) % 3)
    return path


@pytest.fixture
def handset_checkpoint(tmp_path: Path, handset_data: Path) -> Path:
    from latentkit.models.checkpoint import save
    from latentkit.models.registry import PluginRegistry

    config = {"weight": WEIGHT, "logvar": LOGVAR}
    model = PluginRegistry([HANDSET_PLUGIN]).get("handset-vae").build(config)
    return save(model, tmp_path / "handset.safetensors", plugin="handset-vae", config=config, dataset=str(handset_data))


def handset_posterior(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The hand-set encoder's (mean, logvar), computed with numpy in float64."""
    mean = images.reshape(len(images), -1).astype(np.float64) @ np.array(WEIGHT)
    return mean, np.broadcast_to(np.array(LOGVAR), mean.shape)


@pytest.fixture(scope="session")
def mlp_vae_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained mlp-vae for 8x8 digits (latent_dim 4, seeded weights): enough for shapes and plumbing."""
    import torch

    from latentkit.models.builtin import MLP_VAE
    from latentkit.models.checkpoint import save

    torch.manual_seed(0)
    config = {"latent_dim": 4, "hidden": [32]}
    path = tmp_path_factory.mktemp("vae") / "mlp-vae.safetensors"
    return save(MLP_VAE.build(config), path, plugin="mlp-vae", config=config, dataset="digits")


@pytest.fixture(scope="session")
def mlp_gan_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained mlp-gan generator for 8x8 digits (latent_dim 6, seeded weights)."""
    import torch

    from latentkit.models.builtin import MLP_GAN
    from latentkit.models.checkpoint import save

    torch.manual_seed(0)
    config = {"latent_dim": 6, "hidden": [32]}
    path = tmp_path_factory.mktemp("gan") / "mlp-gan.safetensors"
    return save(MLP_GAN.build(config), path, plugin="mlp-gan", config=config, dataset="digits")


@pytest.fixture
def drawn_figures(monkeypatch: pytest.MonkeyPatch):
    """The matplotlib figures saved during the test, in order, kept open so a test can check what
    they show (panels, bars, lines, image tiles) rather than that a file was written."""
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    close = plt.close
    kept: list[Figure] = []
    monkeypatch.setattr(plt, "close", lambda fig=None: kept.append(fig) if isinstance(fig, Figure) else close(fig))
    yield kept
    for fig in kept:
        close(fig)
