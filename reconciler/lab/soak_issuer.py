"""The soak run's command CA: the lab's NEW issuing CA, with a lifetime in real seconds.

certops' ``type: command`` issuer contract: the CSR (PEM) on standard input, the signed
certificate and its chain (PEM) on standard output, exit 0. This one signs with the lab's
"new" CA (``DIR/ca``) and makes the certificate valid from now for ``--lifetime`` seconds,
so the soak's compressed year (``reconciler.lab.soak``: "a day" is a fraction of a second)
has real dates: certops reads ``notBefore``/``notAfter`` as they are, no clock is mocked.

``--down-file FILE``: while FILE exists the CA is "down" (exit 1, nothing signed), which is
how the soak takes the issuer away for a simulated day.

    python -m reconciler.lab.soak_issuer --lab DIR --lifetime 50 [--down-file FILE] < csr.pem
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509

from reconciler.lab.ca import cert_pem, load_or_create_pki


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="soak_issuer", description=__doc__)
    parser.add_argument("--lab", type=Path, required=True, help="the lab directory")
    parser.add_argument("--lifetime", type=float, required=True, help="seconds of validity")
    parser.add_argument("--down-file", type=Path, help="while it exists, refuse to sign")
    args = parser.parse_args(argv)
    if args.down_file is not None and args.down_file.exists():
        print("soak CA: down (the soak's fault: CA unavailable); try again later",
              file=sys.stderr)
        return 1
    csr = x509.load_pem_x509_csr(sys.stdin.buffer.read())
    pki = load_or_create_pki(args.lab / "ca")
    # The lab signs both EKUs (the clusters' policy requires them); valid from now on, so
    # a share-of-lifetime renew_before is a share of the real lifetime.
    now = datetime.now(UTC)
    leaf = pki.sign_csr(csr, "new")
    leaf = pki.issue("new", csr.public_key(), _cn(leaf), _sans(leaf), not_before=now,
                     not_after=now + timedelta(seconds=args.lifetime))
    sys.stdout.write(cert_pem(leaf) + "".join(cert_pem(c) for c in pki.chain_for("new")))
    return 0


def _cn(cert: x509.Certificate) -> str:
    cns = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return str(cns[0].value) if cns else ""


def _sans(cert: x509.Certificate) -> list[str]:
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    return list(ext.value.get_values_for_type(x509.DNSName))


if __name__ == "__main__":
    raise SystemExit(main())
