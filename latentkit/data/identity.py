"""What a data specification currently refers to, as a content fingerprint (for caches).

A built-in set (``digits``, ``shapes``) is named; a file is its SHA-256; a
folder of PNG images is the SHA-256 over the names and contents of the PNG
files it holds (the ones :func:`~latentkit.data.files.open_png_folder` reads).
Moving a file keeps its identity; changing one byte changes it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

BUILTIN_DATA = ("digits", "shapes")
_CHUNK = 1 << 20


def _update_with_file(digest: Any, path: Path) -> None:
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)


def data_identity(spec: str) -> dict[str, Any]:
    """``{"builtin": name}``, ``{"file_sha256": ...}`` or ``{"png_folder_sha256": ..., "files": n}``."""
    if spec in BUILTIN_DATA:
        return {"builtin": spec}
    path = Path(spec)
    if path.is_dir():
        digest = hashlib.sha256()
        pngs = sorted(
            (p for p in path.iterdir() if p.suffix.lower() == ".png" and p.is_file()), key=lambda p: p.name
        )
        for png in pngs:
            digest.update(png.name.encode("utf-8", "surrogateescape") + b"\0")
            _update_with_file(digest, png)
            digest.update(b"\0")
        return {"png_folder_sha256": digest.hexdigest(), "files": len(pngs)}
    digest = hashlib.sha256()
    _update_with_file(digest, path)
    return {"file_sha256": digest.hexdigest()}
