"""torch's thread count: --threads, OMP_NUM_THREADS, and the choice by image size."""

import pytest

from latentkit import threads
from latentkit.errors import LatentkitError


@pytest.fixture(autouse=True)
def _clean(monkeypatch):
    for name in threads.THREAD_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    yield
    threads.request_threads(None)


def test_small_images_get_one_thread_and_large_ones_torch_default():
    assert threads.choose_threads(64) == 1  # 8x8 digits
    assert threads.choose_threads(64 * 64) is None  # 64x64 shapes: every core


def test_threads_option_wins_and_the_environment_is_honoured(monkeypatch):
    threads.request_threads(3)
    assert threads.choose_threads(64) == 3 and threads.choose_threads(4096) == 3
    threads.request_threads(None)
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert threads.choose_threads(64) is None  # torch read OMP_NUM_THREADS itself
    with pytest.raises(LatentkitError, match="--threads 0 is not positive"):
        threads.request_threads(0)


def test_use_threads_for_sets_torch():
    import torch

    before = torch.get_num_threads()
    try:
        assert threads.use_threads_for((1, 8, 8)) == 1 == torch.get_num_threads()
        threads.request_threads(2)
        assert threads.use_threads_for((1, 64, 64)) == 2
    finally:
        torch.set_num_threads(before)


def test_cli_threads_option_after_the_command(capsys, handset_checkpoint):
    from latentkit.cli import main

    assert main(["info", str(handset_checkpoint), "--threads", "0"]) == 2
    assert "--threads 0 is not positive" in capsys.readouterr().err
