"""Output sets are all-or-nothing: staged, committed together, recovered after a kill, umask permissions."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from latentkit.outputs import COMMIT_NAME, STAGING_PREFIX, atomic_write_text, output_set, recover

ROOT = Path(__file__).parents[1]

# Writes the set "demo" (demo.json, demo.npz, demo.png) whose every file holds the tag, pausing between files.
WRITER = """
import sys, time
from latentkit.outputs import output_set
out, tag, pause = sys.argv[1], sys.argv[2], float(sys.argv[3])
with output_set(out, "demo") as outs:
    for name in ("demo.npz", "demo.png", "demo.json"):
        outs.path(name).write_text(tag * 1000)
        time.sleep(pause)
print("done", flush=True)
"""


def _set(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(folder.iterdir())}


def _writer(out: Path, tag: str, pause: float) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", WRITER, str(out), tag, str(pause)], env=env, stdout=subprocess.PIPE)


def test_files_appear_only_when_the_set_is_complete(tmp_path):
    with output_set(tmp_path, "demo") as outs:
        outs.write_json("demo.json", {"a": 1})
        outs.path("demo.png").write_bytes(b"png")
        assert list(tmp_path.iterdir()) == [outs.staging]  # nothing visible yet
        assert outs.final("demo.png") == tmp_path / "demo.png"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo.json", "demo.png"]
    assert json.loads((tmp_path / "demo.json").read_text()) == {"a": 1}


def test_an_exception_leaves_the_previous_set_and_no_staging(tmp_path):
    (tmp_path / "demo.json").write_text("old")
    with pytest.raises(KeyboardInterrupt), output_set(tmp_path, "demo") as outs:
        outs.path("demo.json").write_text("new")
        raise KeyboardInterrupt
    assert _set(tmp_path) == {"demo.json": "old"}


def test_files_of_the_previous_set_that_this_run_did_not_write_are_retired(tmp_path):
    for name in ("traverse.json", "traverse.png", "traverse.gif", "kl-report.json", "notes.txt"):
        (tmp_path / name).write_text("old")
    with output_set(tmp_path, "traverse") as outs:
        outs.path("traverse.json").write_text("new")
        outs.path("traverse.svg").write_text("new")
    assert _set(tmp_path) == {
        "kl-report.json": "old",  # another command's set
        "notes.txt": "old",  # not an output of latentkit's
        "traverse.json": "new",
        "traverse.svg": "new",
    }


def test_names_outside_the_set_are_refused(tmp_path):
    with output_set(tmp_path, "demo") as outs:
        for name in ("other.json", "demo.txt", "../demo.json"):
            with pytest.raises(ValueError):
                outs.path(name)


@pytest.mark.parametrize("mask", [0o022, 0o077])
def test_files_get_the_umasks_permissions(tmp_path, mask):
    previous = os.umask(mask)
    try:
        with output_set(tmp_path / "out", "demo") as outs:
            outs.write_json("demo.json", {})
            outs.write_npz("demo.npz", {"x": [1, 2]})
        atomic_write_text(tmp_path / "model.safetensors", "weights")
    finally:
        os.umask(previous)
    for path in (tmp_path / "out/demo.json", tmp_path / "out/demo.npz", tmp_path / "model.safetensors"):
        assert path.stat().st_mode & 0o777 == 0o666 & ~mask, path


def test_a_commit_cut_short_is_finished_and_an_unfinished_staging_folder_removed(tmp_path):
    (tmp_path / "demo.json").write_text("new")  # moved before the crash
    (tmp_path / "demo.gif").write_text("old")  # the previous set's: retired by the commit
    committed = tmp_path / f"{STAGING_PREFIX}demo-1-aaaa"
    committed.mkdir()
    (committed / "demo.png").write_text("new")
    (committed / COMMIT_NAME).write_text(json.dumps({"stem": "demo", "files": ["demo.json", "demo.png"]}))
    unfinished = tmp_path / f"{STAGING_PREFIX}demo-2-bbbb"
    unfinished.mkdir()
    (unfinished / "demo.json").write_text("half")
    stale_tmp = tmp_path / ".model.safetensors.1234.latentkit-tmp"
    stale_tmp.write_text("half")
    recover(tmp_path)
    assert _set(tmp_path) == {"demo.json": "new", "demo.png": "new"}


def test_a_live_runs_staging_folder_is_left_alone(tmp_path):
    with output_set(tmp_path, "demo") as first:
        first.path("demo.json").write_text("first")
        recover(tmp_path)  # as a concurrent run would
        assert first.staging.is_dir()
    assert _set(tmp_path) == {"demo.json": "first"}


def test_killed_writers_leave_the_old_or_the_new_set_and_nothing_else_after_the_next_run(tmp_path):
    seed = random.randrange(10**6)
    rng = random.Random(seed)
    out = tmp_path / "out"
    assert _writer(out, "A", 0).wait() == 0
    old = _set(out)
    for kill in range(6):
        sig = (signal.SIGKILL, signal.SIGTERM, signal.SIGINT)[kill % 3]
        process = _writer(out, "B", 0.02)
        time.sleep(rng.uniform(0, 0.8))
        process.send_signal(sig)
        process.wait()
        recover(out)  # what the next run does first
        now = _set(out)
        assert now in (old, {name: "B" * 1000 for name in old}), (seed, kill, sig, now)
        old = now


def test_two_concurrent_runs_into_one_folder_leave_one_complete_set(tmp_path):
    out = tmp_path / "out"
    runs = [_writer(out, tag, 0.05) for tag in "AB"]
    assert [run.wait() for run in runs] == [0, 0]
    final = _set(out)
    assert sorted(final) == ["demo.json", "demo.npz", "demo.png"]
    assert len(set(final.values())) == 1  # every file from the same run


def test_nested_sets_appear_with_their_parent_and_retire_only_their_own_files(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "kl-report-old.png").write_text("old")  # the nested stem's earlier file: retired
    (tmp_path / "a" / "disentangle.json").write_text("other")  # another command's set: kept
    with output_set(tmp_path, "kl-report.sweep") as outs:
        for folder in ("a", "b"):
            (outs.nested(folder, "kl-report") / "kl-report.json").write_text(folder)
        outs.write_json("kl-report.sweep.json", {"n": 2})
        assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == ["a"]  # nothing new yet
        assert outs.final_paths({"x": outs.staging / "b" / "kl-report.json"}) == {"x": tmp_path / "b" / "kl-report.json"}
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["disentangle.json", "kl-report.json"]
    assert (tmp_path / "b" / "kl-report.json").read_text() == "b"
    with pytest.raises(RuntimeError, match="not a file of the 'kl-report' output set"):
        with output_set(tmp_path, "kl-report.sweep") as outs:
            (outs.nested("c", "kl-report") / "stray.txt").write_text("?")
    assert not (tmp_path / "c").exists()


def test_a_nested_folder_the_next_set_drops_is_retired(tmp_path):
    def sweep(folders):
        with output_set(tmp_path, "kl-report.sweep") as outs:
            for folder in folders:
                (outs.nested(folder, "kl-report") / "kl-report.json").write_text(folder)
            outs.write_json("kl-report.sweep.json", {"folders": folders})

    sweep(["a", "b", "c"])
    (tmp_path / "b" / "notes.txt").write_text("the user's")  # not a file of any set: kept, and so is b
    sweep(["a"])
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == ["a", "b", "kl-report.sweep.json"]
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == ["notes.txt"]
    sweep(["a", "c"])
    assert (tmp_path / "c" / "kl-report.json").read_text() == "c"
