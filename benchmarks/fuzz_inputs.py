"""Long fuzz run: hostile checkpoints, data files, PNG folders and option values through the CLI.

    python benchmarks/fuzz_inputs.py [--examples 100000] [--minutes 60] [--families safetensors,npz,png,options]

Draws examples from the strategies in tests/fuzzing.py (the same ones the short suite in
tests/test_fuzz.py uses), runs each through ``latentkit.cli.main`` in this process, and checks the
contract: exit 0, or exit 2 with one line on stderr, and the process's peak memory within a budget
over the baseline measured after the first (warm-up) example. Stops at ``--examples`` or after
``--minutes``, whichever comes first, and prints the counts per family (exit 0, exit 2), the rate,
and the peak memory growth. A violation stops the run and prints the input and the output.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FAMILIES = ("safetensors", "npz", "png", "options")
MEMORY_BUDGET_MB = 300


def tiny_checkpoint(folder: Path) -> Path:
    import torch

    from latentkit.models.builtin import MLP_VAE
    from latentkit.models.checkpoint import save

    torch.manual_seed(0)
    config = {"latent_dim": 4, "hidden": [32]}
    return save(MLP_VAE.build(config), folder / "mlp-vae.safetensors", plugin="mlp-vae", config=config, dataset="digits")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=100_000)
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--families", default=",".join(FAMILIES))
    parser.add_argument("--chunk", type=int, default=50, help="examples per hypothesis run (each with its own seed)")
    args = parser.parse_args()
    families = [f for f in args.families.split(",") if f]

    from hypothesis import HealthCheck, Phase, given, seed, settings

    from tests import fuzzing

    work = Path(tempfile.mkdtemp(prefix="latentkit-fuzz-"))
    checkpoint = tiny_checkpoint(work)
    fuzzing.warm_up(checkpoint, work)
    baseline = fuzzing.peak_rss_mb()
    counts: Counter[tuple[str, int]] = Counter()
    deadline = time.monotonic() + 60 * args.minutes
    started = time.monotonic()
    total = 0

    def one(family: str, value: object) -> None:
        nonlocal total
        folder = Path(tempfile.mkdtemp(dir=work))
        if family == "options":
            commands = [[a.replace("{ckpt}", str(checkpoint)) for a in value] + ["--out", str(folder / "out")]]  # type: ignore[union-attr]
        else:
            path = fuzzing.write_family(family, value, folder)
            commands = [fuzzing.command_for(family, path, checkpoint, folder / "out")]
            if family == "safetensors":
                commands.insert(0, ["info", str(path)])
        for command in commands:
            outcome = fuzzing.run_cli(command)
            fuzzing.check_outcome(outcome, command)
            counts[(family, outcome.status)] += 1
        grown = fuzzing.peak_rss_mb() - baseline
        assert grown < MEMORY_BUDGET_MB, (family, value if family == "options" else "file", grown)
        import shutil

        shutil.rmtree(folder, ignore_errors=True)
        total += 1

    strategies = {
        "safetensors": fuzzing.safetensors_bytes(),
        "npz": fuzzing.npz_bytes(),
        "png": fuzzing.png_folder(),
        "options": fuzzing.option_args(),
    }
    def run_chunk(family: str, chunk_seed: int, examples: int) -> None:
        @seed(chunk_seed)
        @settings(
            max_examples=examples,
            deadline=None,
            database=None,
            phases=[Phase.generate, Phase.shrink],
            suppress_health_check=list(HealthCheck),
        )
        @given(value=strategies[family])
        def run(value: object) -> None:
            if time.monotonic() < deadline:
                one(family, value)

        run()

    chunk_seed = 0
    while total < args.examples and time.monotonic() < deadline:
        for family in families:
            if total >= args.examples or time.monotonic() >= deadline:
                break
            chunk_seed += 1

            run_chunk(family, chunk_seed, min(args.chunk, args.examples - total))
        elapsed = time.monotonic() - started
        print(
            f"{total} examples in {elapsed:.0f} s ({total / elapsed:.2f}/s); "
            + ", ".join(f"{f}: exit0 {counts[(f, 0)]}, exit2 {counts[(f, 2)]}" for f in families)
            + f"; peak memory +{fuzzing.peak_rss_mb() - baseline:.0f} MB",
            flush=True,
        )
    print("done: no example broke the contract (exit 0, or exit 2 with one line; bounded memory)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
