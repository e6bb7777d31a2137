"""Issue 11 (c): a plan foresees an install that would lock certops out of the node's API.

The incident: expe1 was renewed through a CA whose root certops did not verify node APIs
with (the root only in certs/expe1.pem, not under cas/), and the next plan could not read
expe1. Also: one verdict per plan ("No changes" never next to "BLOCKED").
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from unitkit import apply, plan, ready_to_install

from reconciler.lab import Fault
from reconciler.lab.ca import cert_pem, load_or_create_pki
from reconciler.lab.inprocess import InProcessLab
from reconciler.model import Action, Code
from reconciler.pki import CertCache
from reconciler.planning.lockout import ApiTrust, lockout_findings
from reconciler.report.plan import plan_text


async def test_a_root_certops_does_not_verify_with_blocks_the_install(
    lab: InProcessLab, desired: Path
) -> None:
    await ready_to_install(lab, desired)  # certs/<node>.pem: leaf, issuing CA, root
    lab.inventory = replace(lab.inventory, ca_pems=())  # cas/ is empty: system store only
    run, _ = await plan(lab, desired)
    locked = {f.node for f in run.plan.findings if f.code == Code.API_LOCKOUT}
    assert locked == {"expe1", "expc1", "cucm-pub"}
    message = next(f.message for f in run.plan.findings if f.node == "expe1"
                   and f.code == Code.API_LOCKOUT)
    assert "Lab Root" in message or "root" in message.lower()
    assert "cas/" in message and run.plan.blocked


async def test_with_the_root_trusted_nothing_is_blocked(lab: InProcessLab,
                                                        desired: Path) -> None:
    await ready_to_install(lab, desired)
    run, _ = await plan(lab, desired)  # the inventory's bundle holds the lab root
    assert not [f for f in run.plan.findings if f.code == Code.API_LOCKOUT]
    assert not run.plan.blocked


async def test_a_pinned_node_needs_the_new_pin_in_the_same_change(
    lab: InProcessLab, desired: Path
) -> None:
    await ready_to_install(lab, desired)
    node = desired / "nodes" / "expe1.yaml"
    old = "sha256:" + "0" * 64
    node.write_text(node.read_text() + f"connection:\n  api_pins: ['{old}']\n")
    run, _ = await plan(lab, desired)
    found = [f for f in run.plan.findings if f.code == Code.API_LOCKOUT]
    assert [f.node for f in found] == ["expe1"]
    new = x509.load_pem_x509_certificates((desired / "certs" / "expe1.pem").read_bytes())[0]
    assert f"sha256:{new.fingerprint(hashes.SHA256()).hex()}" in found[0].message


def test_name_and_anchor_rules(lab: InProcessLab) -> None:
    pki = load_or_create_pki(lab.lab.paths.ca)
    cache = CertCache()
    leaf = cache.parse_text(lab.nodes["expe1"].state.served.cert_pem)[0]
    chain = tuple(cache.parse_text(cert_pem(c))[0] for c in pki.chain_for("old"))
    install = (Action(id="expe1/cert.install", kind="cert.install", node="expe1", reason="x"),)
    planned = {"expe1": (leaf, chain)}
    ok = ApiTrust(server_name="expe1.nart.com", anchors=chain[-1:])
    assert lockout_findings(install, planned, {"expe1": ok}) == []
    wrong_name = replace(ok, server_name="10.0.0.1")
    assert "10.0.0.1" in lockout_findings(install, planned, {"expe1": wrong_name})[0].message
    off = replace(ok, anchors=(), verify=False)
    assert lockout_findings(install, planned, {"expe1": off}) == []


async def test_blocked_plan_has_one_verdict(lab: InProcessLab, desired: Path) -> None:
    await ready_to_install(lab, desired)
    _, result = await apply(lab, desired)
    assert result is not None and result.ok
    lab.set_fault("expc1", Fault(match="*", drop=True, count=1000))
    run, _ = await plan(lab, desired, strict=True)
    assert not run.plan.actions
    text = "\n".join(plan_text(run.plan))
    assert run.plan.blocked and "BLOCKED" in text
    assert "No changes" not in text
