"""One look for every figure, and deterministic, atomic saving.

matplotlib runs on the Agg backend (no display needed). Saved files carry no
timestamps or software versions, so the same inputs give the same bytes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from latentkit.defaults import FIGURE_DPI, FIGURE_FORMAT
from latentkit.errors import LatentkitError

FORMATS = ("png", "svg", "pdf")
ACTIVE_COLOR = "#1f6feb"
COLLAPSED_COLOR = "#b0b7c3"
ACCENT_COLOR = "#d1495b"


def pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend with latentkit's style applied."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    plt.rcParams.update(
        {
            "figure.dpi": FIGURE_DPI,
            "savefig.dpi": FIGURE_DPI,
            "font.size": 9,
            "axes.titlesize": 10,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.grid": False,
            "svg.hashsalt": "latentkit",
            "image.interpolation": "nearest",
        }
    )
    return plt


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise LatentkitError(f"unknown figure format {fmt!r}", fix=f"use one of {', '.join(FORMATS)}")
    return fmt


def save_figure(fig: Any, target: str | Path, fmt: str = FIGURE_FORMAT) -> Path:
    """Save ``fig`` atomically to ``target`` with no timestamp metadata, then close it."""
    from latentkit.outputs import atomic_path

    check_format(fmt)
    metadata = {"png": {"Software": None}, "svg": {"Date": None}, "pdf": {"CreationDate": None, "Producer": None}}
    try:
        with atomic_path(target) as tmp:
            fig.savefig(tmp, format=fmt, metadata=metadata[fmt], bbox_inches="tight")
    finally:
        pyplot().close(fig)
    return Path(target)
