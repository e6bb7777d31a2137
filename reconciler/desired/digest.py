"""The desired-state digest that plans carry (docs/architecture.md): a hash of the input files.

It covers the files the loader read as input (certops.yaml, node files, certificate files),
as root-relative posix paths in sorted order, each path and content length-prefixed so no two
different trees hash alike. Nothing machine-specific enters it: not the root's name, not
timestamps, not the order the file system lists files in.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

_DOMAIN = b"certops desired-state digest v1\n"


def desired_digest(files: Mapping[str, bytes]) -> str:
    """Hex SHA-256 over ``{root-relative posix path: bytes}``."""
    digest = hashlib.sha256(_DOMAIN)
    for path in sorted(files):
        name = path.encode("utf-8")
        data = files[path]
        digest.update(b"%d:%s\n%d:" % (len(name), name, len(data)))
        digest.update(data)
    return digest.hexdigest()
