"""The latent traversal figure of ``latentkit traverse`` and its animated GIF.

Figure: one row per latent dimension (labelled with its index and KL),
columns = the values the dimension takes, every other dimension held at the
base code. GIF: every dimension moving at once, back and forth, one tile per
dimension (Pillow only; no matplotlib needed).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from latentkit.defaults import FIGURE_DPI, FIGURE_FORMAT, TRAVERSE_GIF_FRAME_MS
from latentkit.figures.grid import display_images, draw_mosaic, frame_tile
from latentkit.figures.style import ACTIVE_COLOR, COLLAPSED_COLOR, TEXT_WIDTH_INCHES, pyplot, save_figure

TILE_INCHES = 0.62
GIF_TILE_PIXELS = 96  # tiles are scaled up (nearest neighbour) to at least this size
GIF_LABEL_PIXELS = 14


def plot_traversal(
    images: np.ndarray,
    target: str | Path,
    *,
    row_labels: Sequence[str],
    column_labels: Sequence[str],
    row_active: Sequence[bool],
    base_steps: Sequence[int | None] = (),
    title: str = "",
    xlabel: str = "",
    caveats: Sequence[str] = (),
    fmt: str = FIGURE_FORMAT,
    dpi: int = FIGURE_DPI,
) -> Path:
    """Rows of (rows, steps, C, H, W) ``images``, one per dimension.

    Collapsed rows (``row_active`` False) are labelled in grey. ``base_steps[r]``,
    when given, frames the column closest to the base code's own value in row r
    (None: the base value lies outside the row's range; the row label says so).
    """
    plt = pyplot()
    images = np.asarray(images)
    rows, steps, _, height, width = images.shape
    label_inches = 1.9
    tile = min(TILE_INCHES, (TEXT_WIDTH_INCHES - label_inches) / steps)
    fig, ax = plt.subplots(figsize=(steps * tile + label_inches, rows * tile * height / width + 0.9))
    centres_x, centres_y, pad = draw_mosaic(ax, images)
    ax.set_xticks(centres_x, list(column_labels), fontsize=6)
    ax.set_yticks(centres_y, list(row_labels), fontsize=6)
    for label, active in zip(ax.get_yticklabels(), row_active):
        label.set_color("black" if active else COLLAPSED_COLOR)
    for r, step in enumerate(base_steps):
        if step is not None:
            frame_tile(ax, r, int(step), (height, width), pad, color=ACTIVE_COLOR)
    if xlabel:
        ax.set_xlabel(xlabel, fontsize=7)
    if title:
        ax.set_title(title, fontsize=8)
    description = f"latent traversal: {rows} dimensions × {steps} values, other dimensions at the base code"
    return save_figure(fig, target, fmt, caveats=caveats, description=description, dpi=dpi)


def write_traversal_gif(
    images: np.ndarray,
    target: str | Path,
    *,
    labels: Sequence[str],
    title: str = "",
    frame_labels: Sequence[str] = (),
    frame_ms: int = TRAVERSE_GIF_FRAME_MS,
) -> Path:
    """Animated GIF of (rows, steps, C, H, W) traversal ``images``: all rows move together.

    Frame k shows step k of every row side by side (wrapped into a near-square
    grid of tiles, each labelled), under ``title`` and ``frame_labels[k]`` (the
    value every dimension takes in that frame); the steps run forward then
    back, looping.
    """
    from PIL import Image, ImageDraw

    from latentkit.outputs import atomic_path

    tiles = (display_images(images) * 255.0 + 0.5).astype(np.uint8)  # (rows, steps, H, W, 3)
    rows, steps, height, width, _ = tiles.shape
    scale = max(1, int(np.ceil(GIF_TILE_PIXELS / max(height, width))))
    tiles = tiles.repeat(scale, axis=2).repeat(scale, axis=3)
    tile_h, tile_w = height * scale, width * scale
    columns = int(np.ceil(np.sqrt(rows)))
    grid_rows = int(np.ceil(rows / columns))
    pad = 4
    header = 2 * GIF_LABEL_PIXELS if (title or frame_labels) else 0
    cell_h, cell_w = tile_h + GIF_LABEL_PIXELS + pad, tile_w + pad
    order = list(range(steps)) + list(range(steps - 2, 0, -1))  # forward, then back (ends not repeated)
    frames = []
    for step in order:
        canvas = Image.new("RGB", (columns * cell_w + pad, grid_rows * cell_h + pad + header), "white")
        draw = ImageDraw.Draw(canvas)
        if title:
            draw.text((pad, 2), title, fill=(0, 0, 0))
        if frame_labels:
            draw.text((pad, 2 + GIF_LABEL_PIXELS), frame_labels[step], fill=(40, 40, 40))
        for r in range(rows):
            left = pad + (r % columns) * cell_w
            top = header + pad + (r // columns) * cell_h
            draw.text((left, top), labels[r], fill=(40, 40, 40))
            canvas.paste(Image.fromarray(tiles[r, step]), (left, top + GIF_LABEL_PIXELS))
        frames.append(canvas.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE))
    with atomic_path(target) as tmp:
        frames[0].save(tmp, format="GIF", save_all=True, append_images=frames[1:], duration=frame_ms, loop=0)
    return Path(target)
