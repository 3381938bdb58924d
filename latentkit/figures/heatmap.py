"""Factor × code matrices as labelled heat maps (mutual information, DCI importance)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from latentkit.defaults import FIGURE_DPI
from latentkit.figures.style import COLUMN_INCHES, TEXT_WIDTH_INCHES, pyplot, save_figure


def plot_factor_code_matrix(
    matrix: np.ndarray,
    factor_names: Sequence[str],
    target: Path,
    *,
    title: str,
    value_label: str,
    caveats: Sequence[str] = (),
    fmt: str = "png",
    dpi: int = FIGURE_DPI,
) -> Path:
    """Draw a (codes D, factors K) matrix with factors as rows and code indices as columns.

    Each cell is annotated with its value when the grid is small enough to read.
    """
    plt = pyplot()
    grid = np.asarray(matrix, dtype=np.float64).T  # (K, D): one row per factor
    k, d = grid.shape
    width = min(TEXT_WIDTH_INCHES, max(COLUMN_INCHES, 0.4 * d + 1.8))
    fig, ax = plt.subplots(figsize=(width, max(1.8, 0.32 * k + 1.0)))
    finite = grid[np.isfinite(grid)]
    vmax = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
    image = ax.imshow(grid, cmap="viridis", vmin=0.0, vmax=vmax, aspect="auto")
    ax.set_xticks(np.arange(d), [str(i) for i in range(d)])
    ax.set_yticks(np.arange(k), list(factor_names))
    ax.set_xlabel("code dimension")
    ax.set_title(title)
    ax.spines[:].set_visible(False)
    if d * k <= 400:
        for (row, col), value in np.ndenumerate(grid):
            shade = "white" if value < 0.6 * vmax else "black"
            ax.text(col, row, f"{value:.2f}", ha="center", va="center", fontsize=5.5 if d > 8 else 6.5, color=shade)
    fig.colorbar(image, ax=ax, label=value_label, fraction=0.04, pad=0.02)
    description = f"{title}: {k} factors × {d} code dimensions"
    return save_figure(fig, target, fmt, caveats=caveats, description=description, dpi=dpi)
