"""The desired-state schema (docs/architecture.md) and the loaded, position-carrying Desired.

The ``*Spec`` classes are exactly what the YAML files may hold (unknown keys are errors), and
the JSON Schema that ``certops schema`` publishes is generated from them. ``Desired`` is what
the loader returns: every spec, the PEM files it found, and where each value came from.
"""

from __future__ import annotations

import posixpath
import re
from datetime import date, datetime, timedelta
from functools import cached_property, lru_cache
from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, ConfigDict, Field, field_validator, model_validator

from reconciler.model.common import Frozen, SourcePos

EkuName = Literal["serverAuth", "clientAuth"]
HashName = Literal["sha256", "sha384", "sha512", "sha224", "sha1", "md5"]

_DURATION = re.compile(r"^(?P<n>\d+)(?P<unit>[hdw])$")
_SHARE = re.compile(r"^(?P<n>\d{1,2}(\.\d+)?)%$")
_FRACTION = re.compile(r"^(?P<n>[1-9]\d*)/(?P<d>[1-9]\d*)$")
DURATION_HELP = ("a duration like '30d', '2w', '12h', or a share of the lifetime like '1/3' "
                 "or '33%'")
# ACME issuers renew when a third of the lifetime is left unless told otherwise (certbot and
# cert-manager do the same): a fixed 30 days would renew a 47-day certificate after 17 days.
ACME_RENEW_BEFORE = "1/3"


def parse_duration(text: str, not_before: datetime, not_after: datetime) -> timedelta:
    """How long before ``not_after`` renewal is due, for a certificate valid in that window.

    ``30d``/``2w``/``12h`` are absolute; ``1/3`` and ``33%`` are a share of the certificate's
    lifetime (as certbot's and cert-manager's defaults, made for short-lived certificates).
    """
    m = _DURATION.match(text)
    if m:
        n = int(m["n"])
        unit = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
        return n * unit[m["unit"]]
    m = _SHARE.match(text)
    if m:
        return (not_after - not_before) * (float(m["n"]) / 100.0)
    m = _FRACTION.match(text)
    if m:
        return (not_after - not_before) * int(m["n"]) / int(m["d"])
    raise ValueError(f"{text!r} is not {DURATION_HELP}")


_SPAN = re.compile(r"^(?P<n>\d+)(?P<unit>[smhdw])$")
SPAN_HELP = "a duration like '90s', '15m', '4h', '30d' or '2w'"
_SPAN_UNIT = {
    "s": timedelta(seconds=1), "m": timedelta(minutes=1), "h": timedelta(hours=1),
    "d": timedelta(days=1), "w": timedelta(weeks=1),
}


def parse_span(text: str) -> timedelta:
    """An absolute duration: ``90s``, ``15m``, ``4h``, ``30d``, ``2w`` (windows, drain)."""
    m = _SPAN.match(text)
    if m is None:
        raise ValueError(f"{text!r} is not {SPAN_HELP}")
    return int(m["n"]) * _SPAN_UNIT[m["unit"]]


def _check_span(value: str | None) -> str | None:
    if value is not None:
        parse_span(value)
    return value


def _check_duration(value: str | None) -> str | None:
    if value is None:
        return value
    fraction = _FRACTION.match(value)
    if not (_DURATION.match(value) or _SHARE.match(value) or fraction):
        raise ValueError(f"expected {DURATION_HELP}, got {value!r}")
    if fraction and int(fraction["n"]) >= int(fraction["d"]):
        raise ValueError(f"renew_before {value!r} is the whole lifetime or more: the "
                         "certificate would be renewed at every run; write a share below 1, "
                         "like '1/3'")
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
    required_eku: tuple[EkuName, ...] | None = Field(
        None,
        description="An override: the Extended Key Usages every certificate must carry, "
        "whatever its role and the node's version. Unset (the default), each role needs what "
        "its kind requires at the node's live version (Expressway before X15.5: both; from "
        "X15.5: server serverAuth, client clientAuth; Unified CM: both); `validate`, which "
        "knows no version, checks what every version needs.",
    )
    renew_before: str = Field("30d", description=f"When renewal is due: {DURATION_HELP}.")

    _duration = field_validator("renew_before")(_check_duration)


class CsrSubjectSpec(Frozen):
    """Subject fields of a CSR that a node generates (Expressway's Generate CSR form).

    The box sets the CN itself; these are the other fields. The one public client of the
    Expressway API always sends all six (device-apis.md, [3P]); certops sends the ones set.
    """

    country: str | None = Field(
        None, pattern=r"^[A-Z]{2}$", description="Two-letter ISO country code (C)."
    )
    province: str | None = Field(None, min_length=1, description="State or province (ST).")
    locality: str | None = Field(None, min_length=1, description="City or locality (L).")
    organization: str | None = Field(None, min_length=1, description="Organization (O).")
    organizational_unit: str | None = Field(
        None, min_length=1, description="Organizational unit (OU)."
    )
    email: str | None = Field(None, pattern=r"^[^@\s]+@[^@\s]+$", description="E-mail address.")

    def merged(self, override: CsrSubjectSpec | None) -> CsrSubjectSpec:
        """These fields with every field that ``override`` sets replacing them."""
        if override is None:
            return self
        return self.model_copy(update=override.model_dump(exclude_none=True))


OnDrainTimeout = Literal["restart", "stop"]
_WINDOW_HELP = (
    "Name of a change window (certops.yaml windows:) in which this node's disruptive steps "
    "(restarts) may run; the nearest of node file, cluster and defaults wins; none: any time."
)
_DRAIN_HELP = (
    "Drain before a restart: put the node into maintenance mode and wait until its active "
    "calls end (Expressway); the nearest of node file, cluster and defaults wins."
)
_DRAIN_TIMEOUT_HELP = f"How long to wait for the calls to end: {SPAN_HELP}."
_ON_DRAIN_TIMEOUT_HELP = (
    "When calls remain after drain_timeout: 'restart' anyway (they drop) or 'stop' (the "
    "restart stays owed for the next window)."
)


class Defaults(Frozen):
    """Per-node settings that most nodes share."""

    restart_window: str | None = Field(None, description=_WINDOW_HELP)
    drain: bool = Field(True, description=_DRAIN_HELP)
    drain_timeout: str = Field("30m", description=_DRAIN_TIMEOUT_HELP)
    on_drain_timeout: OnDrainTimeout = Field("stop", description=_ON_DRAIN_TIMEOUT_HELP)

    derive_trust: bool = Field(
        True,
        description="Add the chains of the node's own and its linked peers' certificates "
        "to its trust stores (Cisco's step D). With false, missing chains block the plan.",
    )
    csr: CsrSubjectSpec = Field(
        default_factory=CsrSubjectSpec,
        description="Subject fields of the CSRs that nodes generate (a node's csr: overrides "
        "them field by field).",
    )

    _span = field_validator("drain_timeout")(_check_span)


class RestartSettings(Frozen):
    """When and how a node's disruptive steps run, set on a node file or a cluster (each
    unset value falls back to the next level: node file, cluster, defaults)."""

    restart_window: str | None = Field(None, description=_WINDOW_HELP)
    drain: bool | None = Field(None, description=_DRAIN_HELP)
    drain_timeout: str | None = Field(None, description=_DRAIN_TIMEOUT_HELP)
    on_drain_timeout: OnDrainTimeout | None = Field(None, description=_ON_DRAIN_TIMEOUT_HELP)

    _span = field_validator("drain_timeout")(_check_span)


_ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
_ABSOLUTE = r"^(/|~)"
_CA_FILES_HELP = (
    "The CA certificates (root and intermediates, under cas/) this issuer's certificates "
    "chain to, relative to certops.yaml: their trust is planned before the install."
)


class _IssuerBase(Frozen):
    """What every issuer declares: its known chain and what its certificates carry."""

    ca_files: tuple[str, ...] = Field((), description=_CA_FILES_HELP)
    public: bool = Field(
        False,
        description="A public (WebPKI) CA: from 2027-03-15 its TLS certificates carry "
        "serverAuth only (Chrome root program), whatever a CSR asks; plans say so.",
    )
    crl_check: bool = Field(
        True,
        description="At plan time, look the installed certificate up on the CRL named in its "
        "CRL distribution point (signature checked with ca_files): a revoked certificate is "
        "renewed now (cert.revoked). false where the CRL cannot be reached from certops.",
    )


class CommandIssuerSpec(_IssuerBase):
    """``command``: any CA reachable from a command (``openssl ca``, ``step ca sign``, Vault,
    ``certreq``): certops writes the CSR (PEM) to its standard input and reads the signed
    certificate with its chain (PEM) from its standard output.
    """

    type: Literal["command"]
    run: tuple[str, ...] = Field(
        min_length=1, description="The command and its arguments (no shell)."
    )
    timeout: int = Field(120, ge=1, le=3600, description="Seconds before the command is stopped.")
    eku: tuple[EkuName, ...] = Field(
        ("serverAuth", "clientAuth"),
        min_length=1,
        description="The Extended Key Usages the CA's certificates carry (its profile).",
    )


PIN_PATTERN = r"^sha256:[0-9a-f]{64}$"


class ConnectionSpec(Frozen):
    """How certops reaches and authenticates the node's management plane (not what it
    changes there). In pull-request runs these settings come from the protected base
    branch (``certops plan --connection-from``, docs/ci.md), never from the change."""

    tls_server_name: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9._-]+$",
        description="Name the API certificate must carry, when api: connects by IP address "
        "or by another name (also sent as TLS SNI).",
    )
    ca_file: str | None = Field(
        None,
        description="CA certificate(s) that authenticate this node's API, relative to this "
        "file (under cas/): only these, instead of every file under cas/ plus the system store.",
    )
    api_pins: tuple[Annotated[str, Field(pattern=PIN_PATTERN)], ...] = Field(
        (),
        description="SHA-256 of the API's certificate (DER), as 'sha256:<64 hex>': the node "
        "is authenticated by any of these instead of by a CA (list the next one before a "
        "renewal). `certops doctor` prints the value.",
    )
    recovery_pins: tuple[Annotated[str, Field(pattern=PIN_PATTERN)], ...] = Field(
        (),
        description="SHA-256 of an EXPIRED (or not yet valid) API certificate (DER), as "
        "'sha256:<64 hex>', that a person checked on the node's console: certops may then "
        "read and renew the node with that one certificate's validity set aside (its chain "
        "and name are still verified, at a moment inside its validity). The node's committed "
        "certificate (certs/<node>.pem or its file:) is pinned this way without a list. The "
        "node.unreachable finding of an expired certificate prints the value.",
    )
    ssh_port: int | None = Field(None, ge=1, le=65535, description="SSH port of the platform CLI.")
    ssh_host_key: str | None = Field(
        None,
        pattern=r"^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/=]+$",
        description="The CLI's SSH host key as an OpenSSH public key line ('ssh-ed25519 "
        "AAAA...'): the host key pin. Without it ~/.ssh/known_hosts decides. "
        "`certops doctor` prints the value.",
    )
    proxy: Literal["none", "environment"] = Field(
        "none",
        description="'environment': reach the API through HTTPS_PROXY (NO_PROXY honoured); "
        "'none': directly.",
    )
    connect_timeout: float | None = Field(
        None, gt=0, le=300, description="Seconds to wait for a connection (default 10)."
    )
    read_timeout: float | None = Field(
        None, gt=0, le=3600, description="Seconds to wait for an answer (default 60); over "
        "the platform CLI, for each read command (a hung 'show' gives up after it).",
    )
    transport: Literal["auto", "rest", "cli"] = Field(
        "auto",
        description="VOS nodes: how certificates are read and changed. 'rest': the "
        "Certificate Management REST API (release 14+); 'cli': the platform CLI over SSH "
        "(release 12.5, which has no REST API); 'auto': REST, and the CLI where "
        "/platformcom answers 404. `certops doctor` reports which one a node uses.",
    )


def _san_name(name: str) -> str:
    if name.lower().startswith(("dns:", "ip:", "ip address:")):
        raise ValueError(f"write {name.split(':', 1)[1].strip()!r} without the type prefix")
    if not name or name != name.strip():
        raise ValueError(f"{name!r} is not a host name")
    return name


# Checked one by one, so that an error points at the offending list item.
SanName = Annotated[str, AfterValidator(_san_name)]


class ClusterSpec(RestartSettings):
    """Nodes of one kind that serve as one: an Expressway cluster, a Unified CM cluster.

    At most ``max_unavailable`` members restart at once, each back (serving the planned
    certificate, its services started) before the next begins; the ``publisher`` of a Unified
    CM cluster restarts first. Members are linked to each other (peers authenticate each
    other), and a link that names the cluster means every member. With ``tomcat_identity:
    multi-server`` the members share one tomcat certificate generated on the publisher.
    """

    members: tuple[str, ...] = Field(min_length=1, description="The member nodes' names.")
    max_unavailable: int = Field(
        1, ge=1, description="How many members may be restarting at the same moment."
    )
    publisher: str | None = Field(
        None, description="Unified CM: the publisher, restarted before the subscribers."
    )
    shared_names: tuple[SanName, ...] = Field(
        (),
        description="Names every member's certificate must carry (the cluster FQDN and the "
        "names clients may reach any peer by), besides its own.",
    )
    tomcat_identity: Literal["per-node", "multi-server"] = Field(
        "per-node",
        description="VOS (Unified CM): 'per-node', a tomcat certificate per member; "
        "'multi-server', one multi-server (SAN) certificate generated on the publisher for "
        "the whole cluster, which the cluster distributes to every member. Only the "
        "publisher's node file then has server_certificate, naming every member.",
    )

    security_mode: Literal["non-secure", "mixed"] = Field(
        "non-secure",
        description="Unified CM: the cluster's security mode. 'mixed' (a CTL on the phones): "
        "after a CallManager, TVS, CAPF or ITLRecovery change the CTL file is updated on the "
        "publisher (utils ctl update CTLFile) before the restarts.",
    )

    @property
    def multi_server(self) -> bool:
        """One multi-server (SAN) tomcat certificate for the whole cluster."""
        return self.tomcat_identity == "multi-server"


class _Dns01Base(Frozen):
    """What every DNS-01 provider shares: where and how long to look for the TXT record."""

    nameservers: tuple[str, ...] = Field(
        (),
        description="Authoritative servers (host or host:port) asked directly whether the "
        "TXT record is visible before the CA is told to look (never the system resolver). "
        "rfc2136: defaults to its server.",
    )
    propagation_timeout: int = Field(
        120, ge=1, le=3600, description="Seconds to wait for the TXT record on every server."
    )
    ttl: int = Field(60, ge=1, le=86400, description="TTL of the TXT record.")


class Rfc2136Spec(_Dns01Base):
    """RFC 2136 dynamic updates signed with TSIG (BIND, PowerDNS, Knot, Windows DNS...)."""

    provider: Literal["rfc2136"]
    server: str = Field(description="The primary that accepts updates: host or host:port.")
    zone: str | None = Field(
        None, description="The zone to update; found from the server's SOA when left out."
    )
    tsig_key_name: str = Field(description="The TSIG key's name.")
    tsig_algorithm: Literal["hmac-sha256", "hmac-sha384", "hmac-sha512"] = "hmac-sha256"
    tsig_secret_env: str | None = Field(
        None, pattern=_ENV_NAME, description="Environment variable holding the base64 secret."
    )
    tsig_secret_file: str | None = Field(
        None, pattern=_ABSOLUTE,
        description="Absolute path of a file holding the base64 secret (outside the "
        "desired-state directory).",
    )

    @model_validator(mode="after")
    def _one_secret(self) -> Rfc2136Spec:
        if (self.tsig_secret_env is None) == (self.tsig_secret_file is None):
            raise ValueError("set exactly one of tsig_secret_env and tsig_secret_file")
        return self


class ExecDnsSpec(_Dns01Base):
    """A command that sets and clears the TXT record (as lego's exec provider):
    ``<command> present <fqdn> <value>`` and ``<command> cleanup <fqdn> <value>``."""

    provider: Literal["exec"]
    command: tuple[str, ...] = Field(min_length=1, description="The hook and its arguments.")
    timeout: int = Field(60, ge=1, le=3600, description="Seconds before the hook is stopped.")

    @model_validator(mode="after")
    def _has_nameservers(self) -> ExecDnsSpec:
        if not self.nameservers:
            raise ValueError("list the authoritative nameservers to check the record on")
        return self


Dns01Spec = Annotated[Rfc2136Spec | ExecDnsSpec, Field(discriminator="provider")]

ACME_DIRECTORIES = {
    "letsencrypt": "https://acme-v02.api.letsencrypt.org/directory",
    "letsencrypt-staging": "https://acme-staging-v02.api.letsencrypt.org/directory",
}


class AcmeIssuerSpec(_IssuerBase):
    """``acme``: an ACME (RFC 8555) CA, DNS-01 challenges. Secrets are named, never written:
    the account key comes from an environment variable or a file outside the repository."""

    type: Literal["acme"]
    directory: str = Field(
        description="'letsencrypt', 'letsencrypt-staging' or the directory URL of any ACME CA.",
        pattern=r"^(letsencrypt|letsencrypt-staging|https://.+)$",
    )
    email: str | None = Field(None, description="Contact for the account (optional).")
    account_key_env: str | None = Field(
        None, pattern=_ENV_NAME, description="Environment variable holding the account key (PEM)."
    )
    account_key_file: str | None = Field(
        None, pattern=_ABSOLUTE,
        description="Absolute path of the account key (PEM), outside the desired-state directory.",
    )
    eab_kid_env: str | None = Field(
        None, pattern=_ENV_NAME, description="External Account Binding: variable of the key id."
    )
    eab_hmac_key_env: str | None = Field(
        None, pattern=_ENV_NAME,
        description="External Account Binding: variable of the base64url HMAC key.",
    )
    tls_ca_file: str | None = Field(
        None, description="CA bundle to verify the ACME server's TLS (relative to certops.yaml, "
        "or absolute); the system store when left out.",
    )
    dns01: Dns01Spec
    timeout: int = Field(300, ge=10, le=3600, description="Seconds for one order to complete.")
    eku: tuple[EkuName, ...] = Field(
        ("serverAuth",),
        min_length=1,
        description="The Extended Key Usages the CA's certificates carry. Public CAs dropped "
        "clientAuth from their default profiles in 2026.",
    )
    profile: str | None = Field(
        None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$",
        description="The ACME profile to order (draft-ietf-acme-profiles; Let's Encrypt: "
        "classic, tlsserver, shortlived). Checked at plan time against the CA directory's "
        "meta.profiles; the CA's default profile when left out.",
    )
    lifetime: str | None = Field(
        None, pattern=_SPAN.pattern,
        description="The lifetime the profile issues (47d, 160h), as the CA documents it "
        "(meta.profiles only names a profile). Each issued certificate is checked against it "
        "at apply time: a shorter one is refused before it is installed (renew_before and "
        "the restart windows were planned for this lifetime), a longer one is a note. "
        f"Unchecked when left out. {SPAN_HELP}.",
    )

    @model_validator(mode="after")
    def _one_key(self) -> AcmeIssuerSpec:
        if (self.account_key_env is None) == (self.account_key_file is None):
            raise ValueError("set exactly one of account_key_env and account_key_file")
        if (self.eab_kid_env is None) != (self.eab_hmac_key_env is None):
            raise ValueError("External Account Binding needs both eab_kid_env and eab_hmac_key_env")
        return self

    @property
    def directory_url(self) -> str:
        """The directory URL, the two Let's Encrypt names resolved."""
        return ACME_DIRECTORIES.get(self.directory, self.directory)


class ExpresswayAcmeIssuerSpec(_IssuerBase):
    """``expressway-acme``: the Expressway-E's own ACME client (X12.5+, HTTP-01 on the box's
    port 80). certops plans it as a manual step (the GUI path), with the trust of
    ``ca_files`` first."""

    type: Literal["expressway-acme"]
    eku: tuple[EkuName, ...] = Field(
        ("serverAuth",),
        min_length=1,
        description="The Extended Key Usages the ACME CA's certificates carry.",
    )


def renew_before_of(
    node_value: str | None, policy: Policy, issuer: AnyIssuerSpec | None
) -> str:
    """The ``renew_before`` a node's certificate is renewed by: the node's, else the policy's
    when written, else ``1/3`` of the lifetime for an ACME issuer, else the policy default."""
    if node_value:
        return node_value
    if "renew_before" in policy.model_fields_set or not isinstance(issuer, AcmeIssuerSpec):
        return policy.renew_before
    return ACME_RENEW_BEFORE


IssuerSpec = Annotated[
    CommandIssuerSpec | AcmeIssuerSpec | ExpresswayAcmeIssuerSpec, Field(discriminator="type")
]
AnyIssuerSpec = CommandIssuerSpec | AcmeIssuerSpec | ExpresswayAcmeIssuerSpec


class WindowSpec(Frozen):
    """A change window: it opens at each time ``cron`` matches (in ``timezone``) and stays
    open for ``duration``. Disruptive steps (restarts) of the nodes that name it run only
    then; everything else runs at any time."""

    cron: str = Field(
        description="When the window opens: a five-field cron expression (minute hour "
        "day-of-month month day-of-week), or six with cronsim's seconds field first, read "
        "in `timezone`; e.g. '0 22 * * 1-5'."
    )
    duration: str = Field(description=f"How long it stays open: {SPAN_HELP}.")
    timezone: str = Field(
        "UTC", description="IANA time zone the cron expression is read in (Europe/Zurich); "
        "daylight saving time is followed."
    )

    _span = field_validator("duration")(_check_span)


class FreezeSpec(Frozen):
    """A change freeze: from the start of ``from`` to the end of ``to`` (whole days in
    ``timezone``), apply changes no node, whatever the windows say."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    from_: date = Field(alias="from", description="First day of the freeze (YYYY-MM-DD).")
    to: date = Field(description="Last day of the freeze, included (YYYY-MM-DD).")
    reason: str = Field(min_length=1, description="Why: shown when an apply is refused.")
    timezone: str = Field("UTC", description="IANA time zone of the days (default UTC).")


class EmergencySpec(Frozen):
    """What a CA's revocation, or an expired API certificate, may do to the change windows
    (``emergency:``)."""

    revocation: Literal["wait-for-window", "restart-now"] = Field(
        "wait-for-window",
        description="A node whose certificate its CA revokes (cert.revoked) or asks to replace "
        "now through ARI (cert.revocation_pending): restart-now lets its restarts run outside "
        "its restart window (drained as configured, the reason in the plan and the apply "
        "report); wait-for-window keeps them owed to the window. A freeze always wins.",
    )
    expired: Literal["restart-now", "wait-for-window"] = Field(
        "restart-now",
        description="A node whose API certificate has expired (node.api_cert_expired: it is "
        "already an outage, read and repaired under its pin): restart-now (the default) lets "
        "the restart that serves its new certificate run outside its restart window, drained "
        "as configured; wait-for-window keeps it owed to the window. A freeze always wins.",
    )


class FleetSpec(Frozen):
    """``certops.yaml``: policy, links between nodes, clusters, defaults, issuers, change
    windows, freezes and the emergency policy."""

    policy: Policy = Field(default_factory=Policy)
    links: tuple[tuple[str, str], ...] = Field(
        (),
        description="Pairs of nodes or clusters that open TLS to each other (traversal zones, "
        "MRA, trunks); a cluster's name means every member.",
    )
    clusters: dict[str, ClusterSpec] = Field(
        default_factory=dict, description="Clusters by name, with their disruption budget."
    )
    defaults: Defaults = Field(default_factory=Defaults)
    issuers: dict[str, IssuerSpec] = Field(
        default_factory=dict, description="Issuers that node files name in server_certificate."
    )
    windows: dict[str, WindowSpec] = Field(
        default_factory=dict,
        description="Change windows by name; restart_window (defaults, a cluster, a node file) "
        "names one. Outside its window a node's restarts are owed, not run.",
    )
    freeze: tuple[FreezeSpec, ...] = Field(
        (), description="Change freezes: while one covers the moment, apply changes no node."
    )
    emergency: EmergencySpec = Field(
        default_factory=EmergencySpec,
        description="Whether a CA's revocation may restart outside the change windows.",
    )


class CredentialsSpec(Frozen):
    """Names of environment variables that hold the node's API credentials (never the values)."""

    username_env: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    password_env: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")


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


class CertificateSpec(ServerCertificateSpec):
    """A certificate of the node by role (``certificates:``): the keys of
    ``server_certificate``, plus ``copy_from`` for a role that takes a copy of another."""

    subject_alt_names: tuple[SanName, ...] = Field(
        (),
        description="DNS names (and IP addresses) the certificate must carry (at least one, "
        "unless copy_from is set).",
    )
    copy_from: str | None = Field(
        None,
        description="Expressway X15.5+ client role: copy this role's certificate (e.g. "
        "'server') into the client store instead of a certificate of its own (Cisco's "
        "'Upload server certificate file as client certificate'). Every far end must then "
        "ignore clientAuth: the plan names each such link.",
    )
    self_signed: bool = Field(
        False,
        description="VOS identities (Unified CM callmanager, tvs, itlrecovery, capf, ...): "
        "the node's own self-signed certificate. Renewal regenerates it on the node (never a "
        "CSR to a CA); subject_alt_names may be left out (the node names it).",
    )

    @field_validator("subject_alt_names")
    @classmethod
    def _not_empty(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        return names  # checked with copy_from below

    @model_validator(mode="after")
    def _names_or_copy(self) -> CertificateSpec:
        if self.self_signed:
            if self.file or self.issuer or self.copy_from:
                raise ValueError("self_signed: the node regenerates its own certificate: leave "
                                 "out file, issuer and copy_from")
            return self
        if self.copy_from is None and not self.subject_alt_names:
            raise ValueError("list subject_alt_names (at least one), or set copy_from")
        if self.copy_from is not None and (self.file or self.issuer or self.subject_alt_names):
            raise ValueError("copy_from takes the other role's certificate: leave out file, "
                             "issuer and subject_alt_names")
        return self


class TrustStoreSpec(Frozen):

    """A trust store: the CA files and CA sets it must hold, and whether others are removed."""

    cas: tuple[str, ...] = Field(
        (),
        description="CA certificate files (one CA each, under cas/) and CA set files (several "
        "CAs each, under ca-sets/: every CA of the set is listed), relative to this file.",
    )
    prune: bool = Field(
        False,
        description="Remove CAs that are not listed (never one a live or planned leaf needs).",
    )

    @model_validator(mode="before")
    @classmethod
    def _list_shorthand(cls, value: object) -> object:
        # A bare list is the common case: `trust: [../cas/a.pem, ../ca-sets/builtin.pem]`.
        return {"cas": value} if isinstance(value, list | tuple) else value


class NodeSpecBase(RestartSettings):
    """What every node file holds, whatever its kind. Each device kind (``reconciler.kinds``)
    subclasses it with its ``type`` literal and its ``trust`` shape."""

    type: str
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$", description="Unique node name.")
    api: str = Field(pattern=r"^https?://", description="Base URL of the management API.")
    credentials: CredentialsSpec | None = None
    connection: ConnectionSpec = Field(default_factory=ConnectionSpec)
    tls_verify: bool = Field(
        True,
        description="Verify the node's TLS certificate. Turning it off is shown in every plan.",
    )
    labels: dict[str, str] = Field(default_factory=dict, description="For --select (site, role).")
    derive_trust: bool | None = Field(None, description="Overrides defaults.derive_trust.")
    csr: CsrSubjectSpec | None = Field(
        None, description="Overrides defaults.csr field by field for this node's CSRs."
    )
    server_certificate: ServerCertificateSpec | None = None
    certificates: dict[str, CertificateSpec] = Field(
        default_factory=dict,
        description="The node's certificates by role (Expressway X15.5+: server, client; "
        "Unified CM: tomcat). server_certificate is the kind's primary role written the old "
        "way; declare the primary role in one place only.",
    )

    # The trust stores of this kind, in a fixed order (set by each kind's spec class).
    STORES: ClassVar[tuple[str, ...]] = ()

    def stores(self) -> dict[str, TrustStoreSpec]:
        """The trust stores the file declares, by store name, in ``STORES`` order."""
        raise NotImplementedError

    def role_specs(self, primary: str) -> dict[str, ServerCertificateSpec]:
        """Every declared certificate by role, ``server_certificate`` as ``primary``."""
        out: dict[str, ServerCertificateSpec] = dict(self.certificates)
        if self.server_certificate is not None:
            out.setdefault(primary, self.server_certificate)
        return out

    def role_path(self, role: str, primary: str) -> tuple[str, ...]:
        """Where role ``role``'s spec is written in the node file."""
        if role == primary and self.server_certificate is not None:
            return ("server_certificate",)
        return ("certificates", role)

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
@lru_cache(maxsize=65_536)
def _resolve_in(file: str, ref: str) -> str:
    # Memoised: an imported fleet's Unified CM node files each name the same 600 CA files.
    return _resolve(posixpath.dirname(file), ref)


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
    # The desired-state directory as written and as resolved (absolute): an absolute file
    # reference inside it is read as the root-relative path it names.
    roots: tuple[str, ...] = Field((), exclude=True, repr=False)

    @property
    def name(self) -> str:
        return self.spec.name

    def pos(self, *path: str | int) -> SourcePos:
        """Position of a key path like ``("trust", "cas", 1)``; falls back to the nearest parent."""
        return nearest(self.positions, path, self.file)

    def resolve(self, ref: str) -> str:
        """Root-relative path of a file reference written relative to this node file (or
        written as an absolute path inside the desired-state directory)."""
        if posixpath.isabs(ref):
            target = posixpath.normpath(ref)
            for root in self.roots:
                if target.startswith(root.rstrip("/") + "/"):
                    return target[len(root.rstrip("/")) + 1:]
        return _resolve_in(self.file, ref)


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
        return self._by_name.get(name)

    @cached_property
    def _by_name(self) -> dict[str, DesiredNode]:
        """Nodes by name, built once (a scan per look-up made fleet-wide loops quadratic);
        the first of a repeated name, as the scan found it."""
        out: dict[str, DesiredNode] = {}
        for node in self.nodes:
            out.setdefault(node.name, node)
        return out

    def peers(self, name: str) -> tuple[str, ...]:
        """Names of the nodes linked to ``name`` (through clusters too), sorted."""
        return self._peer_map.get(name, ())

    @cached_property
    def _peer_map(self) -> dict[str, tuple[str, ...]]:
        out: dict[str, set[str]] = {}
        for pair in self.linked_pairs():
            a, b = sorted(pair)
            out.setdefault(a, set()).add(b)
            out.setdefault(b, set()).add(a)
        return {n: tuple(sorted(p)) for n, p in out.items()}

    def members(self, name: str) -> tuple[str, ...]:
        """The nodes a link end stands for: a cluster's members, or the node itself."""
        cluster = self.fleet.clusters.get(name)
        return cluster.members if cluster is not None else (name,)

    def linked_pairs(self) -> set[frozenset[str]]:
        """Every pair of nodes that open TLS to each other: the links with clusters expanded
        to their members, and the members of each cluster among themselves."""
        pairs = {
            frozenset((x, y))
            for a, b in self.fleet.links
            for x in self.members(a)
            for y in self.members(b)
            if x != y
        }
        for cluster in self.fleet.clusters.values():
            pairs |= {frozenset((x, y)) for x in cluster.members for y in cluster.members if x < y}
        return pairs

    def cluster_of(self, node: str) -> str | None:
        """The name of the cluster ``node`` belongs to, if any."""
        return next((n for n, c in sorted(self.fleet.clusters.items()) if node in c.members), None)

    def multi_server_of(self, node: str) -> tuple[str, ClusterSpec] | None:
        """The cluster (name, spec) whose one multi-server (SAN) tomcat certificate ``node``
        serves (``tomcat_identity: multi-server`` with a publisher), if any."""
        name = self.cluster_of(node)
        if name is None:
            return None
        cluster = self.fleet.clusters[name]
        if not cluster.multi_server or cluster.publisher is None:
            return None
        return name, cluster

    def fleet_pos(self, *path: str | int) -> SourcePos:
        """Position of a key path in ``certops.yaml`` (see ``DesiredNode.pos``)."""
        return nearest(self.fleet_positions, path, self.fleet_file)
