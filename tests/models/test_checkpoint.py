import json
import struct
import sys
import subprocess
from pathlib import Path

import pytest

from latentkit.errors import LatentkitError
from latentkit.models.checkpoint import load, read_header, save
from tests.conftest import HANDSET_PLUGIN, LOGVAR, WEIGHT


def test_save_writes_namespaced_metadata_read_without_torch(handset_checkpoint: Path):
    code = (
        "import sys; from latentkit.models.checkpoint import read_header; "
        f"h = read_header({str(handset_checkpoint)!r}); "
        "assert 'torch' not in sys.modules, 'read_header imported torch'; "
        "print(h.latentkit_metadata['plugin'], h.latentkit_metadata['kind'], h.parameter_count)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["handset-vae", "vae", str(16 + 4)]
    meta = read_header(handset_checkpoint).metadata
    assert meta["latentkit.format"] == "1"
    assert json.loads(meta["latentkit.config"]) == {"logvar": LOGVAR, "weight": WEIGHT}


def test_round_trip_gives_identical_outputs(handset_checkpoint: Path, handset_images):
    import torch

    from latentkit.models.registry import PluginRegistry

    original = PluginRegistry([HANDSET_PLUGIN]).get("handset-vae").build({"weight": WEIGHT, "logvar": LOGVAR})
    ckpt = load(handset_checkpoint, plugin_files=[HANDSET_PLUGIN])
    assert (ckpt.kind, ckpt.plugin, ckpt.latent_dim) == ("vae", "handset-vae", 4)
    assert not ckpt.model.training
    x = torch.from_numpy(handset_images)
    for a, b in zip(original.encode(x), ckpt.model.encode(x)):
        assert torch.equal(a, b)
    assert len(ckpt.sha256) == 64


def test_builtin_round_trip(tmp_path: Path):
    import torch

    from latentkit.models.builtin import MLP_VAE

    config = {"image_shape": [1, 8, 8], "latent_dim": 3}
    torch.manual_seed(0)
    model = MLP_VAE.build(config)
    path = save(model, tmp_path / "m.safetensors", plugin="mlp-vae", config=config, dataset="digits")
    ckpt = load(path)
    assert ckpt.dataset == "digits"
    z = torch.randn(5, 3)
    assert torch.equal(model.decode(z), ckpt.model.decode(z))


def _write_raw(path: Path, header: dict, payload: bytes = b"") -> Path:
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + payload)
    return path


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p, "does not exist"),
        (lambda p: (p.write_bytes(b"hello world, not safetensors"), p)[1], "not a valid safetensors"),
        (lambda p: (p.write_bytes(b"abc"), p)[1], "fewer than a header needs"),
        (lambda p: (p.write_bytes(struct.pack("<Q", 10) + b"{not json}"), p)[1], "not JSON"),
        (lambda p: _write_raw(p, {"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, b"\0" * 8), "outside"),
    ],
)
def test_bad_files_raise_one_clear_error(tmp_path: Path, make, message):
    path = make(tmp_path / "bad.safetensors")
    with pytest.raises(LatentkitError, match=message):
        load(path)


def test_truncated_checkpoint(handset_checkpoint: Path):
    data = handset_checkpoint.read_bytes()
    handset_checkpoint.write_bytes(data[:-10])
    with pytest.raises(LatentkitError, match="outside the file"):
        read_header(handset_checkpoint)


def test_missing_metadata_says_how_to_pass_plugin_and_config(tmp_path: Path):
    import torch
    from safetensors.torch import save_file

    path = tmp_path / "foreign.safetensors"
    save_file({"weight": torch.tensor(WEIGHT), "logvar": torch.tensor(LOGVAR)}, str(path))
    with pytest.raises(LatentkitError) as info:
        load(path)
    assert "no latentkit metadata" in info.value.message and "--plugin" in info.value.fix
    ckpt = load(path, plugin="handset-vae", config={"weight": WEIGHT, "logvar": LOGVAR}, plugin_files=[HANDSET_PLUGIN])
    assert ckpt.latent_dim == 4


def test_unknown_plugin_lists_known_ones(handset_checkpoint: Path):
    with pytest.raises(LatentkitError, match="unknown plugin 'handset-vae'.*mlp-vae"):
        load(handset_checkpoint)  # no --plugin-file


def test_rejected_config_and_mismatched_tensors(handset_checkpoint: Path):
    with pytest.raises(LatentkitError, match="rejected the config"):
        load(handset_checkpoint, config={"weight": WEIGHT}, plugin_files=[HANDSET_PLUGIN])
    smaller = {"weight": [row[:3] for row in WEIGHT], "logvar": LOGVAR[:3]}
    with pytest.raises(LatentkitError, match=r"tensor 'weight' has shape \[4, 4\].*expects \[4, 3\]"):
        load(handset_checkpoint, config=smaller, plugin_files=[HANDSET_PLUGIN])


def test_checkpoint_bytes_do_not_depend_on_metadata_order(tmp_path: Path):
    import safetensors.torch
    import torch

    from latentkit.models.builtin import MLP_VAE

    torch.manual_seed(0)
    model = MLP_VAE.build({"latent_dim": 2, "hidden": [8]})
    extra = {f"key{i}": str(i) for i in range(12)}  # enough keys that hash order would shuffle them
    a = save(model, tmp_path / "a.safetensors", plugin="mlp-vae", config={}, **extra)
    b = save(model, tmp_path / "b.safetensors", plugin="mlp-vae", config={}, **dict(reversed(extra.items())))
    assert a.read_bytes() == b.read_bytes()
    (length,) = struct.unpack("<Q", a.read_bytes()[:8])
    assert length % 8 == 0
    header = json.loads(a.read_bytes()[8 : 8 + length])
    assert list(header["__metadata__"]) == sorted(header["__metadata__"])
    reloaded = safetensors.torch.load_file(str(a))  # still a valid safetensors file
    assert all(torch.equal(reloaded[k], v) for k, v in model.state_dict().items())
