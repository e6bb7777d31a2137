"""The persistent state of emulated nodes, and the lab's own settings.

One JSON file per node (``DIR/nodes/<name>.json``), rewritten atomically after every
change, so that the lab survives its own restarts and several CLI invocations can work
against one lab. Private keys are kept here (and only here: the lab directory is
gitignored), exactly as a real node keeps them on its disk.

The built-in CAs of a CUCM trust store are not copied into every node file: a node stores
how many of the shared pool (``DIR/ca/builtin-pool.pem``) it holds, so big fleets stay cheap.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC
from pathlib import Path
from typing import Literal

from cryptography import x509
from pydantic import BaseModel, Field

from reconciler.lab.ca import cert_pem, load_certs, sha256_hex
from reconciler.lab.faults import Fault
from reconciler.lab.files import LabPaths, atomic_write

LabNodeType = Literal["expressway-c", "expressway-e", "vcs", "cucm", "imp", "cuc"]
EXPRESSWAY_TYPES: tuple[str, ...] = ("expressway-c", "expressway-e", "vcs")
TrustShape = Literal["list", "wrapped"]
SnapshotShape = Literal["full", "identities"]


class Identity(BaseModel):
    """A certificate with its private key and the chain the node sends after it."""

    cert_pem: str
    key_pem: str
    chain_pems: list[str] = Field(default_factory=list)


class PendingCsr(BaseModel):
    """A CSR generated on the node; its key never leaves the node."""

    csr_pem: str
    key_pem: str
    # "this-server", or "multi-server": the cluster's CSR, generated on the publisher; its
    # certificate is distributed to every member on install [C].
    distribution: str = "this-server"


class TrustEntry(BaseModel):
    """One certificate in a CUCM trust store, with the facts the REST API reports."""

    pem: str
    description: str = ""
    subject: str
    issuer: str
    serial: str
    not_after: str
    sha256: str

    @classmethod
    def of(cls, pem: str, description: str = "") -> TrustEntry:
        return entry_of(load_certs(pem)[0], description)


def entry_of(cert: x509.Certificate, description: str = "") -> TrustEntry:
    return TrustEntry(
        pem=cert_pem(cert),
        description=description,
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        serial=format(cert.serial_number, "x"),
        not_after=cert.not_valid_after_utc.astimezone(UTC).isoformat(),
        sha256=sha256_hex(cert),
    )


class NodeState(BaseModel):
    """Everything one emulated node remembers.

    Expressway: ``server`` is the installed server certificate (what the API reports),
    ``served`` what the HTTPS port presents (they differ between upload and restart),
    ``pending_csr`` the one pending CSR, ``trusted_cas`` the trusted CA list.
    CUCM: ``identities`` per service (tomcat, callmanager, capf, ipsec), ``served`` the
    tomcat identity that 8443 presents (switched on a Cisco Tomcat restart), ``trust`` per
    store plus ``builtin_cas`` from the shared pool, ``restart_pending`` service names.
    """

    name: str
    type: LabNodeType
    fqdn: str
    version: str
    links: list[str] = Field(default_factory=list)
    restart_seconds: float = 3.0
    served: Identity
    server: Identity | None = None
    pending_csr: PendingCsr | None = None
    restart_required: bool = False
    # What Expressway's GET certs/server answers before the restart: not documented [U], so
    # the lab does either ("installed": the uploaded one, the default; "active": the served).
    cert_read: Literal["installed", "active"] = "installed"
    trusted_cas: list[str] = Field(default_factory=list)
    identities: dict[str, Identity] = Field(default_factory=dict)
    pending_csrs: dict[str, PendingCsr] = Field(default_factory=dict)
    trust: dict[str, list[TrustEntry]] = Field(default_factory=dict)
    builtin_cas: int = 0
    restart_pending: list[str] = Field(default_factory=list)
    trust_list_shape: TrustShape = "wrapped"
    snapshot_shape: SnapshotShape = "full"
    # ``show cert list``: one line per file (the usual form [3P]) or Unit:/Type:/Name: blocks.
    cli_list_format: Literal["line", "block"] = "line"
    soap_rate_limit: int = 0  # SOAP status requests allowed per window (0: no limit)
    soap_rate_window: float = 60.0
    faults: list[Fault] = Field(default_factory=list)
    # Expressway X15.5: the client certificate store (the upgrade copies the server
    # certificate and key into it [C] TAC 225693), its pending CSR, the settings that decide
    # EKU checks (xConfiguration name -> value), and whether the node's RAML lists the client
    # store's resources (the lab's assumption [U]; off to show the manual steps).
    client: Identity | None = None
    client_pending_csr: PendingCsr | None = None
    settings: dict[str, str] = Field(default_factory=dict)
    raml_client: bool = True
    # Expressway maintenance mode (the lab's resource, listed in its RAML when
    # ``maintenance_api``: the lab's assumption [U]); off again after a restart [C].
    maintenance: bool = False
    maintenance_api: bool = True
    # VOS: "<service>:<sha256>" of each CA uploaded to a trust store and not yet effective
    # -> the service whose restart makes it effective (issue 21: trust counts after it).
    pending_trust: dict[str, str] = Field(default_factory=dict)
    api_port: int = 0
    ssh_port: int = 0
    # Unified CM identities and the phones (lab.phones): the CallManager identity SIP TLS
    # presents (switched by the restart the evidence names), the phones registered to the
    # node, the SHA-256s their ITL holds, how many refused a configuration since the lab
    # started, the cluster's security mode and the CTL's CallManager entries (mixed mode).
    sip_served: Identity | None = None
    sip_port: int = 0
    phones: int = 0
    phone_itl: list[str] = Field(default_factory=list)
    phones_lost: int = 0
    security_mode: Literal["non-secure", "mixed"] = "non-secure"
    ctl: list[str] = Field(default_factory=list)

    @property
    def is_vos(self) -> bool:
        """A VOS product (CUCM, IM and Presence, Unity Connection): REST, SSH CLI."""
        return self.type not in EXPRESSWAY_TYPES


def _app_password() -> str:
    return "app-" + secrets.token_urlsafe(12)


class LabSettings(BaseModel):
    """Lab-wide settings kept in ``lab.json``: the lab-only credentials. ``username`` is the
    admin of every node (on VOS the platform (OS) administrator: REST API and SSH CLI);
    ``app_username`` a VOS node's application user, the only account SOAP takes."""

    username: str = "admin"
    password: str
    app_username: str = "ccmadmin"
    app_password: str = Field(default_factory=_app_password)


def load_settings(paths: LabPaths) -> LabSettings:
    """The lab's settings, created (with a random password) the first time."""
    if paths.settings.exists():
        settings = LabSettings.model_validate_json(paths.settings.read_text())
        if "app_password" not in settings.model_fields_set:  # a lab from before: keep it
            atomic_write(paths.settings, settings.model_dump_json(indent=2), private=True)
        return settings
    settings = LabSettings(password="lab-" + secrets.token_urlsafe(12))
    atomic_write(paths.settings, settings.model_dump_json(indent=2), private=True)
    return settings


def save_node(paths: LabPaths, state: NodeState) -> None:
    atomic_write(paths.node_file(state.name), state.model_dump_json(), private=True)


def load_node(paths: LabPaths, name: str) -> NodeState | None:
    path = paths.node_file(name)
    if not path.exists():
        return None
    return NodeState.model_validate_json(path.read_text())


def load_all_nodes(paths: LabPaths) -> dict[str, NodeState]:
    out: dict[str, NodeState] = {}
    if paths.nodes.exists():
        for path in sorted(paths.nodes.glob("*.json")):
            state = NodeState.model_validate(json.loads(path.read_text()))
            out[state.name] = state
    return out


def node_names(root: Path) -> list[str]:
    return sorted(p.stem for p in LabPaths(root).nodes.glob("*.json"))
