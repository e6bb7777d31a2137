"""Revoked certificates at plan time: each issued certificate against its issuer's CRL.

For every node whose certificate an issuer of certops.yaml signs (``crl_check``, on by
default), and whose installed
certificate names a CRL distribution point and comes from one of the issuer's ``ca_files``,
the CRL is fetched once per URL per run and checked for the certificate's serial
(``issuers.revocation``: signature verified with that CA). A listed certificate is returned
by node with what the CRL says, for the planner (``cert.revoked``: renewal now); a CRL that
cannot be read is a ``cert.crl_unavailable`` warning and changes nothing.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Mapping

from reconciler.checks import FleetView
from reconciler.issuers import AcmeIssuer, IssueFailed
from reconciler.issuers.revocation import crl_urls, revoked_serials
from reconciler.model import Code, Finding, LiveNode, Severity
from reconciler.pki import CertCache, CertInfo, PkiError
from reconciler.pki.ari import cert_id

Key = tuple[str, str]  # (CRL URL, issuing CA sha256)


def _leaf_and_ca(fleet: FleetView, name: str, snapshot: LiveNode | None,
                 cache: CertCache) -> tuple[CertInfo, CertInfo] | None:
    view = fleet.nodes[name]
    spec = fleet.desired.fleet.issuers.get(view.issuer) if view.issuer else None
    if not (spec and spec.crl_check and snapshot and snapshot.server_certificate):
        return None
    try:
        chain = cache.parse_text(snapshot.server_certificate)
    except PkiError:
        return None
    if not chain:
        return None
    leaf = chain[0]
    cas = [c for c in view.issuer_chain if c.subject == leaf.issuer
           and (leaf.authority_key_id is None or c.subject_key_id == leaf.authority_key_id)]
    return (leaf, cas[0]) if cas else None


async def revocations(fleet: FleetView, live: Mapping[str, LiveNode], cache: CertCache,
                      acme: Mapping[str, AcmeIssuer]
                      ) -> tuple[dict[str, tuple[str, str]], list[Finding]]:
    """node -> (certID, what its issuer's CRL says) for each installed certificate the CRL
    lists, and a warning for each CRL that could not be read."""
    wanted: dict[Key, list[tuple[str, CertInfo]]] = defaultdict(list)
    cas: dict[str, CertInfo] = {}
    verify: dict[Key, str | bool] = {}
    for name in sorted(fleet.nodes):
        pair = _leaf_and_ca(fleet, name, live.get(name), cache)
        if pair is None:
            continue
        leaf, ca = pair
        issuer = acme.get(fleet.nodes[name].issuer or "")
        for url in crl_urls(leaf.cert)[:1]:
            key = (url, ca.sha256)
            wanted[key].append((name, leaf))
            cas[ca.sha256] = ca
            verify[key] = (issuer.tls_bundle() if issuer else None) or True
    revoked: dict[str, tuple[str, str]] = {}
    findings: list[Finding] = []

    async def one(key: Key) -> None:
        url, ca_sha = key
        try:
            listed = await asyncio.to_thread(revoked_serials, url, cas[ca_sha].cert, verify[key])
        except IssueFailed as exc:
            findings.extend(_unavailable(fleet, name, str(exc)) for name, _ in wanted[key])
            return
        for name, leaf in wanted[key]:
            reason = listed.get(leaf.cert.serial_number)
            ident = cert_id(leaf.cert) or leaf.sha256
            if reason is not None:
                revoked[name] = (ident, f"serial {leaf.serial} (certID {ident}) is on "
                                 f"{cas[ca_sha].subject}'s CRL {url}, reason {reason}")

    await asyncio.gather(*(one(k) for k in sorted(wanted)))
    return revoked, findings


def _unavailable(fleet: FleetView, name: str, why: str) -> Finding:
    return Finding(code=Code.CERT_CRL_UNAVAILABLE, severity=Severity.WARNING, node=name,
                   message=f"{why}: whether the live certificate is revoked is unknown; the "
                   "next run asks again",
                   location=fleet.nodes[name].node.pos("server_certificate", "issuer"))
