"""The figure of ``kl-report``: KL per dimension, and the activity each is judged on.

Top panel: average KL (nats) per dimension, sorted by KL, on a linear axis that
never spans less than ``KL_AXIS_MIN_NATS`` (a collapsed model's 1e-5 nats stay
flat). Bottom panel: Var(μ), the quantity activity is judged on, on a log axis
with the active-units threshold drawn as a line, so an active dimension with a
small KL is seen to be active.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from latentkit.defaults import FIGURE_DPI, KL_AXIS_MIN_NATS
from latentkit.figures.style import (
    ACTIVE_COLOR,
    COLLAPSED_COLOR,
    COLUMN_INCHES,
    TEXT_WIDTH_INCHES,
    THRESHOLD_COLOR,
    pyplot,
    save_figure,
)

THRESHOLD_LABEL = "active threshold"
UNDECIDED_HATCH = "////"


def plot_kl_per_dimension(
    per_dim: np.ndarray,
    active: np.ndarray,
    target: Path,
    *,
    mean_variance: np.ndarray,
    threshold: float,
    undecided: np.ndarray | None = None,
    title: str,
    unit: str = "dimension",
    caveats: Sequence[str] = (),
    fmt: str = "png",
    dpi: int = FIGURE_DPI,
) -> Path:
    """Two panels sharing the dimension axis: KL bars, and Var(μ) bars with the threshold line.

    Bars are coloured active / collapsed; ``undecided`` dimensions (Var(μ) too
    close to the threshold for the sample size) are hatched. Legend entries with
    no dimension are left out.
    """
    plt = pyplot()
    per_dim = np.asarray(per_dim, dtype=np.float64)
    active = np.asarray(active, dtype=bool)
    undecided = np.zeros_like(active) if undecided is None else np.asarray(undecided, dtype=bool)
    order = np.argsort(-per_dim, kind="stable")
    d = len(per_dim)
    width = min(TEXT_WIDTH_INCHES, max(COLUMN_INCHES, 0.22 * d + 1.2))
    fig, (ax_kl, ax_var) = plt.subplots(
        2, 1, figsize=(width, 3.6), sharex=True, gridspec_kw={"height_ratios": [3, 2], "hspace": 0.12}
    )
    x = np.arange(d)
    colors = [ACTIVE_COLOR if active[i] else COLLAPSED_COLOR for i in order]
    hatches = [UNDECIDED_HATCH if undecided[i] else "" for i in order]
    variance = np.asarray(mean_variance, dtype=np.float64)[order]
    floor = max(threshold / 1e4, 1e-12)
    top = max(float(np.nanmax(variance, initial=0.0)), threshold) * 3.0
    bottom = max(floor, min(float(np.nanmin(np.where(variance > 0, variance, top), initial=top)), threshold) / 3.0)
    # a zero variance cannot sit on a log axis: its bar is drawn down to the axis floor
    for ax, values in ((ax_kl, per_dim[order]), (ax_var, np.maximum(variance, bottom))):
        bars = ax.bar(x, values, color=colors, edgecolor="white", linewidth=0.3)
        for bar, hatch in zip(bars, hatches):
            bar.set_hatch(hatch)
    ax_kl.set_ylim(0.0, max(KL_AXIS_MIN_NATS, 1.1 * float(np.nanmax(per_dim, initial=0.0))))
    ax_kl.set_ylabel("KL(q(z_i|x) ‖ N(0,1))\n[nats]" + (", summed\nover positions" if unit == "channel" else ""))
    ax_kl.set_title(title)

    ax_var.set_yscale("log")
    ax_var.set_ylim(bottom, top)
    ax_var.axhline(threshold, color=THRESHOLD_COLOR, linestyle="--", linewidth=0.9, label=THRESHOLD_LABEL)
    ax_var.set_ylabel("Var_x(μ_i)\n(log)")
    ax_var.set_xticks(x, [str(i) for i in order], fontsize=7 if d <= 32 else 4)
    ax_var.set_xlabel(f"latent {unit} (sorted by KL)")

    n_active = int(active.sum())
    n_undecided = int(undecided.sum())
    handles = []
    if n_active:
        handles.append(plt.Rectangle((0, 0), 1, 1, color=ACTIVE_COLOR, label=f"active ({n_active})"))
    if d - n_active:
        handles.append(plt.Rectangle((0, 0), 1, 1, color=COLLAPSED_COLOR, label=f"collapsed ({d - n_active})"))
    if n_undecided:
        handles.append(
            plt.Rectangle((0, 0), 1, 1, facecolor="white", edgecolor="grey", hatch=UNDECIDED_HATCH,
                          label=f"undecided at this n ({n_undecided})")
        )  # fmt: skip
    handles.append(
        plt.Line2D([], [], color=THRESHOLD_COLOR, linestyle="--", label=f"{THRESHOLD_LABEL} Var(μ) = {threshold:g}")
    )
    ax_kl.legend(handles=handles, frameon=False, loc="upper right", fontsize=6.5)
    description = (
        f"KL per latent {unit} (nats) and Var(μ) with the active threshold {threshold:g}; "
        f"{n_active}/{d} active"
    )
    return save_figure(fig, target, fmt, caveats=caveats, description=description, dpi=dpi)
