"""One function per action kind: do it through the driver, then read back and check.

Every step is idempotent: it first looks whether the node is already in the wanted state
(CA present, certificate installed, CSR pending with the right names) and then does nothing,
so re-running ``apply`` after any failure only does what is left.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reconciler.checks import FleetView
from reconciler.desired.pending import clear_pending, mark_pending
from reconciler.desired.safewrite import UnsafeWrite, write_inside
from reconciler.drivers import (
    Driver,
    DriverError,
    MultiServerCsrGenerator,
    NodeRestarter,
    PendingCsrDiscarder,
    PendingCsrReader,
    ServiceRestarter,
    TemporaryError,
    TrustRemover,
)
from reconciler.issuers import Issuer
from reconciler.model import Action, CsrSubjectSpec, Plan
from reconciler.model.layout import csr_path, role_stem
from reconciler.pki import CertCache, CertInfo, PkiError

SERVED_TIMEOUT = 5.0  # seconds for one look at the served certificate while a node restarts


class StepFailed(Exception):
    """The step ran but the node is not in the state it should be; the message says how."""


class StepOwed(Exception):
    """The step did not do its change, safely, and leaves it for the next change window
    (a drain whose calls did not end in time with ``on_drain_timeout: stop``, say): the
    action is ``owed``, like a restart outside its window, and so is what depends on it."""


@dataclass(frozen=True)
class Timing:
    """How long to wait for restarts (real nodes take minutes; the lab, a second)."""

    down_timeout: float = 60.0
    up_timeout: float = 900.0
    poll: float = 1.0
    # How long a cluster member waits for a CA its publisher uploaded to appear in its own
    # store ([U]: Cisco gives no figure; database replication usually takes seconds).
    replication_timeout: float = 300.0
    # How often a drain reads the node's active calls (its deadline is the node's
    # drain_timeout, from the desired state).
    drain_poll: float = 10.0


@dataclass(frozen=True)
class IssuedCert:
    """A certificate an issuer returned during this apply, checked: a value known after apply."""

    leaf: CertInfo
    chain: tuple[CertInfo, ...]  # the CA certificates above it, as the issuer sent them


@dataclass
class StepContext:
    """What the steps of one apply share: the plan, the fleet, the drivers and the values
    that earlier steps produce for later ones (CSRs, issued certificates)."""

    plan: Plan
    fleet: FleetView
    drivers: dict[str, Driver]
    desired_root: Path
    timing: Timing = field(default_factory=Timing)
    replaced: dict[str, str] = field(default_factory=dict)  # action id -> old public PEM
    issuers: Mapping[str, Issuer] = field(default_factory=dict)
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    cache: CertCache = field(default_factory=CertCache)
    # keyed by role_stem(node, role): <node>, or <node>.<role> for another certificate role
    csrs: dict[str, str] = field(default_factory=dict)  # CSR generated or kept now
    issued: dict[str, IssuedCert] = field(default_factory=dict)  # cert.issue output
    # apply --drained: the nodes a person put into maintenance mode by hand; their manual
    # drain is confirmed (apply/confirmed.py) instead of stopping the apply.
    drained: frozenset[str] = frozenset()
    regenerated: dict[str, CertInfo] = field(default_factory=dict)  # cert.regenerate output


def sha_set(ctx: StepContext, pems: Sequence[str]) -> set[str]:
    """SHA-256 of every certificate in ``pems`` (unparseable entries are skipped)."""
    out: set[str] = set()
    for pem in pems:
        try:
            out.update(c.sha256 for c in ctx.cache.parse(pem.encode()))
        except PkiError:
            continue
    return out


def _ca(ctx: StepContext, sha256: str) -> CertInfo:
    cert = ctx.fleet.ca_pool.get(sha256)
    if cert is None:
        raise StepFailed(f"CA {sha256[:16]} is no longer in the desired state: re-run certops plan")
    return cert


def _leaf(ctx: StepContext, action: Action) -> CertInfo:
    view = ctx.fleet.nodes[action.node]
    want = action.certificate.sha256 if action.certificate else None
    if view.leaf is None or (want and view.leaf.sha256 != want):
        raise StepFailed(
            f"the certificate file of {action.node} changed since the plan: re-run certops plan"
        )
    return view.leaf


async def trust_add(ctx: StepContext, action: Action) -> str:
    driver = ctx.drivers[action.node]
    if action.certificate_from:  # a regenerated self-signed identity (apply/role_steps.py)
        from reconciler.apply.role_steps import trust_add_regenerated

        return await trust_add_regenerated(ctx, action)
    assert action.store and action.certificate
    ca = _ca(ctx, action.certificate.sha256)
    if ca.sha256 in sha_set(ctx, await driver.read_store(action.store)):
        return "already present"
    if action.replicated_from:
        return await _await_replicated(ctx, action, ca)
    # The store is read back after every upload: a node may skip or replace a CA (CUCM's
    # same-name rule), and the driver's report says which.
    outcome = await driver.trust_add(action.store, [ca.pem])
    _record_restart_owed(ctx, action)
    if ca.sha256 not in sha_set(ctx, await driver.read_store(action.store)):
        raise StepFailed(
            f"{action.store} of {action.node} does not list '{ca.subject}' after the upload"
            + (f": {outcome}" if outcome else "")
        )
    return outcome or f"added '{ca.subject}' to {action.store}"


async def _await_replicated(ctx: StepContext, action: Action, ca: CertInfo) -> str:
    """A replicated store: read it until the publisher's upload appears, or fail at the
    deadline (nothing is uploaded here: the publisher's copy is the cluster's)."""
    driver = ctx.drivers[action.node]
    assert action.store
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ctx.timing.replication_timeout
    while ca.sha256 not in sha_set(ctx, await driver.read_store(action.store)):
        if loop.time() >= deadline:
            raise StepFailed(
                f"{action.store} of {action.node} still lacks '{ca.subject}' "
                f"{ctx.timing.replication_timeout:.0f}s after {action.replicated_from} had it: "
                "check the cluster's database replication (utils dbreplication runtimestate), "
                "then re-run certops apply")
        await asyncio.sleep(ctx.timing.poll)
    _record_restart_owed(ctx, action)
    return f"'{ca.subject}' replicated from {action.replicated_from} into {action.store}"


def _record_restart_owed(ctx: StepContext, action: Action) -> None:
    """After a trust upload: the services that read the store owe a restart until the
    ``service.restart`` step confirms it (``desired.pending``), across runs."""
    services = ctx.fleet.nodes[action.node].kind.services_after_trust({action.store or ""})
    if not services:
        return
    try:
        mark_pending(ctx.desired_root, action.node, services, action.store or "", ctx.now)
    except (UnsafeWrite, OSError) as exc:
        raise StepFailed(f"uploaded, but the pending restart of {action.node} could not be "
                         f"recorded: {exc}") from None


async def trust_remove(ctx: StepContext, action: Action) -> str:
    """Remove one CA (by SHA-256: it is no longer in the desired state) and read the store back."""
    driver = ctx.drivers[action.node]
    assert action.store and action.certificate
    if not isinstance(driver, TrustRemover):
        raise _cannot(action, "remove a trusted CA")
    ca = action.certificate
    if ca.sha256 not in sha_set(ctx, await driver.read_store(action.store)):
        return "already absent"
    await driver.trust_remove(action.store, ca.sha256)
    if ca.sha256 in sha_set(ctx, await driver.read_store(action.store)):
        raise StepFailed(
            f"{action.store} of {action.node} still lists '{ca.subject}' after the removal"
        )
    return f"removed '{ca.subject}' from {action.store}"


def _cannot(action: Action, verb: str) -> StepFailed:
    """A plan asks a driver for a verb its kind does not offer (a plan from elsewhere)."""
    return StepFailed(f"the driver of {action.node} cannot {verb}: re-run certops plan")


async def service_restart(ctx: StepContext, action: Action) -> str:
    """Restart the services; the driver judges each restart by the node's own answer (SOAP
    status Started, the CLI's ``[STARTED]``) and raises when one fails or never starts.

    After an identity install the TLS handshake must then show the planned certificate.
    Otherwise wait (bounded) until the API answers again: Cisco Tomcat carries it. Either
    way the restarts the trust uploads owed are then recorded as done.
    """
    driver = ctx.drivers[action.node]
    if not isinstance(driver, ServiceRestarter):
        raise _cannot(action, "restart services")
    await driver.restart_services(action.services)
    done = f"restarted {', '.join(action.services)}"
    # The install this restart makes served: the node's own, or on a member of a cluster
    # with one multi-server certificate, the publisher's, which the cluster distributes.
    install = next((a for a in ctx.plan.actions
                    if a.kind == "cert.install" and a.role is None
                    and a.id in action.depends_on), None)
    want = _planned_sha(ctx, install.node) if install is not None else None
    if want:
        await _wait_served(ctx, action.node, want)
        _restart_confirmed(ctx, action)
        return f"{done}; serving the new certificate"
    await _wait_answering(ctx, action, done)
    _restart_confirmed(ctx, action)
    return done


async def _wait_answering(ctx: StepContext, action: Action, done: str) -> None:
    """Wait (bounded) until the node's API answers a read again."""
    driver = ctx.drivers[action.node]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ctx.timing.up_timeout
    while True:
        try:
            await driver.read()
            return
        except TemporaryError:
            if loop.time() > deadline:
                raise StepFailed(f"{done}, but {action.node}'s API does not answer "
                                 f"{ctx.timing.up_timeout:.0f}s later") from None
        await asyncio.sleep(ctx.timing.poll)


def _restart_confirmed(ctx: StepContext, action: Action) -> None:
    try:
        clear_pending(ctx.desired_root, action.node, action.services)
    except (UnsafeWrite, OSError) as exc:
        raise StepFailed(f"restarted, but the record of pending restarts could not be "
                         f"updated: {exc}") from None


async def csr_generate(ctx: StepContext, action: Action) -> str:
    if action.role:  # another certificate role: apply/role_steps.py
        from reconciler.apply.role_steps import role_csr_generate

        return await role_csr_generate(ctx, action)
    driver = ctx.drivers[action.node]
    want = {n.lower() for n in action.subject_alt_names}
    pending = await driver.csr_read() if isinstance(driver, PendingCsrReader) else None
    how = "kept the pending CSR"
    if pending is not None and want <= ctx.cache.parse_csr(pending.encode()).san_set():
        csr_pem = pending
    else:
        if pending is not None:
            # Discarding is a capability of its own, off until evidenced (the plan makes
            # it a manual step before this one): never guess that a DELETE worked.
            if not (isinstance(driver, PendingCsrDiscarder)
                    and "csr.discard" in driver.capabilities):
                raise _cannot(action, "discard a pending CSR")
            await driver.csr_discard()
            how = "discarded a pending CSR with other names and generated a new one"
        else:
            how = "generated a CSR"
        csr_pem = await _generate(ctx, action, sorted(want))
    try:
        csr = ctx.cache.parse_csr(csr_pem.encode())
    except PkiError as exc:
        raise StepFailed(f"the node returned an unreadable CSR: {exc}") from None
    if not want <= csr.san_set():
        raise StepFailed(f"the CSR lacks {', '.join(sorted(want - csr.san_set()))}")
    try:
        path = write_inside(ctx.desired_root, csr_path(action.node), csr_pem)
    except UnsafeWrite as exc:
        raise StepFailed(f"the CSR of {action.node} was generated on the node but not saved: "
                         f"{exc}") from None
    ctx.csrs[action.node] = csr_pem  # for a cert.issue later in this apply
    return f"{how}; saved {path} for the CA"


async def _generate(ctx: StepContext, action: Action, sans: list[str]) -> str:
    """A new CSR: the node's own, or on the publisher of a cluster with one multi-server
    certificate, the cluster's (distribution multi-server)."""
    driver = ctx.drivers[action.node]
    subject = csr_subject(ctx, action.node)
    if ctx.fleet.desired.multi_server_of(action.node) is None:
        return await driver.csr_generate(sans, subject)
    if not isinstance(driver, MultiServerCsrGenerator):
        raise _cannot(action, "generate a multi-server (SAN) CSR")
    return await driver.csr_generate_multi_server(sans, subject)


def csr_subject(ctx: StepContext, node: str) -> CsrSubjectSpec:
    """The CSR subject fields of ``node``: defaults.csr, overridden by the node's csr."""
    desired = ctx.fleet.desired
    spec = desired.node(node)
    return desired.fleet.defaults.csr.merged(spec.spec.csr if spec else None)


def _to_install(ctx: StepContext, action: Action) -> tuple[CertInfo, tuple[CertInfo, ...]]:
    """The leaf and CA chain an install uploads: from git, or from this apply's cert.issue."""
    if action.certificate_from is None and action.role:
        role = ctx.fleet.nodes[action.node].roles.get(action.role)
        want = action.certificate.sha256 if action.certificate else None
        if role is None or role.leaf is None or role.leaf.sha256 != want:
            raise StepFailed(f"the {action.role} certificate file of {action.node} changed "
                             "since the plan: re-run certops plan")
        return role.leaf, role.chain_cas()
    if action.certificate_from is None:
        return _leaf(ctx, action), ctx.fleet.nodes[action.node].chain_cas()
    issued = ctx.issued.get(role_stem(action.node, action.role))
    if issued is None:
        raise StepFailed(f"{action.certificate_from} has not produced a certificate in this apply")
    return issued.leaf, issued.chain


async def cert_install(ctx: StepContext, action: Action) -> str:
    if action.role:
        from reconciler.apply.role_steps import role_install

        return await role_install(ctx, action)
    driver = ctx.drivers[action.node]
    leaf, cas = _to_install(ctx, action)
    old = await driver.installed_certificate()
    if old is not None and leaf.sha256 in sha_set(ctx, [old]):
        return "already installed"
    if old is not None:
        ctx.replaced[action.id] = old
    view = ctx.fleet.nodes[action.node]
    # Expressway takes the leaf alone (Cisco's step E); VOS products take leaf and chain.
    with_chain = view.kind.install_with_chain
    chain = [c.pem for c in cas] if with_chain else []
    await driver.cert_install(leaf.pem, chain)
    now = await driver.installed_certificate()
    payload = f"with its chain ({view.kind.title} takes both)" if with_chain else "(leaf only, PEM)"
    if now is not None and leaf.sha256 in sha_set(ctx, [now]):
        return f"installed serial {leaf.serial} {payload}"
    # Whether the node shows the uploaded or the still active certificate before the
    # restart is not documented ([U], Expressway): the active one is accepted too, and the
    # restart's TLS handshake is the proof. Anything else is a failed upload.
    if now is not None and old is not None and sha_set(ctx, [now]) == sha_set(ctx, [old]):
        return (f"uploaded serial {leaf.serial} {payload}; the node still shows the active "
                "certificate: the restart's TLS handshake proves the install")
    raise StepFailed(f"{action.node} reports neither the new nor the previous certificate "
                     "after the upload")


async def node_restart(ctx: StepContext, action: Action) -> str:
    driver = ctx.drivers[action.node]
    want = _planned_sha(ctx, action.node)
    if want is None:
        live = await driver.read()
        installed = live.server_certificate
        want = next(iter(sha_set(ctx, [installed]))) if installed else None
    if want is None:
        raise StepFailed(f"cannot tell which certificate {action.node} should serve")
    if not isinstance(driver, NodeRestarter):
        raise _cannot(action, "restart the node")
    from reconciler.apply.drain import after_restart, release  # builds on this module

    before = await _served_sha(ctx, action.node)
    if before == want:
        # Restarted since the install (by hand, or an outage): it serves the certificate
        # already. A restart now would only return once the node had gone down, and the
        # rolling order of its cluster relies on this step ending with the node back up.
        maintenance = await after_restart(ctx, action)
        return (f"already serves the new certificate ({want[:16]}…): no restart "
                f"needed{maintenance}")
    try:
        await driver.restart()
        await _wait_down(ctx, action.node, want, before)
    except (DriverError, StepFailed) as exc:  # no restart: a drained node takes calls again
        raise StepFailed(f"{exc}{await release(ctx, action)}") from None
    await _wait_served(ctx, action.node, want)
    maintenance = await after_restart(ctx, action)
    return f"restarted; the TLS handshake shows the new certificate ({want[:16]}…){maintenance}"


def _install_of(ctx: StepContext, node: str) -> Action | None:
    """The install of the node's primary certificate (the one its API port serves)."""
    return next((a for a in ctx.plan.actions if a.node == node and a.kind == "cert.install"
                 and a.role is None), None)


def _planned_sha(ctx: StepContext, node: str) -> str | None:
    """SHA-256 of the certificate the plan installs on ``node`` (known now, or issued)."""
    install = _install_of(ctx, node)
    if install is None:
        return None
    if install.certificate is not None:
        return install.certificate.sha256
    issued = ctx.issued.get(node)
    return issued.leaf.sha256 if issued else None


async def _served_sha(ctx: StepContext, node: str) -> str | None:
    """SHA-256 of the certificate the node serves now (the driver's TLS probe); None: down."""
    try:
        pem = await asyncio.wait_for(ctx.drivers[node].served_certificate(), SERVED_TIMEOUT)
    except (DriverError, TimeoutError):
        return None
    return next(iter(sha_set(ctx, [pem])), None) if pem else None


async def _wait_down(ctx: StepContext, node: str, want: str, before: str | None) -> None:
    """Wait (bounded) for proof that the restart began: the node stops answering, or already
    serves ``want`` (a restart quicker than one look). A node that keeps serving what it
    served before the request, without a break, did not restart: StepFailed says so."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ctx.timing.down_timeout
    seen = before
    while loop.time() < deadline:
        seen = await _served_sha(ctx, node)
        if seen is None or seen == want:
            return
        await asyncio.sleep(min(ctx.timing.poll, 0.2))
    if seen is not None and seen == before:
        raise StepFailed(
            f"{node} did not go down within {ctx.timing.down_timeout:.0f}s of the restart "
            f"request and still serves the certificate it served before ({seen[:16]}…): the "
            "restart did not happen; check the node, then run certops apply again"
        )


async def _wait_served(ctx: StepContext, node: str, want: str) -> None:
    """Wait until a TLS handshake shows ``want``; fail at the deadline saying what is served."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ctx.timing.up_timeout
    seen: str | None = None
    while True:
        seen = await _served_sha(ctx, node)
        if seen == want:
            return
        if loop.time() > deadline:
            what = f"still serves {seen[:16]}…" if seen else "does not answer"
            raise StepFailed(
                f"{node} {what} {ctx.timing.up_timeout:.0f}s after the restart; "
                f"expected {want[:16]}…"
            )
        await asyncio.sleep(ctx.timing.poll)


async def cert_issue(ctx: StepContext, action: Action) -> str:
    # Issuance lives in its own module (it needs the checks); imported here, not at the top,
    # because that module builds on this one.
    from reconciler.apply.issue import cert_issue as issue

    return await issue(ctx, action)


async def node_drain(ctx: StepContext, action: Action) -> str:
    from reconciler.apply.drain import node_drain as drain  # builds on this module

    return await drain(ctx, action)


async def manual(ctx: StepContext, action: Action) -> str:
    raise StepFailed(f"manual step: {action.manual}")


async def cert_regenerate(ctx: StepContext, action: Action) -> str:
    from reconciler.apply.role_steps import role_regenerate

    return await role_regenerate(ctx, action)


STEPS: dict[str, Callable[[StepContext, Action], Coroutine[Any, Any, str]]] = {
    "trust.add": trust_add,
    "service.restart": service_restart,
    "csr.generate": csr_generate,
    "cert.issue": cert_issue,
    "cert.install": cert_install,
    "cert.regenerate": cert_regenerate,
    "node.drain": node_drain,
    "node.restart": node_restart,
    "trust.remove": trust_remove,
    "manual": manual,
}
