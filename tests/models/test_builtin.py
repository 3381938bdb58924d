"""The four built-in architectures: defaults, shapes, output ranges, protocols, config errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from latentkit.errors import LatentkitError
from latentkit.models.builtin import BUILTIN_PLUGINS, CONV_VAE, DCGAN, MLP_GAN, MLP_VAE
from latentkit.models.protocols import GANModel, VAEModel

VAE_PLUGINS = [MLP_VAE, CONV_VAE]
GAN_PLUGINS = [MLP_GAN, DCGAN]
BATCH = 3


def _images(image_shape, n=BATCH):
    return torch.rand(n, *image_shape, generator=torch.Generator().manual_seed(0))


def test_builtin_plugins_are_named_and_unique():
    assert [plugin.name for plugin in BUILTIN_PLUGINS] == ["mlp-vae", "conv-vae", "mlp-gan", "dcgan"]
    assert [plugin.kind for plugin in BUILTIN_PLUGINS] == ["vae", "vae", "gan", "gan"]
    assert all(plugin.description for plugin in BUILTIN_PLUGINS)


def test_importing_the_plugins_does_not_import_torch():
    code = "import latentkit.models.builtin, sys; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize(
    ("plugin", "expected"),
    [
        (MLP_VAE, {"image_shape": [1, 8, 8], "latent_dim": 10, "hidden": [256, 128]}),
        (CONV_VAE, {"image_shape": [1, 64, 64], "latent_dim": 10, "channels": [32, 32, 32, 32], "hidden": [256, 256]}),
        (MLP_GAN, {"image_shape": [1, 8, 8], "latent_dim": 16, "hidden": [128, 256]}),
        (DCGAN, {"image_shape": [1, 64, 64], "latent_dim": 64, "feature_maps": 32}),
    ],
    ids=lambda p: getattr(p, "name", ""),
)
def test_default_config_is_complete_and_json(plugin, expected):
    model = plugin.build({})
    assert model.config == expected
    assert json.loads(json.dumps(model.config)) == expected
    rebuilt = plugin.build(model.config)
    assert list(rebuilt.state_dict()) == list(model.state_dict())


@pytest.mark.parametrize("plugin", VAE_PLUGINS, ids=lambda p: p.name)
def test_vae_shapes_range_and_protocol(plugin):
    model = plugin.build({}).eval()
    assert isinstance(model, VAEModel)
    assert not isinstance(model, GANModel)
    x = _images(model.config["image_shape"])
    with torch.inference_mode():
        mean, logvar = model.encode(x)
        assert mean.shape == logvar.shape == (BATCH, model.latent_dim)
        images = model.decode(mean)
        logits = model.decode_logits(mean)
    assert images.shape == x.shape
    assert torch.equal(images, torch.sigmoid(logits))
    assert images.min() >= 0 and images.max() <= 1


@pytest.mark.parametrize("plugin", VAE_PLUGINS, ids=lambda p: p.name)
def test_vae_accepts_flat_rows(plugin):
    model = plugin.build({}).eval()
    x = _images(model.config["image_shape"])
    with torch.inference_mode():
        assert torch.equal(model.encode(x.flatten(1))[0], model.encode(x)[0])


@pytest.mark.parametrize("plugin", GAN_PLUGINS, ids=lambda p: p.name)
def test_gan_shapes_range_and_protocol(plugin):
    model = plugin.build({}).eval()
    assert isinstance(model, GANModel)
    z = model.sample_latent(BATCH, torch.Generator().manual_seed(1))
    assert z.shape == (BATCH, model.latent_dim)
    assert torch.equal(z, torch.randn(BATCH, model.latent_dim, generator=torch.Generator().manual_seed(1)))
    with torch.inference_mode():
        images = model.generate(z)
        logits = model.make_discriminator()(images)
    assert images.shape == (BATCH, *model.config["image_shape"])
    assert images.min() >= 0 and images.max() <= 1
    assert logits.shape == (BATCH,)


def test_discriminator_is_not_in_the_generator_state_dict():
    model = DCGAN.build({"image_shape": [3, 32, 32], "feature_maps": 8})
    model.make_discriminator()
    assert all(key.startswith("network.") for key in model.state_dict())


@pytest.mark.parametrize(
    ("plugin", "config"),
    [
        (MLP_VAE, {"image_shape": [3, 5, 7], "latent_dim": 2, "hidden": [16]}),
        (CONV_VAE, {"image_shape": [3, 32, 48], "latent_dim": 4, "channels": [8, 16, 16]}),
        (MLP_GAN, {"image_shape": [2, 4, 4], "latent_dim": 3, "hidden": [8, 8, 8]}),
        (DCGAN, {"image_shape": [3, 32, 32], "latent_dim": 5, "feature_maps": 8}),
        (DCGAN, {"image_shape": [1, 8, 8], "feature_maps": 4}),
    ],
    ids=lambda p: getattr(p, "name", ""),
)
def test_other_image_shapes(plugin, config):
    model = plugin.build(config).eval()
    with torch.inference_mode():
        if plugin.kind == "vae":
            images = model.decode(model.encode(_images(config["image_shape"]))[0])
        else:
            images = model.generate(model.sample_latent(BATCH, torch.Generator().manual_seed(0)))
    assert images.shape == (BATCH, *config["image_shape"])


@pytest.mark.parametrize(
    ("plugin", "config", "named"),
    [
        (MLP_VAE, {"hiden": [64]}, "hiden"),
        (MLP_VAE, {"latent_dim": 0}, "latent_dim"),
        (MLP_VAE, {"latent_dim": 2.0}, "latent_dim"),
        (MLP_VAE, {"latent_dim": True}, "latent_dim"),
        (MLP_VAE, {"hidden": "256"}, "hidden"),
        (MLP_VAE, {"hidden": []}, "hidden"),
        (MLP_VAE, {"image_shape": [8, 8]}, "image_shape"),
        (CONV_VAE, {"image_shape": [1, 28, 28]}, "image_shape"),
        (CONV_VAE, {"channels": [32, -1]}, "channels"),
        (MLP_GAN, {"hidden": [128, 0]}, "hidden"),
        (DCGAN, {"image_shape": [1, 48, 48]}, "image_shape"),
        (DCGAN, {"image_shape": [1, 64, 32]}, "image_shape"),
        (DCGAN, {"image_shape": [1, 4, 4]}, "image_shape"),
        (DCGAN, {"feature_maps": "64"}, "feature_maps"),
    ],
    ids=lambda p: getattr(p, "name", str(p)),
)
def test_bad_config_names_the_key_and_a_fix(plugin, config, named):
    with pytest.raises(LatentkitError) as caught:
        plugin.build(config)
    assert named in caught.value.message
    assert caught.value.fix


def test_config_that_is_not_an_object_is_rejected():
    with pytest.raises(LatentkitError, match="JSON object"):
        MLP_VAE.build([1, 8, 8])  # type: ignore[arg-type]


def test_wrong_input_shape_is_a_latentkit_error():
    model = MLP_VAE.build({})
    with pytest.raises(LatentkitError, match="expects images"):
        model.encode(torch.rand(2, 1, 9, 9))
    with pytest.raises(LatentkitError, match="latent codes"):
        model.decode(torch.rand(2, 3))


def test_build_does_not_alias_the_callers_config():
    config = {"hidden": [32, 16]}
    model = MLP_VAE.build(config)
    model.config["hidden"].append(8)
    assert config == {"hidden": [32, 16]}
