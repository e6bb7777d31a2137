"""Generate the Unified CM identity scenarios (issue 22): one case per phone-trust rule.

The fleet: an Expressway-C (``expc1``) linked to a Unified CM cluster (``cucm``: publisher
``cucm-pub``, subscriber ``cucm-sub1``, 14SU2). The Tomcat certificates are not due; each case
declares CallManager, TVS or ITLRecovery identities under ``certificates:`` and sets their
live state (the lab's old CA or self-signed, 20 days from expiry). Expected plans are written
by ``CERTOPS_UPDATE_PLANS=1 pytest tests/scenarios`` and reviewed; case.yaml findings by hand.

    python tests/scenarios/make_identity_scenarios.py
"""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from make_scenarios import HERE, Pki, chain_pem
from pkitools import Issued, make_ca, make_csr, make_leaf, new_key, utc

AT = "2026-11-26T00:00:00+00:00"
VERSION = "14.0.1.13900-155"  # 14SU2: the CallManager identity needs Cisco HAProxy
CUCM = ("cucm-pub", "cucm-sub1")
ROLES = ("callmanager", "tvs", "itlrecovery")
UNIT = {"callmanager": "CallManager", "tvs": "TVS", "itlrecovery": "ITLRecovery"}
CUCM_CAPS = ["cert.install", "csr.generate", "service.restart", "trust.add",
             *(f"{k}:{r}" for r in ROLES for k in ("cert.install", "csr.generate")),
             "cert.regenerate:callmanager", "cert.regenerate:tvs"]
SOON = {"not_before": utc(2025, 12, 16), "not_after": utc(2026, 12, 16)}  # 20 days left
LATER = {"not_before": utc(2026, 6, 1), "not_after": utc(2027, 6, 1)}

FLEET = """\
# yaml-language-server: $schema=../../../../reconciler/schemas/certops.schema.json
policy:
  renew_before: 30d
clusters:
  cucm:
    members: [cucm-pub, cucm-sub1]
    publisher: cucm-pub
{mode}links:
  - [expc1, cucm]
"""
EXPC = """\
# yaml-language-server: $schema=../../../../../reconciler/schemas/node.schema.json
name: expc1
type: expressway-c
api: https://expc1.nart.com
server_certificate:
  subject_alt_names: [expc.nart.com, expc1.nart.com]
trust: [../cas/lab-root.pem, ../cas/issuing-old.pem]
"""
NODE = """\
# yaml-language-server: $schema=../../../../../reconciler/schemas/node.schema.json
name: {name}
type: cucm
api: https://{name}.nart.com:8443
server_certificate:
  subject_alt_names: [{name}.nart.com]
trust:
  tomcat-trust: [../cas/lab-root.pem, ../cas/issuing-old.pem]
  callmanager-trust: [../cas/lab-root.pem, ../cas/issuing-old.pem]
"""


@dataclass
class Cucm:
    """One Unified CM node's live identities (role -> certificate)."""

    name: str
    tomcat: Issued
    roles: dict[str, Issued] = field(default_factory=dict)


class World:
    def __init__(self) -> None:
        self.pki = Pki()
        p = self.pki
        self.expc = make_leaf("expc.nart.com", ["expc.nart.com", "expc1.nart.com"], p.old,
                              **LATER)
        self.keys = {(n, r): new_key("ec") for n in CUCM for r in ROLES}
        self.nodes = {n: Cucm(n, make_leaf(f"{n}.nart.com", [f"{n}.nart.com"], p.old, **LATER))
                      for n in CUCM}

    def self_signed(self, node: str, role: str) -> Issued:
        return make_ca(f"{UNIT[role]}-{node}.nart.com", key=self.keys[(node, role)], **SOON)

    def ca_signed(self, node: str, role: str, ca: Issued, **kw: Any) -> Issued:
        return make_leaf(f"{node}.nart.com", [f"{node}.nart.com"], ca,
                         key=self.keys[(node, role)], **kw)

    def csr(self, node: str, role: str) -> bytes:
        return make_csr(f"{node}.nart.com", [f"{node}.nart.com"], self.keys[(node, role)])

    def live(self, roles: dict[str, dict[str, Issued]]) -> dict[str, Any]:
        p = self.pki
        out: dict[str, Any] = {"expc1": {
            "name": "expc1", "type": "expressway-c", "version": "X15.0.2",
            "server_certificate": self.expc.pem.decode(),
            "served_certificate": self.expc.pem.decode(),
            "stores": {"trusted-ca-list": [p.root.pem.decode(), p.old.pem.decode()]},
            "capabilities": ["cert.install", "csr.generate", "node.restart", "trust.add"]}}
        for n, node in self.nodes.items():
            trust = [p.root.pem.decode(), p.old.pem.decode()]
            out[n] = {
                "name": n, "type": "cucm", "version": VERSION,
                "server_certificate": node.tomcat.pem.decode(),
                "served_certificate": node.tomcat.pem.decode(),
                "stores": {"tomcat-trust": trust, "callmanager-trust": trust,
                           "capf-trust": [], "ipsec-trust": []},
                "capabilities": sorted(CUCM_CAPS),
                "role_certificates": {r: c.pem.decode() for r, c in roles.get(n, {}).items()},
            }
        return out


def write(case: str, w: World, description: str, live: dict[str, Any],
          node_yaml: dict[str, str], files: dict[str, bytes] | None = None,
          mixed: bool = False) -> None:
    root = HERE / case / "desired"
    if root.exists():
        shutil.rmtree(root)
    for sub in ("nodes", "cas", "certs", "csrs"):
        (root / sub).mkdir(parents=True)
        (root / sub / ".gitkeep").write_text("")
    mode = "    security_mode: mixed\n" if mixed else ""
    (root / "certops.yaml").write_text(FLEET.format(mode=mode))
    (root / "cas" / "lab-root.pem").write_bytes(w.pki.root.pem)
    (root / "cas" / "issuing-old.pem").write_bytes(w.pki.old.pem)
    (root / "cas" / "issuing-new.pem").write_bytes(w.pki.new.pem)
    (root / "nodes" / "expc1.yaml").write_text(EXPC)
    for n in CUCM:
        (root / "nodes" / f"{n}.yaml").write_text(NODE.format(name=n) + node_yaml.get(n, ""))
    for rel, data in (files or {}).items():
        (root / rel).write_bytes(data)
    (HERE / case / "live.json").write_text(json.dumps(live, indent=2, sort_keys=True) + "\n")
    case_file = HERE / case / "case.yaml"
    if not case_file.exists():
        case_file.write_text(f"description: {json.dumps(description)}\nat: '{AT}'\nexit: 0\n"
                             "findings: []\n")


def self_signed_yaml(*roles: str) -> str:
    return "certificates:\n" + "".join(f"  {r}: {{self_signed: true}}\n" for r in roles)


def main() -> None:
    w = World()
    p = w.pki
    # 1. A CallManager renewal with a new CA: committed certificates (the CSRs certops saved).
    live = w.live({n: {"callmanager": w.ca_signed(n, "callmanager", p.old, **SOON)}
                   for n in CUCM})
    files: dict[str, bytes] = {}
    yaml: dict[str, str] = {}
    for n in CUCM:
        files[f"csrs/{n}.callmanager.csr.pem"] = w.csr(n, "callmanager")
        leaf = w.ca_signed(n, "callmanager", p.new)
        files[f"certs/{n}.callmanager.pem"] = chain_pem(leaf, p.new, p.root)
        yaml[n] = ("certificates:\n  callmanager:\n    file: ../certs/"
                   f"{n}.callmanager.pem\n    subject_alt_names: [{n}.nart.com]\n")
    write("identity-callmanager-new-ca", w,
          "CallManager identities renewed from a new CA: its chain to the Expressway-C and "
          "callmanager-trust first, then the installs, publisher first, HAProxy and TFTP",
          live, yaml, files)

    # 2. Self-signed CallManager identities: regenerated, the new one uploaded to the C.
    ss = {n: {"callmanager": w.self_signed(n, "callmanager")} for n in CUCM}
    write("identity-self-signed-regenerate", w,
          "self-signed CallManager identities due: regenerated on the node, publisher first; "
          "the Expressway-C trusts each new one before the node presents it",
          w.live(ss), {n: self_signed_yaml("callmanager") for n in CUCM})

    # 3. Mixed mode: the same with the CTL step on the publisher.
    write("identity-mixed-mode", w,
          "mixed mode: after each node's CallManager change, utils ctl update CTLFile on the "
          "publisher (a manual step) before its restarts",
          w.live(ss), {n: self_signed_yaml("callmanager") for n in CUCM}, mixed=True)

    # 4. CallManager and TVS of one node due together: TVS waits.
    both = {"cucm-pub": {r: w.self_signed("cucm-pub", r) for r in ("callmanager", "tvs")}}
    write("identity-callmanager-tvs-held", w,
          "CallManager and TVS of the publisher are due together: TVS waits for a later apply",
          w.live(both), {"cucm-pub": self_signed_yaml("callmanager", "tvs")})

    # 5. Both committed as files: refused.
    live = w.live({"cucm-pub": {r: w.ca_signed("cucm-pub", r, p.old, **SOON)
                                for r in ("callmanager", "tvs")}})
    files, text = {}, "certificates:\n"
    for r in ("callmanager", "tvs"):
        files[f"csrs/cucm-pub.{r}.csr.pem"] = w.csr("cucm-pub", r)
        files[f"certs/cucm-pub.{r}.pem"] = chain_pem(w.ca_signed("cucm-pub", r, p.new), p.new,
                                                     p.root)
        text += f"  {r}:\n    file: ../certs/cucm-pub.{r}.pem\n" \
                "    subject_alt_names: [cucm-pub.nart.com]\n"
    write("identity-callmanager-tvs-blocked", w,
          "new CallManager and TVS certificates of one node committed together: refused",
          live, {"cucm-pub": text}, files)

    # 6. ITLRecovery alone: regenerated (a manual step: the CLI asks to confirm), a warning.
    rec = {"cucm-pub": {"itlrecovery": w.self_signed("cucm-pub", "itlrecovery")}}
    write("identity-itlrecovery", w,
          "ITLRecovery due alone: regenerated in a plan of its own, with the warning that "
          "phones need the old one to accept the new",
          w.live(rec), {"cucm-pub": self_signed_yaml("itlrecovery")})

    # 7. ITLRecovery with CallManager: ITLRecovery waits.
    rec2 = {"cucm-pub": {r: w.self_signed("cucm-pub", r) for r in ("callmanager", "itlrecovery")}}
    write("identity-itlrecovery-held", w,
          "ITLRecovery due with CallManager: ITLRecovery waits for a plan of its own",
          w.live(rec2), {"cucm-pub": self_signed_yaml("callmanager", "itlrecovery")})


def tvs_ca_signed(w: World) -> None:
    """8. A CA-signed TVS renewal committed alone: the chain into TVS-trust by hand first."""
    p = w.pki
    live = w.live({"cucm-pub": {"tvs": w.ca_signed("cucm-pub", "tvs", p.old, **SOON)}})
    files = {"csrs/cucm-pub.tvs.csr.pem": w.csr("cucm-pub", "tvs"),
             "certs/cucm-pub.tvs.pem": chain_pem(w.ca_signed("cucm-pub", "tvs", p.new), p.new,
                                                 p.root)}
    write("identity-tvs-ca-signed", w,
          "a CA-signed TVS certificate committed alone: its CA chain uploaded as TVS-trust by "
          "hand (certops does not manage that store), then the install, TVS and TFTP restarts",
          live, {"cucm-pub": "certificates:\n  tvs:\n    file: ../certs/cucm-pub.tvs.pem\n"
                 "    subject_alt_names: [cucm-pub.nart.com]\n"}, files)


def itlrecovery_on_a_subscriber(w: World) -> None:
    """9. A subscriber declaring ITLRecovery, the publisher's only: refused at validation."""
    rec = {"cucm-sub1": {"itlrecovery": w.self_signed("cucm-sub1", "itlrecovery")}}
    write("identity-itlrecovery-subscriber", w,
          "a subscriber's node file declares ITLRecovery, which from 12.5 is one certificate "
          "of the cluster generated by the publisher: refused, naming the publisher's file",
          w.live(rec), {"cucm-sub1": self_signed_yaml("itlrecovery")})


# Cases that can be written one by one (``python make_identity_scenarios.py NAME...``), so
# adding one leaves the others' files byte-identical (their keys are random per run).
CASES = {"identity-tvs-ca-signed": tvs_ca_signed,
         "identity-itlrecovery-subscriber": itlrecovery_on_a_subscriber}


if __name__ == "__main__":
    import sys

    if sys.argv[1:]:
        for name in sys.argv[1:]:
            CASES[name](World())
    else:
        main()
        for make in CASES.values():
            make(World())
