"""Which plugin opens a path: detection order, two claimants, none, and broken plugin packages."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from latentkit.cli import main
from latentkit.errors import LatentkitError
from latentkit.models.formats import open_model
from latentkit.models.registry import PluginRegistry

TWIN_PLUGINS = '''
from latentkit import Plugin
from latentkit.models.plugin import LoadedModel


def load(path, config, device, options):
    import torch

    class Flat(torch.nn.Module):
        latent_dim = 2

        def encode(self, x):
            return x.flatten(1)[:, :2], torch.zeros(len(x), 2)

        def decode(self, z):
            return z

    return LoadedModel(Flat(), {"from": path.name})


def detect(path):
    return path.suffix == ".twin"


PLUGINS = [
    Plugin(name=name, kind="vae", detect=detect, load=load, formats=(f"{name} .twin",)) for name in ("twin-a", "twin-b")
]
'''


@pytest.fixture
def twin_file(tmp_path: Path) -> Path:
    path = tmp_path / "twins.py"
    path.write_text(TWIN_PLUGINS)
    return path


def test_two_plugins_claiming_a_path_is_an_error_naming_both(tmp_path, twin_file):
    model = tmp_path / "m.twin"
    model.write_text("x")
    with pytest.raises(LatentkitError, match="several plugins recognise .*: twin-a, twin-b") as info:
        open_model(model, plugin_files=[twin_file])
    assert "--plugin twin-a" in info.value.fix
    ckpt = open_model(model, plugin="twin-b", plugin_files=[twin_file])
    assert (ckpt.plugin, ckpt.kind, ckpt.config, ckpt.format) == ("twin-b", "vae", {"from": "m.twin"}, "twin-b .twin")


def test_a_path_no_plugin_recognises_lists_the_known_formats(tmp_path, capsys):
    folder = tmp_path / "mystery"
    folder.mkdir()
    (folder / "weights.bin").write_bytes(b"\0")
    out = tmp_path / "out"
    assert main(["kl-report", str(folder), "--data", "digits", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert f"no installed plugin recognises the folder {folder}; latentkit opens: latentkit .safetensors" in err
    assert "--plugin NAME" in err
    assert not out.exists() or not any(out.iterdir())


def test_a_version_1_plugin_object_still_builds(tmp_path):
    path = tmp_path / "old.py"
    path.write_text(textwrap.dedent('''
        class OldPlugin:
            name, kind, api_version = "old-vae", "vae", 1

            @staticmethod
            def build(config):
                from latentkit.models.builtin import MLP_VAE
                return MLP_VAE.build(config)

        PLUGINS = [OldPlugin()]
    '''))
    plugin = PluginRegistry([path]).get("old-vae")
    assert plugin.api_version == 1 and plugin.detect is None
    assert plugin.build({"latent_dim": 2}).latent_dim == 2


def test_plugins_check_fails_on_a_plugin_whose_example_does_not_build(tmp_path, capsys):
    path = tmp_path / "bad_example.py"
    path.write_text(textwrap.dedent('''
        from latentkit import Plugin

        def build(config):
            raise ValueError(f"no such width {config['width']}")

        PLUGINS = [Plugin(name="bad-example", kind="vae", build=build, example_config={"width": -1})]
    '''))
    assert main(["plugins", "--plugin-file", str(path)]) == 0
    capsys.readouterr()
    assert main(["plugins", "--check", "--json", "--plugin-file", str(path)]) == 1
    import json

    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)["results"]["plugins"]}
    assert rows["bad-example"]["status"] == "broken" and "no such width -1" in rows["bad-example"]["reason"]
    assert rows["mlp-vae"]["status"] == "ok"


@pytest.fixture
def broken_package(tmp_path: Path, monkeypatch) -> Path:
    """An installed distribution whose entry point fails to import (a missing dependency)."""
    site = tmp_path / "site"
    dist = site / "latentkit_broken-0.3.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: latentkit-broken\nVersion: 0.3\n")
    (dist / "entry_points.txt").write_text("[latentkit.plugins]\nbroken = latentkit_broken_mod:PLUGIN\n")
    (site / "latentkit_broken_mod.py").write_text("import a_dependency_that_is_not_installed\n")
    monkeypatch.syspath_prepend(str(site))
    return site


def test_a_broken_plugin_package_is_listed_and_breaks_nothing(broken_package, mlp_vae_checkpoint, capsys):
    rows = {row.name: row for row in PluginRegistry().entries()}
    assert rows["broken"].status == "broken" and rows["broken"].origin == "entry point latentkit-broken 0.3"
    assert "ModuleNotFoundError" in rows["broken"].reason and "a_dependency_that_is_not_installed" in rows["broken"].reason
    assert rows["mlp-vae"].status == "ok"
    assert open_model(mlp_vae_checkpoint).plugin == "mlp-vae"  # detection skips the broken one
    assert main(["plugins"]) == 0
    assert "broken" in capsys.readouterr().out
    assert main(["plugins", "--check"]) == 1
    code = "import sys; from latentkit.cli import main; sys.exit(main(['--help']))"
    env = {"PYTHONPATH": f"{broken_package}:{Path(__file__).parents[2]}", "PATH": ""}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert result.returncode == 0 and "kl-report" in result.stdout
