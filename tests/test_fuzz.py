"""Fuzz suite, short run: hostile checkpoints, data files, PNG folders and option values.

Every example must end in exit 0, or exit 2 with one line on stderr, and keep the process's peak
memory within a small budget over what it was before. The long run (>= 100,000 examples) is
benchmarks/fuzz_inputs.py; this one draws a few dozen, derandomised so a CI run is repeatable.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzzing import (
    check_outcome,
    command_for,
    npz_bytes,
    option_args,
    peak_rss_mb,
    png_folder,
    run_cli,
    safetensors_bytes,
    warm_up,
    write_family,
)

MEMORY_BUDGET_MB = 300  # over the peak before the suite: none of these inputs justifies more
SHORT = settings(max_examples=12, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def baseline_mb(mlp_vae_checkpoint, tmp_path_factory):
    warm_up(mlp_vae_checkpoint, tmp_path_factory.mktemp("warm-up"))  # imports done before the baseline
    return peak_rss_mb()


def _check(family, value, checkpoint, baseline):
    with tempfile.TemporaryDirectory() as folder:
        path = write_family(family, value, Path(folder))
        commands = [command_for(family, path, checkpoint, Path(folder) / "out")]
        if family == "safetensors":
            commands.insert(0, ["info", str(path)])
        for args in commands:
            check_outcome(run_cli(args), args)
    assert peak_rss_mb() - baseline < MEMORY_BUDGET_MB


@SHORT
@given(data=safetensors_bytes())
def test_hostile_checkpoints(data, mlp_vae_checkpoint, baseline_mb):
    _check("safetensors", data, mlp_vae_checkpoint, baseline_mb)


@SHORT
@given(data=npz_bytes())
def test_hostile_npz_files(data, mlp_vae_checkpoint, baseline_mb):
    _check("npz", data, mlp_vae_checkpoint, baseline_mb)


@settings(SHORT, max_examples=5)
@given(files=png_folder())
def test_hostile_png_folders(files, mlp_vae_checkpoint, baseline_mb):
    _check("png", files, mlp_vae_checkpoint, baseline_mb)


@settings(SHORT, max_examples=8)
@given(args=option_args(), out=st.just(None))
def test_absurd_option_values(args, out, mlp_vae_checkpoint, baseline_mb):
    with tempfile.TemporaryDirectory() as folder:
        args = [a.replace("{ckpt}", str(mlp_vae_checkpoint)) for a in args] + ["--out", folder]
        check_outcome(run_cli(args), args)
    assert peak_rss_mb() - baseline_mb < MEMORY_BUDGET_MB
