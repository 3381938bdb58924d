"""The README's plugin example is the file in examples/, and it works end to end."""

import re
from pathlib import Path

import numpy as np

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
    assert report.per_dim.shape == (3,)
    assert np.isfinite(report.total)


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
