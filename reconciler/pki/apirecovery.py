"""May certops talk to a node whose API certificate has expired? The pure verdict.

Once a node's served certificate has expired, TLS verification refuses its API and nothing
would renew it. certops reads and repairs such a node only when all of these hold (the
driver's transport asks this module inside the TLS handshake, before a byte of a request,
and with it the credentials, is written):

1. the certificate is expired or not yet valid *now* (any other failure is no reason to
   relax anything);
2. its SHA-256 is one the committed desired state records for the node (a pin: the node's
   certificate file, ``certs/<node>.pem``, or ``connection.recovery_pins``);
3. its chain verifies against the same trust anchors the API is verified with, for the
   node's TLS name and with serverAuth, at a moment inside its validity (its notAfter, or its
   notBefore when it is not yet valid): only the clock is set aside, nothing else.

Time is an argument; nothing here reads the clock or the network.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from reconciler.pki.findings import utc
from reconciler.pki.webpki import webpki_verify

# OpenSSL's X509_V_ERR_CERT_NOT_YET_VALID and X509_V_ERR_CERT_HAS_EXPIRED: the only
# handshake failures that may lead to a pinned retry.
VALIDITY_VERIFY_CODES = frozenset({9, 10})

Refusal = Literal["unparseable", "valid_now", "unpinned", "chain"]


@dataclass(frozen=True)
class RecoveryVerdict:
    """Whether the pinned, expired certificate may be used, and the facts to report."""

    sha256: str  # "sha256:<hex>" of the leaf (DER)
    subject: str
    not_before: datetime | None
    not_after: datetime | None
    refused: Refusal | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.refused is None


def pin_of(der: bytes) -> str:
    """A certificate's pin as certops writes it: ``sha256:<hex>`` of its DER."""
    return "sha256:" + hashlib.sha256(der).hexdigest()


def judge_expired(
    leaf_der: bytes,
    *,
    pins: frozenset[str],
    anchors: Sequence[x509.Certificate],
    server_name: str,
    now: datetime,
) -> RecoveryVerdict:
    """The verdict on ``leaf_der`` (see the module docstring); ``anchors`` serve as trust
    anchors and as intermediates, as the node's TLS context uses them."""
    pin = pin_of(leaf_der)
    try:
        leaf = x509.load_der_x509_certificate(leaf_der)
    except ValueError as exc:
        return RecoveryVerdict(pin, "?", None, None, "unparseable", f"not a certificate: {exc}")
    nb, na = leaf.not_valid_before_utc, leaf.not_valid_after_utc
    base = RecoveryVerdict(pin, leaf.subject.rfc4514_string(), nb, na)
    now = utc(now)
    if nb <= now <= na:
        return _refuse(base, "valid_now", "the certificate is inside its validity: the "
                       "handshake failed for another reason, and nothing is relaxed for it")
    if pin.lower() not in {p.lower() for p in pins}:
        return _refuse(base, "unpinned", "the desired state records no such certificate for "
                       "this node")
    at = na if now > na else nb
    inter = [c for c in anchors if c.public_bytes(Encoding.DER) != leaf_der]
    checked = webpki_verify(leaf, intermediates=inter, roots=inter, at=at,
                            names=[server_name], usages=("serverAuth",))
    if not checked.ok:
        return _refuse(base, "chain", f"at {at:%Y-%m-%d %H:%M} UTC, inside its validity, the "
                       f"chain does not verify for {server_name}: {checked.reason}")
    return base


def _refuse(base: RecoveryVerdict, refused: Refusal, reason: str) -> RecoveryVerdict:
    return RecoveryVerdict(base.sha256, base.subject, base.not_before, base.not_after,
                           refused, reason)
