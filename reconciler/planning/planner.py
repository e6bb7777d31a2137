"""The planner: desired × live × time → Plan (docs/architecture.md). Pure: no I/O, no clock.

Rules, in Cisco's order: every CA of a node's effective trust that its store lacks is added
first (``trust.add``), then the CUCM services that read those stores restart; a signed
certificate is installed (``cert.install``, leaf only) only after every linked peer trusts its
chain; then the node restarts (Expressway) or Cisco Tomcat restarts (CUCM identity); restarts
of linked nodes never overlap; removals of pruned CAs come last. What happens to each node's
certificate (install, CSR, issuance, wait) is decided by ``planning.lifecycle``; this module
turns that decision into drafts, links them into the graph and orders it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from reconciler.checks.fleet import FleetView, NodeView, renew_before
from reconciler.kinds import NodeKind
from reconciler.kinds.roles import parse_version
from reconciler.model import (
    RESTART_KINDS,
    Code,
    Finding,
    LiveNode,
    Plan,
    ServerCertificateSpec,
    Severity,
)
from reconciler.model.layout import OWED_RESTARTS_FILE, csr_path, role_stem
from reconciler.model.live import fingerprint_of
from reconciler.model.renewal import RenewalWindow
from reconciler.pki import CertCache, CertInfo, CsrInfo, PkiError, build_chain, key_matches
from reconciler.pki.ari import cert_id
from reconciler.planning.apicert import expired_read, expired_refused
from reconciler.planning.cluster_itl import cluster_itl_restarts
from reconciler.planning.drain import DRAIN_KIND, add_drains
from reconciler.planning.emergency import emergency_findings, emergency_nodes, with_emergency
from reconciler.planning.graph import (
    Draft,
    Drafts,
    Rolling,
    action_id,
    merge,
    ordered,
    serialise_restarts,
    serving_restart,
)
from reconciler.planning.holdback import hold_back, soften, troubled_nodes
from reconciler.planning.lifecycle import (
    CertFacts,
    Decision,
    RenewalTime,
    Step,
    decide,
    notes,
    renewal_due,
    renewal_time,
)
from reconciler.planning.live import LiveView, parse_live
from reconciler.planning.lockout import ApiTrust, lockout_findings
from reconciler.planning.multiserver import (
    manual_distribution,
    multi_server_lockout,
    plan_multi_server,
)
from reconciler.planning.phones import phone_rules
from reconciler.planning.regenerate import (
    manual_trust_drafts,
    regenerate_drafts,
    regenerated_trust,
    restart_version_note,
    role_restarts,
)
from reconciler.planning.renewal_timing import in_restart_window
from reconciler.planning.renewal_windows import few_window_findings
from reconciler.planning.replication import await_replication
from reconciler.planning.roles import node_rules, version_mismatch
from reconciler.planning.targets import narrow_to_targets
from reconciler.planning.windows import (
    WindowPolicy,
    chain_findings,
    disruptive_kinds,
    plan_windows,
)

NOT_SERVED = "the installed certificate is not served yet (restart pending)"
SERVE_NEW = "serve the newly installed certificate"


@dataclass(frozen=True)
class _Ctx:
    """The planner's inputs: the desired fleet, the parsed live nodes, the time, the cache."""

    fleet: FleetView
    lives: Mapping[str, LiveView]
    now: datetime
    cache: CertCache
    # ARI windows and CRL entries, by <node>[.<role>] (model.layout.role_stem)
    renewal: Mapping[str, RenewalWindow] = field(default_factory=dict)
    revoked: Mapping[str, str] = field(default_factory=dict)
    policy: WindowPolicy | None = None  # the restart windows a CA-timed renewal lands in

    def finding(
        self,
        code: Code,
        severity: Severity,
        node: str,
        message: str,
        at: tuple[str, ...] = ("server_certificate",),
    ) -> Finding:
        view = self.fleet.nodes.get(node)
        location = view.node.pos(*at) if view else None
        return Finding(code=code, severity=severity, node=node, message=message, location=location)


@dataclass(frozen=True)
class Planned:
    """What one planning step adds: drafts and findings."""

    drafts: tuple[Draft, ...] = ()
    findings: tuple[Finding, ...] = field(default=())


def make_plan(
    fleet: FleetView,
    live: Mapping[str, LiveNode],
    now: datetime,
    *,
    cache: CertCache,
    findings: tuple[Finding, ...] = (),
    targets: frozenset[str] | None = None,
    shard: frozenset[str] | None = None,
    api_trust: Mapping[str, ApiTrust] | None = None,
    strict: bool = False,
    renewal: Mapping[str, RenewalWindow] | None = None,
    revoked: Mapping[str, str] | None = None,
) -> Plan:
    """The ordered plan that brings ``live`` to ``fleet``'s desired state at time ``now``.

    With ``api_trust`` (how certops authenticates each node's API), an install that would
    leave certops unable to verify the node afterwards is a blocking ``api.lockout``.
    A node that cannot be read blocks the whole plan only with ``strict``; otherwise the plan
    is partial: that node and the nodes linked to it are held back (``planning.holdback``).
    ``renewal``: the ACME CAs' renewal windows (ARI) by ``<node>[.<role>]``, which time a
    renewal instead of ``renew_before`` when they are about the installed certificate;
    ``revoked``: the certificates (same keys) on their issuer's CRL (what the CRL says),
    renewed now."""
    partial = targets is not None or shard is not None
    lives, read_findings = _read_live(fleet, live, cache, partial=partial)
    troubled = frozenset() if strict else troubled_nodes(read_findings)
    if troubled:
        lives = {n: v for n, v in lives.items() if n not in troubled}
        read_findings = [soften(f) for f in read_findings]
    policy = WindowPolicy(fleet.desired)
    ctx = _Ctx(fleet=fleet, lives=lives, now=now, cache=cache, renewal=renewal or {},
               revoked=revoked or {}, policy=policy)
    drafts, planned = _plan_nodes(ctx)
    links, rolling = _restart_rules(fleet)
    drafts = serialise_restarts(drafts, links, rolling)
    deferred: list[Finding] = []
    if targets is not None:  # only trust on the other nodes (planning/targets.py)
        drafts, deferred = narrow_to_targets(drafts, targets)
    if troubled:
        drafts, held = hold_back(fleet, drafts, troubled)
        deferred += held
    if shard is not None:
        drafts, shards = _defer_to_other_shards(ctx, drafts, shard)
        deferred += shards
    drafts = add_drains(fleet, drafts, lambda n: n in lives and DRAIN_KIND in (
        lives[n].live.capabilities))
    drafts = manual_distribution(fleet, _to_manual(ctx, drafts))
    actions = tuple(ordered(drafts))
    every = [*findings, *read_findings, *planned, *deferred]
    if api_trust:
        leaves = _planned_leaves(fleet)
        every += lockout_findings(actions, leaves, api_trust)
        every += multi_server_lockout(fleet, actions, leaves, api_trust)
    windows, frozen = plan_windows(policy, disruptive_kinds(fleet), actions, now)
    every += frozen + chain_findings(fleet, policy, actions)
    every += few_window_findings(fleet, lives, ctx.renewal, policy)
    every += emergency_findings(fleet, every, actions, policy)
    windows = with_emergency(windows, emergency_nodes(fleet, every))
    state = {n: v.live.fingerprint_parts() for n, v in sorted(lives.items())}
    return Plan(
        created_at=now,
        desired_digest=fleet.desired.digest,
        node_fingerprints={n: fingerprint_of(parts) for n, parts in state.items()},
        node_state=state,
        live_certificates={
            n: v.installed.summary() for n, v in sorted(lives.items()) if v.installed
        },
        tls_verify_off=tuple(
            sorted(n for n, v in fleet.nodes.items() if not v.node.spec.tls_verify)
        ),
        findings=tuple(sorted(every, key=Finding.sort_key)),
        actions=actions,
        restart_windows=windows,
    )


def _planned_leaves(fleet: FleetView) -> dict[str, tuple[CertInfo, tuple[CertInfo, ...]]]:
    """Each node's desired certificate and its chain, where a file gives one."""
    return {n: (v.leaf, v.chain_cas()) for n, v in fleet.nodes.items() if v.leaf is not None}


def _read_live(
    fleet: FleetView, live: Mapping[str, LiveNode], cache: CertCache, *, partial: bool
) -> tuple[dict[str, LiveView], list[Finding]]:
    """Each reachable node's live state, parsed; the unreachable ones as findings.

    With ``partial`` (targets or a shard), nodes that were not read are left out on purpose.
    """
    lives: dict[str, LiveView] = {}
    findings: list[Finding] = []
    for name in sorted(fleet.nodes):
        snapshot = live.get(name)
        if snapshot is None and partial:
            continue  # outside the targets (or shard) and their peers: not read on purpose
        if snapshot is None or not snapshot.reachable:
            findings.append(_not_read(fleet, name, snapshot))
            continue
        view, problems = parse_live(snapshot, cache)
        lives[name] = view
        findings.extend(problems)
        if snapshot.api_certificate_expired is not None:
            findings.append(expired_read(fleet, name, snapshot.api_certificate_expired))
    return lives, findings


def _restart_rules(fleet: FleetView) -> tuple[set[frozenset[str]], list[Rolling]]:
    """Which restarts must not overlap: linked nodes never restart together, except members
    of one cluster, which roll within their disruption budget (publisher first)."""
    desired = fleet.desired
    rolling: list[Rolling] = []
    inside: set[frozenset[str]] = set()
    for cluster in desired.fleet.clusters.values():
        rest = sorted(m for m in cluster.members if m != cluster.publisher)
        order = (cluster.publisher, *rest) if cluster.publisher else tuple(rest)
        rolling.append(Rolling(order=order, max_unavailable=cluster.max_unavailable))
        inside |= {frozenset((a, b)) for a in cluster.members for b in cluster.members if a != b}
    return desired.linked_pairs() - inside, rolling


def _not_read(fleet: FleetView, name: str, snapshot: LiveNode | None) -> Finding:
    """The finding of a node that could not be read: unreachable, or an unknown answer."""
    why = snapshot.error if snapshot else "not read"
    if snapshot is not None and snapshot.unparseable:
        code = Code.LIVE_UNPARSEABLE
        message = (f"{name} answered in a shape certops does not know ({why}); nothing can be "
                   "planned for it. Check the node's API by hand and report the shape.")
    elif snapshot is not None and snapshot.api_certificate_expired is not None:
        code = Code.NODE_UNREACHABLE
        message = expired_refused(name, snapshot)
    else:
        code = Code.NODE_UNREACHABLE
        message = (f"{name} could not be read ({why}); nothing can be planned for it or for "
                   "changes its peers need. Check the node, the URL and the credentials.")
    return Finding(code=code, severity=Severity.ERROR, node=name, message=message,
                   location=fleet.nodes[name].node.pos("api"))


def _plan_nodes(ctx: _Ctx) -> tuple[dict[str, Draft], list[Finding]]:
    """Certificates, then trust, then the installs' links to trust, then removals."""
    drafts: dict[str, Draft] = {}
    findings: list[Finding] = []
    names = sorted(ctx.lives)
    for name in names:
        planned = _plan_certificate(ctx, ctx.fleet.nodes[name], ctx.lives[name])
        drafts = merge(drafts, planned.drafts)
        findings.extend(planned.findings)
    for name in names:
        drafts = merge(drafts, _plan_trust(ctx.fleet.nodes[name], ctx.lives[name], ctx.now))
    findings.extend(version_mismatch(ctx.fleet, ctx.lives))
    drafts = await_replication(ctx.fleet, frozenset(names), drafts)
    drafts = _link_installs(ctx, names, drafts)
    drafts = regenerated_trust(ctx.fleet, frozenset(names), drafts)
    drafts, phones = phone_rules(ctx.fleet, drafts)
    findings.extend(phones)
    drafts = cluster_itl_restarts(ctx.fleet, frozenset(names), drafts)
    drafts = plan_multi_server(ctx.fleet, ctx.lives, drafts)
    restarts = frozenset(a for a, d in drafts.items() if d.kind in RESTART_KINDS)
    for name in names:
        planned = _plan_prune(ctx, ctx.fleet.nodes[name], ctx.lives[name], restarts)
        drafts = merge(drafts, planned.drafts)
        findings.extend(planned.findings)
    return drafts, findings


# --- the certificate: facts → decision (planning.lifecycle) → drafts ----------------------


def _spec(view: NodeView, role: str | None) -> ServerCertificateSpec | None:
    """The spec of ``role`` (None: the primary role, ``server_certificate``)."""
    if role is None:
        return view.node.spec.server_certificate
    return view.node.spec.certificates.get(role)


def _facts(ctx: _Ctx, view: NodeView, lv: LiveView, role: str | None = None) -> CertFacts | None:
    """What a certificate decision depends on (None: the certificate is unmanaged): the
    primary role's (``role`` None) or another declared role's, by one code path."""
    sc = _spec(view, role)
    if sc is None:
        return None
    rv = view.roles.get(role) if role else None
    installed = lv.installed if role is None else lv.role_installed.get(role)
    live_pending = lv.pending_csr if role is None else lv.role_pending.get(role)
    committed = _committed_csr(ctx, view, role)
    pending = live_pending or committed
    renew = renew_before(ctx.fleet.desired, view, role)
    key = role_stem(view.name, role)  # windows and revocations are by certificate
    ari = _window_of(ctx, key, installed)
    revoked = ctx.revoked.get(key) if installed else None
    answered = bool(committed and installed and key_matches(installed, committed))
    when = _ari_time(ctx, view.name, installed, renew, ari)
    return CertFacts(
        node=view.name,
        file=sc.file,
        want=frozenset(n.lower() for n in sc.subject_alt_names),
        leaf=view.leaf if rv is None else rv.leaf,
        installed=installed,
        # only the primary certificate is served on the API port, where a restart shows
        restart_pending=lv.restart_pending if role is None else False,
        live_pending=live_pending is not None,
        pending=pending,
        pending_is_committed=_is_committed(ctx, csr_path(view.name, role), pending),
        due=(when.at <= ctx.now if when else renewal_due(installed, renew, ctx.now))
        or revoked is not None,
        when=when,
        revoked=revoked,
        renew_before=renew,
        ari=ari,
        now=ctx.now,
        issuer=view.issuer if rv is None else rv.issuer,
        # VOS over REST alone: the pending CSR cannot be read, so a new one might replace it
        # unseen; the platform CLI shows every identity's (the node then offers csr.read).
        pending_unreadable=(view.kind.committed_csr_stands_for_pending
                            and "csr.read" not in lv.live.capabilities),
        replace_pending=sc.replace_pending_csr,
        csr_answered=answered,
        role=role,
        self_signed=rv.self_signed if rv is not None else False,
    )


def _ari_time(ctx: _Ctx, name: str, installed: CertInfo | None, renew: str,
              ari: RenewalWindow | None) -> RenewalTime | None:
    """When the CA's ARI window has the certificate renewed: at the node's first restart
    window inside it (planning.renewal_timing); None without ARI."""
    if ari is None or installed is None:
        return None
    window = ctx.policy.window(name) if ctx.policy else None
    return in_restart_window(renewal_time(installed, renew, ari), ari, window, ctx.now)


def _window_of(ctx: _Ctx, key: str, installed: CertInfo | None) -> RenewalWindow | None:
    """The CA's renewal window for the certificate ``key`` (``<node>[.<role>]``) installed (a
    window about a certificate the node no longer holds is ignored)."""
    window = ctx.renewal.get(key)
    if window is None or installed is None or cert_id(installed.cert) != window.cert_id:
        return None
    return window


def _committed_csr(ctx: _Ctx, view: NodeView, role: str | None = None) -> CsrInfo | None:
    """Where the node's pending CSR cannot be read (Unified CM), the one certops saved stands
    in for it."""
    if not view.kind.committed_csr_stands_for_pending:
        return None
    pem = ctx.fleet.desired.files.get(csr_path(view.name, role))
    if pem is None:
        return None
    try:
        return ctx.cache.parse_csr(pem.data)
    except PkiError:
        return None


def _is_committed(ctx: _Ctx, path: str, pending: CsrInfo | None) -> bool:
    """``pending`` is the CSR committed at ``path`` (csrs/<node>[.<role>].csr.pem)."""
    committed = ctx.fleet.desired.files.get(path)
    if pending is None or committed is None:
        return False
    return pending.pem.strip() == committed.data.decode(errors="replace").strip()


def _plan_certificate(ctx: _Ctx, view: NodeView, lv: LiveView) -> Planned:
    """Every declared role's certificate (the primary one first), one code path for all,
    with the role rules of ``planning.roles``; the manual steps those rules need first (X15.4's
    upload switch) join the plan only where a primary install is planned, and it waits for
    them."""
    found, first = node_rules(ctx.fleet, view, lv, ctx.now)
    version = parse_version(lv.live.version)
    table = view.kind.role_table
    drafts: dict[str, Draft] = {}
    findings: list[Finding] = []
    roles = [None, *(r for r in sorted(view.roles) if table.has_role(r, version))]
    for role in roles:
        planned = _plan_role(ctx, view, lv, role)
        findings.extend(planned.findings)
        for draft in planned.drafts:
            drafts[draft.id] = _merged(drafts.get(draft.id), draft)
    installs = [d.id for d in drafts.values() if d.role is None and (
        d.kind == "cert.install" or (d.kind == "manual" and d.issuer is not None))]
    if installs and first:
        drafts = {d.id: d for d in first} | {
            aid: d.after(f.id for f in first) if aid in installs else d
            for aid, d in drafts.items()}
    else:
        found = [f for f in found if f.code != Code.EKU_UPLOAD_SWITCH]
    drafts = _copy_follows(view, lv, drafts, installs)
    found = [_copy_severity(f, drafts) for f in found]
    return Planned(tuple(_installs_in_order(view, drafts).values()), (*found, *findings))


def _copy_follows(view: NodeView, lv: LiveView, drafts: dict[str, Draft],
                  installs: list[str]) -> dict[str, Draft]:
    """A role that copies the primary certificate copies the new one after its install."""
    out = dict(drafts)
    for name, rv in sorted(view.roles.items()):
        if rv.copy_from is None or not installs:
            continue
        copy = next((d for d in _copy_drafts(view, lv, rv.copy_from, name, force=True)), None)
        if copy is not None:
            out[copy.id] = _merged(out.get(copy.id), copy.after(installs))
    return out


def _copy_severity(finding: Finding, drafts: Mapping[str, Draft]) -> Finding:
    """``role.copy`` is a warning while a copy is planned, a note once it is done."""
    if finding.code != Code.ROLE_COPY:
        return finding
    planned = any(d.kind == "manual" and d.id.endswith("/copy") for d in drafts.values())
    return finding if planned else finding.model_copy(update={"severity": Severity.INFO})


def _installs_in_order(view: NodeView, drafts: dict[str, Draft]) -> dict[str, Draft]:
    """The primary role's install waits for the installs of roles the kind installs first
    (Expressway X15.5: the client certificate before the server certificate)."""
    roles = view.kind.role_table.roles
    first = [d.id for d in drafts.values() if d.kind == "cert.install" and d.role
             and roles.get(d.role) is not None and roles[d.role].install_first]
    if not first:
        return drafts
    return {aid: d.after(first) if d.kind == "cert.install" and d.role is None else d
            for aid, d in drafts.items()}


def _merged(old: Draft | None, new: Draft) -> Draft:
    """One draft for an id planned by two roles (the node's one restart after both
    installs): the first, waiting for what both wait for."""
    return new if old is None else old.after(new.depends_on)


def _plan_role(ctx: _Ctx, view: NodeView, lv: LiveView, role: str | None) -> Planned:
    facts = _facts(ctx, view, lv, role)
    if facts is None:
        return Planned()
    at = view.node.spec.role_path(role, "") if role else None
    found = tuple(
        ctx.finding(n.code, n.severity, view.name, n.message,
                    (*at, *n.at[1:]) if at else n.at) for n in notes(facts)
    )
    rv = view.roles.get(role) if role else None
    if rv is not None and rv.copy_from is not None:
        return Planned(tuple(_copy_drafts(view, lv, rv.copy_from, role or "")), found)
    decision = decide(facts)
    if role is None and decision.step is Step.ISSUE and _builtin_acme(ctx, view):
        return _plan_builtin_acme(ctx, view, facts, found)
    drafts = _certificate_drafts(view, facts, decision)
    if role is None and facts.live_pending and "csr.discard" not in lv.live.capabilities:
        drafts = _discard_by_hand(view, drafts)
    if role is not None:
        version = parse_version(lv.live.version)
        drafts = manual_trust_drafts(view, role, role_restarts(view, role, version, drafts))
        if note := restart_version_note(view, role, version, drafts):
            found += (ctx.finding(Code.RESTART_VERSION_UNKNOWN, Severity.INFO, view.name, note,
                                  at or ("name",)),)
    return Planned(tuple(drafts), found)


def _copy_drafts(view: NodeView, lv: LiveView, source: str, role: str,
                 force: bool = False) -> list[Draft]:
    """``copy_from``: the role holds a copy of the source role's certificate. When the live
    copy differs from the source (or, ``force``, the source is being replaced), copying it
    is a manual step: the GUI's "Upload server certificate file as client certificate" has
    no published API [U]."""
    copy = lv.role_installed.get(role)
    source_live = lv.installed
    same = copy is not None and source_live is not None and copy.sha256 == source_live.sha256
    if same and not force:
        return []
    return [Draft(
        id=action_id(view.name, "manual", role, "copy"),
        kind="manual",
        node=view.name,
        role=role,
        reason=f"copy the {source} certificate into the {role} store (copy_from: {source}; "
        "no API is published for it: do it by hand)",
        manual="Maintenance > Security > Server certificate > Upload new certificate, with "
        "'Upload server certificate file as client certificate' selected",
    )]


def _builtin_acme(ctx: _Ctx, view: NodeView) -> bool:
    """The node's issuer is the node's own ACME client (``type: expressway-acme``)."""
    spec = ctx.fleet.desired.fleet.issuers.get(view.issuer) if view.issuer else None
    return spec is not None and spec.type == "expressway-acme"


def _plan_builtin_acme(
    ctx: _Ctx, view: NodeView, facts: CertFacts, found: tuple[Finding, ...]
) -> Planned:
    """The node's own ACME client signs and deploys (no restart): a manual step with the
    GUI path, after the trust of the issuer's CA files; an error on a kind without one."""
    template = view.kind.builtin_acme
    if template is None:
        return Planned((), (*found, ctx.finding(
            Code.ISSUER_BUILTIN_ACME, Severity.ERROR, view.name,
            f"issuer {view.issuer} is an Expressway-E's own ACME client, which a "
            f"{view.kind.title} does not have: name another issuer",
            at=("server_certificate", "issuer"),
        )))
    sans = tuple(sorted(facts.want))
    draft = Draft(
        id=action_id(view.name, "cert.issue"),
        kind="manual",
        node=view.name,
        issuer=facts.issuer,
        subject_alt_names=sans,
        manual=template.format(sans=", ".join(sans)),
        reason=f"the node's own ACME client signs and deploys its certificate (issuer "
        f"{facts.issuer}; no REST call is evidenced for it: do it by hand)",
    )
    note = ctx.finding(
        Code.ISSUER_BUILTIN_ACME, Severity.INFO, view.name,
        f"{view.name} renews through its own ACME client: a manual step "
        "(docs/issuers.md, Expressway-E built-in ACME)",
        at=("server_certificate", "issuer"),
    )
    return Planned((draft,), (*found, note))


def _discard_by_hand(view: NodeView, drafts: list[Draft]) -> list[Draft]:
    """A new CSR that replaces a pending one waits for a manual discard (the GUI path).

    Discarding over the API is not evidenced ([U]): a DELETE that does not exist would
    leave the old CSR in place, so no node kind offers it until a source shows it.
    """
    generate = next((d for d in drafts if d.kind == "csr.generate"
                     and d.reason.startswith("generate")), None)
    if generate is None:
        return drafts
    discard = Draft(
        id=action_id(view.name, "csr.discard"),
        kind="manual",
        node=view.name,
        reason="discard the node's pending CSR, which lacks desired names (no API on this "
        "node for csr.discard: do it by hand, then run certops plan again)",
        manual=view.kind.manual("csr.discard"),
    )
    return [discard, *(d.after((discard.id,)) if d is generate else d for d in drafts)]


def _certificate_drafts(view: NodeView, facts: CertFacts, decision: Decision) -> list[Draft]:
    """The actions of one certificate decision."""
    out: list[Draft] = []
    if decision.restart_pending or decision.step is Step.RESTART:
        out.append(serving_restart(view, (), NOT_SERVED))
    if decision.step is Step.INSTALL:
        out.extend(_install_file(view, facts))
    elif decision.step is Step.GENERATE:
        out.append(_csr_generate(view, facts, decision.why))
    elif decision.step is Step.KEEP:
        out.append(_csr_keep(view, facts))
    elif decision.step is Step.ISSUE:
        out.extend(_issue(view, facts, decision))
    elif decision.step is Step.REGENERATE:
        out.extend(regenerate_drafts(view, facts))
    return out



def _replacing(installed: CertInfo | None) -> str:
    return f", replacing serial {installed.serial}" if installed else ""


def _role_words(facts: CertFacts) -> str:
    """`` (client role)`` in reasons of another role's actions; nothing for the primary."""
    return f" ({facts.role} role)" if facts.role else ""


def _install_file(view: NodeView, facts: CertFacts) -> list[Draft]:
    """Install the committed certificate, then restart."""
    leaf = facts.leaf
    assert leaf is not None  # Step.INSTALL is decided only with a desired leaf
    install = Draft(
        id=action_id(view.name, "cert.install", facts.role or "", leaf.sha256[:16]),
        kind="cert.install",
        node=view.name,
        certificate=leaf.summary(),
        subject_alt_names=tuple(sorted(leaf.san_set())),
        reason=f"install {facts.file}{_role_words(facts)} (leaf only, PEM)"
        f"{_replacing(facts.installed)}",
        role=facts.role,
    )
    return [install, serving_restart(view, (install.id,), SERVE_NEW)]


def _csr_generate(view: NodeView, facts: CertFacts, why: str) -> Draft:
    name = view.name
    return Draft(
        id=action_id(name, "csr.generate", facts.role or ""),
        kind="csr.generate",
        node=name,
        subject_alt_names=tuple(sorted(facts.want)),
        reason=f"generate a CSR on the node{_role_words(facts)} ({why}); save it as "
        f"{facts.csr_file}",
        role=facts.role,
    )


def _csr_keep(view: NodeView, facts: CertFacts) -> Draft:
    name, pending = view.name, facts.pending
    assert pending is not None  # kept only when it fits
    return Draft(
        id=action_id(name, "csr.generate", facts.role or ""),
        kind="csr.generate",
        node=name,
        subject_alt_names=tuple(sorted(pending.san_set())),
        reason=f"keep the node's pending CSR{_role_words(facts)} (it has the desired names) "
        f"and save it as {facts.csr_file} for the CA",
        role=facts.role,
    )


def _issue(view: NodeView, facts: CertFacts, decision: Decision) -> list[Draft]:
    """CSR → issue (the certificate is known after apply) → install → restart."""
    name, issuer, role = view.name, facts.issuer, facts.role
    if decision.keep_pending:
        csr = _csr_keep(view, facts)
    else:
        csr = _csr_generate(view, facts, decision.why)
    issue = Draft(
        id=action_id(name, "cert.issue", role or ""),
        kind="cert.issue",
        node=name,
        issuer=issuer,
        subject_alt_names=csr.subject_alt_names,
        depends_on=frozenset({csr.id}),
        reason=f"have issuer {issuer} sign the node's CSR{_role_words(facts)} (certops.yaml "
        "issuers)",
        role=role,
    )
    payload = "with its chain" if view.kind.install_with_chain else "leaf only, PEM"
    install = Draft(
        id=action_id(name, "cert.install", role or "", "issued"),
        kind="cert.install",
        node=name,
        certificate_from=issue.id,
        subject_alt_names=csr.subject_alt_names,
        depends_on=frozenset({issue.id}),
        reason=f"install the certificate issuer {issuer} signs{_role_words(facts)} ({payload}; "
        f"known after apply){_replacing(facts.installed)}",
        role=role,
    )
    return [csr, issue, install, serving_restart(view, (install.id,), SERVE_NEW)]


# --- trust ------------------------------------------------------------------------------


def _plan_trust(view: NodeView, lv: LiveView, now: datetime) -> list[Draft]:
    """``trust.add`` for every CA of the effective trust that a store lacks, then CUCM restarts."""
    adds = _trust_adds(view, lv, now)
    restart = _trust_restart(view, lv, adds)
    return [*adds, *([restart] if restart else [])]


def _trust_adds(view: NodeView, lv: LiveView, now: datetime) -> list[Draft]:
    """A CA the store lacks is added, unless it has expired (``ca.expired`` says so)."""
    out: list[Draft] = []
    for store in sorted(view.trust):
        wanted = view.trust[store]
        for sha in sorted(lv.lacks(store, wanted)):
            entry = wanted[sha]
            if entry.cert.not_after <= now:
                continue
            where = f" ({entry.file})" if entry.file else ""
            reason = "listed in the node file" if entry.listed else entry.reason
            out.append(
                Draft(
                    id=action_id(view.name, "trust.add", store, sha[:16]),
                    kind="trust.add",
                    node=view.name,
                    store=store,
                    certificate=entry.cert.summary(),
                    reason=f"{store} lacks '{entry.cert.subject}'{where}: {reason}",
                )
            )
    return out


def _trust_restart(view: NodeView, lv: LiveView, adds: list[Draft]) -> Draft | None:
    """The services that read the changed stores (or that the node says wait) restart."""
    changed = {a.store for a in adds if a.store}
    kind = view.kind
    services = set(kind.services_after_trust(changed)) | set(lv.live.services_pending)
    if not services:
        return None
    ordered_services = kind.order_services(services)
    why = (
        f"{', '.join(sorted(changed))} changed"
        if changed
        else f"an earlier trust upload still waits for these restarts ({OWED_RESTARTS_FILE})"
    )
    return Draft(
        id=action_id(view.name, "service.restart", "trust"),
        kind="service.restart",
        node=view.name,
        services=ordered_services,
        depends_on=frozenset(a.id for a in adds),
        reason=f"{why}: restart {', '.join(ordered_services)}",
    )


def _link_installs(ctx: _Ctx, names: list[str], drafts: Drafts) -> dict[str, Draft]:
    """Every install of ``names`` made to wait for the trust it needs (``_link_install``).
    The drafts are grouped by node once: looking through all of them for each node made this
    step quadratic (a million comparisons for a 1,000-node renewal)."""
    by_node: dict[str, list[Draft]] = {}
    for draft in drafts.values():
        by_node.setdefault(draft.node, []).append(draft)
    out = dict(drafts)
    for name in names:
        for linked in _link_install(ctx, ctx.fleet.nodes[name], drafts, by_node):
            out[linked.id] = linked
    return out


def _link_install(ctx: _Ctx, view: NodeView, drafts: Drafts,
                  by_node: Mapping[str, list[Draft]]) -> list[Draft]:
    """A node's installs (one per role), each waiting for its own and its peers' trust of
    the new chain (the desired leaf's, or the issuer's declared one)."""
    installs = [d for d in by_node.get(view.name, ()) if
                d.kind == "cert.install" or (d.kind == "manual" and d.issuer is not None)]
    out: list[Draft] = []
    for install in installs:
        role = view.roles.get(install.role) if install.role else None
        chain = {c.sha256 for c in (role or view).known_chain()}
        deps = _trust_deps(ctx, view, chain, drafts, by_node, _own_stores(view, install.role))
        out.append(install.after(deps))
        # cert.issue checks the trust gate on the live stores of the node and its peers:
        # it runs once that trust is there (and no peer is restarting for it).
        issue = drafts.get(install.certificate_from or "")
        if issue is not None and issue.kind == "cert.issue":
            out.append(issue.after(deps))
    return out


def _own_stores(view: NodeView, role: str | None) -> tuple[str, ...]:
    """The node's stores that must hold the chain of ``role``'s certificate before its
    install: the role table's (Unified CM's callmanager: callmanager-trust; IM&P's
    cup-xmpp-s2s: cup-xmpp-trust), else the kind's own stores."""
    profile = view.kind.role_table.roles.get(role or "")
    stores = profile.own_stores if profile is not None and role else None
    return view.kind.own_stores if stores is None else stores


def _trust_deps(ctx: _Ctx, view: NodeView, chain: set[str], drafts: Drafts,
                by_node: Mapping[str, list[Draft]],
                own: tuple[str, ...] | None = None) -> list[str]:
    """The trust actions (and their restarts) that put ``chain`` into the node's own stores
    (``own``: the installed role's, by default the kind's) and every linked peer's."""
    holders = [(view.name, view.kind.own_stores if own is None else own)]
    for peer in ctx.fleet.desired.peers(view.name):
        if peer in ctx.fleet.nodes:
            holders.append((peer, ctx.fleet.nodes[peer].kind.peer_stores))
    deps: list[str] = []
    for node, stores in holders:
        restart = drafts.get(action_id(node, "service.restart", "trust"))
        for draft in by_node.get(node, ()):
            if (
                draft.kind == "trust.add"
                and draft.store in stores
                and draft.certificate
                and draft.certificate.sha256 in chain
            ):
                deps.extend([draft.id, *([restart.id] if restart else [])])
    deps.extend(_pending_restart_deps(ctx, holders, drafts))
    return deps


def _pending_restart_deps(
    ctx: _Ctx, holders: list[tuple[str, tuple[str, ...]]], drafts: Drafts
) -> list[str]:
    """The trust restarts an install must wait for although no ``trust.add`` is planned now:
    a holder's services that read the stores in question and still owe a restart (an earlier
    apply uploaded the CA, then stopped before the restart was confirmed)."""
    deps: list[str] = []
    for node, stores in holders:
        restart = drafts.get(action_id(node, "service.restart", "trust"))
        lv = ctx.lives.get(node)
        if restart is None or lv is None or node not in ctx.fleet.nodes:
            continue
        readers = set(ctx.fleet.nodes[node].kind.services_after_trust(set(stores)))
        if readers & set(lv.live.services_pending):
            deps.append(restart.id)
    return deps


# --- removals ---------------------------------------------------------------------------


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


def _plan_prune(ctx: _Ctx, view: NodeView, lv: LiveView, restarts: frozenset[str]) -> Planned:
    """``trust.remove`` of unlisted CAs in stores with ``prune: true`` (never a needed one)."""
    stores = view.node.spec.stores()
    unmanaged_total = 0
    needed: set[str] | None = None
    out: list[Draft] = []
    for store, certs in sorted(lv.stores.items()):
        extra = [certs[sha] for sha in sorted(certs.keys() - view.trust.get(store, {}).keys())]
        spec = stores.get(store)
        if not extra:
            continue
        if spec is None or not spec.prune:
            unmanaged_total += len(extra)
            continue
        needed = _needed(ctx, view, lv) if needed is None else needed
        out.extend(
            Draft(
                id=action_id(view.name, "trust.remove", store, cert.sha256[:16]),
                kind="trust.remove",
                node=view.name,
                store=store,
                certificate=cert.summary(),
                depends_on=restarts,
                reason=f"'{cert.subject}' is not listed and {store} has prune: true",
            )
            for cert in extra
            if cert.sha256 not in needed
        )
    if not unmanaged_total:
        return Planned(tuple(out))
    return Planned(tuple(out), (_unmanaged(ctx, view.name, unmanaged_total),))


def _unmanaged(ctx: _Ctx, name: str, total: int) -> Finding:
    return ctx.finding(
        Code.TRUST_UNMANAGED,
        Severity.INFO,
        name,
        f"{total} CA certificate(s) in the node's trust stores are not in the "
        "desired state (kept; list them or set prune: true on the store to remove them)",
        at=("trust",),
    )


# --- shards and manual steps ------------------------------------------------------------


def _defer_to_other_shards(
    ctx: _Ctx, drafts: Drafts, shard: frozenset[str]
) -> tuple[dict[str, Draft], list[Finding]]:
    """Keep the shard's own actions; name those it leaves to other shards (docs/architecture.md).

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
    findings = [_left_to_other_shard(ctx, drafts[aid]) for aid in sorted(outside)]
    findings += [
        ctx.finding(
            Code.SHARD_WAITING,
            Severity.INFO,
            drafts[aid].node,
            f"{drafts[aid].kind} waits for actions of other shards "
            f"({', '.join(sorted(drafts[aid].depends_on & (outside | waiting)))}): run this "
            "shard again after they are applied",
            at=("name",),
        )
        for aid in sorted(waiting)
    ]
    return {a: d for a, d in drafts.items() if a not in outside | waiting}, findings


def _left_to_other_shard(ctx: _Ctx, d: Draft) -> Finding:
    return ctx.finding(
        Code.SHARD_OTHER,
        Severity.INFO,
        d.node,
        f"left to the shard of {d.node}: {d.kind}"
        + (f" [{d.store}]" if d.store else "")
        + f" ({d.reason})",
        at=("name",),
    )


def _to_manual(ctx: _Ctx, drafts: Drafts) -> dict[str, Draft]:
    """Actions the node's API cannot do become manual steps with the exact GUI path or CLI.

    ``cert.issue`` runs in certops itself (the issuer's command), never on the node.
    """
    out: dict[str, Draft] = {}
    for aid, draft in drafts.items():
        lv = ctx.lives.get(draft.node)
        kind = ctx.fleet.nodes[draft.node].kind
        # a role's restart is a service restart like any other: no capability of its own
        role = draft.role if draft.kind not in RESTART_KINDS else None
        capability = f"{draft.kind}:{role}" if role else draft.kind
        if lv is None or draft.kind in ("cert.issue", "manual") or (
            capability in lv.live.capabilities
            and (not draft.store or kind.store_capable(draft.store))
        ):
            out[aid] = draft
        else:
            out[aid] = _manual(kind, draft)
    return out


def _manual(kind: NodeKind, draft: Draft) -> Draft:
    """``draft`` as a manual step on a node of ``kind``."""
    cert = draft.certificate
    extra = {"file": f"(the certificate {draft.certificate_from} returns)"} if (
        draft.certificate_from
    ) else {}
    role = kind.role_table.roles.get(draft.role or "")
    template = {"cert.install": role.manual_install, "csr.generate": role.manual_csr,
                "cert.regenerate": role.manual_regenerate}.get(
        draft.kind, "") if role is not None else ""
    values = {"sans": ", ".join(draft.subject_alt_names),
              "file": f"(the certificate {draft.certificate_from} returns)"
              if draft.certificate_from else "(the certificate file)"}
    text = template.format(**values) if template else kind.manual(
        draft.kind,
        store=draft.store or "",
        subject=cert.subject if cert else "",
        sans=", ".join(draft.subject_alt_names),
        commands="; ".join(f"utils service restart {s}" for s in draft.services),
        node=draft.node,
        **extra,
    )
    return replace(
        draft,
        kind="manual",
        manual=text,
        reason=f"{draft.reason} (no API on this node for {draft.kind}: do it by hand)",
    )
