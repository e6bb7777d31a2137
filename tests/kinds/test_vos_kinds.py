"""IM and Presence (``imp``) and Unity Connection (``cuc``): profile tables and the loader."""

from __future__ import annotations

import pytest

from reconciler.desired.schema_check import validate_node
from reconciler.desired.yamlsource import YamlDoc, parse_yaml
from reconciler.drivers.base import Endpoint
from reconciler.drivers.cucm import STORE_SERVICE, CucmDriver, VosCliDriver
from reconciler.drivers.http import NodeHttp
from reconciler.drivers.registry import driver_builder
from reconciler.drivers.seams import NETWORK
from reconciler.kinds import KINDS, NODE_TYPES, kind_of


def node_findings(text: str) -> tuple[object, list[str]]:
    """Validate one node file's text as ``nodes/n1.yaml``: the spec and rendered findings."""
    doc = parse_yaml("nodes/n1.yaml", text.encode())
    assert isinstance(doc, YamlDoc)
    spec, findings = validate_node(doc)
    return spec, [f"{f.location}: {f.message}" for f in findings]


def test_every_node_type_is_registered_with_a_driver() -> None:
    assert NODE_TYPES == ("expressway-c", "expressway-e", "vcs", "cucm", "imp", "cuc")
    def driver_of(node_type: str) -> object:
        endpoint = Endpoint("n1", node_type, "https://n1.example", "u", "p")
        http = NodeHttp(node="n1", base_url=endpoint.api, auth=("u", "p"))
        return driver_builder(node_type)(endpoint, http, NETWORK)

    assert type(driver_of("cucm")) is CucmDriver
    assert type(driver_of("imp")) is VosCliDriver and type(driver_of("cuc")) is VosCliDriver
    assert all(driver_of(t) for t in NODE_TYPES)
    for kind in KINDS.values():
        # The VOS driver has a REST service value for every store of every VOS kind.
        if kind.install_with_chain:
            assert set(kind.stores) <= set(STORE_SERVICE), kind.type


def test_imp_tables() -> None:
    imp = kind_of("imp")
    assert imp.title == "IM and Presence"
    assert imp.stores == ("tomcat-trust", "cup-trust", "cup-xmpp-trust", "ipsec-trust")
    assert imp.own_stores == ("tomcat-trust",)
    assert imp.peer_stores == ("tomcat-trust", "cup-xmpp-trust")  # MRA [C]
    assert imp.after_install.services == ("Cisco Tomcat",)
    assert imp.services_after_trust(["cup-xmpp-trust", "tomcat-trust"]) == (
        "Cisco Tomcat", "Cisco Intercluster Sync Agent")
    assert imp.services_after_trust(["cup-trust"]) == ("Cisco SIP Proxy",)
    assert imp.services_after_trust(["ipsec-trust"]) == ("Cisco DRF Master", "Cisco DRF Local")
    # Only tomcat's REST service value is evidenced: the other stores are changed by hand.
    assert [s for s in imp.stores if imp.store_capable(s)] == ["tomcat-trust"]
    step = imp.manual("trust.add", store="cup-xmpp-trust", file="cas/new.pem")
    assert step == ("Cisco Unified IM and Presence OS Administration > Security > Certificate "
                    "Management > Upload Certificate/Certificate chain (Certificate Purpose: "
                    "cup-xmpp-trust, file: cas/new.pem)")


def test_cuc_tables() -> None:
    cuc = kind_of("cuc")
    assert cuc.stores == ("tomcat-trust", "callmanager-trust", "ipsec-trust")
    assert cuc.peer_stores == ("tomcat-trust", "callmanager-trust")
    assert cuc.after_install.services == (
        "Connection IMAP Server", "Connection Jetty", "Connection Conversation Manager",
        "Cisco Tomcat")
    assert cuc.services_after_trust(["tomcat-trust", "callmanager-trust"]) == (
        "Connection Conversation Manager", "Cisco Tomcat")
    assert [s for s in cuc.stores if cuc.store_capable(s)] == ["tomcat-trust"]
    assert cuc.manual("trust.add", store="callmanager-trust").startswith(
        "Cisco Unified Operating System Administration > Security > Certificate Management")
    assert "Certificate Purpose: CallManager-trust" in cuc.manual(
        "trust.add", store="callmanager-trust")


def test_cucm_keeps_every_store_on_the_api() -> None:
    cucm = kind_of("cucm")
    assert all(cucm.store_capable(s) for s in cucm.stores)


def test_imp_node_file_with_cup_xmpp_trust_validates() -> None:
    spec, problems = node_findings(
        "name: imp1\ntype: imp\napi: https://imp1.nart.com:8443\n"
        "trust:\n  cup-xmpp-trust: [../cas/root.pem]\n  tomcat-trust:\n"
        "    cas: [../cas/root.pem]\n")
    assert problems == []
    assert spec is not None
    assert list(spec.stores()) == ["tomcat-trust", "cup-xmpp-trust"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(("node_type", "store", "expected"), [
    ("imp", "callmanager-trust",
     "'tomcat-trust', 'cup-trust', 'cup-xmpp-trust' or 'ipsec-trust'"),
    ("imp", "capf-trust", "'tomcat-trust', 'cup-trust', 'cup-xmpp-trust' or 'ipsec-trust'"),
    ("cuc", "cup-xmpp-trust", "'tomcat-trust', 'callmanager-trust' or 'ipsec-trust'"),
])
def test_a_store_of_another_kind_is_refused_at_its_position(node_type: str, store: str,
                                                            expected: str) -> None:
    spec, problems = node_findings(
        f"name: n1\ntype: {node_type}\napi: https://n1\ntrust:\n"
        f"  tomcat-trust: []\n  {store}: [../cas/root.pem]\n")
    assert spec is None
    assert problems == [f"nodes/n1.yaml:6:3: unknown key '{store}': expected one of {expected}"]
