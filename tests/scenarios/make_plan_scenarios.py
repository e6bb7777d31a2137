"""Generate the plan scenarios: desired tree + live snapshot (live.json) per case (run once).

The expected plans (expected-plan.json) are written by ``test_scenarios.py --update-plans``
style regeneration: ``CERTOPS_UPDATE_PLANS=1 pytest tests/scenarios`` — then read and review
every diff; they are the specification.

    python tests/scenarios/make_plan_scenarios.py            # every case
    python tests/scenarios/make_plan_scenarios.py --issue    # only the issuance cases
    python tests/scenarios/make_plan_scenarios.py --ca-set   # only the CA set case
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.x509.oid import ExtendedKeyUsageOID

sys.path.insert(0, str(Path(__file__).parent))
from make_scenarios import CUCM_SANS, EXPC_SANS, EXPE_SANS, HERE, Pki, chain_pem, write_case
from pkitools import Issued, make_ca, make_csr, make_leaf, new_key, utc

SANS = {"expe1": EXPE_SANS, "expc1": EXPC_SANS, "cucm-pub": CUCM_SANS}
CN = {"expe1": "expe.nart.com", "expc1": "expc.nart.com", "cucm-pub": "cucm-pub.nart.com"}
TYPES = {"expe1": "expressway-e", "expc1": "expressway-c", "cucm-pub": "cucm"}
EXP_CAPS = ["cert.install", "csr.generate", "node.restart", "trust.add"]
CUCM_CAPS = ["cert.install", "csr.generate", "service.restart", "trust.add"]


@dataclass
class LiveNodeData:
    name: str
    installed: Issued
    pending_csr: bytes | None = None
    served: Issued | None = None
    stores: dict[str, list[Issued]] = field(default_factory=dict)
    error: str | None = None
    restart_required: bool = False

    def dump(self) -> dict[str, Any]:
        if self.error:
            return {"name": self.name, "type": TYPES[self.name], "error": self.error}
        caps = CUCM_CAPS if self.name == "cucm-pub" else EXP_CAPS
        return {
            "name": self.name,
            "type": TYPES[self.name],
            "version": "14.0.1" if self.name == "cucm-pub" else "X15.0.2",
            "server_certificate": self.installed.pem.decode(),
            "served_certificate": (self.served or self.installed).pem.decode(),
            "pending_csr": self.pending_csr.decode() if self.pending_csr else None,
            "stores": {k: [c.pem.decode() for c in v] for k, v in self.stores.items()},
            "restart_required": self.restart_required,
            "capabilities": caps,
        }


class World:
    """The lab as it stands before a renewal, built once and shared by every case."""

    def __init__(self) -> None:
        self.pki = Pki()
        p = self.pki
        self.builtin = make_ca("Cisco Manufacturing CA SHA2")
        self.retired = make_ca("NART Retired Root CA")
        # Live leaves from the old CA: expe1 and expc1 expire inside the 30-day window.
        soon = {"not_before": utc(2025, 12, 16), "not_after": utc(2026, 12, 16)}
        later = {"not_before": utc(2026, 6, 1), "not_after": utc(2027, 6, 1)}
        self.live_leaf = {
            "expe1": make_leaf(CN["expe1"], EXPE_SANS, p.old, **soon),
            "expc1": make_leaf(CN["expc1"], EXPC_SANS, p.old, **soon),
            "cucm-pub": make_leaf(CN["cucm-pub"], CUCM_SANS, p.old, **later),
        }
        self.csr_key = {n: new_key("ec") for n in SANS}

    def csr(self, node: str, sans: list[str] | None = None) -> bytes:
        return make_csr(CN[node], sans or SANS[node], self.csr_key[node])

    def live(self) -> dict[str, LiveNodeData]:
        p = self.pki
        exp = {"trusted-ca-list": [p.root, p.old]}
        cucm = {
            "tomcat-trust": [p.root, p.old, self.builtin],
            "callmanager-trust": [p.root, p.old, self.builtin],
            "capf-trust": [self.builtin],
            "ipsec-trust": [],
        }
        return {
            "expe1": LiveNodeData("expe1", self.live_leaf["expe1"], stores=dict(exp)),
            "expc1": LiveNodeData("expc1", self.live_leaf["expc1"], stores=dict(exp)),
            "cucm-pub": LiveNodeData("cucm-pub", self.live_leaf["cucm-pub"], stores=cucm),
        }

    def signed(self, node: str, ca: Issued, **kw: Any) -> Issued:
        sans = kw.pop("sans", SANS[node])
        return make_leaf(CN[node], sans, ca, key=self.csr_key[node], **kw)


def emit(
    case: str,
    world: World,
    live: dict[str, LiveNodeData],
    files: dict[str, bytes],
    node_files: dict[str, str | None],
    at: str = "2026-11-26T00:00:00+00:00",
    prune: bool = False,
    description: str = "",
) -> None:
    write_case(case, world.pki, files=files, node_files=node_files)
    root = HERE / case / "desired"
    if prune:
        path = root / "nodes" / "expe1.yaml"
        text = path.read_text().replace(
            "trust:\n  - ../cas/lab-root.pem\n  - ../cas/issuing-old.pem\n",
            "trust:\n  cas: [../cas/lab-root.pem, ../cas/issuing-old.pem]\n  prune: true\n",
        )
        path.write_text(text)
    (HERE / case / "live.json").write_text(
        json.dumps({n: d.dump() for n, d in sorted(live.items())}, indent=2, sort_keys=True) + "\n"
    )
    case_file = HERE / case / "case.yaml"
    if not case_file.exists():
        case_file.write_text(
            f"description: {json.dumps(description)}\nat: '{at}'\nexit: 0\nfindings: []\n"
        )


def main() -> None:
    w = World()
    p = w.pki
    in_sync = {n: f"{n}.pem" for n in SANS}

    def sync_files(live: dict[str, LiveNodeData], skip: tuple[str, ...] = ()) -> dict[str, bytes]:
        return {
            f"certs/{n}.pem": chain_pem(d.installed, p.old, p.root)
            for n, d in live.items()
            if n not in skip
        }

    # Everything in sync, the leaves far from expiry.
    live = w.live()
    long = {"not_before": utc(2026, 6, 1), "not_after": utc(2027, 6, 1)}
    for n in ("expe1", "expc1"):
        live[n].installed = make_leaf(CN[n], SANS[n], p.old, **long)
    emit(
        "plan-in-sync",
        w,
        live,
        sync_files(live),
        in_sync,
        description="desired equals live: no actions",
    )

    # Same CA renewal of expe1: install + restart only.
    live = w.live()
    live["expe1"].pending_csr = w.csr("expe1")
    live["expc1"].installed = make_leaf(CN["expc1"], EXPC_SANS, p.old, **long)
    files = sync_files(live, skip=("expe1",))
    files["certs/expe1.pem"] = chain_pem(w.signed("expe1", p.old), p.old, p.root)
    emit(
        "plan-renewal-same-ca",
        w,
        live,
        files,
        in_sync,
        description="the seed's renewal with the same CA: install and restart only",
    )

    # New CA for expc1: trust on self, expe1 and CUCM (both stores) first, CUCM restarts,
    # then install and restart.
    live = w.live()
    live["expc1"].pending_csr = w.csr("expc1")
    live["expe1"].installed = make_leaf(CN["expe1"], EXPE_SANS, p.old, **long)
    files = sync_files(live, skip=("expc1",))
    files["certs/expc1.pem"] = chain_pem(w.signed("expc1", p.new), p.new, p.root)
    emit(
        "plan-renewal-new-ca",
        w,
        live,
        files,
        in_sync,
        description="new issuing CA: trust everywhere first, CUCM restarts, install, restart",
    )

    # The same, with expe1 unreachable (case.yaml: strict): the plan is blocked.
    live_unreach = dict(live)
    live_unreach["expe1"] = LiveNodeData(
        "expe1", live["expe1"].installed, error="GET /api/provisioning/sysinfo: connection refused"
    )
    emit(
        "plan-unreachable-peer",
        w,
        live_unreach,
        files,
        in_sync,
        description="a linked peer cannot be read, with --strict: blocked",
    )
    # The same without --strict: expc1 (linked to expe1) is held back, the rest is planned.
    emit(
        "plan-unreachable-partial",
        w,
        live_unreach,
        files,
        in_sync,
        description="a linked peer cannot be read: a partial plan",
    )

    # The new certificate drops two SANs the live one has.
    live = w.live()
    live["expe1"].pending_csr = w.csr("expe1")
    live["expc1"].installed = make_leaf(CN["expc1"], EXPC_SANS, p.old, **long)
    files = sync_files(live, skip=("expe1",))
    files["certs/expe1.pem"] = chain_pem(w.signed("expe1", p.old, sans=EXPE_SANS[:-2]), p.old)
    emit("plan-sans-dropped", w, live, files, in_sync, description="SANs dropped: blocked")

    # Signed without clientAuth.
    files["certs/expe1.pem"] = chain_pem(
        w.signed("expe1", p.old, eku=[ExtendedKeyUsageOID.SERVER_AUTH]), p.old
    )
    emit("plan-no-client-auth", w, live, files, in_sync, description="no clientAuth: blocked")

    # A certificate for some other key than the pending CSR's.
    files["certs/expe1.pem"] = chain_pem(make_leaf(CN["expe1"], EXPE_SANS, p.old), p.old)
    emit(
        "plan-csr-mismatch",
        w,
        live,
        files,
        in_sync,
        description="certificate does not match the pending CSR: blocked",
    )

    # The pending CSR was discarded on the node: the signed certificate cannot be installed.
    live_discarded = dict(live)
    live_discarded["expe1"] = LiveNodeData(
        "expe1", live["expe1"].installed, stores=live["expe1"].stores
    )
    files["certs/expe1.pem"] = chain_pem(w.signed("expe1", p.old), p.old)
    emit(
        "plan-csr-discarded",
        w,
        live_discarded,
        files,
        in_sync,
        description="pending CSR discarded: blocked",
    )

    # Renewal due and no certificate committed: generate CSRs (the fleet before a renewal).
    live = w.live()
    emit(
        "plan-renewal-due",
        w,
        live,
        {},
        {},
        description="renewal due, no new certificate: csr.generate",
    )

    # Renewal due, and the node already has a pending CSR with the right SANs: reuse it.
    live = w.live()
    live["expe1"].pending_csr = w.csr("expe1")
    live["expc1"].pending_csr = w.csr("expc1", sans=["expc.nart.com"])
    emit(
        "plan-pending-csr",
        w,
        live,
        {},
        {},
        description="a right pending CSR is reused; a wrong one is discarded by hand "
        "(no evidenced API), then replaced",
    )

    # Installed but not served: the restart is what remains.
    live = w.live()
    for n in ("expe1", "expc1"):
        live[n].installed = make_leaf(CN[n], SANS[n], p.old, **long)
    live["expe1"].served = w.live_leaf["expe1"]
    live["expe1"].restart_required = True
    emit(
        "plan-restart-pending",
        w,
        live,
        sync_files(live),
        in_sync,
        description="installed but not served: node.restart only",
    )

    # prune: true on expe1 with a retired root still in its list.
    live = w.live()
    for n in ("expe1", "expc1"):
        live[n].installed = make_leaf(CN[n], SANS[n], p.old, **long)
    live["expe1"].stores = {"trusted-ca-list": [p.root, p.old, w.retired]}
    emit(
        "plan-prune",
        w,
        live,
        sync_files(live),
        in_sync,
        prune=True,
        description="prune: the retired root is removed (manual on Expressway)",
    )


ISSUERS = """\
issuers:
  {name}:
    type: command
    run: [step, ca, sign, --bundle]
{ca_files}"""


def with_issuer(case: str, name: str, node_issuer: str, ca_files: list[str]) -> None:
    """Declare issuer ``name`` in the case's certops.yaml and have expe1 name ``node_issuer``."""
    root = HERE / case / "desired"
    listed = f"    ca_files: [{', '.join(ca_files)}]\n" if ca_files else ""
    with (root / "certops.yaml").open("a") as fleet:
        fleet.write(ISSUERS.format(name=name, ca_files=listed))
    node = root / "nodes" / "expe1.yaml"
    text = node.read_text().replace(
        "server_certificate:\n", f"server_certificate:\n  issuer: {node_issuer}\n", 1
    )
    node.write_text(text)


def issue_cases() -> None:
    """expe1 renews through an issuer (known after apply); expc1 is linked to it."""
    w = World()
    p = w.pki
    long = {"not_before": utc(2026, 6, 1), "not_after": utc(2027, 6, 1)}
    chain = ["cas/lab-root.pem", "cas/issuing-new.pem"]

    def live_now() -> dict[str, LiveNodeData]:
        live = w.live()
        live["expc1"].installed = make_leaf(CN["expc1"], EXPC_SANS, p.old, **long)
        return live

    emit(
        "plan-issue-renewal-due",
        w,
        live_now(),
        {},
        {},
        description="renewal due with an issuer: trust of its chain first, then csr.generate, "
        "cert.issue, cert.install (known after apply), node.restart",
    )
    with_issuer("plan-issue-renewal-due", "lab-ca", "lab-ca", chain)

    live = live_now()
    live["expe1"].pending_csr = w.csr("expe1")
    emit(
        "plan-issue-pending-csr",
        w,
        live,
        {},
        {},
        description="renewal due with an issuer and a pending CSR with the wanted names: the "
        "CSR is kept, then issued",
    )
    with_issuer("plan-issue-pending-csr", "lab-ca", "lab-ca", chain)

    emit(
        "plan-issue-no-chain",
        w,
        live_now(),
        {},
        {},
        description="an issuer without ca_files: no trust ahead (warning), issued at apply",
    )
    with_issuer("plan-issue-no-chain", "lab-ca", "lab-ca", [])

    write_case("issuer-unknown", p, files={}, node_files={})
    with_issuer("issuer-unknown", "lab-ca", "lab-cx", chain)


CA_SET_TRUST = """\
trust:
  tomcat-trust: [../ca-sets/cucm-builtin.pem, ../cas/lab-root.pem, ../cas/issuing-old.pem]
  callmanager-trust:
    cas: [../ca-sets/cucm-builtin.pem, ../cas/lab-root.pem, ../cas/issuing-old.pem]
    prune: true
  capf-trust: [../ca-sets/cucm-builtin.pem]
"""


def ca_set_case() -> None:
    """cucm-pub's stores name a CA set of two built-ins; the node lacks one of them."""
    w = World()
    p = w.pki
    long = {"not_before": utc(2026, 6, 1), "not_after": utc(2027, 6, 1)}
    live = w.live()
    for n in ("expe1", "expc1"):
        live[n].installed = make_leaf(CN[n], SANS[n], p.old, **long)
    deleted = make_ca("Cisco Root CA M2")  # a built-in someone deleted from the node
    files = {f"certs/{n}.pem": chain_pem(d.installed, p.old, p.root) for n, d in live.items()}
    case = "plan-ca-set"
    emit(case, w, live, files, {n: f"{n}.pem" for n in SANS},
         description="a CA set's member the node lacks is uploaded to every store naming the "
         "set; prune keeps the members it has")
    root = HERE / case / "desired"
    (root / "ca-sets").mkdir()
    (root / "ca-sets" / "cucm-builtin.pem").write_bytes(
        b"# the built-in CAs of cucm-pub\n" + w.builtin.pem + b"# deleted on the node\n"
        + deleted.pem)
    node = root / "nodes" / "cucm-pub.yaml"
    text = node.read_text()
    node.write_text(text[: text.index("trust:\n")] + CA_SET_TRUST)


if __name__ == "__main__":
    if "--issue" in sys.argv[1:]:
        issue_cases()
    elif "--ca-set" in sys.argv[1:]:
        ca_set_case()
    else:
        main()
        issue_cases()
        ca_set_case()
