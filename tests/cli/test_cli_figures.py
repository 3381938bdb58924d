"""The figure commands on the command line: bad input is one line and exit 2, --json is stdout alone."""

import json
import os
import subprocess
import sys

import pytest

from latentkit.cli import main


def run(capsys, *args):
    code = main(list(map(str, args)))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["interpolate", "{gan}", "--from", "0", "--to", "1"], "its endpoints cannot be data points"),
        (["interpolate", "{vae}", "--steps", "1"], "--steps 1 is outside 2..1000"),
        (["interpolate", "{vae}", "--from", "0", "--to", "1797"], "--to 1797 is out of range: digits has 1797 rows"),
        (["interpolate", "{vae}", "--mode", "cubic"], "unknown --mode 'cubic'"),
        (["traverse", "{vae}", "--steps", "1"], "--steps 1 is outside 2..1000"),
        (["traverse", "{vae}", "--base", "1797"], "--base 1797 is out of range"),
        (["traverse", "{vae}", "--range", "wide"], "neither a number nor 'quantile'"),
        (["traverse", "{gan}", "--range", "quantile"], "need an encoder"),
        (["umap", "{vae}", "--color-by", "shape"], "not a label or factor of digits; valid: y"),
        (["umap", "{vae}", "--method", "isomap"], "unknown --method 'isomap'"),
        (["umap", "{vae}", "--n", "5000"], "--n 5000 is more than the 1797 rows of digits"),
        (["umap", "{vae}", "--format", "jpg"], "unknown figure format"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(
    capsys, mlp_vae_checkpoint, mlp_gan_checkpoint, tmp_path, args, message
):
    args = [a.replace("{vae}", str(mlp_vae_checkpoint)).replace("{gan}", str(mlp_gan_checkpoint)) for a in args]
    code, out, err = run(capsys, "-q", *args, "--out", tmp_path / "o")
    assert code == 2, err
    assert message in err
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("command", "extra", "schema"),
    [
        ("interpolate", ["--pairs", "2", "--steps", "3"], "latentkit.interpolate"),
        ("traverse", ["--steps", "3", "--n", "200"], "latentkit.traverse"),
        ("umap", ["--method", "pca", "--n", "300"], "latentkit.umap"),
    ],
)
def test_json_goes_to_stdout_alone(capsys, mlp_vae_checkpoint, tmp_path, command, extra, schema):
    code, out, err = run(capsys, "-q", command, mlp_vae_checkpoint, "--json", "--out", tmp_path, *extra)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["schema"] == schema
    assert "wrote" in err and "wrote" not in out
    for name in doc["figures"].values():
        assert (tmp_path / name).exists()


def test_umap_help_says_the_seed_costs_parallelism_without_importing_umap():
    code = (
        "import sys; from latentkit.cli import main; "
        "rc = main(['umap', '--help']); "
        "heavy = [m for m in ('torch', 'umap', 'matplotlib', 'sklearn', 'numba') if m in sys.modules]; "
        "assert not heavy, heavy; sys.exit(rc)"
    )
    environment = {**os.environ, "COLUMNS": "200"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment)
    assert result.returncode == 0, result.stderr
    assert "single-threaded" in result.stdout
