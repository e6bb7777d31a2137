"""The planner: desired × live × time → Plan (DESIGN.md sections 3–5). Pure: no I/O, no clock.

Rules, in Cisco's order: every CA of a node's effective trust that its store lacks is added
first (``trust.add``), then the CUCM services that read those stores restart; a signed
certificate is installed (``cert.install``, leaf only) only after every linked peer trusts its
chain; then the node restarts (Expressway) or Cisco Tomcat restarts (CUCM identity); restarts
of linked nodes never overlap; removals of pruned CAs come last. Where no certificate file is
committed, a CSR is generated when renewal is due or the SANs differ, unless a pending CSR
with the right names already waits for its certificate.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from reconciler.checks.fleet import FleetView, NodeView
from reconciler.kinds import kind_of
from reconciler.model import Code, Finding, LiveNode, Plan, Severity, parse_duration
from reconciler.model.layout import cert_path, csr_path
from reconciler.pki import CertCache, CertInfo, CsrInfo, PkiError, build_chain, key_matches
from reconciler.planning.graph import Draft, action_id, closure, ordered, serialise_restarts
from reconciler.planning.live import LiveView, parse_live


@dataclass
class _Ctx:
    fleet: FleetView
    lives: dict[str, LiveView]
    now: datetime
    cache: CertCache
    drafts: dict[str, Draft] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    def add(self, draft: Draft) -> Draft:
        return self.drafts.setdefault(draft.id, draft)

    def note(
        self,
        code: Code,
        severity: Severity,
        node: str,
        message: str,
        at: tuple[str, ...] = ("server_certificate",),
    ) -> None:
        view = self.fleet.nodes.get(node)
        location = view.node.pos(*at) if view else None
        self.findings.append(
            Finding(code=code, severity=severity, node=node, message=message, location=location)
        )


def make_plan(
    fleet: FleetView,
    live: Mapping[str, LiveNode],
    now: datetime,
    *,
    cache: CertCache,
    findings: tuple[Finding, ...] = (),
    targets: frozenset[str] | None = None,
    shard: frozenset[str] | None = None,
) -> Plan:
    """The ordered plan that brings ``live`` to ``fleet``'s desired state at time ``now``."""
    ctx = _Ctx(fleet=fleet, lives={}, now=now, cache=cache, findings=list(findings))
    for name in sorted(fleet.nodes):
        snapshot = live.get(name)
        if snapshot is None and (targets is not None or shard is not None):
            continue  # outside the targets (or shard) and their peers: not read on purpose
        if snapshot is None or not snapshot.reachable:
            why = snapshot.error if snapshot else "not read"
            ctx.note(
                Code.NODE_UNREACHABLE,
                Severity.ERROR,
                name,
                f"{name} could not be read ({why}); nothing can be planned for it or for "
                "changes its peers need. Check the node, the URL and the credentials.",
                at=("api",),
            )
            continue
        view, problems = parse_live(snapshot, cache)
        ctx.lives[name] = view
        ctx.findings.extend(problems)

    for name in sorted(ctx.lives):
        _plan_certificate(ctx, fleet.nodes[name], ctx.lives[name])
    for name in sorted(ctx.lives):
        _plan_trust(ctx, fleet.nodes[name], ctx.lives[name])
    for name in sorted(ctx.lives):
        _link_install(ctx, fleet.nodes[name])
    for name in sorted(ctx.lives):
        _plan_prune(ctx, fleet.nodes[name], ctx.lives[name])

    links = {frozenset(link) for link in fleet.desired.fleet.links}
    serialise_restarts(ctx.drafts, links)
    drafts = ctx.drafts
    if targets is not None:
        keep = closure(drafts, {a for a, d in drafts.items() if d.node in targets})
        drafts = {a: d for a, d in drafts.items() if a in keep}
    if shard is not None:
        drafts = _defer_to_other_shards(ctx, drafts, shard)
    _to_manual(drafts, ctx.lives)
    return Plan(
        created_at=now,
        desired_digest=fleet.desired.digest,
        node_fingerprints={n: v.live.fingerprint() for n, v in sorted(ctx.lives.items())},
        node_state={n: v.live.fingerprint_parts() for n, v in sorted(ctx.lives.items())},
        live_certificates={
            n: v.installed.summary() for n, v in sorted(ctx.lives.items()) if v.installed
        },
        tls_verify_off=tuple(
            sorted(n for n, v in fleet.nodes.items() if not v.node.spec.tls_verify)
        ),
        findings=tuple(sorted(ctx.findings, key=Finding.sort_key)),
        actions=tuple(ordered(drafts)),
    )


def _sans(view: NodeView) -> frozenset[str]:
    sc = view.node.spec.server_certificate
    return frozenset(n.lower() for n in sc.subject_alt_names) if sc else frozenset()


def _restart(ctx: _Ctx, view: NodeView, after: set[str], reason: str) -> None:
    """The restart that makes a newly installed certificate served."""
    restart = view.kind.after_install
    ctx.add(
        Draft(
            id=action_id(view.name, restart.kind, restart.part),
            kind=restart.kind,
            node=view.name,
            reason=reason,
            services=restart.services,
            depends_on=set(after),
        )
    )


def _plan_certificate(ctx: _Ctx, view: NodeView, lv: LiveView) -> None:
    name, spec = view.name, view.node.spec
    sc = spec.server_certificate
    installed, leaf = lv.installed, view.leaf
    if sc is None:
        return
    want = _sans(view)
    if leaf is not None and (installed is None or installed.sha256 != leaf.sha256):
        pending = lv.pending_csr or _committed_csr(ctx, view)
        if not (
            (pending and key_matches(leaf, pending)) or (installed and key_matches(leaf, installed))
        ):
            ctx.note(
                Code.CSR_KEY_MISMATCH,
                Severity.ERROR,
                name,
                f"{sc.file} matches neither {name}'s pending CSR nor its current key: the "
                "node would refuse the install. Have the CA sign the node's pending CSR "
                f"({csr_path(name)}), or remove `file` to generate a new CSR.",
                at=("server_certificate", "file"),
            )
        if installed is not None:
            if leaf.authority_key_id != installed.authority_key_id:
                ctx.note(
                    Code.ISSUER_CHANGED,
                    Severity.INFO,
                    name,
                    f"{sc.file} is issued by '{leaf.issuer}' (AKI {leaf.authority_key_id}), "
                    f"the live certificate by '{installed.issuer}' (AKI "
                    f"{installed.authority_key_id}): the new chain is added to this node and "
                    "every linked peer first (Cisco's step D).",
                    at=("server_certificate", "file"),
                )
            if dropped := sorted(installed.san_set() - leaf.san_set()):
                ctx.note(
                    Code.SAN_DROPPED,
                    Severity.WARNING,
                    name,
                    f"the new certificate drops {', '.join(dropped)}, which the live one "
                    "carries: clients using those names will fail (Cisco's step A).",
                    at=("server_certificate", "file"),
                )
        install = ctx.add(
            Draft(
                id=action_id(name, "cert.install", leaf.sha256[:16]),
                kind="cert.install",
                node=name,
                certificate=leaf.summary(),
                subject_alt_names=tuple(sorted(leaf.san_set())),
                reason=f"install {sc.file} (leaf only, PEM)"
                + (f", replacing serial {installed.serial}" if installed else ""),
            )
        )
        _restart(ctx, view, {install.id}, "serve the newly installed certificate")
        return
    if lv.restart_pending:
        _restart(ctx, view, set(), "the installed certificate is not served yet (restart pending)")
    if leaf is not None or (installed is None and lv.pending_csr is None and not want):
        return
    due = False
    if installed is not None:
        renew = sc.renew_before or ctx.fleet.desired.fleet.policy.renew_before
        due = (
            installed.not_after - parse_duration(renew, installed.not_before, installed.not_after)
            <= ctx.now
        )
        if due:
            days = (installed.not_after - ctx.now).days
            ctx.note(
                Code.RENEWAL_DUE,
                Severity.WARNING,
                name,
                f"the live certificate expires on {installed.not_after:%Y-%m-%d} ({days} "
                f"days left, renew_before {renew}): a CSR is planned.",
            )
    differ = installed is None or installed.san_set() != want
    if differ and installed is not None:
        parts = []
        if missing := sorted(want - installed.san_set()):
            parts.append(f"lacks {', '.join(missing)}")
        if extra := sorted(installed.san_set() - want):
            parts.append(f"carries {', '.join(extra)} that the new one will drop")
        ctx.note(
            Code.SAN_LIVE_DIFFERS,
            Severity.INFO,
            name,
            f"the live certificate {' and '.join(parts)}: a CSR with the desired names is planned.",
        )
    if not (due or differ):
        return
    pending = lv.pending_csr or _committed_csr(ctx, view)
    if pending is not None and want <= pending.san_set():
        committed = ctx.fleet.desired.files.get(csr_path(name))
        if (
            committed is not None
            and pending.pem.strip() == committed.data.decode(errors="replace").strip()
        ):
            ctx.note(
                Code.CSR_WAITING,
                Severity.INFO,
                name,
                f"the pending CSR {csr_path(name)} waits for a signed certificate: have "
                f"the CA sign it and commit the result as {cert_path(name)} with "
                "server_certificate.file set.",
            )
            return
        ctx.add(
            Draft(
                id=action_id(name, "csr.generate"),
                kind="csr.generate",
                node=name,
                subject_alt_names=tuple(sorted(pending.san_set())),
                reason=f"keep the node's pending CSR (it has the desired names) and save it "
                f"as {csr_path(name)} for the CA",
            )
        )
        return
    why = "renewal is due" if due else "the SANs differ from the desired ones"
    if pending is not None:
        why += (
            "; the pending CSR lacks "
            + ", ".join(sorted(want - pending.san_set()))
            + " and is discarded first"
        )
    ctx.add(
        Draft(
            id=action_id(name, "csr.generate"),
            kind="csr.generate",
            node=name,
            subject_alt_names=tuple(sorted(want)),
            reason=f"generate a CSR on the node ({why}); save it as {csr_path(name)}",
        )
    )


def _committed_csr(ctx: _Ctx, view: NodeView) -> CsrInfo | None:
    """Where the node's pending CSR cannot be read (Unified CM), the one certops saved stands
    in for it."""
    if not view.kind.committed_csr_stands_for_pending:
        return None
    pem = ctx.fleet.desired.files.get(csr_path(view.name))
    if pem is None:
        return None
    try:
        return ctx.cache.parse_csr(pem.data)
    except PkiError:
        return None


def _plan_trust(ctx: _Ctx, view: NodeView, lv: LiveView) -> None:
    """``trust.add`` for every CA of the effective trust that a store lacks, then CUCM restarts."""
    name = view.name
    changed: set[str] = set()
    adds: set[str] = set()
    for store in sorted(view.trust):
        for sha, entry in sorted(view.trust[store].items()):
            if lv.store_has(store, sha):
                continue
            where = f" ({entry.file})" if entry.file else ""
            reason = "listed in the node file" if entry.listed else entry.reason
            draft = ctx.add(
                Draft(
                    id=action_id(name, "trust.add", store, sha[:16]),
                    kind="trust.add",
                    node=name,
                    store=store,
                    certificate=entry.cert.summary(),
                    reason=f"{store} lacks '{entry.cert.subject}'{where}: {reason}",
                )
            )
            adds.add(draft.id)
            changed.add(store)
    kind = view.kind
    services = set(kind.services_after_trust(changed)) | set(lv.live.services_pending)
    if services:
        ordered_services = kind.order_services(services)
        why = (
            f"{', '.join(sorted(changed))} changed"
            if changed
            else "the node reports a trust change waiting for these restarts"
        )
        ctx.add(
            Draft(
                id=action_id(name, "service.restart", "trust"),
                kind="service.restart",
                node=name,
                services=ordered_services,
                depends_on=adds,
                reason=f"{why}: restart {', '.join(ordered_services)}",
            )
        )


def _link_install(ctx: _Ctx, view: NodeView) -> None:
    """A node's install waits for its own and its peers' trust of the new chain."""
    install = next(
        (d for d in ctx.drafts.values() if d.node == view.name and d.kind == "cert.install"), None
    )
    if install is None:
        return
    chain = {c.sha256 for c in view.chain_cas()}
    holders = [(view.name, view.kind.own_stores)]
    for peer in ctx.fleet.desired.peers(view.name):
        if peer in ctx.fleet.nodes:
            holders.append((peer, ctx.fleet.nodes[peer].kind.peer_stores))
    for node, stores in holders:
        for draft in ctx.drafts.values():
            if draft.node != node:
                continue
            if (
                draft.kind == "trust.add"
                and draft.store in stores
                and draft.certificate
                and draft.certificate.sha256 in chain
            ):
                install.depends_on.add(draft.id)
                restart = ctx.drafts.get(action_id(node, "service.restart", "trust"))
                if restart is not None:
                    install.depends_on.add(restart.id)


def _needed(ctx: _Ctx, view: NodeView, lv: LiveView) -> set[str]:
    """CAs that a live or planned leaf of this node or a linked peer chains to."""
    pool = list(ctx.fleet.ca_pool.values())
    for store in lv.stores.values():
        pool.extend(store.values())
    anchors = [c for c in pool if c.self_signed]
    leaves: list[CertInfo] = []
    for name in (view.name, *ctx.fleet.desired.peers(view.name)):
        other = ctx.lives.get(name)
        node_view = ctx.fleet.nodes.get(name)
        for leaf in (
            other.installed if other else None,
            other.served if other else None,
            node_view.leaf if node_view else None,
        ):
            if leaf is not None:
                leaves.append(leaf)
    needed: set[str] = set()
    for leaf in leaves:
        needed.update(c.sha256 for c in build_chain(leaf, pool, anchors).chain[1:])
    return needed


def _plan_prune(ctx: _Ctx, view: NodeView, lv: LiveView) -> None:
    stores = view.node.spec.stores()
    unmanaged_total = 0
    needed: set[str] | None = None
    restarts = {a for a, d in ctx.drafts.items() if d.kind in ("node.restart", "service.restart")}
    for store, certs in sorted(lv.stores.items()):
        extra = [c for sha, c in sorted(certs.items()) if sha not in view.trust.get(store, {})]
        spec = stores.get(store)
        if not extra:
            continue
        if spec is None or not spec.prune:
            unmanaged_total += len(extra)
            continue
        needed = _needed(ctx, view, lv) if needed is None else needed
        for cert in extra:
            if cert.sha256 in needed:
                continue
            ctx.add(
                Draft(
                    id=action_id(view.name, "trust.remove", store, cert.sha256[:16]),
                    kind="trust.remove",
                    node=view.name,
                    store=store,
                    certificate=cert.summary(),
                    depends_on=set(restarts),
                    reason=f"'{cert.subject}' is not listed and {store} has prune: true",
                )
            )
    if unmanaged_total:
        ctx.note(
            Code.TRUST_UNMANAGED,
            Severity.INFO,
            view.name,
            f"{unmanaged_total} CA certificate(s) in the node's trust stores are not in the "
            "desired state (kept; list them or set prune: true on the store to remove them)",
            at=("trust",),
        )


def _defer_to_other_shards(
    ctx: _Ctx, drafts: dict[str, Draft], shard: frozenset[str]
) -> dict[str, Draft]:
    """Keep the shard's own actions; name those it leaves to other shards (DESIGN.md §5).

    A peer's trust of our new chain is planned by the peer's own shard (its effective trust
    includes our certificate), so an action waiting for it is deferred to a later run.
    """
    outside = {a for a, d in drafts.items() if d.node not in shard}
    waiting: set[str] = set()
    changed = True
    while changed:
        changed = False
        for aid, draft in drafts.items():
            if aid not in outside | waiting and draft.depends_on & (outside | waiting):
                waiting.add(aid)
                changed = True
    for aid in sorted(outside):
        d = drafts[aid]
        ctx.note(
            Code.SHARD_OTHER,
            Severity.INFO,
            d.node,
            f"left to the shard of {d.node}: {d.kind}"
            + (f" [{d.store}]" if d.store else "")
            + f" ({d.reason})",
            at=("name",),
        )
    for aid in sorted(waiting):
        d = drafts[aid]
        ctx.note(
            Code.SHARD_WAITING,
            Severity.INFO,
            d.node,
            f"{d.kind} waits for actions of other shards "
            f"({', '.join(sorted(d.depends_on & (outside | waiting)))}): run this shard "
            "again after they are applied",
            at=("name",),
        )
    return {a: d for a, d in drafts.items() if a not in outside | waiting}


def _to_manual(drafts: dict[str, Draft], lives: dict[str, LiveView]) -> None:
    """Actions the node's API cannot do become manual steps with the exact GUI path or CLI."""
    for draft in drafts.values():
        lv = lives.get(draft.node)
        if lv is None or draft.kind in lv.live.capabilities:
            continue
        cert = draft.certificate
        draft.manual = kind_of(lv.live.type).manual(
            draft.kind,
            store=draft.store or "",
            subject=cert.subject if cert else "",
            sans=", ".join(draft.subject_alt_names),
            commands="; ".join(f"utils service restart {s}" for s in draft.services),
        )
        draft.reason = f"{draft.reason} (no API on this node for {draft.kind}: do it by hand)"
        draft.kind = "manual"
