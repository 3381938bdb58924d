"""Writing outputs so that nothing half-written is ever left behind.

Every file latentkit produces is written to a temporary name in the target
folder and renamed into place (an atomic ``os.replace`` on POSIX), so an
interrupted run leaves either the old file or the new one, never a stump.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from latentkit.errors import LatentkitError


def prepare_out_dir(path: str | os.PathLike[str]) -> Path:
    """Create ``path`` (and parents) and check it is a writable folder."""
    out = Path(path)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LatentkitError(
            f"cannot create output folder {out}: {exc.strerror or exc}",
            fix="pass --out with a folder you can write to",
        ) from exc
    if not out.is_dir():
        raise LatentkitError(f"output path {out} is not a folder", fix="pass --out with a folder path")
    if not os.access(out, os.W_OK | os.X_OK):
        raise LatentkitError(f"output folder {out} is not writable", fix="pass --out with a folder you can write to")
    return out


@contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success rename it onto ``target``.

    On any exception the temporary file is removed and ``target`` is untouched.
    """
    target = Path(target)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_text(target: str | os.PathLike[str], text: str) -> Path:
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(target)


def _json_ready(value: Any) -> Any:
    """Turn numpy scalars/arrays and non-finite floats into plain JSON values."""
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return _json_ready(value.tolist())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Path):
        return str(value)
    return value


def to_json(document: dict[str, Any]) -> str:
    """Serialise deterministically: same input, same bytes (no timestamps, sorted keys)."""
    return json.dumps(_json_ready(document), indent=2, sort_keys=True, allow_nan=False) + "\n"


def atomic_write_json(target: str | os.PathLike[str], document: dict[str, Any]) -> Path:
    return atomic_write_text(target, to_json(document))


def atomic_write_npz(target: str | os.PathLike[str], arrays: dict[str, Any]) -> Path:
    """Write ``arrays`` as an uncompressed ``.npz`` that ``np.load`` reads (no pickles).

    Unlike ``np.savez`` (which stamps each member with the current time), every
    member carries a fixed date, so the same arrays give the same bytes.
    """
    import zipfile

    import numpy as np

    with atomic_path(target) as tmp, zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, value in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            with archive.open(info, "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asarray(value), allow_pickle=False)
    return Path(target)
