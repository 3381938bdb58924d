"""A dSprites-style data set rendered procedurally: 737,280 binary 64x64 images.

Five ground-truth factors, indexed in mixed radix in this order (``pos_y``
fastest), as in dSprites: ``shape`` (square, ellipse, heart), ``scale`` (6
values in [0.5, 1]), ``orientation`` (40 values 2πk/40), ``pos_x`` and
``pos_y`` (32 values each, the shape's centre from 0.1 to 0.9 of the image,
0 = left/top).

Nothing is stored per image. The 3 × 6 × 40 = 720 sprites (shape, scale,
orientation) are drawn once per process onto small patches, each patch row
padded sideways so that every ``pos_x`` is a 64-pixel window into it; an image
is then one vectorised gather: for each of its 64 rows, either a patch row or
a blank row, windowed at the column ``pos_x`` selects. Any factor combination
renders on demand, which the disentanglement scores need.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from latentkit.data.source import IndexedSource

SHAPES_FACTOR_NAMES = ("shape", "scale", "orientation", "pos_x", "pos_y")
SHAPES_FACTOR_SIZES = (3, 6, 40, 32, 32)
SHAPE_NAMES = ("square", "ellipse", "heart")

IMAGE_SIZE = 64
SCALES = np.linspace(0.5, 1.0, SHAPES_FACTOR_SIZES[1])
ORIENTATIONS = 2 * np.pi * np.arange(SHAPES_FACTOR_SIZES[2]) / SHAPES_FACTOR_SIZES[2]
# The shape's centre for each position, in pixels from the left/top edge. Rounded to
# whole pixels so each position is an exact shift of one pre-drawn sprite.
CENTRES = np.round(IMAGE_SIZE * np.linspace(0.1, 0.9, SHAPES_FACTOR_SIZES[3])).astype(np.int64)
SHAPES_FACTOR_VALUES = {
    "shape": SHAPE_NAMES,
    "scale": SCALES,
    "orientation": ORIENTATIONS,
    "pos_x": CENTRES / IMAGE_SIZE,
    "pos_y": CENTRES / IMAGE_SIZE,
}

SQUARE_SIDE = 0.3 * IMAGE_SIZE  # pixels, at scale 1; the other shapes are sized relative to it
ELLIPSE_SEMI_AXES = (0.6, 0.3)  # in square sides: 2:1, so rotation shows
# The heart is the inside of the implicit curve (x² + y² - 1)³ = HEART_NOTCH·x²·y³ (the classic
# heart has 1; 3 deepens the notch between the lobes so it survives at small scales). It is
# ~2.65 x 2.49 units, drawn HEART_SIZE square sides per unit, centred on its centre of mass.
HEART_NOTCH = 3.0
HEART_SIZE = 1 / 2.6
HEART_CENTROID_Y = 0.4723
PATCH = 32  # pixels on a side of the patch each sprite is drawn on; the largest sprite spans < 28

_SPRITE_SHAPE = SHAPES_FACTOR_SIZES[:3]  # (shape, scale, orientation) → one of 720 sprites


def _sprite_masks() -> np.ndarray:
    """All sprites as (3, 6, 40, PATCH, PATCH) bool, each centred on the patch's middle corner.

    A pixel is set when its centre lies inside the shape, so a quarter turn of the
    square maps the pixel grid onto itself exactly.
    """
    offsets = np.arange(PATCH) + 0.5 - PATCH / 2  # pixel centres relative to the shape centre
    right, up = offsets[None, :], -offsets[:, None]  # image x and y, y pointing up
    cos, sin = np.cos(ORIENTATIONS)[:, None, None], np.sin(ORIENTATIONS)[:, None, None]
    side = SQUARE_SIDE * SCALES[:, None, None, None]
    # The pixel in the shape's own frame (rotating it back by the orientation), in square sides:
    u = (right * cos + up * sin)[None] / side  # (6, 40, PATCH, PATCH)
    v = (-right * sin + up * cos)[None] / side
    square = np.maximum(np.abs(u), np.abs(v)) <= 0.5
    ellipse = (u / ELLIPSE_SEMI_AXES[0]) ** 2 + (v / ELLIPSE_SEMI_AXES[1]) ** 2 <= 1
    hx, hy = u / HEART_SIZE, v / HEART_SIZE + HEART_CENTROID_Y
    heart = (hx**2 + hy**2 - 1) ** 3 - HEART_NOTCH * hx**2 * hy**3 <= 0
    return np.stack([square, ellipse, heart])


@dataclass(frozen=True)
class _SpriteTable:
    """Sprite rows laid out for gathering whole images.

    ``windows[sprite, patch_row, start]`` is a 64-pixel image row: patch row
    ``patch_row`` of the sprite (row ``PATCH`` is blank) seen from ``start``.
    """

    rows: np.ndarray  # (720, PATCH + 1, width) uint8, ~2.8 MB: each patch row padded sideways
    windows: np.ndarray  # (720, PATCH + 1, starts, IMAGE_SIZE) uint8, a view of ``rows``
    column_start: np.ndarray  # (32,) the window start that puts the shape's centre at CENTRES[pos_x]


@cache
def _sprite_table() -> _SpriteTable:
    """Draw the 720 sprites once per process (20-60 ms)."""
    left = CENTRES.max() - PATCH // 2  # patch column 0 in a padded row
    width = CENTRES.max() - CENTRES.min() + IMAGE_SIZE  # every window start fits
    rows = np.zeros((int(np.prod(_SPRITE_SHAPE)), PATCH + 1, width), dtype=np.uint8)
    rows[:, :PATCH, left : left + PATCH] = _sprite_masks().reshape(-1, PATCH, PATCH)
    rows.setflags(write=False)
    return _SpriteTable(
        rows=rows,
        windows=sliding_window_view(rows, IMAGE_SIZE, axis=2),
        column_start=CENTRES.max() - CENTRES,
    )


@cache
def _first_identical_sprite() -> np.ndarray:
    """(720,) int64: for each sprite, the lowest-numbered sprite drawn with exactly the same pixels.

    A square looks the same after a quarter turn and an ellipse after a half turn, and the
    orientations are 2πk/40, so of the 720 sprites only 420 differ (60 squares, 120 ellipses,
    240 hearts); an image is its sprite shifted, so rows with such sprites are the same image.
    """
    patches = _sprite_table().rows.reshape(len(_sprite_table().rows), -1)
    _, first, inverse = np.unique(patches, axis=0, return_index=True, return_inverse=True)
    first_identical = first[inverse.ravel()].astype(np.int64)
    first_identical.setflags(write=False)
    return first_identical


class ShapesSource(IndexedSource):
    """The shapes data set: 737,280 images rendered on demand from their factors.

    ``factors`` (inherited) builds the full (737280, 5) int64 table (29 MB) on
    each access; ``factors_of(index)`` gives just the rows needed.
    """

    name = "shapes"
    image_shape = (1, IMAGE_SIZE, IMAGE_SIZE)
    labels = None
    factor_names = SHAPES_FACTOR_NAMES
    factor_sizes = SHAPES_FACTOR_SIZES

    def __len__(self) -> int:
        return int(np.prod(SHAPES_FACTOR_SIZES))

    def factors_of(self, index: np.ndarray) -> np.ndarray:
        """Factors of the images at ``index``: (len(index), 5) int64, mixed radix, ``pos_y`` fastest."""
        return np.stack(np.unravel_index(np.asarray(index, dtype=np.int64), SHAPES_FACTOR_SIZES), axis=1).astype(
            np.int64
        )

    def index_of(self, factors: np.ndarray) -> np.ndarray:
        """Positions of the images with ``factors`` (B, 5): the inverse of :meth:`factors_of`."""
        return np.ravel_multi_index(tuple(np.asarray(factors).T), SHAPES_FACTOR_SIZES).astype(np.int64)

    def render(self, factors: np.ndarray) -> np.ndarray:
        """Images with ``factors`` (B, 5), any combination, as (B, 1, 64, 64) float32 of 0s and 1s."""
        factors = np.asarray(factors)
        if factors.ndim != 2 or factors.shape[1] != len(SHAPES_FACTOR_SIZES) or factors.dtype.kind not in "iu":
            raise ValueError(f"factors must be (B, 5) integers, got {factors.dtype} {factors.shape}")
        if ((factors < 0) | (factors >= np.array(SHAPES_FACTOR_SIZES))).any():
            raise ValueError(f"factors out of range: each column must lie in [0, size) for sizes {SHAPES_FACTOR_SIZES}")
        factors = factors.astype(np.int64, copy=False)
        table = _sprite_table()
        sprite = np.ravel_multi_index(tuple(factors[:, :3].T), _SPRITE_SHAPE)
        patch_top = CENTRES[factors[:, 4]] - PATCH // 2  # image row of the patch's first row
        patch_row = np.arange(IMAGE_SIZE) - patch_top[:, None]  # (B, 64)
        patch_row[(patch_row < 0) | (patch_row >= PATCH)] = PATCH  # outside the patch: the blank row
        start = table.column_start[factors[:, 3]]
        images = table.windows[sprite[:, None], patch_row, start[:, None]]  # (B, 64, 64) uint8
        return images.astype(np.float32).reshape(len(factors), *self.image_shape)

    def get(self, index: np.ndarray) -> np.ndarray:
        return self.render(self.factors_of(index))

    def first_same_image(self, index: np.ndarray) -> np.ndarray:
        """For each row at ``index``, the lowest row whose image is pixel for pixel the same.

        Only 430,080 of the 737,280 images differ (see :func:`_first_identical_sprite`); an
        encoder sees identical input for rows with the same answer here.
        """
        factors = self.factors_of(index)
        sprite = np.ravel_multi_index(tuple(factors[:, :3].T), _SPRITE_SHAPE)
        factors[:, :3] = np.stack(np.unravel_index(_first_identical_sprite()[sprite], _SPRITE_SHAPE), axis=1)
        return self.index_of(factors)
