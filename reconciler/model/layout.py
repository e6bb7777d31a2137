"""The desired-state directory's conventions, named once: folders, file names, paths.

Paths are root-relative POSIX strings (as ``Desired.files`` keys them); join them to a
directory with ``root / csr_path(node)``.
"""

from __future__ import annotations

CONFIG_FILE = "certops.yaml"
CAS_DIR = "cas"
# Named CA sets: one PEM bundle per file (a Unified CM store's built-in CAs, say); a trust list
# names a set file as it names a CA file, and lists every CA in it.
CA_SETS_DIR = "ca-sets"
CERTS_DIR = "certs"
CSRS_DIR = "csrs"
NODES_DIR = "nodes"
NODE_SUFFIXES = (".yaml", ".yml")  # the files under nodes/ that are node files
# Copies of the JSON Schemas that the files' `$schema` lines name (written by import).
SCHEMAS_DIR = "schemas"

# The restarts still owed after trust uploads (which a node cannot show): committed, so that
# a later CI run in a fresh clone finds them (desired/pending.py); the apply workflow commits
# it back with csrs/ and certs/.
OWED_RESTARTS_FILE = "owed-restarts.json"

# The node label (``labels: {site: dc1}``) that the Markdown reports count and summarise by.
SITE_LABEL = "site"

CSR_SUFFIX = ".csr.pem"
# certops's own records inside the desired-state directory (the loader skips it): the apply
# lock, issuer orders in flight, and the owed restarts of older versions (read, then folded
# into OWED_RESTARTS_FILE). Public data only.
STATE_DIR = ".certops"
LOCK_FILE = f"{STATE_DIR}/apply.lock"
PENDING_FILE = f"{STATE_DIR}/pending-restarts.json"
ORDERS_DIR = f"{STATE_DIR}/orders"


def role_stem(node: str, role: str | None = None) -> str:
    """``<node>`` for the primary role (None), ``<node>.<role>`` for another certificate role:
    the stem of the role's CSR and certificate files."""
    return node if role is None else f"{node}.{role}"


def csr_path(node: str, role: str | None = None) -> str:
    """Where a node's CSR is saved for the CA: ``csrs/<node>.csr.pem``; another role's:
    ``csrs/<node>.<role>.csr.pem``."""
    return f"{CSRS_DIR}/{role_stem(node, role)}{CSR_SUFFIX}"


def misnamed_csr_path(node: str) -> str:
    """``csrs/<node>.pem``: an older spelling that certops no longer reads (a warning)."""
    return f"{CSRS_DIR}/{node}.pem"


def cert_path(node: str, role: str | None = None) -> str:
    """Where a node's signed certificate (leaf or full chain) goes: ``certs/<node>.pem``;
    another role's: ``certs/<node>.<role>.pem``."""
    return f"{CERTS_DIR}/{role_stem(node, role)}.pem"


def node_path(node: str) -> str:
    """A node's file: ``nodes/<node>.yaml``."""
    return f"{NODES_DIR}/{node}.yaml"


def is_ca_set(rel: str) -> bool:
    """Whether the root-relative path ``rel`` is a CA set file (under ``ca-sets/``)."""
    return rel.startswith(f"{CA_SETS_DIR}/")


def order_path(issuer: str, node: str) -> str:
    """Where apply records an issuer's open order for a node:
    ``.certops/orders/<issuer>/<node>.json``."""
    return f"{ORDERS_DIR}/{issuer}/{node}.json"

# The last answer of each ACME CA's renewalInfo (ARI) with the time it may be asked again
# (its Retry-After): committed next to the CSRs, so that a fresh clone in CI does not ask the
# CA again too early. Public data only (certIDs, windows, times). Not desired state: it is not
# part of the plan's desired-state digest.
RENEWAL_INFO_FILE = "renewal-info.json"
