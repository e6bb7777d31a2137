"""A real CA for tests: ``openssl ca`` in a temporary directory, driven as a command issuer.

``make_openssl_ca(dir)`` creates a root (self-signed) and writes an ``openssl ca`` config
whose profile copies the CSR's SANs and sets both TLS EKUs (``client_auth=False`` leaves
clientAuth out, as public CAs do since 2026). ``sign.sh`` signs the CSR on standard input
and prints the leaf followed by the root: the shape a command issuer must print.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

CONFIG = """\
[ ca ]
default_ca = lab
[ lab ]
dir = {dir}
database = $dir/index.txt
new_certs_dir = $dir/issued
certificate = $dir/root.pem
private_key = $dir/root.key
serial = $dir/serial
default_md = sha256
default_days = 90
policy = anything
copy_extensions = copy
x509_extensions = server
unique_subject = no
[ anything ]
commonName = supplied
organizationName = optional
[ server ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = {eku}
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""

SIGN = """\
#!/bin/sh
set -e
# One signature at a time: openssl ca rewrites its serial and index files (an apply issues
# for several nodes at once).
exec 9>"{dir}/sign.lock"
flock 9
out=$(mktemp "{dir}/issued/out.XXXXXX")
openssl ca -batch -notext -config "{dir}/ca.cnf" -in /dev/stdin -out "$out" \
  2>"{dir}/last.log" || {{ cat "{dir}/last.log" >&2; exit 1; }}
cat "$out" "{dir}/root.pem"
"""


@dataclass(frozen=True)
class OpensslCa:
    dir: Path
    root_pem: Path
    sign: Path  # the command an issuer runs


def have_openssl() -> bool:
    return shutil.which("openssl") is not None


def make_openssl_ca(directory: Path, *, client_auth: bool = True,
                    name: str = "certops test openssl CA") -> OpensslCa:
    """A fresh CA under ``directory`` (see the module docstring)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "issued").mkdir(exist_ok=True)
    (directory / "index.txt").write_text("")
    (directory / "serial").write_text("1000\n")
    eku = "serverAuth, clientAuth" if client_auth else "serverAuth"
    (directory / "ca.cnf").write_text(CONFIG.format(dir=directory, eku=eku))
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-keyout", str(directory / "root.key"), "-out", str(directory / "root.pem"),
         "-days", "3650", "-subj", f"/O=certops test/CN={name}",
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        check=True, capture_output=True,
    )
    sign = directory / "sign.sh"
    sign.write_text(SIGN.format(dir=directory))
    sign.chmod(0o755)
    return OpensslCa(dir=directory, root_pem=directory / "root.pem", sign=sign)
