"""The key scan's bare-base64 search: the same spans as the pattern it replaces, in one pass.

The pattern backtracked through every way of cutting a long line into pieces of 16 (2 ms for
an SSH host key line; a SHA-256 in hex, 0.6 ms): half of loading 200 node files. The
one-pass search must find exactly what the pattern found, so nothing it caught is missed.
"""

from __future__ import annotations

import base64
import random
import re

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from reconciler.desired.keyscan import _base64_spans, holds_key

PATTERN = re.compile(rb"(?:[A-Za-z0-9+/]{16,}[\r\n]*){6,}[A-Za-z0-9+/]*={0,2}")
GAPS = (b"\n", b"\r\n", b"\n\n", b" ", b"=", b"==", b"=\n", b"\n=", b"#", b"-", b"\n \n",
        b"\r", b"===\n")


def sample(rng: random.Random) -> bytes:
    """Runs of base64 characters (short, around 16, line-long) between separators."""
    parts: list[bytes] = []
    for _ in range(rng.randint(0, 14)):
        size = rng.choice([rng.randint(1, 15), rng.randint(16, 40), rng.randint(30, 64)])
        parts.append(bytes(rng.choice(b"AZaz09+/") for _ in range(size)))
        parts.append(rng.choice(GAPS))
    return b"".join(parts)


def test_the_same_spans_as_the_pattern() -> None:
    rng = random.Random(14)
    matched = 0
    for _ in range(3000):
        data = sample(rng)
        want = [m.span() for m in PATTERN.finditer(data)]
        assert list(_base64_spans(data)) == want, data
        matched += bool(want)
    assert matched > 200  # the samples do exercise matches


def test_edges() -> None:
    line = b"A" * 64
    for data in (b"", b"=", line * 2, (line + b"\n") * 6, (line + b"\n") * 6 + b"AB==",
                 b"x" + line + b"\r\n" + line + b"=\n", (b"A" * 15 + b"\n") * 20,
                 b"A" * 96, b"A" * 95 + b"\n", (b"A" * 16 + b"\n") * 5 + b"A" * 31 + b"="):
        assert list(_base64_spans(data)) == [m.span() for m in PATTERN.finditer(data)], data


def test_bare_base64_keys_are_still_found() -> None:
    key = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())
    assert holds_key(b"notes:\n" + base64.b64encode(key) + b"\n# end\n")
    assert holds_key(b"# pasted\n" + base64.encodebytes(key))
    host_key = b"  ssh_host_key: ecdsa-sha2-nistp256 " + base64.b64encode(b"\0" * 104) + b"\n"
    assert not holds_key(host_key * 50)
