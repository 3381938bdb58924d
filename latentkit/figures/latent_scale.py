"""Per-channel histograms of sampled latents, the picture behind ``kl-report``'s latent scale."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from latentkit.defaults import FIGURE_DPI, FIGURE_MAX_CHANNELS
from latentkit.figures.style import ACCENT_COLOR, ACTIVE_COLOR, pyplot, save_figure


def plot_latent_histograms(
    scale: Any,
    target: Path,
    *,
    title: str,
    config_scaling_factor: float | None = None,
    max_channels: int = FIGURE_MAX_CHANNELS,
    fmt: str = "png",
    dpi: int = FIGURE_DPI,
) -> Path:
    """One panel per channel (the first ``max_channels``): a density histogram of the
    seeded subsample of sampled latents, with the normal of the channel's exact
    mean and std (``latents_mean``/``latents_std``) drawn over it for comparison.
    """
    plt = pyplot()
    edges, counts = scale.histograms["edges"], scale.histograms["counts"]
    channels = len(counts)
    shown = min(channels, max_channels)
    cols = min(shown, 4)
    rows = math.ceil(shown / cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(2.4 * cols + 0.4, 1.9 * rows + 1.0), squeeze=False, layout="constrained"
    )
    for c, ax in enumerate(axes.flat):
        if c >= shown:
            ax.set_visible(False)
            continue
        width = np.diff(edges[c])
        total = counts[c].sum()
        density = counts[c] / (total * width) if total else counts[c]
        ax.bar(edges[c][:-1], density, width=width, align="edge", color=ACTIVE_COLOR, alpha=0.75, linewidth=0)
        mean, std = float(scale.latents_mean[c]), float(scale.latents_std[c])
        if std > 0:
            grid = np.linspace(edges[c][0], edges[c][-1], 200)
            ax.plot(grid, np.exp(-0.5 * ((grid - mean) / std) ** 2) / (std * math.sqrt(2 * math.pi)),
                    color=ACCENT_COLOR, linewidth=1)  # fmt: skip
        ax.set_title(f"channel {c}: mean {mean:.3g}, std {std:.3g}", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.set_yticks([])
    summary = f"implied scaling_factor {scale.scaling_factor:.4g} (1/std of all sampled values)"
    if config_scaling_factor is not None:
        summary += f" · model's {float(config_scaling_factor):.4g}"
    if shown < channels:
        summary += f" · first {shown} of {channels} channels"
    fig.suptitle(
        f"{title}\n{summary}\nbars: {scale.histograms['subsample_per_channel']} seeded samples per channel; "
        "line: normal with the channel's exact mean and std",
        fontsize=9,
    )
    description = (
        f"Histograms of seeded posterior samples per channel; implied scaling_factor {scale.scaling_factor:.4g}"
    )
    return save_figure(fig, target, fmt, description=description, dpi=dpi)
