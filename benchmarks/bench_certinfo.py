"""The CPU cost of ``CertInfo.from_der``, this checkout against another (issue 24 §2).

    python benchmarks/bench_certinfo.py [--leaves 3000] [--rounds 7] [--vs DIR] [--lab DIR]

Makes a fixed corpus once, in-process and without a lab: ``--leaves`` leaf certificates
with 1-40 DNS names (and one IP address in four) signed by a P-384 CA, as the lab's command
CA signs them, plus one self-signed P-256 identity per ten leaves (as a Unified CM's
``set cert regen`` makes them) and one RSA-2048 self-signed root per hundred. Each round
then parses every certificate with ``CertInfo.from_der`` in a fresh child process (so each
side imports its own checkout; ``--vs`` runs the other checkout the same way, in turn:
A B A B ...), and the child reports ``time.process_time`` around the parsing alone. Two
workloads: ``parse`` (what ``plan`` does for every node's own certificates: build the
facts) and ``parse+self_signed`` (the same, then read ``self_signed`` of every certificate,
the worst case for a lazily computed fact). Ratios are taken round by round; the median is
printed. Nothing is read from the network.

``--lab DIR`` parses instead the distinct certificates of a lab's node files (``certops lab
up --detach --dir DIR --nodes 60``): what ``plan`` parses for each node (its leaves, chains
and the self-signed identities of each Unified CM), without the shared built-in CAs; the
set is small, so each round parses it ``--passes`` times.
"""

from __future__ import annotations

import argparse
import base64
import ipaddress
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from common import ROOT, checkout_env, save, table

WORKLOADS = ("parse", "parse+self_signed")

# Run in the child: parse every DER of the corpus and print the CPU seconds it took.
_CHILD = """
import json, sys, time
from reconciler.pki.certinfo import CertInfo
ders = [bytes.fromhex(h) for h in json.load(open(sys.argv[1]))]
touch, passes = sys.argv[2] == "parse+self_signed", int(sys.argv[3])
CertInfo.from_der(ders[0]).self_signed  # warm up imports outside the timing
t0 = time.process_time()
for _ in range(passes):
    infos = [CertInfo.from_der(d) for d in ders]
    signed = sum(1 for i in infos if i.self_signed) if touch else -1
print(json.dumps({"cpu": (time.process_time() - t0) / passes, "self_signed": signed}))
"""
_PEM = re.compile(rb"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", re.S)


def lab_corpus(lab: Path) -> list[bytes]:
    """The distinct certificates in a lab's node files, in file order."""
    seen: dict[bytes, None] = {}
    for path in sorted((lab / "nodes").glob("*.json")):
        text = path.read_bytes().replace(b"\\n", b"\n")
        for body in _PEM.findall(text):
            seen.setdefault(base64.b64decode(b"".join(body.split())), None)
    return list(seen)


def corpus(leaves: int) -> list[bytes]:
    """The certificates to parse (see module docstring); deterministic in shape, not bytes."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.hazmat.primitives.serialization import Encoding
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Bench"),
                          x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    now = datetime(2026, 12, 6, tzinfo=UTC)
    ca_key = ec.generate_private_key(ec.SECP384R1())
    ca_name = name("Bench Issuing CA")
    aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key())
    out: list[bytes] = []
    leaf_key = ec.generate_private_key(ec.SECP256R1())  # one key: key making is not measured
    for i in range(leaves):
        sans: list[x509.GeneralName] = [x509.DNSName(f"n{i}-{j}.bench.example")
                                        for j in range(1 + i % 40)]
        if i % 4 == 0:
            sans.append(x509.IPAddress(ipaddress.ip_address(f"10.{i // 65536 % 256}."
                                                            f"{i // 256 % 256}.{i % 256}")))
        cert = (x509.CertificateBuilder().subject_name(name(f"n{i}.bench.example"))
                .issuer_name(ca_name).public_key(leaf_key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - timedelta(days=30))
                .not_valid_after(now + timedelta(days=60))
                .add_extension(x509.SubjectAlternativeName(sans), critical=False)
                .add_extension(x509.KeyUsage(True, False, True, False, False, False, False,
                                             False, False), critical=True)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                                      ExtendedKeyUsageOID.CLIENT_AUTH]),
                               critical=False)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(aki, critical=False)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(
                    leaf_key.public_key()), critical=False)
                .sign(ca_key, hashes.SHA384()))
        out.append(cert.public_bytes(Encoding.DER))
        if i % 10 == 0:
            out.append(_self_signed(ec.generate_private_key(ec.SECP256R1()),
                                    name(f"tvs-n{i}.bench.example"), now))
        if i % 100 == 0:
            out.append(_self_signed(rsa.generate_private_key(public_exponent=65537,
                                                             key_size=2048),
                                    name(f"Bench Root {i}"), now))
    return out


def _self_signed(key: Any, subject: Any, now: datetime) -> bytes:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.serialization import Encoding

    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=300)).not_valid_after(now + timedelta(days=65))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(Encoding.DER)


def measure(env: dict[str, str], path: Path, workload: str, passes: int) -> float:
    proc = subprocess.run([sys.executable, "-c", _CHILD, str(path), workload, str(passes)],
                          env={**os.environ, **env}, capture_output=True, text=True, check=True)
    return float(json.loads(proc.stdout)["cpu"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--leaves", type=int, default=3000)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--vs", type=Path, help="another checkout, measured in turn with this one")
    ap.add_argument("--lab", type=Path, help="parse a lab's node certificates instead")
    ap.add_argument("--passes", type=int, default=0,
                    help="parses of the set per round (default: 1, or 20 with --lab)")
    ap.add_argument("--name", default="certinfo")
    args = ap.parse_args()
    ders = lab_corpus(args.lab) if args.lab else corpus(args.leaves)
    passes = args.passes or (20 if args.lab else 1)
    sides = {"this": checkout_env(ROOT)}
    if args.vs:
        sides["vs"] = checkout_env(args.vs.resolve())
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-certinfo-") as tmp:
        path = Path(tmp) / "corpus.json"
        path.write_text(json.dumps([d.hex() for d in ders]))
        for workload in WORKLOADS:
            cpu: dict[str, list[float]] = {side: [] for side in sides}
            for _ in range(args.rounds):
                for side, env in sides.items():
                    cpu[side].append(measure(env, path, workload, passes))
            row: dict[str, Any] = {"workload": workload, "certificates": len(ders),
                                   "corpus": f"lab {args.lab}" if args.lab else "generated"}
            for side, values in cpu.items():
                row[f"{side}_us_per_cert"] = statistics.median(values) / len(ders) * 1e6
            if args.vs:
                row["ratio"] = statistics.median(a / b for a, b in zip(cpu["this"], cpu["vs"],
                                                                        strict=True))
            rows.append(row)
    columns = ["workload", "certificates", *(f"{s}_us_per_cert" for s in sides)]
    print(table(rows, columns + (["ratio"] if args.vs else [])))
    print(f"results: {save(args.name, rows)}")


if __name__ == "__main__":
    main()
