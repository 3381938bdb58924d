"""Sweeps: kl-report, disentangle and check over several checkpoints, one table with changes against the first."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from latentkit.cli import main
from latentkit.commands import sweep as sweep_module
from latentkit.commands.kl_report import kl_report
from latentkit.commands.sweep import checkpoint_folders, expand_checkpoints, kl_report_sweep
from latentkit.errors import LatentkitError
from tests.commands.test_check import _counting_encoder
from tests.conftest import HANDSET_PLUGIN, LOGVAR, WEIGHT

SCALES = (1.0, 0.5, 0.05)  # the encoder's weight, scaled: less KL and fewer active units down the list
PLUGINS = {"plugin_files": [HANDSET_PLUGIN], "dpi": 20}  # small figures keep the tests fast
PLUGINS_CHECK = {"plugin_files": [HANDSET_PLUGIN]}


def _save(path: Path, scale: float, data: Path) -> Path:
    from latentkit.models.checkpoint import save
    from latentkit.models.registry import PluginRegistry

    config = {"weight": (np.array(WEIGHT) * scale).tolist(), "logvar": LOGVAR}
    path.parent.mkdir(parents=True, exist_ok=True)
    model = PluginRegistry([HANDSET_PLUGIN]).get("handset-vae").build(config)
    return save(model, path, plugin="handset-vae", config=config, dataset=str(data))


@pytest.fixture
def runs(tmp_path: Path, handset_data: Path) -> list[Path]:
    """runs/<i>/model.safetensors for each scale: three checkpoints whose file names collide."""
    return [_save(tmp_path / "runs" / str(i) / "model.safetensors", s, handset_data) for i, s in enumerate(SCALES)]


def _expected(images: np.ndarray, scale: float) -> dict[str, float]:
    """kl.total and active units of the hand-set encoder, in numpy float64."""
    mean = images.reshape(len(images), -1).astype(np.float64) @ (np.array(WEIGHT) * scale)
    logvar = np.array(LOGVAR)
    per_dim = (0.5 * (mean**2 + np.exp(logvar) - 1 - logvar)).mean(axis=0)
    active = int((mean.var(axis=0) > 0.01).sum())
    return {"kl.total": float(per_dim.sum()), "active_units": active, "collapsed_units": 4 - active}


def test_a_glob_sweeps_the_checkpoints_in_sorted_order_with_changes_against_the_first(runs, tmp_path, handset_images):
    result = kl_report_sweep([str(tmp_path / "runs" / "*" / "model.safetensors")], write=False, **PLUGINS)
    assert result.checkpoints == runs
    expected = [_expected(handset_images, s) for s in SCALES]
    assert [row.values["active_units"] for row in result.rows] == [3, 2, 0]
    for row, want in zip(result.rows, expected):
        for name, value in want.items():
            assert row.values[name] == pytest.approx(value, rel=1e-5)
            assert row.changes[name] == pytest.approx(row.values[name] - result.rows[0].values[name], abs=1e-12)
    assert result.rows[2].changes["active_units"] == -3 and result.rows[1].changes["collapsed_units"] == 1
    assert result.rows[1].changes["kl.total"] == pytest.approx(expected[1]["kl.total"] - expected[0]["kl.total"], rel=1e-5)
    assert all(change == 0 for change in result.rows[0].changes.values())
    assert result.files == {} and all(r.files == {} for r in result.results)


def test_json_holds_each_checkpoint_full_report_and_the_comparison(runs, tmp_path):
    out = tmp_path / "out"
    result = kl_report_sweep(runs[:2], out=out, **PLUGINS)
    doc = json.loads(result.to_json())
    assert doc["schema"] == "latentkit.kl-report-sweep" and "checkpoint" not in doc
    assert [d["checkpoint"]["path"] for d in doc["checkpoints"]] == [str(p) for p in runs[:2]]
    assert [c["name"] for c in doc["results"]["columns"]] == list(sweep_module.KL_HEADLINE)
    rows = doc["results"]["comparison"]
    assert [r["checkpoint"] for r in rows] == [str(p) for p in runs[:2]] and rows[1]["changes"]["active_units"] == -1
    assert json.loads((out / "kl-report.sweep.json").read_text()) == doc
    shown = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))  # beside the set's hidden record
    assert shown == sorted([*(r["folder"] for r in rows), "kl-report.sweep.csv", "kl-report.sweep.json"])
    # each checkpoint's document is exactly what kl-report alone gives, and sits in its own folder with its figures
    for path, row, embedded in zip(runs, rows, doc["checkpoints"]):
        alone = json.loads(kl_report(path, write=False, **PLUGINS).to_json())
        assert {**embedded, "figures": {}} == alone
        assert json.loads((out / row["folder"] / "kl-report.json").read_text()) == embedded
        assert sorted(p.name for p in (out / row["folder"]).iterdir()) == sorted(
            [*embedded["figures"].values(), "kl-report.json"]
        )
    assert result.results[1].files["json"] == out / rows[1]["folder"] / "kl-report.json"
    assert doc["provenance"]["command"].startswith(f"latentkit kl-report {runs[0]} {runs[1]} --plugin-file")
    lines = (out / "kl-report.sweep.csv").read_text().splitlines()
    assert lines[0].startswith("checkpoint,folder,kl.total,kl.total change,active_units,active_units change")
    assert lines[2].split(",")[4:6] == ["2", "-1"] and len(lines) == 3


def test_data_are_read_once_and_each_checkpoint_is_encoded_once(runs, tmp_path, monkeypatch, handset_images):
    import latentkit.data

    loads: list[str] = []
    opened = latentkit.data.open_data

    def counting_open(spec, **kwargs):
        loads.append(spec)
        return opened(spec, **kwargs)

    monkeypatch.setattr(latentkit.data, "open_data", counting_open)
    seen = _counting_encoder(monkeypatch)
    other = tmp_path / "other.npz"
    np.savez(other, x=handset_images[:100])
    fourth = _save(tmp_path / "elsewhere" / "model.safetensors", 1.0, other)  # names other data
    result = kl_report_sweep([*runs, fourth], write=False, **PLUGINS)
    assert len(loads) == 2 and result.data_sources == 2  # the shared data once, the other data once
    assert sum(seen) == 3 * len(handset_images) + 100  # every row once per checkpoint
    assert [r.n for r in result.results] == [257, 257, 257, 100]
    loads.clear(), seen.clear()
    again = kl_report_sweep([*runs, fourth], data=str(other), write=False, **PLUGINS)  # --data applies to all
    assert loads == [str(other)] and sum(seen) == 4 * 100
    assert again.document["data"] == {"source": str(other), "n_total": 100, "n": 100}  # shared: one data block
    assert result.document["data"] is None  # the checkpoints read different data
    assert kl_report_sweep([*runs, fourth], data=str(other), write=False, **PLUGINS).to_json() == again.to_json()


def test_folders_stay_unique_when_stems_and_short_hashes_collide(runs, monkeypatch):
    assert len(set(checkpoint_folders(runs))) == 3
    monkeypatch.setattr(sweep_module, "OUT_DIR_HASH_CHARS", 0)  # every short name collides: "model-"
    folders = checkpoint_folders(runs)
    assert len(set(folders)) == 3 and all(f.startswith("model-") and len(f) == len("model-") + 16 for f in folders)


def test_expansion_errors(runs, tmp_path):
    with pytest.raises(LatentkitError, match="matches no file"):
        expand_checkpoints([str(tmp_path / "nowhere" / "*.safetensors")])
    with pytest.raises(LatentkitError, match="named twice"):
        expand_checkpoints([runs[0], str(tmp_path / "runs" / "*" / "model.safetensors")])
    assert expand_checkpoints([runs[1], runs[0]]) == [runs[1], runs[0]]  # paths keep the order given


def test_a_failing_checkpoint_leaves_the_previous_sweep_untouched(runs, tmp_path, mlp_gan_checkpoint):
    out = tmp_path / "out"
    (out / "model-older").mkdir(parents=True)  # an earlier sweep's files
    for name in ("kl-report.sweep.json", "kl-report.sweep.csv", "model-older/kl-report.json"):
        (out / name).write_text("earlier")
    before = {str(p.relative_to(out)): p.is_dir() or p.read_text() for p in out.rglob("*")}
    with pytest.raises(LatentkitError, match="needs an encoder"):
        kl_report_sweep([runs[2], mlp_gan_checkpoint], out=out, **PLUGINS)
    assert {str(p.relative_to(out)): p.is_dir() or p.read_text() for p in out.rglob("*")} == before


def run(capsys, *args):
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_table_json_and_the_glob_error(runs, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "-q", "kl-report", "runs/*/model.safetensors", "--plugin-file", HANDSET_PLUGIN,
                         "--out", "sweep", "--dpi", 20, "--json")  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["schema"] == "latentkit.kl-report-sweep"  # stdout: the JSON alone; the table on stderr
    lines = [line for line in err.splitlines() if line.startswith("│ runs/")]
    assert len(lines) == 3 and "(−3)" in lines[2] and "(+3)" in lines[2] and "(" not in lines[0]
    assert "wrote sweep/kl-report.sweep.json" in err
    code, out, err = run(capsys, "-q", "kl-report", "runs/9*/model.safetensors")
    assert code == 2 and err.count("\n") == 1 and "'runs/9*/model.safetensors' matches no file" in err
    # a glob matching one checkpoint is the plain command: the same JSON as naming it
    code, out, _ = run(capsys, "-q", "kl-report", "runs/0/*.safetensors", "--plugin-file", HANDSET_PLUGIN, "--json",
                      "--dpi", 20)  # fmt: skip
    assert code == 0 and json.loads(out)["schema"] == "latentkit.kl-report"


@pytest.fixture
def factor_runs(tmp_path: Path) -> list[Path]:
    """Three hand-set VAEs over one factor data set: the second and third carry factor b ever more weakly."""
    from tests.commands.test_report import _factor_checkpoint

    (tmp_path / "f0").mkdir()
    runs = [_factor_checkpoint(tmp_path / "f0")]
    data = tmp_path / "f0" / "factors <&>.npz"  # the data it names
    for i, b_weight in enumerate((0.2, 0.0), start=1):
        weight = np.array(WEIGHT)
        weight[1, 1] = b_weight  # z1 = b_weight · p1
        runs.append(_save_weight(tmp_path / f"f{i}" / "factors.safetensors", weight, data))
    return runs


def _save_weight(path: Path, weight: np.ndarray, data: Path) -> Path:
    from latentkit.models.checkpoint import save
    from latentkit.models.registry import PluginRegistry

    config = {"weight": weight.tolist(), "logvar": LOGVAR}
    path.parent.mkdir(parents=True, exist_ok=True)
    model = PluginRegistry([HANDSET_PLUGIN]).get("handset-vae").build(config)
    return save(model, path, plugin="handset-vae", config=config, dataset=str(data))


def test_disentangle_sweep_scores_each_checkpoint_as_alone_from_one_encoding_each(factor_runs, tmp_path, monkeypatch):
    import latentkit.data
    from latentkit.commands.disentangle import disentangle
    from latentkit.commands.sweep import disentangle_sweep

    loads: list[str] = []
    opened = latentkit.data.open_data
    monkeypatch.setattr(latentkit.data, "open_data", lambda spec, **kw: loads.append(spec) or opened(spec, **kw))
    seen = _counting_encoder(monkeypatch)
    options = {"metrics": "mig,sap", "n": 200, "plugin_files": [HANDSET_PLUGIN]}
    result = disentangle_sweep([str(tmp_path / "f*" / "factors.safetensors")], write=False, **options)
    assert result.checkpoints == factor_runs and len(loads) == 1 and sum(seen) == 3 * 200
    assert [c.name for c in result.columns] == ["mig", "sap", "sap_continuous"]
    seen.clear()
    alone = [disentangle(path, write=False, **options).scores for path in factor_runs]
    for row, scores in zip(result.rows, alone):
        assert row.values == scores
        assert row.changes == pytest.approx({k: v - alone[0][k] for k, v in scores.items()}, abs=1e-12)
    assert alone[2]["mig"] < alone[0]["mig"]  # factor b no longer in any code
    doc = json.loads(result.to_json())
    assert doc["schema"] == "latentkit.disentangle-sweep"
    assert [d["results"]["scores"] for d in doc["checkpoints"]] == alone


def test_check_sweep_gates_each_checkpoint_against_the_first_by_default(runs, tmp_path, monkeypatch, handset_images):
    from xml.etree import ElementTree

    import latentkit.data
    from latentkit.commands.sweep import check_sweep

    loads: list[str] = []
    opened = latentkit.data.open_data
    monkeypatch.setattr(latentkit.data, "open_data", lambda spec, **kw: loads.append(spec) or opened(spec, **kw))
    seen = _counting_encoder(monkeypatch)
    rules = ["active_units >= 2", "kl.total >= baseline * 0.65"]
    result = check_sweep(runs, require=rules, cwd=tmp_path, junit=tmp_path / "junit.xml", **PLUGINS_CHECK)
    assert sum(seen) == 3 * len(handset_images)  # one pass per checkpoint; the first's values are the baseline
    assert len(loads) == 1  # the data they share, read once
    expected = [_expected(handset_images, s) for s in SCALES]
    assert [r.passed for r in result.results] == [True, True, False] and not result.passed
    # the second holds (2 active, 1.989 ≥ 0.65 · 2.729 = 1.774 nats); the third fails both (0 active, 1.745 nats)
    assert [o.passed for o in result.results[2].outcomes] == [False, False]
    assert result.results[1].outcomes[1].baseline == pytest.approx(expected[0]["kl.total"], rel=1e-5)
    assert result.results[0].outcomes[1].passed  # the first compared with itself
    assert [row.passed for row in result.rows] == [True, True, False]
    assert result.rows[2].changes["active_units"] == -3
    doc = json.loads(result.to_json())
    assert doc["schema"] == "latentkit.check-sweep" and doc["results"]["passed"] is False
    assert [d["settings"]["baseline"] for d in doc["checkpoints"]] == [str(runs[0])] * 3
    suites = ElementTree.parse(tmp_path / "junit.xml").getroot().findall("testsuite")
    assert [s.get("failures") for s in suites] == ["0", "0", "2"] and str(runs[2]) in suites[2].get("name")
    seen.clear()
    against = check_sweep(runs[:2], require=rules, baseline=runs[2], cwd=tmp_path, **PLUGINS_CHECK)
    assert sum(seen) == 3 * len(handset_images)  # the baseline once, then each checkpoint once
    assert against.passed and all(r.outcomes[1].baseline == pytest.approx(expected[2]["kl.total"], rel=1e-5)
                                  for r in against.results)  # fmt: skip


def test_check_sweep_on_the_command_line_exits_1_when_one_checkpoint_fails(runs, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "-q", "check", "runs/*/model.safetensors", "--require", "active_units >= 2",
                         "--plugin-file", HANDSET_PLUGIN)  # fmt: skip
    assert code == 1, err
    rows = [line for line in out.splitlines() if line.startswith("│ runs/")]
    assert [("pass" in r, "FAIL" in r) for r in rows] == [(True, False), (True, False), (False, True)]
    assert "FAIL runs/2/model.safetensors: active_units >= 2: measured 0" in out and "1 of 3 checkpoints failed" in out
    errors = [line for line in out.splitlines() if line.startswith("::error")]
    assert len(errors) == 1 and "::runs/2/model.safetensors: active_units >= 2: measured 0" in errors[0]
    summary = (tmp_path / "summary.md").read_text()
    assert summary.count("### latentkit check `runs/") == 3 and "`runs/2/model.safetensors`: failed" in summary
    code, out, _ = run(capsys, "-q", "check", *runs[:2], "--require", "active_units >= 2", "--plugin-file",
                       HANDSET_PLUGIN, "--json")  # fmt: skip
    assert code == 0 and json.loads(out)["results"]["passed"] is True


def test_decoded_images_are_kept_for_the_next_checkpoints(tmp_path, monkeypatch):
    """A PNG folder decodes on every read; in a sweep each image is decoded once, and every
    checkpoint's numbers are those it gets alone."""
    from PIL import Image

    from latentkit.data.files import PngFolderSource

    folder = tmp_path / "pngs"
    folder.mkdir()
    rng = np.random.default_rng(1)
    for i in range(40):
        Image.fromarray(rng.integers(0, 256, (2, 2), dtype=np.uint8), mode="L").save(folder / f"{i:02d}.png")
    runs = [_save(tmp_path / f"p{i}" / "model.safetensors", s, folder) for i, s in enumerate(SCALES)]
    decoded: list[int] = []
    get = PngFolderSource.get
    monkeypatch.setattr(PngFolderSource, "get", lambda self, index: decoded.append(len(index)) or get(self, index))
    result = kl_report_sweep(runs, write=False, **PLUGINS)
    assert sum(decoded) == 40  # not 3 × 40
    alone = [json.loads(kl_report(path, write=False, **PLUGINS).to_json()) for path in runs]
    assert [json.loads(r.to_json()) for r in result.results] == alone
