"""SIGINT, SIGTERM and SIGKILL at random points of each command: the previous complete set or the new one.

Each case runs the command once to completion (seed 1), then again with seed 2 into the same folder and
sends a signal either at a random moment or just as the run starts writing (when its staging folder
appears, plus a random delay). Afterwards, once :func:`recover` has run (the next run's first step),
the folder holds either the first set byte for byte or a whole new set, and no temporary file.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from latentkit.outputs import STAGING_PREFIX, recover

ROOT = Path(__file__).parents[2]


def _start(args: list[str]) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "latentkit", "-q", *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _wait_for_staging(folder: Path, process: subprocess.Popen) -> None:
    while process.poll() is None and not any(p.name.startswith(STAGING_PREFIX) for p in folder.glob(".*")):
        time.sleep(0.002)


@pytest.fixture
def codes_files(tmp_path):
    """Two codes files with different codes: the runs' sets differ in every file (MIG ignores the seed)."""
    paths = []
    for k in range(2):
        rng = np.random.default_rng(k)
        factors = rng.integers(0, 4, (400, 2))
        path = tmp_path / f"codes{k}.npz"
        np.savez(path, codes=factors + rng.normal(0, 0.1 + 0.2 * k, factors.shape), factors=factors)
        paths.append(path)
    return paths


CASES = [  # command args, signal, when
    (["kl-report", "{vae}", "--limit", "200"], signal.SIGINT, "writing"),
    (["interpolate", "{vae}", "--pairs", "2", "--steps", "4"], signal.SIGTERM, "writing"),
    (["traverse", "{vae}", "--gif", "--steps", "3", "--n", "100"], signal.SIGKILL, "writing"),
    (["umap", "{vae}", "--method", "pca", "--n", "200"], signal.SIGTERM, "random"),
    (["disentangle", "--codes", "{codes}", "--metrics", "mig"], signal.SIGKILL, "random"),
    (["disentangle", "--codes", "{codes}", "--metrics", "mig,sap"], signal.SIGINT, "writing"),
]


@pytest.mark.parametrize(("args", "sig", "when"), CASES, ids=[f"{c[0][0]}-{c[1].name}-{c[2]}" for c in CASES])
def test_a_signal_leaves_the_old_or_the_new_complete_set(tmp_path, mlp_vae_checkpoint, codes_files, args, sig, when):
    seed = random.randrange(10**6)
    rng = random.Random(seed)
    out = tmp_path / "out"
    runs = [[a.format(vae=mlp_vae_checkpoint, codes=codes) for a in args] + ["--out", str(out)] for codes in codes_files]
    first = _start([*runs[0], "--seed", "1"])
    assert first.wait() == 0, first.stderr.read()
    old = _files(out)
    second = _start([*runs[1], "--seed", "2"])
    if when == "writing":
        _wait_for_staging(out, second)
        time.sleep(rng.uniform(0, 0.05))
    else:
        time.sleep(rng.uniform(0, 3))
    second.send_signal(sig)
    status = second.wait()
    stderr = second.stderr.read().decode()
    if sig == signal.SIGKILL:
        assert status in (0, -signal.SIGKILL), (seed, stderr)
    elif status == -sig:
        # The signal came before latentkit's handler existed (the interpreter was still starting or
        # importing the CLI): the default action ended the process before it had done anything.
        pass
    else:
        assert status in (0, 128 + sig), (seed, status, stderr)
        if status:
            assert stderr.strip().splitlines() == ["interrupted"], (seed, stderr)
    recover(out)  # the next run's first step
    new = _files(out)
    assert sorted(new) == sorted(old), (seed, sorted(new))  # nothing temporary left, nothing missing
    changed = [name for name in old if new[name] != old[name]]
    assert changed in ([], sorted(old)), (seed, status, changed)  # the old set, or a whole new one
    if status == -sig and sig != signal.SIGKILL:
        assert changed == [], (seed, changed)  # killed before it started: the old set


def test_a_second_sigint_during_shutdown_does_not_kill_by_signal(tmp_path, mlp_vae_checkpoint):
    process = _start(["kl-report", str(mlp_vae_checkpoint), "--out", str(tmp_path / "out")])
    time.sleep(1.5)
    process.send_signal(signal.SIGINT)
    process.send_signal(signal.SIGINT)
    assert process.wait() == 130
    assert process.stderr.read().decode().strip().splitlines() == ["interrupted"]
    assert not any((tmp_path / "out").glob(".*"))


def test_two_concurrent_runs_into_one_out_leave_one_complete_set(tmp_path, mlp_vae_checkpoint):
    out = tmp_path / "out"
    runs = [_start(["interpolate", str(mlp_vae_checkpoint), "--out", str(out), "--seed", s]) for s in "12"]
    assert [run.wait() for run in runs] == [0, 0]
    sets = []
    for s in "12":
        alone = tmp_path / f"alone{s}"
        assert _start(["interpolate", str(mlp_vae_checkpoint), "--out", str(alone), "--seed", s]).wait() == 0
        sets.append(_files(alone))
    assert _files(out) in sets
