"""The command-line surface: exit codes, one-line errors, stdout discipline."""

import json
import subprocess
import sys

import pytest

from latentkit.cli import main
from tests.conftest import HANDSET_PLUGIN


def run(capsys, *args):
    code = main(list(map(str, args)))
    out, err = capsys.readouterr()
    return code, out, err


def test_help_imports_no_heavy_library():
    code = (
        "import sys; from latentkit.cli import main; "
        "rc = main(['--help']); "
        "heavy = [m for m in ('torch', 'umap', 'matplotlib', 'sklearn') if m in sys.modules]; "
        "assert not heavy, heavy; sys.exit(rc)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "kl-report" in result.stdout


def test_kl_report_json_goes_to_stdout_alone(capsys, handset_checkpoint, tmp_path):
    code, out, err = run(
        capsys, "-q", "kl-report", handset_checkpoint, "--plugin-file", HANDSET_PLUGIN, "--json", "--out", tmp_path
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["results"]["active_units"] == 3
    assert "total KL" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["info", "missing.safetensors"], "does not exist"),
        (["kl-report", "missing.safetensors"], "does not exist"),
        (["kl-report", "{ckpt}"], "unknown plugin"),
        (["kl-report", "{ckpt}", "--plugin-file", HANDSET_PLUGIN, "--data", "digits"], "cannot take data"),
        (["kl-report", "{ckpt}", "--plugin-file", HANDSET_PLUGIN, "--data", "nowhere.npz"], "nowhere.npz"),
        (["kl-report", "{ckpt}", "--plugin-file", HANDSET_PLUGIN, "--config", "{bad json"], "not valid JSON"),
        (["kl-report", "{ckpt}", "--plugin-file", "no_such_plugin.py"], "does not exist"),
        (["train", "vea", "--data", "digits", "--out", "x.safetensors"], "unknown model type"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, handset_checkpoint, tmp_path, args, message):
    args = [str(a).replace("{ckpt}", str(handset_checkpoint)) for a in args]
    code, out, err = run(capsys, "-q", *args, *(["--out", tmp_path / "o"] if args[0] == "kl-report" else []))
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    assert not (tmp_path / "o" / "kl-report.json").exists()


def test_debug_shows_the_traceback(capsys):
    code, out, err = run(capsys, "--debug", "info", "missing.safetensors")
    assert code == 2 and "Traceback" in err


def test_unwritable_output_folder(capsys, handset_checkpoint, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, out, err = run(capsys, "kl-report", handset_checkpoint, "--plugin-file", HANDSET_PLUGIN, "--out", blocker / "sub")
    assert code == 2 and "cannot create output folder" in err


def test_plugins_lists_builtins_and_broken_files(capsys):
    from tests.conftest import ASSETS

    code, out, err = run(capsys, "plugins", "--plugin-file", ASSETS / "broken_plugin.py")
    assert code == 0
    assert "conv-vae" in out and "broken" in out
