"""Grids of decoded images, and the interpolation figure of ``latentkit interpolate``.

A grid is drawn as one mosaic image per panel (one ``imshow``), not one axes per
tile: a 8 × 10 × 2 grid stays a fraction of a second to draw, and tiles line up
exactly. :func:`tile_mosaic` is shared with the traversal figure and its GIF.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from latentkit.defaults import FIGURE_DPI, FIGURE_FORMAT
from latentkit.figures.style import ACCENT_COLOR, TEXT_WIDTH_INCHES, pyplot, save_figure

TILE_INCHES = 0.62  # drawn size of one image
PANEL_GAP_INCHES = 0.45


def display_images(images: np.ndarray) -> np.ndarray:
    """(…, C, H, W) images in [0, 1] -> (…, H, W, 3) RGB for display.

    One channel is shown grey, three as RGB, four as RGB without alpha; other
    channel counts show their first channel in grey. Values are clipped to [0, 1].
    """
    x = np.clip(np.asarray(images, dtype=np.float32), 0.0, 1.0)
    if x.ndim < 3:
        raise ValueError(f"images must have shape (..., C, H, W), got {x.shape}")
    channels = x.shape[-3]
    rgb = x[..., :3, :, :] if channels >= 3 else np.repeat(x[..., :1, :, :], 3, axis=-3)
    return np.moveaxis(rgb, -3, -1)


def tile_mosaic(images: np.ndarray, *, pad: int | None = None, background: float = 1.0) -> tuple[np.ndarray, int]:
    """Tile (R, S, C, H, W) images into one (R·(H+p)+p, S·(W+p)+p, 3) RGB array; returns it and p.

    Tile (r, s) starts at row p + r·(H+p), column p + s·(W+p).
    """
    tiles = display_images(images)
    if tiles.ndim != 5:
        raise ValueError(f"expected (rows, steps, C, H, W) images, got {np.shape(images)}")
    rows, steps, height, width, _ = tiles.shape
    pad = max(1, round(max(height, width) / 12)) if pad is None else pad
    mosaic = np.full((rows * (height + pad) + pad, steps * (width + pad) + pad, 3), background, np.float32)
    for r in range(rows):
        for s in range(steps):
            top, left = pad + r * (height + pad), pad + s * (width + pad)
            mosaic[top : top + height, left : left + width] = tiles[r, s]
    return mosaic, pad


def draw_mosaic(ax: object, images: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Show (R, S, C, H, W) ``images`` on ``ax`` as one mosaic; return the tile centres (x, y) and pad."""
    mosaic, pad = tile_mosaic(images)
    rows, steps, _, height, width = np.shape(images)
    ax.imshow(mosaic, interpolation="nearest")  # type: ignore[attr-defined]
    centres_x = pad + np.arange(steps) * (width + pad) + (width - 1) / 2
    centres_y = pad + np.arange(rows) * (height + pad) + (height - 1) / 2
    for spine in ax.spines.values():  # type: ignore[attr-defined]
        spine.set_visible(False)
    ax.tick_params(length=0)  # type: ignore[attr-defined]
    return centres_x, centres_y, pad


def frame_tile(ax: object, row: int, step: int, shape: tuple[int, int], pad: int, color: str = ACCENT_COLOR) -> None:
    """Outline tile (row, step) of a mosaic drawn by :func:`draw_mosaic` (e.g. an endpoint)."""
    plt = pyplot()
    height, width = shape
    left = pad + step * (width + pad) - 0.5  # pixel i covers i - 0.5 .. i + 0.5
    top = pad + row * (height + pad) - 0.5
    ax.add_patch(  # type: ignore[attr-defined]
        plt.Rectangle((left, top), width, height, fill=False, edgecolor=color, linewidth=2.0)
    )


def plot_interpolation_grid(
    images: np.ndarray,
    t: np.ndarray,
    modes: Sequence[str],
    target: str | Path,
    *,
    row_labels: Sequence[str],
    originals: np.ndarray | None = None,
    mode_notes: Sequence[str] = (),
    title: str = "",
    caveats: Sequence[str] = (),
    fmt: str = FIGURE_FORMAT,
    dpi: int = FIGURE_DPI,
) -> Path:
    """Interpolation grid: one panel per mode side by side, rows = pairs, columns = steps.

    ``images`` is (modes, pairs, steps, C, H, W). Endpoint tiles (t = 0 and
    t = 1, decoded) are framed in the accent colour. ``originals`` (pairs, 2,
    C, H, W), the data images the endpoints encode, are shown as an extra
    column at each end, labelled "data", so a reconstruction is seen beside
    what it reconstructs. Columns are labelled with t and rows with
    ``row_labels``; ``mode_notes`` go under each panel's title.
    """
    plt = pyplot()
    images = np.asarray(images)
    n_modes, pairs, steps, _, height, width = images.shape
    extra = 0
    if originals is not None:
        originals = np.asarray(originals)
        images = np.concatenate(
            [np.broadcast_to(originals[None, :, :1], (n_modes, *originals[:, :1].shape)), images,
             np.broadcast_to(originals[None, :, 1:], (n_modes, *originals[:, 1:].shape))],
            axis=2,
        )  # fmt: skip
        extra = 1
    columns = images.shape[2]
    tile = min(TILE_INCHES, (TEXT_WIDTH_INCHES - 1.0 - (n_modes - 1) * PANEL_GAP_INCHES) / (n_modes * columns))
    fig_width = n_modes * columns * tile + (n_modes - 1) * PANEL_GAP_INCHES + 1.0
    fig_height = pairs * tile * height / width + 1.0
    fig, axes = plt.subplots(
        1, n_modes, figsize=(fig_width, fig_height), squeeze=False, gridspec_kw={"wspace": 0.04}
    )
    labels = (["data"] if extra else []) + [_format_step(v) for v in t] + (["data"] if extra else [])
    for m, ax in enumerate(axes[0]):
        centres_x, centres_y, pad = draw_mosaic(ax, images[m])
        for r in range(pairs):
            for s in (extra, extra + steps - 1):
                frame_tile(ax, r, s, (height, width), pad)
        ax.set_xticks(centres_x, labels, fontsize=6)
        ax.set_yticks(centres_y, list(row_labels) if m == 0 else [""] * pairs, fontsize=7)
        note = f"\n{mode_notes[m]}" if m < len(mode_notes) and mode_notes[m] else ""
        ax.set_title(f"{modes[m]}{note}", fontsize=7, loc="center")
        ax.set_xlabel(
            "t (framed: decoded endpoints" + ("; data: the original images)" if extra else ")"), fontsize=7
        )
    if title:
        # above the panel titles (up to three lines of 7 pt, about 0.35 in)
        fig.suptitle(title, fontsize=8.5, y=1.0 + 0.35 / fig_height)
    description = f"decoded interpolation paths ({', '.join(modes)}), {pairs} rows × {steps} steps"
    return save_figure(fig, target, fmt, caveats=caveats, description=description, dpi=dpi)


def _format_step(value: float) -> str:
    if value in (0.0, 1.0):
        return f"{value:.0f}"
    return f"{value:.2f}".lstrip("0")
