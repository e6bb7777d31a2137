"""The installed certificates an issuer of certops.yaml renews: every role, not only the
primary one.

A node's primary certificate (``server_certificate``) and each other declared role
(``certificates:``, e.g. an Expressway's client certificate at X15.5) that names an
``issuer:`` is one ``Managed``: its key (``<node>`` or ``<node>.<role>``,
``model.layout.role_stem``), the issuer, the issuer's declared CAs and the leaf the node has
installed. The CA and CRL checks at plan time (``usecases.renewal``,
``usecases.revocation``) walk this one list, so no role is left out of either.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from reconciler.checks import FleetView
from reconciler.model import LiveNode
from reconciler.model.layout import role_stem
from reconciler.pki import CertCache, CertInfo, PkiError


@dataclass(frozen=True)
class Managed:
    """One installed certificate that an issuer renews."""

    node: str
    role: str | None  # None: the primary role
    issuer: str
    cas: tuple[CertInfo, ...]  # the issuer's declared CA certificates
    leaf: CertInfo

    @property
    def key(self) -> str:
        return role_stem(self.node, self.role)


def managed_certificates(fleet: FleetView, live: Mapping[str, LiveNode],
                         cache: CertCache) -> Iterator[Managed]:
    """Each installed certificate of a read node whose role names an issuer, by node, the
    primary role first."""
    for name in sorted(fleet.nodes):
        snapshot = live.get(name)
        if snapshot is None:
            continue
        view = fleet.nodes[name]
        roles: list[tuple[str | None, str | None, tuple[CertInfo, ...], str | None]]
        roles = [(None, view.issuer, view.issuer_chain, snapshot.server_certificate)]
        roles += [(role, rv.issuer, rv.issuer_chain, snapshot.role_certificates.get(role))
                  for role, rv in sorted(view.roles.items())]
        for role, issuer, cas, pem in roles:
            leaf = _leaf(pem, cache)
            if issuer and leaf is not None:
                yield Managed(name, role, issuer, cas, leaf)


def _leaf(pem: str | None, cache: CertCache) -> CertInfo | None:
    if not pem:
        return None
    try:
        chain = cache.parse_text(pem)
    except PkiError:
        return None
    return chain[0] if chain else None


def spec_at(role: str | None) -> tuple[str, ...]:
    """The node-file key a role's certificate is declared under (for finding locations)."""
    return ("server_certificate",) if role is None else ("certificates", role)
