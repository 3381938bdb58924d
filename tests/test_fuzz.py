"""Fuzz suite, short run: hostile checkpoints, data files, PNG folders and option values.

Every example must end in exit 0, or exit 2 with one line on stderr, and allocate less than a small
budget: each example runs in a child forked from this warmed-up process, whose peak memory is
compared with the parent's at the fork. The long run (>= 100,000 examples) is
benchmarks/fuzz_inputs.py; this one draws a few dozen, derandomised so a CI run is repeatable.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from tests.fuzzing import check_forked, commands_for, npz_bytes, option_args, png_folder, run_forked, safetensors_bytes, warm_up

MEMORY_BUDGET_MB = 200  # over the RSS at the fork: none of these inputs justifies more
SHORT = settings(max_examples=12, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def warmed_up(mlp_vae_checkpoint, tmp_path_factory):
    warm_up(mlp_vae_checkpoint, tmp_path_factory.mktemp("warm-up"))  # imports done before any fork
    return mlp_vae_checkpoint


def _check(family, value, checkpoint):
    with tempfile.TemporaryDirectory() as folder:
        commands = commands_for(family, value, Path(folder), checkpoint)
        check_forked(run_forked(commands), commands, MEMORY_BUDGET_MB)


@SHORT
@given(data=safetensors_bytes())
def test_hostile_checkpoints(data, warmed_up):
    _check("safetensors", data, warmed_up)


@SHORT
@given(data=npz_bytes())
def test_hostile_npz_files(data, warmed_up):
    _check("npz", data, warmed_up)


@settings(SHORT, max_examples=5)
@given(files=png_folder())
def test_hostile_png_folders(files, warmed_up):
    _check("png", files, warmed_up)


@settings(SHORT, max_examples=8)
@given(args=option_args())
def test_absurd_option_values(args, warmed_up):
    _check("options", args, warmed_up)


def test_forked_run_measures_the_childs_own_allocation(warmed_up):
    """The memory bound can fail: a child that maps and touches 300 MB is measured at about 300 MB
    (fresh pages: the allocator's retained free memory, already counted at the fork, could hide them)."""
    import mmap

    from tests import fuzzing

    def hold_memory(args):
        block = mmap.mmap(-1, 300 * 2**20)
        for page in range(0, len(block), mmap.PAGESIZE):
            block[page] = 1
        return fuzzing.Outcome(0, "", str(block[-1]))

    original = fuzzing.run_cli
    fuzzing.run_cli = hold_memory
    try:
        run = run_forked([["info"]])
    finally:
        fuzzing.run_cli = original
    assert run.died is None and run.outcomes[0].status == 0
    assert 290 < run.grown_mb < 360
    with pytest.raises(AssertionError, match="peak memory"):
        check_forked(run, [["info"]], MEMORY_BUDGET_MB)
