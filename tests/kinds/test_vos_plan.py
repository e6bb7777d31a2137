"""Planning with IM and Presence and Unity Connection peers: expc1 renews with a new CA."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from pkitools import make_ca, make_leaf, new_key, utc

from reconciler.checks import build_view
from reconciler.desired import load
from reconciler.model import Action, LiveNode, Plan
from reconciler.pki import CertCache
from reconciler.planning import make_plan

CACHE = CertCache()  # one parse cache for this module's tests

AT = datetime.fromisoformat("2026-11-26T00:00:00+00:00")
VOS_CAPS = ("cert.install", "csr.generate", "service.restart", "trust.add")
FLEET = """\
links:
  - [expc1, imp1]
  - [expc1, cuc1]
"""
EXPC1 = """\
name: expc1
type: expressway-c
api: https://expc1.nart.com
server_certificate:
  file: ../certs/expc1.pem
  subject_alt_names: [expc1.nart.com]
trust: [../cas/root.pem, ../cas/old.pem]
"""
VOS_NODE = """\
name: {name}
type: {type}
api: https://{name}.nart.com:8443
trust:
  tomcat-trust: [../cas/root.pem, ../cas/old.pem]
  {peer_store}: [../cas/root.pem, ../cas/old.pem]
"""


class World:
    """A root, the old and the new issuing CA, and a leaf from the old CA per node."""

    def __init__(self) -> None:
        self.root = make_ca("NART Lab Root CA")
        self.old = make_ca("NART Issuing CA G1", issuer=self.root, not_before=utc(2024, 1, 1))
        self.new = make_ca("NART Issuing CA G2", issuer=self.root, not_before=utc(2026, 1, 1))
        self.key = new_key("ec")
        self.live_leaf = {n: make_leaf(f"{n}.nart.com", [f"{n}.nart.com"], self.old,
                                       key=self.key if n == "expc1" else None)
                          for n in ("expc1", "imp1", "cuc1")}

    def write_base(self, root: Path) -> None:
        """The folders, certops.yaml and the three CAs under cas/."""
        for sub in ("nodes", "cas", "certs"):
            (root / sub).mkdir(parents=True)
        (root / "certops.yaml").write_text(FLEET)
        for name, ca in (("root", self.root), ("old", self.old), ("new", self.new)):
            (root / "cas" / f"{name}.pem").write_bytes(ca.pem)

    def write(self, root: Path) -> None:
        """The desired state: expc1's new certificate from the new CA, committed."""
        self.write_base(root)
        leaf = make_leaf("expc1.nart.com", ["expc1.nart.com"], self.new, key=self.key)
        (root / "certs" / "expc1.pem").write_bytes(leaf.pem + self.new.pem)
        (root / "nodes" / "expc1.yaml").write_text(EXPC1)
        (root / "nodes" / "imp1.yaml").write_text(
            VOS_NODE.format(name="imp1", type="imp", peer_store="cup-xmpp-trust"))
        (root / "nodes" / "cuc1.yaml").write_text(
            VOS_NODE.format(name="cuc1", type="cuc", peer_store="callmanager-trust"))

    def plan(self, tmp: Path) -> Plan:
        """The plan of this world's desired state (written under ``tmp``) against its live."""
        self.write(tmp / "desired")
        loaded = load(tmp / "desired", CACHE)
        assert loaded.desired is not None, [f.render() for f in loaded.findings]
        return make_plan(build_view(loaded.desired, CACHE), self.live(), AT, cache=CACHE)

    def live(self) -> dict[str, LiveNode]:
        """What the drivers read: every store holds the root and the old CA only."""
        both = [self.root.pem.decode(), self.old.pem.decode()]
        stores = {
            "imp1": {"tomcat-trust": both, "cup-trust": [], "cup-xmpp-trust": both,
                     "ipsec-trust": []},
            "cuc1": {"tomcat-trust": both, "callmanager-trust": both, "ipsec-trust": []},
        }
        out = {"expc1": self._live("expc1", "expressway-c", {"trusted-ca-list": both},
                                   ("cert.install", "csr.generate", "node.restart", "trust.add"))}
        for name, kind in (("imp1", "imp"), ("cuc1", "cuc")):
            out[name] = self._live(name, kind, stores[name], VOS_CAPS)
        return out

    def _live(self, name: str, kind: str, stores: dict[str, list[str]],
              caps: tuple[str, ...]) -> LiveNode:
        pem = self.live_leaf[name].pem.decode()
        return LiveNode(name=name, type=kind, version="14.0.1", server_certificate=pem,
                        served_certificate=pem, stores=stores, capabilities=caps)


@pytest.fixture
def plan(tmp_path: Path) -> Plan:
    return World().plan(tmp_path)


def by_id(plan: Plan) -> dict[str, Action]:
    return {a.id: a for a in plan.actions}


def test_imp_peer_trusts_the_new_ca_then_restarts_before_the_install(plan: Plan) -> None:
    actions = by_id(plan)
    order = [a.id for a in plan.actions]
    [tomcat] = [a for a in plan.actions if a.node == "imp1" and a.store == "tomcat-trust"]
    [xmpp] = [a for a in plan.actions if a.node == "imp1" and a.store == "cup-xmpp-trust"]
    restart = actions["imp1/service.restart/trust"]
    install = next(a for a in plan.actions if a.kind == "cert.install")

    assert tomcat.kind == "trust.add" and tomcat.certificate is not None
    assert tomcat.certificate.subject.startswith("CN=NART Issuing CA G2")
    # The REST service value of cup-xmpp-trust is [U]: a manual step with the GUI path.
    assert xmpp.kind == "manual" and xmpp.manual is not None
    assert xmpp.manual.startswith("Cisco Unified IM and Presence OS Administration > Security")
    assert "Certificate Purpose: cup-xmpp-trust" in xmpp.manual
    assert restart.services == ("Cisco Tomcat", "Cisco Intercluster Sync Agent")
    assert set(restart.depends_on) == {tomcat.id, xmpp.id}
    assert {tomcat.id, xmpp.id, restart.id} <= set(install.depends_on)
    assert order.index(restart.id) < order.index(install.id)
    assert order.index(install.id) < order.index("expc1/node.restart")


def test_cuc_peer_trusts_the_new_ca_in_tomcat_and_callmanager_trust(plan: Plan) -> None:
    actions = by_id(plan)
    cuc = [a for a in plan.actions if a.node == "cuc1"]
    assert sorted((a.kind, a.store) for a in cuc if a.store) == [
        ("manual", "callmanager-trust"), ("trust.add", "tomcat-trust")]
    restart = actions["cuc1/service.restart/trust"]
    assert restart.services == ("Connection Conversation Manager", "Cisco Tomcat")
    install = next(a for a in plan.actions if a.kind == "cert.install")
    assert restart.id in install.depends_on
    # expc1 restarts to serve the new certificate only after the install.
    assert install.id in actions["expc1/node.restart"].depends_on
