"""Helpers for end-to-end tests: run certops commands, walk a renewal, check the invariant."""

from __future__ import annotations

import json
import ssl
import sys
from pathlib import Path
from typing import Any

from cryptography import x509
from typer.testing import CliRunner

from reconciler.cli.app import build_app
from reconciler.lab import LabThread
from reconciler.lab.ca import cert_pem, load_or_create_pki

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from unitkit import use_certificate

__all__ = ["use_certificate"]
from reconciler.pki import CertCache, build_chain

runner = CliRunner()
NODES = ("expe1", "expc1", "cucm-pub")
LINKS = (("expc1", "expe1"), ("expc1", "cucm-pub"))


def certops(*args: str) -> tuple[int, str]:
    result = runner.invoke(build_app(), list(args))
    return result.exit_code, result.output


def apply_args(desired: Path, inventory: Path, *extra: str) -> list[str]:
    return [
        "apply",
        str(desired),
        "--inventory",
        str(inventory),
        "--auto-approve",
        "--poll-interval",
        "0.05",
        "--restart-timeout",
        "20",
        *extra,
    ]


def save_plan(desired: Path, inventory: Path, folder: Path) -> Path:
    """``certops plan --out``: the saved plan file (asserting the plan succeeded)."""
    plan_file = folder / "plan.json"
    code, out = certops(
        "plan", str(desired), "--inventory", str(inventory), "--out", str(plan_file)
    )
    assert code == 0, out
    return plan_file


def sign(lab: LabThread, csr_pem: str, ca: str = "new", **kw: Any) -> str:
    """What `certops lab sign` writes: leaf, issuing CA, root."""
    pki = load_or_create_pki(lab.lab.paths.ca)
    leaf = pki.sign_csr(x509.load_pem_x509_csr(csr_pem.encode()), ca, **kw)
    return "".join(cert_pem(c) for c in [leaf, *pki.chain_for(ca)])


def generate_csrs(desired: Path, inventory: Path) -> None:
    code, out = certops(*apply_args(desired, inventory))
    assert code == 0, out
    for node in NODES:
        assert (desired / "csrs" / f"{node}.csr.pem").is_file(), out


def sign_all(lab: LabThread, desired: Path, ca: str = "new") -> None:
    for node in NODES:
        csr = (desired / "csrs" / f"{node}.csr.pem").read_text()
        use_certificate(desired, node, sign(lab, csr, ca))


def served(lab: LabThread, node: str) -> x509.Certificate:
    host, port = lab.url(node).removeprefix("https://").split(":")
    pem = ssl.get_server_certificate((host, int(port)))
    return x509.load_pem_x509_certificate(pem.encode())


def trust_store(lab: LabThread, node: str, store: str) -> list[str]:
    """PEMs of a node's trust store, straight from the lab's state."""
    state = lab.node(node).state
    if state.type == "cucm":
        service = store.removesuffix("-trust")
        return [e.pem for e in lab.node(node).builtins[: state.builtin_cas]] + [
            e.pem for e in state.trust.get(service, [])
        ]
    return list(state.trusted_cas)


def assert_invariant(lab: LabThread) -> None:
    """No node presents a certificate that a linked peer does not trust."""
    cache = CertCache()
    for a, b in LINKS:
        for presenter, truster in ((a, b), (b, a)):
            leaf = cache.parse(cert_pem(served(lab, presenter)).encode())[0]
            stores = (
                ("tomcat-trust", "callmanager-trust")
                if truster == "cucm-pub"
                else ("trusted-ca-list",)
            )
            for store in stores:
                cas = [
                    c for pem in trust_store(lab, truster, store) for c in cache.parse(pem.encode())
                ]
                chain = build_chain(leaf, cas, [c for c in cas if c.self_signed])
                assert chain.complete, (
                    f"{truster} {store} does not trust what {presenter} serves ({leaf.subject}, "
                    f"issuer {leaf.issuer})"
                )


def report(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data
