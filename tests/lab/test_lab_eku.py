"""The lab's Expressway EKU behaviour by version (issue 27), through the emulated API, and
its mutual-TLS link check on samples (``lab.handshakes``).

Uploads: X15.3 refuses a server certificate without clientAuth on the C and the E; X15.4's E
takes it only with the upload switch On, the C never; X15.5's server store takes it, its
client store refuses it, and lists itself in the node's RAML."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from reconciler.lab.availability import Sample
from reconciler.lab.ca import cert_pem, load_certs, load_or_create_pki
from reconciler.lab.eku import SIP_CHECKING, UPLOAD_SWITCH
from reconciler.lab.handshakes import checks_client_auth, refused_handshakes
from reconciler.lab.inprocess import InProcessLab
from reconciler.lab.topology import Topology, example_topology


def topology(version: str, settings: dict[str, str] | None = None) -> Topology:
    topo = example_topology()
    nodes = [n.model_copy(update={"version": version, "settings": settings or {}})
             if n.type.startswith("expressway") else n for n in topo.nodes]
    return topo.model_copy(update={"nodes": nodes})


async def upload(lab: InProcessLab, node: str, path: str, client_auth: bool) -> httpx.Response:
    """Sign the node's current key's CSR-less certificate: a leaf for its current key (the
    lab accepts the current key), with or without clientAuth."""
    state = lab.nodes[node].state
    pki = load_or_create_pki(lab.lab.paths.ca)
    current = load_certs((state.client or state.served).cert_pem
                         if path.endswith("client") else state.served.cert_pem)[0]
    leaf = pki.issue("new", current.public_key(), state.fqdn, [state.fqdn],
                     days=90, client_auth=client_auth)
    transport = lab.transports[node]
    auth = (lab.nodes[node].username, lab.nodes[node].password)
    async with httpx.AsyncClient(transport=transport, base_url="https://lab", auth=auth) as http:
        return await http.post(path, headers={"X-CSRF-Header": "x"},
                               files={"file": ("c.pem", cert_pem(leaf).encode())})


SERVER, CLIENT = "/api/provisioning/certs/server", "/api/provisioning/certs/client"


@pytest.mark.parametrize(("version", "settings", "node", "accepted"), [
    ("X15.3.2", {}, "expe1", False),
    ("X15.3.2", {}, "expc1", False),
    ("X15.4.0", {}, "expe1", False),
    ("X15.4.0", {UPLOAD_SWITCH: "On"}, "expe1", True),
    ("X15.4.0", {UPLOAD_SWITCH: "On"}, "expc1", False),
    ("X15.5.1", {}, "expc1", True),
])
async def test_server_auth_only_upload_by_version(
    tmp_path: Path, version: str, settings: dict[str, str], node: str, accepted: bool
) -> None:
    async with InProcessLab.start(tmp_path / "lab", topology=topology(version, settings)) as lab:
        answer = await upload(lab, node, SERVER, client_auth=False)
        assert (answer.status_code == 200) is accepted, answer.text
        both = await upload(lab, node, SERVER, client_auth=True)
        assert both.status_code == 200, both.text


async def test_x15_5_client_store(tmp_path: Path) -> None:
    async with InProcessLab.start(tmp_path / "lab", topology=topology("X15.5.1")) as lab:
        state = lab.nodes["expc1"].state
        assert state.client is not None and state.client.cert_pem == state.served.cert_pem
        refused = await upload(lab, "expc1", CLIENT, client_auth=False)
        assert refused.status_code == 400 and "Client Authentication" in refused.text
        assert (await upload(lab, "expc1", CLIENT, client_auth=True)).status_code == 200
        assert state.client.cert_pem != state.served.cert_pem
        async with httpx.AsyncClient(transport=lab.transports["expc1"], base_url="https://lab",
                                     auth=(lab.nodes["expc1"].username,
                                           lab.nodes["expc1"].password)) as http:
            raml = (await http.get("/api/raml")).text
        assert "      /client:\n" in raml and "      /server:\n" in raml


async def test_before_x15_5_there_is_no_client_store(tmp_path: Path) -> None:
    async with InProcessLab.start(tmp_path / "lab", topology=topology("X15.3.2")) as lab:
        assert lab.nodes["expc1"].state.client is None
        assert (await upload(lab, "expc1", CLIENT, client_auth=True)).status_code == 404


def sample(node: str, kind: str, version: str, *, client_eku: tuple[str, ...] = (
        "clientAuth", "serverAuth"), settings: dict[str, str] | None = None,
        trusts: bool = True) -> Sample:
    return Sample(t=0.0, node=node, up=True, served_sha=f"{node}-s", served_subject=node,
                  served_issuer="ca", chain_shas=frozenset({"ca"}),
                  trusted_shas=frozenset({"ca"} if trusts else set()), node_type=kind,
                  version=version, client_sha=f"{node}-c", client_chain_shas=frozenset({"ca"}),
                  client_eku=client_eku, served_eku=("serverAuth",),
                  settings=tuple(sorted((settings or {}).items())))


LINKS = {"expc1": ["expe1", "cucm-pub"], "expe1": ["expc1"], "cucm-pub": ["expc1"]}


def test_a_server_auth_only_client_is_refused_where_the_far_end_checks() -> None:
    c = sample("expc1", "expressway-c", "X15.5.1", client_eku=("serverAuth",))
    e = sample("expe1", "expressway-e", "X15.5.1")
    u = sample("cucm-pub", "cucm", "14.0.1")
    found = refused_handshakes([c, e, u], LINKS)
    assert sorted(r.split(":")[0] for r in found) == [
        "expc1 -> cucm-pub (traffic-server ports 6971/6972 and SIP to Unified CM)",
        "expc1 -> expe1 (UC traversal zone and its SSH tunnels (TCP 2222))"]
    assert all("no clientAuth" in r for r in found)


def test_who_checks_client_auth_by_version_and_setting() -> None:
    e154 = sample("expe1", "expressway-e", "X15.4.0", client_eku=("serverAuth",))
    assert checks_client_auth(e154, sample("expc1", "expressway-c", "X15.3.2"))
    assert not checks_client_auth(e154, sample("expc1", "expressway-c", "X15.4.0"))
    cucm = sample("cucm-pub", "cucm", "14.0.1")
    c155 = sample("expc1", "expressway-c", "X15.5.1")
    assert checks_client_auth(cucm, c155)
    off = sample("expc1", "expressway-c", "X15.5.1", settings={SIP_CHECKING: "Off"})
    assert not checks_client_auth(cucm, off)
    # the traversal zone's SSH tunnels always need clientAuth
    assert checks_client_auth(c155, sample("expe1", "expressway-e", "X15.5.1",
                                           settings={SIP_CHECKING: "Off"}))


def test_an_untrusted_client_chain_is_refused() -> None:
    c = sample("expc1", "expressway-c", "X15.5.1")
    e = sample("expe1", "expressway-e", "X15.5.1", trusts=False)
    found = refused_handshakes([c, e], {"expc1": ["expe1"], "expe1": ["expc1"]})
    assert any("untrusted chain (expe1 does not trust expc1's client certificate)" in r
               for r in found)
