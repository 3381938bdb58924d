"""The data layer: every image set latentkit analyses, behind one small interface.

``open_data("digits" | "shapes" | PATH)`` returns a :class:`DataSource` whose
``batches`` yield float32 images in [0, 1]; images stay in their stored form
until a batch is read. Only numpy is imported here (scikit-learn and Pillow
when a source needs them).
"""

from __future__ import annotations

from pathlib import Path

from latentkit.data.digits import open_digits
from latentkit.data.files import ARRAY_SUFFIXES, open_array_file, open_png_folder
from latentkit.data.shapes import SHAPES_FACTOR_NAMES, SHAPES_FACTOR_SIZES, ShapesSource
from latentkit.data.source import Batch, DataSource, Subset, check_limit, limit_rows
from latentkit.defaults import SEED
from latentkit.errors import LatentkitError

__all__ = [
    "SHAPES_FACTOR_NAMES",
    "SHAPES_FACTOR_SIZES",
    "Batch",
    "DataSource",
    "ShapesSource",
    "Subset",
    "open_data",
]

ACCEPTED_SPECS = "'digits', 'shapes', a .npz/.npy file, or a folder of PNG images"


def _open_whole(spec: str) -> DataSource:
    """The full source ``spec`` names."""
    if spec == "digits":
        return open_digits()
    if spec == "shapes":
        return ShapesSource()
    path = Path(spec)
    if path.is_dir():
        return open_png_folder(spec)
    if path.suffix.lower() in ARRAY_SUFFIXES:
        return open_array_file(spec)
    if path.exists():
        raise LatentkitError(
            f"cannot read data from {spec}: expected {ACCEPTED_SPECS}", fix="convert it to a .npz file"
        )
    raise LatentkitError(f"unknown data {spec!r}: expected {ACCEPTED_SPECS}", fix="pass --data digits|shapes|PATH")


def open_data(spec: str, *, limit: int | None = None, seed: int = SEED) -> DataSource:
    """Open ``spec``; with ``limit``, a reproducible random subset of that many rows (sorted).

    The subset's rows are chosen by ``np.random.default_rng(seed)`` without
    replacement; a limit at or above the size keeps every row.
    """
    if limit is not None:
        check_limit(limit)
    return limit_rows(_open_whole(spec), limit, seed)
