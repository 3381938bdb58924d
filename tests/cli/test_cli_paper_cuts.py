"""Small things a user types or reads: version, flag positions, help text, names, progress, folders."""

import json
import re

import numpy as np
import pytest

from latentkit.cli import hoist_global_flags, main
from tests.conftest import HANDSET_PLUGIN

COMMANDS = ("info", "plugins", "kl-report", "interpolate", "traverse", "umap", "train", "demo", "disentangle")


def run(capsys, *args):
    code = main(list(map(str, args)))
    out, err = capsys.readouterr()
    return code, out, err


def flat(text: str) -> str:
    """Help text without the panel borders and line breaks, for phrase searches."""
    return re.sub(r"\s+", " ", re.sub(r"[│╭╮╰╯─]", " ", text))


def test_version_alone(capsys):
    code, out, _ = run(capsys, "--version")
    assert code == 0 and re.fullmatch(r"latentkit \S+\n", out)


def test_quiet_and_debug_after_the_command(capsys, handset_checkpoint):
    code, out, err = run(capsys, "info", handset_checkpoint, "-q", "--debug")
    assert code == 0, err
    assert "handset-vae" in out
    assert hoist_global_flags(["info", "x", "-q", "--", "-q"]) == ["-q", "info", "x", "--", "-q"]


@pytest.mark.parametrize("command", COMMANDS)
def test_help_shows_plain_placeholders(capsys, command):
    code, out, _ = run(capsys, command, "--help")
    assert code == 0
    assert not re.search(r"<(bool|str|int|float|path|list\[\w+\])>", out), out
    assert "{{" not in out


def test_help_texts_survive_the_markup(capsys):
    _, out, _ = run(capsys, "kl-report", "--help")
    assert "Var_x(E[z_i|x])" in flat(out)
    _, out, _ = run(capsys, "train", "--help")
    assert "{MODEL_TYPE}" in out
    _, out, _ = run(capsys, "disentangle", "--help")
    assert "beta_vae, factor_vae (default: all the input supports)" in flat(out)


def test_metrics_named_alike_on_the_command_line_and_in_the_json(capsys, tmp_path):
    factors = np.array([[a, b] for a in range(5) for b in range(4)])  # every combination once: a sampler
    codes = factors + np.random.default_rng(0).normal(0, 0.05, factors.shape)
    path = tmp_path / "codes.npz"
    np.savez(path, codes=codes, factors=factors)
    code, out, err = run(
        capsys, "disentangle", "--codes", path, "--metrics", "beta-vae", "--num-train", 40, "--num-eval", 20,
        "--json", "--out", tmp_path / "o",
    )  # fmt: skip
    assert code == 0, err
    doc = json.loads(out)
    assert set(doc["results"]["estimation"]) == {"beta_vae"}
    assert set(doc["results"]["scores"]) == {"beta_vae.train_accuracy", "beta_vae.eval_accuracy"}
    assert "--metrics beta_vae" in doc["provenance"]["command"]


def test_bootstrap_time_is_reported(capsys, tmp_path):
    factors = np.repeat(np.arange(5), 40)[:, None]
    path = tmp_path / "codes.npz"
    np.savez(path, codes=factors + np.random.default_rng(0).normal(0, 0.3, factors.shape), factors=factors)
    code, out, err = run(capsys, "disentangle", "--codes", path, "--metrics", "mig", "--bootstrap", 3, "--out", tmp_path)
    assert code == 0, err
    assert re.search(r"time per metric: mig [\d.]+ s, bootstrap [\d.]+ s", flat(out))


def test_plain_progress_lines_when_stderr_is_not_a_terminal(capsys, handset_checkpoint, tmp_path):
    args = ("kl-report", handset_checkpoint, "--plugin-file", HANDSET_PLUGIN, "--out", tmp_path, "--dpi", 50)
    code, _, err = run(capsys, *args)
    assert code == 0, err
    assert "encoding: 0/257 (0%), 0 s" in err
    assert re.search(r"encoding: 257/257 \(100%\), \d+ s", err)
    code, _, err = run(capsys, *args, "-q")
    assert code == 0 and "encoding:" not in err


def test_default_output_folders_of_two_checkpoints_with_one_name_differ(tmp_path):
    from latentkit.commands._common import default_out_dir

    a, b = tmp_path / "a" / "model.safetensors", tmp_path / "b" / "model.safetensors"
    assert default_out_dir(a) != default_out_dir(b)
    assert default_out_dir(a).name.startswith("model-") and default_out_dir(a) == default_out_dir(a)
    assert default_out_dir(a).parent.name == "latentkit-out"


def test_missing_training_data_names_the_checkpoint_as_its_source(capsys, tmp_path, monkeypatch):
    images = np.random.default_rng(0).random((40, 1, 8, 8)).astype(np.float32)
    np.savez(tmp_path / "mine.npz", x=images)
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "-q", "train", "vae", "--data", "mine.npz", "--out", "m.safetensors", "--epochs", 1)
    assert code == 0, err
    (tmp_path / "mine.npz").rename(tmp_path / "moved.npz")
    code, _, err = run(capsys, "kl-report", "m.safetensors", "--out", "o")
    assert code == 2
    assert f"{tmp_path / 'mine.npz'}" in err and "from its latentkit.dataset metadata" in err
    assert "pass --data PATH" in err


def test_train_and_demo_take_a_device(capsys, tmp_path):
    for args in (["train", "vae", "--data", "digits", "--out", tmp_path / "x.safetensors"], ["demo", "--out", tmp_path]):
        code, _, err = run(capsys, *args, "--device", "tpu")
        assert code == 2 and "tpu" in err, err


def test_info_device_checks_the_device_and_the_room_for_the_weights(capsys, handset_checkpoint):
    code, out, err = run(capsys, "info", handset_checkpoint, "--device", "cpu", "--json")
    assert code == 0, err
    document = json.loads(out)
    fit = document["results"]["device"]
    assert fit["device"] == "cpu" and fit["name"] == "CPU"
    assert fit["weights_bytes"] == 4 * document["results"]["parameter_count"]
    assert fit["fits"] is True and fit["free_bytes"] > fit["weights_bytes"]
    assert document["provenance"]["command"].endswith(" --device cpu")
    code, out, _ = run(capsys, "info", handset_checkpoint, "--device", "cpu")
    assert code == 0 and "cpu (CPU): usable; weights" in flat(out) and "fit in" in out
    code, out, _ = run(capsys, "info", handset_checkpoint, "--json")
    assert json.loads(out)["results"]["device"] is None  # without --device, info never imports torch's device checks
    code, _, err = run(capsys, "info", handset_checkpoint, "--device", "tpu")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "tpu" in err


def test_train_kl_warmup_is_recorded_and_checked(capsys, tmp_path):
    out = tmp_path / "w.safetensors"
    code, _, err = run(capsys, "train", "vae", "--data", "digits", "--n", "100", "--epochs", "1", "--kl-warmup", "50", "--out", out)
    assert code == 0, err
    code, stdout, _ = run(capsys, "info", out, "--json")
    assert json.loads(stdout)["results"]["training"] == {"beta": 1.0, "epochs": 1, "seed": 0, "kl_warmup": 50}
    code, _, err = run(capsys, "train", "gan", "--data", "digits", "--kl-warmup", "5", "--out", tmp_path / "g.safetensors")
    assert code == 2 and "--kl-warmup applies to VAEs only" in err
    code, _, err = run(capsys, "train", "vae", "--data", "digits", "--kl-warmup", "-3", "--out", tmp_path / "v.safetensors")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "--kl-warmup -3 is outside" in err
