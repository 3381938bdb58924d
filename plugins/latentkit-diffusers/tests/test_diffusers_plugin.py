"""latentkit-diffusers: an AutoencoderKL folder opens with no flags, and every number matches diffusers."""

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
from latentkit.models.formats import open_model
from latentkit_diffusers import EXAMPLE_CONFIG

@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> tuple[Path, torch.nn.Module, Path]:
    from diffusers import AutoencoderKL

    root = tmp_path_factory.mktemp("diffusers")
    torch.manual_seed(0)
    vae = AutoencoderKL.from_config(EXAMPLE_CONFIG).eval()
    vae.save_pretrained(root / "vae")
    images = np.random.default_rng(0).random((6, 3, 16, 16)).astype(np.float32)
    np.savez(root / "images.npz", x=images)
    return root / "vae", vae, root / "images.npz"


def _library_posterior(vae, images: np.ndarray):
    with torch.no_grad():
        return vae.encode(torch.from_numpy(images) * 2 - 1).latent_dist


def test_folder_opens_with_the_library_posterior_and_decoder(saved):
    folder, vae, data = saved
    ckpt = open_model(folder)
    assert (ckpt.plugin, ckpt.kind, ckpt.format, ckpt.latent_shape) == (
        "diffusers", "vae", "diffusers AutoencoderKL", (4, 8, 8),
    )  # fmt: skip
    images = np.load(data)["x"]
    posterior = _library_posterior(vae, images)
    with torch.no_grad():
        mean, logvar = ckpt.model.encode(torch.from_numpy(images))
        z = torch.randn(3, 4, 8, 8, generator=torch.Generator().manual_seed(0))
        decoded = ckpt.model.decode(z)
        expected = (vae.decode(z).sample / 2 + 0.5).clamp(0, 1)
    assert torch.equal(mean, posterior.mean) and torch.equal(logvar, posterior.logvar)
    # latentkit's KL per item, from (mean, logvar), equals diffusers' DiagonalGaussianDistribution.kl()
    kl = 0.5 * (mean.double() ** 2 + logvar.double().exp() - 1 - logvar.double()).sum(dim=(1, 2, 3))
    torch.testing.assert_close(kl, posterior.kl().double(), rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(decoded, expected, rtol=0, atol=1e-5)


def test_single_safetensors_with_config(saved, tmp_path):
    folder, vae, _ = saved
    weights = tmp_path / "vae.safetensors"
    weights.write_bytes((folder / "diffusion_pytorch_model.safetensors").read_bytes())
    with pytest.raises(LatentkitError, match="no config") as info_:
        open_model(weights)
    assert "--config" in info_.value.fix
    config = json.loads((folder / "config.json").read_text())
    ckpt = open_model(weights, config=config)
    x = torch.rand(2, 3, 16, 16)
    with torch.no_grad():
        assert torch.equal(ckpt.model.encode(x)[0], vae.encode(x * 2 - 1).latent_dist.mean)


def test_a_pipeline_folder_opens_its_vae_and_hashes_only_the_vae(saved, tmp_path):
    import shutil

    folder, _, _ = saved
    pipeline = tmp_path / "pipeline"
    shutil.copytree(folder, pipeline / "vae")
    (pipeline / "model_index.json").write_text(json.dumps({"_class_name": "StableDiffusionPipeline"}))
    (pipeline / "unet").mkdir()
    (pipeline / "unet" / "weights.bin").write_bytes(b"a large UNet")
    ckpt = open_model(pipeline)
    assert ckpt.plugin == "diffusers" and ckpt.latent_shape == (4, 8, 8)
    digest = ckpt.sha256
    (pipeline / "unet" / "weights.bin").write_bytes(b"another UNet")
    assert open_model(pipeline).sha256 == digest != open_model(folder).sha256  # names are relative to the path


def test_info_reads_config_and_headers_only(saved):
    folder, vae, _ = saved
    result = info(folder)
    assert (result.format, result.plugin, result.kind, result.latent_shape) == (
        "diffusers AutoencoderKL", "diffusers", "vae", (4, 8, 8),
    )  # fmt: skip
    assert result.parameter_count == sum(t.numel() for t in vae.state_dict().values())
    assert result.size == sum(p.stat().st_size for p in folder.iterdir())
    assert result.config["latent_channels"] == 4


def test_a_config_naming_another_class_is_one_error(tmp_path, capsys):
    folder = tmp_path / "unet"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"_class_name": "UNet2DConditionModel"}))
    (folder / "diffusion_pytorch_model.safetensors").write_bytes(b"\0" * 16)
    out = tmp_path / "out"
    assert main(["kl-report", str(folder), "--data", "digits", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "'UNet2DConditionModel'; latentkit-diffusers opens AutoencoderKL" in err
    assert not out.exists() or not any(out.iterdir())


def test_plugins_check_builds_the_example_config(capsys):
    assert main(["plugins", "--check", "--json"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)["results"]["plugins"]}
    assert rows["diffusers"]["status"] == "ok"
    assert rows["diffusers"]["origin"].startswith("entry point latentkit-diffusers ")


def test_kl_report_equals_diagonal_gaussian_kl(saved):
    from latentkit.commands.kl_report import kl_report

    folder, vae, data = saved
    report = kl_report(folder, data=str(data), write=False)
    posterior = _library_posterior(vae, np.load(data)["x"])
    assert report.total == pytest.approx(posterior.kl().double().mean().item(), rel=1e-6)
    # latent scale: 1 / std of sampled latents = 1 / sqrt(Var(mean) + E[var]) over every value, per channel too
    mean, var = posterior.mean.double(), posterior.var.double()
    total_var = mean.var(unbiased=False) + var.mean()
    scale = report.document["results"]["scale"]
    assert scale["implied"]["scaling_factor"] == pytest.approx(1 / total_var.sqrt().item(), rel=1e-6)
    channel_std = (mean.transpose(0, 1).reshape(4, -1).var(dim=1, unbiased=False) + var.mean(dim=(0, 2, 3))).sqrt()
    np.testing.assert_allclose(scale["implied"]["latents_std"], channel_std.numpy(), rtol=1e-6)
    assert scale["config"]["scaling_factor"]["config"] == vae.config.scaling_factor
    assert report.document["results"]["layout"]["latent_shape"] == [4, 8, 8] and len(report.per_dim) == 4


def test_interpolate_and_traverse_decode_like_diffusers(saved):
    from latentkit.commands.interpolate import interpolate
    from latentkit.commands.traverse import traverse

    folder, vae, data = saved
    result = interpolate(folder, data=str(data), pairs=2, steps=3, write=False)
    codes = torch.from_numpy(result.codes.reshape(-1, 4, 8, 8)).float()
    with torch.no_grad():
        expected = (vae.decode(codes).sample / 2 + 0.5).clamp(0, 1).numpy()
    np.testing.assert_allclose(result.images.reshape(expected.shape), expected, atol=1e-5)
    walk = traverse(folder, data=str(data), steps=3, write=False)
    assert sorted(walk.dims.tolist()) == [0, 1, 2, 3]  # one row per channel


def test_console_script_info_without_torch_and_kl_report(saved, tmp_path):
    """`latentkit info` and `kl-report` on the folder through the installed script, no flags;
    the description imports no torch."""
    folder, vae, data = saved
    script = Path(sys.executable).parent / "latentkit"
    env = {**os.environ, "NO_COLOR": "1"}
    shown = subprocess.run([script, "info", folder, "--json"], capture_output=True, text=True, env=env, check=True)
    doc = json.loads(shown.stdout)
    assert (doc["checkpoint"]["plugin"], doc["results"]["latent_shape"]) == ("diffusers", [4, 8, 8])
    code = (
        "import sys; from latentkit.commands.info import info; "
        f"info({str(folder)!r}); assert 'torch' not in sys.modules, 'info imported torch'"
    )
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
    run = subprocess.run(
        [script, "-q", "kl-report", folder, "--data", data, "--out", tmp_path, "--json"],
        capture_output=True, text=True, env=env, check=True,
    )  # fmt: skip
    posterior = _library_posterior(vae, np.load(data)["x"])
    assert json.loads(run.stdout)["results"]["kl"]["total"] == pytest.approx(posterior.kl().double().mean().item(), rel=1e-6)
