"""One look for every figure, its caveats, and deterministic, atomic saving.

matplotlib runs on the Agg backend (no display needed). Saved files carry no
timestamps or software versions, so the same inputs give the same bytes.

A figure that could mislead carries its *caveats* (a collapsed model, a low
trustworthiness, a tiny sample, identical decoded cells) twice: drawn on the
figure under the plot, and in the file's metadata, so a reader of the file
alone, a report and a test all see them. :func:`figure_text` reads them back.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from latentkit.defaults import FIGURE_DPI, FIGURE_FORMAT
from latentkit.errors import LatentkitError

FORMATS = ("png", "svg", "pdf")
ACTIVE_COLOR = "#1f6feb"
COLLAPSED_COLOR = "#b0b7c3"
ACCENT_COLOR = "#d1495b"
CAVEAT_COLOR = "#b35900"  # dark orange: readable in print, distinct from the data colours
THRESHOLD_COLOR = "#333333"
# Widths of a two-column paper (inches): one column, and the full text width.
COLUMN_INCHES = 3.5
TEXT_WIDTH_INCHES = 7.2
CAVEAT_FONT_SIZE = 7.0
CAVEAT_PREFIX = "Caveat: "
# Metadata key the caveats and the description are stored under, per format (SVG and PDF
# accept only their standard keys: Dublin Core "Description" and the PDF "Subject").
DESCRIPTION_KEY = {"png": "Description", "svg": "Description", "pdf": "Subject"}


def pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend with latentkit's style applied."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    plt.rcParams.update(
        {
            "figure.dpi": FIGURE_DPI,
            "savefig.dpi": FIGURE_DPI,
            "font.size": 8,
            "axes.titlesize": 8.5,
            "axes.labelsize": 8,
            "xtick.labelsize": 7,
            "ytick.labelsize": 7,
            "legend.fontsize": 7,
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


def check_dpi(dpi: int) -> int:
    if not 20 <= dpi <= 1200:
        raise LatentkitError(f"--dpi {dpi} is outside 20..1200", fix=f"pass e.g. --dpi {FIGURE_DPI} (print) or --dpi 100 (screen)")
    return int(dpi)


def draw_caveats(fig: Any, caveats: Sequence[str]) -> None:
    """Write ``caveats`` under everything else on ``fig``, wrapped to its width, in the caveat colour."""
    if not caveats:
        return
    # Where the drawn content ends (axes, labels, legends), in inches: the text goes just under it,
    # and saving with bbox_inches="tight" grows the canvas to hold it.
    content = fig.get_tightbbox(fig.canvas.get_renderer())
    width_inches = max(content.width, fig.get_figwidth())
    chars = max(40, int(width_inches * 72 / (CAVEAT_FONT_SIZE * 0.52)))
    lines = []
    for caveat in caveats:
        lines += textwrap.wrap(CAVEAT_PREFIX + caveat, width=chars, subsequent_indent="  ")
    height = fig.get_figheight()
    fig.text(
        content.x0 / fig.get_figwidth(),
        (content.y0 - 0.06) / height,
        "\n".join(lines),
        ha="left",
        va="top",
        fontsize=CAVEAT_FONT_SIZE,
        color=CAVEAT_COLOR,
    )


def describe(description: str, caveats: Sequence[str]) -> str:
    """The metadata text of a figure: what it shows, then one ``Caveat:`` line per caveat."""
    return "\n".join([description, *(CAVEAT_PREFIX + c for c in caveats)]).strip()


def save_figure(
    fig: Any,
    target: str | Path,
    fmt: str = FIGURE_FORMAT,
    *,
    caveats: Sequence[str] = (),
    description: str = "",
    dpi: int = FIGURE_DPI,
) -> Path:
    """Draw ``caveats`` on ``fig``, save it atomically to ``target``, then close it.

    The file carries ``description`` and the caveats in its metadata (PNG text
    chunk ``Description``, SVG ``dc:description``, PDF ``Subject``) and no timestamp.
    """
    from latentkit.outputs import atomic_path

    check_format(fmt)
    check_dpi(dpi)
    # Lay out at the resolution of the file: a renderer made at the style's 300 dpi (to measure text)
    # would cost a full-size pixel buffer even for a --dpi 20 figure (found by the fuzzer: 227 MB
    # for a 256-pair interpolation grid at --dpi 20, 35 MB after).
    fig.set_dpi(dpi)
    draw_caveats(fig, caveats)
    text = describe(description, caveats) or None
    metadata = {
        "png": {"Software": None},
        "svg": {"Date": None},
        "pdf": {"CreationDate": None, "Producer": None},
    }[fmt]
    if text:
        metadata[DESCRIPTION_KEY[fmt]] = text
    try:
        with atomic_path(target) as tmp:
            fig.savefig(tmp, format=fmt, metadata=metadata, bbox_inches="tight", dpi=dpi)
    finally:
        pyplot().close(fig)
    return Path(target)


def figure_text(path: str | Path) -> str:
    """The description and caveats stored in a PNG or SVG figure written by :func:`save_figure` ('' if none)."""
    path = Path(path)
    if path.suffix == ".png":
        from PIL import Image

        with Image.open(path) as image:
            return str(image.text.get("Description", ""))  # type: ignore[attr-defined]
    if path.suffix == ".svg":
        import xml.etree.ElementTree as ET

        found = ET.parse(path).getroot().find(".//{http://purl.org/dc/elements/1.1/}description")
        return (found.text or "") if found is not None else ""
    raise ValueError(f"cannot read the text of {path.name}: only .png and .svg are supported")


def caveats_of(path: str | Path) -> list[str]:
    """The caveats stored in a figure (the ``Caveat:`` lines of :func:`figure_text`)."""
    return [line[len(CAVEAT_PREFIX) :] for line in figure_text(path).splitlines() if line.startswith(CAVEAT_PREFIX)]
