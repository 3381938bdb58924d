"""Encoding passes under torchrun (gloo, CPU): results do not depend on the number of processes.

Each test launches real processes through ``python -m torch.distributed.run``; they
are marked ``distributed`` and run by ``.ci/run`` after the default suite.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from latentkit.commands.disentangle import disentangle
from latentkit.commands.kl_report import kl_report

pytestmark = pytest.mark.distributed


def torchrun(nproc: int, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(nproc), "--monitor-interval", "0.1"]
    return subprocess.run([*command, "-m", "latentkit", *args], capture_output=True, text=True, env=env, timeout=300)


def figures(document: dict) -> dict:
    """Every number of a document (the reproducing command line and the figure files aside)."""
    return {key: value for key, value in document.items() if key not in ("provenance", "figures")}


def assert_close(a, b, path=""):
    if isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for key in a:
            assert_close(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            assert_close(x, y, f"{path}[{i}]")
    elif isinstance(a, float):
        assert b == pytest.approx(a, rel=1e-9, abs=1e-12), path
    else:
        assert a == b, path


@pytest.mark.parametrize("nproc", [2, 3])
def test_kl_report_agrees_under_any_number_of_processes(mlp_vae_checkpoint, tmp_path, nproc):
    alone = kl_report(mlp_vae_checkpoint, data="digits", out=tmp_path / "alone", batch_size=100)
    run = torchrun(nproc, "kl-report", str(mlp_vae_checkpoint), "--data", "digits", "--batch-size", "100",
                   "--out", str(tmp_path / "shared"), "--json")  # fmt: skip
    assert run.returncode == 0, run.stderr
    shared = json.loads(run.stdout)  # rank 0's document, and nothing else, on stdout
    assert shared["data"]["n"] == 1797
    assert_close(figures(json.loads(alone.to_json())), figures(shared))
    written = sorted(p.name for p in (tmp_path / "shared").iterdir())
    assert written == sorted(p.name for p in (tmp_path / "alone").iterdir()) and "kl-report.json" in written


@pytest.fixture
def factor_data(tmp_path) -> Path:
    """10,000 8x8 images of a 2-factor grid (sizes 100, 100), each drawn from its factors plus noise.

    As many rows as disentangle's default --n, so the command needs no ``--n`` (which
    torchrun's own parser would reject without a ``--`` before the command).
    """
    rng = np.random.default_rng(0)
    factors = np.stack(np.unravel_index(np.arange(10_000), (100, 100)), axis=1)
    x = rng.integers(0, 40, size=(10_000, 1, 8, 8))
    x[:, 0, :4] += factors[:, :1, None] * 2
    x[:, 0, 4:] += factors[:, 1:, None]
    path = tmp_path / "grid.npz"
    np.savez(path, x=np.clip(x, 0, 255).astype(np.uint8), factors=factors)
    return path


def test_disentangle_scores_the_same_rows_in_the_same_order(mlp_vae_checkpoint, factor_data, tmp_path):
    options = {"data": str(factor_data), "metrics": "mig,sap,factor-vae", "num_train": 50, "num_eval": 50}
    alone = disentangle(mlp_vae_checkpoint, out=tmp_path / "alone", **options)
    run = torchrun(3, "disentangle", str(mlp_vae_checkpoint), "--data", str(factor_data), "--metrics",
                   "mig,sap,factor-vae", "--num-train", "50", "--num-eval", "50",
                   "--out", str(tmp_path / "shared"), "--json")  # fmt: skip
    assert run.returncode == 0, run.stderr
    shared = json.loads(run.stdout)
    # SAP trains on the first 80% of the rows and tests on the rest: another row order moves it.
    assert_close(figures(json.loads(alone.to_json())), figures(shared))


def test_a_failing_rank_stops_the_job_with_its_reason_and_no_output(mlp_vae_checkpoint, tmp_path):
    from latentkit.data.source import ArraySource

    x = np.random.default_rng(0).random((1000, 1, 8, 8)).astype(np.float32)
    sampled = set(np.linspace(0, 999, ArraySource.SAMPLE_ROWS).astype(np.int64).tolist())
    bad_row = next(row for row in range(900, 1000) if row not in sampled)  # in rank 2's block, not checked up front
    x[bad_row, 0, 3, 3] = np.nan
    path = tmp_path / "bad.npy"
    np.save(path, x)
    out = tmp_path / "out"
    run = torchrun(3, "kl-report", str(mlp_vae_checkpoint), "--data", str(path), "--out", str(out), "--json")
    assert run.returncode != 0
    assert run.stdout == ""
    errors = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, run.stderr  # one line, from rank 0, naming the rank and the reason
    assert errors[0].startswith("error: rank 2 of 3: ") and f"x row {bad_row} contains NaN or inf" in errors[0]
    assert "exitcode  : 2" in run.stderr  # torchrun's summary of the failed ranks
    assert not out.exists() or list(out.iterdir()) == []


def test_a_sweep_keeps_every_rank_for_each_checkpoint_and_agrees_with_one_process(tmp_path, handset_data):
    from latentkit.commands.sweep import kl_report_sweep
    from tests.commands.test_sweep import SCALES, _save
    from tests.conftest import HANDSET_PLUGIN

    runs = [_save(tmp_path / "runs" / str(i) / "model.safetensors", s, handset_data) for i, s in enumerate(SCALES)]
    alone = kl_report_sweep(runs, out=tmp_path / "alone", plugin_files=[HANDSET_PLUGIN], dpi=20)
    run = torchrun(2, "kl-report", str(tmp_path / "runs" / "*" / "model.safetensors"), "--plugin-file",
                   str(HANDSET_PLUGIN), "--dpi", "20", "--out", str(tmp_path / "shared"), "--json")  # fmt: skip
    assert run.returncode == 0, run.stderr
    shared = json.loads(run.stdout)
    assert shared["schema"] == "latentkit.kl-report-sweep"
    assert_close(figures(json.loads(alone.to_json())), figures(shared))
    written = sorted(str(p.relative_to(tmp_path / "shared")) for p in (tmp_path / "shared").rglob("*"))
    assert written == sorted(str(p.relative_to(tmp_path / "alone")) for p in (tmp_path / "alone").rglob("*"))
    failing = torchrun(2, "check", *map(str, runs), "--require", "active_units >= 2", "--plugin-file",
                       str(HANDSET_PLUGIN), "--json")  # fmt: skip
    assert failing.returncode == 1, failing.stderr
    assert [d["results"]["passed"] for d in json.loads(failing.stdout)["checkpoints"]] == [True, True, False]
