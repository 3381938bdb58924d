"""The 2-D embedding scatter of ``latentkit umap``: points coloured by label, factor or source.

Few categories (≤ 20) get a qualitative palette and a legend; many ordered
values (e.g. a position factor with 32 values) get a sequential colour map and a
colour bar; no colouring draws every point in one colour.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from latentkit.defaults import FIGURE_DPI, FIGURE_FORMAT
from latentkit.figures.style import ACCENT_COLOR, ACTIVE_COLOR, COLUMN_INCHES, pyplot, save_figure

MAX_LEGEND_CATEGORIES = 20
SOURCE_COLORS = (ACTIVE_COLOR, ACCENT_COLOR)  # data, generated


def point_size(n: int) -> float:
    """Marker area that keeps a few hundred and tens of thousands of points readable."""
    return float(np.clip(6000.0 / max(n, 1), 0.8, 18.0))


def plot_embedding(
    embedding: np.ndarray,
    target: str | Path,
    *,
    values: np.ndarray | None = None,
    value_name: str = "",
    category_names: Sequence[str] | None = None,
    palette: Sequence[str] | None = None,
    title: str = "",
    axis_label: str = "",
    caveats: Sequence[str] = (),
    fmt: str = FIGURE_FORMAT,
    dpi: int = FIGURE_DPI,
) -> Path:
    """Scatter (n, 2) ``embedding`` coloured by ``values`` (n,) ints, if any.

    ``category_names[v]`` names value v in the legend (default ``f"{value_name}={v}"``);
    ``palette`` fixes the colour of each category (e.g. data vs generated).
    Points are drawn in one fixed shuffled order, so no category is
    systematically hidden under another.
    """
    plt = pyplot()
    embedding = np.asarray(embedding, dtype=np.float64)
    n = len(embedding)
    fig, ax = plt.subplots(figsize=(COLUMN_INCHES, COLUMN_INCHES * 0.85))
    size = point_size(n) * 0.5  # the column-wide figure is about half the area of a screen figure
    if values is None:
        ax.scatter(embedding[:, 0], embedding[:, 1], s=size, color=ACTIVE_COLOR, alpha=0.7, linewidths=0)
    else:
        values = np.asarray(values)
        categories = np.unique(values)
        if len(categories) <= MAX_LEGEND_CATEGORIES:
            colors = list(palette) if palette else _qualitative(len(categories))
            position = np.searchsorted(categories, values)
            point_colors = np.array(colors, dtype=object)[position % len(colors)]
            # one scatter in a fixed shuffled order, so no category is drawn over all the others
            order = np.random.default_rng(0).permutation(n)
            ax.scatter(
                embedding[order, 0], embedding[order, 1], s=size, c=list(point_colors[order]), alpha=0.75, linewidths=0
            )
            handles = [
                plt.Line2D(
                    [], [], marker="o", linestyle="", markersize=4, color=colors[i % len(colors)],
                    label=f"{_category_name(value, value_name, category_names)} ({int((values == value).sum())})",
                )  # fmt: skip
                for i, value in enumerate(categories)
            ]
            ax.legend(
                handles=handles, title=value_name or None, frameon=False, loc="center left",
                bbox_to_anchor=(1.0, 0.5), fontsize=6.5, title_fontsize=6.5,
            )  # fmt: skip
        else:
            mappable = ax.scatter(
                embedding[:, 0], embedding[:, 1], c=values, cmap="viridis", s=size, alpha=0.8, linewidths=0
            )
            bar = fig.colorbar(mappable, ax=ax, fraction=0.05, pad=0.02)
            bar.set_label(value_name, fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_aspect("equal", adjustable="datalim")
    if axis_label:
        ax.set_xlabel(f"{axis_label} 1", fontsize=8)
        ax.set_ylabel(f"{axis_label} 2", fontsize=8)
    if title:
        ax.set_title(title, fontsize=7.5)
    description = f"2-D projection ({axis_label or 'embedding'}) of {n} points" + (
        f", coloured by {value_name}" if values is not None and value_name else ""
    )
    return save_figure(fig, target, fmt, caveats=caveats, description=description, dpi=dpi)


def _category_name(value: object, value_name: str, names: Sequence[str] | None) -> str:
    index = int(value)  # type: ignore[call-overload]
    if names is not None and 0 <= index < len(names):
        return str(names[index])
    return f"{value_name}={value}" if value_name else str(value)


def _qualitative(count: int) -> list[str]:
    plt = pyplot()
    cmap = plt.get_cmap("tab10" if count <= 10 else "tab20")
    return [_hex(cmap(i)) for i in range(count)]


def _hex(rgba: tuple[float, ...]) -> str:
    return "#" + "".join(f"{round(255 * c):02x}" for c in rgba[:3])
