"""Writing outputs so that a folder never holds a half-written or mixed set of files.

A command's files (its JSON, arrays and figures) form one *output set*, written with
:func:`output_set`::

    with output_set(out_dir, "kl-report") as outs:
        plot_kl_per_dimension(..., outs.path("kl-report.png"))
        outs.write_json("kl-report.json", document)

Inside the block every file goes to a private staging folder in ``out_dir``
(``.latentkit-staging-*``, on the same file system). On success the set is
committed: a ``COMMIT`` list is written into the staging folder (atomically), the
files are renamed into ``out_dir`` one by one, files of the previous set that this
run did not write (``kl-report.svg`` after a png run, ``traverse.gif`` after a run
without ``--gif``) are removed, and the staging folder goes. SIGINT and SIGTERM are
held back during those few renames, and an output-folder lock makes two commits into
one folder take turns, so two concurrent runs leave one complete set (the later one).
A run killed by SIGKILL inside the commit leaves a staging folder with its
``COMMIT`` list, and the next run into that folder finishes the commit first (roll
forward); a run killed earlier leaves an uncommitted staging folder, which the next
run deletes.

A set may hold *nested sets* (:meth:`OutputSet.nested`): a sweep over checkpoints writes each
checkpoint's own set (``kl-report.json`` and its figures) into a subfolder, and the sweep's
table beside them; the subfolders are committed with the sweep, each retiring only the files of
its own stem there, so the whole sweep appears at once or not at all. The folders of a set are
recorded in ``.latentkit-set-<stem>.json``, so the next commit of that stem retires the files
of folders it no longer holds (a checkpoint dropped from the sweep). Each staging folder is ``flock``-ed by its run while it lives, so a
concurrent run's folder is never taken for a stale one.

Files are created with the permissions the umask allows (as ``open`` would), not
``mkstemp``'s 0600.
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import secrets
import shutil
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from latentkit.errors import LatentkitError

STAGING_PREFIX = ".latentkit-staging-"
COMMIT_NAME = "COMMIT"
_TMP_SUFFIX = ".latentkit-tmp"
# What a set may hold; files named <stem>.<ext> or <stem>-*.<ext> with these extensions belong to it.
_SET_EXTENSIONS = (".json", ".npz", ".png", ".svg", ".pdf", ".gif", ".csv", ".html")


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
def _flocked(path: Path, *, blocking: bool = True) -> Iterator[bool]:
    """Hold an exclusive ``flock`` on ``path`` (a folder or file); yields False if busy and not blocking."""
    fd = os.open(path, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)  # closing releases the lock


@contextmanager
def _signals_held() -> Iterator[None]:
    """Defer SIGINT/SIGTERM until the block ends (they are delivered right after)."""
    held = {signal.SIGINT, signal.SIGTERM}
    try:
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    except (AttributeError, ValueError):  # not POSIX, or not the main thread's business
        yield
        return
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _commit_staged(staging: Path, out_dir: Path) -> None:
    """Move the files a ``COMMIT`` list names into ``out_dir``, retire the set's other files, remove ``staging``.

    Idempotent, so a commit cut short by SIGKILL is finished by the next run. The caller holds
    the output-folder lock.
    """
    listing = json.loads((staging / COMMIT_NAME).read_text(encoding="utf-8"))
    for folder, nested in listing.get("nested", {}).items():
        target = out_dir / folder
        target.mkdir(exist_ok=True)
        for name in nested["files"]:
            source = staging / folder / name
            if source.exists():
                os.replace(source, target / name)
        _retire(target, nested["stem"], set(nested["files"]))
    names = set(listing["files"])
    for name in listing["files"]:
        source = staging / name
        if source.exists():  # absent: already moved before a crash
            os.replace(source, out_dir / name)
    _retire(out_dir, listing["stem"], names)
    if listing.get("nested"):  # a set with folders (a sweep)
        _retire_folders(out_dir, listing["stem"], listing["nested"])
    shutil.rmtree(staging, ignore_errors=True)


def _retire_folders(out_dir: Path, stem: str, nested: dict[str, Any]) -> None:
    """Retire the nested sets of the previous ``stem`` set that this one does not hold (a sweep's
    checkpoints no longer swept), as recorded in ``.latentkit-set-<stem>.json``; then record these."""
    record = out_dir / f".latentkit-set-{stem}.json"
    try:
        previous = json.loads(record.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        previous = {}
    for folder, nested_stem in (previous.items() if isinstance(previous, dict) else ()):
        target = out_dir / str(folder)
        if folder in nested or os.path.basename(str(folder)) != folder or str(folder).startswith("."):
            continue
        if target.is_dir() and not target.is_symlink() and isinstance(nested_stem, str):
            _retire(target, nested_stem, set())
            try:
                target.rmdir()  # only when nothing else lives there
            except OSError:
                pass
    partial = out_dir / f".latentkit-set-{stem}.json.partial"
    partial.write_text(json.dumps({folder: entry["stem"] for folder, entry in nested.items()}), encoding="utf-8")
    os.replace(partial, record)


def _retire(folder: Path, stem: str, keep: set[str]) -> None:
    """Remove the files of set ``stem`` in ``folder`` that the new set does not hold."""
    for entry in os.scandir(folder):
        if entry.is_file() and _belongs_to_set(entry.name, stem) and entry.name not in keep:
            os.unlink(entry.path)


def recover(out_dir: str | os.PathLike[str]) -> None:
    """Finish or discard what killed runs left in ``out_dir`` (staging folders no live run holds)."""
    out_dir = Path(out_dir)
    with _flocked(out_dir):
        _recover_locked(out_dir)


def _recover_locked(out_dir: Path) -> None:
    try:
        entries = sorted(out_dir.iterdir())
    except OSError:
        return
    for entry in entries:
        if entry.name.startswith(STAGING_PREFIX) and entry.is_dir() and not entry.is_symlink():
            try:
                with _flocked(entry, blocking=False) as mine:
                    if not mine:
                        continue  # a live run is writing there
                    if (entry / COMMIT_NAME).is_file():
                        _commit_staged(entry, out_dir)
                    else:
                        shutil.rmtree(entry, ignore_errors=True)
            except FileNotFoundError:  # another run cleaned it up first
                continue
        elif entry.name.endswith(_TMP_SUFFIX) and entry.is_file():
            remove_stale_temporary(entry)


def remove_stale_temporary(path: Path) -> None:
    """Delete a ``*.latentkit-tmp`` file of :func:`atomic_path` unless a live run holds it."""
    try:
        with _flocked(path, blocking=False) as mine:
            if mine:
                path.unlink(missing_ok=True)
    except FileNotFoundError:
        pass


def _belongs_to_set(name: str, stem: str) -> bool:
    root, ext = os.path.splitext(name)
    return ext in _SET_EXTENSIONS and (root == stem or root.startswith(f"{stem}-"))


class OutputSet:
    """The files of one run, staged in a private folder until :meth:`commit`."""

    def __init__(self, out_dir: Path, stem: str) -> None:
        self.out_dir = out_dir
        self.stem = stem
        self.staging = Path(os.path.join(out_dir, f"{STAGING_PREFIX}{stem}-{os.getpid()}-{secrets.token_hex(4)}"))
        self.staging.mkdir()
        self._names: list[str] = []
        self._nested: dict[str, str] = {}  # subfolder -> the stem of its own set

    def path(self, name: str) -> Path:
        """Where to write the set's file ``name`` now (inside the staging folder)."""
        if not _belongs_to_set(name, self.stem) or os.path.basename(name) != name:
            raise ValueError(f"{name!r} is not a file name of the {self.stem!r} output set")
        if name not in self._names:
            self._names.append(name)
        return self.staging / name

    def nested(self, folder: str, stem: str) -> Path:
        """A subfolder (staged now) holding a set of its own, ``stem``'s files, committed with this set."""
        if os.path.basename(folder) != folder or folder.startswith(".") or folder in self._nested:
            raise ValueError(f"{folder!r} is not a new subfolder name")
        self._nested[folder] = stem
        (self.staging / folder).mkdir()
        return self.staging / folder

    def final(self, name: str | os.PathLike[str]) -> Path:
        """Where ``name`` (a file of the set, or of a nested set as ``folder/name``) will be once committed."""
        return self.out_dir / name

    def write_json(self, name: str, document: dict[str, Any]) -> Path:
        self.path(name).write_text(to_json(document), encoding="utf-8")
        return self.final(name)

    def write_npz(self, name: str, arrays: dict[str, Any]) -> Path:
        write_npz(self.path(name), arrays)
        return self.final(name)

    def final_paths(self, files: dict[str, Any]) -> dict[str, Any]:
        """``files`` with every path inside the staging folder replaced by where it is after the commit."""
        return {
            key: self.final(Path(value).relative_to(self.staging)) if Path(value).is_relative_to(self.staging) else value
            for key, value in files.items()
        }

    def commit(self) -> None:
        missing = [name for name in self._names if not (self.staging / name).is_file()]
        if missing:
            raise RuntimeError(f"output set {self.stem!r} lacks {missing} at commit")
        for entry in os.scandir(self.staging):  # files written straight into the staging folder belong too
            if entry.is_file() and not entry.name.startswith(".") and entry.name not in self._names:
                self.path(entry.name)
        nested = {}
        for folder, stem in self._nested.items():
            names = sorted(e.name for e in os.scandir(self.staging / folder) if e.is_file() and not e.name.startswith("."))
            strays = [name for name in names if not _belongs_to_set(name, stem)]
            if strays:
                raise RuntimeError(f"{folder}/{strays[0]} is not a file of the {stem!r} output set")
            nested[folder] = {"stem": stem, "files": names}
        with _signals_held(), _flocked(self.out_dir):
            _recover_locked(self.out_dir)  # a killed run's commit goes first, so this set is the newest
            listing = self.staging / COMMIT_NAME
            partial = self.staging / f".{COMMIT_NAME}.partial"
            partial.write_text(json.dumps({"stem": self.stem, "files": self._names, "nested": nested}), encoding="utf-8")
            os.replace(partial, listing)  # from here on the set is committed: a crash rolls forward
            _commit_staged(self.staging, self.out_dir)

    def discard(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)


@contextmanager
def output_set(out_dir: str | os.PathLike[str], stem: str) -> Iterator[OutputSet]:
    """Stage a run's files (``<stem>.*``, ``<stem>-*.*``) and move them into ``out_dir`` together.

    On an exception (Ctrl-C and SIGTERM included) nothing in ``out_dir`` changes and the
    staging folder is removed. See the module docstring for the guarantees.
    """
    from contextlib import ExitStack

    out = prepare_out_dir(out_dir)
    with ExitStack() as held:
        # Clean up, create the staging folder and lock it in one step under the folder lock, so a
        # concurrent run's recovery never sees this run's folder unlocked (and takes it for stale).
        with _flocked(out):
            _recover_locked(out)
            outputs = OutputSet(out, stem)
            held.enter_context(_flocked(outputs.staging))
        try:
            yield outputs
            outputs.commit()
        except BaseException:
            outputs.discard()
            raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success rename it onto ``target``.

    The temporary file (``.<name>.<random>.latentkit-tmp``) is held with ``flock``
    while it lives, so :func:`recover` removes it only once its writer is gone. On any
    exception it is removed and ``target`` is untouched. The result has the umask's
    permissions.
    """
    target = Path(target)
    for stale in target.parent.glob(f".{target.name}.*{_TMP_SUFFIX}"):
        remove_stale_temporary(stale)
    tmp = target.parent / f".{target.name}.{secrets.token_hex(4)}{_TMP_SUFFIX}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())  # the writer may have recreated it with other bits
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        os.close(fd)


class _Folder:
    """A folder written directly, as the staging part of a caller's set (see :func:`written_into`)."""

    def __init__(self, folder: Path) -> None:
        self.out_dir = self.staging = folder

    def final_paths(self, files: dict[str, Any]) -> dict[str, Any]:
        return dict(files)


@contextmanager
def written_into(folder: str | os.PathLike[str] | None, out_dir: str | os.PathLike[str] | None, stem: str) -> Iterator[Any]:
    """The set ``stem`` staged and committed in ``out_dir`` (:func:`output_set`), or, when ``folder``
    is given (a nested set's staging subfolder, see :meth:`OutputSet.nested`), written straight into
    it: the caller's set commits it."""
    if folder is None:
        assert out_dir is not None
        with output_set(out_dir, stem) as outs:
            yield outs
    else:
        yield _Folder(Path(folder))


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


def write_npz(target: str | os.PathLike[str], arrays: dict[str, Any]) -> Path:
    """Write ``arrays`` as an uncompressed ``.npz`` that ``np.load`` reads (no pickles).

    Unlike ``np.savez`` (which stamps each member with the current time), every
    member carries a fixed date, so the same arrays give the same bytes.
    """
    import zipfile

    import numpy as np

    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, value in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            with archive.open(info, "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asarray(value), allow_pickle=False)
    return Path(target)


def atomic_write_npz(target: str | os.PathLike[str], arrays: dict[str, Any]) -> Path:
    with atomic_path(target) as tmp:
        write_npz(tmp, arrays)
    return Path(target)


__all__ = [
    "OutputSet",
    "atomic_path",
    "atomic_write_json",
    "atomic_write_npz",
    "atomic_write_text",
    "output_set",
    "prepare_out_dir",
    "written_into",
    "recover",
    "to_json",
    "write_npz",
]
