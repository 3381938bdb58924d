"""2-D projections of latent codes (PCA, t-SNE, UMAP) and how faithful they are.

* :func:`pca_embedding`: scikit-learn's PCA, instant, linear, the fallback.
* :func:`tsne_embedding`: scikit-learn's t-SNE (van der Maaten & Hinton 2008).
* :func:`umap_embedding`: UMAP (McInnes, Healy & Melville 2018) with two changes
  that keep its answer but make a new process fast (see below).
* :func:`trustworthiness_score`: Venna & Kaski's trustworthiness on a subsample,
  so nobody reads clusters into a projection that made them up.

scikit-learn, umap-learn and numba are imported inside the functions.

**Why a second ``umap`` process used to recompile everything.** umap-learn
compiles about 130 numba functions per process and asks numba to cache only
one of them (``rdist``); nearest-neighbour descent (pynndescent) passes the
distance function as a first-class argument, which numba cannot cache at all.
So every new process paid ~40 s of compilation for a ~5 s fit. Here:

1. nearest neighbours are exact (scikit-learn's brute-force search, chunked
   and multithreaded BLAS) for up to :data:`~latentkit.defaults.UMAP_EXACT_KNN_MAX`
   points and handed to UMAP as ``precomputed_knn``, so pynndescent never runs
   (exact neighbours are also what UMAP's approximate search tries to find);
2. the umap-learn functions a fit compiles (fuzzy simplicial set, the serial
   layout epoch) get numba's on-disk cache, written to latentkit's cache folder
   (``$LATENTKIT_CACHE_DIR/numba``, else ``~/.cache/latentkit/numba``; ``NUMBA_CACHE_DIR``
   wins when the user set it), so the
   second process loads machine code instead of compiling it.

With ``random_state`` set, umap-learn runs its layout single-threaded (that is
what makes it deterministic); the same seed gives the same embedding in every
process.

References: L. McInnes, J. Healy, J. Melville, "UMAP: Uniform Manifold
Approximation and Projection for Dimension Reduction", arXiv:1802.03426, 2018.
J. Venna, S. Kaski, "Neighborhood preservation in nonlinear projection methods:
an experimental study", ICANN 2001. L. van der Maaten, G. Hinton, "Visualizing
data using t-SNE", JMLR 2008.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from latentkit.defaults import (
    SEED,
    TRUSTWORTHINESS_K,
    TRUSTWORTHINESS_SUBSAMPLE,
    UMAP_EXACT_KNN_MAX,
    UMAP_MIN_DIST,
    UMAP_NEIGHBORS,
)

# umap-learn's numba functions a Euclidean fit compiles and that numba can cache
# (no function arguments, no dynamic globals). The *parallel* layout epoch is left
# out on purpose: it shares its Python function, hence its cache entry, with the
# serial one, and seeded runs use the serial one.
_CACHEABLE_UMAP_FUNCTIONS = {
    "umap.umap_": ("smooth_knn_dist", "compute_membership_strengths"),
    "umap.layouts": ("clip", "rdist", "_nb_optimize_layout_euclidean_single_epoch"),
    "umap.utils": ("tau_rand", "tau_rand_int"),
    "umap.distances": ("euclidean",),
}
_umap_cache_dir: str | None = None  # where this process's umap functions cache, once set


def pca_embedding(x: np.ndarray, n_components: int = 2, *, seed: int = SEED) -> np.ndarray:
    """scikit-learn's ``PCA(n_components, random_state=seed).fit_transform(x)``, float32."""
    from sklearn.decomposition import PCA

    x = _as_points(x)
    return PCA(n_components=n_components, random_state=seed).fit_transform(x).astype(np.float32)


def tsne_embedding(x: np.ndarray, *, seed: int = SEED, perplexity: float = 30.0) -> np.ndarray:
    """scikit-learn's 2-D t-SNE with PCA initialisation; perplexity capped below the point count."""
    from sklearn.manifold import TSNE

    x = _as_points(x)
    perplexity = min(perplexity, max(1.0, (len(x) - 1) / 3.0))
    tsne = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed)
    return tsne.fit_transform(x).astype(np.float32)


def exact_neighbors(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest neighbours of every point among all points (itself included, first).

    Returns ``(indices (N, k) int32, distances (N, k) float32)``, Euclidean,
    by scikit-learn's brute-force search: deterministic, exact, and for the
    small dimensions of latent codes quicker than a tree.
    """
    from sklearn.neighbors import NearestNeighbors

    x = _as_points(x)
    k = min(k, len(x))
    search = NearestNeighbors(n_neighbors=k, algorithm="brute").fit(x)
    distances, indices = search.kneighbors(x)
    return indices.astype(np.int32), distances.astype(np.float32)


def default_numba_cache_dir() -> Path:
    """``numba`` in latentkit's cache folder: ``$LATENTKIT_CACHE_DIR/numba``, else
    ``$XDG_CACHE_HOME/latentkit/numba``, else ``~/.cache/latentkit/numba``."""
    from latentkit.cache_paths import cache_root

    return cache_root() / "numba"


def enable_umap_cache(cache_dir: str | Path | None = None) -> str | None:
    """Give umap-learn's compiled functions numba's on-disk cache; return where it lives.

    The cache folder is ``cache_dir``, else ``NUMBA_CACHE_DIR`` when the user set
    it, else :func:`default_numba_cache_dir`. Only the functions in
    ``_CACHEABLE_UMAP_FUNCTIONS`` are touched; numba's global settings are left
    as they were. Idempotent: the first call in a process decides. Returns None
    when no folder can be created (the fit then compiles as usual).
    """
    global _umap_cache_dir
    if _umap_cache_dir is not None:
        return _umap_cache_dir
    import importlib

    from numba.core import config
    from numba.core.caching import NullCache
    from numba.core.dispatcher import Dispatcher

    folder = Path(cache_dir) if cache_dir is not None else (None if config.CACHE_DIR else default_numba_cache_dir())
    if folder is not None:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            return None
    # Import first: umap-learn's imports (pynndescent) make their own caches, which
    # should stay where numba puts them by default.
    functions = [
        getattr(importlib.import_module(module_name), name, None)
        for module_name, names in _CACHEABLE_UMAP_FUNCTIONS.items()
        for name in names
    ]
    previous = config.CACHE_DIR
    if folder is not None:
        config.CACHE_DIR = str(folder)  # read once, when each function's cache locator is made
    try:
        for function in functions:
            if isinstance(function, Dispatcher) and isinstance(function._cache, NullCache):
                function.enable_caching()
        _umap_cache_dir = config.CACHE_DIR
    finally:
        config.CACHE_DIR = previous
    return _umap_cache_dir


def umap_embedding(
    x: np.ndarray,
    *,
    seed: int = SEED,
    n_neighbors: int = UMAP_NEIGHBORS,
    min_dist: float = UMAP_MIN_DIST,
    exact_knn_max: int = UMAP_EXACT_KNN_MAX,
    cache_dir: str | Path | None = None,
) -> tuple[np.ndarray, str]:
    """UMAP of ``x`` into 2-D with ``random_state=seed`` (deterministic, single-threaded layout).

    Up to ``exact_knn_max`` points use exact nearest neighbours (see the module
    docstring); larger inputs use umap-learn's own approximate search.
    Returns ``(embedding (N, 2) float32, "exact" | "nndescent")``.
    """
    x = _as_points(x).astype(np.float32)
    if len(x) <= n_neighbors:
        raise ValueError(f"UMAP needs more points than n_neighbors={n_neighbors}, got {len(x)}")
    enable_umap_cache(cache_dir)
    import umap

    knn: tuple[np.ndarray, np.ndarray, None] | tuple[None, None, None] = (None, None, None)
    method = "nndescent"
    if len(x) <= exact_knn_max:
        indices, distances = exact_neighbors(x, n_neighbors)
        knn, method = (indices, distances, None), "exact"
    reducer = umap.UMAP(
        n_components=2, n_neighbors=n_neighbors, min_dist=min_dist, random_state=seed, precomputed_knn=knn
    )
    with warnings.catch_warnings():
        # "n_jobs overridden by random_state" and "no search index, transform unavailable":
        # both expected here (we want determinism and never transform new data).
        warnings.simplefilter("ignore", UserWarning)
        embedding = reducer.fit_transform(x)
    return np.asarray(embedding, dtype=np.float32), method


def trustworthiness_score(
    x: np.ndarray,
    embedding: np.ndarray,
    *,
    k: int = TRUSTWORTHINESS_K,
    subsample: int = TRUSTWORTHINESS_SUBSAMPLE,
    seed: int = SEED,
) -> tuple[float, int]:
    """Trustworthiness T(k) of ``embedding`` as a picture of ``x``, on a reproducible subsample.

    T(k) = 1 − 2 / (n k (2n − 3k − 1)) · Σ_i Σ_{j ∈ U_k(i)} (r(i, j) − k), where
    U_k(i) are the points among i's k nearest neighbours in the embedding but
    not in the input space and r(i, j) is j's rank among i's input-space
    neighbours (Venna & Kaski 2001; scikit-learn's ``trustworthiness``). 1 means
    every neighbour shown is a real neighbour; values well below ~0.9 mean the
    picture made up some of its neighbourhoods. Computed on at most
    ``subsample`` points (chosen with ``seed``) since it costs O(n²).
    Returns ``(T, n used)``.
    """
    from sklearn.manifold import trustworthiness

    x = _as_points(x)
    embedding = np.asarray(embedding, dtype=np.float64)
    if len(x) != len(embedding):
        raise ValueError(f"x has {len(x)} rows but the embedding {len(embedding)}")
    rows = np.arange(len(x))
    if len(x) > subsample:
        rows = np.sort(np.random.default_rng(seed).choice(len(x), size=subsample, replace=False))
    n = len(rows)
    k = min(k, (n - 1) // 2)  # scikit-learn requires k < n / 2
    if k < 1:
        raise ValueError(f"trustworthiness needs at least 3 points, got {n}")
    return float(trustworthiness(x[rows], embedding[rows], n_neighbors=k)), n


_EXTREME = 2.0**40  # squared distances of points beyond this (or below its inverse) leave float32's range


def _as_points(x: np.ndarray) -> np.ndarray:
    """``x`` as a float (N, D) array; extreme magnitudes scaled by one power of two (exact, shape-preserving).

    Projections and neighbourhoods depend on the geometry only up to a global scale, so values such
    as 3e38 (whose squares overflow float32) are brought near 1 instead of turning into inf.
    """
    x = np.asarray(x, dtype=np.float64) if not np.issubdtype(np.asarray(x).dtype, np.floating) else np.asarray(x)
    if x.ndim != 2 or len(x) == 0:
        raise ValueError(f"expected a non-empty (N, D) array of points, got shape {x.shape}")
    peak = float(np.abs(x).max())
    if np.isfinite(peak) and (peak > _EXTREME or 0 < peak < 1 / _EXTREME):
        x = np.ldexp(x, -int(np.frexp(peak)[1]))
    return x
