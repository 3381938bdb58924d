"""Plain PyTorch and Lightning state dicts opened with no code from the user."""

from pathlib import Path

import pytest

from latentkit.errors import LatentkitError
from latentkit.models.formats import open_model
from tests.conftest import HANDSET_PLUGIN, LOGVAR, WEIGHT

CONFIG = {"image_shape": [1, 4, 4], "latent_dim": 3, "hidden": [8]}


def _mlp_vae():
    import torch

    from latentkit.models.builtin import MLP_VAE

    torch.manual_seed(0)
    return MLP_VAE.build(CONFIG)


def _assert_same_outputs(a, b):
    import torch

    x = torch.rand(5, 1, 4, 4, generator=torch.Generator().manual_seed(1))
    for u, v in zip(a.encode(x), b.encode(x)):
        assert torch.equal(u, v)


def test_pickle_files_load_weights_only(tmp_path: Path):
    import torch

    path = tmp_path / "model.pt"
    torch.save({"state_dict": {"weight": torch.tensor(WEIGHT), "logvar": torch.tensor(LOGVAR)}}, path)
    config = {"weight": WEIGHT, "logvar": LOGVAR}
    ckpt = open_model(path, plugin="handset-vae", config=config, plugin_files=[HANDSET_PLUGIN])
    assert ckpt.latent_dim == 4

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    evil = tmp_path / "evil.pt"
    torch.save(Evil(), evil)
    with pytest.raises(LatentkitError, match="weights-only"):
        open_model(evil, plugin="handset-vae", config=config, plugin_files=[HANDSET_PLUGIN])


def test_lightning_checkpoint_needs_no_flags(tmp_path: Path):
    """Keys under `model.`, the config in hyper_parameters beside a learning rate: found, with notes."""
    import torch

    model = _mlp_vae()
    state = {f"model.{k}": v for k, v in model.state_dict().items()}
    path = tmp_path / "epoch=3.ckpt"
    hparams = {**CONFIG, "lr": 1e-3}
    torch.save({"state_dict": state, "hyper_parameters": hparams, "pytorch-lightning_version": "2.4.0"}, path)
    ckpt = open_model(path)
    assert (ckpt.plugin, ckpt.kind, ckpt.format, ckpt.config) == ("mlp-vae", "vae", "Lightning checkpoint", CONFIG)
    assert any("prefix 'model.'" in note and "detected" in note for note in ckpt.notes)
    assert any("hyper_parameters (ignored: lr)" in note for note in ckpt.notes)
    _assert_same_outputs(model, ckpt.model)


@pytest.mark.parametrize("nesting", ["model_state_dict", None])
def test_weights_nested_or_at_top_level_with_explicit_prefix(tmp_path: Path, nesting):
    import torch

    model = _mlp_vae()
    state = {f"net.{k}": v for k, v in model.state_dict().items()}
    state["critic.weight"] = torch.zeros(2)  # another module's tensor, outside the prefix
    path = tmp_path / "weights.pth"
    torch.save({nesting: state} if nesting else state, path)
    ckpt = open_model(path, plugin="mlp-vae", config=CONFIG, strip_prefix="net.")
    _assert_same_outputs(model, ckpt.model)
    assert any("left out 1 tensors outside the prefix 'net.'" in note for note in ckpt.notes)


def test_missing_tensor_names_the_close_key_and_the_prefix_to_strip(tmp_path: Path):
    import torch

    state = {f"model.{k}": v for k, v in _mlp_vae().state_dict().items()}
    path = tmp_path / "weights.pt"
    torch.save(state, path)
    with pytest.raises(LatentkitError, match=r"'encoder.1.weight'.*missing.*it has 'model.encoder.1.weight'") as info:
        open_model(path, plugin="mlp-vae", config=CONFIG, strip_prefix="")
    assert info.value.fix == "pass --strip-prefix model."


def test_two_prefixes_are_ambiguous(tmp_path: Path):
    import torch

    sd = _mlp_vae().state_dict()
    state = {**{f"ema.{k}": v for k, v in sd.items()}, **{f"model.{k}": v for k, v in sd.items()}}
    path = tmp_path / "weights.pt"
    torch.save(state, path)
    with pytest.raises(LatentkitError, match="several prefixes: 'ema.', 'model.'") as info:
        open_model(path, plugin="mlp-vae", config=CONFIG)
    assert "--strip-prefix" in info.value.fix


def test_keys_matching_no_architecture_are_one_error(tmp_path: Path):
    import torch

    path = tmp_path / "weights.pt"
    torch.save({"backbone.conv.weight": torch.zeros(3, 3)}, path)
    with pytest.raises(LatentkitError, match="match no known architecture") as info:
        open_model(path)
    assert "--plugin" in info.value.fix


def test_shapes_without_a_config_ask_for_one(tmp_path: Path):
    """Neither hyper-parameters nor mlp-vae's example config build this layout; --config does."""
    import torch

    path = tmp_path / "weights.pt"
    torch.save(_mlp_vae().state_dict(), path)
    with pytest.raises(LatentkitError, match="match no known architecture") as info:
        open_model(path)
    assert "--config" in info.value.fix
    ckpt = open_model(path, config=CONFIG)
    assert ckpt.plugin == "mlp-vae" and ckpt.latent_dim == 3


def test_info_on_a_bare_safetensors_state_dict_reads_the_header_only(tmp_path: Path):
    from safetensors.torch import save_file

    from latentkit.commands.info import info

    model = _mlp_vae()
    path = tmp_path / "weights.safetensors"
    save_file({f"model.{k}": v.contiguous() for k, v in model.state_dict().items()}, str(path))
    result = info(path)
    assert (result.format, result.plugin, result.latent_shape) == ("state dict (safetensors)", None, None)
    assert result.parameter_count == sum(t.numel() for t in model.state_dict().values())
    assert any("match no known architecture" in note for note in result.notes)  # no config in the file
    assert open_model(path, config=CONFIG).plugin == "mlp-vae"
