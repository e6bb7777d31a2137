"""Helpers for the bad-input corpus: copy a case, plant throwaway private keys, read expectations.

A case may hold ``inject-private-key.txt``: lines ``<file> <how>``, where ``how`` is ``raw``
(write a key as the file), ``prepend`` (put a key before the file's content, as in a
key-and-certificate bundle) or ``yaml`` (paste a key into the YAML file as a block scalar, as
someone might by mistake). The keys are made at
run time, so no private key is ever committed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

CORPUS = Path(__file__).parent / "corpus"
CONTROL_FILES = ("expected.txt", "inject-private-key.txt")


def cases() -> list[str]:
    return sorted(p.name for p in CORPUS.iterdir() if p.is_dir())


def throwaway_key() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def key_fragments(pem: bytes) -> list[str]:
    """The base64 lines of a PEM key: none of them may ever appear in a finding."""
    return [line for line in pem.decode().splitlines() if line and not line.startswith("-----")]


def prepare(case: str, target: Path) -> list[bytes]:
    """Copy ``case`` to ``target`` (without its control files), plant its keys, return them."""
    source = CORPUS / case
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(*CONTROL_FILES))
    keys: list[bytes] = []
    plan = source / "inject-private-key.txt"
    lines = plan.read_text().splitlines() if plan.exists() else []
    for line in lines:
        if not line.strip() or line.startswith("#"):
            continue
        rel, how = line.split()
        key = throwaway_key()
        keys.append(key)
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if how == "raw":
            path.write_bytes(key)
        elif how == "prepend":
            path.write_bytes(key + path.read_bytes())
        elif how == "yaml":
            block = "".join(f"    {row}\n" for row in key.decode().splitlines())
            path.write_text(path.read_text() + "server_key: |\n" + block)
        else:
            raise ValueError(f"{plan}: unknown way {how!r}")
    return keys


def expected(case: str) -> list[str]:
    """The case's expected ``file:line:col: severity[code]`` lines (comments and blanks skipped)."""
    text = (CORPUS / case / "expected.txt").read_text()
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
