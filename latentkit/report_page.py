"""One self-contained HTML page from a report's sections: inline CSS, figures as PNG data URIs.

The page needs nothing but itself: no scripts, fonts, style sheets or images
from anywhere else, and no ``http``/``https`` text at all (a PNG whose base64
form happens to spell it gets a padding text chunk until it does not). Every
string that came from a file or a model (paths, plugin names, notes) is
HTML-escaped. The sections are the same objects ``report.json`` holds, so the
page and the JSON say the same thing.
"""

from __future__ import annotations

import base64
import html
import math
import re
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

_FORBIDDEN = re.compile(rb"http", re.IGNORECASE)
# Figures are sized in inches for a paper column and saved at print resolution. On the page
# one inch of figure takes this many CSS pixels: twice the CSS inch (96 px), so the lettering
# of a column-wide figure reads comfortably on a screen; wider figures shrink to the page.
CSS_PX_PER_FIGURE_INCH = 192


@dataclass
class Table:
    """A table of the page: ``rows`` hold plain values (numbers, text, booleans, None, [low, high])."""

    title: str
    columns: list[str]
    rows: list[list[Any]]


@dataclass
class Figure:
    """A figure of the page: ``name`` keys its PNG; ``look_for`` is the line under it."""

    name: str
    title: str
    look_for: str


@dataclass
class Section:
    """One section: when it does not apply to the checkpoint it stays, with ``reason``."""

    id: str
    title: str
    applies: bool = True
    reason: str | None = None
    summary: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def format_value(value: Any) -> str:
    """A cell's text: 4 significant digits for floats, [low, high] for intervals, — for missing."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    return str(value)


def _is_numeric(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def png_size(png: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk."""
    if png[:8] != b"\x89PNG\r\n\x1a\n" or png[12:16] != b"IHDR":
        raise ValueError("not a PNG image")
    width, height = struct.unpack(">II", png[16:24])
    return int(width), int(height)


def png_dpi(png: bytes) -> float | None:
    """Pixels per inch from a PNG's pHYs chunk (None without one, or when its unit is not the metre)."""
    position = 8
    while position + 8 <= len(png):
        length, kind = struct.unpack(">I4s", png[position : position + 8])
        if kind == b"pHYs" and length == 9:
            per_metre_x, _, unit = struct.unpack(">IIB", png[position + 8 : position + 17])
            return per_metre_x * 0.0254 if unit == 1 and per_metre_x > 0 else None
        if kind in (b"IDAT", b"IEND"):
            return None
        position += 12 + length
    return None


def display_size(png: bytes) -> tuple[int, int]:
    """The (width, height) in CSS pixels a figure is shown at (see :data:`CSS_PX_PER_FIGURE_INCH`)."""
    width, height = png_size(png)
    dpi = png_dpi(png)
    if dpi is None:
        return width, height
    scale = CSS_PX_PER_FIGURE_INCH / dpi
    return max(1, round(width * scale)), max(1, round(height * scale))


def _with_padding_chunk(png: bytes, padding: int) -> bytes:
    """``png`` with a ``tEXt`` chunk of ``padding`` spaces after IHDR (shifts the base64 alignment)."""
    data = b"Comment\0" + b" " * padding
    chunk = struct.pack(">I", len(data)) + b"tEXt" + data + struct.pack(">I", zlib.crc32(b"tEXt" + data))
    ihdr_end = 8 + 4 + 4 + 13 + 4
    return png[:ihdr_end] + chunk + png[ihdr_end:]


def png_data_uri(png: bytes) -> str:
    """``data:image/png;base64,…`` whose text contains no ``http`` in any letter case."""
    png_size(png)  # refuse anything that is not a PNG
    candidate = png
    for padding in range(64):
        encoded = base64.b64encode(candidate)
        if not _FORBIDDEN.search(encoded):
            return "data:image/png;base64," + encoded.decode("ascii")
        candidate = _with_padding_chunk(png, padding)
    raise ValueError("could not encode the figure without the letters h-t-t-p in a row")  # never seen in practice


_CSS = """
:root { --ink: #1d232b; --muted: #5b6573; --line: #d8dde4; --soft: #f4f6f9; --accent: #1f6feb; --warn: #9a5b00; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff; font: 15px/1.5 system-ui, -apple-system, "Segoe UI",
  Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1120px; margin: 0 auto; padding: 24px 28px 64px; }
header h1 { font-size: 26px; margin: 0 0 4px; overflow-wrap: anywhere; }
header p { margin: 0; color: var(--muted); }
nav { margin: 18px 0 8px; padding: 10px 14px; background: var(--soft); border-radius: 6px; }
nav a { color: var(--accent); text-decoration: none; margin-right: 16px; white-space: nowrap; }
nav a.na { color: var(--muted); }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 16px 0; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 8px 14px; min-width: 150px; }
.card b { display: block; font-size: 20px; }
.card span { color: var(--muted); font-size: 13px; }
section { border-top: 1px solid var(--line); padding-top: 8px; margin-top: 28px; }
h2 { font-size: 21px; margin: 8px 0 10px; }
h3 { font-size: 16px; margin: 18px 0 6px; }
.na-box { background: var(--soft); border-left: 4px solid var(--muted); padding: 10px 14px; color: var(--muted); }
.notes { border-left: 4px solid var(--warn); background: #fff8ec; padding: 8px 14px 8px 30px; margin: 12px 0; }
.notes li { margin: 4px 0; }
.table-wrap { overflow-x: auto; margin: 6px 0 14px; }
table { border-collapse: collapse; font-size: 14px; }
th, td { border-bottom: 1px solid var(--line); padding: 5px 12px; text-align: left; vertical-align: top; }
th { background: var(--soft); font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tbody tr:nth-child(even) td { background: #fafbfc; }
figure { margin: 14px 0 22px; }
figure img { display: block; max-width: 100%; height: auto; border: 1px solid var(--line); border-radius: 4px; }
figcaption { color: var(--muted); margin-top: 6px; max-width: 80ch; }
figcaption b { color: var(--ink); }
footer { margin-top: 40px; color: var(--muted); font-size: 13px; overflow-wrap: anywhere; }
code { background: var(--soft); padding: 1px 4px; border-radius: 3px; font-size: 13px; }
"""


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _table(table: Table) -> str:
    head = "".join(f"<th>{_e(column)}</th>" for column in table.columns)
    body = []
    for row in table.rows:
        cells = "".join(
            f'<td class="num">{_e(format_value(v))}</td>' if _is_numeric(v) else f"<td>{_e(format_value(v))}</td>"
            for v in row
        )
        body.append(f"<tr>{cells}</tr>")
    title = f"<h3>{_e(table.title)}</h3>" if table.title else ""
    return f'{title}<div class="table-wrap"><table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'


def _figure(figure: Figure, images: dict[str, bytes]) -> str:
    png = images[figure.name]
    width, height = display_size(png)
    return (
        f'<figure id="fig-{_e(figure.name)}"><img src="{png_data_uri(png)}" alt="{_e(figure.title)}" '
        f'width="{width}" height="{height}"><figcaption><b>{_e(figure.title)}.</b> '
        f"What to look for: {_e(figure.look_for)}</figcaption></figure>"
    )


def _section(section: Section, images: dict[str, bytes]) -> str:
    parts = [f'<section id="{_e(section.id)}"><h2>{_e(section.title)}</h2>']
    if not section.applies:
        parts.append(f'<p class="na-box">Does not apply: {_e(section.reason or "")}</p>')
    parts += [f"<p>{_e(line)}</p>" for line in section.summary]
    if section.notes:
        parts.append('<ul class="notes">' + "".join(f"<li>{_e(n)}</li>" for n in section.notes) + "</ul>")
    parts += [_table(table) for table in section.tables]
    parts += [_figure(figure, images) for figure in section.figures]
    parts.append("</section>")
    return "".join(parts)


def render_page(
    *,
    title: str,
    subtitle: str,
    cards: Sequence[tuple[str, str]],
    sections: Sequence[Section],
    images: dict[str, bytes],
    footer: Sequence[str],
) -> str:
    """The whole page. ``cards`` are (value, label) headline numbers; ``images`` maps figure names to PNG bytes."""
    missing = [f.name for s in sections for f in s.figures if f.name not in images]
    if missing:
        raise ValueError(f"no image for figure(s) {', '.join(missing)}")
    nav = "".join(
        f'<a href="#{_e(s.id)}"{"" if s.applies else " class=na"}>{_e(s.title)}</a>' for s in sections
    )
    card_html = "".join(f'<div class="card"><b>{_e(v)}</b><span>{_e(k)}</span></div>' for v, k in cards)
    body = "".join(_section(s, images) for s in sections)
    foot = "".join(f"<p>{_e(line)}</p>" for line in footer)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head>\n"
        f"<body><main><header><h1>{_e(title)}</h1><p>{_e(subtitle)}</p></header>"
        f'<div class="cards">{card_html}</div><nav>{nav}</nav>\n{body}\n<footer>{foot}</footer></main></body></html>\n'
    )
