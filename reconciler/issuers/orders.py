"""Records of issuer orders in flight, so that a crashed apply resumes its order.

An ACME order is placed, then its challenges are answered, then it is finalized. If certops
stops between placing and finalizing (a crash, a kill, a lost runner), the next apply must
resume that order rather than place a second one (a second certificate, and one more against
the CA's rate limits). The record is written atomically (temporary file, rename) in the
desired-state directory under ``.certops/orders/<issuer>/<node>.json``, which the loader
skips; it holds public data only: the issuer, the node, the order URL, the SHA-256 of the
CSR, the directory URL and when it was placed. It is removed once the certificate is
downloaded, or when the order turned out invalid.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from reconciler.model.layout import order_path


@dataclass(frozen=True)
class OrderRecord:
    """One open order (public data only)."""

    issuer: str
    node: str
    order_url: str
    csr_sha256: str
    directory: str
    placed_at: str


def read_order(root: Path, issuer: str, node: str) -> OrderRecord | None:
    """The recorded open order of ``issuer`` for ``node``; None if none or unreadable."""
    path = root / order_path(issuer, node)
    try:
        data = json.loads(path.read_text())
        return OrderRecord(**{k: str(data[k]) for k in OrderRecord.__dataclass_fields__})
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_order(root: Path, record: OrderRecord) -> Path:
    """Record ``record`` atomically (a temporary file in the same folder, then rename)."""
    path = root / order_path(record.issuer, record.node)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".order.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as out:
            json.dump(asdict(record), out, indent=2, sort_keys=True)
            out.write("\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def drop_order(root: Path, issuer: str, node: str) -> None:
    """Forget the order of ``issuer`` for ``node`` (done, or invalid)."""
    (root / order_path(issuer, node)).unlink(missing_ok=True)
