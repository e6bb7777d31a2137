"""The steps of certificate roles other than a kind's primary one (X15.5's client store,
Unified CM's identities): the CSR and the install through the driver's role seam
(``drivers.RoleCertificates``), read back and checked like the primary role's; the
regeneration of a self-signed identity (``drivers.RoleRegenerator``) and the peers' upload of
the new certificate it makes (``trust.add`` with ``certificate_from``). ``steps`` dispatches here on
``Action.role``; ``cert.issue`` takes the role itself (``apply/issue.py``).
"""

from __future__ import annotations

from reconciler.apply.steps import (
    StepContext,
    StepFailed,
    _cannot,
    _to_install,
    csr_subject,
    sha_set,
)
from reconciler.desired.pending import mark_pending
from reconciler.desired.safewrite import UnsafeWrite, write_inside
from reconciler.drivers import RoleCertificates, RoleRegenerator
from reconciler.model import Action
from reconciler.model.layout import csr_path, role_stem
from reconciler.pki import CertInfo, PkiError


def role_driver(ctx: StepContext, action: Action) -> RoleCertificates:
    """The driver of a node whose action changes another role's certificate."""
    driver = ctx.drivers[action.node]
    if not isinstance(driver, RoleCertificates):
        raise _cannot(action, f"change its {action.role} certificate")
    return driver


async def role_csr_generate(ctx: StepContext, action: Action) -> str:
    """Another role's CSR: its pending one if it has the names, else a new one; saved as
    csrs/<node>.<role>.csr.pem. A pending CSR with other names is never discarded here."""
    driver, role = role_driver(ctx, action), action.role or ""
    want = {n.lower() for n in action.subject_alt_names}
    pending = await driver.role_csr_read(role)
    if pending is not None and want <= ctx.cache.parse_csr(pending.encode()).san_set():
        csr_pem, how = pending, f"kept the pending {role} CSR"
    elif pending is not None:
        raise StepFailed(f"{action.node} has a pending {role} CSR with other names: discard it "
                         "on the node, then re-run certops plan")
    else:
        subject = csr_subject(ctx, action.node)
        csr_pem, how = await driver.role_csr_generate(role, sorted(want), subject), \
            f"generated a {role} CSR"
    try:
        csr = ctx.cache.parse_csr(csr_pem.encode())
    except PkiError as exc:
        raise StepFailed(f"the node returned an unreadable {role} CSR: {exc}") from None
    if not want <= csr.san_set():
        raise StepFailed(f"the {role} CSR lacks {', '.join(sorted(want - csr.san_set()))}")
    try:
        path = write_inside(ctx.desired_root, csr_path(action.node, role), csr_pem)
    except UnsafeWrite as exc:
        raise StepFailed(f"the {role} CSR of {action.node} was generated but not saved: "
                         f"{exc}") from None
    ctx.csrs[role_stem(action.node, role)] = csr_pem
    return f"{how}; saved {path} for the CA"


async def role_install(ctx: StepContext, action: Action) -> str:
    """Another role's certificate: uploaded (leaf only), then read back from its store."""
    driver, role = role_driver(ctx, action), action.role or ""
    leaf, _cas = _to_install(ctx, action)
    old = await driver.role_certificate(role)
    if old is not None and leaf.sha256 in sha_set(ctx, [old]):
        return f"{role} certificate already installed"
    # VOS takes the leaf with its chain (the kind says so); Expressway the leaf only.
    kind = ctx.fleet.nodes[action.node].kind
    await driver.role_install(role, leaf.pem, [c.pem for c in _cas] if kind.install_with_chain
                              else [])
    now = await driver.role_certificate(role)
    if now is None or leaf.sha256 not in sha_set(ctx, [now]):
        raise StepFailed(f"{action.node}'s {role} store does not show serial {leaf.serial} "
                         "after the upload")
    _owe_restarts(ctx, action)
    how = "with its chain" if kind.install_with_chain else "leaf only, PEM"
    return f"installed serial {leaf.serial} as the {role} certificate ({how})"


def _owe_restarts(ctx: StepContext, action: Action) -> None:
    """Record the services the plan restarts after this install (its ``service.restart``
    steps that wait for it) in ``owed-restarts.json``, as a trust upload does: a role's
    certificate is served on no port certops reads (the CallManager identity on SIP TLS), so
    a later run cannot see that its restart is still owed when this apply's window closed
    or it stopped. The restart step clears them when it runs."""
    services = sorted({s for a in ctx.plan.actions
                       if a.kind == "service.restart" and a.node == action.node
                       and action.id in a.depends_on for s in a.services})
    if not services:
        return
    try:
        mark_pending(ctx.desired_root, action.node, services, now=ctx.now)
    except (UnsafeWrite, OSError) as exc:
        raise StepFailed(f"installed, but the owed restart of {action.node} could not be "
                         f"recorded: {exc}") from None


async def role_regenerate(ctx: StepContext, action: Action) -> str:
    """Regenerate a self-signed identity on the node, then read it back: a new certificate,
    self-signed (its subject is its issuer), kept for the peers' uploads that follow."""
    driver, role = ctx.drivers[action.node], action.role or ""
    if not isinstance(driver, RoleRegenerator) or not isinstance(driver, RoleCertificates):
        raise _cannot(action, f"regenerate its {role} certificate")
    before = await driver.role_certificate(role)
    await driver.role_regenerate(role)
    after = await driver.role_certificate(role)
    if after is None or (before is not None and sha_set(ctx, [after]) == sha_set(ctx, [before])):
        raise StepFailed(f"{action.node} shows no new {role} certificate after the "
                         "regeneration")
    try:
        cert = ctx.cache.parse(after.encode())[0]
    except (PkiError, IndexError):
        raise StepFailed(f"{action.node}'s regenerated {role} certificate is unreadable") from None
    if not cert.self_signed:
        raise StepFailed(f"{action.node}'s regenerated {role} certificate is not self-signed "
                         f"(issuer '{cert.issuer}')")
    ctx.regenerated[action.id] = cert
    return f"regenerated the {role} certificate: serial {cert.serial}, expires " \
        f"{cert.not_after:%Y-%m-%d}"


async def trust_add_regenerated(ctx: StepContext, action: Action) -> str:
    """A peer trusts the certificate a regeneration made in this apply: uploaded, read back."""
    assert action.store and action.certificate_from
    cert: CertInfo | None = ctx.regenerated.get(action.certificate_from)
    if cert is None:
        raise StepFailed(f"{action.certificate_from} made no certificate in this apply: re-run "
                         "certops plan")
    driver = ctx.drivers[action.node]
    if cert.sha256 in sha_set(ctx, await driver.read_store(action.store)):
        return "already present"
    outcome = await driver.trust_add(action.store, [cert.pem])
    if cert.sha256 not in sha_set(ctx, await driver.read_store(action.store)):
        raise StepFailed(f"{action.store} of {action.node} does not list '{cert.subject}' "
                         f"after the upload" + (f": {outcome}" if outcome else ""))
    return outcome or f"added '{cert.subject}' to {action.store}"
