"""The self-contained HTML page: escaping, sections that do not apply, figures inline without http."""

from __future__ import annotations

import base64
import io
import re
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from latentkit.report_page import Figure, Section, Table, format_value, png_data_uri, png_size, render_page
from tests.browser import NO_BROWSER, find_browser, render


def _png(width: int = 30, height: int = 20, seed: int = 0) -> bytes:
    from PIL import Image

    pixels = np.random.default_rng(seed).integers(0, 255, (height, width, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def _with_chunk(png: bytes, data: bytes) -> bytes:
    chunk = struct.pack(">I", len(data)) + b"tEXt" + data + struct.pack(">I", zlib.crc32(b"tEXt" + data))
    return png[:33] + chunk + png[33:]


def _pixels(png: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def test_a_png_spelling_http_in_base64_is_padded_until_it_does_not() -> None:
    base = _png()
    spelled = next(
        candidate
        for k in range(3)
        if re.search(rb"http", base64.b64encode(candidate := _with_chunk(base, b"Comment\0" + b" " * k + base64.b64decode("httpHTTPhttpHttp"))), re.I)
    )  # fmt: skip
    uri = png_data_uri(spelled)
    assert uri.startswith("data:image/png;base64,")
    assert "http" not in uri.lower()
    decoded = base64.b64decode(uri.split(",", 1)[1])
    assert np.array_equal(_pixels(decoded), _pixels(base))
    assert png_size(decoded) == (30, 20)


def test_format_value() -> None:
    assert format_value(0.123456) == "0.1235"
    assert format_value(12345.678) == "1.235e+04"
    assert format_value(3) == "3"
    assert format_value(None) == "—"
    assert format_value(True) == "yes"
    assert format_value([0.11111, 0.22222]) == "[0.1111, 0.2222]"


def _page(images: dict[str, bytes]) -> str:
    sections = [
        Section(
            "kl",
            "KL <per> dimension",
            tables=[Table("t", ["dim", "KL"], [[0, 1.5], [1, None]])],
            figures=[Figure("kl", "KL bars", "tall <b>bars</b> carry information")],
            notes=["note with <script>alert(1)</script>"],
        ),
        Section("disentanglement", "Disentanglement", applies=False, reason="digits has no ground-truth factors"),
    ]
    return render_page(
        title="model <x>.safetensors",
        subtitle="a & b",
        cards=[("3/4", "active units")],
        sections=sections,
        images=images,
        footer=["latentkit report model.safetensors"],
    )


def test_page_escapes_strings_and_keeps_sections_that_do_not_apply() -> None:
    page = _page({"kl": _png()})
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "model &lt;x&gt;.safetensors" in page and "a &amp; b" in page
    assert '<section id="disentanglement">' in page
    assert "Does not apply: digits has no ground-truth factors" in page
    assert 'width="30" height="20"' in page
    assert "What to look for: tall &lt;b&gt;bars&lt;/b&gt; carry information" in page
    assert "http" not in page.lower()
    assert [v[:22] for v in re.findall(r'(?:src|href)="([^"#][^"]*)"', page)] == ["data:image/png;base64,"]


def test_a_figure_without_an_image_is_refused() -> None:
    with pytest.raises(ValueError, match="no image for figure"):
        _page({})


def test_page_renders_in_a_browser_with_every_image_loaded(tmp_path: Path) -> None:
    browser = find_browser()
    if browser is None:
        pytest.skip(NO_BROWSER)
    page = tmp_path / "page.html"
    page.write_text(_page({"kl": _png(64, 48)}), encoding="utf-8")
    check = render(page, tmp_path, browser)
    assert check.images == [{"alt": "KL bars", "loaded": True, "width": 64}]
    assert check.errors == [] and check.console == []


def test_a_print_resolution_figure_is_shown_at_twice_its_physical_size() -> None:
    from PIL import Image

    from latentkit.report_page import display_size, png_dpi

    buffer = io.BytesIO()
    Image.new("RGB", (900, 600), "white").save(buffer, format="PNG", dpi=(300, 300))
    png = buffer.getvalue()
    assert png_dpi(png) == pytest.approx(300, abs=0.1)
    assert display_size(png) == (576, 384)  # 3 x 2 inches at 192 CSS px per inch
    assert display_size(_png(30, 20)) == (30, 20)  # no resolution recorded: pixel for pixel
