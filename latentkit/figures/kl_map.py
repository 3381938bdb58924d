"""The per-position KL map of a spatial latent: where in the latent grid each channel spends its nats."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from latentkit.defaults import FIGURE_DPI, FIGURE_MAX_CHANNELS
from latentkit.figures.style import pyplot, save_figure


def plot_kl_per_position(
    maps: np.ndarray,
    per_channel: np.ndarray,
    active: np.ndarray,
    target: Path,
    *,
    title: str,
    max_channels: int = FIGURE_MAX_CHANNELS,
    fmt: str = "png",
    dpi: int = FIGURE_DPI,
) -> Path:
    """One panel per channel (the first ``max_channels``): average KL at each position,
    ``maps`` (C, rows, cols), on one colour scale shared by all panels so channels compare."""
    plt = pyplot()
    maps = np.asarray(maps, dtype=np.float64)
    channels = len(maps)
    shown = min(channels, max_channels)
    cols = min(shown, 4)
    rows = math.ceil(shown / cols)
    aspect = min(maps.shape[2] / maps.shape[1], 4.0)
    panel = 2.0
    fig, axes = plt.subplots(
        rows, cols, figsize=(panel * aspect * cols + 1.2, panel * rows + 0.8), squeeze=False, layout="constrained"
    )
    vmax = float(maps[:shown].max()) if maps[:shown].max() > 0 else 1.0
    image = None
    for c, ax in enumerate(axes.flat):
        if c >= shown:
            ax.set_visible(False)
            continue
        image = ax.imshow(maps[c], cmap="magma", vmin=0.0, vmax=vmax, aspect="equal" if aspect < 4 else "auto")
        state = "active" if active[c] else "collapsed"
        ax.set_title(f"channel {c}: {per_channel[c]:.3g} nats ({state})", fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.spines[:].set_visible(False)
    if image is not None:
        fig.colorbar(image, ax=axes.ravel().tolist(), label="KL per position [nats]", fraction=0.03)
    suffix = f" (first {shown} of {channels} channels)" if shown < channels else ""
    fig.suptitle(title + suffix, fontsize=9)
    description = f"Average KL per position of each of {channels} latent channels (nats), one shared colour scale"
    return save_figure(fig, target, fmt, description=description, dpi=dpi)
