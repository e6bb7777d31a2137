"""The files under a desired-state directory: listed once, read once, named as the user sees them.

Paths inside the loader are root-relative posix strings (``nodes/expe1.yaml``); paths in
findings are ``str(root / path)`` with ``root`` exactly as the user passed it, so that
``certops validate desired-state`` reports ``desired-state/nodes/expe1.yaml:7:5``.
"""

from __future__ import annotations

import os
import posixpath
from pathlib import Path

# git's own store (compressed objects), and certops' own records of ACME orders in flight
# (public data that apply writes and reads back): never desired state.
SKIP_DIRS = frozenset({".git", ".certops"})


class SourceTree:
    """A read-through view of one desired-state directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._real_root = os.path.realpath(root)
        # str(root / rel) without building a Path per call (as pathlib shows it: no "./").
        self._prefix = "" if str(root) == "." else str(root).rstrip("/") + "/"
        self._data: dict[str, bytes] = {}
        self._listing: list[str] | None = None
        # The same CA file is named by hundreds of node files: answer each question once.
        self._escapes: dict[str, bool] = {}
        self._is_file: dict[str, bool] = {}

    def display(self, rel: str) -> str:
        """The path of ``rel`` as findings show it."""
        return self._prefix + rel if rel else str(self.root)

    def files(self) -> list[str]:
        """Every regular file below the root (not following directory links), sorted."""
        if self._listing is None:
            found: list[str] = []
            for top, dirs, names in os.walk(self.root):
                dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
                rel_top = Path(top).relative_to(self.root).as_posix()
                for name in names:
                    rel = name if rel_top == "." else f"{rel_top}/{name}"
                    if os.path.isfile(self.root / rel):
                        found.append(rel)
            self._listing = sorted(found)
        return self._listing

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
