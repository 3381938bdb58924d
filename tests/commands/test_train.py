"""``latentkit train``: reproducible checkpoints, plugin architectures, what it records."""

import json
from pathlib import Path

import pytest

from latentkit.commands.train import epoch_line, train
from latentkit.errors import LatentkitError
from latentkit.models.checkpoint import read_header

EXAMPLE_PLUGIN = Path(__file__).parents[2] / "examples" / "plugin_linear_vae.py"


def test_same_seed_gives_a_byte_identical_checkpoint(tmp_path):
    paths = [
        train("vae", data="digits", out=tmp_path / f"{run}.safetensors", epochs=1, n=64, latent_dim=2, seed=5).path
        for run in range(2)
    ]
    assert paths[0].read_bytes() == paths[1].read_bytes()


def test_trains_a_plugin_architecture_and_logs_each_epoch(tmp_path):
    lines = []
    result = train(
        "vae", data="digits", out=tmp_path / "lin.safetensors", epochs=2, n=64, plugin="linear-vae",
        config={"latent_dim": 3}, plugin_files=[EXAMPLE_PLUGIN], log=lines.append,
    )  # fmt: skip
    meta = read_header(result.path).latentkit_metadata
    assert meta["plugin"] == "linear-vae" and json.loads(meta["config"]) == {"latent_dim": 3}
    assert [line.split(":")[0] for line in lines] == ["epoch 1/2", "epoch 2/2"]
    assert "negative ELBO" in lines[0] and "KL" in lines[0]
    assert result.final_loss_text.startswith("final negative ELBO")


def test_a_plugin_of_the_wrong_image_size_is_refused(tmp_path):
    with pytest.raises(LatentkitError, match=r"makes images of shape \[1, 8, 8\] but shapes holds \[1, 64, 64\]"):
        train("vae", data="shapes", out=tmp_path / "x.safetensors", epochs=1, n=8, plugin="linear-vae",
              plugin_files=[EXAMPLE_PLUGIN])  # fmt: skip


def test_a_data_file_is_recorded_as_an_absolute_path(tmp_path, monkeypatch, handset_data):
    monkeypatch.chdir(handset_data.parent)
    result = train("vae", data=handset_data.name, out="m.safetensors", epochs=1, latent_dim=2)
    assert read_header(result.path).latentkit_metadata["dataset"] == str(handset_data.resolve())


def test_gan_epoch_line_names_both_losses():
    line = epoch_line({"epoch": 2, "loss": 0.7, "discriminator_loss": 1.3}, 5, "gan")
    assert line.startswith("epoch 2/5: generator loss 0.7000, discriminator loss 1.3000")
