"""Offline checks (docs/architecture.md): what can be judged from the desired state alone.

Each check is a pure function of the fleet view, the policy and a time, and returns findings
with a stable code, the node and the file position to fix. Live checks (issue 4) add to these.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from datetime import datetime
from urllib.parse import urlsplit

from reconciler.checks.fleet import FleetView, NodeView, derives_trust, renew_before
from reconciler.checks.windows import window_findings
from reconciler.kinds.roles import parse_version
from reconciler.model import (
    Code,
    Finding,
    ServerCertificateSpec,
    Severity,
    SourcePos,
    parse_duration,
)
from reconciler.model.layout import csr_path, is_ca_set, misnamed_csr_path
from reconciler.pki import (
    CertCache,
    CertInfo,
    PkiError,
    ip_of,
    key_matches,
    same_subject,
    verify,
)


def _at(finding: Finding, view: NodeView, pos: SourcePos) -> Finding:
    return finding.model_copy(update={"node": view.name, "location": pos})


def _error(
    code: Code, view: NodeView, pos: SourcePos, message: str, severity: Severity = Severity.ERROR
) -> Finding:
    return Finding(code=code, severity=severity, message=message, node=view.name, location=pos)


def check_certificate(fleet: FleetView, view: NodeView, now: datetime) -> list[Finding]:
    """SANs, EKU, key, signature, validity and chain of the node's desired certificate file."""
    sc = view.node.spec.server_certificate
    if sc is None or not sc.file or view.leaf is None:
        return []
    return certificate_findings(fleet, view, view.leaf, view.bundled, now, sc.file)


def certificate_findings(
    fleet: FleetView,
    view: NodeView,
    leaf: CertInfo,
    bundled: Sequence[CertInfo],
    now: datetime,
    source: str,
    required_eku: Sequence[str] | None = None,
    role: str | None = None,
) -> list[Finding]:
    """Every offline rule on ``leaf`` as the server certificate of ``view``'s node.

    ``source`` names where the certificate came from in messages (its file, or the issuer
    that returned it during apply: the same rules hold for both). ``required_eku`` narrows
    the policy's EKUs for a node whose kind and live version need no clientAuth.
    """
    policy = fleet.desired.fleet.policy
    at = view.node.spec.role_path(role, "") if role else ("server_certificate",)
    file_pos = view.node.pos(*at, "file")
    pool = [*bundled, *fleet.ca_pool.values()]
    result = verify(
        leaf,
        intermediates=[c for c in pool if not c.self_signed],
        roots=[c for c in pool if c.self_signed],
        at=now,
        usages=required_eku if required_eku is not None else role_eku(fleet, view, role),
        policy=policy,
        kind_rules=view.kind.leaf_findings,
    )
    out = [_at(f, view, file_pos) for f in result.findings]
    out += _san_findings(view, leaf, source, file_pos, role)
    out += _renewal_findings(fleet, view, leaf, now, source, file_pos, role)
    return out


def _role_spec(view: NodeView, role: str | None) -> ServerCertificateSpec | None:
    spec = view.node.spec
    return spec.server_certificate if role is None else spec.certificates.get(role)


def check_role_certificates(fleet: FleetView, view: NodeView, now: datetime) -> list[Finding]:
    """The offline rules on each committed certificate of another role (``certificates:``)."""
    out: list[Finding] = []
    for name, rv in sorted(view.roles.items()):
        if rv.leaf is not None and rv.file:
            out += certificate_findings(fleet, view, rv.leaf, rv.bundled, now, rv.file, role=name)
    return out


def role_eku(fleet: FleetView, view: NodeView, role: str | None,
             version: str | None = None, settings: Mapping[str, str] | None = None,
             ) -> tuple[str, ...]:
    """The EKUs a certificate of ``role`` (None: the primary) must carry: the fleet's
    ``policy.required_eku`` where set (an override), else the kind's rule for the role at
    ``version`` (unknown: what every version needs, as ``validate`` knows no version)."""
    override = fleet.desired.fleet.policy.required_eku
    table = view.kind.role_table
    name = role or table.primary
    if override is not None:
        # As before roles: the override, without clientAuth on the primary role where the
        # node's live version separates server and client certificates.
        if name == table.primary and version and not view.kind.needs_client_auth(version):
            return tuple(u for u in override if u != "clientAuth")
        return tuple(override)
    if version is None:
        need = table.minimum_eku(name)
    else:
        need = table.needed_eku(name, parse_version(version), settings)
    return tuple(sorted(need, key=("serverAuth", "clientAuth").index))


def _san_findings(view: NodeView, leaf: CertInfo, source: str, pos: SourcePos,
                  role: str | None = None) -> list[Finding]:
    """Cisco's step C: the certificate carries exactly the names the node file lists."""
    sc = _role_spec(view, role)
    want = {n.lower() for n in sc.subject_alt_names} if sc else set()
    have = leaf.san_set()
    if want == have:
        return []
    parts = []
    if missing := sorted(want - have):
        parts.append(f"it lacks {', '.join(missing)}")
    if extra := sorted(have - want):
        parts.append(f"it adds {', '.join(extra)}")
    return [
        _error(
            Code.SAN_MISMATCH,
            view,
            pos,
            f"the SANs of {source} differ from subject_alt_names: {'; '.join(parts)}. "
            "Have the CA sign a CSR with exactly the listed names, or correct the list.",
        )
    ]


def _renewal_findings(
    fleet: FleetView, view: NodeView, leaf: CertInfo, now: datetime, source: str, pos: SourcePos,
    role: str | None = None,
) -> list[Finding]:
    """A certificate already inside its renewal window."""
    renew = renew_before(fleet.desired, view, role)
    due = leaf.not_after - parse_duration(renew, leaf.not_before, leaf.not_after)
    if not due <= now < leaf.not_after:
        return []
    days = (leaf.not_after - now).days
    return [
        _error(
            Code.RENEWAL_DUE,
            view,
            pos,
            f"{source} expires on {leaf.not_after:%Y-%m-%d} ({days} days left; renew_before "
            f"{renew}): {_renew_how(view)}",
            Severity.WARNING,
        )
    ]


def _renew_how(view: NodeView) -> str:
    """What to change so that a renewal happens: a pinned file never renews by itself."""
    sc = view.node.spec.server_certificate
    if sc is None or sc.file is None or sc.issuer is not None:
        return "request a new certificate."
    return (
        f"the certificate is pinned by server_certificate.file: '{sc.file}' in "
        f"{view.node.file}, so certops will not renew it. Either remove that file: line, and "
        "certops plans a CSR on the node (have your CA sign it, then pin the new certificate "
        "again or leave file: out), or replace it with issuer: NAME (an issuer of "
        "certops.yaml) so that apply has the certificate signed and installed; or commit a "
        f"renewed certificate over {sc.file}."
    )


def check_trust_gate(fleet: FleetView, view: NodeView) -> list[Finding]:
    """With ``derive_trust: false``, every chain the node must trust has to be listed (an
    issuer's declared chain as much as a committed certificate's)."""
    if derives_trust(fleet.desired, view.node):
        return []
    out: list[Finding] = []
    sources = [view, *(fleet.nodes[p] for p in fleet.desired.peers(view.name) if p in fleet.nodes)]
    kind = view.kind
    for source in sources:
        stores = kind.own_stores if source is view else kind.peer_stores
        for ca in source.known_chain():
            for store in stores:
                entry = view.trust.get(store, {}).get(ca.sha256)
                if entry is not None and entry.listed:  # one lookup: a list may hold 600 CAs
                    continue
                whose = "its own" if source is view else f"{source.name}'s"
                if source.chain is None:
                    whose += f" next (issuer {source.issuer})"
                file = fleet.ca_files.get(ca.sha256)
                ref = f"'../{file}'" if file else "it (save it under cas/ first)"
                where = ".".join(view.node.spec.store_path(store))
                out.append(
                    _error(
                        Code.TRUST_GATE,
                        view,
                        view.node.pos(*where.split(".")),
                        f"{whose} certificate chains to '{ca.subject}', which {store} of "
                        f"{view.name} does not list and derive_trust is off: add {ref} to {where} "
                        f"in {view.node.file}, or the link would fail after the install.",
                    )
                )
    return out


def check_csr(fleet: FleetView, view: NodeView, cache: CertCache) -> list[Finding]:
    """A committed CSR under csrs/ must match the certificate file meant to answer it."""
    desired = fleet.desired
    pem = desired.files.get(csr_path(view.name))
    sc = view.node.spec.server_certificate
    if pem is None or sc is None:
        return []
    try:
        csr = cache.parse_csr(pem.data)
    except PkiError:
        return []
    out: list[Finding] = []
    want = {n.lower() for n in sc.subject_alt_names}
    if not want <= csr.san_set():
        missing = ", ".join(sorted(want - csr.san_set()))
        out.append(
            _error(
                Code.CSR_SAN_MISMATCH,
                view,
                view.node.pos("server_certificate", "subject_alt_names"),
                f"{pem.path} does not request {missing}: a certificate signed from it would fail "
                "the SAN check. Let certops generate a new CSR.",
                Severity.WARNING,
            )
        )
    if view.leaf is not None and not key_matches(view.leaf, csr):
        out.append(
            _error(
                Code.CSR_KEY_MISMATCH,
                view,
                view.node.pos("server_certificate", "file"),
                f"{sc.file} was not issued for {pem.path} (different public key): if that is the "
                "node's pending CSR, the install will be refused.",
                Severity.WARNING,
            )
        )
    return out


def check_csr_name(fleet: FleetView, view: NodeView) -> list[Finding]:
    """``csrs/<node>.pem`` is not where certops looks for the node's CSR: say to rename it."""
    misnamed = misnamed_csr_path(view.name)
    if misnamed not in fleet.desired.files:
        return []
    root = fleet.desired.root
    shown = misnamed if root in ("", ".") else f"{root.rstrip('/')}/{misnamed}"
    return [
        Finding(
            code=Code.CSR_MISNAMED,
            severity=Severity.WARNING,
            message=f"certops reads the CSR of {view.name} from {csr_path(view.name)} only, so "
            f"this file is ignored: rename it (git mv {misnamed} {csr_path(view.name)}).",
            node=view.name,
            location=SourcePos(file=shown),
        )
    ]


def check_node_settings(view: NodeView) -> list[Finding]:
    if view.node.spec.tls_verify:
        return []
    return [
        _error(
            Code.TLS_VERIFY_OFF,
            view,
            view.node.pos("tls_verify"),
            "TLS verification of this node's API is off: certops cannot tell it from an impostor. "
            "Add its CA under cas/ and remove tls_verify: false.",
            Severity.WARNING,
        )
    ]


SubjectMemo = dict[tuple[str, ...], dict[str, int]]


def check_same_subject(
    fleet: FleetView, view: NodeView, memo: SubjectMemo | None = None
) -> list[Finding]:
    """Several CAs with the same subject in one list confuse Expressway's chain building.
    ``memo`` keeps the answer per list of files: many nodes list the same CA sets."""
    out: list[Finding] = []
    for store, certs in view.listed.items():
        paths = view.sources.get(store, ())
        found = memo.get(paths) if memo is not None else None
        if found is None:
            found = same_subject(certs)
            if memo is not None:
                memo[paths] = found
        for subject, count in found.items():
            out.append(
                _error(
                    Code.TRUST_SAME_SUBJECT,
                    view,
                    view.node.pos("trust"),
                    f"{store} lists {count} different CAs named '{subject}': keep one; "
                    "Cisco advises against several CAs with the same CN.",
                    Severity.WARNING,
                )
            )
    return out


def check_listed_cas(fleet: FleetView, view: NodeView, now: datetime) -> list[Finding]:
    """A CA listed in a trust store must still be valid: an expired one is never uploaded.
    Each file of the list is looked into only when its earliest notAfter has passed."""
    out: list[Finding] = []
    for store, paths in view.sources.items():
        for index, path in enumerate(paths):
            listed = fleet.listed_files.get(path)
            if listed is None or listed.first_expiry is None or listed.first_expiry > now:
                continue
            for cert in listed.certs:
                if cert.not_after <= now:
                    out.append(_expired_listed(view, store, index, path, cert))
    return out


def _expired_listed(view: NodeView, store: str, index: int, path: str, cert: CertInfo) -> Finding:
    """``ca.expired`` at the list item that names the CA's file (or the CA set holding it)."""
    spec = view.node.spec
    fix = (f"remove it from the CA set {path}" if is_ca_set(path)
           else "remove it from the list")
    return _error(
        Code.CA_EXPIRED,
        view,
        view.node.pos(*spec.store_path(store), "cas", index),
        f"'{cert.subject}' in {store} expired on {cert.not_after:%Y-%m-%d}: it is "
        f"never uploaded; {fix} (and replace it with its successor if a certificate still "
        "chains to it).",
    )


def check_cluster_names(fleet: FleetView, view: NodeView) -> list[Finding]:
    """A cluster member's certificate carries the cluster's shared names besides its own."""
    cluster = fleet.desired.cluster_of(view.name)
    sc = view.node.spec.server_certificate
    if cluster is None or sc is None:
        return []
    shared = fleet.desired.fleet.clusters[cluster].shared_names
    missing = sorted({n.lower() for n in shared} - {n.lower() for n in sc.subject_alt_names})
    if not missing:
        return []
    return [
        _error(
            Code.CLUSTER_SHARED_NAMES,
            view,
            view.node.pos("server_certificate", "subject_alt_names"),
            f"{view.name} is a member of cluster '{cluster}', whose members must all carry "
            f"{', '.join(missing)}: add them to subject_alt_names (clients may reach any peer "
            "by those names).",
        )
    ]


def member_fqdn(view: NodeView) -> str | None:
    """The name a member is reached by: ``connection.tls_server_name``, else the API URL's
    host unless it is an IP address (then unknown)."""
    spec = view.node.spec
    host = spec.connection.tls_server_name or (urlsplit(spec.api).hostname or "")
    return None if ip_of(host) is not None else host.lower() or None


def check_multi_server(fleet: FleetView, view: NodeView) -> list[Finding]:
    """A multi-server cluster: the publisher's certificate names every member and the
    cluster's shared names; the other members carry no tomcat certificate settings."""
    name = fleet.desired.cluster_of(view.name)
    cluster = fleet.desired.fleet.clusters[name] if name else None
    if cluster is None or not cluster.multi_server or cluster.publisher is None:
        return []
    sc = view.node.spec.server_certificate
    if view.name != cluster.publisher:
        if sc is None:
            return []
        return [_error(
            Code.CLUSTER_MULTI_SERVER, view, view.node.pos("server_certificate"),
            f"{view.name} is a member of cluster '{name}' (tomcat_identity: multi-server): "
            f"its tomcat certificate is the cluster's, generated on {cluster.publisher} and "
            "distributed by the cluster. Remove server_certificate from this file and list "
            f"{view.name}'s name in {cluster.publisher}'s subject_alt_names.",
        )]
    members = [fleet.nodes[m] for m in cluster.members if m in fleet.nodes]
    want = {f for m in members if (f := member_fqdn(m))} | {n.lower() for n in cluster.shared_names}
    have = {n.lower() for n in sc.subject_alt_names} if sc else set()
    missing = sorted(want - have)
    if not missing:
        return []
    return [_error(
        Code.CLUSTER_MULTI_SERVER, view,
        view.node.pos("server_certificate", "subject_alt_names") if sc else view.node.pos(),
        f"{view.name} publishes the multi-server certificate of cluster '{name}', which every "
        f"member serves: its subject_alt_names lack {', '.join(missing)} (every member's FQDN "
        "and the cluster's shared_names).",
    )]


def check_issuer(fleet: FleetView, view: NodeView) -> list[Finding]:
    """The issuer a node names must be defined in certops.yaml; with a ``file`` it waits."""
    sc = view.node.spec.server_certificate
    if sc is None or not sc.issuer:
        return []
    issuers = fleet.desired.fleet.issuers
    pos = view.node.pos("server_certificate", "issuer")
    if sc.issuer not in issuers:
        close = difflib.get_close_matches(sc.issuer, sorted(issuers), n=3)
        hint = (
            f"did you mean {', '.join(close)}?"
            if close
            else f"defined issuers: {', '.join(sorted(issuers)) or 'none'}"
        )
        return [
            _error(
                Code.ISSUER_UNKNOWN,
                view,
                pos,
                f"issuer '{sc.issuer}' is not defined under issuers: in "
                f"{fleet.desired.fleet_file} ({hint})",
            )
        ]
    if sc.file:
        return [
            _error(
                Code.ISSUER_FILE_WINS,
                view,
                pos,
                f"server_certificate.file is set: {sc.file} is installed as it is; issuer "
                f"'{sc.issuer}' signs the next certificate once `file` is removed.",
                Severity.INFO,
            )
        ]
    return []


def check_issuers(fleet: FleetView) -> list[Finding]:
    """An issuer without ``ca_files``: its chain cannot be trusted ahead of the install."""
    desired = fleet.desired
    return [
        Finding(
            code=Code.ISSUER_NO_CHAIN,
            severity=Severity.WARNING,
            message=f"issuer '{name}' lists no ca_files: the chain of the certificates it "
            "issues cannot be trusted ahead of their install (the trust gate checks it only "
            "at apply). List its root and intermediates (files under cas/) in ca_files.",
            location=desired.fleet_pos("issuers", name),
        )
        for name, spec in sorted(desired.fleet.issuers.items())
        if not spec.ca_files
    ]


def offline_findings(fleet: FleetView, cache: CertCache, now: datetime) -> list[Finding]:
    """Every offline finding for every node, sorted."""
    out: list[Finding] = []
    subjects: SubjectMemo = {}
    for name in sorted(fleet.nodes):
        view = fleet.nodes[name]
        out += check_certificate(fleet, view, now)
        out += check_role_certificates(fleet, view, now)
        out += check_trust_gate(fleet, view)
        out += check_csr(fleet, view, cache)
        out += check_csr_name(fleet, view)
        out += check_node_settings(view)
        out += check_same_subject(fleet, view, subjects)
        out += check_listed_cas(fleet, view, now)
        out += check_cluster_names(fleet, view)
        out += check_multi_server(fleet, view)
        out += check_issuer(fleet, view)
    out += check_issuers(fleet)
    out += window_findings(fleet)
    return sorted(out, key=Finding.sort_key)
