import json

import numpy as np
import pytest

from latentkit.commands.kl_report import diagnose, kl_report, training_beta
from latentkit.errors import LatentkitError
from tests.conftest import HANDSET_PLUGIN, handset_posterior


def test_kl_report_equals_an_independent_computation(handset_checkpoint, handset_images, tmp_path, drawn_figures):
    report = kl_report(handset_checkpoint, out=tmp_path / "out", plugin_files=[HANDSET_PLUGIN], batch_size=50)
    mean, logvar = handset_posterior(handset_images)
    per_dim = (0.5 * (mean**2 + np.exp(logvar) - 1 - logvar)).mean(axis=0)
    np.testing.assert_allclose(report.per_dim, per_dim, rtol=1e-6, atol=1e-6)
    assert report.total == pytest.approx(per_dim.sum(), rel=1e-6)
    expected_active = mean.var(axis=0) > 0.01
    assert report.active.tolist() == expected_active.tolist() == [True, True, True, False]
    assert report.collapsed == [3]

    doc = json.loads((tmp_path / "out" / "kl-report.json").read_text())
    results = doc["results"]
    assert results["active_units"] == 3 and results["collapsed"] == [3] and results["collapsed_units"] == 1
    assert results["kl"]["total"] == pytest.approx(per_dim.sum(), rel=1e-6)
    assert sum(results["kl"]["share"]) == pytest.approx(1.0)
    assert doc["data"]["n"] == len(handset_images)
    assert doc["provenance"]["command"].startswith("latentkit kl-report ")
    # the figure: KL bars sorted by KL, Var(μ) bars, the activity threshold as a line on the Var(μ) panel
    assert (tmp_path / "out" / doc["figures"]["kl_per_dim"]).exists()
    kl_figure = drawn_figures[0]
    ax_kl, ax_var = kl_figure.axes[:2]
    order = np.argsort(-per_dim, kind="stable")
    np.testing.assert_allclose([bar.get_height() for bar in ax_kl.patches], per_dim[order], rtol=1e-6)
    assert [t.get_text() for t in ax_var.get_xticklabels()] == [str(i) for i in order]
    (threshold_line,) = [line for line in ax_var.get_lines() if line.get_linestyle() == "--"]
    assert set(threshold_line.get_ydata()) == {0.01}
    collapsed_bar = ax_kl.patches[int(np.flatnonzero(order == 3)[0])]
    assert collapsed_bar.get_facecolor() != ax_kl.patches[int(np.flatnonzero(order == 0)[0])].get_facecolor()
    # Dimension 3 has σ² = e^1.5 but a constant mean: it costs KL without carrying information.
    assert per_dim[3] == pytest.approx(0.5 * (np.exp(1.5) - 1 - 1.5))
    assert any("Dimension(s) 3 cost KL" in note for note in report.notes)
    assert doc["notes"] == report.notes


def test_same_seed_gives_byte_identical_json(handset_checkpoint, tmp_path):
    texts = []
    for run in range(2):
        kl_report(handset_checkpoint, out=tmp_path / f"r{run}", plugin_files=[HANDSET_PLUGIN], n=100, seed=3)
        texts.append((tmp_path / f"r{run}" / "kl-report.json").read_bytes())
    assert texts[0] == texts[1].replace(b"r1", b"r0")


def test_a_gan_has_no_kl(tmp_path):
    from latentkit.models.builtin import MLP_GAN
    from latentkit.models.checkpoint import save

    path = save(MLP_GAN.build({}), tmp_path / "gan.safetensors", plugin="mlp-gan", config={}, dataset="digits")
    with pytest.raises(LatentkitError, match="needs an encoder"):
        kl_report(path, write=False)
    assert not (tmp_path / "gan" / "kl-report.json").exists()


def test_diagnosis_names_collapse():
    # a nearly deterministic posterior is flagged with the latent scale (tests/analysis/test_latent_scale.py)
    collapsed = diagnose(np.array([2.0, 0.0, 0.0, 0.0]), np.array([True, False, False, False]), n=500)
    assert "3 of 4 dimensions collapsed" in collapsed[0]
    assert diagnose(np.array([1.0, 1.0]), np.array([True, True]), n=500) == []
    channels = diagnose(np.array([2.0, 0.0, 0.0, 0.0]), np.array([True, False, False, False]), n=500, unit="channel")
    assert "3 of 4 channels collapsed" in channels[0]


def test_diagnosis_reads_beta_from_the_checkpoint_metadata():
    args = (np.array([2.0, 0.0, 0.0, 0.0]), np.array([True, False, False, False]))
    large = diagnose(*args, n=500, beta=8.0)[0]
    assert "Expected for a β-VAE with large β (β = 8, from the checkpoint's metadata)" in large
    plain = diagnose(*args, n=500, beta=1.0)[0]
    assert "The KL weight does not explain it (β = 1" in plain and "Expected" not in plain
    unknown = diagnose(*args, n=500, beta=None)[0]
    assert "If the model is a β-VAE" in unknown
    assert training_beta({"training": '{"beta": 4.0, "epochs": 3}'}) == 4.0
    assert training_beta({}) is None and training_beta({"training": "not json"}) is None


def test_a_tiny_sample_claims_nothing_about_collapse():
    notes = diagnose(np.array([0.5, 0.4]), np.array([False, False]), n=1)
    assert len(notes) == 1 and "too few to decide" in notes[0] and "0 for a single point" in notes[0]
    assert not any("No active units" in note for note in notes)


def test_kl_report_limit_1_and_figure_content(handset_checkpoint, tmp_path):
    from latentkit.figures.style import caveats_of

    tiny = kl_report(handset_checkpoint, out=tmp_path / "tiny", plugin_files=[HANDSET_PLUGIN], n=1, dpi=60)
    assert tiny.n == 1 and not any("No active units" in note for note in tiny.notes)
    assert any(c.startswith("tiny sample: n = 1") for c in tiny.caveats)
    assert caveats_of(tiny.files["figure"]) == tiny.caveats
    assert tiny.document["results"]["posterior"]["mean_variance_stderr"] is None

    full = kl_report(handset_checkpoint, out=tmp_path / "full", plugin_files=[HANDSET_PLUGIN], dpi=60)
    assert full.caveats == [] and caveats_of(full.files["figure"]) == []
    se = np.asarray(full.document["results"]["posterior"]["mean_variance_stderr"])
    np.testing.assert_allclose(se, full.mean_variance * np.sqrt(2 / (full.n - 1)))


def test_kl_figure_draws_the_threshold_and_no_empty_legend_entry(tmp_path):
    from latentkit.figures import kl as kl_figure

    captured = {}

    def keep(fig, target, fmt, **kwargs):
        captured["fig"], captured["kwargs"] = fig, kwargs
        return target

    per_dim = np.full(10, 1e-5)
    variance = np.full(10, 1e-6)
    original = kl_figure.save_figure
    kl_figure.save_figure = keep
    try:
        kl_figure.plot_kl_per_dimension(
            per_dim, np.zeros(10, bool), tmp_path / "k.png", mean_variance=variance, threshold=0.01,
            title="t", caveats=["collapsed model: x"],
        )  # fmt: skip
    finally:
        kl_figure.save_figure = original
    ax_kl, ax_var = captured["fig"].axes
    assert ax_kl.get_ylim()[1] >= 0.1  # 1e-5 nats cannot fill the axis
    lines = [line for line in ax_var.get_lines() if list(line.get_ydata()) == [0.01, 0.01]]
    assert len(lines) == 1 and ax_var.get_yscale() == "log"
    labels = [t.get_text() for t in ax_kl.get_legend().get_texts()]
    assert labels == ["collapsed (10)", "active threshold Var(μ) = 0.01"]
    assert captured["kwargs"]["caveats"] == ["collapsed model: x"]


def test_provenance_reproduces_the_figure_format(handset_checkpoint, tmp_path):
    report = kl_report(handset_checkpoint, out=tmp_path, plugin_files=[HANDSET_PLUGIN], figure_format="svg")
    assert "--format svg" in report.document["provenance"]["command"]
    assert (tmp_path / "kl-report.svg").read_text().startswith("<?xml")


def test_every_setting_is_checked_before_any_work(tmp_path):
    missing = tmp_path / "no-such.safetensors"  # never opened: the settings fail first
    with pytest.raises(LatentkitError, match="figure format"):
        kl_report(missing, figure_format="jpg", write=False)
    with pytest.raises(LatentkitError, match="--n 0 is not positive"):
        kl_report(missing, n=0, write=False)
    with pytest.raises(LatentkitError, match="--active-threshold -1"):
        kl_report(missing, active_threshold=-1.0, write=False)


def test_n_larger_than_the_data_is_an_error(handset_checkpoint):
    with pytest.raises(LatentkitError, match="--n 100000 is more than the"):
        kl_report(handset_checkpoint, plugin_files=[HANDSET_PLUGIN], n=100_000, write=False)


def test_n_subset_is_recorded_in_data_and_command(handset_checkpoint, handset_images):
    report = kl_report(handset_checkpoint, plugin_files=[HANDSET_PLUGIN], n=100, seed=3, write=False)
    assert report.document["data"] == {"source": report.source, "n_total": len(handset_images), "n": 100}
    assert "--n 100 --seed 3" in report.document["provenance"]["command"]
