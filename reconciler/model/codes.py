"""Every finding code, once: its severity (or severities) and what it means.

``Code`` members are strings (``Code.SAN_MISMATCH == "san.mismatch"``), so findings, JSON
and the README keep the dotted codes; the README's "Finding codes" table lists exactly these
(``tests/docs/test_readme_codes.py``). A code whose severity depends on the situation lists each
one it can take, the usual one first.
"""

from __future__ import annotations

from enum import StrEnum

from reconciler.model.common import Severity

E, W, I = Severity.ERROR, Severity.WARNING, Severity.INFO  # noqa: E741


class Code(StrEnum):
    """A stable finding code, with ``severities`` and a one-line ``meaning``."""

    severities: tuple[Severity, ...]
    meaning: str

    def __new__(cls, value: str, severities: tuple[Severity, ...], meaning: str) -> Code:
        member = str.__new__(cls, value)
        member._value_ = value
        member.severities = severities
        member.meaning = meaning
        return member

    # the loader: files, YAML, schema, references
    INPUT_YAML = "input.yaml", (E,), "the file is not valid YAML"
    INPUT_SCHEMA = "input.schema", (E,), "a key or value does not fit the schema"
    INPUT_MISSING = "input.missing", (E,), "the directory, certops.yaml or nodes/ is missing"
    INPUT_FILE_MISSING = "input.file_missing", (E,), "a referenced file does not exist"
    INPUT_FILE_OUTSIDE = "input.file_outside", (E,), "a reference leaves the directory"
    INPUT_READ = "input.read", (E,), "a file cannot be read"
    INPUT_PEM = "input.pem", (E,), "a PEM/DER file is empty, garbage or the wrong kind"
    INPUT_IGNORED = "input.ignored", (W,), "a file where certops does not read it"
    REPO_PRIVATE_KEY = "repo.private_key", (E,), "a private key under the directory"
    NODE_DUPLICATE = "node.duplicate", (E,), "two node files define the same node"
    NODE_NAME_MISMATCH = "node.name_mismatch", (W,), "a node file named unlike its node"
    LINK_UNKNOWN_NODE = "link.unknown_node", (E,), "a link names a node no file defines"
    LINK_SELF = "link.self", (E,), "a link joins a node to itself"
    LINK_DUPLICATE = "link.duplicate", (W,), "the same link twice"
    CLUSTER_INVALID = "cluster.invalid", (E,), "a cluster's members or publisher do not add up"
    CLUSTER_SHARED_NAMES = "cluster.shared_names", (E,), "a member lacks the cluster's names"
    CLUSTER_MULTI_SERVER = (
        "cluster.multi_server", (E,),
        "a multi-server certificate lacks a member's name, or a member has its own",
    )
    WINDOW_UNKNOWN = (
        "window.unknown", (E,), "restart_window names a window that certops.yaml lacks"
    )
    WINDOW_CRON = "window.cron", (E,), "a change window's cron expression is not valid"
    WINDOW_TIMEZONE = "window.timezone", (E,), "a window or freeze names an unknown time zone"
    WINDOW_SHORT = "window.short", (W,), "a window is shorter than the restarts it must hold"
    FREEZE_ORDER = "freeze.order", (E,), "a freeze ends (to) before it starts (from)"
    CA_DUPLICATE = "ca.duplicate", (W,), "the same CA in two files under cas/ or twice in a set"
    CSR_MISNAMED = "csr.misnamed", (W,), "a CSR saved as csrs/<node>.pem, not csrs/<node>.csr.pem"
    # certificate checks (pki, kinds)
    SAN_MISMATCH = "san.mismatch", (E,), "the certificate's SANs differ from subject_alt_names"
    SAN_NAME_MISMATCH = "san.name_mismatch", (E,), "the certificate does not cover a --name"
    SAN_WILDCARD = "san.wildcard", (E,), "a wildcard SAN on an Expressway"
    EKU_MISSING = "eku.missing", (E,), "TLS Web Server or Client Authentication is missing"
    KEY_WEAK = "key.weak", (E,), "the key is smaller than the policy allows"
    KEY_TOO_LARGE = "key.too_large", (W,), "RSA above 4096 bits breaks SIP TLS"
    SIGNATURE_WEAK = "signature.weak", (E,), "a hash outside signature_hashes"
    CERT_EXPIRED = "cert.expired", (E,), "the certificate has expired"
    CERT_NOT_YET_VALID = "cert.not_yet_valid", (E,), "the certificate is not valid yet"
    CERT_IS_CA = "cert.is_ca", (E,), "a CA certificate given as a server certificate"
    CERT_REVOKED = "cert.revoked", (W,), "the live certificate is on its issuer's CRL"
    CERT_EMERGENCY = (
        "cert.emergency", (W,), "a revoked certificate's restarts skip or wait for the window"
    )
    CERT_CRL_UNAVAILABLE = (
        "cert.crl_unavailable", (W,), "the issuer's CRL could not be read or verified"
    )
    CERT_REVOCATION_PENDING = (
        "cert.revocation_pending", (W,), "the CA asks (ARI) for the certificate's replacement now"
    )
    CHAIN_INCOMPLETE = "chain.incomplete", (E,), "the chain does not reach a known root"
    CHAIN_INVALID = "chain.invalid", (E,), "the chain fails verification"
    CHAIN_WEBPKI_STRICTER = "chain.webpki_stricter", (W,), "only the WebPKI verifier refuses it"
    X509_LENIENT = "x509.lenient", (W,), "accepted as OpenSSL/Java do, against a named rule"
    # offline checks of the fleet
    TRUST_GATE = "trust.gate", (E,), "derive_trust is off and a store lacks a needed chain"
    TRUST_SAME_SUBJECT = "trust.same_subject", (W,), "different CAs with the same subject"
    CSR_KEY_MISMATCH = "csr.key_mismatch", (W, E), "the certificate does not answer the CSR"
    CSR_SAN_MISMATCH = "csr.san_mismatch", (W,), "the committed CSR lacks a desired SAN"
    RENEWAL_DUE = "renewal.due", (W,), "the certificate is inside its renewal window"
    RENEWAL_FEW_WINDOWS = (
        "renewal.few_windows", (E, W), "the renewal period holds fewer than two restart windows"
    )
    RENEWAL_WAITS_FOR_WINDOW = (
        "renewal.waits_for_window", (I,),
        "the CA's ARI window is open; the renewal waits for the node's restart window inside it",
    )
    RENEWAL_EVERY_RUN = (
        "renewal.every_run", (E,), "renew_before is as long as the certificate's lifetime"
    )
    TLS_VERIFY_OFF = "tls.verify_off", (W,), "TLS verification of the node's API is off"
    # the planner
    NODE_UNREACHABLE = "node.unreachable", (E, W), "a node could not be read"
    NODE_API_CERT_EXPIRED = (
        "node.api_cert_expired", (W,),
        "the node's API certificate has expired: read and repaired under its committed pin"
    )
    NODE_HELD_BACK = (
        "node.held_back", (W,), "a node's actions wait for a node that could not be read"
    )
    API_LOCKOUT = "api.lockout", (E,), "an install would leave certops unable to verify the API"
    CONNECTION_CHANGED = "connection.changed", (E,), "the change edits how certops reaches a node"
    LIVE_UNPARSEABLE = "live.unparseable", (E, W), "a node answered something unparseable"
    LIVE_TRANSPORT = (
        "live.transport", (I,), "a VOS node read and changed over its platform CLI (no REST API)"
    )
    ISSUER_CHANGED = "issuer.changed", (I,), "the new certificate has another issuer"
    ISSUER_UNKNOWN = "issuer.unknown", (E,), "a node names an issuer that certops.yaml lacks"
    ISSUER_NO_CHAIN = "issuer.no_chain", (W,), "an issuer without ca_files: no chain known ahead"
    ISSUER_FILE_WINS = "issuer.file_wins", (I,), "both file and issuer: the file is used"
    ISSUER_NO_CLIENT_AUTH = (
        "issuer.no_client_auth", (E,), "the issuer's certificates lack clientAuth the node needs"
    )
    ISSUER_SECRET_IN_REPO = (
        "issuer.secret_in_repo", (E,), "an issuer's key file lies inside the desired state"
    )
    ISSUER_BUILTIN_ACME = (
        "issuer.builtin_acme", (E, I), "the node's own ACME client: a manual step, or none"
    )
    ISSUER_UNKNOWN_PROFILE = (
        "issuer.unknown_profile", (E, W), "an ACME issuer's profile is not one its CA offers"
    )
    ISSUER_ARI_UNAVAILABLE = (
        "issuer.ari_unavailable", (W,), "the CA's renewal information could not be read"
    )
    SAN_DROPPED = "san.dropped", (W,), "the new certificate drops names the live one has"
    SAN_LIVE_DIFFERS = "san.live_differs", (I,), "the live SANs differ: a CSR is planned"
    CSR_WAITING = "csr.waiting", (I,), "a pending CSR waits for its signed certificate"
    CSR_PENDING_UNKNOWN = "csr.pending_unknown", (W,), "a CSR may be pending and cannot be read"
    TRUST_UNMANAGED = "trust.unmanaged", (I,), "CAs on the node that the desired state omits"
    LINK_MISSING = (
        "link.missing", (W,), "the live trust shows two nodes connect, no link joins them"
    )
    TARGET_HELD = (
        "target.held", (I,), "with --node: an action that waits for another node's change"
    )
    FREEZE_ACTIVE = "freeze.active", (W,), "a change freeze covers now: apply changes no node"
    RESTART_RECORD_MISSING = (
        "restart.record_missing", (W,),
        "no record of owed restarts: the services that read a CA restart to be safe",
    )
    SHARD_OTHER = "shard.other", (I,), "an action left to another shard"
    SHARD_WAITING = "shard.waiting", (I,), "an action that waits for other shards"
    # drift and trust-store hygiene
    CSR_PENDING = "csr.pending", (I,), "a pending CSR, and for how long"
    TRUST_ORPHANED = "trust.orphaned", (I,), "a CA in a store that no leaf chains to"
    TRUST_DUPLICATE = "trust.duplicate", (W,), "the same CA twice in one store"
    CA_EXPIRED = "ca.expired", (W, E), "a CA in a store has expired"
    CA_EXPIRING = "ca.expiring", (W,), "a CA expires before a leaf that chains to it"
    DRIFT_CERTIFICATE = "drift.certificate", (W,), "a certificate install is due"
    DRIFT_TRUST = "drift.trust", (W,), "a trust store differs"
    DRIFT_RESTART_PENDING = "drift.restart_pending", (W,), "a restart is pending"
    DRIFT_MANUAL = "drift.manual", (W,), "a manual step is due"
    # certificate roles and the clientAuth sunset (planning/roles.py)
    ROLE_UNKNOWN = "role.unknown", (E,), "a certificates: role the node's kind does not have"
    ROLE_TWICE = "role.twice", (E,), "the primary role in server_certificate and certificates:"
    ROLE_UNDECLARED = (
        "role.undeclared", (I, W), "the node has a certificate role the file omits"
    )
    ROLE_UNREADABLE = (
        "role.unreadable", (I, W), "a role's store is not listed, or not on this version yet"
    )
    ROLE_COPY = (
        "role.copy", (I, W), "a client role copies the server certificate (no clientAuth)"
    )
    EKU_UPLOAD_SWITCH = (
        "eku.upload_switch", (W,), "X15.4 Expressway-E: serverAuth-only needs the upload switch"
    )
    EKU_CHECKING_MODE = "eku.checking_mode", (I,), "the node's SIP TLS EKU checking mode"
    LINK_VERSION_MISMATCH = (
        "link.version_mismatch", (W,), "the C and E of a traversal pair run other versions"
    )
    RENEWAL_FORECAST = (
        "renewal.forecast", (W,), "a renewal months ahead would fail: the issuer lacks an EKU"
    )
    # Unified CM identities and the phones' trust (planning/phones.py)
    ROLE_SELF_SIGNED = (
        "role.self_signed", (E,), "self_signed on a role that cannot be self-signed"
    )
    ROLE_PUBLISHER_ONLY = (
        "role.publisher_only", (E, W), "a subscriber declares an identity of the publisher only"
    )
    PHONES_HELD = (
        "phones.held", (W,), "an identity change waits for a later apply (a phone-trust rule)"
    )
    PHONES_BLOCKED = (
        "phones.blocked", (E,), "committed identity changes that break a phone-trust rule"
    )
    PHONES_ITL_RECOVERY = (
        "phones.itl_recovery", (W,), "ITLRecovery changes: phones need the old one for the new"
    )
    RESTART_VERSION_UNKNOWN = (
        "restart.version_unknown", (I,), "the version is unknown: the widest restart set is planned"
    )
    PHONES_MIXED_MODE = (
        "phones.mixed_mode", (W,), "mixed mode: the CTL file is updated by hand on the publisher"
    )
