"""The disentangle command: reference agreement through the command, samplers, JSON, bad input."""

import json
from pathlib import Path

import numpy as np
import pytest

from latentkit.commands.disentangle import LookupSampler, disentangle
from latentkit.errors import LatentkitError

REFERENCE = Path(__file__).parents[1] / "assets" / "reference" / "disentanglement"


def _codes_file(tmp_path, codes, factors, **extra):
    path = tmp_path / "codes.npz"
    np.savez(path, codes=codes, factors=factors, **extra)
    return path


def _factorial(sizes):
    grids = np.meshgrid(*[np.arange(s) for s in sizes], indexing="ij")
    return np.stack([g.ravel() for g in grids], axis=1)


def test_scores_through_the_command_equal_the_reference(tmp_path):
    expected = json.loads((REFERENCE / "expected.json").read_text())["cases"]["a_disentangled"]["disentanglement_lib"]["values"]
    report = disentangle(
        codes=REFERENCE / "cases" / "a_disentangled.npz", metrics="mig,sap,irs,unsupervised", row_order="file", out=tmp_path
    )
    pairs = {
        "mig": "mig.discrete_mig",
        "sap": "sap_discrete.SAP_score",
        "sap_continuous": "sap_continuous.SAP_score",
        "irs": "irs.IRS",
        "unsupervised.gaussian_total_correlation": "unsupervised.gaussian_total_correlation",
        "unsupervised.mutual_info_score": "unsupervised.mutual_info_score",
    }
    for ours, theirs in pairs.items():
        assert report.scores[ours] == pytest.approx(expected[theirs], abs=1e-6), ours
    doc = json.loads((tmp_path / "disentangle.json").read_text())
    assert doc["results"]["scores"]["mig"] == pytest.approx(expected["mig.discrete_mig"], abs=1e-6)
    assert doc["results"]["rows"] == {"n_train": 8000, "n_test": 2000, "order": {"order": "file", "requested": "file"}}
    assert doc["results"]["estimation"]["mig"]["num_bins"] == 20
    assert (tmp_path / doc["figures"]["mutual_information"]).is_file()
    assert doc["notes"] == []  # clean codes, and only array-level metrics asked for: nothing to report


def test_sampler_scores_run_on_a_full_factorial_codes_file(tmp_path):
    factors = _factorial((3, 4, 5))
    rng = np.random.default_rng(0)
    codes = factors + rng.normal(0, 0.05, factors.shape)
    path = _codes_file(tmp_path, codes, factors, factor_names=np.array(["a", "b", "c"]))
    assert LookupSampler.is_full_factorial(factors)
    report = disentangle(codes=path, metrics="beta-vae,factor-vae", num_train=300, num_eval=150, write=False)
    assert report.scores["beta_vae.eval_accuracy"] > 0.95
    assert report.scores["factor_vae.eval_accuracy"] > 0.95
    # Without a full factorial set the sampler scores are skipped with a note, or refused when asked for.
    partial = _codes_file(tmp_path, codes[:-1], factors[:-1])
    assert "beta_vae.eval_accuracy" not in disentangle(codes=partial, metrics=None, write=False, dci_model="fast").scores
    with pytest.raises(LatentkitError, match="need observations drawn by factor"):
        disentangle(codes=partial, metrics="beta-vae", write=False)


def test_non_finite_scores_are_null_with_a_note(tmp_path):
    rng = np.random.default_rng(1)
    factors = rng.integers(0, 4, size=(500, 2))
    codes = factors + rng.normal(0, 0.1, factors.shape)
    codes = np.column_stack([codes, np.full(500, 2.0)])  # a constant code: log 0 in the total correlation
    report = disentangle(codes=_codes_file(tmp_path, codes, factors), metrics="unsupervised", write=False)
    assert report.scores["unsupervised.gaussian_total_correlation"] is None
    assert json.loads(report.to_json())["results"]["scores"]["unsupervised.gaussian_total_correlation"] is None
    assert any("gaussian_total_correlation" in note for note in report.notes)


def test_a_constant_code_is_a_note_not_an_error(tmp_path):
    rng = np.random.default_rng(2)
    factors = rng.integers(0, 4, size=(600, 2))
    codes = np.column_stack([factors + rng.normal(0, 0.1, factors.shape), np.zeros(600)])
    report = disentangle(codes=_codes_file(tmp_path, codes, factors), metrics="mig,irs,sap", write=False)
    assert report.scores["mig"] > 0.8
    assert any("constant" in note for note in report.notes)


def test_bootstrap_intervals_bracket_the_score(tmp_path):
    rng = np.random.default_rng(3)
    factors = rng.integers(0, 5, size=(1000, 2))
    codes = factors + rng.normal(0, 0.5, factors.shape)
    report = disentangle(codes=_codes_file(tmp_path, codes, factors), metrics="mig", bootstrap=20, write=False)
    low, high = report.intervals["mig"]
    assert low < report.scores["mig"] < high and high - low < 0.1


def test_same_seed_same_json(tmp_path):
    rng = np.random.default_rng(4)
    factors = rng.integers(0, 3, size=(400, 2))
    path = _codes_file(tmp_path, factors + rng.normal(0, 0.3, factors.shape), factors)
    a = disentangle(codes=path, metrics="mig,dci", dci_model="fast", bootstrap=3, write=False).to_json()
    b = disentangle(codes=path, metrics="mig,dci", dci_model="fast", bootstrap=3, write=False).to_json()
    assert a == b


@pytest.mark.parametrize(
    ("codes", "factors", "kwargs", "message"),
    [
        (np.zeros((10, 2)), np.arange(9)[:, None] % 2, {}, "10 rows but factors have 9"),
        (np.ones((10, 2)), np.linspace(0, 1, 10)[:, None], {}, "--bin-factors"),
        (np.ones((10, 2)), np.zeros((10, 1), int), {}, "single value"),
        (np.full((10, 2), np.nan), np.arange(10)[:, None] % 2, {}, "NaN"),
        (np.zeros((10, 0)), np.arange(10)[:, None] % 2, {}, "empty"),
        (np.ones((10, 2)), np.arange(10)[:, None] % 2, {"metrics": "mig,nope"}, "unknown metric 'nope'"),
        (np.ones((10, 2)), np.arange(10)[:, None] % 2, {"dci_model": "xgb"}, "unknown DCI model"),
    ],
)
def test_bad_input_raises_one_clear_error(tmp_path, codes, factors, kwargs, message):
    with pytest.raises(LatentkitError, match=message):
        disentangle(codes=_codes_file(tmp_path, codes, factors), out=tmp_path / "out", **kwargs)
    assert not (tmp_path / "out" / "disentangle.json").exists()


def test_bin_factors_makes_continuous_factors_usable(tmp_path):
    rng = np.random.default_rng(5)
    continuous = rng.random((800, 1))
    codes = continuous + rng.normal(0, 0.01, continuous.shape)
    report = disentangle(codes=_codes_file(tmp_path, codes, continuous), metrics="mig", bin_factors=5, write=False)
    assert report.scores["mig"] > 0.5
    assert report.document["results"]["factors"]["binned"] == 5


def test_a_gan_has_no_encoder(tmp_path):
    from latentkit.models.builtin import MLP_GAN
    from latentkit.models.checkpoint import save

    path = save(MLP_GAN.build({}), tmp_path / "gan.safetensors", plugin="mlp-gan", config={})
    with pytest.raises(LatentkitError, match="needs an encoder"):
        disentangle(path, data="shapes", write=False)


def test_data_without_factors(tmp_path):
    from latentkit.models.builtin import MLP_VAE
    from latentkit.models.checkpoint import save

    path = save(MLP_VAE.build({}), tmp_path / "vae.safetensors", plugin="mlp-vae", config={})
    with pytest.raises(LatentkitError, match="no ground-truth factors"):
        disentangle(path, data="digits", write=False)


def test_sampler_scores_say_that_n_does_not_apply():
    from latentkit.commands.disentangle import sampler_n_note

    assert sampler_n_note("beta_vae", 10_000, 5_000) == (
        "beta_vae: draws its own observations by factor (10,000 training and 5,000 evaluation votes), so --n "
        "does not apply to it; set --num-train/--num-eval to trade time for precision"
    )
