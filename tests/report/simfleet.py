"""A simulated fleet's plan, built in memory (no lab, no certificates): a CA migration.

The fleet is made of units of ten nodes, ten units to a site: an Expressway-E pair, an
Expressway-C pair (each a cluster) and a Unified CM cluster of six (publisher first), the E
cluster linked to the C cluster and the C cluster to the Unified CM cluster. Every node adds
the new root and issuing CA to its trust stores (a Unified CM to two stores, then restarts
the services that read them) and installs a certificate from the new CA; the restarts run
one at a time through each unit (clusters roll, linked nodes never together), as the planner
orders them. Every ``error_every``-th node has a blocking finding, every Expressway a
renewal warning.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from hashlib import sha256

from reconciler.model import Action, CertSummary, Finding, Plan, Severity
from reconciler.report.facts import FleetFacts, NodeFacts

AT = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
UNIT = ("expe1", "expe2", "expc1", "expc2", "cucm1", "cucm2", "cucm3", "cucm4", "cucm5", "cucm6")
KINDS = {"expe": ("expressway-e", "Expressway-E"), "expc": ("expressway-c", "Expressway-C"),
         "cucm": ("cucm", "Unified CM")}
CUCM_TRUST = ("Cisco CallManager", "Cisco TFTP", "Cisco HAProxy", "Cisco Tomcat")


def _ca(name: str) -> CertSummary:
    return CertSummary.model_construct(
        subject=f"CN={name},O=Sim", issuer="CN=Sim Root G2,O=Sim", serial="01",
        not_before=AT, not_after=AT.replace(year=2036), sha256=sha256(name.encode()).hexdigest())


ROOT, ISSUING = _ca("Sim Root G2"), _ca("Sim Issuing CA G2")


def _action(aid: str, kind: str, node: str, deps: list[str], **extra: object) -> Action:
    return Action.model_construct(id=aid, kind=kind, node=node, reason=f"simulated {kind}",
                                  depends_on=tuple(sorted(deps)), **{
                                      "store": None, "certificate": None, "services": (),
                                      "subject_alt_names": (), "manual": None, "issuer": None,
                                      "certificate_from": None, "replicated_from": None,
                                      **extra})


def _unit(prefix: str) -> tuple[list[Action], list[str]]:
    """One unit's actions in plan order, and its node names."""
    names = [f"{prefix}-{role}" for role in UNIT]
    trust: dict[str, list[str]] = {}
    actions: list[Action] = []
    for name in names:
        stores = ("tomcat-trust", "callmanager-trust") if "cucm" in name else ("trusted-ca-list",)
        for store in stores:
            for ca in (ROOT, ISSUING):
                aid = f"{name}/trust.add/{store}/{ca.sha256[:8]}"
                actions.append(_action(aid, "trust.add", name, [], store=store, certificate=ca))
                trust.setdefault(name, []).append(aid)
    for name in names:  # each install waits for its own and every peer's trust (the unit)
        actions.append(_action(f"{name}/cert.install", "cert.install", name,
                               [a for ids in trust.values() for a in ids]))
    last: str | None = None
    for name in names:
        steps = ([("trust", CUCM_TRUST), ("identity", ("Cisco Tomcat",))] if "cucm" in name
                 else [("", ())])
        for part, services in steps:
            kind = "service.restart" if services else "node.restart"
            aid = f"{name}/{kind}" + (f"/{part}" if part else "")
            deps = [f"{name}/cert.install", *([last] if last else [])]
            actions.append(_action(aid, kind, name, deps, services=services))
            last = aid
    return actions, names


@cache  # immutable data, built once per size for the whole test session
def simulated(nodes: int, error_every: int = 97) -> tuple[Plan, FleetFacts]:
    """The plan of a ``nodes``-node fleet (a multiple of ten) and its facts."""
    actions: list[Action] = []
    facts: dict[str, NodeFacts] = {}
    peers: dict[str, tuple[str, ...]] = {}
    findings: list[Finding] = []
    for u in range(nodes // len(UNIT)):
        site = f"site{u // 10:03d}"
        prefix = f"{site}-u{u:04d}"
        unit_actions, names = _unit(prefix)
        actions += unit_actions
        for name in names:
            role = name.rsplit("-", 1)[1]
            node_type, title = KINDS[role[:4]]
            cluster = f"{prefix}-{role[:4]}"
            role = {"expe": "edge", "expc": "core", "cucm": "call-control"}[role[:4]]
            facts[name] = NodeFacts(type=node_type, kind=title, cluster=cluster, site=site,
                                    chain=frozenset({ROOT.sha256, ISSUING.sha256}),
                                    issuing=ISSUING.sha256, labels=(("role", role),))
            peers[name] = tuple(n for n in names if n != name)
    for i, name in enumerate(sorted(facts)):
        if i % error_every == 0:
            findings.append(Finding.model_construct(
                code="san.mismatch", severity=Severity.ERROR, node=name, location=None,
                message=f"certs/{name}.pem lacks {name}.sim.example: sign it again"))
        if "-exp" in name:
            findings.append(Finding.model_construct(
                code="renewal.due", severity=Severity.WARNING, node=name, location=None,
                message="the live certificate expires in 12 days (renew_before 30d)"))
    plan = Plan.model_construct(
        format_version=1, created_at=AT, desired_digest="0" * 64, git_commit=None,
        desired_root="desired-state", targets=(), node_fingerprints={n: "f" for n in facts},
        node_state={}, tls_verify_off=(), live_certificates={}, findings=tuple(findings),
        actions=tuple(actions))
    return plan, FleetFacts(facts, peers)
