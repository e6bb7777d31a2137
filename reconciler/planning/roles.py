"""The clientAuth sunset rules beside the planner: what each certificate role needs, per node.

For every node the plan reads, by its kind's role table (``kinds.roles``) at its live version
and settings:

- an issuer that cannot give what a role needs blocks the plan, naming the role, the links
  that would break (who connects to whom is kind data) and the ways out
  (``issuer.no_client_auth``); an X15.4 Expressway-E instead needs its upload switch, a
  manual step unless the node shows it On (``eku.upload_switch``);
- a committed certificate that lacks what the role needs at this version (``eku.missing``);
- a client role that copies the server certificate names every link whose far end must
  then ignore clientAuth (``role.copy``);
- a role the node has but the file does not declare is reported with its expiry and EKUs
  (``role.undeclared``), or as unreadable where the node's API does not list it;
- the C and the E of one traversal pair on different versions (``link.version_mismatch``);
- the SIP TLS EKU checking mode as read (``eku.checking_mode``).

``forecast`` tells drift, months ahead, which renewals would fail this way. Pure: no I/O,
no clock (``now`` is an argument).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from reconciler.checks.fleet import FleetView, NodeView
from reconciler.checks.offline import role_eku
from reconciler.kinds.roles import CLIENT_AUTH, SERVER_AUTH, parse_version
from reconciler.model import Code, Finding, ServerCertificateSpec, Severity, parse_duration
from reconciler.pki import CertInfo
from reconciler.planning.graph import Draft, action_id
from reconciler.planning.lifecycle import renewal_due
from reconciler.planning.live import LiveView

UPGRADE = "upgrade the Expressway-C and -E together to X15.5, which separates server and " \
    "client certificates"


@dataclass(frozen=True)
class RoleState:
    """One declared role of a node as the rules see it."""

    role: str  # the role's name (the primary role's too)
    primary: bool
    spec: ServerCertificateSpec
    issuer: str | None  # the issuer that signs for it during apply (no file)
    leaf: CertInfo | None  # its committed certificate, if any
    at: tuple[str, ...]  # where it is written in the node file


def declared(view: NodeView) -> list[RoleState]:
    """Every declared role of ``view``'s node, the primary role first."""
    table = view.kind.role_table
    out: list[RoleState] = []
    spec = view.node.spec
    if spec.server_certificate is not None:
        out.append(RoleState(table.primary, True, spec.server_certificate, view.issuer,
                             view.leaf, ("server_certificate",)))
    for name, rv in sorted(view.roles.items()):
        out.append(RoleState(name, False, spec.certificates[name], rv.issuer, rv.leaf,
                             ("certificates", name)))
    return out


def needed(fleet: FleetView, view: NodeView, lv: LiveView, role: str) -> tuple[str, ...]:
    """The EKUs ``role`` needs on this node at its live version and settings."""
    return role_eku(fleet, view, role, lv.live.version or "", lv.live.settings)


def _version_text(lv: LiveView) -> str:
    return lv.live.version or "an unknown version"


def outbound_links(fleet: FleetView, view: NodeView, lv: LiveView, role: str) -> list[str]:
    """``node -> peer (what)`` for each linked peer this node connects to presenting
    ``role``'s certificate (its client role from the split on, its only one before)."""
    table = view.kind.role_table
    if table.presenting_role(parse_version(lv.live.version)) != role:
        return []
    out: list[str] = []
    for peer in fleet.desired.peers(view.name):
        other = fleet.nodes.get(peer)
        if other is None:
            continue
        out += [f"{view.name} -> {peer} ({use.what})" for use in table.link_to(other.kind.type)]
    return out


def _finding(view: NodeView, code: Code, severity: Severity, message: str,
             at: tuple[str, ...]) -> Finding:
    return Finding(code=code, severity=severity, node=view.name, message=message,
                   location=view.node.pos(*at))


def _ways_out(view: NodeView, lv: LiveView, role: str, lacking: str) -> str:
    table = view.kind.role_table
    version = parse_version(lv.live.version)
    ways = []
    if lacking == CLIENT_AUTH:
        client = table.client_role
        if client and table.has_role(client, version) and role == client:
            ways.append(f"an issuer with clientAuth for the {role} role (a private CA with "
                        "both EKUs; its CA goes into every peer's trust first)")
        else:
            ways.append("an issuer whose profile includes clientAuth (a private CA, or an "
                        "alternate root that every peer trusts)")
        if client and not table.has_role(client, version):
            ways.append(UPGRADE if view.kind.type.startswith("expressway") else
                        "a release that separates server and client certificates")
    else:
        ways.append(f"an issuer whose profile includes {lacking}")
    return "; or ".join(ways)


def issuer_findings(
    fleet: FleetView, view: NodeView, lv: LiveView, state: RoleState
) -> tuple[list[Finding], list[Draft]]:
    """An issuer that cannot give what the role needs: blocked, or X15.4's switch first."""
    spec = fleet.desired.fleet.issuers.get(state.issuer) if state.issuer else None
    if spec is None:
        return [], []
    need = needed(fleet, view, lv, state.role)
    lacking = [u for u in need if u not in spec.eku]
    if not lacking:
        return [], []
    switch = _upload_switch(fleet, view, lv, state, tuple(spec.eku),
                            f"issuer {state.issuer}", "issuer")
    if switch is not None:
        return switch
    links = outbound_links(fleet, view, lv, state.role) if CLIENT_AUTH in lacking else []
    broken = "; ".join(links) or "none listed in certops.yaml"
    public = " (a public CA)" if spec.public else ""
    code = Code.ISSUER_NO_CLIENT_AUTH
    message = (
        f"{view.name} {state.role}: issuer {state.issuer}{public} issues certificates with "
        f"{', '.join(spec.eku)} only (its eku in certops.yaml), but the {state.role} role of "
        f"{view.name} ({view.kind.title} {_version_text(lv)}) needs {', '.join(need)}: "
        f"without {' and '.join(lacking)} these links would break: {broken}. Ways out: "
        f"{_ways_out(view, lv, state.role, lacking[0])}."
    )
    return [_finding(view, code, Severity.ERROR, message, (*state.at, "issuer"))], []


def _upload_switch(
    fleet: FleetView, view: NodeView, lv: LiveView, state: RoleState, eku: Sequence[str],
    source: str, key: str,
) -> tuple[list[Finding], list[Draft]] | None:
    """X15.4 Expressway-E: a serverAuth-only certificate is fine once the upload switch is
    On. Read On: nothing to do; otherwise a manual step with the exact command, first."""
    table = view.kind.role_table
    row = table.row(state.role, parse_version(lv.live.version))
    if row is None or row.setting is None or row.relaxed_eku is None:
        return None
    if not set(row.relaxed_eku) <= set(eku) or fleet.desired.fleet.policy.required_eku:
        return None
    setting = row.setting
    value = lv.live.settings.get(setting.name)
    seen = f"reads {value}" if value is not None else "cannot be read over the API [U]"
    draft = Draft(
        id=action_id(view.name, "manual", "eku-upload-switch"),
        kind="manual",
        node=view.name,
        reason=f"{view.name} ({view.kind.title} {_version_text(lv)}) takes the serverAuth-only "
        f"certificate of {source} only with {setting.name} On ({seen})",
        manual=f"CLI (admin): {setting.command}",
    )
    verb = "issues" if key == "issuer" else "is"
    message = (f"{view.name} {state.role}: {source} {verb} serverAuth only; "
               f"{view.kind.title} {_version_text(lv)} accepts it only after "
               f"'{setting.command}' ({setting.tag}); the setting {seen}, so the plan does "
               "that by hand before the install. Its client connections (B2B, federation, "
               "neighbour zones) then present a certificate without clientAuth.")
    return [_finding(view, Code.EKU_UPLOAD_SWITCH, Severity.WARNING, message,
                     (*state.at, key))], [draft]


def leaf_eku_findings(fleet: FleetView, view: NodeView, lv: LiveView,
                      state: RoleState) -> tuple[list[Finding], list[Draft]]:
    """A committed certificate that lacks an EKU the role needs at the live version (the
    offline check knows no version and judged it by what every version needs); X15.4's
    switch first where it would take it."""
    if state.leaf is None:
        return [], []
    need = needed(fleet, view, lv, state.role)
    offline = role_eku(fleet, view, state.role)  # reported by the offline check already
    lacking = [u for u in need if u not in state.leaf.eku and u not in offline]
    if not lacking:
        return [], []
    switch = _upload_switch(fleet, view, lv, state, state.leaf.eku,
                            f"{state.spec.file}", "file")
    if switch is not None:
        return switch
    links = outbound_links(fleet, view, lv, state.role)
    return [_finding(view, Code.EKU_MISSING, Severity.ERROR,
                     f"{view.name} {state.role}: {state.spec.file} lacks {', '.join(lacking)}, "
                     f"which the {state.role} role needs on {view.kind.title} "
                     f"{_version_text(lv)} (links: {'; '.join(links) or 'none listed'}). "
                     f"Ways out: {_ways_out(view, lv, state.role, lacking[0])}.",
                     (*state.at, "file"))], []


def copy_findings(fleet: FleetView, view: NodeView, lv: LiveView,
                  state: RoleState) -> list[Finding]:
    """``copy_from``: every link whose far end must ignore clientAuth is named."""
    copy = state.spec.copy_from if hasattr(state.spec, "copy_from") else None
    if copy is None:
        return []
    links = outbound_links(fleet, view, lv, state.role)
    return [_finding(view, Code.ROLE_COPY, Severity.WARNING,
                     f"{view.name} {state.role}: copy_from: {copy} puts the {copy} certificate "
                     "(without clientAuth from a public CA) into the client store; every far "
                     "end of these links must then ignore clientAuth (on X15.5 'xConfiguration "
                     "SIP TLS Certificate ExtendedKeyUsage Checking Mode: Off'; the C's SSH "
                     "tunnels and MRA login still need clientAuth [C] TAC 225693): "
                     f"{'; '.join(links) or 'none listed in certops.yaml'}",
                     (*state.at, "copy_from"))]


def _is_subscriber(fleet: FleetView, node: str) -> bool:
    """Whether ``node`` is a member of a cluster whose publisher is another node."""
    name = fleet.desired.cluster_of(node)
    publisher = fleet.desired.fleet.clusters[name].publisher if name else None
    return publisher is not None and publisher != node


def undeclared_findings(view: NodeView, lv: LiveView, now: datetime,
                        policy_renew: str, subscriber: bool = False) -> list[Finding]:
    """Roles the node has at its version that the node file does not declare: reported with
    expiry and EKUs (or as unreadable), never left to expire unseen; a warning once the
    certificate is inside the policy's renewal window. A subscriber's copy of a
    publisher-only identity (ITLRecovery, distributed by the publisher) is the publisher's
    to declare (``role.publisher_only``), so it is not reported here."""
    table = view.kind.role_table
    version = parse_version(lv.live.version)
    names = {s.role for s in declared(view)}
    out: list[Finding] = []
    for role in table.roles:
        if role in names or role == table.primary or not table.has_role(role, version):
            continue
        if subscriber and table.roles[role].publisher_only:
            continue
        cert = lv.role_installed.get(role)
        if cert is None and role not in lv.live.roles_unreadable and \
                not table.roles[role].api_resource:
            continue  # a VOS identity the inventory does not list: nothing to report
        if role in lv.live.roles_unreadable or cert is None:
            out.append(_finding(view, Code.ROLE_UNREADABLE, Severity.WARNING,
                                f"{view.name} ({view.kind.title} {_version_text(lv)}) has a "
                                f"{role} certificate that its API does not list: certops "
                                f"cannot read its expiry. Check it by hand "
                                f"({table.roles[role].manual_install.split(' > Upload')[0]}).",
                                ("name",)))
            continue
        days = (cert.not_after - now).days
        due = renewal_due(cert, policy_renew, now)
        out.append(_finding(view, Code.ROLE_UNDECLARED, Severity.WARNING if due else Severity.INFO,
                            f"{view.name} has a {role} certificate that the node file does not "
                            f"declare: '{cert.subject}' from '{cert.issuer}', EKU "
                            f"{', '.join(cert.eku) or 'none'}, expires {cert.not_after:%Y-%m-%d} "
                            f"({days} days). Declare certificates: {{{role}: ...}} so certops "
                            "renews it.", ("name",)))
    return out


def listed_findings(view: NodeView, lv: LiveView, now: datetime,
                    policy_renew: str) -> list[Finding]:
    """Certificates the node lists beside its roles that its kind has no role for (Unified
    CM 15SU5's separate client certificates: their names are not published [U]): reported
    with expiry and EKUs, so they never expire unseen."""
    out: list[Finding] = []
    for name, cert in sorted(lv.role_installed.items()):
        if name in view.kind.role_table.roles:
            continue
        due = renewal_due(cert, policy_renew, now)
        out.append(_finding(view, Code.ROLE_UNDECLARED, Severity.WARNING if due else Severity.INFO,
                            f"{view.name} lists a certificate '{name}' that certops does not "
                            f"manage yet (a separate client certificate of this release; the "
                            f"names are not published [U]): '{cert.subject}' from "
                            f"'{cert.issuer}', EKU {', '.join(cert.eku) or 'none'}, expires "
                            f"{cert.not_after:%Y-%m-%d} ({(cert.not_after - now).days} days). "
                            "Renew it by hand until certops models it.", ("name",)))
    return out


def checking_mode(view: NodeView, lv: LiveView) -> list[Finding]:
    """The SIP TLS EKU checking mode as read, where the kind has it at this version."""
    table = view.kind.role_table
    version = parse_version(lv.live.version)
    client = table.client_role
    if not client or not table.has_role(client, version):
        return []
    out = []
    for setting in table.settings:
        if not setting.name.startswith("SIP TLS"):
            continue
        value = lv.live.settings.get(setting.name)
        seen = (f"is {value}" if value is not None
                else f"cannot be read over the API [U] (default {setting.default})")
        out.append(_finding(view, Code.EKU_CHECKING_MODE, Severity.INFO,
                            f"{view.name}: {setting.name} {seen}: inbound SIP TLS "
                            f"{'checks' if (value or setting.default) == 'On' else 'ignores'} "
                            "the client's clientAuth.", ("name",)))
    return out


def version_mismatch(fleet: FleetView, lives: Mapping[str, LiveView]) -> list[Finding]:
    """Linked nodes whose kinds connect to each other across the C/E boundary on different
    versions (Cisco: the C and the E must run the same version, FN74362)."""
    out: list[Finding] = []
    for pair in sorted(fleet.desired.linked_pairs(), key=sorted):
        a, b = sorted(pair)
        va, vb = lives.get(a), lives.get(b)
        na, nb = fleet.nodes.get(a), fleet.nodes.get(b)
        if not (va and vb and na and nb):
            continue
        types = {na.kind.type, nb.kind.type}
        if types != {"expressway-c", "expressway-e"}:
            continue
        pa, pb = parse_version(va.live.version), parse_version(vb.live.version)
        if pa is None or pb is None or pa[:2] == pb[:2]:
            continue
        c = a if na.kind.type == "expressway-c" else b
        out.append(_finding(fleet.nodes[c], Code.LINK_VERSION_MISMATCH, Severity.WARNING,
                            f"{a} runs {va.live.version} and {b} {vb.live.version}: the "
                            "Expressway-C and -E of a traversal pair must run the same "
                            "version (FN74362) [C]; their EKU rules differ until they do.",
                            ("name",)))
    return out


def node_rules(fleet: FleetView, view: NodeView, lv: LiveView,
               now: datetime) -> tuple[list[Finding], list[Draft]]:
    """Every role rule of one node: findings, and the manual drafts they need first."""
    findings: list[Finding] = []
    drafts: list[Draft] = []
    version = parse_version(lv.live.version)
    for state in declared(view):
        if not state.primary and not view.kind.role_table.has_role(state.role, version):
            findings.append(_finding(
                view, Code.ROLE_UNREADABLE, Severity.INFO,
                f"{view.name} runs {_version_text(lv)}, which has no {state.role} certificate "
                f"of its own (its one certificate plays every role): certificates.{state.role} "
                "is planned once the node runs a release that has it.", state.at))
            continue
        found, extra = issuer_findings(fleet, view, lv, state)
        on_leaf, first = leaf_eku_findings(fleet, view, lv, state)
        findings += found + on_leaf + copy_findings(fleet, view, lv, state)
        drafts += extra + first
    findings += undeclared_findings(view, lv, now, fleet.desired.fleet.policy.renew_before,
                                    subscriber=_is_subscriber(fleet, view.name))
    findings += listed_findings(view, lv, now, fleet.desired.fleet.policy.renew_before)
    findings += checking_mode(view, lv)
    return findings, drafts


def forecast(fleet: FleetView, view: NodeView, lv: LiveView, now: datetime) -> list[Finding]:
    """Drift's look ahead: each declared role whose next renewal (its date) would fail
    because its issuer cannot issue an EKU the role needs at the node's version."""
    out: list[Finding] = []
    policy = fleet.desired.fleet.policy
    for state in declared(view):
        spec = fleet.desired.fleet.issuers.get(state.issuer) if state.issuer else None
        installed = lv.installed if state.primary else lv.role_installed.get(state.role)
        if spec is None or installed is None:
            continue
        lacking = [u for u in needed(fleet, view, lv, state.role) if u not in spec.eku]
        if not lacking:
            continue
        renew = state.spec.renew_before or policy.renew_before
        when = installed.not_after - parse_duration(renew, installed.not_before,
                                                    installed.not_after)
        verb = "renews" if when > now else "was due to renew"
        out.append(_finding(view, Code.RENEWAL_FORECAST, Severity.WARNING,
                            f"{view.name} {state.role}: {verb} {when:%Y-%m-%d}; issuer "
                            f"{state.issuer} cannot issue {' and '.join(lacking)}, which "
                            f"{_version_text(lv)} needs. Ways out: "
                            f"{_ways_out(view, lv, state.role, lacking[0])}.",
                            (*state.at, "issuer")))
    return out


__all__ = ["CLIENT_AUTH", "SERVER_AUTH", "RoleState", "declared", "forecast", "node_rules",
           "version_mismatch"]
