import json

import numpy as np
import pytest

from latentkit.commands.kl_report import diagnose, kl_report
from latentkit.errors import LatentkitError
from tests.conftest import HANDSET_PLUGIN, handset_posterior


def test_kl_report_equals_an_independent_computation(handset_checkpoint, handset_images, tmp_path):
    report = kl_report(handset_checkpoint, out=tmp_path / "out", plugin_files=[HANDSET_PLUGIN], batch_size=50)
    mean, logvar = handset_posterior(handset_images)
    per_dim = (0.5 * (mean**2 + np.exp(logvar) - 1 - logvar)).mean(axis=0)
    np.testing.assert_allclose(report.per_dim, per_dim, rtol=1e-6, atol=1e-6)
    assert report.total == pytest.approx(per_dim.sum(), rel=1e-6)
    expected_active = mean.var(axis=0) > 0.01
    assert report.active.tolist() == expected_active.tolist() == [True, True, True, False]
    assert report.collapsed == [3]

    doc = json.loads((tmp_path / "out" / "kl-report.json").read_text())
    assert doc["active_units"] == 3 and doc["collapsed"] == [3]
    assert doc["kl"]["total"] == pytest.approx(per_dim.sum(), rel=1e-6)
    assert sum(doc["kl"]["share"]) == pytest.approx(1.0)
    assert doc["data"]["n"] == len(handset_images)
    assert doc["provenance"]["command"].startswith("latentkit kl-report ")
    assert (tmp_path / "out" / doc["figures"]["kl_per_dim"]).stat().st_size > 1000
    # Dimension 3 has σ² = e^1.5 but a constant mean: it costs KL without carrying information.
    assert per_dim[3] == pytest.approx(0.5 * (np.exp(1.5) - 1 - 1.5))
    assert any("Dimension(s) 3 cost KL" in note for note in report.diagnosis)


def test_same_seed_gives_byte_identical_json(handset_checkpoint, tmp_path):
    texts = []
    for run in range(2):
        kl_report(handset_checkpoint, out=tmp_path / f"r{run}", plugin_files=[HANDSET_PLUGIN], limit=100, seed=3)
        texts.append((tmp_path / f"r{run}" / "kl-report.json").read_bytes())
    assert texts[0] == texts[1].replace(b"r1", b"r0")


def test_a_gan_has_no_kl(tmp_path):
    from latentkit.models.builtin import MLP_GAN
    from latentkit.models.checkpoint import save

    path = save(MLP_GAN.build({}), tmp_path / "gan.safetensors", plugin="mlp-gan", config={}, dataset="digits")
    with pytest.raises(LatentkitError, match="needs an encoder"):
        kl_report(path, write=False)
    assert not (tmp_path / "gan" / "kl-report.json").exists()


def test_diagnosis_names_collapse_and_narrow_posteriors():
    collapsed = diagnose(np.array([2.0, 0.0, 0.0, 0.0]), np.array([True, False, False, False]), np.ones(4) * 0.1)
    assert "3 of 4 dimensions collapsed" in collapsed[0]
    narrow = diagnose(np.array([5.0, 5.0]), np.array([True, True]), np.array([1e-5, 1e-5]))
    assert any("nearly deterministic" in note for note in narrow)
    assert diagnose(np.array([1.0, 1.0]), np.array([True, True]), np.array([0.1, 0.1])) == []


def test_provenance_reproduces_the_figure_format(handset_checkpoint, tmp_path):
    report = kl_report(handset_checkpoint, out=tmp_path, plugin_files=[HANDSET_PLUGIN], figure_format="svg")
    assert "--format svg" in report.document["provenance"]["command"]
    assert (tmp_path / "kl-report.svg").read_text().startswith("<?xml")
