"""CA/B Forum BR 7.1.4.3: a leaf's subject CN, if present, is one of its SANs, verbatim.

A DNS name must be a character-for-character copy of a dNSName SAN (same case, A-labels);
an IP address must be the text of an iPAddress SAN: dotted decimal (RFC 3986 3.2.2) for
IPv4, RFC 5952 section 4 for IPv6 (lowercase, shortest, ``::`` at the first longest zero
run), which is how ``CertInfo`` writes IP SANs. Pure: no I/O.
"""

from __future__ import annotations

import ipaddress

from cryptography.x509.oid import NameOID

from reconciler.pki.certinfo import CertInfo


def _canonical_ip(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def cn_problem(cn: str, dns_names: tuple[str, ...], ip_addresses: tuple[str, ...]) -> str | None:
    """Why ``cn`` is not a verbatim SAN value (BR 7.1.4.3), or None when it is one."""
    if cn in dns_names or cn in ip_addresses:
        return None
    sans = ", ".join([*dns_names, *ip_addresses]) or "none"
    ip = _canonical_ip(cn)
    if ip is not None and ip in ip_addresses:
        return (f"writes the IP address SAN {ip} as {cn!r}: an IP address in the CN must be "
                "its RFC 5952 (IPv6) or dotted-decimal (IPv4) text")
    folded = [n for n in dns_names if n.lower() == cn.lower()]
    if folded:
        return (f"differs in letter case from the SAN {folded[0]!r}: the CN must be a "
                "character-for-character copy of a dNSName SAN")
    if not cn.isascii():
        return (f"is a Unicode name, not among its SANs ({sans}): the CN must be a "
                "character-for-character copy of a dNSName SAN (A-labels, 'xn--')")
    if any(c.isdigit() for c in cn) and ip_addresses and ip is None:
        return (f"is not among its SANs ({sans}); if it is meant as an IP address, it must "
                "be dotted decimal (RFC 3986 3.2.2) without leading zeros or hex")
    return f"is not among its Subject Alternative Names ({sans})"


def cn_problems(leaf: CertInfo) -> list[str]:
    """What is wrong with ``leaf``'s subject CN under BR 7.1.4.3 (empty when nothing)."""
    cns = [str(a.value) for a in leaf.cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    if len(cns) > 1:
        return [f"the certificate has {len(cns)} subject common names ({', '.join(cns)}); at "
                "most one is allowed, and it must be one of its SANs"]
    why = cn_problem(cns[0], leaf.dns_names, leaf.ip_addresses) if cns else None
    return [] if why is None else [f"the certificate's subject CN {cns[0]!r} {why}"]
