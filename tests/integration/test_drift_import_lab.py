"""``certops drift`` and ``certops import`` end to end on the lab."""

from __future__ import annotations

import json
from pathlib import Path

from fleet import NODES, apply_args, certops, generate_csrs, sign_all
from prometheus_client.parser import text_string_to_metric_families

from reconciler.lab import Fault, LabThread


def drift(desired: Path, inventory: Path, *extra: str) -> tuple[int, str]:
    return certops("drift", str(desired), "--inventory", str(inventory), *extra)


def test_pinned_import_gives_an_empty_plan(
    lab: LabThread, inventory: Path, tmp_path: Path
) -> None:
    root = tmp_path / "imported"
    code, out = certops("import", str(root), "--inventory", str(inventory), "--pin-certificates")
    assert code == 0, out
    assert sorted(p.stem for p in (root / "nodes").glob("*.yaml")) == sorted(NODES)
    assert "file: ../certs/expc1.pem" in (root / "nodes" / "expc1.yaml").read_text()
    code, out = certops("validate", str(root))
    assert code == 0, out
    # the lab's certificates are due: the pinned file's warning says what to change
    assert "renewal.due" in out and "remove that file: line" in out and "issuer: NAME" in out
    code, out = certops("plan", str(root), "--inventory", str(inventory), "--detailed-exitcode")
    assert code == 0, out
    assert "No changes" in out
    # the CUCM stores were imported per store, CAs deduplicated by fingerprint; the
    # built-in CAs as one CA set per store
    cucm = (root / "nodes" / "cucm-pub.yaml").read_text()
    assert "tomcat-trust:" in cucm and "callmanager-trust:" in cucm
    assert "- ../ca-sets/cucm-tomcat-trust.pem" in cucm
    ca_files = list((root / "cas").glob("*.pem"))
    assert len(ca_files) == len({p.read_text() for p in ca_files})
    assert "lab-0" not in " ".join(p.name for p in ca_files)


def test_default_import_keeps_the_live_certificate_until_due(
    lab: LabThread, inventory: Path, tmp_path: Path
) -> None:
    root = tmp_path / "imported"
    code, out = certops("import", str(root), "--inventory", str(inventory))
    assert code == 0, out
    assert not (root / "certs").exists()
    assert all("file:" not in p.read_text() for p in (root / "nodes").glob("*.yaml"))
    code, out = certops("plan", str(root), "--inventory", str(inventory), "--format", "json")
    # the lab's certificates are inside renew_before: CSRs (cucm-pub's is held) and nothing else
    assert {a["kind"] for a in json.loads(out)["actions"]} == {"csr.generate"}, out


def test_import_skip_builtin_writes_a_reviewable_repository(
    lab: LabThread, inventory: Path, tmp_path: Path
) -> None:
    root = tmp_path / "imported"
    code, out = certops("import", str(root), "--inventory", str(inventory), "--skip-builtin")
    assert code == 0, out
    assert "unmanaged (--skip-builtin)" in out
    # only the lab's root and issuing CA: what the fleet's live certificates chain to
    assert sorted(p.name for p in (root / "cas").glob("*.pem")) == [
        "certops-lab-issuing-ca-old.pem", "certops-lab-root-ca.pem"]
    cucm = (root / "nodes" / "cucm-pub.yaml").read_text()
    assert "lab-0" not in cucm and "capf-trust" not in cucm
    # the node's real address, not the inventory's loopback mapping; the SSH host key pinned
    assert "api: https://cucm-pub.nart.com\n" in cucm and "127.0.0.1" not in cucm
    assert "  ssh_host_key: ecdsa-sha2-nistp256 AAAA" in cucm
    # $schema resolves inside the desired-state repository
    schema_line = cucm.splitlines()[0]
    assert schema_line.endswith("$schema=../schemas/node.schema.json")
    assert json.loads((root / "nodes" / "../schemas/node.schema.json").read_text())["title"]
    assert "$schema=schemas/certops.schema.json" in (root / "certops.yaml").read_text()
    code, out = certops("validate", str(root))
    assert code == 0 and "0 errors" in out, out
    code, out = certops("plan", str(root), "--inventory", str(inventory), "--format", "json")
    assert {a["kind"] for a in json.loads(out)["actions"]} <= {"csr.generate"}, out


def test_reimport_shows_the_diff_and_needs_write(
    lab: LabThread, inventory: Path, tmp_path: Path
) -> None:
    root = tmp_path / "imported"
    assert certops("import", str(root), "--inventory", str(inventory))[0] == 0
    code, out = certops("import", str(root), "--inventory", str(inventory))
    assert code == 0 and "Wrote 0 file(s)." in out, out
    node_file = root / "nodes" / "expe1.yaml"
    edited = node_file.read_text().replace("    - nart.com\n", "")
    node_file.write_text(edited)
    code, out = certops("import", str(root), "--inventory", str(inventory))
    assert code == 2, out
    assert "--- a/nodes/expe1.yaml\n+++ b/nodes/expe1.yaml" in out and "+    - nart.com" in out
    assert "run again with --write" in out
    assert node_file.read_text() == edited
    code, out = certops("import", str(root), "--inventory", str(inventory), "--write")
    assert code == 0, out
    assert "    - nart.com\n" in node_file.read_text()


def test_import_update_keeps_comments_and_order(
    lab: LabThread, inventory: Path, tmp_path: Path
) -> None:
    root = tmp_path / "imported"
    assert certops("import", str(root), "--inventory", str(inventory))[0] == 0
    node_file = root / "nodes" / "expe1.yaml"
    text = node_file.read_text().replace("name: expe1", "name: expe1  # the edge, DMZ side")
    text = text.replace("credentials:", "labels: {site: dc9}\ncredentials:")
    node_file.write_text(text)
    code, out = certops("import", str(root), "--inventory", str(inventory), "--node", "expe1",
                        "--write")
    assert code == 0, out
    after = node_file.read_text()
    assert "# the edge, DMZ side" in after and "site: dc9" in after
    keys = [ln.split(":")[0] for ln in after.splitlines() if ln and not ln.startswith((" ", "#"))]
    assert keys == ["name", "type", "api", "labels", "credentials", "server_certificate", "trust"]


def test_import_of_an_unreachable_node_writes_nothing(
    lab: LabThread, inventory: Path, tmp_path: Path
) -> None:
    lab.set_fault("expc1", Fault(match="*", drop=True, count=1000))
    root = tmp_path / "imported"
    code, out = certops("import", str(root), "--inventory", str(inventory))
    assert code == 1 and "expc1" in out and "nothing was written" in out
    assert not (root / "nodes").exists()


def test_drift_kinds_and_exit_codes(
    lab: LabThread, desired: Path, inventory: Path, tmp_path: Path
) -> None:
    metrics = tmp_path / "certops.prom"
    code, out = drift(desired, inventory, "--format", "json", "--metrics-file", str(metrics))
    assert code == 2, out
    data = json.loads(out)
    codes = {(f["code"], f.get("node")) for f in data["findings"]}
    assert {("renewal.due", n) for n in NODES} <= codes
    assert ("trust.unmanaged", "cucm-pub") in codes
    families = {f.name: f for f in text_string_to_metric_families(metrics.read_text())}
    assert {
        "certops_certificate_not_after_timestamp_seconds",
        "certops_node_up",
        "certops_drift_items",
        "certops_in_sync",
    } <= set(families)
    up = {s.labels["node"]: s.value for s in families["certops_node_up"].samples}
    assert up == {n: 1.0 for n in NODES}
    not_after = [
        s
        for s in families["certops_certificate_not_after_timestamp_seconds"].samples
        if s.labels["store"] == "server"
    ]
    assert len(not_after) == 3 and all(s.value > 1.7e9 for s in not_after)
    # by default only managed certificates: the nodes' own and the CAs they must trust
    series = families["certops_certificate_not_after_timestamp_seconds"].samples
    # (other roles' certificates, e.g. the Unified CM identities, are labelled by role)
    leaves = ("server", "served", "callmanager", "tvs", "itlrecovery", "capf")
    cas = {s.labels["subject"] for s in series if s.labels["store"] not in leaves}
    assert cas and all("certops Lab" in subject for subject in cas), cas
    assert drift(desired, inventory, "--metrics-file", str(metrics), "--all-cas")[0] == 2
    families = {f.name: f for f in text_string_to_metric_families(metrics.read_text())}
    every = families["certops_certificate_not_after_timestamp_seconds"].samples
    assert len(every) > len(series) + 20  # the lab's built-in CAs on cucm-pub

    # CSRs generated on the nodes wait for their certificates
    generate_csrs(desired, inventory)
    code, out = drift(desired, inventory, "--format", "json")
    codes = {(f["code"], f.get("node")) for f in json.loads(out)["findings"]}
    assert ("csr.pending", "expe1") in codes and code == 2

    # unreachable: exit 1, and the metrics say so
    lab.set_fault("expc1", Fault(match="*", drop=True, count=1000))
    code, out = drift(desired, inventory, "--metrics-file", str(metrics))
    assert code == 1 and "node.unreachable" in out
    code, md = drift(desired, inventory, "--format", "markdown", "--max-chars", "4000")
    assert code == 1 and len(md) <= 4000 and "**Unreachable (1):** expc1" in md
    assert "```mermaid\npie" in md and "Renewals and expiries" in md
    families = {f.name: f for f in text_string_to_metric_families(metrics.read_text())}
    up = {s.labels["node"]: s.value for s in families["certops_node_up"].samples}
    assert up["expc1"] == 0.0


def test_drift_in_sync_after_renewal_and_restart_pending(
    lab: LabThread, desired: Path, inventory: Path
) -> None:
    generate_csrs(desired, inventory)
    sign_all(lab, desired, "new")
    node = lab.node("expe1")
    before = node.state.served.model_copy(deep=True)
    code, out = certops(*apply_args(desired, inventory))
    assert code == 0, out
    code, out = drift(desired, inventory)
    assert code == 0, out

    # installed without the restart: the new certificate is installed, the old one served
    # (no sysinfo flag is evidenced, so that difference is what shows a pending restart)
    async def serve_old() -> None:
        await node._go_down()
        node.state.served = before
        await node._come_back()

    lab.run(serve_old())
    code, out = drift(desired, inventory, "--format", "json")
    assert code == 2
    codes = {(f["code"], f.get("node")) for f in json.loads(out)["findings"]}
    assert ("drift.restart_pending", "expe1") in codes


def test_select_makes_a_shard(lab: LabThread, desired: Path, inventory: Path) -> None:
    code, out = certops(
        "plan",
        str(desired),
        "--inventory",
        str(inventory),
        "--format",
        "json",
        "--select",
        "role=edge",
    )
    assert code == 0, out
    data = json.loads(out)
    assert {a["node"] for a in data["actions"]} == {"expe1"}
    assert "cucm-pub" not in data["node_fingerprints"]
    code, out = certops("plan", str(desired), "--inventory", str(inventory), "--select", "nope")
    assert code == 1 and "key=value" in out
