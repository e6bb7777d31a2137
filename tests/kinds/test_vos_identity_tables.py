"""Issue 22, item 6: the IM and Presence and Unity Connection identity tables against their
evidence (docs/device-evidence-vos.md, sections 2 and 3), and plans that use them: an IM&P
cup-xmpp identity regenerated (Cisco XCP Router), a CA-signed cup-xmpp-s2s installed after its
chain reaches cup-xmpp-trust (the XMPP Federation Connection Manager), a Unity Connection
tomcat-ECDSA installed (Cisco Tomcat and Connection Conversation Manager)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from pkitools import make_ca, make_leaf, new_key, utc
from test_vos_plan import AT, EXPC1, VOS_CAPS, VOS_NODE, World, by_id

from reconciler.drivers.cucm import ROLE_UNIT
from reconciler.kinds import kind_of
from reconciler.kinds.roles import BOTH
from reconciler.model import LiveNode, Plan

# (kind, role, CLI unit, restarts, own stores) as the evidence gives them [C] (restarts of
# cup and of the ECDSA forms [U], see the table's tags).
ROWS = [
    ("imp", "tomcat-ecdsa", "tomcat-ECDSA", ("Cisco Tomcat",), ("tomcat-trust",)),
    ("imp", "cup", "cup", ("Cisco SIP Proxy", "Cisco Presence Engine"), ("cup-trust",)),
    ("imp", "cup-ecdsa", "cup-ECDSA", ("Cisco SIP Proxy", "Cisco Presence Engine"),
     ("cup-trust",)),
    ("imp", "cup-xmpp", "cup-xmpp", ("Cisco XCP Router",), ("cup-xmpp-trust",)),
    ("imp", "cup-xmpp-ecdsa", "cup-xmpp-ECDSA", ("Cisco XCP Router",), ("cup-xmpp-trust",)),
    ("imp", "cup-xmpp-s2s", "cup-xmpp-s2s", ("Cisco XCP XMPP Federation Connection Manager",),
     ("cup-xmpp-trust",)),
    ("imp", "cup-xmpp-s2s-ecdsa", "cup-xmpp-s2s-ECDSA",
     ("Cisco XCP XMPP Federation Connection Manager",), ("cup-xmpp-trust",)),
    ("cuc", "tomcat-ecdsa", "tomcat-ECDSA", ("Cisco Tomcat", "Connection Conversation Manager"),
     ("tomcat-trust",)),
]


def test_the_identity_purposes_are_cisco_s() -> None:
    """IM&P: tomcat, cup, cup-xmpp, cup-xmpp-s2s and their ECDSA forms [C IMP-CFG-125]; Unity
    Connection: tomcat and tomcat-ECDSA ("CallManager" only names a certificate there [C
    CUC-OS-15]); ipsec is not managed on either."""
    assert set(kind_of("imp").role_table.roles) == {
        "tomcat", "tomcat-ecdsa", "cup", "cup-ecdsa", "cup-xmpp", "cup-xmpp-ecdsa",
        "cup-xmpp-s2s", "cup-xmpp-s2s-ecdsa"}
    assert set(kind_of("cuc").role_table.roles) == {"tomcat", "tomcat-ecdsa"}


@pytest.mark.parametrize(("kind", "role", "unit", "restarts", "stores"), ROWS)
def test_each_row_is_its_evidence(kind: str, role: str, unit: str, restarts: tuple[str, ...],
                                  stores: tuple[str, ...]) -> None:
    table = kind_of(kind).role_table
    profile = table.roles[role]
    row = profile.restart_services(None)
    assert row is not None and row.services == restarts and row.tag
    assert profile.own_stores == stores and set(stores) <= set(kind_of(kind).stores)
    assert ROLE_UNIT[role][1] == unit
    assert table.needed_eku(role, None) == BOTH  # FN74345, IMP-CFG-125 (both EKUs)
    assert profile.self_signed_ok and not profile.itl and not profile.publisher_only


class Identities(World):
    """test_vos_plan's world, with the IM&P and Unity Connection identities."""

    def __init__(self) -> None:
        super().__init__()
        self.keys = {r: new_key("ec") for r in ("cup-xmpp", "cup-xmpp-s2s", "tomcat-ecdsa")}
        soon = {"not_before": AT - timedelta(days=340), "not_after": AT + timedelta(days=20)}
        self.xmpp = make_ca("cup-xmpp-imp1.nart.com", key=self.keys["cup-xmpp"], **soon)
        self.s2s = make_leaf("imp1.nart.com", ["imp1.nart.com"], self.old,
                             key=self.keys["cup-xmpp-s2s"], **soon)
        self.ecdsa = make_leaf("cuc1.nart.com", ["cuc1.nart.com"], self.old,
                               key=self.keys["tomcat-ecdsa"], **soon)

    def write(self, root: Path) -> None:
        self.write_base(root)
        (root / "certs" / "expc1.pem").write_bytes(self.live_leaf["expc1"].pem + self.old.pem)
        for role, node in (("cup-xmpp-s2s", "imp1"), ("tomcat-ecdsa", "cuc1")):
            leaf = make_leaf(f"{node}.nart.com", [f"{node}.nart.com"], self.new,
                             key=self.keys[role], not_before=utc(2026, 11, 1))
            (root / "certs" / f"{node}.{role}.pem").write_bytes(leaf.pem + self.new.pem)
        (root / "nodes" / "expc1.yaml").write_text(EXPC1)
        (root / "nodes" / "imp1.yaml").write_text(
            VOS_NODE.format(name="imp1", type="imp", peer_store="cup-xmpp-trust")
            + "certificates:\n  cup-xmpp: {self_signed: true, renew_before: 30d}\n"
            "  cup-xmpp-s2s:\n    file: ../certs/imp1.cup-xmpp-s2s.pem\n"
            "    subject_alt_names: [imp1.nart.com]\n")
        (root / "nodes" / "cuc1.yaml").write_text(
            VOS_NODE.format(name="cuc1", type="cuc", peer_store="callmanager-trust")
            + "certificates:\n  tomcat-ecdsa:\n    file: ../certs/cuc1.tomcat-ecdsa.pem\n"
            "    subject_alt_names: [cuc1.nart.com]\n")

    def live(self) -> dict[str, LiveNode]:
        out = super().live()
        roles = {"imp1": {"cup-xmpp": self.xmpp, "cup-xmpp-s2s": self.s2s},
                 "cuc1": {"tomcat-ecdsa": self.ecdsa}}
        for node, certs in roles.items():
            caps = {*VOS_CAPS, *(f"{v}:{r}" for r in certs
                                 for v in ("cert.install", "csr.generate", "cert.regenerate"))}
            out[node] = out[node].model_copy(update={
                "role_certificates": {r: c.pem.decode() for r, c in certs.items()},
                "capabilities": tuple(sorted(caps))})
        return out


@pytest.fixture
def plan(tmp_path: Path) -> Plan:
    return Identities().plan(tmp_path)


def test_imp_cup_xmpp_regenerates_then_the_xcp_router_restarts(plan: Plan) -> None:
    actions = by_id(plan)
    regen = actions["imp1/cert.regenerate/cup-xmpp"]
    restart = actions["imp1/service.restart/cup-xmpp"]
    assert restart.services == ("Cisco XCP Router",) and regen.id in restart.depends_on


def test_imp_s2s_chain_reaches_cup_xmpp_trust_before_its_install(plan: Plan) -> None:
    actions = by_id(plan)
    [install] = [a for a in plan.actions if a.id.startswith("imp1/cert.install/cup-xmpp-s2s")]
    trust = [a for a in plan.actions if a.node == "imp1" and a.store == "cup-xmpp-trust"
             and a.id in install.depends_on]
    assert trust, [a.id for a in plan.actions if a.node == "imp1"]
    restart = actions["imp1/service.restart/cup-xmpp-s2s"]
    assert restart.services == ("Cisco XCP XMPP Federation Connection Manager",)
    assert install.id in restart.depends_on


def test_cuc_tomcat_ecdsa_restarts_tomcat_and_conversation_manager(plan: Plan) -> None:
    [install] = [a for a in plan.actions if a.id.startswith("cuc1/cert.install/tomcat-ecdsa")]
    restart = by_id(plan)["cuc1/service.restart/tomcat-ecdsa"]
    assert set(restart.services) == {"Cisco Tomcat", "Connection Conversation Manager"}
    assert install.id in restart.depends_on
    assert any(a.node == "cuc1" and a.store == "tomcat-trust" for a in plan.actions
               if a.id in install.depends_on)
