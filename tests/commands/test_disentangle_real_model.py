"""A real model: a conv-vae trained briefly on shapes scores clearly above an untrained one."""

import numpy as np

from latentkit.commands.disentangle import disentangle
from latentkit.data import ShapesSource, open_data
from latentkit.models.builtin import CONV_VAE
from latentkit.models.checkpoint import save
from latentkit.training import train_vae


def test_training_on_shapes_raises_mig_and_dci_disentanglement(tmp_path):
    import torch

    # 256 images of the largest square at 16 x 16 positions: small enough to train in seconds on
    # a CPU, with two ground-truth factors the model must discover (pos_x, pos_y).
    grid = np.stack(np.meshgrid(np.arange(0, 32, 2), np.arange(0, 32, 2), indexing="ij"), -1).reshape(-1, 2)
    factors = np.column_stack([np.zeros(len(grid), int), np.full(len(grid), 5), np.zeros(len(grid), int), grid])
    images = (ShapesSource().render(factors) * 255).astype(np.uint8)
    data = tmp_path / "positions.npz"
    np.savez(data, x=images, factors=grid // 2, factor_names=np.array(["pos_x", "pos_y"]))

    trained = train_vae(open_data(str(data)), plugin_name="conv-vae", latent_dim=4, epochs=40, batch_size=16, seed=0)
    assert trained.history[-1]["kl"] > 1.0  # past the collapsed plateau
    save(trained.model, tmp_path / "trained.safetensors", plugin="conv-vae", config=trained.config)
    torch.manual_seed(0)
    save(CONV_VAE.build(trained.config), tmp_path / "untrained.safetensors", plugin="conv-vae", config=trained.config)

    scores = {
        name: disentangle(
            tmp_path / f"{name}.safetensors", data=str(data), metrics="mig,dci", dci_model="fast", n=256, write=False
        ).scores
        for name in ("trained", "untrained")
    }
    assert scores["trained"]["mig"] > scores["untrained"]["mig"] + 0.05
    assert scores["trained"]["dci.disentanglement"] > scores["untrained"]["dci.disentanglement"] + 0.05
    assert scores["trained"]["dci.informativeness_test"] > scores["untrained"]["dci.informativeness_test"] + 0.2
