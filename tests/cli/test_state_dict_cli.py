"""A Lightning checkpoint of a built-in architecture, end to end through the command line, no flags."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from latentkit.cli import main
from latentkit.models.checkpoint import save

CONFIG = {"image_shape": [1, 8, 8], "latent_dim": 3, "hidden": [16]}


@pytest.fixture(scope="module")
def lightning(tmp_path_factory) -> tuple[Path, object, Path]:
    import torch

    from latentkit.models.builtin import MLP_VAE

    root = tmp_path_factory.mktemp("lightning")
    torch.manual_seed(0)
    model = MLP_VAE.build(CONFIG).eval()
    state = {f"model.{k}": v for k, v in model.state_dict().items()}
    torch.save({"state_dict": state, "hyper_parameters": {**CONFIG, "lr": 0.001}, "epoch": 3}, root / "vae.ckpt")
    images = np.random.default_rng(0).random((30, 1, 8, 8)).astype(np.float32)
    np.savez(root / "images.npz", x=images)
    return root / "vae.ckpt", model, root / "images.npz"


def test_info_interpolate_traverse_in_process(lightning, tmp_path, capsys):
    import torch

    path, model, data = lightning
    assert main(["info", str(path), "--json"]) == 0
    out, err = capsys.readouterr()
    doc = json.loads(out)
    assert err == ""  # trying the other architectures (diffusers, pythae) is silent
    ckpt = doc["checkpoint"]
    assert (ckpt["format"], ckpt["plugin"], ckpt["kind"], doc["results"]["latent_shape"]) == (
        "Lightning checkpoint", "mlp-vae", "vae", [3]
    )
    assert doc["results"]["parameter_count"] == sum(t.numel() for t in model.state_dict().values())
    assert any("prefix 'model.'" in note for note in doc["checkpoint"]["notes"])

    assert main(["-q", "interpolate", str(path), "--data", str(data), "--pairs", "2", "--steps", "3",
                 "--out", str(tmp_path / "i"), "--json"]) == 0  # fmt: skip
    result = json.loads(capsys.readouterr().out)
    assert result["checkpoint"]["format"] == "Lightning checkpoint"
    assert any("hyper_parameters" in note for note in result["checkpoint"]["notes"])
    from latentkit.commands.interpolate import interpolate

    api = interpolate(path, data=str(data), pairs=2, steps=3, write=False)
    with torch.no_grad():
        expected = model.decode(torch.from_numpy(api.codes.reshape(-1, 3)).float()).numpy()
    np.testing.assert_allclose(api.images.reshape(expected.shape), expected, atol=1e-5)

    assert main(["-q", "traverse", str(path), "--data", str(data), "--steps", "3", "--out", str(tmp_path / "t")]) == 0
    shown = capsys.readouterr().out
    assert "traversal" in shown
    assert "model: stripped the key prefix 'model.' (detected; --strip-prefix sets it)" in shown


def test_console_script_kl_report_equals_the_module(lightning, tmp_path):
    import torch

    path, model, data = lightning
    script = Path(sys.executable).parent / "latentkit"
    run = subprocess.run(
        [script, "-q", "kl-report", path, "--data", data, "--out", tmp_path, "--json"],
        capture_output=True, text=True, env={**os.environ, "NO_COLOR": "1"}, check=True,
    )  # fmt: skip
    with torch.no_grad():
        mean, logvar = (t.double().numpy() for t in model.encode(torch.from_numpy(np.load(data)["x"])))
    per_dim = (0.5 * (mean**2 + np.exp(logvar) - 1 - logvar)).mean(axis=0)
    np.testing.assert_allclose(json.loads(run.stdout)["results"]["kl"]["per_dim"], per_dim, rtol=1e-6, atol=1e-6)


def test_keys_matching_no_architecture_is_one_line(tmp_path, capsys):
    import torch

    path = tmp_path / "resnet.pth"
    torch.save({"conv1.weight": torch.zeros(4, 3, 3, 3)}, path)
    out = tmp_path / "out"
    assert main(["traverse", str(path), "--data", "digits", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "match no known architecture" in err
    assert not out.exists() or not any(out.iterdir())


def test_info_table_shows_training_settings(tmp_path, capsys):
    from latentkit.models.builtin import MLP_VAE

    path = save(MLP_VAE.build(CONFIG), tmp_path / "b.safetensors", plugin="mlp-vae", config=CONFIG,
                training={"beta": 4.0, "epochs": 12, "seed": 7})  # fmt: skip
    assert main(["info", str(path)]) == 0
    lines = {line.split()[0]: line.split()[1:] for line in capsys.readouterr().out.splitlines() if line.strip()}
    assert lines["β"] == ["4.0"] and lines["epochs"] == ["12"] and lines["seed"] == ["7"]
    assert lines["format"] == ["latentkit", "checkpoint"]
