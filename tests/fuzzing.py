"""Hostile inputs for the fuzz suite (tests/test_fuzz.py, short) and benchmarks/fuzz_inputs.py (long).

Each family is a hypothesis strategy that draws one input (a file's bytes, or option values) and a
command line using it. :func:`run_cli` runs the command in-process through :func:`latentkit.cli.main`
and :func:`check_outcome` asserts the contract: exit 0, or exit 2 with exactly one line on stderr.
:func:`run_forked` runs an example's commands in a child forked from a warmed-up process, which
measures that example's own peak memory (the child's peak RSS over the parent's RSS at the fork).

Figures are drawn at ``--dpi 20`` (:data:`FAST_DPI`) unless the family draws the dpi itself: the
contract does not depend on the resolution, and 300 dpi PNGs would be most of each example's time.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import resource
import signal
import struct
import sys
import time
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from hypothesis import strategies as st

DTYPES = ["F32", "F16", "BF16", "F64", "I64", "I32", "U8", "BOOL", "F8_E4M3", "Q4", "", "f32"]
ALLOWED_EXIT = (0, 2)
FAST_DPI = "20"


@dataclass
class Outcome:
    status: int
    stdout: str
    stderr: str


def run_cli(args: list[str]) -> Outcome:
    from latentkit.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(["-q", *map(str, args)])
    return Outcome(int(status), out.getvalue(), err.getvalue())


def check_forked(run: ExampleRun, commands: list[list[str]], budget_mb: float) -> None:
    """The contract for one example run by :func:`run_forked`: every command ends in exit 0, or exit 2
    with one line; the child ends normally; its memory grew less than ``budget_mb``."""
    assert run.died is None, (commands, run.died)
    for outcome, args in zip(run.outcomes, commands, strict=True):
        check_outcome(outcome, args)
    assert run.grown_mb < budget_mb, (commands, f"peak memory +{run.grown_mb:.0f} MB")


def check_outcome(outcome: Outcome, args: list[str]) -> None:
    assert outcome.status in ALLOWED_EXIT, (args, outcome.status, outcome.stderr[-2000:])
    if outcome.status == 2:
        lines = outcome.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (args, outcome.stderr[-2000:])


def warm_up(checkpoint: Path, folder: Path) -> None:
    """Run each command once on good input, so lazy imports (matplotlib, scikit-learn, Pillow) are not
    counted as memory an example allocated."""
    for args in (
        ["kl-report", checkpoint, "--limit", "50"],
        ["interpolate", checkpoint, "--pairs", "1", "--steps", "3"],
        ["traverse", checkpoint, "--steps", "3", "--n", "50", "--gif"],
        ["umap", checkpoint, "--method", "pca", "--n", "50"],
        ["info", checkpoint],
    ):
        extra = [] if args[0] == "info" else ["--dpi", FAST_DPI]
        run_cli([*map(str, args), *extra, "--out", str(folder / "warm-up")])


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@dataclass
class ExampleRun:
    outcomes: list[Outcome]  # one per command run (none when the child died)
    grown_mb: float  # peak memory over the baseline (forked: the child's peak RSS minus its RSS at the fork)
    seconds: float  # wall time (on a loaded machine mostly waiting for a core)
    died: str | None  # why the child ended without reporting (signal, timeout), else None
    cpu_seconds: float = 0.0  # user + system time the example used


def run_forked(commands: list[list[str]], timeout_s: int = 120) -> ExampleRun:
    """Run ``commands`` one after the other in a child forked from this process.

    The parent should be warmed up (:func:`warm_up`), so the child's growth is what the example
    allocated, not lazy imports. The growth counts pages of already-loaded libraries that the child
    maps again (the kernel does not copy those page tables at the fork), so it errs on the high side.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    read_end, write_end = os.pipe()
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # the child: run, report through the pipe, leave without cleanup handlers
        code = 1
        try:
            os.close(read_end)
            at_fork = current_rss_mb()
            # a CPU-time limit, not wall time: a child waiting for a core on a busy machine is not hung
            resource.setrlimit(resource.RLIMIT_CPU, (timeout_s, timeout_s + 5))  # SIGXCPU ends it
            report = []
            for args in commands:
                outcome = run_cli(args)
                report.append([outcome.status, outcome.stdout[-2000:], outcome.stderr[-4000:]])
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            with os.fdopen(write_end, "w") as pipe:
                json.dump({"grown_mb": peak - at_fork, "report": report}, pipe)
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        text = pipe.read()
    _, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - started
    cpu = usage.ru_utime + usage.ru_stime
    if os.WIFSIGNALED(status):
        signum = os.WTERMSIG(status)
        died = f"ran past {timeout_s} CPU seconds" if signum == signal.SIGXCPU else f"killed by {signal.Signals(signum).name}"
        return ExampleRun([], usage.ru_maxrss / 1024, seconds, died, cpu)
    if os.WEXITSTATUS(status) != 0 or not text:
        return ExampleRun([], usage.ru_maxrss / 1024, seconds, f"child exited {os.WEXITSTATUS(status)} without a report", cpu)
    result = json.loads(text)
    outcomes = [Outcome(int(s), out, err) for s, out, err in result["report"]]
    return ExampleRun(outcomes, result["grown_mb"], seconds, None, cpu)


# --- safetensors headers ----------------------------------------------------------------------------
_json_leaf = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True), st.text(max_size=12)
)
_json = st.recursive(_json_leaf, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=8)
_size = st.one_of(st.integers(0, 40), st.integers(-3, 2**63), st.just(30000))
_shape = st.one_of(st.lists(_size, max_size=4), _json)
_offsets = st.one_of(st.lists(st.integers(-5, 2**64), min_size=2, max_size=2), st.lists(st.integers(0, 64), max_size=3), _json)
_entry = st.one_of(
    st.fixed_dictionaries({"dtype": st.one_of(st.sampled_from(DTYPES), _json), "shape": _shape, "data_offsets": _offsets}),
    _json,
)
_config = st.one_of(
    st.fixed_dictionaries(
        {"latent_dim": st.one_of(st.integers(-2, 50), _json), "hidden": st.one_of(st.lists(st.integers(-1, 50000), max_size=3), _json)}
    ),
    _json,
)
_metadata = st.one_of(
    st.fixed_dictionaries(
        {
            "latentkit.format": st.sampled_from(["1", "2", ""]),
            "latentkit.plugin": st.sampled_from(["mlp-vae", "conv-vae", "mlp-gan", "nope", "[/x]", ""]),
            "latentkit.kind": st.sampled_from(["vae", "gan", "foo", ""]),
            "latentkit.config": _config.map(lambda c: json.dumps(c)),
        }
    ),
    st.dictionaries(st.text(max_size=20), st.one_of(st.text(max_size=20), _json), max_size=4),
)


@st.composite
def safetensors_bytes(draw: st.DrawFn) -> bytes:
    """A safetensors file: a header of hostile entries and metadata, then some data bytes."""
    kind = draw(st.sampled_from(["structured", "structured", "structured", "deep", "raw", "length"]))
    data = draw(st.binary(max_size=64))
    if kind == "deep":
        depth = draw(st.integers(500, 50_000))
        blob = ("[" * depth + "]" * depth).encode()
    elif kind == "raw":
        blob = draw(st.binary(max_size=200))
    else:
        header = draw(st.dictionaries(st.text(max_size=10), _entry, max_size=4))
        if draw(st.booleans()):
            header["__metadata__"] = draw(_metadata)
        blob = json.dumps(header).encode()
        if draw(st.booleans()) and blob:  # a non-UTF-8 byte somewhere
            at = draw(st.integers(0, len(blob) - 1))
            blob = blob[:at] + b"\xff" + blob[at + 1 :]
    length = len(blob) if kind != "length" else draw(st.integers(0, 2**64 - 1))
    return struct.pack("<Q", length) + blob + data


# --- data files --------------------------------------------------------------------------------------
def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


_float_values = st.sampled_from([0.0, 0.5, 1.0, 255.0, -1.0, np.nan, np.inf, -np.inf, 1e38, 1e300])


@st.composite
def array_member(draw: st.DrawFn) -> np.ndarray:
    shape = draw(st.sampled_from([(8, 1, 8, 8), (3, 1, 8, 8), (0, 1, 8, 8), (5, 64), (4, 3, 8, 8), (2, 1, 9, 9), (6,), ()]))
    dtype = draw(st.sampled_from(["float32", "float64", "uint8", "int64", "bool", "float16", "complex64", "<U3"]))
    fill = draw(_float_values)
    array = np.random.default_rng(draw(st.integers(0, 9))).random(shape)
    if draw(st.booleans()) and array.size:
        array.flat[draw(st.integers(0, array.size - 1))] = fill
    with np.errstate(all="ignore"):
        return array.astype(dtype) if dtype != "<U3" else array.astype(str).astype("<U3")


@st.composite
def npz_bytes(draw: st.DrawFn) -> bytes:
    """An .npz: x, y, factors members of varied shapes and dtypes, odd names, garbage, corrupt bytes."""
    members: dict[str, bytes] = {}
    for key in draw(st.lists(st.sampled_from(["x", "y", "factors", "factor_names", "x.npy", "x.bin"]), max_size=4, unique=True)):
        name = key if key.endswith((".npy", ".bin")) else f"{key}.npy" if draw(st.booleans()) else key
        payload = draw(st.one_of(array_member().map(_npy), st.binary(max_size=40).map(lambda b: b"\x93NUMPY" + b)))
        members[name] = payload
    buffer = io.BytesIO()
    compression = draw(st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]))
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, payload in members.items():
            archive.writestr(name, payload)
    raw = bytearray(buffer.getvalue())
    if raw and draw(st.booleans()):  # flip a byte: bad CRC, bad header or bad directory
        at = draw(st.integers(0, len(raw) - 1))
        raw[at] ^= draw(st.integers(1, 255))
    if draw(st.integers(0, 5)) == 0:
        raw = raw[: draw(st.integers(0, len(raw)))]
    return bytes(raw)


def png_bytes(width: int, height: int, *, colour_type: int = 0, idat: bytes | None = None) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    pixels = idat if idat is not None else zlib.compress(b"\0" * ((width * (3 if colour_type == 2 else 1) + 1) * min(height, 64)))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


@st.composite
def png_folder(draw: st.DrawFn) -> list[bytes]:
    """A few PNG files: right-sized, odd-sized, huge-claiming (decompression bombs), truncated."""
    files = []
    for _ in range(draw(st.integers(1, 3))):
        width = draw(st.sampled_from([8, 8, 9, 1, 20000, 70000, 5000]))
        height = draw(st.sampled_from([8, 8, 7, 1, 20000, 3]))
        data = png_bytes(width, height, colour_type=draw(st.sampled_from([0, 2])))
        if draw(st.booleans()):
            data = data[: draw(st.integers(0, len(data)))]
        files.append(data)
    return files


# --- option values -------------------------------------------------------------------------------------
_int_value = st.one_of(st.integers(-3, 12), st.integers(-(2**40), 2**40), st.sampled_from([0, 1, 2**31, 2**32, 2**63]))


@st.composite
def option_args(draw: st.DrawFn) -> list[str]:
    """A figure or report command with absurd option values (the checkpoint is filled in as {ckpt})."""
    command = draw(st.sampled_from(["interpolate", "traverse", "kl-report", "umap"]))
    options = {
        "interpolate": ["--steps", "--pairs", "--seed", "--batch-size"],
        "traverse": ["--steps", "--seed", "--batch-size", "--n"],
        "kl-report": ["--limit", "--seed", "--batch-size"],
        "umap": ["--n", "--seed", "--neighbors"],
    }[command]
    args = [command, "{ckpt}"]
    for flag in draw(st.lists(st.sampled_from(options), min_size=1, max_size=3, unique=True)):
        args += [flag, str(draw(_int_value))]
    if command == "umap":
        args += ["--method", "pca"]
    if command == "traverse" and draw(st.booleans()):
        args += ["--range", draw(st.sampled_from(["nan", "inf", "-1", "1e308", "0", "quantile", "[/x]"]))]
    if command == "kl-report" and draw(st.booleans()):
        args += ["--active-threshold", draw(st.sampled_from(["nan", "-inf", "-1", "1e308"]))]
    args += ["--dpi", draw(st.sampled_from([FAST_DPI] * 8 + ["0", "-1", "19", "1201", "2147483648", "nan"]))]
    if draw(st.integers(0, 4)) == 0:
        args += ["--device", draw(st.sampled_from(["xla", "meta", "cuda:99", "cpu:0", "", "mps"]))]
    return args


def write_family(family: str, value: object, folder: Path) -> Path:
    """Write a drawn input to ``folder``; returns the path to hand to the command."""
    if family == "safetensors":
        path = folder / "model.safetensors"
        path.write_bytes(value)  # type: ignore[arg-type]
    elif family == "npz":
        path = folder / "data.npz"
        path.write_bytes(value)  # type: ignore[arg-type]
    elif family == "png":
        path = folder / "pngs"
        path.mkdir(exist_ok=True)
        for old in path.iterdir():
            old.unlink()
        for i, data in enumerate(value):  # type: ignore[arg-type]
            (path / f"img{i}.png").write_bytes(data)
    else:
        raise ValueError(family)
    return path


def command_for(family: str, path: Path, checkpoint: Path, out: Path) -> list[str]:
    if family == "safetensors":
        return ["kl-report", str(path), "--data", "digits", "--limit", "20", "--dpi", FAST_DPI, "--out", str(out)]
    return ["kl-report", str(checkpoint), "--data", str(path), "--dpi", FAST_DPI, "--out", str(out)]


def commands_for(family: str, value: object, folder: Path, checkpoint: Path) -> list[list[str]]:
    """The command lines one drawn example runs (its input written under ``folder``)."""
    if family == "options":
        return [[a.replace("{ckpt}", str(checkpoint)) for a in value] + ["--out", str(folder / "out")]]  # type: ignore[union-attr]
    path = write_family(family, value, folder)
    commands = [command_for(family, path, checkpoint, folder / "out")]
    if family == "safetensors":
        commands.insert(0, ["info", str(path)])
    return commands
