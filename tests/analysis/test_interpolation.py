import subprocess
import sys

import numpy as np
import pytest

from latentkit.analysis.interpolation import lerp, slerp


def angle(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Angle between rows of u and v, computed independently (arccos of the cosine)."""
    cos = (u * v).sum(-1) / (np.linalg.norm(u, axis=-1) * np.linalg.norm(v, axis=-1))
    return np.arccos(np.clip(cos, -1.0, 1.0))


def white_2016_slerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    """The reference formula as published (White 2016, "Sampling Generative Networks")."""
    omega = np.arccos(np.clip(np.dot(a / np.linalg.norm(a), b / np.linalg.norm(b)), -1, 1))
    so = np.sin(omega)
    return np.sin((1.0 - t) * omega) / so * a + np.sin(t * omega) / so * b


@pytest.mark.parametrize("function", [lerp, slerp])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_both_endpoints_are_hit_exactly(function, dtype):
    rng = np.random.default_rng(0)
    a = rng.normal(size=(5, 7)).astype(dtype)
    b = rng.normal(size=(5, 7)).astype(dtype)
    a[0, 0] = -0.0  # a signed zero survives too
    path = function(a, b, np.linspace(0, 1, 6))
    assert path.shape == (5, 6, 7) and path.dtype == dtype
    assert path[:, 0].tobytes() == a.tobytes()
    assert path[:, -1].tobytes() == b.tobytes()
    assert function(a, b, 0.0).tobytes() == a.tobytes()
    assert function(a, b, 1.0).tobytes() == b.tobytes()


def test_slerp_of_equal_norms_keeps_the_norm_and_steps_by_equal_angles():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(2, 16))
    b *= np.linalg.norm(a) / np.linalg.norm(b)
    t = np.linspace(0, 1, 11)
    path = slerp(a, b, t)
    np.testing.assert_allclose(np.linalg.norm(path, axis=-1), np.linalg.norm(a), rtol=1e-12)
    steps = angle(path[:-1], path[1:])
    np.testing.assert_allclose(steps, angle(a, b) / 10, rtol=1e-6)
    # lerp cuts inside the sphere: its midpoint has a smaller norm
    assert np.linalg.norm(lerp(a, b, 0.5)) < np.linalg.norm(slerp(a, b, 0.5))


def test_slerp_is_the_published_formula():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(2, 10)) * np.array([[1.0], [2.5]])  # unequal norms
    for t in (0.1, 0.37, 0.5, 0.9):
        np.testing.assert_allclose(slerp(a, b, t), white_2016_slerp(a, b, t), rtol=1e-12)
    np.testing.assert_allclose(slerp([1.0, 0.0], [0.0, 1.0], 0.5), [np.sqrt(0.5)] * 2, rtol=1e-15)


def test_parallel_and_equal_vectors_fall_back_to_lerp_without_nan():
    a = np.array([0.3, -1.2, 2.0])
    t = np.linspace(0, 1, 7)
    np.testing.assert_array_equal(slerp(a, 3 * a, t), lerp(a, 3 * a, t))
    np.testing.assert_array_equal(slerp(a, a, t), np.broadcast_to(a, (7, 3)))
    np.testing.assert_array_equal(slerp(np.zeros(3), a, t), lerp(np.zeros(3), a, t))
    nearly = a + 1e-12 * np.array([1.0, 0.0, 0.0])
    assert np.isfinite(slerp(a, nearly, t)).all()
    np.testing.assert_allclose(slerp(a, nearly, t), lerp(a, nearly, t), rtol=1e-12)


def test_antipodal_endpoints_turn_through_a_fixed_orthogonal_direction():
    a = np.array([2.0, 1.0, -2.0])  # norm 3; the axis least aligned with it is 1
    t = np.linspace(0, 1, 9)
    path = slerp(a, -a, t)
    assert np.isfinite(path).all()
    np.testing.assert_allclose(np.linalg.norm(path, axis=-1), 3.0, rtol=1e-12)
    np.testing.assert_allclose(angle(path[:-1], path[1:]), np.pi / 8, rtol=1e-6)
    middle = path[4]
    assert abs(middle @ a) < 1e-12  # a quarter turn: orthogonal to both ends
    e1 = np.array([0.0, 1.0, 0.0])
    expected = e1 - (e1 @ a) / 9 * a
    np.testing.assert_allclose(middle, 3 * expected / np.linalg.norm(expected), rtol=1e-12)
    np.testing.assert_array_equal(path, slerp(a, -a, t))  # deterministic
    # unequal norms: the norm moves linearly from one end to the other
    np.testing.assert_allclose(np.linalg.norm(slerp(a, -2 * a, t), axis=-1), 3 * (1 + t), rtol=1e-12)


def test_antipodal_in_one_dimension_is_lerp():
    t = np.linspace(0, 1, 5)
    np.testing.assert_array_equal(slerp(np.array([1.0]), np.array([-1.0]), t)[:, 0], [1.0, 0.5, 0.0, -0.5, -1.0])


def test_batches_broadcast_and_scalar_steps_drop_the_step_axis():
    rng = np.random.default_rng(3)
    a = rng.normal(size=(2, 3, 4))
    b = rng.normal(size=4)
    assert slerp(a, b, 0.25).shape == (2, 3, 4)
    assert slerp(a, b, np.linspace(0, 1, 5)).shape == (2, 3, 5, 4)
    batched = slerp(a, b, np.linspace(0, 1, 5))
    np.testing.assert_allclose(batched[1, 2], slerp(a[1, 2], b, np.linspace(0, 1, 5)), rtol=1e-12)
    with pytest.raises(ValueError, match="1-D"):
        lerp(a, b, np.zeros((2, 2)))


def test_torch_tensors_match_numpy_and_keep_dtype():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(2, 3, 6)).astype(np.float32)
    t = np.linspace(0, 1, 5)
    for function in (lerp, slerp):
        result = function(torch.from_numpy(a), torch.from_numpy(b), torch.from_numpy(t))
        assert isinstance(result, torch.Tensor) and result.dtype == torch.float32 and result.shape == (3, 5, 6)
        np.testing.assert_allclose(result.numpy(), function(a, b, t), rtol=1e-6, atol=1e-7)
        assert torch.equal(result[:, 0], torch.from_numpy(a)) and torch.equal(result[:, -1], torch.from_numpy(b))
    antipodal = slerp(torch.tensor([1.0, 0.0]), torch.tensor([-1.0, 0.0]), torch.linspace(0, 1, 3))
    torch.testing.assert_close(antipodal, torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]]), atol=1e-7, rtol=0)
    same = slerp(torch.ones(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64), 0.5)
    assert torch.equal(same, torch.ones(3, dtype=torch.float64))


def test_the_module_does_not_import_torch():
    code = (
        "import sys, numpy as np; from latentkit.analysis.interpolation import slerp; "
        "slerp(np.ones(2), -np.ones(2), 0.5); assert 'torch' not in sys.modules"
    )
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
