"""The CUCM inventory in the evidenced shape, and what certops does with any other shape.

Evidence (docs/device-evidence.md): ``identities[].certificate`` and
``trusts[].certificate_data[].certificate`` hold PEM. The shape the lab used to emit
(``identity``, ``trust[].certificates``, ``version``, ``restartPending``) was never seen on a
real node: it is kept here as a recording, and it must read as ``live.unparseable``.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from unitkit import plan

from reconciler.drivers.cucm_snapshot import ShapeError, parse_snapshot
from reconciler.lab.inprocess import InProcessLab

STORES = {"tomcat-trust": "tomcat", "callmanager-trust": "callmanager"}
PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
# What the lab answered before (never seen on a real node).
OLD_LAB_SHAPE = {
    "hostname": "cucm-pub.nart.com", "version": "14.0.1.13900-155",
    "identity": [{"service": "tomcat", "certificate": PEM}],
    "trust": [{"service": "tomcat-trust", "certificates": [{"subject": "CN=x"}]}],
    "restartPending": ["Cisco Tomcat"],
}


def test_the_evidenced_shape_gives_the_identity_and_the_named_stores() -> None:
    data = {
        "identities": [{"service": "callmanager", "certificate": "x"},
                       {"name": "tomcat", "certificate": PEM}],
        "trusts": [{"service": "tomcat-trust", "certificate_data": [{"certificate": PEM}]},
                   {"name": "CallManager", "certificate_data": []},
                   {"service": "phone-sast-trust", "certificate_data": "ignored"}],
    }
    snap = parse_snapshot(data, STORES)
    assert snap.identity == PEM
    assert snap.stores == {"tomcat-trust": (PEM,), "callmanager-trust": ()}


def test_stores_the_inventory_does_not_name_are_left_to_their_own_request() -> None:
    snap = parse_snapshot({"identities": []}, STORES)
    assert snap.identity is None and snap.stores == {}


@pytest.mark.parametrize(("data", "named"), [
    (OLD_LAB_SHAPE, "{hostname, identity, restartPending, trust, version}"),
    ([], "list"),
    ({"trusts": [{"service": "tomcat-trust", "certificates": []}]}, "{certificates, service}"),
    ({"identities": [{"service": "tomcat", "certificate": {"pem": "x"}}]},
     "identities[0].certificate is {pem}"),
])
def test_any_other_shape_names_the_fields_it_saw(data: object, named: str) -> None:
    with pytest.raises(ShapeError) as err:
        parse_snapshot(data, STORES)
    assert named in str(err.value)


def _trust(*items: object) -> dict[str, object]:
    return {"trusts": [{"service": "tomcat-trust", "certificate_data": list(items)}]}


@pytest.mark.parametrize(("data", "named"), [
    (_trust({"certificate": PEM}, "x"), "trusts[0].certificate_data[1] is str"),
    (_trust({"certificate": PEM}, {"pem": PEM}),
     "trusts[0].certificate_data[1].certificate is NoneType, not PEM text"),
    (_trust({"certificate": ["x"]}), "trusts[0].certificate_data[0].certificate is list"),
    # a string where a certificate should be is not read as "no certificate"
    (_trust({"certificate": "not a certificate"}),
     "trusts[0].certificate_data[0].certificate is text without a PEM certificate"),
    (_trust({"certificate": ""}), "certificate_data[0].certificate is text without a PEM"),
    (_trust({"certificate": "-----BEGIN CERTIFICATE-----\nMIIB\n"}), "without a PEM"),
])
def test_a_trust_entry_that_is_not_pem_is_a_shape_error(data: object, named: str) -> None:
    with pytest.raises(ShapeError) as err:
        parse_snapshot(data, STORES)
    assert named in str(err.value)


def test_trust_entries_are_split_like_a_bundle() -> None:
    """CRLF, whitespace and text around the blocks, and several blocks in one entry."""
    crlf = PEM.replace("\n", "\r\n")
    other = PEM.replace("MIIB", "MIIC")
    snap = parse_snapshot(_trust({"certificate": crlf}, {"certificate": "  \n" + PEM + "\n\n"},
                                 {"certificate": "issuer: x\n" + PEM + "junk\n" + other}),
                          STORES)
    assert snap.stores["tomcat-trust"] == (crlf.rstrip("\r\n") + "\n", PEM, PEM, other)


async def test_an_unknown_inventory_is_live_unparseable_in_the_plan(
    lab: InProcessLab, desired: Path
) -> None:
    """A node answering the old lab shape blocks its own planning with live.unparseable
    naming the fields, instead of being read as empty stores or a made-up restart."""
    inner = lab.transports["cucm-pub"]

    class OldShape(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            if request.url.path.endswith("/snapshot/server"):
                return httpx.Response(200, content=json.dumps(OLD_LAB_SHAPE).encode(),
                                      headers={"content-type": "application/json"})
            return await inner.handle_async_request(request)

    lab.transports["cucm-pub"] = OldShape()  # type: ignore[assignment]
    run, _ = await plan(lab, desired)
    found = [f for f in run.plan.findings if f.node == "cucm-pub"]
    assert [f.code for f in found] == ["live.unparseable"]
    assert "identity, restartPending, trust, version" in found[0].message
    assert not [a for a in run.plan.actions if a.node == "cucm-pub"]
    assert run.live["cucm-pub"].services_pending == ()


def test_separate_client_certificates_are_enumerated_by_name() -> None:
    """15SU5 lists separate client certificates whose names are not published: every
    identity whose name says "client" is read, whatever the name."""
    data = {"identities": [{"service": "tomcat", "certificate": PEM},
                           {"name": "Tomcat-Client", "certificate": PEM},
                           {"service": "callmanager-client", "certificate": PEM},
                           {"service": "ipsec", "certificate": PEM}], "trusts": []}
    snap = parse_snapshot(data, STORES)
    assert sorted(snap.clients) == ["Tomcat-Client", "callmanager-client"]
    assert parse_snapshot({"identities": [{"service": "tomcat", "certificate": PEM}]},
                          STORES).clients == {}
