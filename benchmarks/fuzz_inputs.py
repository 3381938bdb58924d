"""Long fuzz run: hostile checkpoints, data files, PNG folders and option values through the CLI.

    python benchmarks/fuzz_inputs.py --examples 100000 --workers 2 --report fuzz.json [--minutes 110]
        [--families safetensors,npz,png,options] [--violations DIR] [--seed RUN]

Draws examples from the strategies in tests/fuzzing.py (the same ones the short suite in
tests/test_fuzz.py uses) in ``--workers`` processes with distinct seeds. Each worker imports and warms
up once, then runs every example's commands through ``latentkit.cli.main`` in a child forked from
itself (:func:`tests.fuzzing.run_forked`), which gives each example its own peak memory and wall
time (``--in-process`` skips the fork: faster, but a process that keeps freed memory, as latentkit's
allocator settings make it do, hides what an example reuses). The contract per example: every
command ends in exit 0, or exit 2 with one line on stderr; the child ends normally within the
timeout (CPU seconds); its memory grows less than ``--budget-mb``. A violation is counted, its
input saved under ``--violations``, and the run goes on.

Every ``--every`` seconds the driver sums the workers' counts, prints one line and rewrites
``--report`` (JSON: per family the examples, command runs, exit 0, exit 2, violations, the largest
memory growth in MB, the longest example in wall and in CPU seconds; the totals and the rate), so a
run that is stopped keeps its counts. Stops at ``--examples`` or after ``--minutes``, whichever comes first.
Families share the workers' time equally (a chunk of each in turn, sized so a chunk takes about the
same time), so the fast families (a header refused in a millisecond) get more examples than the slow
ones (a whole report with its figures).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FAMILIES = ("safetensors", "npz", "png", "options")
FIELDS = ("examples", "runs", "exit_0", "exit_2", "violations")


def tiny_checkpoint(folder: Path) -> Path:
    import torch

    from latentkit.models.builtin import MLP_VAE
    from latentkit.models.checkpoint import save

    torch.manual_seed(0)
    config = {"latent_dim": 4, "hidden": [32]}
    return save(MLP_VAE.build(config), folder / "mlp-vae.safetensors", plugin="mlp-vae", config=config, dataset="digits")


def empty_counts(families: list[str]) -> dict[str, dict[str, float]]:
    return {f: {**{k: 0 for k in FIELDS}, "max_memory_mb": 0.0, "max_seconds": 0.0, "max_cpu_seconds": 0.0} for f in families}


def worker(args: argparse.Namespace) -> int:
    """One worker: draw, fork, check, count; rewrite ``args.state`` after every chunk."""
    from hypothesis import HealthCheck, Phase, given, seed, settings

    from tests import fuzzing

    families = args.families.split(",")
    work = Path(tempfile.mkdtemp(prefix=f"latentkit-fuzz-{args.worker}-"))
    os.environ[  # codes computed by the commands stay in the run's folder, not the user's cache
        "LATENTKIT_CACHE_DIR"
    ] = str(work / "cache")
    checkpoint = tiny_checkpoint(work)
    fuzzing.warm_up(checkpoint, work)
    counts = empty_counts(families)
    violations = Path(args.violations)
    strategies = {
        "safetensors": fuzzing.safetensors_bytes(),
        "npz": fuzzing.npz_bytes(),
        "png": fuzzing.png_folder(),
        "options": fuzzing.option_args(),
    }
    deadline = time.monotonic() + 60 * args.minutes
    state = Path(args.state)

    def save_state() -> None:
        tmp = state.with_suffix(".tmp")
        tmp.write_text(json.dumps({"counts": counts, "rss_mb": fuzzing.current_rss_mb(), "baseline_mb": baseline, "peak_mb": fuzzing.peak_rss_mb()}))
        tmp.replace(state)

    baseline = fuzzing.current_rss_mb()

    def timed_out(signum: int, frame: object) -> None:
        raise TimeoutError(f"the example ran past {args.timeout} CPU seconds")

    signal.signal(signal.SIGPROF, timed_out)

    def run_in_process(commands: list[list[str]]) -> fuzzing.ExampleRun:
        """Run in this process (``--in-process``). The peak RSS is a high-water mark: an example that
        raises it is charged the new mark minus the RSS it started with; one that does not counts as 0.
        Memory freed by earlier examples and kept by the allocator is reused unseen, so this errs low."""
        peak_before, rss_before = fuzzing.peak_rss_mb(), fuzzing.current_rss_mb()
        started, cpu_started = time.perf_counter(), time.process_time()
        signal.setitimer(signal.ITIMER_PROF, args.timeout)  # a TimeoutError in the command: exit 70, a violation
        try:
            outcomes = [fuzzing.run_cli(command) for command in commands]
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0)
        peak_after = fuzzing.peak_rss_mb()
        grown = peak_after - rss_before if peak_after > peak_before else 0.0
        return fuzzing.ExampleRun(outcomes, grown, time.perf_counter() - started, None, time.process_time() - cpu_started)

    def one(family: str, value: object) -> None:
        folder = work / "example"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        commands = fuzzing.commands_for(family, value, folder, checkpoint)
        run = run_in_process(commands) if args.in_process else fuzzing.run_forked(commands, timeout_s=args.timeout)
        entry = counts[family]
        entry["examples"] += 1
        entry["max_memory_mb"] = max(entry["max_memory_mb"], round(run.grown_mb, 1))
        entry["max_seconds"] = max(entry["max_seconds"], round(run.seconds, 3))
        entry["max_cpu_seconds"] = max(entry["max_cpu_seconds"], round(run.cpu_seconds, 3))
        for outcome in run.outcomes:
            entry["runs"] += 1
            if outcome.status in (0, 2):
                entry[f"exit_{outcome.status}"] += 1
        try:
            fuzzing.check_forked(run, commands, args.budget_mb)
        except AssertionError as problem:
            entry["violations"] += 1
            case = violations / f"{family}-w{args.worker}-{int(entry['examples'])}"
            case.mkdir(parents=True, exist_ok=True)
            if folder.exists():
                shutil.copytree(folder, case / "input", dirs_exist_ok=True, ignore=shutil.ignore_patterns("out"))
            detail = {"commands": commands, "problem": str(problem)[-4000:], "died": run.died}
            detail["outcomes"] = [vars(o) for o in run.outcomes]
            (case / "violation.json").write_text(json.dumps(detail, indent=1, default=str))
            print(f"violation ({family}): {str(problem)[-300:]}", file=sys.stderr, flush=True)

    def run_chunk(family: str, chunk_seed: int, examples: int) -> None:
        @seed(chunk_seed)
        @settings(
            max_examples=examples,
            deadline=None,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(value=strategies[family])
        def run(value: object) -> None:
            if time.monotonic() < deadline:
                one(family, value)

        run()

    chunk = 0
    seconds_per_example = {f: 0.2 for f in families}
    while sum(c["examples"] for c in counts.values()) < args.examples and time.monotonic() < deadline:
        for family in families:
            left = args.examples - sum(c["examples"] for c in counts.values())
            if left <= 0 or time.monotonic() >= deadline:
                break
            chunk += 1
            size = max(5, min(500, int(args.chunk_seconds / seconds_per_example[family])))
            before, started = counts[family]["examples"], time.monotonic()
            run_chunk(family, args.seed * 1_000_000_000 + args.worker * 1_000_000 + chunk, min(size, left))
            done = counts[family]["examples"] - before
            if done:
                seconds_per_example[family] = (time.monotonic() - started) / done
            save_state()
    save_state()
    shutil.rmtree(work, ignore_errors=True)
    return 0


def summarise(states: list[Path], families: list[str], elapsed: float) -> dict:
    counts = empty_counts(families)
    rss = []
    for path in states:
        if not path.exists():
            continue
        state = json.loads(path.read_text())
        rss.append(state["rss_mb"])
        for family, entry in state["counts"].items():
            for key in FIELDS:
                counts[family][key] += entry[key]
            for key in ("max_memory_mb", "max_seconds", "max_cpu_seconds"):
                counts[family][key] = max(counts[family][key], entry.get(key, 0.0))
    total = {key: sum(c[key] for c in counts.values()) for key in FIELDS}
    total["max_memory_mb"] = max(c["max_memory_mb"] for c in counts.values())
    total["max_seconds"] = max(c["max_seconds"] for c in counts.values())
    total["max_cpu_seconds"] = max(c["max_cpu_seconds"] for c in counts.values())
    return {
        "families": counts,
        "total": total,
        "elapsed_s": round(elapsed, 1),
        "examples_per_s": round(total["examples"] / elapsed, 2) if elapsed else 0.0,
        "workers": len(states),
        "worker_rss_mb": [round(r) for r in rss],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=100_000)
    parser.add_argument("--minutes", type=float, default=120.0)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--families", default=",".join(FAMILIES))
    parser.add_argument("--report", default="fuzz-inputs.json", help="JSON file for the counts (rewritten as the run goes)")
    parser.add_argument("--violations", default="fuzz-violations", help="folder for the inputs that broke the contract")
    parser.add_argument("--budget-mb", type=float, default=200.0, help="largest memory growth one example may cause")
    parser.add_argument("--timeout", type=int, default=120, help="CPU seconds one example may use before it counts as hung")
    parser.add_argument("--chunk-seconds", type=float, default=20.0, help="about how long one family runs before the next")
    parser.add_argument("--every", type=float, default=30.0, help="seconds between progress lines")
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="run the examples in the worker itself (faster: no ~0.1 s fork each; memory growth is a lower bound)",
    )
    parser.add_argument("--seed", type=int, default=0, help="run number: another seed draws other examples (a run resumed later)")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--state", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        return worker(args)

    families = [f for f in args.families.split(",") if f]
    state_dir = Path(tempfile.mkdtemp(prefix="latentkit-fuzz-state-"))
    states = [state_dir / f"worker-{i}.json" for i in range(args.workers)]
    environment = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    processes = []
    for i, state in enumerate(states):
        share = args.examples // args.workers + (1 if i < args.examples % args.workers else 0)
        command = [
            sys.executable, __file__, "--worker", str(i), "--state", str(state), "--examples", str(share),
            "--minutes", str(args.minutes), "--families", ",".join(families), "--violations", args.violations,
            "--budget-mb", str(args.budget_mb), "--timeout", str(args.timeout), "--chunk-seconds", str(args.chunk_seconds),
            "--seed", str(args.seed), *(["--in-process"] if args.in_process else []),
        ]  # fmt: skip
        processes.append(subprocess.Popen(command, env=environment))
    started = time.monotonic()
    report = Path(args.report)

    def write_report(final: bool) -> dict:
        summary = summarise(states, families, time.monotonic() - started)
        summary["finished"] = final
        report.write_text(json.dumps(summary, indent=1) + "\n")
        total = summary["total"]
        print(
            f"{total['examples']} examples in {summary['elapsed_s']:.0f} s ({summary['examples_per_s']:.2f}/s), "
            f"{total['violations']} violations; "
            + "; ".join(
                f"{f}: {int(c['examples'])} (exit 0 {int(c['exit_0'])}, exit 2 {int(c['exit_2'])}, "
                f"+{c['max_memory_mb']:.0f} MB, {c['max_seconds']:.1f} s, {c['max_cpu_seconds']:.1f} s CPU)"
                for f, c in summary["families"].items()
            ),
            flush=True,
        )
        return summary

    try:
        last = time.monotonic()
        while any(p.poll() is None for p in processes):
            time.sleep(1.0)
            if time.monotonic() - last >= args.every:
                write_report(final=False)
                last = time.monotonic()
    except KeyboardInterrupt:
        for process in processes:
            process.terminate()
    codes = [p.wait() for p in processes]
    summary = write_report(final=True)
    shutil.rmtree(state_dir, ignore_errors=True)
    broke = summary["total"]["violations"]
    print(f"done: {broke} violations" + (f" (inputs under {args.violations}/)" if broke else " (exit 0, or exit 2 with one line; bounded memory and time)"))
    return 1 if broke or any(codes) else 0


if __name__ == "__main__":
    raise SystemExit(main())
