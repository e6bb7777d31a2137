"""Drift: how the live fleet differs from the desired state, and its certificate hygiene.

Pure, like the planner it builds on: what the plan would change is drift (a certificate to
install, CAs to add, a restart pending, a CSR to generate); on top come the reports that
need no action today but an engineer wants to see at night: renewal windows, CAs that expire
before the leaves that chain to them, pending CSRs waiting for a signed certificate, and
trust-store hygiene (duplicates, same subject with different keys, orphans).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from reconciler.checks import FleetView
from reconciler.checks.fleet import NodeView, renew_before
from reconciler.model import Code, Finding, LiveNode, Plan, Severity
from reconciler.model.layout import role_stem
from reconciler.model.renewal import RenewalWindow
from reconciler.pki import CertCache, CertInfo, build_chain, same_subject
from reconciler.pki.ari import cert_id
from reconciler.planning.lifecycle import RenewalTime, renewal_time
from reconciler.planning.renewal_timing import in_restart_window
from reconciler.planning.windows import WindowPolicy

if TYPE_CHECKING:
    from reconciler.planning.live import LiveView

DRIFT_ACTION_CODES = {
    "trust.add": Code.DRIFT_TRUST,
    "cert.install": Code.DRIFT_CERTIFICATE,
    "node.restart": Code.DRIFT_RESTART_PENDING,
    "service.restart": Code.DRIFT_RESTART_PENDING,
    # csr.generate is left out: the planner's renewal.due / san.live_differs finding says it.
    "trust.remove": Code.DRIFT_TRUST,
    "manual": Code.DRIFT_MANUAL,
}


@dataclass(frozen=True)
class CertRecord:
    """One certificate seen on a node, for expiry metrics."""

    node: str
    store: str  # "server", "served" or a trust store name
    cert: CertInfo
    # the node's certificate, a CA its node file lists (or derives) in ``store``, or one that
    # the live certificate of the node or a peer chains through
    managed: bool = True


@dataclass(frozen=True, repr=False)
class DriftReport:
    """Drift of the fleet (a short repr: a full one of a large fleet costs hundreds of MB)."""

    plan: Plan
    findings: tuple[Finding, ...]
    certificates: tuple[CertRecord, ...]
    up: dict[str, bool]
    fleet: FleetView | None = None  # the fleet judged (the Markdown report groups by it)
    renewals: dict[str, RenewalTime] = field(default_factory=dict)  # by node
    # the other certificate roles' (certificates:), by node and role
    role_renewals: dict[str, dict[str, RenewalTime]] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"DriftReport({len(self.up)} nodes, {len(self.findings)} findings)"

    @property
    def in_sync(self) -> bool:
        return not self.plan.actions and not any(
            f.severity is not Severity.INFO for f in self.findings
        )

    @property
    def has_errors(self) -> bool:
        return any(f.severity is Severity.ERROR for f in self.findings)


def _f(code: Code, severity: Severity, node: str, message: str) -> Finding:
    return Finding(code=code, severity=severity, node=node, message=message)


def drift_report(
    fleet: FleetView,
    live: Mapping[str, LiveNode],
    plan: Plan,
    now: datetime,
    cache: CertCache,
    csr_ages: Mapping[str, datetime] | None = None,
    renewal: Mapping[str, RenewalWindow] | None = None,
) -> DriftReport:
    """The plan's changes as drift items, plus expiry and hygiene findings per node, and when
    each node's certificate is renewed and why (``renewal``: the CAs' ARI windows)."""
    from reconciler.planning.live import parse_live
    from reconciler.planning.roles import forecast

    findings: list[Finding] = [*plan.findings, *_action_drift(plan)]
    records: list[CertRecord] = []
    up = {name: snapshot.reachable for name, snapshot in sorted(live.items())}
    views = {
        name: parse_live(snapshot, cache)[0]
        for name, snapshot in sorted(live.items())
        if snapshot.reachable
    }
    for name, lv in views.items():
        for label, cert in (("server", lv.installed), ("served", lv.served),
                            *sorted(lv.role_installed.items())):
            if cert is not None:
                records.append(CertRecord(name, label, cert))
        if name in fleet.nodes:  # renewals months ahead that their issuer cannot make
            findings += forecast(fleet, fleet.nodes[name], lv, now)
        leaves = _leaves_in_use(fleet, views, name)
        for store, certs in sorted(lv.stores.items()):
            managed = _listed(fleet, name, store) | _in_use(list(certs.values()), leaves)
            records.extend(CertRecord(name, store, c, c.sha256 in managed) for c in certs.values())
            findings += _store_hygiene(name, store, list(certs.values()), leaves, now)
            findings += _duplicates(name, store, lv, certs)
        findings += _csr_pending(name, lv, plan, now, csr_ages)
    return DriftReport(
        plan=plan,
        findings=tuple(sorted(findings, key=Finding.sort_key)),
        certificates=tuple(records),
        up=up,
        fleet=fleet,
        renewals=_renewals(fleet, views, renewal or {}, now),
        role_renewals=_role_renewals(fleet, views, renewal or {}, now),
    )


def _renewals(fleet: FleetView, views: Mapping[str, LiveView],
              windows: Mapping[str, RenewalWindow], now: datetime) -> dict[str, RenewalTime]:
    """When each node's primary certificate is renewed: the ARI window about the installed
    one (at the node's first restart window inside it), else its ``renew_before``."""
    policy = WindowPolicy(fleet.desired)
    out: dict[str, RenewalTime] = {}
    for name, lv in views.items():
        view = fleet.nodes.get(name)
        if view is None or lv.installed is None or view.node.spec.server_certificate is None:
            continue
        out[name] = _when(fleet, policy, view, None, lv.installed, windows, now)
    return out


def _role_renewals(fleet: FleetView, views: Mapping[str, LiveView],
                   windows: Mapping[str, RenewalWindow], now: datetime
                   ) -> dict[str, dict[str, RenewalTime]]:
    """The same for each declared role beside the primary one that an issuer renews."""
    policy = WindowPolicy(fleet.desired)
    out: dict[str, dict[str, RenewalTime]] = {}
    for name, lv in views.items():
        view = fleet.nodes.get(name)
        for role, rv in sorted(view.roles.items()) if view else ():
            cert = lv.role_installed.get(role)
            if view is not None and cert is not None and rv.issuer:
                out.setdefault(name, {})[role] = _when(fleet, policy, view, role, cert,
                                                       windows, now)
    return out


def _when(fleet: FleetView, policy: WindowPolicy, view: NodeView, role: str | None,
          cert: CertInfo, windows: Mapping[str, RenewalWindow], now: datetime) -> RenewalTime:
    window = windows.get(role_stem(view.name, role))
    if window is not None and cert_id(cert.cert) != window.cert_id:
        window = None
    when = renewal_time(cert, renew_before(fleet.desired, view, role), window)
    return in_restart_window(when, window, policy.window(view.name), now)


def _listed(fleet: FleetView, name: str, store: str) -> set[str]:
    """The fingerprints of the CAs ``name``'s node file lists in ``store``, or that it must
    trust there (its own and its peers' chains, derive_trust)."""
    view = fleet.nodes.get(name)
    if view is None:
        return set()
    return {c.sha256 for c in view.listed.get(store, ())} | set(view.trust.get(store, {}))


def _in_use(certs: list[CertInfo], leaves: list[CertInfo]) -> set[str]:
    """The fingerprints of the CAs in ``certs`` that some of ``leaves`` chains through."""
    anchors = [c for c in certs if c.self_signed]
    return {ca.sha256 for leaf in leaves for ca in build_chain(leaf, certs, anchors).chain[1:]}


def _action_drift(plan: Plan) -> list[Finding]:
    """Each planned change as a drift item."""
    return [
        _f(
            DRIFT_ACTION_CODES[action.kind],
            Severity.WARNING,
            action.node,
            f"{action.kind}"
            + (f" [{action.store}]" if action.store else "")
            + f": {action.reason}",
        )
        for action in plan.actions
        if action.kind in DRIFT_ACTION_CODES
    ]


def _leaves_in_use(fleet: FleetView, views: Mapping[str, LiveView], name: str) -> list[CertInfo]:
    """The node's own live certificates and its peers': a store trusts the peers' chains too,
    so those CAs are in use, not orphans."""
    lv = views[name]
    own = [c for c in (lv.installed, lv.served) if c is not None]
    return [
        *own,
        *(
            c
            for p in fleet.desired.peers(name)
            if p in views
            for c in (views[p].installed, views[p].served)
            if c is not None
        ),
    ]


def _duplicates(
    name: str, store: str, lv: LiveView, certs: Mapping[str, CertInfo]
) -> list[Finding]:
    extra = len(lv.live.stores.get(store, ())) - len(certs)
    if extra <= 0:
        return []
    return [
        _f(
            Code.TRUST_DUPLICATE,
            Severity.WARNING,
            name,
            f"{store} holds {extra} duplicate CA certificate(s): remove the copies",
        )
    ]


def _csr_pending(
    name: str,
    lv: LiveView,
    plan: Plan,
    now: datetime,
    csr_ages: Mapping[str, datetime] | None,
) -> list[Finding]:
    """A pending CSR that no planned install answers."""
    if lv.pending_csr is None or any(
        a.node == name and a.kind == "cert.install" for a in plan.actions
    ):
        return []
    since = (csr_ages or {}).get(name)
    age = f" for {(now - since).days} days" if since else ""
    return [
        _f(
            Code.CSR_PENDING,
            Severity.INFO,
            name,
            f"a CSR has been pending on the node{age}, waiting for a "
            f"signed certificate (csrs/{name}.csr.pem)",
        )
    ]


def _store_hygiene(
    node: str, store: str, certs: list[CertInfo], leaves: list[CertInfo], now: datetime
) -> list[Finding]:
    out: list[Finding] = []
    anchors = [c for c in certs if c.self_signed]
    used: dict[str, CertInfo] = {}  # CA sha -> the leaf that chains through it
    for leaf in leaves:
        for ca in build_chain(leaf, certs, anchors).chain[1:]:
            used.setdefault(ca.sha256, leaf)
    for ca in certs:
        if ca.not_after <= now:
            out.append(
                _f(
                    Code.CA_EXPIRED,
                    Severity.WARNING if ca.sha256 not in used else Severity.ERROR,
                    node,
                    f"{store} holds '{ca.subject}', expired on {ca.not_after:%Y-%m-%d}",
                )
            )
        elif ca.sha256 in used and ca.not_after < used[ca.sha256].not_after:
            leaf = used[ca.sha256]
            out.append(
                _f(
                    Code.CA_EXPIRING,
                    Severity.WARNING,
                    node,
                    f"{store} holds '{ca.subject}', which expires on "
                    f"{ca.not_after:%Y-%m-%d}, before the certificate that chains to it "
                    f"('{leaf.subject}', {leaf.not_after:%Y-%m-%d}): renew the CA or "
                    "re-issue the leaf from a CA that outlives it",
                )
            )
    for subject, keys in same_subject(certs, by_key=True).items():
        out.append(
            _f(
                Code.TRUST_SAME_SUBJECT,
                Severity.WARNING,
                node,
                f"{store} holds {keys} CAs named '{subject}' with different keys: "
                "chain building may pick the wrong one; remove the stale one",
            )
        )
    orphans = [c for c in certs if c.sha256 not in used]
    if orphans and leaves:
        out.append(
            _f(
                Code.TRUST_ORPHANED,
                Severity.INFO,
                node,
                f"{store}: {len(orphans)} of {len(certs)} CAs are not in the chain of "
                "this node's certificate (expected for built-in CAs; review the rest)",
            )
        )
    return out
