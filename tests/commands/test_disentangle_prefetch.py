"""disentangle encodes each distinct image once, up front and beside the other metrics, when the
sampler scores would draw most images anyway; the JSON is the same as encoding draws as they come."""

import numpy as np
import pytest

from latentkit.commands import disentangle as disentangle_module
from latentkit.commands.disentangle import prefetch_codes
from latentkit.data import ShapesSource, open_data
from latentkit.encode import RowCodes
from latentkit.models.builtin import CONV_VAE
from latentkit.models.checkpoint import load, save


class _Counting:
    """Wraps a model's encode to count the images it sees."""

    def __init__(self, model):
        self.model, self.images = model, 0
        self.encode_inner = model.encode
        model.encode = self.encode

    def encode(self, x):
        self.images += len(x)
        return self.encode_inner(x)


@pytest.fixture()
def square_positions(tmp_path):
    """An untrained conv-vae and a full factorial 8 x 8 grid of square positions (64 images)."""
    import torch

    grid = np.stack(np.meshgrid(np.arange(0, 32, 4), np.arange(0, 32, 4), indexing="ij"), -1).reshape(-1, 2)
    factors = np.column_stack([np.zeros(len(grid), int), np.full(len(grid), 5), np.zeros(len(grid), int), grid])
    data = tmp_path / "positions.npz"
    np.savez(data, x=(ShapesSource().render(factors) * 255).astype(np.uint8), factors=grid // 4)
    torch.manual_seed(0)
    config = {"image_shape": [1, 64, 64], "latent_dim": 4}
    ckpt = save(CONV_VAE.build(config), tmp_path / "conv.safetensors", plugin="conv-vae", config=config)
    return ckpt, data


def test_prefetched_codes_give_the_same_json_as_codes_encoded_on_demand(square_positions, monkeypatch):
    ckpt, data = square_positions
    options = {"data": str(data), "metrics": "mig,beta_vae,factor_vae,sap", "num_train": 20, "num_eval": 10,
               "write": False}  # fmt: skip
    started = []
    real = disentangle_module.prefetch_codes
    monkeypatch.setattr(disentangle_module, "prefetch_codes", lambda *a: started.append(real(*a)) or started[-1])
    prefetched = disentangle_module.disentangle(ckpt, **options)
    assert isinstance(started[-1], RowCodes) and started[-1].encoded == 64  # each image once
    monkeypatch.setattr("latentkit.defaults.SAMPLER_PREFETCH_COVERAGE", 2.0)  # never worth it
    on_demand = disentangle_module.disentangle(ckpt, **options)
    assert started[-1] is None
    assert prefetched.to_json() == on_demand.to_json()
    assert list(prefetched.scores) == list(on_demand.scores)  # the order asked for, not the order run


def test_prefetch_only_when_the_draws_would_reach_most_images(square_positions):
    ckpt, data = square_positions
    model = load(ckpt).model
    codes_of = RowCodes(model, open_data(str(data)), batch_size=16)
    # 64 equally likely images: 60 draws reach 1 - (63/64)^60 = 61% of them, 300 draws 99%
    assert prefetch_codes(codes_of, 60) is None and codes_of.encoded == 0
    assert prefetch_codes(codes_of, 300) is codes_of
    codes_of.wait()
    assert codes_of.encoded == 64
    assert prefetch_codes(lambda rows: rows, 10**6) is None  # not an encoder: nothing to prefetch


def test_rows_showing_the_same_shapes_image_are_encoded_once():
    import torch

    torch.manual_seed(0)
    counting = _Counting(CONV_VAE.build({"image_shape": [1, 64, 64], "latent_dim": 3}))
    source = open_data("shapes")
    quarter_turns = source.index_of(np.array([[0, 3, o, 5, 6] for o in (2, 12, 22, 32)]))
    half_turns = source.index_of(np.array([[1, 3, o, 5, 6] for o in (2, 22)]))
    codes_of = RowCodes(counting.model, source, batch_size=8)
    codes = codes_of(np.concatenate([quarter_turns, half_turns, quarter_turns[:1]]))
    assert counting.images == codes_of.encoded == 2  # one square, one ellipse
    np.testing.assert_array_equal(codes[:4], np.repeat(codes[:1], 4, axis=0))
    np.testing.assert_array_equal(codes[4:6], np.repeat(codes[4:5], 2, axis=0))
    with torch.inference_mode():
        direct = counting.encode_inner(torch.from_numpy(source.get(quarter_turns[2:3])))[0].numpy()
    np.testing.assert_allclose(codes[2:3], direct, rtol=1e-5, atol=1e-6)


def test_a_prefetch_error_reaches_the_caller(square_positions):
    ckpt, data = square_positions
    model = load(ckpt).model

    def broken(x):
        raise ValueError("boom")

    model.encode = broken
    codes_of = RowCodes(model, open_data(str(data)), batch_size=16)
    codes_of.prefetch(np.arange(64))
    with pytest.raises(Exception, match="boom"):
        codes_of(np.array([1, 2]))
    stopped = RowCodes(model, open_data(str(data)), batch_size=16)
    stopped.prefetch(np.arange(64))
    stopped.stop()  # ends quietly; nothing was encoded
    assert stopped.encoded == 0
