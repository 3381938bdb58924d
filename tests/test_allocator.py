"""Freed memory stays in the process: a repeated large allocation faults in no fresh pages."""

import subprocess
import sys

import pytest

_FAULTS = """
import resource, sys
import numpy as np
from latentkit.allocator import retain_freed_memory
applied = retain_freed_memory() if sys.argv[1] == "retain" else False
np.ones(2**23)  # 64 MB: above glibc's largest mmap threshold
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(4):
    block = np.ones(2**23)
    del block
print(applied, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(mode: str, env: dict[str, str] | None = None) -> tuple[str, int]:
    out = subprocess.run([sys.executable, "-c", _FAULTS, mode], check=True, capture_output=True, text=True, env=env)
    applied, faults = out.stdout.split()
    return applied, int(faults)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_repeated_large_blocks_reuse_freed_memory():
    applied, retained = _faults("retain")
    _, default = _faults("default")
    assert applied == "True"
    assert default >= 4 * 32  # each 64 MB block faulted in afresh: at least one fault per 2 MB (huge) page
    assert retained < default / 10


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_user_malloc_settings_win():
    import os

    applied, _ = _faults("retain", env={**os.environ, "MALLOC_TRIM_THRESHOLD_": "131072"})
    assert applied == "False"
