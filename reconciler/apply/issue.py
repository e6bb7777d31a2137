"""The ``cert.issue`` step: have the node's CSR signed, and prove the result before any install.

The certificate is "known after apply": the plan could not check it, so this step runs
every offline rule on it (SANs, both EKUs, key, signature, validity, chain to a root the
desired state knows, the node's kind's own rules), checks that it answers the CSR the node
holds, and checks the trust gate against the live stores (its chain must already be in the
node's own stores and in every linked peer's stores, which the planned ``trust.add``
actions from the issuer's declared CA files have done). Only then is it kept for the same
node's ``cert.install`` and written to ``certs/`` so git shows what every node serves.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from reconciler.apply.steps import IssuedCert, StepContext, StepFailed, sha_set
from reconciler.checks.offline import certificate_findings, role_eku
from reconciler.desired.safewrite import UnsafeWrite, write_inside
from reconciler.drivers import PendingCsrReader, RoleCertificates, TemporaryError
from reconciler.issuers import Issued, IssueFailed
from reconciler.model import Action, Severity, parse_span
from reconciler.model.layout import cert_path, csr_path, role_stem
from reconciler.pki import CertInfo, PkiError, key_matches, split_leaf

# How far a CA's clock may run ahead of ours for a certificate it issued just now.
CLOCK_SKEW = timedelta(seconds=60)
# How far an issued lifetime may differ from the issuer's ``lifetime`` (at least; else 2 %):
# CAs backdate notBefore (Let's Encrypt by an hour) and count the last second in or not.
LIFETIME_SLACK = timedelta(hours=1, minutes=5)


async def cert_issue(ctx: StepContext, action: Action) -> str:
    """Submit the CSR of the node's role to the planned issuer; check, keep and save what
    comes back (another role's certificate under ``<node>.<role>`` names)."""
    node, role = action.node, action.role
    stem = role_stem(node, role)
    issuer = ctx.issuers.get(action.issuer or "")
    if issuer is None:
        raise StepFailed(f"issuer {action.issuer!r} is not in certops.yaml: re-run certops plan")
    csr_pem = await _csr_of(ctx, node, role)
    try:
        result = await issuer.submit(stem, csr_pem)
    except IssueFailed as exc:
        raise StepFailed(str(exc)) from None
    if not isinstance(result, Issued):
        raise StepFailed(
            f"issuer {issuer.name} has not signed the CSR of {stem} yet (ticket "
            f"{result.ticket}): run certops apply again later"
        )
    leaf, bundled = _parse(ctx, result.chain_pem, issuer.name)
    longer = _check_lifetime(ctx, stem, leaf, issuer.name)
    usages = await _required_eku(ctx, node, leaf, role)
    _check_offline(ctx, node, leaf, bundled, csr_pem, issuer.name, usages, role)
    await _check_trusted(ctx, node, [c for c in bundled if c.is_ca], issuer.name)
    path = _save(ctx, node, result.chain_pem, role)
    ctx.issued[stem] = IssuedCert(leaf=leaf, chain=tuple(c for c in bundled if c.is_ca))
    note = f" ({result.note})" if result.note else ""
    return (f"issued serial {leaf.serial} by '{leaf.issuer}' through {issuer.name}{note}; "
            f"saved {path}{longer}")


def _check_lifetime(ctx: StepContext, stem: str, leaf: CertInfo, by: str) -> str:
    """The issued certificate lives as long as its ACME issuer's ``lifetime`` says its
    profile issues: the plan's renewal timing and window checks assumed it. A shorter one
    (a CA that changed its profile, a wrong profile) is refused before any install; a longer
    one is said in the step's result. Within ``LIFETIME_SLACK`` (CAs backdate notBefore)."""
    spec = ctx.fleet.desired.fleet.issuers.get(by)
    expected = getattr(spec, "lifetime", None)
    if not expected:
        return ""
    want = parse_span(expected)
    life = leaf.not_after - leaf.not_before
    slack = max(LIFETIME_SLACK, want / 50)
    profile = getattr(spec, "profile", None) or "the CA's default"
    said = (f"the certificate {by} issued for {stem} lives {_span(life)}, profile {profile} "
            f"is expected to issue {expected} (issuers.{by}.lifetime)")
    if life < want - slack:
        raise StepFailed(
            f"not installed: {said}: renew_before and the restart windows were planned for "
            f"{expected}. Check the profile with the CA, then set issuers.{by}.lifetime to "
            "what it issues and plan again")
    return f"; note: {said}" if life > want + slack else ""


def _span(span: timedelta) -> str:
    hours = span.total_seconds() / 3600
    return f"{hours / 24:.1f} days" if hours >= 48 else f"{hours:.1f} hours"


async def _csr_of(ctx: StepContext, node: str, role: str | None = None) -> str:
    """The CSR this apply generated or kept, else the saved one, else the node's pending one."""
    stem = role_stem(node, role)
    if stem in ctx.csrs:
        return ctx.csrs[stem]
    saved = ctx.desired_root / csr_path(node, role)
    if saved.is_file():
        return saved.read_text()
    driver = ctx.drivers[node]
    pending: str | None = None
    if role and isinstance(driver, RoleCertificates):
        pending = await driver.role_csr_read(role)
    elif not role and isinstance(driver, PendingCsrReader):
        pending = await driver.csr_read()
    if pending is None:
        raise StepFailed(f"{stem} has no CSR to submit: re-run certops plan")
    return pending


def _parse(ctx: StepContext, chain_pem: str, issuer: str) -> tuple[CertInfo, tuple[CertInfo, ...]]:
    try:
        return split_leaf(ctx.cache.parse(chain_pem.encode()))
    except PkiError as exc:
        raise StepFailed(f"issuer {issuer} returned no usable certificate: {exc}") from None


async def _required_eku(ctx: StepContext, node: str, leaf: CertInfo,
                        role: str | None = None) -> tuple[str, ...]:
    """What the role needs at the node's live version and settings (read now: the kind's
    role table, or the fleet's ``required_eku`` override; ``checks.offline.role_eku``)."""
    live = await ctx.drivers[node].read()
    view = ctx.fleet.nodes[node]
    return role_eku(ctx.fleet, view, role, live.version or "", live.settings)


def _check_offline(
    ctx: StepContext, node: str, leaf: CertInfo, bundled: tuple[CertInfo, ...], csr: str, by: str,
    usages: tuple[str, ...], role: str | None = None,
) -> None:
    """Every offline rule, plus the key match with the CSR; StepFailed on any error."""
    view = ctx.fleet.nodes[node]
    what = f"the certificate {by} issued"
    found = certificate_findings(ctx.fleet, view, leaf, bundled, _judged_at(ctx, leaf), what,
                                 usages, role)
    errors = [f.message for f in found if f.severity is Severity.ERROR]
    try:
        if not key_matches(leaf, ctx.cache.parse_csr(csr.encode())):
            errors.append(f"the certificate {by} issued does not answer the CSR of {node}")
    except PkiError as exc:
        errors.append(f"the CSR of {node} is unreadable: {exc}")
    if errors:
        raise StepFailed(
            f"not installed: the certificate {by} issued for {node} fails the checks: "
            + " | ".join(errors)
        )


def _judged_at(ctx: StepContext, leaf: CertInfo) -> datetime:
    """When to judge the validity of a certificate issued just now.

    CAs set notBefore to the moment of signing, which is after this apply started; and a CA's
    clock may run a little ahead of ours. So the certificate is judged at the current time,
    never at the apply's start, or at its notBefore when that is at most ``CLOCK_SKEW`` ahead.
    The skew only forgives an early notBefore: judging every certificate ``CLOCK_SKEW`` ahead
    called a short-lived one (the lab's soak run issues 50-second certificates) expired."""
    now = max(ctx.now, datetime.now(UTC))
    return max(now, min(now + CLOCK_SKEW, leaf.not_before))


async def _check_trusted(ctx: StepContext, node: str, cas: list[CertInfo], issuer: str) -> None:
    """The trust gate on live stores: the chain is trusted by the node and its linked peers."""
    view = ctx.fleet.nodes[node]
    holders = [(node, view.kind.own_stores)]
    for peer in ctx.fleet.desired.peers(node):
        if peer in ctx.drivers and peer in ctx.fleet.nodes:
            holders.append((peer, ctx.fleet.nodes[peer].kind.peer_stores))
    declared = {c.sha256 for c in view.issuer_chain}
    for holder, stores in holders:
        for store in stores:
            have = sha_set(ctx, await _read_store(ctx, holder, store))
            missing = [c for c in cas if c.sha256 not in have]
            if missing:
                raise StepFailed(f"not installed: {store} of {holder} does not trust "
                                 f"'{missing[0].subject}', which the new certificate of {node} "
                                 f"chains to; {_untrusted_hint(issuer, missing[0], declared)}")


def _untrusted_hint(issuer: str, ca: CertInfo, declared: set[str]) -> str:
    """What to do about a CA of the issued chain that a store lacks: declare it (the usual
    case: an issuer without ca_files, or without its intermediate), or find out why the
    planned upload of a declared one is not there."""
    if ca.sha256 not in declared:
        return (f"issuer {issuer}'s ca_files do not list it (SHA-256 {ca.sha256}): save that "
                f"CA under cas/ and add it to issuers.{issuer}.ca_files in certops.yaml, so the "
                "plan uploads it to every store that needs it first (nothing was installed; "
                "the plan's issuer.no_chain warning said so where ca_files is empty)")
    return (f"it is in issuers.{issuer}.ca_files, so a fresh plan uploads it first, but the "
            "store does not show it now (this plan lacked that upload, someone removed it, or "
            "it has not replicated to this node yet): run certops plan again; nothing was "
            "installed")


async def _read_store(ctx: StepContext, holder: str, store: str) -> tuple[str, ...]:
    """A store of ``holder``, waiting (bounded) while the node is restarting: a linked peer
    may restart for its own install while this node's certificate is being issued."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ctx.timing.up_timeout
    while True:
        try:
            return await ctx.drivers[holder].read_store(store)
        except TemporaryError:
            if loop.time() > deadline:
                raise
        await asyncio.sleep(ctx.timing.poll)


def _save(ctx: StepContext, node: str, chain_pem: str, role: str | None = None) -> Path:
    """Write the issued chain to certs/<node>[.<role>].pem atomically, never through a link."""
    try:
        return write_inside(ctx.desired_root, cert_path(node, role), chain_pem)
    except UnsafeWrite as exc:
        raise StepFailed(f"not installed: the certificate issued for {node} cannot be saved: "
                         f"{exc}") from None
