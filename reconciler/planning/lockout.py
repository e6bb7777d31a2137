"""Would an install lock certops out of the node's API? (issue 11 c)

The certificate a node's management API presents is the one certops installs (Expressway:
the server certificate; VOS: the tomcat identity). After the install and the restart,
certops must still verify it, or the very next plan cannot read the node
(CERTIFICATE_VERIFY_FAILED). This pure check compares each planned certificate with how
certops authenticates that node's API: its pins, its ``connection.ca_file``, or the CAs of
``cas/`` (plus the inventory's bundles and the system store's certificates, which the use
case passes in), and the name it verifies. A mismatch is a blocking ``api.lockout``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from reconciler.model import Action, Code, Finding, Severity
from reconciler.pki import CertInfo


@dataclass(frozen=True)
class ApiTrust:
    """How certops authenticates one node's API (from its endpoint)."""

    server_name: str  # the name the certificate must carry (tls_server_name or the URL's host)
    anchors: tuple[CertInfo, ...] = ()  # CAs that verify it (pins and verify-off: unused)
    pins: tuple[str, ...] = ()  # "sha256:<hex>" of accepted certificates
    verify: bool = True
    anchors_from: str = "cas/ and the system store"  # for the message


def chains_to(leaf: CertInfo, chain: Iterable[CertInfo], anchors: Iterable[CertInfo]) -> bool:
    """Whether ``leaf`` with ``chain`` reaches one of ``anchors`` (by certificate, or by an
    anchor that issued the top of the chain: same subject and key identifier)."""
    pool = {a.sha256 for a in anchors}
    names = {(a.subject, a.subject_key_id) for a in anchors}
    certs = [leaf, *chain]
    if any(c.sha256 in pool for c in certs[1:]):
        return True
    return any((c.issuer, c.authority_key_id) in names for c in certs)


def covers(leaf: CertInfo, name: str) -> bool:
    """Whether ``leaf`` carries ``name`` as a DNS or IP SAN (a leading wildcard label too)."""
    name = name.lower().rstrip(".")
    if name in {n.lower() for n in leaf.dns_names} or name in leaf.ip_addresses:
        return True
    rest = name.partition(".")[2]
    return bool(rest) and f"*.{rest}" in {n.lower() for n in leaf.dns_names}


def lockout_findings(
    actions: Iterable[Action],
    planned: Mapping[str, tuple[CertInfo, tuple[CertInfo, ...]]],
    trust: Mapping[str, ApiTrust],
) -> list[Finding]:
    """An ``api.lockout`` error for each install whose certificate certops could not verify
    on the node's API afterwards; ``planned`` maps a node to its new leaf and chain."""
    out: list[Finding] = []
    for action in actions:
        how = trust.get(action.node)
        new = planned.get(action.node)
        if action.kind != "cert.install" or how is None or new is None or not how.verify:
            continue
        problem = _problem(new[0], new[1], how)
        if problem:
            out.append(Finding(code=Code.API_LOCKOUT, severity=Severity.ERROR,
                               node=action.node, message=f"after {action.id} certops could not "
                               f"verify {action.node}'s API: {problem}"))
    return out


def _problem(leaf: CertInfo, chain: tuple[CertInfo, ...], how: ApiTrust) -> str:
    """Why ``leaf`` would not authenticate the node, with the fix; "" when it would."""
    if how.pins:
        pin = f"sha256:{leaf.sha256}"
        if pin in how.pins:
            return ""
        return (f"the new certificate matches none of connection.api_pins; add '{pin}' to "
                "api_pins in the same change (keep the current pin until the restart)")
    if not covers(leaf, how.server_name):
        return (f"the new certificate does not carry {how.server_name}, the name certops "
                "verifies (add it to the SANs, or set connection.tls_server_name)")
    if chains_to(leaf, chain, how.anchors):
        return ""
    top = chain[-1] if chain else leaf
    return (f"its chain ends at '{top.subject if top.self_signed else top.issuer}', which is "
            f"not among the CAs certops verifies node APIs with ({how.anchors_from}); add that "
            "root under cas/ (or to the node's connection.ca_file) in the same change")
