"""``certops plan`` end to end against the emulated nodes over real HTTPS on loopback."""

from __future__ import annotations

import json
import shutil
import ssl
from pathlib import Path

import jsonschema
from typer.testing import CliRunner

from reconciler.cli.app import build_app
from reconciler.lab import Fault, LabThread
from reconciler.lab.ca import cert_pem, load_or_create_pki

runner = CliRunner()
SCHEMA = Path(__file__).resolve().parents[2] / "reconciler" / "schemas" / "plan.schema.json"


def plan(desired: Path, inventory: Path, *extra: str) -> tuple[int, str]:
    result = runner.invoke(
        build_app(), ["plan", str(desired), "--inventory", str(inventory), *extra]
    )
    return result.exit_code, result.output


def test_fresh_lab_plans_a_renewal_and_sends_no_write(
    lab: LabThread, desired: Path, inventory: Path
) -> None:
    lab.reset_counters()
    code, out = plan(desired, inventory, "--format", "json", "--detailed-exitcode")
    assert code == 2, out
    data = json.loads(out)
    jsonschema.validate(data, json.loads(SCHEMA.read_text()))
    kinds = sorted((a["kind"], a["node"]) for a in data["actions"])
    assert kinds == [
        ("csr.generate", "cucm-pub"),
        ("csr.generate", "expc1"),
        ("csr.generate", "expe1"),
    ]
    assert {f["code"] for f in data["findings"]} >= {"renewal.due"}
    for name in ("expe1", "expc1", "cucm-pub"):
        counts = lab.counters(name)
        assert counts["non_get"] == 0, (name, counts)
        assert counts["GET"] >= (1 if name == "cucm-pub" else 3)  # CUCM: the inventory alone
    assert set(data["node_fingerprints"]) == {"expe1", "expc1", "cucm-pub"}


def test_plan_text_markdown_and_out_file(
    lab: LabThread, desired: Path, inventory: Path, tmp_path: Path
) -> None:
    out_file = tmp_path / "plan.json"
    code, out = plan(desired, inventory, "--out", str(out_file))
    assert code == 0, out
    assert "csr.generate    expe1" in out and "renewal.due" in out
    saved = json.loads(out_file.read_text())
    assert saved["format_version"] == 1 and len(saved["actions"]) == 3
    code, md = plan(desired, inventory, "--format", "markdown")
    assert code == 0
    assert md.startswith("<!-- certops-plan -->") and "<details>" in md and "| expe1 |" in md
    code, short = plan(desired, inventory, "--format", "markdown", "--max-chars", "1500")
    assert code == 0 and len(short) <= 1500, len(short)
    assert "### Summary" in short and "more nodes, in the artifact" in short


def test_new_ca_certificate_plans_trust_first(
    lab: LabThread, desired: Path, inventory: Path, tmp_path: Path
) -> None:
    """The seed's step D: a certificate from the new CA needs its chain on every peer first."""
    # A CSR generated on expc1 (a write the test does itself), signed by the lab's NEW CA.
    csr = lab.run(_generate_csr(lab, "expc1"))
    (desired / "certs" / "expc1.pem").write_text(sign_with_lab(lab, csr, "new"))
    node_file = desired / "nodes" / "expc1.yaml"
    node_file.write_text(
        node_file.read_text().replace(
            "server_certificate:\n", "server_certificate:\n  file: ../certs/expc1.pem\n"
        )
    )
    lab.reset_counters()
    code, out = plan(desired, inventory, "--format", "json", "--node", "expc1")
    assert code == 0, out
    data = json.loads(out)
    order = [(a["kind"], a["node"], a["store"]) for a in data["actions"]]
    installs = order.index(("cert.install", "expc1", None))
    trust = [o for o in order if o[0] == "trust.add"]
    assert {(n, s) for _, n, s in trust} >= {
        ("expc1", "trusted-ca-list"),
        ("expe1", "trusted-ca-list"),
        ("cucm-pub", "tomcat-trust"),
        ("cucm-pub", "callmanager-trust"),
    }
    assert all(order.index(t) < installs for t in trust)
    assert order.index(("service.restart", "cucm-pub", None)) < installs
    assert order[-1] == ("node.restart", "expc1", None)
    assert "issuer.changed" in {f["code"] for f in data["findings"]}
    assert all(lab.counters(n)["non_get"] == 0 for n in ("expe1", "expc1", "cucm-pub"))


def sign_with_lab(lab: LabThread, csr_pem: str, ca: str) -> str:
    """What `certops lab sign` writes: leaf, issuing CA, root."""
    from cryptography import x509

    pki = load_or_create_pki(lab.lab.paths.ca)
    leaf = pki.sign_csr(x509.load_pem_x509_csr(csr_pem.encode()), ca)
    return "".join(cert_pem(c) for c in [leaf, *pki.chain_for(ca)])


async def _generate_csr(lab: LabThread, name: str) -> str:
    import httpx

    inv = lab.lab
    node = inv.nodes[name]
    async with httpx.AsyncClient(
        verify=ssl.create_default_context(cafile=str(inv.paths.ca_bundle)),
        base_url=inv.url(name),
        auth=(node.username, node.password),
    ) as client:
        r = await client.post(
            "/api/provisioning/certs/generate_csr",
            json={"Additional_FQDNS": ["expc.nart.com", "expc1.nart.com"]},
            extensions={"sni_hostname": node.state.fqdn},
        )
        r.raise_for_status()
        r = await client.get(
            "/api/provisioning/certs/generate_csr", extensions={"sni_hostname": node.state.fqdn}
        )
        return r.text


def test_unreachable_node_blocks_the_plan_with_strict(
    lab: LabThread, desired: Path, inventory: Path
) -> None:
    lab.set_fault("expe1", Fault(match="*", drop=True, count=100))
    code, out = plan(desired, inventory, "--format", "json", "--strict")
    assert code == 1
    data = json.loads(out)
    codes = [(f["code"], f.get("node"), f["severity"]) for f in data["findings"]]
    assert ("node.unreachable", "expe1", "error") in codes
    # the other nodes are still read
    assert {"expc1", "cucm-pub"} <= set(data["node_fingerprints"])


def test_unreachable_node_gives_a_partial_plan(
    lab: LabThread, desired: Path, inventory: Path
) -> None:
    """Without --strict: the rest is planned, the node a warning, its linked peer expc1 held
    back and named, in JSON and in text; exit 1 all the same, naming the node (a managed
    node that cannot be read is never a silent success)."""
    lab.set_fault("expe1", Fault(match="*", drop=True, count=100))
    code, out = plan(desired, inventory, "--format", "json")
    assert code == 1
    out = out[:out.rindex("}") + 1]  # the JSON; then the "Not read" line (stderr)
    data = json.loads(out)
    codes = [(f["code"], f.get("node"), f["severity"]) for f in data["findings"]]
    assert ("node.unreachable", "expe1", "warning") in codes
    assert not any(n == "expe1" for _, n, _ in codes if _ == "node.held_back")
    assert "expe1" not in data["node_fingerprints"]
    assert not any(a["node"] in ("expe1", "expc1") for a in data["actions"])
    code, text = plan(desired, inventory)
    assert code == 1 and "PARTIAL PLAN" in text and "not read (nothing planned): expe1" in text
    assert "Not read: expe1" in text


def test_missing_credentials_is_one_clear_error(
    desired: Path, tmp_path: Path, monkeypatch: object
) -> None:
    code, out = plan(desired, tmp_path / "nope.yaml")
    assert code == 1 and "nope.yaml" in out
    empty = tmp_path / "inv.yaml"
    empty.write_text("nodes: {}\n")
    code, out = plan(desired, empty)
    assert code == 1
    assert "EXPE1_USER and EXPE1_PASSWORD" in out


def test_malformed_json_from_a_node(lab: LabThread, desired: Path, inventory: Path) -> None:
    lab.set_fault("cucm-pub", Fault(match="snapshot", malformed_json=True, count=100))
    code, out = plan(desired, inventory, "--strict")
    assert code == 1
    assert "cucm-pub" in out and "not JSON" in out
    code, out = plan(desired, inventory)
    assert code == 1 and "PARTIAL PLAN" in out and "not JSON" in out


def test_bad_desired_state_exits_1_before_any_request(
    lab: LabThread, desired: Path, inventory: Path
) -> None:
    shutil.copy(desired / "nodes" / "expe1.yaml", desired / "nodes" / "copy.yaml")
    lab.reset_counters()
    code, out = plan(desired, inventory)
    assert code == 1 and "node.duplicate" in out
    assert all(lab.counters(n)["total"] == 0 for n in ("expe1", "expc1", "cucm-pub"))
