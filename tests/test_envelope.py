"""Every command's JSON has the same envelope, and the catalogue reads its figures out of it."""

from __future__ import annotations

import json

import numpy as np
import pytest

from latentkit import catalogue
from latentkit.commands.disentangle import disentangle
from latentkit.commands.embed import embed
from latentkit.commands.info import info
from latentkit.commands.interpolate import interpolate
from latentkit.commands.kl_report import kl_report
from latentkit.commands.traverse import traverse
from latentkit.envelope import ENVELOPE_KEYS, SCHEMA_VERSIONS


@pytest.fixture(scope="module")
def documents(mlp_vae_checkpoint, tmp_path_factory):
    """One document per command, from tiny runs on an untrained mlp-vae and a small codes file."""
    rng = np.random.default_rng(0)
    factors = rng.integers(0, 3, size=(300, 2))
    codes_path = tmp_path_factory.mktemp("codes") / "codes.npz"
    np.savez(codes_path, codes=factors + rng.normal(0, 0.1, factors.shape), factors=factors)
    ckpt = mlp_vae_checkpoint
    runs = {
        "info": info(ckpt),
        "kl-report": kl_report(ckpt, n=200, write=False),
        "interpolate": interpolate(ckpt, pairs=2, steps=3, write=False),
        "traverse": traverse(ckpt, n=50, steps=3, write=False),
        "umap": embed(ckpt, method="pca", n=60, write=False),
        "disentangle": disentangle(codes=codes_path, metrics="mig,irs", write=False),
    }
    return {
        name: json.loads(result.to_json() if hasattr(result, "to_json") else json.dumps(result.to_document()))
        for name, result in runs.items()
    }


def test_every_command_has_the_same_envelope(documents):
    for command, doc in documents.items():
        assert tuple(doc) == ENVELOPE_KEYS or sorted(doc) == sorted(ENVELOPE_KEYS), command
        assert doc["schema"] == f"latentkit.{command}"
        assert doc["schema_version"] == SCHEMA_VERSIONS[command]
        assert doc["provenance"]["command"].startswith(f"latentkit {command}")
        assert "python" in doc["provenance"]["versions"]
        assert isinstance(doc["notes"], list) and isinstance(doc["figures"], dict)


def test_versions_appear_once(documents):
    def count(value):
        if isinstance(value, dict):
            return ("versions" in value) + sum(count(v) for v in value.values())
        if isinstance(value, list):
            return sum(count(v) for v in value)
        return 0

    for command, doc in documents.items():
        doc = json.loads(json.dumps(doc))
        doc["results"].pop("metadata", None)  # info's raw checkpoint header is the file's, not ours
        assert count(doc) == 1, command


def test_data_block_has_one_shape(documents):
    for command, doc in documents.items():
        if doc["data"] is not None:
            assert sorted(doc["data"]) == ["n", "n_total", "source"], command
            assert 0 < doc["data"]["n"] <= doc["data"]["n_total"]
    assert documents["kl-report"]["data"]["n"] == 200 and documents["kl-report"]["data"]["n_total"] == 1797
    assert documents["interpolate"]["data"]["n"] == 4  # two pairs of endpoints


def test_checkpoint_block_names_the_checkpoint(documents, mlp_vae_checkpoint):
    for command, doc in documents.items():
        if command != "disentangle":
            assert doc["checkpoint"]["path"] == str(mlp_vae_checkpoint)
            assert len(doc["checkpoint"]["sha256"]) == 64 and doc["checkpoint"]["latent_dim"] == 4
    assert documents["disentangle"]["checkpoint"] is None  # precomputed codes


def test_every_scalar_catalogue_figure_of_these_runs_reads_a_number(documents):
    read = 0
    for fig in catalogue.FIGURES:
        doc = documents.get(fig.command)
        if doc is None:
            continue
        try:
            value = fig.read(doc)
        except KeyError:
            # the runs above score mig and irs only, and interpolate both modes
            assert fig.analysis.startswith("disentangle:"), fig.name
            continue
        if fig.shape == "scalar":
            assert isinstance(value, (int, float)), fig.name
        else:
            assert len(value) == 4, fig.name  # one per latent dimension
        read += 1
    assert read >= 12


def test_catalogue_values_are_the_commands_numbers(documents):
    kl = documents["kl-report"]
    assert catalogue.read_figure("kl.total", kl) == pytest.approx(sum(kl["results"]["kl"]["per_dim"]))
    assert catalogue.read_figure("active_units", kl) + catalogue.read_figure("collapsed_units", kl) == 4
    traverse_doc = documents["traverse"]
    ignored = traverse_doc["results"]["dimensions"]["decoder_ignores"]
    assert catalogue.read_figure("traverse.decoder_ignored", traverse_doc) == len(ignored)
    with pytest.raises(KeyError):
        catalogue.read_figure("mig", kl)  # a figure is read only from its own command's JSON
