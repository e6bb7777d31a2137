"""Helpers for the in-process tests: plan and apply through injected drivers, read the lab.

Everything here runs in the test's event loop against ``reconciler.lab.inprocess``: no
sockets, no subprocess (apart from the ``git rev-parse`` that the plan use case does).
Assertions read the emulated nodes' own state, never what a driver says about it.
"""

from __future__ import annotations

import dataclasses
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography import x509

from reconciler.apply.executor import execute
from reconciler.apply.steps import StepContext, Timing
from reconciler.drivers import Driver
from reconciler.issuers import issuers_of
from reconciler.lab.inprocess import FAST_HTTP, InProcessLab
from reconciler.model import Action, ApplyResult
from reconciler.pki import CertCache, build_chain
from reconciler.usecases.loading import load_fleet
from reconciler.usecases.plan import PlanRun, Scope, plan_with
from reconciler.usecases.session import Session

REPO = Path(__file__).resolve().parents[2]
NODES = ("expe1", "expc1", "cucm-pub")
LINKS = (("expc1", "expe1"), ("expc1", "cucm-pub"))
# The lab restarts in 0.05 s; the deadlines leave room for a loaded machine (a shared CI
# core can stall a step for seconds) while a hung restart still fails within seconds.
FAST = Timing(down_timeout=3.0, up_timeout=3.0, poll=0.01, replication_timeout=0.5,
              drain_poll=0.01)


def copy_desired(folder: Path, *, replace_pending_csr: bool = True) -> Path:
    """A private copy of the repository's example desired state.

    The lab's cucm-pub has no pending CSR, and the renewal tests say so: its node file
    allows a new CSR (``replace_pending_csr``), which Unified CM cannot otherwise be sure of
    (tests/unit/test_cucm_pending_csr.py has the copy without it)."""
    dst = folder / "desired-state"
    shutil.copytree(REPO / "desired-state", dst)
    if replace_pending_csr:
        allow_csr_replacement(dst, "cucm-pub")
    return dst


def allow_csr_replacement(root: Path, node: str, allow: bool = True) -> None:
    """Set (or drop) ``server_certificate.replace_pending_csr`` in ``node``'s file."""
    path = root / "nodes" / f"{node}.yaml"
    text = path.read_text().replace("  replace_pending_csr: true\n", "")
    if allow:
        text = text.replace("server_certificate:", "server_certificate:\n"
                            "  replace_pending_csr: true", 1)
    path.write_text(text)


def declare_cli(lab: InProcessLab, *nodes: str) -> None:
    """``connection.ssh_port`` for ``nodes`` in the lab's inventory, as a node file (or the
    HTTPS lab's inventory) declares the platform CLI: a REST node's pending CSRs and version
    are then read over it too."""
    entries = dict(lab.inventory.nodes)
    for node in nodes:
        entries[node] = dataclasses.replace(entries[node], ssh_port=22)
    lab.inventory = dataclasses.replace(lab.inventory, nodes=entries)


def session_of(lab: InProcessLab, root: Path) -> Session:
    """A session on ``root`` whose drivers reach the in-process lab."""
    return Session(root=root, inventory=lab.inventory, drivers=lab.factory, http=FAST_HTTP,
                   timing=FAST)


async def plan(lab: InProcessLab, root: Path,
               strict: bool = False) -> tuple[PlanRun, dict[str, Driver]]:
    """``certops plan [--strict]`` on the in-process lab: the plan and the drivers it read
    with."""
    session = session_of(lab, root)
    now = datetime.now(UTC)
    loaded = load_fleet(session, now)
    drivers = lab.drivers(loaded.fleet.desired)
    chosen = Scope(sorted(drivers), strict=strict)
    return await plan_with(session, loaded, drivers, now, chosen), drivers


@dataclass
class Events:
    """What the executor told its listener, in order: (event, action id)."""

    seen: list[tuple[str, str]] = field(default_factory=list)

    def __call__(self, event: str, action: Action, detail: str) -> None:
        self.seen.append((event, action.id))

    def started_after_first_failure(self) -> list[str]:
        """Actions started after the first failure was reported (there must be none)."""
        events = [e for e, _ in self.seen]
        if "failed" not in events:
            return []
        first = events.index("failed")
        return [a for e, a in self.seen[first:] if e == "started"]


async def apply(lab: InProcessLab, root: Path, events: Events | None = None, *,
                keep_going: bool = False) -> tuple[PlanRun, ApplyResult | None]:
    """``certops apply DIR --auto-approve [--keep-going]``: plan, then execute (None when
    nothing to do)."""
    run, drivers = await plan(lab, root)
    assert not run.plan.blocked, [f.render() for f in run.plan.findings]
    if not run.plan.actions:
        return run, None
    issuers = issuers_of(run.fleet.desired.fleet.issuers, {"PATH": "/usr/bin:/bin"})
    ctx = StepContext(plan=run.plan, fleet=run.fleet, drivers=drivers, desired_root=root,
                      timing=FAST, issuers=issuers)
    return run, await execute(run.plan, ctx, listener=events, keep_going=keep_going)


def use_certificate(root: Path, node: str, pem: str) -> None:
    """Commit a signed certificate for ``node`` into the desired state."""
    (root / "certs").mkdir(exist_ok=True)  # an import without --pin-certificates has none
    (root / "certs" / f"{node}.pem").write_text(pem)
    node_file = root / "nodes" / f"{node}.yaml"
    text = node_file.read_text()
    if "file: ../certs/" not in text:
        text = text.replace(
            "server_certificate:", f"server_certificate:\n  file: ../certs/{node}.pem", 1
        )
        node_file.write_text(text)


async def generate_csrs(lab: InProcessLab, root: Path) -> None:
    """The first apply of a renewal: a CSR generated on every node and saved under csrs/."""
    _, result = await apply(lab, root)
    assert result is not None and result.ok, result
    assert {r.kind for r in result.results} == {"csr.generate"}
    for node in NODES:
        assert (root / "csrs" / f"{node}.csr.pem").is_file()


def sign_all(lab: InProcessLab, root: Path, ca: str = "new") -> None:
    """The CA's part: sign every saved CSR and commit the certificates."""
    for node in NODES:
        csr = (root / "csrs" / f"{node}.csr.pem").read_text()
        use_certificate(root, node, lab.sign(csr, ca))


async def ready_to_install(lab: InProcessLab, root: Path) -> None:
    """CSRs generated and signed by the new CA: the next plan renews every node."""
    await generate_csrs(lab, root)
    sign_all(lab, root)


def served(lab: InProcessLab, node: str) -> x509.Certificate:
    """The certificate the node presents now, from the node's own state."""
    return x509.load_pem_x509_certificate(lab.nodes[node].state.served.cert_pem.encode())


def installed(lab: InProcessLab, node: str) -> str:
    """PEM of the installed server (Expressway) or tomcat identity (CUCM) certificate."""
    state = lab.nodes[node].state
    ident = state.identities["tomcat"] if state.is_vos else (state.server or state.served)
    return ident.cert_pem


def trust_pems(lab: InProcessLab, node: str, store: str) -> list[str]:
    """PEMs of one trust store, straight from the node's state (built-ins included)."""
    n = lab.nodes[node]
    if n.state.is_vos:
        service = store.removesuffix("-trust")
        return [e.pem for e in n.builtins[: n.state.builtin_cas]] + [
            e.pem for e in n.state.trust.get(service, [])
        ]
    return list(n.state.trusted_cas)


def stores_of(node: str) -> tuple[str, ...]:
    return ("tomcat-trust", "callmanager-trust") if node == "cucm-pub" else ("trusted-ca-list",)


def assert_invariant(lab: InProcessLab) -> None:
    """No node presents a certificate that a linked peer does not trust."""
    cache = CertCache()
    for a, b in LINKS:
        for presenter, truster in ((a, b), (b, a)):
            leaf = cache.parse(lab.nodes[presenter].state.served.cert_pem.encode())[0]
            for store in stores_of(truster):
                cas = [c for pem in trust_pems(lab, truster, store)
                       for c in cache.parse(pem.encode())]
                chain = build_chain(leaf, cas, [c for c in cas if c.self_signed])
                assert chain.complete, (
                    f"{truster} {store} does not trust what {presenter} serves ({leaf.subject})"
                )


def snapshot(lab: InProcessLab) -> dict[str, Any]:
    """Every node's state (faults aside): equal snapshots mean nothing changed."""
    return {n: node.state.model_dump(exclude={"faults"}) for n, node in lab.nodes.items()}


def issuer_of(lab: InProcessLab, node: str) -> str:
    return served(lab, node).issuer.rfc4514_string()
