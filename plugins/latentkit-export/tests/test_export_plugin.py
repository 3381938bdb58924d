"""latentkit-export: a VAE exported with torch.export opens with no flags and matches the original module."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch

from latentkit.cli import main
from latentkit.commands.info import info
from latentkit.commands.interpolate import interpolate
from latentkit.commands.kl_report import kl_report
from latentkit.commands.traverse import traverse
from latentkit.models.formats import open_model

README = Path(__file__).parents[1] / "README.md"
LATENT_DIM = 3


class TinyVAE(torch.nn.Module):
    """Linear encoder to (mean, logvar), sigmoid-linear decoder, for 1x4x4 images."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.encoder = torch.nn.Linear(16, 2 * LATENT_DIM)
        self.decoder = torch.nn.Linear(LATENT_DIM, 16)
        self.latent_dim = LATENT_DIM

    def encode(self, x):
        mean, logvar = self.encoder(x.flatten(1)).chunk(2, dim=1)
        return mean, logvar

    def decode(self, z):
        return torch.sigmoid(self.decoder(z)).view(-1, 1, 4, 4)


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> tuple[Path, TinyVAE, Path]:
    from latentkit_export import save_vae

    root = tmp_path_factory.mktemp("export")
    vae = TinyVAE().eval()
    save_vae(vae, torch.rand(2, 1, 4, 4), root / "vae.pt2")
    np.savez(root / "images.npz", x=np.random.default_rng(0).random((20, 1, 4, 4)).astype(np.float32))
    return root / "vae.pt2", vae, root / "images.npz"


def test_info_reads_the_archive_listing(exported):
    path, vae, _ = exported
    result = info(path)
    assert (result.format, result.plugin, result.kind, result.latent_shape) == (
        "torch.export archive (.pt2)", "export", "vae", (LATENT_DIM,),
    )  # fmt: skip
    assert result.parameter_count == sum(p.numel() for p in vae.parameters())
    assert result.size == path.stat().st_size
    assert result.config["programs"] == ["decode", "encode"]


def test_kl_report_interpolate_traverse_match_the_original_module(exported):
    path, vae, data = exported
    images = torch.from_numpy(np.load(data)["x"])
    with torch.no_grad():
        mean, logvar = (t.double().numpy() for t in vae.encode(images))
    report = kl_report(path, data=str(data), write=False)
    per_dim = (0.5 * (mean**2 + np.exp(logvar) - 1 - logvar)).mean(axis=0)
    np.testing.assert_allclose(report.per_dim, per_dim, rtol=1e-6, atol=1e-6)

    result = interpolate(path, data=str(data), pairs=2, steps=3, write=False)
    with torch.no_grad():
        expected = vae.decode(torch.from_numpy(result.codes.reshape(-1, LATENT_DIM)).float()).numpy()
    np.testing.assert_allclose(result.images.reshape(expected.shape), expected, atol=1e-5)

    walk = traverse(path, data=str(data), steps=3, write=False)
    assert sorted(walk.dims.tolist()) == list(range(LATENT_DIM))


def test_an_archive_without_encode_and_decode_is_one_error(tmp_path, capsys):
    path = tmp_path / "forward.pt2"
    torch.export.save(torch.export.export(torch.nn.Linear(2, 2), (torch.rand(2, 2),)), path)
    out = tmp_path / "out"
    assert main(["kl-report", str(path), "--data", "digits", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "holds the programs ['model']; latentkit-export needs 'encode' and 'decode'" in err
    assert not out.exists() or not any(out.iterdir())


def test_the_readme_lines_export_a_vae_that_opens(tmp_path, monkeypatch):
    """The README's five lines (plain torch, no latentkit) write a file every command opens."""
    code = re.search(r"<!-- export-lines -->\n```python\n(.*?)```", README.read_text(), re.S).group(1)
    vae = TinyVAE().eval()
    monkeypatch.chdir(tmp_path)
    exec(code, {"vae": vae, "x": torch.rand(2, 1, 4, 4), "z": torch.randn(2, LATENT_DIM)})  # noqa: S102
    ckpt = open_model(tmp_path / "vae.pt2")
    assert ckpt.plugin == "export" and ckpt.latent_shape == (LATENT_DIM,)
    x = torch.rand(5, 1, 4, 4)
    with torch.no_grad():
        for a, b in zip(ckpt.model.encode(x), vae.encode(x)):
            torch.testing.assert_close(a, b, rtol=0, atol=1e-6)


def test_console_script_info_and_kl_report(exported, tmp_path):
    """The installed `latentkit` opens the archive through the plugin's entry point, with no flags."""
    import json
    import os
    import subprocess
    import sys

    path, vae, data = exported
    script = Path(sys.executable).parent / "latentkit"
    env = {**os.environ, "NO_COLOR": "1"}
    shown = subprocess.run([script, "info", path, "--json"], capture_output=True, text=True, env=env, check=True)
    doc = json.loads(shown.stdout)
    assert (doc["checkpoint"]["plugin"], doc["results"]["latent_shape"]) == ("export", [LATENT_DIM])
    run = subprocess.run(
        [script, "-q", "kl-report", path, "--data", data, "--out", tmp_path, "--json"],
        capture_output=True, text=True, env=env, check=True,
    )  # fmt: skip
    with torch.no_grad():
        mean, logvar = (t.double().numpy() for t in vae.encode(torch.from_numpy(np.load(data)["x"])))
    total = (0.5 * (mean**2 + np.exp(logvar) - 1 - logvar)).mean(axis=0).sum()
    assert json.loads(run.stdout)["results"]["kl"]["total"] == pytest.approx(total, rel=1e-6)


def test_an_archive_with_pickled_sample_inputs_needs_the_trust_flag(exported, tmp_path):
    """torch retries sample inputs that weights_only refuses with full unpickling: refused by default."""
    import zipfile

    from latentkit import LatentkitError

    path, _, _ = exported
    hostile = tmp_path / "hostile.pt2"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(hostile, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename.endswith("/data/sample_inputs/encode.pt"):
                buffer = __import__("io").BytesIO()
                torch.save({"note": _NotAWeight()}, buffer)
                data = buffer.getvalue()
            target.writestr(item, data)
    with pytest.raises(LatentkitError, match="holds pickled objects") as info_:
        open_model(hostile)
    assert "--trust-pickles" in info_.value.fix


class _NotAWeight:
    """An object weights_only refuses to unpickle."""
