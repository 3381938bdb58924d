"""The encoded-codes cache: hits on the same key, misses with a note on a changed key or a damaged file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from latentkit.codes_cache import cache_root, cached_encode, entry_path
from latentkit.encode import EncodedRows, PosteriorStats


def _codes(seed: int = 0) -> EncodedRows:
    rng = np.random.default_rng(seed)
    mu, logvar = rng.normal(size=(20, 3)), rng.normal(size=(20, 3))
    stats = PosteriorStats.empty(3)
    stats.update(mu[:7], logvar[:7])
    stats.update(mu[7:], logvar[7:])
    return EncodedRows(rows=np.arange(20, dtype=np.int64)[::-1].copy(), means=mu.astype(np.float32), stats=stats)


class Counter:
    def __init__(self, seed: int = 0) -> None:
        self.calls = 0
        self.seed = seed

    def __call__(self) -> EncodedRows:
        self.calls += 1
        return _codes(self.seed)


KEY = {"checkpoint_sha256": "a" * 64, "data": {"builtin": "digits"}, "seed": 0}
SLOT = {"checkpoint": "/x/model.safetensors", "data": "digits"}


def test_second_lookup_is_a_hit_with_identical_arrays(tmp_path: Path) -> None:
    compute = Counter()
    first, outcome = cached_encode(KEY, SLOT, compute, root=tmp_path)
    assert not outcome.hit and "no cached codes" in outcome.note and "cached at" in outcome.note
    second, outcome = cached_encode(KEY, SLOT, compute, root=tmp_path)
    assert outcome.hit and compute.calls == 1
    assert outcome.path == entry_path(tmp_path, SLOT)
    assert second.rows.tolist() == first.rows.tolist()
    assert np.array_equal(second.means, first.means) and second.means.dtype == np.float32
    for name in ("mean", "variance", "kl"):
        a, b = getattr(first.stats, name), getattr(second.stats, name)
        assert a.count == b.count == 20
        assert np.array_equal(a.mean, b.mean) and np.array_equal(a.m2, b.m2)


def test_changed_key_recomputes_and_names_the_change(tmp_path: Path) -> None:
    compute = Counter()
    cached_encode(KEY, SLOT, compute, root=tmp_path)
    changed = {**KEY, "checkpoint_sha256": "b" * 64}
    _, outcome = cached_encode(changed, SLOT, compute, root=tmp_path)
    assert not outcome.hit and compute.calls == 2
    assert "different checkpoint sha256" in outcome.note
    _, outcome = cached_encode(changed, SLOT, compute, root=tmp_path)  # the new codes replaced the entry
    assert outcome.hit and compute.calls == 2


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage"])
def test_damaged_entry_recomputes_with_a_note(tmp_path: Path, damage: str) -> None:
    compute = Counter()
    cached_encode(KEY, SLOT, compute, root=tmp_path)
    path = entry_path(tmp_path, SLOT)
    raw = bytearray(path.read_bytes())
    if damage == "truncate":
        path.write_bytes(bytes(raw[: len(raw) // 2]))
    elif damage == "flip":  # one byte inside the stored means: the zip stays readable, the checksum fails
        start = raw.find(b"means.npy")
        offset = raw.find(b"\n", raw.find(b"{'descr'", start)) + 5
        raw[offset] ^= 0xFF
        path.write_bytes(bytes(raw))
    else:
        path.write_text("not a cache file")
    codes, outcome = cached_encode(KEY, SLOT, compute, root=tmp_path)
    assert not outcome.hit and compute.calls == 2
    assert "damaged" in outcome.note and str(path) in outcome.note
    assert np.array_equal(codes.means, _codes().means)
    _, outcome = cached_encode(KEY, SLOT, compute, root=tmp_path)  # repaired
    assert outcome.hit


def test_disabled_cache_neither_reads_nor_writes(tmp_path: Path) -> None:
    compute = Counter()
    _, outcome = cached_encode(KEY, SLOT, compute, root=tmp_path, enabled=False)
    assert not outcome.hit and outcome.path is None and "--no-cache" in outcome.note
    assert not any(tmp_path.iterdir())


def test_unwritable_cache_does_not_fail_the_run(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")  # a file where the cache folder should be
    codes, outcome = cached_encode(KEY, SLOT, Counter(), root=blocker)
    assert codes.means.shape == (20, 3) and "could not cache" in outcome.note


def test_cache_root_follows_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LATENTKIT_CACHE_DIR", str(tmp_path / "mine"))
    assert cache_root() == tmp_path / "mine"
    monkeypatch.delenv("LATENTKIT_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root() == tmp_path / "xdg" / "latentkit"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_root() == tmp_path / "home" / ".cache" / "latentkit"


def test_an_entry_keeps_a_spatial_layout_and_the_posterior_samples(tmp_path: Path) -> None:
    from latentkit.analysis.layout import LatentLayout
    from latentkit.codes_cache import entry_arrays, from_entry_arrays

    rng = np.random.default_rng(0)
    mu, logvar = rng.normal(size=(9, 12)), rng.normal(size=(9, 12))
    stats = PosteriorStats.empty(LatentLayout((3, 2, 2)), sample_seed=5, subsample=4)
    stats.update(mu, logvar, np.arange(9))
    back = from_entry_arrays(entry_arrays(EncodedRows(rows=np.arange(9), means=mu.astype(np.float32), stats=stats)))
    assert back.stats.layout.shape == (3, 2, 2)
    np.testing.assert_array_equal(back.stats.channel_kl.mean, stats.channel_kl.mean)
    np.testing.assert_array_equal(back.stats.samples.subsample.values, stats.samples.subsample.values)
    assert (back.stats.samples.seed, back.stats.samples.capacity) == (5, 4)
