"""Images from the user's files: a ``.npy``, a ``.npz``, or a folder of PNG images.

Arrays are never read whole when they need not be: a ``.npy`` and an
uncompressed ``.npz`` member are memory-mapped, and a compressed ``.npz`` is
read one key at a time. Everything wrong with a file is a one-line
:class:`~latentkit.errors.LatentkitError` saying what and how to fix it.
"""

from __future__ import annotations

import struct
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np

from latentkit.data.source import ArraySource, IndexedSource
from latentkit.defaults import MAX_IMAGE_PIXELS
from latentkit.errors import LatentkitError

ARRAY_SUFFIXES = (".npy", ".npz")
ARRAY_SIGNATURES = (b"\x93NUMPY", b"PK\x03\x04", b"PK\x05\x06")  # .npy; .npz (a zip), empty zip
SAVE_HINT = "save it with np.save(path, x) or np.savez(path, x=x, y=labels, factors=factors)"
# Pillow modes read as one grey channel; every other mode is read as RGB.
GREY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "F"})


def _first_line(exc: BaseException) -> str:
    """An exception's message cut to its first sentence, to fit a one-line error."""
    return str(exc).splitlines()[0].split(". ")[0] if str(exc) else type(exc).__name__


# --- arrays ---------------------------------------------------------------------


def _images(spec: str, x: np.ndarray) -> tuple[np.ndarray, float | None]:
    """``x`` as (N, C, H, W) (a view, no copy) and the value that means white (None for floats)."""
    if x.size == 0:
        raise LatentkitError(f"{spec}: x is empty (shape {x.shape})", fix="save at least one image")
    if x.ndim == 3:
        x = x[:, None]
    elif x.ndim != 4:
        raise LatentkitError(
            f"{spec}: x has shape {x.shape}; expected (N, C, H, W) or (N, H, W)",
            fix="reshape the images to (N, C, H, W), or (N, H, W) for grayscale",
        )
    elif x.shape[1] not in (1, 3):
        raise LatentkitError(
            f"{spec}: x has shape {x.shape}, which is not (N, C, H, W) with 1 or 3 channels"
            + (" (it looks channels-last)" if x.shape[3] in (1, 3, 4) else ""),
            fix="store channels first: x = np.transpose(x, (0, 3, 1, 2)) for (N, H, W, C) data",
        )
    if x.dtype == np.uint8:
        return x, 255.0
    if x.dtype.kind == "f":
        return x, None
    raise LatentkitError(
        f"{spec}: x has dtype {x.dtype}; expected uint8 (0..255) or float (0..1)",
        fix="convert it: x.astype(np.uint8) for 0..255 values, or x / x.max() as float32",
    )


def _labels(spec: str, y: np.ndarray, n: int) -> np.ndarray:
    """``y`` checked to be N integer labels, as int64."""
    if y.ndim != 1 or len(y) != n:
        raise LatentkitError(
            f"{spec}: y has shape {y.shape} but x has {n} images; expected ({n},)",
            fix="save one integer label per image as y, flattened with y.ravel() if it is (N, 1)",
        )
    if y.dtype.kind not in "iu":
        raise LatentkitError(
            f"{spec}: y has dtype {y.dtype}; labels must be integers", fix="save y.astype(np.int64)"
        )
    return y.astype(np.int64)


def _factors(spec: str, factors: np.ndarray, names: np.ndarray | None, n: int) -> tuple[np.ndarray, tuple[str, ...]]:
    """``factors`` checked to be (N, K) non-negative class indices, as int64, and their K names."""
    if factors.ndim != 2 or len(factors) != n:
        raise LatentkitError(
            f"{spec}: factors has shape {factors.shape} but x has {n} images; expected ({n}, K)",
            fix="save one row of K factor values per image; reshape a single factor to (N, 1)",
        )
    if factors.dtype.kind not in "iu":
        raise LatentkitError(
            f"{spec}: factors has dtype {factors.dtype}; factors must be integer class indices",
            fix="bin continuous factors and save them as integers, e.g. np.digitize(f, bins) - 1",
        )
    if (factors < 0).any():
        raise LatentkitError(f"{spec}: factors has negative values", fix="number each factor's classes from 0")
    k = factors.shape[1]
    if names is None:
        return factors.astype(np.int64), tuple(f"factor_{i}" for i in range(k))
    if names.dtype.kind not in "US" or names.shape != (k,):
        raise LatentkitError(
            f"{spec}: factor_names has dtype {names.dtype} and shape {names.shape}; expected {k} strings",
            fix=f"save factor_names=np.array([...{k} names...], dtype=str)",
        )
    return factors.astype(np.int64), tuple(str(name) for name in names)


def _array_source(
    spec: str,
    x: np.ndarray,
    y: np.ndarray | None = None,
    factors: np.ndarray | None = None,
    factor_names: np.ndarray | None = None,
) -> ArraySource:
    """Check the arrays read from a file and wrap them in a source."""
    images, full_scale = _images(spec, x)
    n = len(images)
    labels = None if y is None else _labels(spec, y, n)
    names: tuple[str, ...] | None = None
    sizes: tuple[int, ...] | None = None
    if factors is not None:
        factors, names = _factors(spec, factors, factor_names, n)
        sizes = tuple(int(size) for size in factors.max(axis=0) + 1)
    return ArraySource(
        spec, images, full_scale=full_scale, labels=labels, factors=factors, factor_names=names, factor_sizes=sizes
    )


def _check_crc(npz: np.lib.npyio.NpzFile, info: zipfile.ZipInfo) -> None:
    """Stream a member once so that zipfile checks its CRC (memory-mapping alone would not)."""
    with npz.zip.open(info) as member:
        while member.read(1 << 22):
            pass


def _memmap_stored_member(path: Path, npz: np.lib.npyio.NpzFile, key: str) -> np.memmap | None:
    """Array ``key`` of an .npz memory-mapped in place when it is stored uncompressed, else None."""
    try:
        info = npz.zip.getinfo(f"{key}.npy")
    except KeyError:  # a member named without the .npy suffix: let np.load read it
        return None
    if info.compress_type != zipfile.ZIP_STORED:
        return None
    _check_crc(npz, info)
    header_readers = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
    try:
        with open(path, "rb") as file:
            file.seek(info.header_offset)
            local_header = file.read(30)  # zip local file header: name and extra field lengths at 26..30
            name_length, extra_length = struct.unpack("<HH", local_header[26:30])
            file.seek(info.header_offset + 30 + name_length + extra_length)
            read_header = header_readers.get(np.lib.format.read_magic(file))
            if read_header is None:
                return None
            shape, fortran_order, dtype = read_header(file)
            offset = file.tell()
    except (OSError, ValueError, struct.error):
        return None  # let the ordinary reader report what is wrong
    if dtype.hasobject or int(np.prod(shape)) == 0:
        return None
    return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape, order="F" if fortran_order else "C")


def _read_member(spec: str, path: Path, npz: np.lib.npyio.NpzFile, key: str) -> np.ndarray:
    """One array of an .npz: memory-mapped if possible, else read (only this key)."""
    try:
        mapped = _memmap_stored_member(path, npz, key)
        return mapped if mapped is not None else npz[key]
    except MemoryError as exc:
        raise LatentkitError(
            f"{spec}: array {key!r} is too large to read", fix=f"store a smaller array; {SAVE_HINT}"
        ) from exc
    except Exception as exc:  # anything numpy or zipfile raise on a hostile member is a bad file
        if isinstance(exc, LatentkitError):
            raise
        raise LatentkitError(
            f"{spec}: array {key!r} cannot be read ({_first_line(exc)})",
            fix=f"re-save the file with plain numeric arrays; {SAVE_HINT}",
        ) from exc


def open_array_file(spec: str) -> ArraySource:
    """A ``.npy`` (just ``x``) or ``.npz`` (``x``; optional ``y``, ``factors``, ``factor_names``)."""
    path = Path(spec)
    if not path.is_file():
        raise LatentkitError(f"data file {spec} does not exist", fix="check the path, or pass --data digits|shapes")
    with open(path, "rb") as file:
        if not file.read(6).startswith(ARRAY_SIGNATURES):  # np.load would try to unpickle it
            raise LatentkitError(
                f"{spec} is not a valid .npy or .npz file (unrecognised content)", fix=f"re-create it; {SAVE_HINT}"
            )
    try:
        loaded = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error, KeyError, RecursionError, NotImplementedError) as exc:
        # NotImplementedError: zipfile on a header asking for a zip version it does not know
        raise LatentkitError(
            f"{spec} is not a valid .npy or .npz file ({_first_line(exc)})", fix=f"re-create it; {SAVE_HINT}"
        ) from exc
    if isinstance(loaded, np.ndarray):
        return _array_source(spec, loaded)
    with loaded as npz:
        if "x" not in npz.files:
            present = ", ".join(npz.files) or "none"
            raise LatentkitError(
                f"{spec} has no array named 'x' (arrays: {present})", fix=f"store the images under x: {SAVE_HINT}"
            )
        arrays = {
            key: _read_member(spec, path, npz, key)
            for key in ("x", "y", "factors", "factor_names")
            if key in npz.files
        }
    return _array_source(spec, **arrays)


# --- PNG folders ------------------------------------------------------------------


class PngFolderSource(IndexedSource):
    """PNG images of one folder in sorted file-name order, read with Pillow batch by batch.

    All images have the first one's size; all are converted to its mode,
    grayscale (1 channel) or RGB (3 channels, alpha dropped).
    """

    def __init__(self, name: str, paths: list[Path], mode: str, size: tuple[int, int]) -> None:
        self.name = name
        self.paths = paths
        self.mode = mode
        width, height = size
        self.image_shape = (1 if mode == "L" else 3, height, width)

    def __len__(self) -> int:
        return len(self.paths)

    def get(self, index: np.ndarray) -> np.ndarray:
        from PIL import Image

        channels, height, width = self.image_shape
        images = np.empty((len(index), height, width, channels), dtype=np.uint8)
        for slot, row in enumerate(np.asarray(index, dtype=np.int64)):
            path = self.paths[row]
            try:
                with Image.open(path) as image:
                    if image.size != (width, height):
                        raise ValueError(f"it is {image.size[0]}x{image.size[1]}")
                    images[slot] = np.asarray(image.convert(self.mode)).reshape(height, width, channels)
            except (OSError, ValueError, Image.DecompressionBombError) as exc:
                raise LatentkitError(
                    f"{path} cannot be read as a {width}x{height} image ({_first_line(exc)})",
                    fix="replace or remove the file",
                ) from exc
        return np.divide(images.transpose(0, 3, 1, 2), np.float32(255), dtype=np.float32)


def _png_header(path: Path) -> tuple[tuple[int, int], str]:
    """An image's (width, height) and Pillow mode, read from its header only."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():  # latentkit checks the size itself, below, with a one-line error
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                size, mode = image.size, image.mode
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError) as exc:
        raise LatentkitError(f"{path} is not a readable PNG image", fix="replace or remove the file") from exc
    if size[0] * size[1] > MAX_IMAGE_PIXELS:
        raise LatentkitError(
            f"{path} says it is {size[0]}x{size[1]} pixels, more than latentkit reads ({MAX_IMAGE_PIXELS:,} pixels)",
            fix="resize the images to the model's input size",
        )
    return size, mode


def open_png_folder(spec: str) -> PngFolderSource:
    """Every ``*.png`` directly inside folder ``spec``; all must have the same size."""
    paths = sorted(
        (path for path in Path(spec).iterdir() if path.suffix.lower() == ".png" and path.is_file()),
        key=lambda path: path.name,
    )
    if not paths:
        raise LatentkitError(
            f"folder {spec} has no .png images",
            fix="put the PNG images directly in the folder (subfolders are not read)",
        )
    size, mode = _png_header(paths[0])
    for path in paths[1:]:
        other_size, _ = _png_header(path)
        if other_size != size:
            raise LatentkitError(
                f"{path} is {other_size[0]}x{other_size[1]} but {paths[0].name} is {size[0]}x{size[1]}",
                fix="resize all images to one size, or remove the odd one out",
            )
    return PngFolderSource(spec, paths, "L" if mode in GREY_MODES else "RGB", size)
