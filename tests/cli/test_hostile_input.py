"""Every failure the hardening issue listed, reproduced: exit 2 with one line, or exit 0 with the right result.

The commands run in-process through :func:`latentkit.cli.main`, as a user's shell would run them.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from latentkit.cli import main

ROOT = Path(__file__).parents[2]


def run(capsys, *args) -> tuple[int, str, str]:
    status = main(["-q", *map(str, args)])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def one_line_error(capsys, *args, contains: str = "") -> str:
    status, _, err = run(capsys, *args)
    lines = err.strip().splitlines()
    assert status == 2, err
    assert len(lines) == 1 and lines[0].startswith("error: ") and " — " in lines[0], err  # message — fix
    assert contains.lower() in lines[0].lower(), lines[0]
    return lines[0]


def safetensors_file(path: Path, header: object, data: bytes = b"", *, raw_header: bytes | None = None) -> Path:
    blob = raw_header if raw_header is not None else json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(blob)) + blob + data)
    return path


def hostile_config_checkpoint(path: Path) -> Path:
    """The issue's 209-byte file: a tiny mlp-vae header whose config asks for a 30000x30000 hidden layer."""
    meta = {
        "latentkit.format": "1",
        "latentkit.plugin": "mlp-vae",
        "latentkit.kind": "vae",
        "latentkit.config": json.dumps({"latent_dim": 2, "hidden": [30000, 30000]}),
    }
    return safetensors_file(path, {"__metadata__": meta, "w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 4)


# --- checkpoints ----------------------------------------------------------------------------------
def test_a_config_much_larger_than_the_weights_is_refused_before_building(capsys, tmp_path):
    path = hostile_config_checkpoint(tmp_path / "hostile.safetensors")
    assert path.stat().st_size < 300
    one_line_error(capsys, "kl-report", path, "--out", tmp_path / "out", contains="missing from hostile.safetensors")


def _kl_report_memory(path: Path, out: Path) -> tuple[str, float, str]:
    """Exit status, peak memory growth (MB) over the imports, and stderr of ``kl-report path`` in a fresh process."""
    code = f"""
import resource, sys
import torch, numpy, latentkit.cli, latentkit.commands.kl_report, latentkit.models.builtin
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
status = latentkit.cli.main(["-q", "kl-report", {str(path)!r}, "--out", {str(out)!r}])
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(status, (peak - base) / 1024)
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    status, grown_mb = result.stdout.split()
    return status, float(grown_mb), result.stderr


def test_the_hostile_checkpoint_stays_under_200_mb_over_the_import_baseline(tmp_path):
    path = hostile_config_checkpoint(tmp_path / "hostile.safetensors")
    status, grown_mb, stderr = _kl_report_memory(path, tmp_path / "out")
    assert status == "2", stderr
    assert grown_mb < 200, grown_mb


def test_hostile_lightning_hyper_parameters_are_refused_before_allocation(tmp_path):
    """A small mlp-vae state dict whose hyper_parameters ask for two 30000-wide layers (3.6 GB):
    the architecture is checked on the meta device and refused with the mismatch, never built."""
    import torch

    from latentkit.models.builtin import MLP_VAE

    small = {"image_shape": [1, 8, 8], "latent_dim": 2, "hidden": [4]}
    state = {f"model.{k}": v for k, v in MLP_VAE.build(small).state_dict().items()}
    path = tmp_path / "epoch=1.ckpt"
    hostile = {**small, "hidden": [30000, 30000]}
    torch.save({"state_dict": state, "hyper_parameters": hostile, "pytorch-lightning_version": "2.4.0"}, path)
    status, grown_mb, stderr = _kl_report_memory(path, tmp_path / "out")
    assert status == "2", stderr
    assert len(stderr.strip().splitlines()) == 1 and "epoch=1.ckpt" in stderr, stderr
    assert grown_mb < 200, grown_mb


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ({"w": {"dtype": "F32", "shape": [1], "data_offsets": ["0", "4"]}}, "data_offsets"),
        ({"w": {"dtype": "F32", "shape": [1], "data_offsets": None}}, "data_offsets"),
        ({"w": {"dtype": ["F32"], "shape": [1], "data_offsets": [0, 4]}}, "dtype"),
        ({"w": {"dtype": "F32", "shape": "1", "data_offsets": [0, 4]}}, "shape"),
        ({"w": {"dtype": "F32", "shape": [True], "data_offsets": [0, 4]}}, "shape"),
        ({"w": "not an entry"}, "needs dtype"),
        ({"__metadata__": {"latentkit.plugin": 3}}, "__metadata__"),
    ],
)
def test_malformed_header_fields(capsys, tmp_path, header, message):
    path = safetensors_file(tmp_path / "bad.safetensors", header, b"\0" * 4)
    for command in ("info", "kl-report"):
        one_line_error(capsys, command, path, contains=message)


@pytest.mark.parametrize("where", ["header", "config"])
def test_deeply_nested_json(capsys, tmp_path, where):
    deep = "[" * 100_000 + "]" * 100_000
    if where == "header":
        path = safetensors_file(tmp_path / "deep.safetensors", None, raw_header=deep.encode())
        one_line_error(capsys, "info", path, contains="nested too deeply")
    else:
        meta = {"latentkit.plugin": "mlp-vae", "latentkit.config": deep}
        path = safetensors_file(tmp_path / "deep.safetensors", {"__metadata__": meta})
        one_line_error(capsys, "kl-report", path, contains="nested too deeply")


def test_a_config_file_that_is_not_utf8(capsys, tmp_path, mlp_vae_checkpoint):
    config = tmp_path / "config.json"
    config.write_bytes(b'{"latent_dim": "\xff\xfe"}')
    one_line_error(capsys, "kl-report", mlp_vae_checkpoint, "--config", config, contains="not UTF-8")


@pytest.mark.parametrize("kind", ["gan", "foo", ""])
def test_a_header_kind_that_contradicts_the_plugin(capsys, tmp_path, mlp_vae_checkpoint, kind):
    raw = mlp_vae_checkpoint.read_bytes()
    (length,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + length])
    header["__metadata__"]["latentkit.kind"] = kind
    path = safetensors_file(tmp_path / "kind.safetensors", header, raw[8 + length :])
    one_line_error(capsys, "kl-report", path, "--out", tmp_path / "out", contains="latentkit.kind")


@pytest.mark.parametrize("device", ["xla", "meta", "mps:0"])
def test_unsupported_devices(capsys, mlp_vae_checkpoint, tmp_path, device):
    one_line_error(capsys, "kl-report", mlp_vae_checkpoint, "--device", device, "--out", tmp_path, contains=device)


def test_a_model_with_latent_dim_0(capsys, tmp_path):
    plugin = tmp_path / "zero.py"
    plugin.write_text(
        "import torch\n"
        "class Zero(torch.nn.Module):\n"
        "    latent_dim = 0\n"
        "    def __init__(self):\n        super().__init__(); self.w = torch.nn.Parameter(torch.zeros(1))\n"
        "    def encode(self, x): return x[:, :0], x[:, :0]\n"
        "    def decode(self, z): return z\n"
        "from latentkit import Plugin\n"
        "PLUGINS = [Plugin(name='zero', kind='vae', build=lambda config: Zero())]\n"
    )
    path = safetensors_file(tmp_path / "zero.safetensors", {"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 4)
    one_line_error(
        capsys, "kl-report", path, "--plugin", "zero", "--config", "{}", "--plugin-file", plugin, "--data", "digits",
        contains="latent_dim",
    )  # fmt: skip


# --- options ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["interpolate", "{vae}", "--steps", "100000"], "--steps"),
        (["interpolate", "{vae}", "--pairs", "100000"], "--pairs"),
        (["interpolate", "{vae}", "--pairs", "1000", "--steps", "1000"], "decoded points"),
        (["kl-report", "{vae}", "--limit", "1", "--active-threshold", "1e308"], "--active-threshold"),  # found by the fuzzer
        (["traverse", "{vae}", "--steps", "100000"], "--steps"),
        (["kl-report", "{vae}", "--seed", "-1"], "--seed"),
        (["interpolate", "{vae}", "--seed", "-1"], "--seed"),
        (["umap", "{vae}", "--seed", "-1"], "--seed"),
        (["umap", "{vae}", "--seed", str(2**40)], "--seed"),
        (["train", "vae", "--data", "digits", "--out", "{tmp}/m.safetensors", "--latent-dim", "0"], "latent_dim"),
    ],
)
def test_absurd_option_values(capsys, tmp_path, mlp_vae_checkpoint, args, message):
    args = [a.format(vae=mlp_vae_checkpoint, tmp=tmp_path) for a in args]
    one_line_error(capsys, *args, contains=message)
    assert not (tmp_path / "m.safetensors").exists()


# --- data files ------------------------------------------------------------------------------------
def _npz(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _npy_bytes(array: np.ndarray) -> bytes:
    import io

    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def test_npz_member_without_npy_suffix_is_read(capsys, tmp_path, mlp_vae_checkpoint):
    x = np.random.default_rng(0).random((40, 1, 8, 8)).astype(np.float32)
    path = _npz(tmp_path / "data.npz", {"x": _npy_bytes(x)})
    status, out, err = run(capsys, "kl-report", mlp_vae_checkpoint, "--data", path, "--out", tmp_path / "out", "--json")
    assert status == 0, err
    assert json.loads(out)["data"]["n"] == 40


def test_npz_member_holding_garbage(capsys, tmp_path, mlp_vae_checkpoint):
    path = _npz(tmp_path / "data.npz", {"x.npy": b"\x93NUMPY garbage that is no header"})
    one_line_error(capsys, "kl-report", mlp_vae_checkpoint, "--data", path, "--out", tmp_path / "out", contains="'x'")


def test_npz_member_with_a_bad_crc(capsys, tmp_path, mlp_vae_checkpoint):
    x = np.random.default_rng(0).random((40, 1, 8, 8)).astype(np.float32)
    path = tmp_path / "data.npz"
    np.savez(path, x=x)
    raw = bytearray(path.read_bytes())
    raw[-400] ^= 0xFF  # a byte of the array data: the CRC no longer matches
    path.write_bytes(bytes(raw))
    one_line_error(capsys, "kl-report", mlp_vae_checkpoint, "--data", path, "--out", tmp_path / "out", contains="'x'")


def test_png_claiming_20000_by_20000_pixels(capsys, tmp_path, mlp_vae_checkpoint):
    import zlib

    folder = tmp_path / "pngs"
    folder.mkdir()

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", 20000, 20000, 8, 0, 0, 0, 0)
    (folder / "bomb.png").write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 100)) + chunk(b"IEND", b""))
    one_line_error(capsys, "kl-report", mlp_vae_checkpoint, "--data", folder, "--out", tmp_path / "out", contains="bomb.png")


# --- text from files is printed literally ------------------------------------------------------------
def test_markup_in_names_is_printed_literally(capsys, monkeypatch, tmp_path, mlp_vae_checkpoint):
    monkeypatch.setenv("COLUMNS", "500")
    raw = mlp_vae_checkpoint.read_bytes()
    (length,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + length])
    header["__metadata__"]["latentkit.dataset"] = "[/x] [bold red]digits[/]\x1b[2J"
    header["[/x]weird"] = header.pop(sorted(k for k in header if k != "__metadata__")[0])
    path = safetensors_file(tmp_path / "model[v2].safetensors", header, raw[8 + length :])
    status, out, err = run(capsys, "info", path)
    assert status == 0, err
    assert "model[v2].safetensors" in out
    assert "[/x] [bold red]digits[/]\\x1b[2J" in out  # the escape shown, not sent to the terminal
    assert "[/x]weird" in out and "\x1b" not in out


def test_an_out_folder_with_markup_in_its_name(capsys, monkeypatch, tmp_path, mlp_vae_checkpoint):
    monkeypatch.setenv("COLUMNS", "500")
    out = tmp_path / "x[/y]"
    status, stdout, err = run(capsys, "kl-report", mlp_vae_checkpoint, "--out", out)
    assert status == 0, err
    assert f"wrote {out / 'kl-report.json'}" in stdout


def test_overlapping_tensors(capsys, tmp_path):
    header = {
        "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
        "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]},
    }
    path = safetensors_file(tmp_path / "overlap.safetensors", header, b"\0" * 12)
    one_line_error(capsys, "info", path, contains="overlap")


# --- numerical extremes ---------------------------------------------------------------------------
def _handset(tmp_path: Path, handset_data: Path, weight, logvar) -> Path:
    from latentkit.models.checkpoint import save
    from latentkit.models.registry import PluginRegistry
    from tests.conftest import HANDSET_PLUGIN

    config = {"weight": weight, "logvar": logvar}
    model = PluginRegistry([HANDSET_PLUGIN]).get("handset-vae").build(config)
    return save(model, tmp_path / "extreme.safetensors", plugin="handset-vae", config=config, dataset=str(handset_data))


def test_an_encoder_log_variance_of_1000_is_diagnosed(capsys, tmp_path, handset_data):
    from tests.conftest import HANDSET_PLUGIN, WEIGHT

    path = _handset(tmp_path, handset_data, WEIGHT, [1000.0, 0.0, 0.0, 0.0])
    line = one_line_error(capsys, "kl-report", path, "--plugin-file", HANDSET_PLUGIN, "--out", tmp_path / "o", contains="log-variances")
    assert "dimension(s) 0 " in line  # names the dimension; no RuntimeWarning reached stderr (one line)


def test_encoder_means_of_1e38_are_projected(capsys, tmp_path, handset_data, handset_images):
    from latentkit.analysis.projection import pca_embedding, trustworthiness_score
    from tests.conftest import HANDSET_PLUGIN

    weight = (np.eye(4) * 1e38).tolist()
    path = _handset(tmp_path, handset_data, weight, [0.0] * 4)
    status, out, err = run(capsys, "umap", path, "--plugin-file", HANDSET_PLUGIN, "--method", "pca", "--out", tmp_path / "o", "--json")
    assert status == 0, err
    assert "Warning" not in err  # the table goes to stderr with --json; no numpy/sklearn warning does
    embedding = np.load(tmp_path / "o" / "embedding.npz")["embedding"]
    assert np.isfinite(embedding).all() and embedding.std(axis=0).min() > 0
    # diag(1e38)·x has x's geometry scaled: its projection keeps exactly x's neighbourhoods.
    x = handset_images.reshape(len(handset_images), -1).astype(np.float64)
    expected, _ = trustworthiness_score(x, pca_embedding(x), k=10, subsample=2000, seed=0)
    assert json.loads(out)["results"]["trustworthiness"]["value"] == pytest.approx(expected, abs=1e-3)


@pytest.mark.parametrize("metrics", ["sap", "unsupervised", "mig"])
def test_codes_of_1e155_are_refused_with_the_fix(capsys, tmp_path, metrics):
    rng = np.random.default_rng(0)
    factors = rng.integers(0, 3, (200, 2))
    path = tmp_path / "huge.npz"
    np.savez(path, codes=(factors + rng.normal(0, 0.1, factors.shape)) * 1e155, factors=factors)
    one_line_error(capsys, "disentangle", "--codes", path, "--metrics", metrics, "--out", tmp_path / "o", contains="rescale")


def test_a_plugin_whose_encode_returns_numpy(capsys, tmp_path, handset_data, handset_images):
    from latentkit.analysis.kl import per_dimension_kl
    from tests.conftest import LOGVAR, WEIGHT, handset_posterior

    plugin = tmp_path / "numpy_plugin.py"
    plugin.write_text(
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('handset', {str(ROOT / 'tests/assets/handset_plugin.py')!r})\n"
        "handset = importlib.util.module_from_spec(spec); spec.loader.exec_module(handset)\n"
        "from latentkit import Plugin\n"
        "def build(config):\n"
        "    model = handset.build(config)\n"
        "    encode = model.encode\n"
        "    model.encode = lambda x: tuple(t.detach().numpy() for t in encode(x))\n"
        "    return model\n"
        "PLUGINS = [Plugin(name='numpy-vae', kind='vae', build=build)]\n"
    )
    _handset(tmp_path, handset_data, WEIGHT, LOGVAR)
    args = ["kl-report", tmp_path / "extreme.safetensors", "--plugin", "numpy-vae", "--plugin-file", plugin]
    status, out, err = run(capsys, *args, "--out", tmp_path / "o", "--json")
    assert status == 0, err
    expected = per_dimension_kl(*handset_posterior(handset_images))
    np.testing.assert_allclose(json.loads(out)["results"]["kl"]["per_dim"], expected, rtol=1e-5)


def test_a_png_between_pillows_warning_and_error_limits_is_refused_without_a_warning(capsys, tmp_path, mlp_vae_checkpoint):
    """Found by the fuzzer: 5000x20000 pixels made Pillow print a DecompressionBombWarning before the error."""
    import warnings

    from tests.fuzzing import png_bytes

    folder = tmp_path / "pngs"
    folder.mkdir()
    (folder / "wide.png").write_bytes(png_bytes(5000, 20000, colour_type=2))
    with warnings.catch_warnings():
        warnings.simplefilter("always")  # a warning shown once per process must show here too
        one_line_error(capsys, "kl-report", mlp_vae_checkpoint, "--data", folder, "--out", tmp_path / "out", contains="wide.png")
