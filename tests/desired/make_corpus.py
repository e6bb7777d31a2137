"""Write the certificate files of the loader's bad-input corpus (run once, commit the output).

    .venv/bin/python tests/desired/make_corpus.py

The YAML files and ``expected.txt`` of each case under ``corpus/`` are written by hand; this
script only (re)writes the PEM files that the table below assigns to each case. Only public
certificates and CSRs are written: keys live in memory and are dropped. The private-key cases
get a throwaway key from the test at run time (``inject-private-key.txt``), never from git.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CORPUS = Path(__file__).parent / "corpus"
START, END = dt.datetime(2024, 1, 1, tzinfo=dt.UTC), dt.datetime(2044, 1, 1, tzinfo=dt.UTC)

# Every case gets these unless its row says otherwise (None: leave the file out).
DEFAULT: dict[str, str | None] = {
    "cas/root.pem": "root",
    "cas/issuing.pem": "issuing",
    "certs/expe1.pem": "chain:expe1",
}
CASES: dict[str, dict[str, str | None]] = {
    "valid": {"csrs/expc1.csr.pem": "csr:expc1", "certs/expc1.der": "der:expc1"},
    "csr-as-cert": {"csrs/expe1.csr.pem": "csr:expe1", "certs/expc1.pem": "csr:expc1"},
    "cert-as-csr": {"csrs/expe1.csr.pem": "leaf:expe1"},
    "cas-chain": {"cas/bundle.pem": "bundle"},
    "cas-leaf": {"cas/expe1-leaf.pem": "leaf:expe1"},
    "ca-duplicate": {"cas/root-copy.pem": "root"},
    "many-problems": {"cas/bundle.pem": "bundle", "csrs/expe1.csr.pem": "leaf:expe1"},
    "no-certops": {},
}
SANS = {"expe1": ["expe1.example.com", "join.example.com"], "expc1": ["expc1.example.com"]}


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "certops corpus"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(cn: str, issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None,
          *, ca: bool, sans: tuple[str, ...] = ()
          ) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    issuer_name, signer = (issuer[0].subject, issuer[1]) if issuer else (_name(cn), key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn)).issuer_name(issuer_name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(START).not_valid_after(END)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if sans:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(s) for s in sans]), critical=False
        ).add_extension(x509.ExtendedKeyUsage(
            [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    return builder.sign(signer, hashes.SHA256()), key


def _csr(node: str) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder().subject_name(_name(SANS[node][0]))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(s) for s in SANS[node]]),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.PEM)


def material() -> dict[str, bytes]:
    """Every kind of file the table names, built once so all cases share one PKI."""
    pem = serialization.Encoding.PEM
    root = _cert("Corpus Root CA", None, ca=True)
    issuing = _cert("Corpus Issuing CA", root, ca=True)
    out = {
        "root": root[0].public_bytes(pem),
        "issuing": issuing[0].public_bytes(pem),
        "bundle": issuing[0].public_bytes(pem) + root[0].public_bytes(pem),
    }
    for node in SANS:
        leaf = _cert(SANS[node][0], issuing, ca=False, sans=tuple(SANS[node]))[0]
        out[f"leaf:{node}"] = leaf.public_bytes(pem)
        out[f"chain:{node}"] = leaf.public_bytes(pem) + issuing[0].public_bytes(pem)
        out[f"der:{node}"] = leaf.public_bytes(serialization.Encoding.DER)
        out[f"csr:{node}"] = _csr(node)
    return out


def main() -> None:
    made = material()
    for case in sorted(p for p in CORPUS.iterdir() if p.is_dir()):
        for rel, kind in {**DEFAULT, **CASES.get(case.name, {})}.items():
            if kind is None:
                continue
            target = case / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(made[kind])


if __name__ == "__main__":
    main()
