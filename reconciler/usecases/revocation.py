"""Revoked certificates at plan time: each issued certificate against its issuer's CRL.

For every installed certificate an issuer of certops.yaml signs (``crl_check``, on by
default; every role, ``usecases.managed``) that names a CRL distribution point and comes
from one of the issuer's ``ca_files``, the CRL is fetched once per URL per run and checked
for the certificate's serial (``issuers.revocation``: signature verified with that CA). A
listed certificate is returned by ``<node>[.<role>]`` with what the CRL says, for the
planner (``cert.revoked``: renewal now); a CRL that cannot be read is a
``cert.crl_unavailable`` warning and changes nothing.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Mapping
from typing import TYPE_CHECKING

from reconciler.checks import FleetView
from reconciler.issuers.base import IssueFailed
from reconciler.issuers.revocation import crl_urls, revoked_serials
from reconciler.model import Code, Finding, LiveNode, Severity
from reconciler.pki import CertCache, CertInfo
from reconciler.pki.ari import cert_id
from reconciler.usecases.managed import Managed, managed_certificates, spec_at

if TYPE_CHECKING:
    from reconciler.issuers.acme import AcmeIssuer

Key = tuple[str, str]  # (CRL URL, issuing CA sha256)


def _issuing_ca(fleet: FleetView, cert: Managed) -> CertInfo | None:
    """The declared CA of the certificate's issuer that signed it (None: not checked: the
    issuer's crl_check is off, or the certificate comes from another CA)."""
    spec = fleet.desired.fleet.issuers.get(cert.issuer)
    if not (spec and spec.crl_check):
        return None
    leaf = cert.leaf
    cas = [c for c in cert.cas if c.subject == leaf.issuer
           and (leaf.authority_key_id is None or c.subject_key_id == leaf.authority_key_id)]
    return cas[0] if cas else None


async def revocations(fleet: FleetView, live: Mapping[str, LiveNode], cache: CertCache,
                      acme: Mapping[str, AcmeIssuer]
                      ) -> tuple[dict[str, tuple[str, str]], list[Finding]]:
    """``<node>[.<role>]`` -> (certID, what its issuer's CRL says) for each installed
    certificate the CRL lists (every managed role), and a warning for each CRL that could
    not be read."""
    wanted: dict[Key, list[Managed]] = defaultdict(list)
    cas: dict[str, CertInfo] = {}
    verify: dict[Key, str | bool] = {}
    for cert in managed_certificates(fleet, live, cache):
        ca = _issuing_ca(fleet, cert)
        if ca is None:
            continue
        issuer = acme.get(cert.issuer)
        for url in crl_urls(cert.leaf.cert)[:1]:
            key = (url, ca.sha256)
            wanted[key].append(cert)
            cas[ca.sha256] = ca
            verify[key] = (issuer.tls_bundle() if issuer else None) or True
    revoked: dict[str, tuple[str, str]] = {}
    findings: list[Finding] = []

    async def one(key: Key) -> None:
        url, ca_sha = key
        try:
            listed = await asyncio.to_thread(revoked_serials, url, cas[ca_sha].cert, verify[key])
        except IssueFailed as exc:
            findings.extend(_unavailable(fleet, cert, str(exc)) for cert in wanted[key])
            return
        for cert in wanted[key]:
            leaf = cert.leaf
            reason = listed.get(leaf.cert.serial_number)
            ident = cert_id(leaf.cert) or leaf.sha256
            if reason is not None:
                revoked[cert.key] = (ident, f"serial {leaf.serial} (certID {ident}) is on "
                                     f"{cas[ca_sha].subject}'s CRL {url}, reason {reason}")

    await asyncio.gather(*(one(k) for k in sorted(wanted)))
    return revoked, findings


def _unavailable(fleet: FleetView, cert: Managed, why: str) -> Finding:
    which = f"{cert.role} certificate" if cert.role else "certificate"
    return Finding(code=Code.CERT_CRL_UNAVAILABLE, severity=Severity.WARNING, node=cert.node,
                   message=f"{why}: whether the live {which} is revoked is unknown; the "
                   "next run asks again",
                   location=fleet.nodes[cert.node].node.pos(*spec_at(cert.role), "issuer"))
