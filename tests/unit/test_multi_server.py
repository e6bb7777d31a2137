"""One multi-server (SAN) tomcat certificate for the Unified CM cluster (issue 12, item 3).

``tomcat_identity: multi-server``: the CSR is generated once, on the publisher, with every
member's name; the certificate is installed once there, the lab (as Cisco says) distributes
it to every member, and each member's Tomcat restart, rolling publisher first, proves by a
TLS handshake that it serves it. The cluster invariant of test_cluster_invariant holds at
every instant of the apply.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from test_cluster_invariant import (
    CUCM,
    HANG,
    NEW_CA,
    NODES,
    Injection,
    injecting,
    recorded_apply,
    serves_new,
)
from unitkit import REPO, allow_csr_replacement, apply, plan, served, use_certificate

from reconciler.checks import build_view, offline_findings
from reconciler.desired import load
from reconciler.lab.inprocess import InProcessLab
from reconciler.model import Code
from reconciler.pki import CertCache
from reconciler.planning.graph import restart_waves

SANS = "[cucm-pub.nart.com, cucm-sub1.nart.com, cucm-sub2.nart.com, cucm.nart.com]"
SINGLE = tuple(n for n in NODES if n not in ("cucm-sub1", "cucm-sub2"))  # nodes with a CSR


def make_multi_server(root: Path, sans: str = SANS, strip_members: bool = True) -> None:
    """The clustered example with the Unified CM cluster on one multi-server certificate."""
    fleet = root / "certops.yaml"
    fleet.write_text(fleet.read_text().replace(
        "    max_unavailable: 1\n", "    max_unavailable: 1\n    tomcat_identity: multi-server\n"))
    pub = root / "nodes" / "cucm-pub.yaml"
    pub.write_text(pub.read_text().replace(
        "subject_alt_names: [cucm-pub.nart.com, cucm.nart.com]", f"subject_alt_names: {sans}"))
    for member in ("cucm-sub1", "cucm-sub2") if strip_members else ():
        path = root / "nodes" / f"{member}.yaml"
        lines = path.read_text().splitlines(keepends=True)
        start = next(i for i, line in enumerate(lines) if line.startswith("server_certificate:"))
        end = next(i for i in range(start + 1, len(lines)) if not lines[i].startswith(" "))
        path.write_text("".join(lines[:start] + lines[end:]))


def sign_saved(lab: InProcessLab, root: Path) -> None:
    """The CA's part: sign each saved CSR (none for the subscribers) with the NEW CA."""
    for node in SINGLE:
        csr = (root / "csrs" / f"{node}.csr.pem").read_text()
        use_certificate(root, node, lab.sign(csr, "new"))


async def renewal_ready(lab: InProcessLab, root: Path) -> None:
    _, result = await apply(lab, root)
    assert result is not None and result.ok, result
    sign_saved(lab, root)



@pytest.fixture
def msdesired(tmp_path: Path) -> Path:
    root = tmp_path / "desired-state-clusters"
    shutil.copytree(REPO / "desired-state-clusters", root)
    make_multi_server(root)
    allow_csr_replacement(root, "cucm-pub")  # the lab's publisher has no pending CSR
    return root


async def test_multi_server_renewal_converges(clab: InProcessLab, msdesired: Path) -> None:
    first, result = await apply(clab, msdesired)
    assert result is not None and result.ok, result
    generate = {a.node: a for a in first.plan.actions if a.kind == "csr.generate"}
    assert set(generate) == set(SINGLE)  # no CSR on the subscribers
    assert "multi-server (SAN) CSR for cluster cucm" in generate["cucm-pub"].reason
    pending = clab.nodes["cucm-pub"].state.pending_csrs["tomcat"]
    assert pending.distribution == "multi-server"
    sign_saved(clab, msdesired)

    run, _ = await plan(clab, msdesired)
    actions = {a.id: a for a in run.plan.actions}
    installs = [a for a in run.plan.actions if a.kind == "cert.install" and a.node in CUCM]
    assert [a.node for a in installs] == ["cucm-pub"]  # installed once, on the publisher
    restarts = [f"{n}/service.restart/identity" for n in CUCM]
    assert installs[0].id in actions[restarts[1]].depends_on
    assert installs[0].id in actions[restarts[2]].depends_on
    waves = restart_waves(run.plan.actions)
    assert [waves[r] for r in restarts] == sorted({waves[r] for r in restarts})  # pub first
    # The install waits for every member's tomcat-trust of the new chain.
    for member in CUCM:
        adds = [a for a in run.plan.actions if a.node == member and a.store == "tomcat-trust"
                and a.kind == "trust.add"]
        assert adds and all(a.id in installs[0].depends_on for a in adds), member

    got = await recorded_apply(clab, msdesired)
    assert got.result is not None and got.result.ok, got.result
    assert got.breaches == []
    details = {r.id: r.detail for r in got.result.results}
    assert all("serving the new certificate" in details[r] for r in restarts), details
    await clab.wait_idle()
    assert all(serves_new(clab).values()), serves_new(clab)
    assert len({clab.nodes[n].state.served.cert_pem for n in CUCM}) == 1  # one certificate
    assert served(clab, "cucm-sub2").issuer.rfc4514_string() == NEW_CA
    again, _ = await plan(clab, msdesired)
    assert again.plan.actions == ()


async def test_a_member_left_unrestarted_restarts_next_time(
    clab: InProcessLab, msdesired: Path
) -> None:
    """The apply stops at a subscriber's Tomcat restart (it hangs): the other subscriber
    never restarted. The next plan installs nothing and restarts that subscriber (its
    certificate is installed, by the cluster, but not served)."""
    await renewal_ready(clab, msdesired)
    events = injecting(clab, Injection("cucm-sub1", HANG, "cucm-sub1/service.restart/identity"))
    got = await recorded_apply(clab, msdesired, events)
    assert got.result is not None and not got.result.ok
    assert got.breaches == []
    clab.clear_faults("cucm-sub1")
    await clab.wait_idle()
    run, _ = await plan(clab, msdesired)
    assert not [a for a in run.plan.actions if a.kind == "cert.install"]
    restart = {a.id: a for a in run.plan.actions}["cucm-sub2/service.restart/identity"]
    assert "not served yet" in restart.reason
    again = await recorded_apply(clab, msdesired)
    assert again.result is not None and again.result.ok, again.result
    assert again.breaches == []
    await clab.wait_idle()
    assert all(serves_new(clab).values()), serves_new(clab)


def _findings(root: Path) -> list[tuple[str, str, str]]:
    cache = CertCache()
    loaded = load(root, cache)
    out = [(f.code, f.node or "", f.message) for f in loaded.findings]
    assert loaded.desired is not None
    view = build_view(loaded.desired, cache)
    out += [(f.code, f.node or "", f.message)
            for f in offline_findings(view, cache, datetime(2026, 11, 26, tzinfo=UTC))]
    return [f for f in out if f[0].startswith("cluster.")]


def test_offline_findings_name_missing_members_and_member_certificates(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    shutil.copytree(REPO / "desired-state-clusters", root)
    make_multi_server(root, sans="[cucm-pub.nart.com, cucm-sub1.nart.com]",
                      strip_members=False)
    found = _findings(root)
    codes = {(c, n) for c, n, _ in found}
    assert (Code.CLUSTER_MULTI_SERVER, "cucm-pub") in codes
    assert (Code.CLUSTER_MULTI_SERVER, "cucm-sub1") in codes
    assert (Code.CLUSTER_MULTI_SERVER, "cucm-sub2") in codes
    pub = next(m for c, n, m in found if n == "cucm-pub")
    assert "lack cucm-sub2.nart.com, cucm.nart.com" in pub


def test_a_good_multi_server_cluster_says_nothing(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    shutil.copytree(REPO / "desired-state-clusters", root)
    make_multi_server(root)
    assert _findings(root) == []


def test_multi_server_needs_a_publisher(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    shutil.copytree(REPO / "desired-state-clusters", root)
    make_multi_server(root)
    fleet = root / "certops.yaml"
    fleet.write_text(fleet.read_text().replace("    publisher: cucm-pub ", "    # "))
    found = _findings(root)
    assert any(c == Code.CLUSTER_INVALID and "name its publisher" in m for c, _, m in found)


async def test_a_member_pinned_to_its_old_certificate_is_a_lockout(
    clab: InProcessLab, msdesired: Path
) -> None:
    """The publisher's install changes what every member's API presents: a member whose
    API certops pins to the old certificate blocks the plan (api.lockout on the member)."""
    await renewal_ready(clab, msdesired)
    node = msdesired / "nodes" / "cucm-sub2.yaml"
    node.write_text(node.read_text() + f"connection:\n  api_pins: ['sha256:{'0' * 64}']\n")
    run, _ = await plan(clab, msdesired)
    locked = [f for f in run.plan.findings if f.code == Code.API_LOCKOUT]
    assert [f.node for f in locked] == ["cucm-sub2"]
    assert "cucm-pub/cert.install" in locked[0].message and run.plan.blocked


async def test_the_plan_shows_one_install_and_the_rolling_tomcat_restarts(
    clab: InProcessLab, msdesired: Path
) -> None:
    """What an operator reads: the multi-server CSR, one install on the publisher, then a
    Tomcat restart on every member, publisher first, one wave each."""
    from reconciler.report.plan import plan_text

    _, result = await apply(clab, msdesired)
    assert result is not None and result.ok
    sign_saved(clab, msdesired)
    run, _ = await plan(clab, msdesired)
    text = "\n".join(plan_text(run.plan))
    cucm = [a for a in run.plan.actions if a.node in CUCM
            and (a.kind == "cert.install" or a.id.endswith("/service.restart/identity"))]
    assert [(a.node, a.kind) for a in cucm] == [
        ("cucm-pub", "cert.install"), ("cucm-pub", "service.restart"),
        ("cucm-sub1", "service.restart"), ("cucm-sub2", "service.restart")]
    assert "the cluster distributes it to cucm-sub1, cucm-sub2" in text
    assert "serve cluster cucm's multi-server certificate" in text


def test_a_csr_by_hand_names_the_multi_server_distribution(tmp_path: Path) -> None:
    """No REST API (release 12.5): the publisher's manual CSR step names the GUI's
    "Multi-server (SAN)" distribution; another node's keeps "this server"."""
    from reconciler.planning.graph import Draft
    from reconciler.planning.multiserver import manual_distribution

    root = tmp_path / "ds"
    shutil.copytree(REPO / "desired-state-clusters", root)
    make_multi_server(root)
    cache = CertCache()
    loaded = load(root, cache)
    assert loaded.desired is not None
    fleet = build_view(loaded.desired, cache)
    text = fleet.nodes["cucm-pub"].kind.manual("csr.generate", sans="a")
    drafts = {f"{n}/csr.generate": Draft(id=f"{n}/csr.generate", kind="manual", node=n,
                                         reason="x", manual=text)
              for n in ("cucm-pub", "expc1")}
    out = manual_distribution(fleet, drafts)
    assert "Distribution: Multi-server (SAN)" in (out["cucm-pub/csr.generate"].manual or "")
    assert out["expc1/csr.generate"].manual == text
