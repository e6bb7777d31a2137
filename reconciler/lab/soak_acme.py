"""The soak run's ACME CA: the lab's acme2certifier (with ARI) issuing like a public CA of
2027, its lifetime in real seconds (issue 25).

``start`` brings up ``AcmeLab`` (acme2certifier + BIND 9 on loopback) with one profile,
``soak``, whose lifetime is the soak's certificate lifetime in real seconds, and ARI's
renewal window starting where the fleet's ``renew_before`` starts (so the CA's suggestion
and the policy agree). ``issuer_yaml`` is the ``issuers:`` entry the Expressways' server
certificates name. The "ACME CA down" fault stops the real server (``AcmeLab.stop_server``)
and starts it again on the same port.
"""

from __future__ import annotations

import json
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from reconciler.lab.acme_a2c import A2cCa
from reconciler.lab.acme_ca import TSIG_NAME, AcmeLab, missing

PROFILE = "soak"
# ARI's Retry-After, in real seconds: certops bounds it below by a minute (RFC 9773's
# advice against polling), so a certificate's window is asked for about once a minute.
ARI_RETRY_SECONDS = 60


def start(directory: Path, lifetime_seconds: float, renew_share: float,
          zones: list[str]) -> AcmeLab:
    """The ACME lab under ``directory``; ``renew_share``: renew_before as a share of the
    lifetime (1/3: ARI's window opens at two thirds of it)."""
    absent = missing("a2c")
    if absent:
        raise RuntimeError("the soak's ACME CA needs " + ", ".join(absent)
                           + " (scripts/system-deps.sh as root; pip install -e '.[lab]')")
    ca = A2cCa(directory, profiles={PROFILE: (
        f"The soak's compressed lifetime: {lifetime_seconds:g} s", round(lifetime_seconds))},
        default_profile=PROFILE, renewal_threshold=100 * (1 - renew_share),
        ari_retry_after=ARI_RETRY_SECONDS)
    return AcmeLab(directory, ca=ca).up(zones)


def issuer_yaml(lab: AcmeLab, ds: Path, work: Path) -> str:
    """The ``acme`` issuer (serverAuth only, public) for certops.yaml; writes its CA files
    under ``ds/cas``, the account key and the TSIG secret under ``work`` (never in ``ds``)."""
    root, inter = lab.ca_chain()
    (ds / "cas/acme-root.pem").write_text(root)
    (ds / "cas/acme-intermediate.pem").write_text(inter)
    key = work / "acme-account.pem"
    key.write_bytes(ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    key.chmod(0o600)
    secret = work / "tsig.secret"
    secret.write_text(lab.tsig_secret + "\n")
    secret.chmod(0o600)
    return (f"  acme:\n    type: acme\n    directory: {lab.directory_url}\n"
            f"    tls_ca_file: {json.dumps(str(lab.tls_ca_file))}\n"
            f"    account_key_file: {json.dumps(str(key))}\n    profile: {PROFILE}\n"
            f"    dns01: {{provider: rfc2136, server: '127.0.0.1:{lab.dns_port}', "
            f"tsig_key_name: {TSIG_NAME}, tsig_secret_file: {json.dumps(str(secret))}, "
            "propagation_timeout: 30}\n"
            "    eku: [serverAuth]\n    public: true\n"
            "    ca_files: [cas/acme-root.pem, cas/acme-intermediate.pem]\n")
