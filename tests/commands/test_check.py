"""`latentkit check` on checkpoints trained in the test: exit codes, JUnit, baselines, the CI example."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from xml.etree import ElementTree

import pytest

from latentkit.cli import main
from latentkit.commands.check import Analyses, check, markdown_summary
from latentkit.errors import LatentkitError
from latentkit.options import DataSelection, ModelInput

EXAMPLE = Path(__file__).parents[2] / "examples" / "ci"


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """A small mlp-vae trained briefly on 600 digits (8 latent dimensions; about 6 come out active)."""
    from latentkit.commands.train import train

    out = tmp_path_factory.mktemp("trained") / "vae.safetensors"
    train("vae", data="digits", out=out, epochs=10, latent_dim=8, n=600, learning_rate=3e-3, seed=0)
    return out


def run(capsys, *args):
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_the_ci_example_passes_on_a_trained_checkpoint_and_fails_a_stricter_one(trained, tmp_path, monkeypatch, capsys):
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    shutil.copy(EXAMPLE / "pyproject.toml", project / "pyproject.toml")
    monkeypatch.chdir(project / "src")  # found by walking up
    code, out, err = run(capsys, "-q", "check", trained, "--junit", tmp_path / "pass.xml")
    assert code == 0, out + err
    assert "every rule holds" in out and "active_units >= 2" in out
    code, out, _ = run(capsys, "-q", "check", trained, "--require", "active_units >= 9", "--junit", tmp_path / "fail.xml")
    assert code == 1
    assert "1 of 4 rules failed" in out
    suite = ElementTree.parse(tmp_path / "fail.xml").getroot().find("testsuite")
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases][-1] == "active_units >= 9" and len(cases) == 4
    failures = [c for c in cases if c.find("failure") is not None]
    assert [c.get("name") for c in failures] == ["active_units >= 9"]
    assert suite.get("failures") == "1" and suite.get("tests") == "4"
    assert "needed >= 9" in failures[0].find("failure").get("message")


def test_only_the_needed_analysis_runs_and_values_match_kl_report(trained):
    from latentkit.commands.kl_report import kl_report

    result = check(trained, require=["kl.total <= 1000", "active_units >= 1", "kl.per_dim[0] >= 0"], cwd=trained.parent)
    assert result.analyses == ["kl-report"]  # one encoding pass for three KL rules
    report = kl_report(trained, write=False)
    measured = result.document["results"]["figures"]
    assert measured["kl.total"] == pytest.approx(report.total)
    assert measured["active_units"] == report.active_units
    assert measured["kl.per_dim[0]"] == pytest.approx(report.per_dim[0])
    assert result.passed and result.document["schema"] == "latentkit.check"


def test_every_failed_rule_is_reported_not_only_the_first(trained):
    result = check(trained, require=["active_units >= 9", "kl.total <= 0.001", "collapsed_units <= 8"], cwd=trained.parent)
    assert [o.passed for o in result.outcomes] == [False, False, True]
    summary = markdown_summary(result)
    assert summary.count("❌ fail") == 2 and summary.count("✅ pass") == 1


def test_baseline_checkpoint_and_saved_json(trained, mlp_vae_checkpoint, tmp_path):
    # against itself: equal values, so <= baseline holds and < baseline does not
    same = check(trained, require=["kl.total <= baseline", "kl.total < baseline"], baseline=trained, cwd=tmp_path)
    assert [o.passed for o in same.outcomes] == [True, False]
    assert same.outcomes[0].baseline == pytest.approx(same.outcomes[0].measured)
    # a trained model uses more KL than an untrained one of the same size
    untrained = check(trained, require=["kl.total >= baseline * 2"], baseline=mlp_vae_checkpoint, cwd=tmp_path)
    outcome = untrained.outcomes[0]
    assert outcome.threshold == pytest.approx(2 * outcome.baseline)
    saved = tmp_path / "baseline.json"
    saved.write_text(same.to_json())  # a check result saved earlier
    from_json = check(trained, require=["kl.total <= baseline * 1.0"], baseline=saved, cwd=tmp_path)
    assert from_json.passed and from_json.analyses == ["kl-report"]
    kl_json = tmp_path / "kl.json"
    from latentkit.commands.kl_report import kl_report

    kl_json.write_text(kl_report(trained, write=False).to_json())  # any command's JSON works too
    assert check(trained, require=["active_units >= baseline"], baseline=kl_json, cwd=tmp_path).passed


def test_input_errors_exit_2_before_any_analysis(trained, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cases = [
        (["--require", "kl.total <= 4O"], "expected a number or 'baseline' at '4O'"),
        (["--require", "kl.totl <= 4"], "unknown figure 'kl.totl'"),
        (["--require", "mig >= baseline - 0.05"], "none was given"),
        ([], "no rules to check"),
        (["--rules-file", tmp_path / "none.toml"], "does not exist"),
        (["--require", "mig >= 0.1", "--baseline", tmp_path / "none.json"], "does not exist"),
    ]
    for extra, message in cases:
        code, out, err = run(capsys, "-q", "check", trained, *extra)
        assert code == 2 and message in err, (extra, err)
        assert "Traceback" not in err


def test_github_actions_annotations_and_step_summary(trained, tmp_path, capsys, monkeypatch):
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, "-q", "check", trained, "--require", "active_units >= 9", "--require", "kl.total >= 0")
    assert code == 1
    errors = [line for line in out.splitlines() if line.startswith("::error")]
    assert len(errors) == 1 and "active_units >= 9: measured" in errors[0]
    text = summary.read_text()
    assert text.startswith("earlier step\n") and "| `active_units >= 9` |" in text and "❌ fail" in text


def test_json_output_is_the_envelope(trained, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, "-q", "check", trained, "--require", "active_units >= 1", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["schema"] == "latentkit.check" and doc["results"]["passed"] is True
    assert doc["results"]["rules"][0]["rule"] == "active_units >= 1"
    assert "--require 'active_units >= 1'" in doc["provenance"]["command"]


def test_analyses_run_each_analysis_once(mlp_vae_checkpoint):
    from latentkit.catalogue import figure

    analyses = Analyses(ModelInput(mlp_vae_checkpoint), DataSelection(n=200))
    first = analyses.values([figure("kl.total"), figure("active_units")])
    second = analyses.values([figure("collapsed_units")])
    assert analyses.runs == ["kl-report"]
    assert first["active_units"] + second["collapsed_units"] == 4


def test_a_rule_on_data_without_factors_is_an_input_error(trained, tmp_path):
    with pytest.raises(LatentkitError, match="no ground-truth factors"):
        check(trained, require=["mig >= 0.1"], cwd=tmp_path)


def test_the_ci_workflow_commands_run_as_written(tmp_path, monkeypatch, capsys):
    """The example workflow's own `latentkit` steps, run in a project holding the example pyproject table."""
    import shlex

    import yaml

    workflow = yaml.safe_load((EXAMPLE / "latentkit-check.yml").read_text())
    steps = [step["run"] for step in workflow["jobs"]["check"]["steps"] if step.get("run", "").startswith("latentkit")]
    assert len(steps) == 2 and " train " in steps[0] and " check " in steps[1]
    shutil.copy(EXAMPLE / "pyproject.toml", tmp_path / "pyproject.toml")
    monkeypatch.chdir(tmp_path)
    for step in steps:
        args = shlex.split(step)[1:]
        if args[1] == "train":
            args += ["--n", "600"]  # the workflow trains on every digit; the same command on fewer keeps the test fast
        code, out, err = run(capsys, *args)
        assert code == 0, out + err
    suite = ElementTree.parse(tmp_path / "latentkit-check.xml").getroot().find("testsuite")
    assert suite.get("tests") == "3" and suite.get("failures") == "0"


def _counting_encoder(monkeypatch) -> list[int]:
    """Rows through every opened model's encoder, one entry per call, however the commands reach it."""
    from latentkit.options import ModelInput as Input

    seen: list[int] = []
    opened = Input.open

    def open_counting(self):
        ckpt = opened(self)
        encode = ckpt.model.encode

        def counting(x):
            seen.append(int(x.shape[0]))
            return encode(x)

        ckpt.model.encode = counting
        return ckpt

    monkeypatch.setattr(Input, "open", open_counting)
    return seen


def test_kl_and_mig_rules_share_one_encoding_pass_and_match_the_commands(tmp_path, monkeypatch):
    from latentkit.commands.disentangle import disentangle
    from latentkit.commands.kl_report import kl_report
    from tests.commands.test_report import FAST, _factor_checkpoint

    checkpoint = _factor_checkpoint(tmp_path)  # 400 rows with two factors
    plugins = FAST["plugin_files"]
    seen = _counting_encoder(monkeypatch)
    result = check(
        checkpoint, require=["kl.total >= 0", "active_units >= 1", "mig >= 0"], n=200, plugin_files=plugins, cwd=tmp_path
    )
    assert result.analyses == ["kl-report", "disentangle"]
    assert sum(seen) == 200  # the 200 rows once, not once per analysis
    measured = result.document["results"]["figures"]
    seen.clear()
    alone_kl = kl_report(checkpoint, n=200, plugin_files=plugins, write=False)
    alone_mig = disentangle(checkpoint, metrics="mig", n=200, plugin_files=plugins, write=False)
    assert sum(seen) == 400  # each command alone encodes the rows itself
    assert measured["kl.total"] == alone_kl.total
    assert measured["active_units"] == alone_kl.active_units
    assert measured["mig"] == alone_mig.document["results"]["scores"]["mig"]


def test_a_baseline_checkpoint_gets_its_own_single_pass(tmp_path, monkeypatch):
    from tests.commands.test_report import FAST, _factor_checkpoint

    checkpoint = _factor_checkpoint(tmp_path)
    seen = _counting_encoder(monkeypatch)
    result = check(
        checkpoint, require=["kl.total <= baseline", "mig >= baseline"], baseline=checkpoint, n=100,
        plugin_files=FAST["plugin_files"], cwd=tmp_path,
    )  # fmt: skip
    assert result.passed and sum(seen) == 200  # 100 rows for the candidate, 100 for the baseline

