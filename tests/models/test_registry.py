import subprocess
import sys
from pathlib import Path

import pytest

from latentkit.errors import LatentkitError
from latentkit.models.registry import PluginRegistry
from tests.conftest import ASSETS, HANDSET_PLUGIN


def test_builtins_are_found_through_entry_points():
    rows = {row.name: row for row in PluginRegistry().entries()}
    assert {"mlp-vae", "conv-vae", "mlp-gan", "dcgan"} <= set(rows)
    assert rows["conv-vae"].origin == "built-in" and rows["conv-vae"].kind == "vae"
    assert rows["dcgan"].kind == "gan" and rows["dcgan"].status == "ok"


def test_listing_plugins_imports_no_heavy_library():
    code = (
        "import sys; from latentkit.commands.plugins import list_plugins; list_plugins(); "
        "heavy = [m for m in ('torch', 'umap', 'matplotlib', 'sklearn') if m in sys.modules]; "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_plugin_file_adds_plugins_and_a_broken_one_is_reported_not_fatal():
    registry = PluginRegistry([HANDSET_PLUGIN, ASSETS / "broken_plugin.py"], strict=False)
    rows = {row.name: row for row in registry.entries()}
    assert rows["handset-vae"].origin == f"file {HANDSET_PLUGIN}"
    assert rows["broken_plugin.py"].status == "broken"
    assert "deliberately broken" in rows["broken_plugin.py"].reason
    assert rows["mlp-vae"].status == "ok"
    with pytest.raises(LatentkitError, match="deliberately broken"):
        PluginRegistry([ASSETS / "broken_plugin.py"])


def test_plugin_file_without_plugins_list(tmp_path: Path):
    path = tmp_path / "empty.py"
    path.write_text("x = 1\n")
    with pytest.raises(LatentkitError, match="defines no list PLUGINS"):
        PluginRegistry([path])
    with pytest.raises(LatentkitError, match="does not exist"):
        PluginRegistry([tmp_path / "missing.py"])
