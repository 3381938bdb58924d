"""The per-dimension KL bar chart of ``kl-report``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from latentkit.figures.style import ACTIVE_COLOR, COLLAPSED_COLOR, pyplot, save_figure


def plot_kl_per_dimension(
    per_dim: np.ndarray, active: np.ndarray, target: Path, *, title: str, fmt: str = "png"
) -> Path:
    """Bars of average KL (nats) per latent dimension, sorted by KL, active vs collapsed coloured."""
    plt = pyplot()
    order = np.argsort(-per_dim, kind="stable")
    d = len(per_dim)
    fig, ax = plt.subplots(figsize=(max(4.0, 0.35 * d + 1.5), 3.2))
    colors = [ACTIVE_COLOR if active[i] else COLLAPSED_COLOR for i in order]
    ax.bar(np.arange(d), per_dim[order], color=colors)
    ax.set_xticks(np.arange(d), [str(i) for i in order], fontsize=8 if d <= 32 else 5)
    ax.set_xlabel("latent dimension (sorted by KL)")
    ax.set_ylabel("KL(q(z_i|x) ‖ N(0,1)) [nats]")
    ax.set_title(title)
    handles = [
        plt.Rectangle((0, 0), 1, 1, color=ACTIVE_COLOR, label=f"active ({int(active.sum())})"),
        plt.Rectangle((0, 0), 1, 1, color=COLLAPSED_COLOR, label=f"collapsed ({int(d - active.sum())})"),
    ]
    ax.legend(handles=handles, frameon=False, loc="upper right")
    return save_figure(fig, target, fmt)
