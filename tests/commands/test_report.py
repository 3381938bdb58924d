"""``latentkit report``: every section, one shared encoding pass, the codes cache, a page a browser shows."""

from __future__ import annotations

import json
import re
from html import escape as html_escape
from pathlib import Path

import numpy as np
import pytest

from latentkit.cli import main
from latentkit.commands.report import report
from tests.browser import NO_BROWSER, find_browser, render
from tests.conftest import HANDSET_PLUGIN, LOGVAR, WEIGHT

SECTION_IDS = ["metadata", "kl", "active-units", "disentanglement", "interpolation", "traversal", "projection"]
FAST = {"projection": "pca", "plugin_files": [HANDSET_PLUGIN]}


def _factor_checkpoint(folder: Path) -> Path:
    """The hand-set VAE over 2x2 images whose first two pixels are two factors (4 x 5 values).

    Its codes are z0 = p0, z1 = 2·p1, z2 = (p0 + p2) / 2 and z3 = 0, with p0 = a/3, p1 = b/4 and p2
    small noise: factor ``a`` is carried by two codes (z0 and z2), factor ``b`` by z1 alone.
    """
    from latentkit.models.checkpoint import save
    from latentkit.models.registry import PluginRegistry

    a, b = np.meshgrid(np.arange(4), np.arange(5), indexing="ij")
    factors = np.repeat(np.stack([a.ravel(), b.ravel()], axis=1), 20, axis=0)  # 400 rows, full factorial x 20
    rng = np.random.default_rng(0)
    x = np.zeros((len(factors), 1, 2, 2), dtype=np.float32)
    x[:, 0, 0, 0] = factors[:, 0] / 3
    x[:, 0, 0, 1] = factors[:, 1] / 4
    x[:, 0, 1, 0] = rng.uniform(0, 0.02, len(factors))
    x[:, 0, 1, 1] = rng.uniform(0, 1, len(factors))
    data = folder / "factors <&>.npz"  # a name that needs escaping in HTML
    np.savez(data, x=x, factors=factors, factor_names=np.array(["a", "b"]), y=factors[:, 0])
    config = {"weight": WEIGHT, "logvar": LOGVAR}
    model = PluginRegistry([HANDSET_PLUGIN]).get("handset-vae").build(config)
    return save(model, folder / "factors.safetensors", plugin="handset-vae", config=config, dataset=str(data))


@pytest.fixture(scope="module")
def factor_report(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("report")
    with pytest.MonkeyPatch.context() as patch:  # module scope: keep the cache out of ~/.cache here too
        patch.setenv("LATENTKIT_CACHE_DIR", str(folder / "cache"))
        checkpoint = _factor_checkpoint(folder)
        result = report(checkpoint, out=folder / "out", bootstrap=3, **FAST)
    return checkpoint, result


def _sections(html: str) -> list[str]:
    return re.findall(r'<section id="([^"]+)">', html)


def test_report_has_every_section_and_no_http_reference(factor_report) -> None:
    _, result = factor_report
    html = result.files["html"].read_text(encoding="utf-8")
    assert _sections(html) == SECTION_IDS
    assert "http" not in html.lower()
    sources = re.findall(r'(?:src|href)="([^"]*)"', html)
    assert all(s.startswith("data:image/png;base64,") or s.startswith("#") for s in sources)
    images = re.findall(r'<img src="data:image/png;base64,', html)
    assert len(images) == 6  # KL, MI, DCI importance, interpolation, traversal, projection
    assert "factors &lt;&amp;&gt;.npz" in html and "factors <&>.npz" not in html
    assert "Does not apply" not in html  # a VAE on factor data: every section applies


def test_report_json_is_the_envelope_with_the_same_sections(factor_report) -> None:
    _, result = factor_report
    doc = json.loads(result.files["json"].read_text())
    from latentkit.envelope import ENVELOPE_KEYS

    assert list(doc) == sorted(ENVELOPE_KEYS)
    assert doc["schema"] == "latentkit.report" and doc["figures"] == {"html": "report.html"}
    assert doc["data"]["n"] == doc["data"]["n_total"] == 400
    html = result.files["html"].read_text(encoding="utf-8")
    from latentkit.report_page import format_value

    sections = doc["results"]["sections"]
    assert [s["id"] for s in sections] == SECTION_IDS
    for section in sections:  # every table cell of the JSON is on the page, as printed there
        for table in section["tables"]:
            for row in table["rows"]:
                for cell in row:
                    shown = format_value(tuple(cell) if isinstance(cell, list) else cell)
                    assert html_escape(shown) in html, shown


def test_disentanglement_scores_a_code_disentangled_by_construction(factor_report) -> None:
    _, result = factor_report
    scores = result.document["results"]["disentangle"]["results"]["scores"]
    intervals = result.document["results"]["disentangle"]["results"]["intervals"]
    mi = np.array(result.document["results"]["disentangle"]["results"]["matrices"]["mutual_information"])
    # a is in z0 and z2 equally (gap 0), b in z1 alone (gap 1): MIG = (0 + 1) / 2.
    np.testing.assert_allclose(mi[:, 0], [np.log(4), 0, np.log(4), 0], atol=1e-9)
    np.testing.assert_allclose(mi[:, 1], [0, np.log(5), 0, 0], atol=1e-9)
    assert scores["mig"] == pytest.approx(0.5, abs=1e-9)
    assert scores["dci.disentanglement"] > 0.9  # every code that predicts anything predicts one factor
    low, high = intervals["values"]["mig"]
    assert low <= scores["mig"] <= high
    assert intervals["resamples"] == 3


def test_report_numbers_equal_the_separate_commands(factor_report, tmp_path) -> None:
    from latentkit.commands.kl_report import kl_report

    checkpoint, result = factor_report
    alone = kl_report(checkpoint, plugin_files=[HANDSET_PLUGIN], write=False)
    shared = result.document["results"]["kl"]["results"]
    assert shared["kl"]["total"] == pytest.approx(alone.total, rel=1e-12)
    assert shared["active_units"] == alone.active_units == 3
    assert result.encoded_rows == 400 and result.extra_rows == 0  # one pass served every analysis


def test_a_second_report_reuses_the_codes_a_damaged_or_changed_input_does_not(
    handset_checkpoint: Path, handset_data: Path, tmp_path: Path, _private_cache: Path
) -> None:
    from latentkit.models.checkpoint import save
    from latentkit.models.registry import PluginRegistry

    settings = {"bootstrap": 0, **FAST}
    first = report(handset_checkpoint, out=tmp_path / "a", **settings)
    second = report(handset_checkpoint, out=tmp_path / "b", **settings)
    assert not first.cache_hit and "no cached codes" in first.cache_note
    assert second.cache_hit and "reused cached codes" in second.cache_note
    assert first.files["json"].read_bytes() == second.files["json"].read_bytes()  # same seed, same bytes

    (entry,) = (_private_cache / "codes").glob("*.npz")
    entry.write_bytes(entry.read_bytes()[:200])
    damaged = report(handset_checkpoint, out=tmp_path / "c", **settings)
    assert not damaged.cache_hit and "damaged" in damaged.cache_note and str(entry) in damaged.cache_note
    assert damaged.files["json"].read_bytes() == first.files["json"].read_bytes()

    config = {"weight": (np.array(WEIGHT) * 2.0).tolist(), "logvar": LOGVAR}
    model = PluginRegistry([HANDSET_PLUGIN]).get("handset-vae").build(config)
    save(model, handset_checkpoint, plugin="handset-vae", config=config, dataset=str(handset_data))
    changed = report(handset_checkpoint, out=tmp_path / "d", **settings)
    assert not changed.cache_hit and "different checkpoint sha256" in changed.cache_note
    before = first.document["results"]["kl"]["results"]["kl"]["total"]
    after = changed.document["results"]["kl"]["results"]["kl"]["total"]
    assert after > before  # recomputed with the new weights (the means doubled)


def test_a_gan_keeps_the_sections_that_do_not_apply_and_says_why(mlp_gan_checkpoint: Path, tmp_path: Path) -> None:
    result = report(mlp_gan_checkpoint, out=tmp_path, n=40, projection="pca")
    applies = {s.id: s.applies for s in result.sections}
    assert applies == {
        "metadata": True, "kl": False, "active-units": False, "disentanglement": False,
        "interpolation": True, "traversal": True, "projection": True,
    }  # fmt: skip
    reasons = {s.id: s.reason for s in result.sections if not s.applies}
    assert all("is a GAN (mlp-gan)" in reason and "encoder" in reason for reason in reasons.values())
    html = result.files["html"].read_text(encoding="utf-8")
    assert _sections(html) == SECTION_IDS and html.count("Does not apply:") == 3
    assert result.cache_note is None  # nothing was encoded


def test_an_interrupt_between_the_page_and_its_json_leaves_the_previous_report(
    mlp_gan_checkpoint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from latentkit.outputs import STAGING_PREFIX, OutputSet

    report(mlp_gan_checkpoint, out=tmp_path, n=40, projection="pca", seed=1)
    before = {name: (tmp_path / name).read_bytes() for name in ("report.html", "report.json")}
    staged = OutputSet.path

    def interrupted_at_the_json(self, name):
        if name == "report.json":
            assert (self.staging / "report.html").is_file()  # the page is written: the window is open
            raise KeyboardInterrupt
        return staged(self, name)

    monkeypatch.setattr(OutputSet, "path", interrupted_at_the_json)
    with pytest.raises(KeyboardInterrupt):
        report(mlp_gan_checkpoint, out=tmp_path, n=40, projection="pca", seed=2)
    assert {name: (tmp_path / name).read_bytes() for name in before} == before
    assert b"seed 1" in before["report.html"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(STAGING_PREFIX)]

    monkeypatch.setattr(OutputSet, "path", staged)
    report(mlp_gan_checkpoint, out=tmp_path, n=40, projection="pca", seed=2)  # completes: both files are new
    assert b"seed 2" in (tmp_path / "report.html").read_bytes()
    assert json.loads((tmp_path / "report.json").read_text())["settings"]["seed"] == 2


def test_report_page_renders_in_a_browser(factor_report, tmp_path: Path) -> None:
    browser = find_browser()
    if browser is None:
        pytest.skip(NO_BROWSER)
    _, result = factor_report
    check = render(result.files["html"], tmp_path, browser)
    assert len(check.images) == 6
    assert all(image["loaded"] and image["width"] > 200 for image in check.images), check.images
    assert check.errors == [] and check.console == []


def test_cli_report_writes_the_page_and_refuses_bad_settings_before_work(
    capsys, handset_checkpoint: Path, tmp_path: Path
) -> None:
    checkpoint = handset_checkpoint
    code = main(["report", str(checkpoint), "--projection", "nope", "--out", str(tmp_path / "bad")])
    _, err = capsys.readouterr()
    assert code == 2 and "unknown --projection 'nope'" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "bad").exists()

    args = ["-q", "report", str(checkpoint), "--plugin-file", str(HANDSET_PLUGIN), "--projection", "pca"]
    code = main([*args, "--bootstrap", "0", "--n", "40", "--out", str(tmp_path / "out"), "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert json.loads(out)["schema"] == "latentkit.report"
    assert f"wrote {tmp_path / 'out' / 'report.html'}" in err and "active units: 3/4" in err


def test_a_saved_report_is_a_check_baseline(factor_report, tmp_path):
    from latentkit.catalogue import figure
    from latentkit.commands.check import check

    checkpoint, result = factor_report
    path = tmp_path / "report.json"
    path.write_text(result.to_json())
    results = json.loads(path.read_text())["results"]
    rules = ["kl.total <= baseline", "active_units >= baseline", "mig >= baseline - 0.01"]
    checked = check(checkpoint, require=rules, baseline=path, plugin_files=FAST["plugin_files"], cwd=tmp_path)
    assert [o.baseline for o in checked.outcomes] == [
        results["kl"]["results"]["kl"]["total"],
        results["kl"]["results"]["active_units"],
        results["disentangle"]["results"]["scores"]["mig"],
    ]
    assert checked.passed  # the same checkpoint and rows as the report: the same values
    with pytest.raises(KeyError, match="its projection is pca, not umap"):  # a PCA trustworthiness is not UMAP's
        figure("umap.trustworthiness").read(json.loads(path.read_text()))
