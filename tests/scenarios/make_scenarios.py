"""Generate the offline scenario trees under tests/scenarios/<case>/desired (run once, commit).

Each case is the example topology of Cisco's renewal article (expe1 <-> expc1 <-> cucm-pub)
with one thing changed. Only public certificates and CSRs are written; keys stay in memory.
Expected findings live in each case's ``case.yaml`` and are written by hand: regenerating the
certificates keeps file layouts (and so line numbers) the same.

    python tests/scenarios/make_scenarios.py
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

from cryptography.x509.oid import ExtendedKeyUsageOID

sys.path.insert(0, str(Path(__file__).parent))
from pkitools import Issued, make_ca, make_csr, make_leaf, make_leaf_openssl, new_key, utc

HERE = Path(__file__).parent
EXPE_SANS = [
    "expe.nart.com",
    "expe1.nart.com",
    "expe2.nart.com",
    "join.nart.com",
    "meeting.nart.com",
    "meet.nart.com",
    "guest.vngtp.aca",
    "guest.vngtpres.aca",
    "vngtp.lab",
    "nart.com",
]
EXPC_SANS = ["expc.nart.com", "expc1.nart.com"]
CUCM_SANS = ["cucm-pub.nart.com"]

FLEET = """\
# yaml-language-server: $schema=../../../../reconciler/schemas/certops.schema.json
policy:
  min_rsa_bits: 2048
  signature_hashes: [sha256, sha384, sha512]
  required_eku: [serverAuth, clientAuth]
  renew_before: 30d
links:
  - [expc1, expe1]
  - [expc1, cucm-pub]
defaults:
  derive_trust: {derive}
"""

EXPRESSWAY = """\
# yaml-language-server: $schema=../../../../../reconciler/schemas/node.schema.json
name: {name}
type: {type}
api: https://{name}.nart.com
credentials:
  username_env: {env}_USER
  password_env: {env}_PASSWORD
server_certificate:
{file_line}  subject_alt_names:
{sans}
trust:
  - ../cas/lab-root.pem
  - ../cas/issuing-old.pem
"""

CUCM = """\
# yaml-language-server: $schema=../../../../../reconciler/schemas/node.schema.json
name: cucm-pub
type: cucm
api: https://cucm-pub.nart.com:8443
credentials:
  username_env: CUCM_PUB_USER
  password_env: CUCM_PUB_PASSWORD
server_certificate:
{file_line}  subject_alt_names: [cucm-pub.nart.com]
trust:
  tomcat-trust: [../cas/lab-root.pem, ../cas/issuing-old.pem]
  callmanager-trust:
    cas: [../cas/lab-root.pem, ../cas/issuing-old.pem]
"""


class Pki:
    def __init__(self) -> None:
        self.root = make_ca("NART Lab Root CA")
        self.old = make_ca(
            "NART Issuing CA G1",
            issuer=self.root,
            not_before=utc(2024, 1, 1),
            not_after=utc(2034, 1, 1),
        )
        self.new = make_ca(
            "NART Issuing CA G2",
            issuer=self.root,
            not_before=utc(2026, 1, 1),
            not_after=utc(2036, 1, 1),
        )
        self.other_root = make_ca("Other Corp Root CA")
        self.other = make_ca("Other Corp Issuing CA", issuer=self.other_root)


def chain_pem(*certs: Issued) -> bytes:
    return b"".join(c.pem for c in certs)


def write_case(
    case: str,
    pki: Pki,
    *,
    derive: bool = True,
    files: dict[str, bytes],
    node_files: dict[str, str | None],
    extra: dict[str, Any] | None = None,
    sans: dict[str, list[str]] | None = None,
) -> None:
    root = HERE / case / "desired"
    if root.exists():
        shutil.rmtree(root)
    for sub in ("nodes", "cas", "certs", "csrs"):
        (root / sub).mkdir(parents=True)
        (root / sub / ".gitkeep").write_text("")
    (root / "certops.yaml").write_text(FLEET.format(derive=str(derive).lower()))
    (root / "cas" / "lab-root.pem").write_bytes(pki.root.pem)
    (root / "cas" / "issuing-old.pem").write_bytes(pki.old.pem)
    (root / "cas" / "issuing-new.pem").write_bytes(pki.new.pem)
    sans = {"expe1": EXPE_SANS, "expc1": EXPC_SANS, **(sans or {})}
    for node, ntype, env in (
        ("expe1", "expressway-e", "EXPE1"),
        ("expc1", "expressway-c", "EXPC1"),
    ):
        ref = node_files.get(node)
        file_line = f"  file: ../certs/{ref}\n" if ref else ""
        body = "\n".join(f"    - {json.dumps(s) if s.startswith('*') else s}" for s in sans[node])
        (root / "nodes" / f"{node}.yaml").write_text(
            EXPRESSWAY.format(name=node, type=ntype, env=env, file_line=file_line, sans=body)
        )
    ref = node_files.get("cucm-pub")
    file_line = f"  file: ../certs/{ref}\n" if ref else ""
    (root / "nodes" / "cucm-pub.yaml").write_text(CUCM.format(file_line=file_line))
    for rel, data in files.items():
        (root / rel).write_bytes(data)
    for rel, text in (extra or {}).items():
        (root / rel).write_text(text)


def main() -> None:
    pki = Pki()
    good_e = make_leaf("expe.nart.com", EXPE_SANS, pki.new)
    good_c = make_leaf("expc.nart.com", EXPC_SANS, pki.new)

    # The fleet before a renewal: no certificate files, keep what the nodes have.
    write_case("before-renewal", pki, files={}, node_files={})
    # Signed certificates from the new CA, full chains as the CA delivers them.
    write_case(
        "new-ca-valid",
        pki,
        files={
            "certs/expe1.pem": chain_pem(good_e, pki.new, pki.root),
            "certs/expc1.pem": chain_pem(pki.root, good_c, pki.new),  # any order
        },
        node_files={"expe1": "expe1.pem", "expc1": "expc1.pem"},
    )
    write_case(
        "san-dropped",
        pki,
        files={
            "certs/expe1.pem": chain_pem(
                make_leaf("expe.nart.com", EXPE_SANS[:-2], pki.new), pki.new
            ),
        },
        node_files={"expe1": "expe1.pem"},
    )
    write_case(
        "no-client-auth",
        pki,
        files={
            "certs/expe1.pem": make_leaf(
                "expe.nart.com", EXPE_SANS, pki.new, eku=[ExtendedKeyUsageOID.SERVER_AUTH]
            ).pem,
        },
        node_files={"expe1": "expe1.pem"},
    )
    write_case(
        "weak-key-and-hash",
        pki,
        files={
            "certs/expe1.pem": make_leaf(
                "expe.nart.com", EXPE_SANS, pki.new, key=new_key("rsa1024")
            ).pem,
            "certs/expc1.pem": make_leaf_openssl(
                "expc.nart.com", EXPC_SANS, pki.new, digest="sha1"
            ),
        },
        node_files={"expe1": "expe1.pem", "expc1": "expc1.pem"},
    )
    write_case(
        "expired",
        pki,
        files={
            "certs/expe1.pem": make_leaf(
                "expe.nart.com",
                EXPE_SANS,
                pki.old,
                not_before=utc(2025, 1, 1),
                not_after=utc(2026, 1, 1),
            ).pem,
        },
        node_files={"expe1": "expe1.pem"},
    )
    wild = ["*.nart.com", "nart.com"]
    write_case(
        "wildcard-expressway",
        pki,
        files={
            "certs/expe1.pem": make_leaf("nart.com", wild, pki.new).pem,
        },
        node_files={"expe1": "expe1.pem"},
        sans={"expe1": wild},
    )
    write_case(
        "chain-incomplete",
        pki,
        files={
            "certs/expe1.pem": make_leaf("expe.nart.com", EXPE_SANS, pki.other).pem,
        },
        node_files={"expe1": "expe1.pem"},
    )
    write_case(
        "ca-as-leaf",
        pki,
        files={
            "certs/expe1.pem": make_leaf("expe.nart.com", EXPE_SANS, pki.new, ca=True).pem,
        },
        node_files={"expe1": "expe1.pem"},
    )
    write_case(
        "critical-san",
        pki,
        files={
            "certs/expe1.pem": make_leaf(
                "expe.nart.com", EXPE_SANS, pki.new, san_critical=True
            ).pem,
        },
        node_files={"expe1": "expe1.pem"},
    )
    # derive_trust off: cucm-pub and expe1 list only the old CA, expc1 moves to the new one.
    write_case(
        "trust-gate",
        pki,
        derive=False,
        files={
            "certs/expc1.pem": chain_pem(good_c, pki.new, pki.root),
        },
        node_files={"expc1": "expc1.pem"},
    )
    # A committed CSR whose key is not the certificate's: the install would fail.
    csr_key = new_key("ec")
    write_case(
        "csr-mismatch",
        pki,
        files={
            "certs/expe1.pem": chain_pem(good_e, pki.new, pki.root),
            "csrs/expe1.csr.pem": make_csr("expe.nart.com", EXPE_SANS, csr_key),
        },
        node_files={"expe1": "expe1.pem"},
    )


def expired_ca_case() -> None:
    """An expired CA listed in a trust store: an error offline, and never uploaded.

    Its own generator (``--expired-ca``) so that the other cases' certificates stay as they are.
    """
    pki = Pki()
    expired = make_ca("Retired Corp Root CA", not_before=utc(2015, 1, 1), not_after=utc(2025, 1, 1))
    write_case(
        "ca-expired-listed",
        pki,
        files={"cas/retired-root.pem": expired.pem},
        node_files={},
    )
    node = HERE / "ca-expired-listed" / "desired" / "nodes" / "expe1.yaml"
    node.write_text(node.read_text() + "  - ../cas/retired-root.pem\n")


if __name__ == "__main__":
    if sys.argv[1:] == ["--expired-ca"]:
        expired_ca_case()
    else:
        main()
