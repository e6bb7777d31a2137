"""Every file certops writes goes through here: no symlinks followed, nothing outside the tree.

The desired-state directory comes from a pull request, so its author decides what is a file
and what is a symbolic link. A write that follows a link (``csrs/`` pointing at ``/etc``, or
``csrs/expc1.csr.tmp`` pointing at a file of the runner) would let that author overwrite
anything the job can write. So a write inside the tree:

* walks from the root one directory at a time with ``O_NOFOLLOW | O_DIRECTORY`` (a link
  anywhere on the way is refused, a missing directory is created);
* refuses a final name that exists as a link or as something else than a regular file;
* writes a fresh temporary file in the same directory (``O_CREAT | O_EXCL | O_NOFOLLOW``),
  flushes it and renames it over the final name, relative to the directory's descriptor, so
  a reader sees the old file or the new one, never half of one.

``write_file`` does the same for a path the user chose on the command line (``--report``,
``--out``, ``--metrics-file``): when that path lies inside the desired-state directory it is
held to the tree's rules, elsewhere only its last component must not be a link.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path, PurePosixPath

from reconciler.model import CertopsError

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
_NEW_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


class UnsafeWrite(CertopsError):
    """A write was refused: the path leaves the tree or passes through a symbolic link."""


def _parts(rel: str) -> tuple[str, ...]:
    """The components of a root-relative path; UnsafeWrite when it could leave the root."""
    if "\0" in rel or not rel or PurePosixPath(rel).is_absolute():
        raise UnsafeWrite(f"refusing to write {rel!r}: not a path inside the desired state")
    parts = PurePosixPath(rel).parts
    if any(p in ("..", ".") for p in parts):
        raise UnsafeWrite(f"refusing to write {rel!r}: it leaves the desired-state directory")
    return parts


def _open_dir(parent_fd: int, name: str, shown: str) -> int:
    """Open (creating it if missing) the directory ``name`` below ``parent_fd``, never a link."""
    with contextlib.suppress(FileExistsError):
        os.mkdir(name, 0o755, dir_fd=parent_fd)
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=parent_fd)
    except OSError as exc:
        raise UnsafeWrite(
            f"refusing to write under {shown}: it is a symbolic link or not a directory "
            f"({exc.strerror}); replace it with a real directory. Nothing was written"
        ) from None


def _check_target(dir_fd: int, name: str, shown: str) -> None:
    """The final name may be missing or a regular file, never a link or anything else."""
    try:
        info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return
    if not stat.S_ISREG(info.st_mode):
        what = "a symbolic link" if stat.S_ISLNK(info.st_mode) else "not a regular file"
        raise UnsafeWrite(
            f"refusing to write {shown}: it is {what}; remove it and run again. "
            "Nothing was written"
        )


def _write_at(dir_fd: int, name: str, data: bytes, shown: str) -> None:
    """Temporary file in the same directory, flushed, renamed over ``name``."""
    _check_target(dir_fd, name, shown)
    tmp = f".{name}.{secrets.token_hex(6)}.tmp"
    fd = os.open(tmp, _NEW_FLAGS, 0o644, dir_fd=dir_fd)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp, dir_fd=dir_fd)
        raise


def write_inside(root: Path, rel: str, data: str | bytes) -> Path:
    """Write ``data`` to ``root/rel`` atomically, refusing links and anything outside ``root``.

    ``root`` itself may be reached through a link (the user named it); nothing below it may.
    """
    parts = _parts(rel)
    blob = data.encode() if isinstance(data, str) else data
    fd, shown = _parent_dir(root, parts, "write under")
    try:
        _write_at(fd, parts[-1], blob, f"{shown}/{parts[-1]}")
    finally:
        os.close(fd)
    return root.joinpath(*parts)


def _parent_dir(root: Path, parts: tuple[str, ...], doing: str) -> tuple[int, str]:
    """A descriptor of the directory that holds ``parts[-1]``, opened one level at a time
    below ``root`` without following a link, and its path for messages. The caller closes
    it."""
    try:
        fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as exc:
        raise UnsafeWrite(f"cannot {doing} {root}: {exc.strerror}") from None
    shown = str(root)
    try:
        for name in parts[:-1]:
            shown = f"{shown}/{name}"
            sub = _open_dir(fd, name, shown)
            os.close(fd)
            fd = sub
    except BaseException:
        os.close(fd)
        raise
    return fd, shown


def inside(root: Path, path: Path) -> str | None:
    """``path`` relative to ``root`` (posix) when it lies inside it: by its written form (a
    link on the way is then refused by ``write_inside``) or by its real location."""
    for norm in (os.path.abspath, os.path.realpath):
        base = norm(root)
        where = os.path.join(norm(path.parent), path.name)
        if os.path.commonpath([where, base]) == base and where != base:
            return Path(os.path.relpath(where, base)).as_posix()
    return None


def write_file(path: Path, data: str | bytes, root: Path | None = None) -> Path:
    """Write a file the user named: atomically, never through a link at its last component;
    held to ``write_inside`` rules when it lies inside the desired-state directory ``root``."""
    rel = inside(root, path) if root is not None and root.is_dir() else None
    if rel is not None and root is not None:
        write_inside(root, rel, data)
        return path
    blob = data.encode() if isinstance(data, str) else data
    parent = path.parent if str(path.parent) else Path(".")
    fd = os.open(parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        _write_at(fd, path.name, blob, str(path))
    finally:
        os.close(fd)
    return path


def open_inside(root: Path, rel: str) -> int:
    """A read-write descriptor of ``root/rel`` (created if missing), never through a link;
    for lock files. The caller closes it."""
    parts = _parts(rel)
    fd, shown = _parent_dir(root, parts, "open")
    try:
        _check_target(fd, parts[-1], f"{shown}/{parts[-1]}")
        flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
        return os.open(parts[-1], flags, 0o644, dir_fd=fd)
    finally:
        os.close(fd)
