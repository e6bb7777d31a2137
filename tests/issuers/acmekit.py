"""Helpers for the ACME tests: a Pebble + BIND (+ challtestsrv) lab, an account, an issuer.

The protocol tests (EAB, crash and resume, challenge failures) run against Pebble
(``backend="pebble"``); the ARI, profile and revocation tests (``test_acme_ari.py``) against
the default lab CA, acme2certifier.

``reconciler.lab.acme_ca`` starts the daemons; here they are wired into a copy of the
example desired state (expe1 names the ACME issuer ``pebble``) and an environment holding
the secrets (account key, TSIG secret, EAB key) that tests then look for in every output.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from reconciler.lab.acme_ca import TSIG_NAME, AcmeLab, missing, zones_of

# The example fleet's names (desired-state/nodes): one BIND zone per domain.
ZONES = zones_of(["nart.com", "vngtp.aca", "vngtpres.aca", "vngtp.lab"])
EAB_KID = "certops-kid-1"
EAB_KEY = "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W"
SKIP_REASON = (
    f"{', '.join(missing('pebble'))} not installed (Debian packages pebble and bind9: "
    "scripts/system-deps.sh installs them)"
)


def have_daemons() -> bool:
    return not missing("pebble") and shutil.which("pebble-challtestsrv") is not None


def account_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def secret_env(lab: AcmeLab, account_key: str) -> dict[str, str]:
    """The environment of an apply: PATH and the three secrets, by the names certops.yaml uses."""
    return {"PATH": "/usr/bin:/bin", "ACME_ACCOUNT_KEY": account_key, "ACME_EAB_KID": EAB_KID,
            "ACME_EAB_HMAC_KEY": EAB_KEY, "DNS_TSIG_SECRET": lab.tsig_secret}


def rfc2136(lab: AcmeLab, **extra: Any) -> dict[str, Any]:
    return {"provider": "rfc2136", "server": f"127.0.0.1:{lab.dns_port}",
            "tsig_key_name": TSIG_NAME, "tsig_secret_env": "DNS_TSIG_SECRET",
            "propagation_timeout": 10, **extra}


def with_acme_issuer(root: Path, lab: AcmeLab, dns01: dict[str, Any], *,
                     eku: list[str] | None = None, node: str = "expe1") -> None:
    """``node`` names the ACME issuer ``pebble``; Pebble's root and intermediate are its
    ca_files (fetched now: Pebble makes a new CA at each start)."""
    root_pem, inter_pem = lab.ca_chain()
    (root / "cas" / "pebble-root.pem").write_text(root_pem)
    (root / "cas" / "pebble-intermediate.pem").write_text(inter_pem)
    spec: dict[str, Any] = {
        "type": "acme", "directory": lab.directory_url, "tls_ca_file": str(lab.tls_ca_file),
        "account_key_env": "ACME_ACCOUNT_KEY", "eab_kid_env": "ACME_EAB_KID",
        "eab_hmac_key_env": "ACME_EAB_HMAC_KEY", "dns01": dns01, "timeout": 60,
        "ca_files": ["cas/pebble-root.pem", "cas/pebble-intermediate.pem"],
    }
    if eku:
        spec["eku"] = eku
    with (root / "certops.yaml").open("a") as out:
        out.write(f"issuers:\n  pebble: {json.dumps(spec)}\n")
    path = root / "nodes" / f"{node}.yaml"
    text = path.read_text().replace("server_certificate:", "server_certificate:\n  issuer: pebble",
                                    1)
    path.write_text(text)


def start(directory: Path) -> AcmeLab:
    """Pebble (EAB required), BIND for the example zones, and challtestsrv."""
    return AcmeLab(directory, eab={EAB_KID: EAB_KEY}, backend="pebble").up(ZONES,
                                                                        challtestsrv=True)
