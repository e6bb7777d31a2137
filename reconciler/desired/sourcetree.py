"""The files under a desired-state directory: listed once, read once, named as the user sees them.

Paths inside the loader are root-relative posix strings (``nodes/expe1.yaml``); paths in
findings are ``str(root / path)`` with ``root`` exactly as the user passed it, so that
``certops validate desired-state`` reports ``desired-state/nodes/expe1.yaml:7:5``.
"""

from __future__ import annotations

import os
import posixpath
from pathlib import Path

from reconciler.model.common import printable
from reconciler.model.layout import STATE_DIR

# git's own store (compressed objects), and certops' own records (the apply lock, owed
# restarts, issuer orders in flight: public data apply writes and reads back): never
# desired state.
SKIP_DIRS = frozenset({".git", STATE_DIR})


def _utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class SourceTree:
    """A read-through view of one desired-state directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._real_root = os.path.realpath(root)
        # str(root / rel) without building a Path per call (as pathlib shows it: no "./").
        self._prefix = "" if str(root) == "." else str(root).rstrip("/") + "/"
        self._data: dict[str, bytes] = {}
        self._listing: list[str] | None = None
        self._outside: list[str] = []
        self._bad_names: list[str] = []
        # The same CA file is named by hundreds of node files: answer each question once.
        self._escapes: dict[str, bool] = {}
        self._is_file: dict[str, bool] = {}

    def display(self, rel: str) -> str:
        """The path of ``rel`` as findings show it (control characters and bytes that are not
        UTF-8 escaped: a file name cannot break a line of output)."""
        return printable(self._prefix + rel if rel else str(self.root))

    def files(self) -> list[str]:
        """Every regular file below the root, sorted. Directory links are not followed; a
        link (file or directory) that resolves outside the root is left out and listed in
        ``outside()`` instead: its content is never read."""
        if self._listing is None:
            found: list[str] = []
            outside: list[str] = []
            for top, dirs, names in os.walk(self.root):
                rel_top = Path(top).relative_to(self.root).as_posix()
                dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
                files = set(names)  # a set: a folder of 10,000 node files made this O(n²)
                for name in [*dirs, *names]:
                    rel = name if rel_top == "." else f"{rel_top}/{name}"
                    if not _utf8(name):
                        self._bad_names.append(rel)
                        if name in dirs:
                            dirs.remove(name)
                    elif os.path.islink(full := os.path.join(top, name)) and self.escapes(rel):
                        outside.append(rel)
                    elif name in files and os.path.isfile(full):
                        found.append(rel)
            self._listing = sorted(found)
            self._outside = sorted(outside)
        return self._listing

    def bad_names(self) -> list[str]:
        """Files and folders whose names are not UTF-8 (left out: git and YAML cannot name
        them)."""
        self.files()
        return sorted(set(self._bad_names))

    def outside(self) -> list[str]:
        """Symbolic links below the root that lead outside it (files or directories)."""
        self.files()
        return self._outside

    def files_under(self, folder: str, suffixes: tuple[str, ...]) -> list[str]:
        """Files below ``folder`` whose names end in one of ``suffixes``; hidden ones skipped
        (``.gitkeep`` keeps empty folders in git and is no certificate)."""
        return [
            rel for rel in self.files()
            if rel.startswith(folder + "/")
            and rel.lower().endswith(suffixes)
            and not any(part.startswith(".") for part in rel.split("/"))
        ]

    def read(self, rel: str) -> bytes:
        """The bytes of ``rel``, read on first use. Raises OSError."""
        data = self._data.get(rel)
        if data is None:
            data = (self.root / rel).read_bytes()
            self._data[rel] = data
        return data

    def size(self, rel: str) -> int:
        return (self.root / rel).stat().st_size

    def head(self, rel: str, count: int) -> bytes:
        """The first ``count`` bytes, without caching (for sniffing large files)."""
        with (self.root / rel).open("rb") as handle:
            return handle.read(count)

    def is_file(self, rel: str) -> bool:
        known = self._is_file.get(rel)
        if known is None:
            known = self._is_file[rel] = (self.root / rel).is_file()
        return known

    def escapes(self, rel: str) -> bool:
        """Whether ``rel`` (normalised) leaves the root, by its text or through a symlink."""
        if posixpath.isabs(rel) or rel == ".." or rel.startswith("../"):
            return True
        known = self._escapes.get(rel)
        if known is None:
            real = os.path.realpath(self.root / rel)
            known = os.path.commonpath([real, self._real_root]) != self._real_root
            self._escapes[rel] = known
        return known
