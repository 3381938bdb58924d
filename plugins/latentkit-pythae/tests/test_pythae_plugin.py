"""latentkit-pythae: pythae save folders open with no flags, and every number matches pythae's own networks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from latentkit import LatentkitError
from latentkit.cli import main
from latentkit.commands.info import info
from latentkit.commands.interpolate import interpolate
from latentkit.commands.kl_report import kl_report
from latentkit.commands.traverse import traverse
from latentkit.models.formats import open_model

INPUT_DIM = (1, 8, 8)
LATENT_DIM = 3


def _save(folder: Path, name: str = "VAE", **extra) -> torch.nn.Module:
    import pythae.models as models

    torch.manual_seed(0)
    config_class = getattr(models, "INFOVAE_MMD_Config" if name == "INFOVAE_MMD" else f"{name}Config")
    model = getattr(models, name)(config_class(input_dim=INPUT_DIM, latent_dim=LATENT_DIM), **extra).eval()
    model.save(str(folder))
    return model


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> tuple[Path, torch.nn.Module, Path]:
    root = tmp_path_factory.mktemp("pythae")
    model = _save(root / "beta-vae", "BetaVAE")
    images = np.random.default_rng(0).random((24, *INPUT_DIM)).astype(np.float32)
    np.savez(root / "images.npz", x=images)
    return root / "beta-vae", model, root / "images.npz"


def _posterior(model, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    with torch.no_grad():
        out = model.encoder(torch.from_numpy(images))
    return out.embedding.double().numpy(), out.log_covariance.double().numpy()


@pytest.mark.parametrize("name", ["VAE", "BetaTCVAE", "FactorVAE", "INFOVAE_MMD", "DisentangledBetaVAE"])
def test_each_gaussian_vae_opens_with_pythae_posterior(tmp_path, name):
    model = _save(tmp_path / name, name)
    ckpt = open_model(tmp_path / name)
    assert (ckpt.plugin, ckpt.kind, ckpt.format) == ("pythae", "vae", f"pythae save folder ({name})")
    x = torch.rand(5, *INPUT_DIM)
    with torch.no_grad():
        mean, logvar = ckpt.model.encode(x)
        out = model.encoder(x)
    assert torch.equal(mean, out.embedding) and torch.equal(logvar, out.log_covariance)


def test_info_reads_config_and_sizes_without_the_weights(saved):
    folder, model, _ = saved
    result = info(folder)
    assert (result.format, result.plugin, result.kind, result.latent_shape) == (
        "pythae save folder (BetaVAE)", "pythae", "vae", (LATENT_DIM,),
    )  # fmt: skip
    assert result.parameter_count == sum(t.numel() for t in model.state_dict().values())
    assert result.size == sum(p.stat().st_size for p in folder.iterdir())
    assert result.config["name"] == "BetaVAEConfig"
    assert info(folder / "model.pt").plugin == "pythae"  # the weights file itself is claimed too


def test_kl_report_equals_pythae_encoder_outputs(saved):
    folder, model, data = saved
    report = kl_report(folder, data=str(data), write=False)
    mean, logvar = _posterior(model, np.load(data)["x"])
    per_dim = (0.5 * (mean**2 + np.exp(logvar) - 1 - logvar)).mean(axis=0)
    np.testing.assert_allclose(report.per_dim, per_dim, rtol=1e-6, atol=1e-6)
    assert report.total == pytest.approx(per_dim.sum(), rel=1e-6)


def test_interpolate_and_traverse_decode_like_pythae(saved):
    folder, model, data = saved
    result = interpolate(folder, data=str(data), pairs=2, steps=3, write=False)
    codes = torch.from_numpy(result.codes.reshape(-1, LATENT_DIM)).float()
    with torch.no_grad():
        expected = model.decoder(codes)["reconstruction"].numpy()
    np.testing.assert_allclose(result.images.reshape(expected.shape), expected, atol=1e-5)

    walk = traverse(folder, data=str(data), steps=3, write=False)
    assert sorted(walk.dims.tolist()) == list(range(LATENT_DIM))
    with torch.no_grad():
        decoded = model.decoder(torch.from_numpy(walk.codes.reshape(-1, LATENT_DIM)).float())["reconstruction"]
    np.testing.assert_allclose(walk.images.reshape(decoded.shape), decoded.numpy(), atol=1e-5)


def _custom_encoder() -> torch.nn.Module:
    """A user network pythae pickles into encoder.pkl (cloudpickle stores it by value)."""
    from pythae.models.nn import BaseEncoder

    class CustomEncoder(BaseEncoder):
        def __init__(self) -> None:
            super().__init__()
            self.linear = torch.nn.Linear(64, 2 * LATENT_DIM)

        def forward(self, x):
            from pythae.models.base.base_utils import ModelOutput

            h = self.linear(x.reshape(x.shape[0], -1))
            return ModelOutput(embedding=h[:, :LATENT_DIM], log_covariance=h[:, LATENT_DIM:])

    return CustomEncoder()


def test_pickled_networks_need_the_trust_flag(tmp_path, saved, capsys):
    _, _, data = saved
    model = _save(tmp_path / "custom", "VAE", encoder=_custom_encoder())
    assert (tmp_path / "custom" / "encoder.pkl").is_file()
    out = tmp_path / "out"
    code = main(["kl-report", str(tmp_path / "custom"), "--data", str(data), "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "encoder.pkl" in err and "--trust-pickles" in err
    assert not out.exists() or not any(out.iterdir())  # nothing written

    ckpt = open_model(tmp_path / "custom", trust_pickles=True)
    x = torch.rand(4, *INPUT_DIM)
    with torch.no_grad():
        assert torch.equal(ckpt.model.encode(x)[0], model.encoder(x).embedding)
    assert any("--trust-pickles" in note for note in ckpt.notes)


def test_a_model_without_a_gaussian_posterior_is_refused(tmp_path):
    folder = tmp_path / "vq"
    _save(folder, "VAE")
    config = json.loads((folder / "model_config.json").read_text())
    (folder / "model_config.json").write_text(json.dumps({**config, "name": "VQVAEConfig"}))
    with pytest.raises(LatentkitError, match="'VQVAEConfig'; latentkit-pythae opens the Gaussian VAEs"):
        open_model(folder)


def test_console_script_end_to_end(saved, tmp_path):
    """The installed `latentkit` finds the plugin through its entry point, with no flags."""
    folder, model, data = saved
    script = Path(sys.executable).parent / "latentkit"
    env = {**os.environ, "NO_COLOR": "1"}
    shown = subprocess.run([script, "info", folder, "--json"], capture_output=True, text=True, env=env, check=True)
    assert json.loads(shown.stdout)["checkpoint"]["plugin"] == "pythae"
    run = subprocess.run(
        [script, "-q", "kl-report", folder, "--data", data, "--out", tmp_path, "--json"],
        capture_output=True, text=True, env=env, check=True,
    )  # fmt: skip
    mean, logvar = _posterior(model, np.load(data)["x"])
    total = (0.5 * (mean**2 + np.exp(logvar) - 1 - logvar)).mean(axis=0).sum()
    assert json.loads(run.stdout)["results"]["kl"]["total"] == pytest.approx(total, rel=1e-6)
