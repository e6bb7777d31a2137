"""Where the lab keeps things in its directory, and atomic writes (temp file + os.replace).

Layout of a lab directory (default ``.certops-lab/``, gitignored; lab keys live only here)::

    lab.json            lab settings: admin credentials (random per directory)
    ca/                 root, old and new issuing CAs (+keys), lab-cas.pem, builtin-pool.pem
    nodes/<name>.json   one node's whole state (keys, certificates, CSR, trust, flags, faults)
    tls/<name>.pem      the key and chain a node currently serves (fed to its SSLContext)
    ssh_host_key        the host key of every emulated CUCM SSH CLI
    control.json        URL, token and pid of the running lab's control endpoint
    inventory.yaml      what clients need: per node its URL, type, credentials; the CA bundle
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DIR = ".certops-lab"


def atomic_write(path: Path, text: str | bytes, *, private: bool = False) -> None:
    """Write ``path`` all at once: readers see the old or the new content, never a mix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode() if isinstance(text, str) else text
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        if private:
            os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@dataclass(frozen=True)
class LabPaths:
    """The files of one lab directory."""

    root: Path

    @property
    def ca(self) -> Path:
        return self.root / "ca"

    @property
    def nodes(self) -> Path:
        return self.root / "nodes"

    @property
    def tls(self) -> Path:
        return self.root / "tls"

    @property
    def settings(self) -> Path:
        return self.root / "lab.json"

    @property
    def control(self) -> Path:
        return self.root / "control.json"

    @property
    def inventory(self) -> Path:
        return self.root / "inventory.yaml"

    @property
    def ssh_host_key(self) -> Path:
        return self.root / "ssh_host_key"

    @property
    def ca_bundle(self) -> Path:
        return self.ca / "lab-cas.pem"

    @property
    def log(self) -> Path:
        return self.root / "lab.log"

    def node_file(self, name: str) -> Path:
        return self.nodes / f"{name}.json"

    def tls_file(self, name: str) -> Path:
        return self.tls / f"{name}.pem"
