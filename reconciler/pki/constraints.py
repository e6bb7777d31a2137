"""Name constraints as OpenSSL enforces them, for the lenient path check.

Every certificate below a CA with a nameConstraints extension (self-issued intermediates
excepted) must have its subject DN, subject e-mail addresses, SANs and, for the leaf, a
host-name-like CN (when it has no DNS SAN) inside the permitted and outside the excluded
subtrees. Supported forms: DNS, IP, e-mail, URI host and directory name, as in OpenSSL.
One deliberate difference: a wildcard SAN is refused when any name it stands for would be
excluded (``*.example.com`` under an excluded ``bar.example.com``), as RFC 9525 advises.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.x509.oid import NameOID

CHECK_LIMIT = 1 << 20  # names x constraints, as OpenSSL's NAME_CHECK_MAX
_SUPPORTED = (x509.DNSName, x509.IPAddress, x509.RFC822Name, x509.UniformResourceIdentifier,
              x509.DirectoryName)


def _dns_ok(constraint: str, name: str) -> bool:
    constraint, name = constraint.lower().rstrip("."), name.lower().rstrip(".")
    if not constraint:
        return True
    if constraint.startswith("."):
        return name.endswith(constraint)
    return name == constraint or name.endswith("." + constraint)


def _dns_excluded(constraint: str, name: str) -> bool:
    """Excluded if the name, or any name its wildcard could stand for, is in the subtree."""
    if _dns_ok(constraint, name):
        return True
    if not name.startswith("*."):
        return False
    base = name[2:].lower().rstrip(".")
    inner = constraint.lower().strip(".")
    return inner == base or inner.endswith("." + base)


def _email_ok(constraint: str, address: str) -> bool:
    """RFC 5280 4.2.1.10: a mailbox, a host (exactly), or ``.domain`` (any subdomain)."""
    host = address.rpartition("@")[2].lower()
    constraint = constraint.lower()
    if "@" in constraint:
        return constraint == address.lower()
    if constraint.startswith("."):
        return host.endswith(constraint)
    return host == constraint


def _dirname_ok(constraint: x509.Name, name: x509.Name) -> bool:
    want = list(constraint.rdns)
    return list(name.rdns)[: len(want)] == want


def _matches(constraint: x509.GeneralName, name: x509.GeneralName, excluded: bool) -> bool:
    if isinstance(constraint, x509.DNSName) and isinstance(name, x509.DNSName):
        if excluded:
            return _dns_excluded(constraint.value, name.value)
        return _dns_ok(constraint.value, name.value)
    if isinstance(constraint, x509.IPAddress) and isinstance(name, x509.IPAddress):
        net, address = constraint.value, name.value
        if not isinstance(net, ipaddress.IPv4Network | ipaddress.IPv6Network):
            return False
        if not isinstance(address, ipaddress.IPv4Address | ipaddress.IPv6Address):
            return False
        return address.version == net.version and address in net
    if isinstance(constraint, x509.RFC822Name) and isinstance(name, x509.RFC822Name):
        return _email_ok(constraint.value, name.value)
    if isinstance(constraint, x509.UniformResourceIdentifier) and isinstance(
        name, x509.UniformResourceIdentifier
    ):
        host = urlsplit(name.value).hostname or ""
        return bool(host) and _dns_ok(constraint.value, host)
    if isinstance(constraint, x509.DirectoryName) and isinstance(name, x509.DirectoryName):
        return _dirname_ok(constraint.value, name.value)
    return False


def _names(cert: x509.Certificate, leaf: bool) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    if len(cert.subject) > 0:
        names.append(x509.DirectoryName(cert.subject))
    for attr in cert.subject.get_attributes_for_oid(NameOID.EMAIL_ADDRESS):
        if isinstance(attr.value, str):
            names.append(x509.RFC822Name(attr.value))
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names.extend(san)
    except x509.ExtensionNotFound:
        san = None
    if leaf and not any(isinstance(n, x509.DNSName) for n in names):
        for attr in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME):
            value = attr.value if isinstance(attr.value, str) else ""
            if "." in value and all(c.isalnum() or c in "-.*" for c in value):
                names.append(x509.DNSName(value))
    return names


def violation(nc: x509.NameConstraints, cert: x509.Certificate, leaf: bool) -> str | None:
    """Why ``cert`` violates ``nc``, or None when it complies."""
    permitted = list(nc.permitted_subtrees or ())
    excluded = list(nc.excluded_subtrees or ())
    names = _names(cert, leaf)
    if len(names) * (len(permitted) + len(excluded)) > CHECK_LIMIT:
        return "too many names and constraints to check (possible denial of service)"
    for name in names:
        if not isinstance(name, _SUPPORTED):
            if any(type(c) is type(name) for c in permitted + excluded):
                return f"unsupported name constraint type {type(name).__name__}"
            continue
        if any(_matches(c, name, excluded=True) for c in excluded):
            return f"{_show(name)} is excluded by a name constraint"
        same_type = [c for c in permitted if type(c) is type(name)]
        if same_type and not any(_matches(c, name, excluded=False) for c in same_type):
            return f"{_show(name)} is outside the permitted name constraints"
    return None


def _show(name: x509.GeneralName) -> str:
    if isinstance(name, x509.DirectoryName):
        return f"'{name.value.rfc4514_string()}'"
    return f"'{name.value}'"
