from pathlib import Path

import numpy as np
import pytest

from latentkit.analysis.projection import (
    enable_umap_cache,
    exact_neighbors,
    pca_embedding,
    trustworthiness_score,
    umap_embedding,
)


@pytest.fixture
def blobs() -> np.ndarray:
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(4, 6)) * 5
    return (centres[rng.integers(0, 4, 240)] + rng.normal(size=(240, 6))).astype(np.float32)


def test_pca_embedding_equals_scikit_learn(blobs):
    from sklearn.decomposition import PCA

    expected = PCA(n_components=2, random_state=0).fit_transform(blobs)
    np.testing.assert_allclose(pca_embedding(blobs, seed=0), expected, rtol=1e-5, atol=1e-5)


def test_exact_neighbors_are_the_brute_force_answer(blobs):
    indices, distances = exact_neighbors(blobs, 5)
    full = np.linalg.norm(blobs[:, None, :].astype(np.float64) - blobs[None, :, :], axis=-1)
    np.testing.assert_allclose(distances, np.sort(full, axis=1)[:, :5], rtol=1e-4, atol=1e-4)
    assert (indices[:, 0] == np.arange(len(blobs))).all()  # each point is its own nearest neighbour


def test_trustworthiness_on_a_subsample_is_scikit_learns(blobs):
    from sklearn.manifold import trustworthiness

    embedding = pca_embedding(blobs)
    assert trustworthiness_score(blobs, embedding, k=10)[0] == pytest.approx(
        trustworthiness(blobs, embedding, n_neighbors=10)
    )
    value, used = trustworthiness_score(blobs, embedding, k=10, subsample=100, seed=3)
    rows = np.sort(np.random.default_rng(3).choice(len(blobs), 100, replace=False))
    assert used == 100
    assert value == pytest.approx(trustworthiness(blobs[rows], embedding[rows], n_neighbors=10))
    assert trustworthiness_score(blobs, blobs[:, :2] * 0 + np.arange(len(blobs))[:, None], k=10)[0] < value


def test_umap_is_deterministic_and_its_compiled_functions_are_cached(blobs):
    first, knn = umap_embedding(blobs, seed=1)
    again, _ = umap_embedding(blobs, seed=1)
    assert first.shape == (len(blobs), 2) and knn == "exact"
    np.testing.assert_array_equal(first, again)
    folder = enable_umap_cache()
    assert folder is not None
    cached = {p.name.split(".")[1].split("-")[0] for p in Path(folder).rglob("*.nbi")}
    assert {"smooth_knn_dist", "compute_membership_strengths", "_optimize_layout_euclidean_single_epoch"} <= cached


def test_umap_cache_goes_under_latentkit_cache_dir_unless_numba_cache_dir_is_set(tmp_path, monkeypatch):
    from numba.core import config

    from latentkit.analysis import projection

    monkeypatch.setattr(projection, "_CACHEABLE_UMAP_FUNCTIONS", {})  # the folder decision only: no function moves
    monkeypatch.setattr(projection, "_umap_cache_dir", None)
    monkeypatch.setenv("LATENTKIT_CACHE_DIR", str(tmp_path / "latentkit"))
    monkeypatch.setattr(config, "CACHE_DIR", "")  # NUMBA_CACHE_DIR not set
    assert enable_umap_cache() == str(tmp_path / "latentkit" / "numba")
    assert (tmp_path / "latentkit" / "numba").is_dir()

    monkeypatch.setattr(projection, "_umap_cache_dir", None)
    monkeypatch.setattr(config, "CACHE_DIR", str(tmp_path / "mine"))  # the user's NUMBA_CACHE_DIR wins
    assert enable_umap_cache() == str(tmp_path / "mine")
    assert config.CACHE_DIR == str(tmp_path / "mine")  # numba's own setting left as it was
