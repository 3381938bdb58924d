"""Paths between latent codes: linear (``lerp``) and spherical (``slerp``) interpolation.

Both take numpy arrays or torch tensors (dispatching on the array's type; torch is
never imported here) and are batched:

* ``a`` and ``b`` have shape ``(..., D)`` (any leading batch shape, broadcast
  against each other), the last axis being the latent dimension;
* ``t`` is a scalar, giving ``(..., D)``, or a 1-D array of ``S`` steps, giving
  ``(..., S, D)``: the step axis is inserted just before the latent axis.

The result has the floating dtype of ``a`` and ``b`` (integers become float64,
or torch's default dtype) and lives on their device; weights are computed in
float64. ``t = 0`` returns ``a`` and ``t = 1`` returns ``b`` bitwise: the
endpoints are selected, not computed.

Why slerp: under a Gaussian prior N(0, I_d) almost all mass lies near the sphere
of radius √d, and the straight line between two typical codes cuts through the
low-norm interior the decoder rarely saw in training (White 2016). Slerp follows
the great circle instead, keeping the norm of equal-norm endpoints.

References: K. Shoemake, "Animating rotation with quaternion curves", SIGGRAPH
1985. T. White, "Sampling Generative Networks", arXiv:1609.04468, 2016.
"""

from __future__ import annotations

import math
import sys
from typing import Any

import numpy as np

# Below this angle (radians) slerp is lerp: sin(tΩ)/sin Ω = t + O(Ω²), so the two
# differ by < 1e-14 relative, and Ω = 0 (parallel or equal vectors) would divide 0 by 0.
PARALLEL_ANGLE = 1e-7
# Within this of π the endpoints are antipodal: there is no unique great circle.
ANTIPODAL_ANGLE = 1e-7


class _NumpyOps:
    """The handful of array operations lerp/slerp need, for numpy arrays."""

    @staticmethod
    def as_float(x: Any) -> np.ndarray:
        x = np.asarray(x)
        return x if np.issubdtype(x.dtype, np.floating) else x.astype(np.float64)

    @staticmethod
    def result_dtype(a: np.ndarray, b: np.ndarray) -> Any:
        return np.result_type(a.dtype, b.dtype)

    @staticmethod
    def cast(x: Any, dtype: Any, like: Any) -> np.ndarray:
        return np.asarray(x).astype(dtype, copy=False)

    @staticmethod
    def f64(x: Any, like: Any = None) -> np.ndarray:
        return np.asarray(x, dtype=np.float64)

    @staticmethod
    def unsqueeze(x: np.ndarray, axis: int) -> np.ndarray:
        return np.expand_dims(x, axis)

    @staticmethod
    def norm(x: np.ndarray) -> np.ndarray:
        return np.linalg.norm(x, axis=-1, keepdims=True)

    @staticmethod
    def dot(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return (x * y).sum(axis=-1, keepdims=True)

    atan2 = staticmethod(np.arctan2)
    sin = staticmethod(np.sin)
    cos = staticmethod(np.cos)
    where = staticmethod(np.where)

    @staticmethod
    def least_aligned_axis(unit: np.ndarray) -> np.ndarray:
        """One-hot (…, D) of the first axis where |unit| is smallest."""
        k = np.argmin(np.abs(unit), axis=-1)
        return (np.arange(unit.shape[-1]) == k[..., None]).astype(np.float64)


class _TorchOps:
    """The same operations for torch tensors (torch is already imported by the caller)."""

    def __init__(self, torch: Any) -> None:
        self.torch = torch

    def as_float(self, x: Any) -> Any:
        return x if x.is_floating_point() else x.to(self.torch.get_default_dtype())

    def result_dtype(self, a: Any, b: Any) -> Any:
        return self.torch.promote_types(a.dtype, b.dtype)

    def cast(self, x: Any, dtype: Any, like: Any) -> Any:
        return x.to(dtype=dtype, device=like.device)

    def f64(self, x: Any, like: Any) -> Any:
        return self.torch.as_tensor(x, dtype=self.torch.float64, device=like.device)

    def unsqueeze(self, x: Any, axis: int) -> Any:
        return x.unsqueeze(axis)

    def norm(self, x: Any) -> Any:
        return self.torch.linalg.vector_norm(x, dim=-1, keepdim=True)

    def dot(self, x: Any, y: Any) -> Any:
        return (x * y).sum(dim=-1, keepdim=True)

    def atan2(self, y: Any, x: Any) -> Any:
        return self.torch.atan2(y, x)

    def sin(self, x: Any) -> Any:
        return self.torch.sin(x)

    def cos(self, x: Any) -> Any:
        return self.torch.cos(x)

    def where(self, condition: Any, x: Any, y: Any) -> Any:
        return self.torch.where(condition, x, y)

    def least_aligned_axis(self, unit: Any) -> Any:
        k = self.torch.argmin(unit.abs(), dim=-1)
        axes = self.torch.arange(unit.shape[-1], device=unit.device)
        return (axes == k.unsqueeze(-1)).to(self.torch.float64)


def _ops_for(*values: Any) -> Any:
    """torch ops when any value is a torch tensor, numpy ops otherwise."""
    torch = sys.modules.get("torch")
    if torch is not None and any(isinstance(v, torch.Tensor) for v in values):
        return _TorchOps(torch)
    return _NumpyOps()


def _prepare(a: Any, b: Any, t: Any) -> tuple[Any, Any, Any, Any, Any]:
    """Float endpoints, float64 steps shaped to broadcast, and the ops and dtype to use.

    With a 1-D ``t`` the endpoints gain a step axis before the latent axis and
    ``t`` becomes (S, 1), so every operation broadcasts to (..., S, D).
    """
    ops = _ops_for(a, b, t)
    if isinstance(ops, _TorchOps):
        torch = ops.torch
        like = a if isinstance(a, torch.Tensor) else b if isinstance(b, torch.Tensor) else t
        a = torch.as_tensor(a, device=like.device)
        b = torch.as_tensor(b, device=like.device)
    a, b = ops.as_float(a), ops.as_float(b)
    dtype = ops.result_dtype(a, b)
    a, b = ops.cast(a, dtype, a), ops.cast(b, dtype, a)
    steps = ops.f64(t, a)
    if steps.ndim > 1:
        raise ValueError(f"t must be a scalar or a 1-D array of steps, got shape {tuple(steps.shape)}")
    if steps.ndim == 1:
        a, b = ops.unsqueeze(a, -2), ops.unsqueeze(b, -2)
        steps = ops.unsqueeze(steps, -1)
    return ops, a, b, steps, dtype


def _with_exact_endpoints(ops: Any, path: Any, a: Any, b: Any, t: Any) -> Any:
    """``path`` with the steps at t = 0 and t = 1 replaced by ``a`` and ``b`` themselves."""
    return ops.where(t == 0, a, ops.where(t == 1, b, path))


def lerp(a: Any, b: Any, t: Any) -> Any:
    """Linear interpolation (1 − t)·a + t·b, batched (see the module docstring for shapes).

    ``t = 0`` gives ``a`` and ``t = 1`` gives ``b`` exactly (bitwise).
    """
    ops, a, b, t, dtype = _prepare(a, b, t)
    path = ops.cast((1.0 - t) * ops.f64(a, a) + t * ops.f64(b, a), dtype, a)
    return _with_exact_endpoints(ops, path, a, b, t)


def slerp(a: Any, b: Any, t: Any) -> Any:
    """Spherical linear interpolation, batched (see the module docstring for shapes).

    slerp(a, b, t) = sin((1 − t)Ω)/sin Ω · a + sin(tΩ)/sin Ω · b, with Ω the angle
    between ``a`` and ``b`` (Shoemake 1985; for generative models White 2016).
    For endpoints of equal norm the path keeps that norm and advances by equal
    angles; for unequal norms the norm changes smoothly between them.

    Ω is computed as 2·atan2(‖â − b̂‖, ‖â + b̂‖) (â = a/‖a‖), accurate near 0 and π
    where arccos of the dot product is not.

    Special cases, each handled without dividing by zero:

    * **parallel** (Ω < 1e-7 rad, including a = b and a zero endpoint): the
      formula's limit, lerp;
    * **antipodal** (π − Ω < 1e-7 rad, e.g. b = −a): no unique great circle
      exists, so the path rotates through a deterministic direction u
      orthogonal to a (the coordinate axis least aligned with a,
      Gram–Schmidt-orthogonalised against it):
      ((1 − t)‖a‖ + t‖b‖) · (cos(tπ)·â + sin(tπ)·u). It keeps a norm that moves
      linearly between the endpoints' norms. Falling back to lerp instead would
      pass through the origin, a code of norm ≈ 0 that a Gaussian prior in
      d dimensions practically never draws (typical norm √d): the very failure
      slerp exists to avoid. In one dimension no orthogonal direction exists
      and the path is lerp.

    Near (but not at) antipodal endpoints of *unequal* norm the standard
    formula itself grows large mid-path, as sin Ω → 0; that is the formula,
    reproduced faithfully, and it does not arise for equal norms.

    ``t = 0`` gives ``a`` and ``t = 1`` gives ``b`` exactly (bitwise).
    """
    ops, a, b, t, dtype = _prepare(a, b, t)
    a64, b64 = ops.f64(a, a), ops.f64(b, a)
    norm_a, norm_b = ops.norm(a64), ops.norm(b64)
    degenerate = (norm_a == 0) | (norm_b == 0)
    unit_a = a64 / ops.where(degenerate, 1.0, norm_a)
    unit_b = b64 / ops.where(degenerate, 1.0, norm_b)
    omega = 2.0 * ops.atan2(ops.norm(unit_a - unit_b), ops.norm(unit_a + unit_b))
    opposite = ~degenerate & (math.pi - omega < ANTIPODAL_ANGLE)
    can_turn = a64.shape[-1] > 1  # a line has no orthogonal direction to turn through
    parallel = degenerate | (omega < PARALLEL_ANGLE) | (opposite & (not can_turn))
    antipodal = opposite & can_turn

    sin_omega = ops.where(parallel | antipodal, 1.0, ops.sin(omega))
    weight_a = ops.where(parallel, 1.0 - t, ops.sin((1.0 - t) * omega) / sin_omega)
    weight_b = ops.where(parallel, t, ops.sin(t * omega) / sin_omega)
    path = weight_a * a64 + weight_b * b64

    if bool(antipodal.any()):
        axis = ops.least_aligned_axis(unit_a)
        turn = axis - ops.dot(axis, unit_a) * unit_a
        turn = turn / ops.norm(turn)
        radius = (1.0 - t) * norm_a + t * norm_b
        rotation = radius * (ops.cos(math.pi * t) * unit_a + ops.sin(math.pi * t) * turn)
        path = ops.where(antipodal, rotation, path)
    return _with_exact_endpoints(ops, ops.cast(path, dtype, a), a, b, t)
