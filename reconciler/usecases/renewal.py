"""Renewal timed by the CA, at plan time: ACME profiles checked, ARI windows read or recalled.

The I/O half of ARI (RFC 9773) and ACME profiles, between the issuers and the pure planner:

- every ACME issuer with a ``profile:`` asks its CA's directory; a profile the CA does not
  offer is an ``issuer.unknown_profile`` error at ``issuers.<name>.profile``, naming the
  profiles it offers, so the plan cannot be applied;
- for each node whose certificate an ACME issuer renews, the window its CA suggests for the
  installed certificate: from ``renewal-info.json`` while its ``next_check`` (the CA's
  Retry-After) has not come, else asked again. A CA that cannot be asked gives an
  ``issuer.ari_unavailable`` warning, and the last window known (or ``renew_before``) stands.

Revoked certificates come from their issuers' CRLs (``usecases.revocation``).
Every certificate an ACME issuer renews is asked about, each role's too
(``usecases.managed``). ``renewal_inputs`` returns the windows and revocations by
``<node>[.<role>]`` (``make_plan(renewal=..., revoked=...)``) and the findings; it writes
``renewal-info.json`` only when an answer changed it. ``recalled`` gives the same from the
file alone, for re-deriving a saved plan without asking anyone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from reconciler.checks import FleetView
from reconciler.issuers import IssueFailed, issuer_for
from reconciler.issuers.ari import read_cache, write_cache
from reconciler.model import AcmeIssuerSpec, Code, Finding, LiveNode, Severity
from reconciler.model.renewal import RenewalCache, RenewalWindow
from reconciler.pki import CertCache, CertInfo
from reconciler.pki.ari import cert_id
from reconciler.usecases.managed import Managed, managed_certificates, spec_at
from reconciler.usecases.revocation import revocations
from reconciler.usecases.session import Session

if TYPE_CHECKING:
    from reconciler.issuers.acme import AcmeIssuer


@dataclass
class RenewalInputs:
    """The CA's windows by ``<node>[.<role>]``, and what went wrong asking."""

    windows: dict[str, RenewalWindow] = field(default_factory=dict)
    revoked: dict[str, str] = field(default_factory=dict)  # what its CRL says
    findings: list[Finding] = field(default_factory=list)


def acme_issuers(session: Session, fleet: FleetView) -> dict[str, AcmeIssuer]:
    specs = fleet.desired.fleet.issuers
    if not any(isinstance(spec, AcmeIssuerSpec) for spec in specs.values()):
        return {}  # and the ACME client is not even imported
    from reconciler.issuers.acme import AcmeIssuer

    return {name: issuer for name, spec in specs.items() if isinstance(spec, AcmeIssuerSpec)
            and isinstance(issuer := issuer_for(name, spec, session.env, session.root),
                           AcmeIssuer)}


def installed_ids(fleet: FleetView, live: Mapping[str, LiveNode],
                  cache: CertCache) -> dict[str, tuple[Managed, str]]:
    """``<node>[.<role>]`` -> (the certificate, its certID), for every installed certificate
    an ACME issuer renews (every role, ``usecases.managed``)."""
    found: dict[str, tuple[Managed, str]] = {}
    for cert in managed_certificates(fleet, live, cache):
        spec = fleet.desired.fleet.issuers.get(cert.issuer)
        ident = cert_id(cert.leaf.cert)
        if isinstance(spec, AcmeIssuerSpec) and ident and _from_issuer(cert.leaf, cert.cas):
            found[cert.key] = (cert, ident)
    return found


def _from_issuer(leaf: CertInfo, cas: tuple[CertInfo, ...]) -> bool:
    """The certificate comes from the issuer's declared CAs (or none is declared): a CA is
    not asked about certificates another CA issued (it would not know them)."""
    keys = {ca.subject_key_id for ca in cas if ca.subject_key_id}
    return not keys or leaf.authority_key_id in keys


def recalled(session: Session, fleet: FleetView,
             live: Mapping[str, LiveNode]) -> RenewalInputs:
    """The windows and revocations ``renewal-info.json`` holds for the installed certificates
    (no I/O but that file): what the plan saw, for re-deriving it."""
    known = read_cache(session.root)
    ids = installed_ids(fleet, live, session.cache)
    out = RenewalInputs(windows={key: known.windows[ident] for key, (_, ident) in ids.items()
                                 if ident in known.windows})
    for cert in managed_certificates(fleet, live, session.cache):
        ident = cert_id(cert.leaf.cert) or cert.leaf.sha256
        if ident in known.revoked:
            out.revoked[cert.key] = known.revoked[ident]
    return out


def _first_seen(old: RenewalWindow | None, new: RenewalWindow) -> datetime | None:
    """When certops first read ``new``'s window: at an earlier answer with the same start and
    end (for the same certificate), else now (None)."""
    if old is None or (old.cert_id, old.start, old.end) != (new.cert_id, new.start, new.end):
        return None
    return old.first_seen or old.checked_at


def _installed(fleet: FleetView, live: Mapping[str, LiveNode], cache: CertCache) -> set[str]:
    """The certIDs of every installed certificate an issuer renews."""
    return {cert_id(c.leaf.cert) or c.leaf.sha256
            for c in managed_certificates(fleet, live, cache)}


async def renewal_inputs(session: Session, fleet: FleetView, live: Mapping[str, LiveNode],
                         now: datetime) -> RenewalInputs:
    """Profiles checked and windows known (see the module docstring)."""
    issuers = acme_issuers(session, fleet)
    out = RenewalInputs()
    revoked, out.findings = await revocations(fleet, live, session.cache, issuers)
    out.revoked = {node: text for node, (_, text) in revoked.items()}
    out.findings += await _profile_findings(fleet, issuers)
    cache = read_cache(session.root)
    ids = installed_ids(fleet, live, session.cache)
    limit = asyncio.Semaphore(max(1, session.parallelism))

    async def one(cert: Managed, ident: str) -> None:
        old = cache.windows.get(ident)
        if old is not None and now < old.next_check:
            out.windows[cert.key] = old
            return
        async with limit:
            try:
                window = await issuers[cert.issuer].renewal_window(cert.node, ident, now)
            except IssueFailed as exc:
                out.findings.append(_unavailable(fleet, cert, str(exc), old))
                window = old
        if window is not None:
            out.windows[cert.key] = window.model_copy(
                update={"role": cert.role, "first_seen": _first_seen(old, window)})

    await asyncio.gather(*(one(c, i) for _, (c, i) in sorted(ids.items())))
    _remember(session, fleet, live, cache, out.windows, dict(revoked.values()))
    return out


def _remember(session: Session, fleet: FleetView, live: Mapping[str, LiveNode],
              cache: RenewalCache, windows: Mapping[str, RenewalWindow],
              revoked: Mapping[str, str]) -> None:
    """Write what this run learnt into renewal-info.json: the windows of the nodes read now,
    those of the fleet's nodes this run did not read (a targeted plan), and the revocations
    (once every node was read, only of certificates some node still has installed)."""
    kept = {w.cert_id: w for w in cache.windows.values()
            if w.node in fleet.nodes and w.node not in live}
    kept.update({w.cert_id: w for w in windows.values()})
    listed = {**cache.revoked, **revoked}
    if set(live) >= set(fleet.nodes):  # every node read: forget the replaced certificates
        installed = _installed(fleet, live, session.cache)
        listed = {i: t for i, t in listed.items() if i in installed}
    write_cache(session.root, RenewalCache(windows=dict(sorted(kept.items())),
                                           revoked=dict(sorted(listed.items()))))


async def _profile_findings(fleet: FleetView, issuers: Mapping[str, AcmeIssuer]
                            ) -> list[Finding]:
    found = []
    for name, issuer in sorted(issuers.items()):
        if issuer.spec.profile is None:
            continue
        severity = Severity.ERROR
        try:
            problem = await issuer.check_profile()
        except IssueFailed as exc:  # unchecked, not known wrong: the order says for sure
            severity, problem = Severity.WARNING, (
                f"{exc}; profile {issuer.spec.profile!r} is not checked: the CA refuses the "
                "order (invalidProfile) if it does not offer it")
        if problem:
            found.append(Finding(code=Code.ISSUER_UNKNOWN_PROFILE, severity=severity,
                                 message=problem,
                                 location=fleet.desired.fleet_pos("issuers", name, "profile")))
    return found


def _unavailable(fleet: FleetView, cert: Managed, why: str,
                 old: RenewalWindow | None) -> Finding:
    fallback = (f"the window it gave on {old.checked_at:%Y-%m-%d %H:%M} UTC stands" if old
                else "renewal follows renew_before")
    which = f" (the {cert.role} certificate)" if cert.role else ""
    view = fleet.nodes[cert.node]
    return Finding(code=Code.ISSUER_ARI_UNAVAILABLE, severity=Severity.WARNING, node=cert.node,
                   message=f"{why}{which}; {fallback}; the next run asks again",
                   location=view.node.pos(*spec_at(cert.role), "issuer"))
