"""Does a certificate cover a host name or IP address? RFC 6125 matching, as TLS clients do.

DNS names compare case-insensitively, without a trailing dot. A wildcard is accepted only as
the whole left-most label (``*.example.com``), matches exactly one label, never the bare
domain, and needs at least two labels after it. IP addresses match IP SANs only, never a
DNS SAN or the subject CN.
"""

from __future__ import annotations

import ipaddress

from reconciler.pki.certinfo import CertInfo


def _norm(name: str) -> str:
    return name.strip().lower().rstrip(".")


def normalize_host(name: str) -> str:
    """A requested host name in its ASCII (A-label) form; SANs are never converted."""
    name = _norm(name)
    if name.isascii():
        return name
    try:
        return name.encode("idna").decode("ascii")
    except UnicodeError:
        return name


def is_wildcard(dns_name: str) -> bool:
    return "*" in dns_name


def dns_matches(pattern: str, host: str) -> bool:
    """RFC 6125 section 6.4.3, restricted to a whole left-most ``*`` label."""
    pattern, host = _norm(pattern), normalize_host(host)
    if not pattern or not host or not pattern.isascii():
        return False
    if "*" not in pattern:
        return pattern == host
    labels = pattern.split(".")
    if labels[0] != "*" or any("*" in label for label in labels[1:]) or len(labels) < 3:
        return False
    host_labels = host.split(".")
    same_shape = len(host_labels) == len(labels) and bool(host_labels[0])
    return same_shape and host_labels[1:] == labels[1:]


def ip_of(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """``name`` as an IP address (brackets of an IPv6 URL host allowed), or None."""
    try:
        return ipaddress.ip_address(name.strip().strip("[]"))
    except ValueError:
        return None


def covers(cert: CertInfo, name: str) -> bool:
    """True when ``cert``'s SANs cover ``name`` (a DNS name or an IP address)."""
    ip = ip_of(name)
    if ip is not None:
        return any(ip_of(a) == ip for a in cert.ip_addresses)
    return any(dns_matches(pattern, name) for pattern in cert.dns_names)
