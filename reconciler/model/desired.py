"""The desired-state schema (docs/architecture.md) and the loaded, position-carrying Desired.

The ``*Spec`` classes are exactly what the YAML files may hold (unknown keys are errors), and
the JSON Schema that ``certops schema`` publishes is generated from them. ``Desired`` is what
the loader returns: every spec, the PEM files it found, and where each value came from.
"""

from __future__ import annotations

import posixpath
import re
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from reconciler.model.common import Frozen, SourcePos

EkuName = Literal["serverAuth", "clientAuth"]
HashName = Literal["sha256", "sha384", "sha512", "sha224", "sha1", "md5"]

_DURATION = re.compile(r"^(?P<n>\d+)(?P<unit>[hdw])$")
_SHARE = re.compile(r"^(?P<n>\d{1,2}(\.\d+)?)%$")
DURATION_HELP = "a duration like '30d', '2w', '12h', or a share of the lifetime like '33%'"


def parse_duration(text: str, not_before: datetime, not_after: datetime) -> timedelta:
    """How long before ``not_after`` renewal is due, for a certificate valid in that window.

    ``30d``/``2w``/``12h`` are absolute; ``33%`` is a share of the certificate's lifetime
    (as cert-manager's renewBefore percentage, handy for short-lived certificates).
    """
    m = _DURATION.match(text)
    if m:
        n = int(m["n"])
        unit = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
        return n * unit[m["unit"]]
    m = _SHARE.match(text)
    if m:
        return (not_after - not_before) * (float(m["n"]) / 100.0)
    raise ValueError(f"{text!r} is not {DURATION_HELP}")


def _check_duration(value: str | None) -> str | None:
    if value is not None and not (_DURATION.match(value) or _SHARE.match(value)):
        raise ValueError(f"expected {DURATION_HELP}, got {value!r}")
    return value


class Policy(Frozen):
    """What every server certificate must satisfy: the blocking checks of Cisco's step C."""

    min_rsa_bits: int = Field(
        2048, ge=1024, description="Smallest RSA key accepted on a leaf or a CA."
    )
    max_rsa_bits: int = Field(
        4096, ge=2048, description="Largest RSA key without a warning (8192 breaks SIP TLS)."
    )
    min_ec_bits: int = Field(256, ge=256, description="Smallest ECDSA curve size accepted.")
    signature_hashes: tuple[HashName, ...] = Field(
        ("sha256", "sha384", "sha512"),
        description="Signature hashes accepted on leaves and intermediates (not on roots).",
    )
    required_eku: tuple[EkuName, ...] = Field(
        ("serverAuth", "clientAuth"),
        description="Extended Key Usages every server certificate must carry.",
    )
    renew_before: str = Field("30d", description=f"When renewal is due: {DURATION_HELP}.")

    _duration = field_validator("renew_before")(_check_duration)


class Defaults(Frozen):
    """Per-node settings that most nodes share."""

    derive_trust: bool = Field(
        True,
        description="Add the chains of the node's own and its linked peers' certificates "
        "to its trust stores (Cisco's step D). With false, missing chains block the plan.",
    )


class IssuerSpec(Frozen):
    """A CA that certops asks to sign a node's CSR during apply.

    ``command``: any CA reachable from a command (``openssl ca``, ``step ca sign``, Vault,
    ``certreq``): certops writes the CSR (PEM) to its standard input and reads the signed
    certificate with its chain (PEM) from its standard output.
    """

    type: Literal["command"]
    run: tuple[str, ...] = Field(
        min_length=1, description="The command and its arguments (no shell)."
    )
    timeout: int = Field(120, ge=1, le=3600, description="Seconds before the command is stopped.")
    ca_files: tuple[str, ...] = Field(
        (),
        description="The CA certificates (root and intermediates, under cas/) this issuer's "
        "certificates chain to, relative to certops.yaml: their trust is planned before "
        "the install.",
    )


class FleetSpec(Frozen):
    """``certops.yaml``: policy, links between nodes, defaults, issuers."""

    policy: Policy = Field(default_factory=Policy)
    links: tuple[tuple[str, str], ...] = Field(
        (), description="Node pairs that open TLS to each other (traversal zones, MRA, trunks)."
    )
    defaults: Defaults = Field(default_factory=Defaults)
    issuers: dict[str, IssuerSpec] = Field(
        default_factory=dict, description="Issuers that node files name in server_certificate."
    )


class CredentialsSpec(Frozen):
    """Names of environment variables that hold the node's API credentials (never the values)."""

    username_env: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    password_env: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")


def _san_name(name: str) -> str:
    if name.lower().startswith(("dns:", "ip:", "ip address:")):
        raise ValueError(f"write {name.split(':', 1)[1].strip()!r} without the type prefix")
    if not name or name != name.strip():
        raise ValueError(f"{name!r} is not a host name")
    return name


# Checked one by one, so that an error points at the offending list item.
SanName = Annotated[str, AfterValidator(_san_name)]


class ServerCertificateSpec(Frozen):
    """The node's server (identity) certificate.

    Without ``file`` the live certificate is kept until renewal is due or the SANs differ;
    with ``file`` (a leaf or a full chain as the CA delivered it) that certificate is installed.
    With ``issuer`` (and no ``file``) certops gets the CSR signed itself during apply.
    """

    file: str | None = Field(
        None, description="Path of the signed certificate, relative to this file."
    )
    issuer: str | None = Field(
        None,
        description="Name of an issuer in certops.yaml: when renewal is due or the SANs "
        "differ, apply generates a CSR, has this issuer sign it and installs the result.",
    )
    subject_alt_names: tuple[SanName, ...] = Field(
        description="DNS names (and IP addresses) the certificate must carry (at least one)."
    )
    renew_before: str | None = Field(None, description=f"Overrides the policy: {DURATION_HELP}.")
    replace_pending_csr: bool = Field(
        False,
        description="Where the node's pending CSR cannot be read (Unified CM and the other "
        "VOS products), allow a new CSR to replace one that may be pending. Set it for one "
        "apply and remove it once csrs/<node>.csr.pem is committed.",
    )

    _duration = field_validator("renew_before")(_check_duration)

    @field_validator("subject_alt_names")
    @classmethod
    def _not_empty(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        # A validator rather than min_length: it runs only when every item is valid, so a
        # bad item is reported once, at the item.
        if not names:
            raise ValueError("list at least one name: the certificate's SANs")
        return names


class TrustStoreSpec(Frozen):

    """A trust store: the CA files that must be in it, and whether others are removed."""

    cas: tuple[str, ...] = Field((), description="CA certificate files, relative to this file.")
    prune: bool = Field(
        False,
        description="Remove CAs that are not listed (never one a live or planned leaf needs).",
    )

    @model_validator(mode="before")
    @classmethod
    def _list_shorthand(cls, value: object) -> object:
        # A bare list is the common case: `trust: [../cas/a.pem, ../cas/b.pem]`.
        return {"cas": value} if isinstance(value, list | tuple) else value


class NodeSpecBase(Frozen):
    """What every node file holds, whatever its kind. Each device kind (``reconciler.kinds``)
    subclasses it with its ``type`` literal and its ``trust`` shape."""

    type: str
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$", description="Unique node name.")
    api: str = Field(pattern=r"^https?://", description="Base URL of the management API.")
    credentials: CredentialsSpec | None = None
    tls_verify: bool = Field(
        True,
        description="Verify the node's TLS certificate. Turning it off is shown in every plan.",
    )
    labels: dict[str, str] = Field(default_factory=dict, description="For --select (site, role).")
    derive_trust: bool | None = Field(None, description="Overrides defaults.derive_trust.")
    server_certificate: ServerCertificateSpec | None = None

    # The trust stores of this kind, in a fixed order (set by each kind's spec class).
    STORES: ClassVar[tuple[str, ...]] = ()

    def stores(self) -> dict[str, TrustStoreSpec]:
        """The trust stores the file declares, by store name, in ``STORES`` order."""
        raise NotImplementedError

    def store_path(self, store: str) -> tuple[str, ...]:
        """Where ``store`` is written in the node file (``("trust",)`` or ``("trust", name)``)."""
        raise NotImplementedError


class SingleStoreSpec(NodeSpecBase):
    """A kind with one trust store written as ``trust:`` (Expressway, VCS)."""

    trust: TrustStoreSpec = Field(default_factory=TrustStoreSpec)

    def stores(self) -> dict[str, TrustStoreSpec]:
        return {self.STORES[0]: self.trust}

    def store_path(self, store: str) -> tuple[str, ...]:
        return ("trust",)


class MultiStoreSpec(NodeSpecBase):
    """A kind with one trust store per service, written as ``trust: {store: [...]}`` (VOS).
    Subclasses narrow ``trust`` to their own store names."""

    trust: dict[str, TrustStoreSpec] = Field(default_factory=dict)

    def stores(self) -> dict[str, TrustStoreSpec]:
        return {name: self.trust[name] for name in self.STORES if name in self.trust}

    def store_path(self, store: str) -> tuple[str, ...]:
        return ("trust", store)


@lru_cache(maxsize=65536)
def _resolve(folder: str, ref: str) -> str:
    return posixpath.normpath(posixpath.join(folder, ref))


def nearest(positions: dict[str, SourcePos], path: tuple[str | int, ...], file: str) -> SourcePos:
    """The position of ``path`` or of its nearest recorded parent; the file's start at worst."""
    keys = [str(p) for p in path]
    while keys:
        found = positions.get(".".join(keys))
        if found is not None:
            return found
        keys.pop()
    return positions.get("", SourcePos(file=file, line=1, col=1))


class PemFile(Frozen):
    """A file under the desired-state directory, as bytes, keyed by its root-relative path."""

    path: str
    data: bytes


class DesiredNode(Frozen):
    """One node file: its spec, its path, and the position of every key and value in it."""

    spec: NodeSpecBase
    file: str
    positions: dict[str, SourcePos] = Field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.spec.name

    def pos(self, *path: str | int) -> SourcePos:
        """Position of a key path like ``("trust", "cas", 1)``; falls back to the nearest parent."""
        return nearest(self.positions, path, self.file)

    def resolve(self, ref: str) -> str:
        """Root-relative path of a file reference written relative to this node file."""
        return _resolve(posixpath.dirname(self.file), ref)


class Desired(Frozen):
    """The whole desired state as loaded: pure data, no file handles."""

    root: str
    fleet: FleetSpec
    fleet_file: str = "certops.yaml"
    fleet_positions: dict[str, SourcePos] = Field(default_factory=dict)
    nodes: tuple[DesiredNode, ...] = ()
    files: dict[str, PemFile] = Field(default_factory=dict)
    digest: str = ""

    def node(self, name: str) -> DesiredNode | None:
        return next((n for n in self.nodes if n.name == name), None)

    def peers(self, name: str) -> tuple[str, ...]:
        """Names of the nodes linked to ``name``, sorted."""
        out = {b for a, b in self.fleet.links if a == name} | {
            a for a, b in self.fleet.links if b == name
        }
        out.discard(name)
        return tuple(sorted(out))

    def fleet_pos(self, *path: str | int) -> SourcePos:
        """Position of a key path in ``certops.yaml`` (see ``DesiredNode.pos``)."""
        return nearest(self.fleet_positions, path, self.fleet_file)
