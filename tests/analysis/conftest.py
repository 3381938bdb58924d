"""Reference cases for the disentanglement scores (tests/assets/reference/disentanglement).

Each case is an (N, D) float32 code array and an (N, K) int factor array with the values
disentanglement_lib computed on them (expected.json); SOURCE.md there says where they come
from. Every case listed in expected.json is a test: a missing file fails it, never skips it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from latentkit.analysis.validation import split_train_test

REFERENCE_DIR = Path(__file__).parents[1] / "assets/reference/disentanglement"


@dataclass(frozen=True, eq=False)
class ReferenceCase:
    """One shared case: arrays, dlib's values and intermediates, and the fixed-data split."""

    name: str
    codes: np.ndarray
    factors: np.ndarray
    values: dict
    intermediates: dict

    @property
    def train(self) -> tuple[np.ndarray, np.ndarray]:
        return self.split[:2]

    @property
    def split(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(codes_train, factors_train, codes_test, factors_test)."""
        return split(self.codes, self.factors)

    def matrix(self, key: str) -> np.ndarray:
        return np.asarray(self.intermediates[key], dtype=np.float64)


@cache
def _expected() -> dict:
    return json.loads((REFERENCE_DIR / "expected.json").read_text())


def shared_case_names() -> list[str]:
    """Every case expected.json lists (its array file must exist: a missing one fails the test)."""
    return list(_expected()["cases"])


@cache
def load_case(name: str) -> ReferenceCase:
    case = _expected()["cases"][name]
    arrays = np.load(REFERENCE_DIR / case["file"])
    dlib = case["disentanglement_lib"]
    return ReferenceCase(name, arrays["codes"], arrays["factors"], dlib["values"], dlib["intermediates"])


def sampler_reference(case_name: str, key: str) -> tuple[float, float] | None:
    """(mean, sd) over seeds of a BetaVAE/FactorVAE value in expected.json, or None if not recorded."""
    entry = _expected()["sampler_level"]["disentanglement_lib"].get(case_name, {}).get(key)
    return None if entry is None else (entry["mean"], entry["sd"])


def split(codes: np.ndarray, factors: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(codes_train, factors_train, codes_test, factors_test) by the fixed-data rule."""
    train, test = split_train_test(len(codes))
    return codes[train], factors[train], codes[test], factors[test]


@pytest.fixture(params=shared_case_names())
def reference_case(request: pytest.FixtureRequest) -> ReferenceCase:
    """Every reference case, one at a time."""
    return load_case(request.param)


def disentangled(
    noise: float = 0.1, n: int = 3000, sizes: tuple[int, ...] = (4, 5, 6), seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Codes where code j = factor j + N(0, noise^2), with independent uniform factors."""
    rng = np.random.default_rng(seed)
    factors = np.column_stack([rng.integers(0, size, n) for size in sizes])
    codes = factors + rng.normal(0.0, 1.0, factors.shape) * noise
    return codes, factors


@pytest.fixture
def make_disentangled():
    """Factory fixture for :func:`disentangled` (property tests build small data in the test)."""
    return disentangled


class GeneratorSampler:
    """Ground-truth sampler whose observation is the code itself, made by the case generators.

    ``kind``: "a" code j = factor j + N(0, 0.1^2); "d" as a with codes 3, 4 pure N(0, 1);
    "e" the dSprites-like formulas of case e; "noise" N(0, 1) codes that ignore the factors.
    Observation noise comes from the sampler's own RNG.
    """

    SIZES = {"a": (3, 5, 8, 10, 16), "d": (3, 5, 8, 10, 16), "e": (3, 6, 40, 32, 32), "noise": (3, 5, 8, 10, 16)}

    def __init__(self, kind: str, noise_seed: int = 7) -> None:
        self.kind = kind
        self.factor_sizes = self.SIZES[kind]
        self._noise = np.random.RandomState(noise_seed)

    def sample_factors(self, n: int, rng: np.random.RandomState) -> np.ndarray:
        return np.column_stack([rng.randint(size, size=n) for size in self.factor_sizes])

    def observe(self, factors: np.ndarray) -> np.ndarray:
        noise, n = self._noise, len(factors)
        if self.kind == "noise":
            return noise.normal(size=factors.shape)
        if self.kind in ("a", "d"):
            codes = factors + noise.normal(0.0, 0.1, factors.shape)
            if self.kind == "d":
                codes[:, 3:] = noise.normal(size=(n, 2))
            return codes
        shape, scale, orientation, pos_x, pos_y = factors.T
        x, y, s, angle = pos_x / 31 * 2 - 1, pos_y / 31 * 2 - 1, scale / 5, orientation * 2 * np.pi / 40
        return np.column_stack(
            [
                x + noise.normal(0, 0.05, n),
                y + noise.normal(0, 0.05, n),
                s**2 + noise.normal(0, 0.05, n),
                np.cos(angle) + noise.normal(0, 0.1, n),
                np.sin(angle) + noise.normal(0, 0.1, n),
                0.6 * x + 0.8 * (2 * s - 1) + noise.normal(0, 0.1, n),
                shape + noise.normal(0, 0.8, n),
                noise.normal(size=n),
                noise.normal(size=n),
                noise.normal(0, 0.01, n),
            ]
        )


def assert_within_sampler_reference(value: float, case_name: str, key: str) -> None:
    """``value`` lies within 3 sd (at least 0.01) of the reference's mean over seeds, if recorded."""
    reference = sampler_reference(case_name, key)
    assert reference is not None, f"expected.json has no sampler-level value {key} for {case_name}"
    mean, sd = reference
    assert value == pytest.approx(mean, abs=max(3 * sd, 0.01)), (case_name, key, mean, sd)
