"""A synthetic in-process fleet (``reconciler.lab.topology.synthetic_topology``) ready for a
renewal by a new CA, and the fleet-wide safety invariant.

Sites of three linked nodes (expe-NNN ↔ expc-NNN ↔ cucm-NNN), imported into a desired state
(so the first plan is empty), then: ``file:`` dropped so every certificate is due, a CSR
generated on every node, signed by the lab's NEW CA and committed. The next plan adds the
new CA's trust everywhere, restarts, installs and restarts: a renewal of the whole fleet.
"""

from __future__ import annotations

import re
from pathlib import Path

from unitkit import allow_csr_replacement, apply, session_of, trust_pems, use_certificate

from reconciler.lab.inprocess import InProcessLab
from reconciler.pki import CertCache, build_chain
from reconciler.usecases.importing import import_fleet


async def renewal_ready(lab: InProcessLab, root: Path) -> list[str]:
    """Import the lab, generate a CSR on every node, sign them all by the new CA; the node
    names."""
    await import_fleet(session_of(lab, root))
    names = sorted(lab.nodes)
    for name in names:
        path = root / "nodes" / f"{name}.yaml"
        path.write_text(re.sub(r"\n  file: \.\./certs/[^\n]+", "", path.read_text()))
        if lab.nodes[name].state.is_vos:
            allow_csr_replacement(root, name)
    _, result = await apply(lab, root)
    assert result is not None and result.ok, result
    assert {r.kind for r in result.results} == {"csr.generate"}
    for name in names:
        csr = (root / "csrs" / f"{name}.csr.pem").read_text()
        use_certificate(root, name, lab.sign(csr, "new"))
    return names


def links_of(lab: InProcessLab) -> set[tuple[str, str]]:
    """Every link of the lab's topology, once."""
    return {tuple(sorted((n, p))) for n, node in lab.nodes.items()  # type: ignore[misc]
            for p in node.state.links}


def stores(lab: InProcessLab, node: str) -> tuple[str, ...]:
    if lab.nodes[node].state.is_vos:
        return ("tomcat-trust", "callmanager-trust")
    return ("trusted-ca-list",)


def assert_fleet_invariant(lab: InProcessLab) -> None:
    """No node serves a certificate that a linked peer does not trust (every link, both
    ways, from the nodes' own state)."""
    cache = CertCache()
    for a, b in sorted(links_of(lab)):
        for presenter, truster in ((a, b), (b, a)):
            leaf = cache.parse(lab.nodes[presenter].state.served.cert_pem.encode())[0]
            for store in stores(lab, truster):
                cas = [c for pem in trust_pems(lab, truster, store)
                       for c in cache.parse(pem.encode())]
                chain = build_chain(leaf, cas, [c for c in cas if c.self_signed])
                assert chain.complete, (
                    f"{truster} {store} does not trust what {presenter} serves ({leaf.subject})"
                )


def served_by_new_ca(lab: InProcessLab, node: str) -> bool:
    cache = CertCache()
    leaf = cache.parse(lab.nodes[node].state.served.cert_pem.encode())[0]
    return "New" in leaf.issuer
