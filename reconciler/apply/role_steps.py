"""The steps of certificate roles other than a kind's primary one (X15.5's client store):
the CSR and the install through the driver's role seam (``drivers.RoleCertificates``),
read back and checked like the primary role's. ``steps`` dispatches here on
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
from reconciler.desired.safewrite import UnsafeWrite, write_inside
from reconciler.drivers import RoleCertificates
from reconciler.model import Action
from reconciler.model.layout import csr_path, role_stem
from reconciler.pki import PkiError


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
    await driver.role_install(role, leaf.pem, [])
    now = await driver.role_certificate(role)
    if now is None or leaf.sha256 not in sha_set(ctx, [now]):
        raise StepFailed(f"{action.node}'s {role} store does not show serial {leaf.serial} "
                         "after the upload")
    return f"installed serial {leaf.serial} as the {role} certificate (leaf only, PEM)"
