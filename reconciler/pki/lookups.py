"""How ``CertInfo`` reads cryptography's objects cheaply, with the same answers.

Building a ``CertInfo`` runs for every certificate of every node a plan reads, so what it
costs per certificate is CPU per node (issue 24 §2). Two readings are cheaper here than the
obvious calls, and give the same values: the extensions looked up in one pass by the class
of their value (instead of one ``get_extension_for_class`` walk each), and an issuer's name
spelled once per distinct issuer (a fleet's certificates share a few issuers; spelling a
``Name`` builds a Python object per attribute). tests/pki/test_certinfo_cost.py checks both
against cryptography's own answers.
"""

from __future__ import annotations

from typing import TypeVar

from cryptography import x509

ExtT = TypeVar("ExtT", bound=x509.ExtensionType)

# The extension classes ``CertInfo`` and ``CsrInfo`` read. None has a subclass in
# cryptography (a test says so), so looking a value's exact class up gives what
# ``get_extension_for_class`` gives.
READ = (x509.SubjectAlternativeName, x509.KeyUsage, x509.ExtendedKeyUsage,
        x509.AuthorityKeyIdentifier, x509.SubjectKeyIdentifier, x509.BasicConstraints)

Found = dict[type[x509.ExtensionType], x509.Extension[x509.ExtensionType]]


def by_class(exts: x509.Extensions) -> Found:
    """Each extension by the class of its value, in one pass (the first of a class wins, as
    in ``get_extension_for_class``; cryptography refuses duplicates anyway). Six lookups by
    ``get_extension_for_class`` walked the list six times with an ``isinstance`` each."""
    found: Found = {}
    for ext in exts:
        found.setdefault(type(ext.value), ext)
    return found


def extension(found: Found, kind: type[ExtT]) -> x509.Extension[ExtT] | None:
    return found.get(kind)  # type: ignore[return-value]  # keyed by the value's class


# Issuer names already spelled, by their DER (from ``der.tbs_names_and_spki``). Equal DER
# parses to an equal Name, so the memo cannot change a spelling; when parsing fails, nothing
# is kept (the error is raised as before). Bounded: a fleet has a few issuers, not thousands.
# Threads (``CertCache`` is shared) at worst spell a name twice: each dict operation is atomic.
_ISSUERS: dict[bytes, str] = {}
_ISSUERS_MAX = 4096  # distinct issuers held at most; then the memo starts again


def issuer_string(cert: x509.Certificate, parts: tuple[bytes, bytes, bytes] | None,
                  subject: str) -> str:
    """``cert.issuer.rfc4514_string()``: from the memo, or the subject's spelling when the
    issuer's DER is the subject's (a self-named certificate), without parsing the Name again.
    ``parts`` is ``(issuer, subject, spki)`` DER of the certificate's TBS, None if unknown."""
    if parts is None:
        return cert.issuer.rfc4514_string()
    issuer_der, subject_der, _ = parts
    if issuer_der == subject_der:
        return subject
    found = _ISSUERS.get(issuer_der)
    if found is None:
        found = cert.issuer.rfc4514_string()
        if len(_ISSUERS) >= _ISSUERS_MAX:
            _ISSUERS.clear()
        _ISSUERS[issuer_der] = found
    return found
