"""The README's plugin example is the file in examples/, and it works end to end."""

import re
from pathlib import Path

import numpy as np
import pytest

from latentkit.commands.kl_report import kl_report
from latentkit.models.checkpoint import save
from latentkit.models.registry import PluginRegistry

ROOT = Path(__file__).parents[1]
EXAMPLE = ROOT / "examples" / "plugin_linear_vae.py"


def test_readme_example_is_the_example_file():
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- example: examples/plugin_linear_vae.py -->\n```python\n(.*?)```", readme, re.S)
    assert block is not None
    assert block.group(1) == EXAMPLE.read_text()


def test_plugin_example_runs_through_kl_report(tmp_path):
    registry = PluginRegistry([EXAMPLE])
    plugin = registry.get("linear-vae")
    model = plugin.build({"latent_dim": 3})
    path = save(model, tmp_path / "linear.safetensors", plugin="linear-vae", config={"latent_dim": 3})
    report = kl_report(path, data="digits", plugin_files=[EXAMPLE], write=False)
    import torch

    from latentkit.data import open_data

    digits = open_data("digits")  # the same KL, computed here from the plugin's own encoder
    with torch.no_grad():
        mean, logvar = (t.double().numpy() for t in model.encode(torch.from_numpy(digits.get(np.arange(len(digits))))))
    per_dim = (0.5 * (mean**2 + np.exp(logvar) - 1 - logvar)).mean(axis=0)
    np.testing.assert_allclose(report.per_dim, per_dim, rtol=1e-5, atol=1e-7)
    assert report.total == pytest.approx(per_dim.sum(), rel=1e-5)


def test_readme_quick_start_has_exactly_two_commands():
    readme = (ROOT / "README.md").read_text()
    quick = readme.split("## Quick start", 1)[1].split("##", 1)[0]
    block = re.search(r"```bash\n(.*?)```", quick, re.S).group(1).strip().splitlines()
    assert len(block) == 2
    assert block[0].endswith("latentkit demo") and "pytest" in block[1]
    ci = (ROOT / ".ci" / "run").read_text()
    assert block[1] in ci


def test_quick_start_and_ci_install_every_plugin_package():
    """Each package under plugins/ is installed by the quick start and by CI, so its tests run."""
    readme = (ROOT / "README.md").read_text()
    install = readme.split("## Quick start", 1)[1].split("```bash\n", 1)[1].splitlines()[0]
    ci = (ROOT / ".ci" / "run").read_text()
    packages = sorted(p.parent.name for p in (ROOT / "plugins").glob("*/pyproject.toml"))
    assert packages == ["latentkit-diffusers", "latentkit-export", "latentkit-pythae"]
    for name in packages:
        assert f"-e plugins/{name}" in install and f"-e plugins/{name}" in ci
        assert any((ROOT / "plugins" / name / "tests").glob("test_*.py"))


def test_readme_entry_point_names_a_plugin_the_example_defines():
    """Installed as the README says (the file as my_package/plugins.py), the entry point loads."""
    import importlib.util

    from latentkit.models.registry import _check_plugin

    readme = (ROOT / "README.md").read_text()
    target = re.search(r'^linear-vae = "my_package\.plugins:(\w+)"$', readme, re.M)
    assert target is not None
    spec = importlib.util.spec_from_file_location("my_package_plugins", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    plugin = _check_plugin(getattr(module, target.group(1)), "entry point")
    assert plugin.name == "linear-vae" and plugin.kind == "vae"


def test_readme_plugin_recipe_trains_a_checkpoint(tmp_path, monkeypatch):
    """The README's `train --plugin` line, shortened to one epoch, writes a checkpoint kl-report opens."""
    import shlex

    from latentkit.cli import main

    readme = (ROOT / "README.md").read_text()
    line = re.search(r"^latentkit train vae --plugin linear-vae .*?\n.*?$", readme, re.M | re.S).group(0)
    args = shlex.split(line.replace("\\\n", " "))[1:]
    args = [str(EXAMPLE) if a == "examples/plugin_linear_vae.py" else a for a in args]
    args[args.index("--epochs") + 1] = "1"
    monkeypatch.chdir(tmp_path)
    assert main(["-q", *args]) == 0
    report = kl_report("my-linear-vae.safetensors", plugin_files=[EXAMPLE], write=False)
    assert report.per_dim.shape == (4,)
