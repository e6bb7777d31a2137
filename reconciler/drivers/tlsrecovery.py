"""The pinned way into a node whose API certificate has expired (the transport's half).

``NodeHttp`` verifies a node with its ordinary TLS context. When that handshake fails
because the certificate is expired or not yet valid (OpenSSL's verify codes 9 and 10, and
nothing else), it connects once more with ``ApiRecovery.context()``: a context that does not
let OpenSSL judge the certificate but checks it itself inside ``do_handshake``, before a
byte of a request (and so the credentials) is written, with the pure verdict of
``reconciler.pki.apirecovery``: expired, pinned by the committed desired state, and its
chain verified against the node's own trust anchors for its TLS name at a moment inside its
validity. Anything else fails the handshake as a verification error, naming the fingerprint
and the manual step. When a later handshake finds a certificate that is valid now (the node
was renewed), ``NodeHttp`` returns to the ordinary context.
"""

from __future__ import annotations

import ssl
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

from cryptography import x509

from reconciler.model import ExpiredApiCertificate
from reconciler.pki.apirecovery import RecoveryVerdict, judge_expired


@lru_cache(maxsize=1)
def system_ca_bundle() -> bytes:
    """The system store's CA file (what ``ssl.create_default_context`` loads), or b""."""
    cafile = ssl.get_default_verify_paths().cafile
    try:
        return Path(cafile).read_bytes() if cafile else b""
    except OSError:
        return b""


def parse_anchors(pems: Sequence[bytes]) -> list[x509.Certificate]:
    """Every certificate of ``pems`` (bundles; an unreadable one is skipped, as OpenSSL's
    ``load_verify_locations`` would have refused it before any connection)."""
    out: list[x509.Certificate] = []
    with warnings.catch_warnings():  # a system store's odd CA (a negative serial) is no news
        warnings.simplefilter("ignore")
        for pem in pems:
            try:
                out.extend(x509.load_pem_x509_certificates(pem))
            except ValueError:
                continue
    return out


class RecoveryRefused(ssl.SSLCertVerificationError):
    """The expired certificate may not be used; ``verdict`` says what was seen and why."""

    def __init__(self, verdict: RecoveryVerdict) -> None:
        super().__init__(1, f"CERTIFICATE_VERIFY_FAILED: {verdict.reason}")
        self.verdict = verdict


@dataclass
class ApiRecovery:
    """One node's pins (pin -> the committed record it comes from), its trust anchors (PEM,
    parsed only when needed), its TLS name, the clock, and what the last check found."""

    node: str
    pins: Mapping[str, str]
    anchor_pems: tuple[bytes, ...]
    server_name: str
    normal: ssl.SSLContext | bool
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    seen: RecoveryVerdict | None = None  # the last verdict (accepted or refused)
    _context: ssl.SSLContext | None = field(default=None, repr=False)
    _anchors: list[x509.Certificate] | None = field(default=None, repr=False)

    def context(self) -> ssl.SSLContext:
        """The node's recovery context (its own: pins and name are the node's)."""
        if self._context is None:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE  # judged in _RecoveryObject.do_handshake instead
            ctx.sslobject_class = _RecoveryObject
            ctx.certops_recovery = self  # type: ignore[attr-defined]
            self._context = ctx
        return self._context

    def judge(self, der: bytes) -> RecoveryVerdict:
        if self._anchors is None:  # parsed once, and only for a node that needs it
            self._anchors = parse_anchors(self.anchor_pems)
        self.seen = judge_expired(der, pins=frozenset(self.pins), anchors=self._anchors,
                                  server_name=self.server_name, now=self.clock())
        return self.seen

    def note(self) -> ExpiredApiCertificate | None:
        """What the live snapshot records: the expired certificate and its pin (or why it
        was refused); None when the last handshake was ordinary."""
        v = self.seen
        if v is None or v.refused == "valid_now" or v.not_after is None or v.not_before is None:
            return None
        source = {p.lower(): s for p, s in self.pins.items()}.get(v.sha256.lower())
        return ExpiredApiCertificate(
            sha256=v.sha256, subject=v.subject, not_before=v.not_before.isoformat(),
            not_after=v.not_after.isoformat(), expired=self.clock() > v.not_after,
            pinned_by=source if v.ok else None, reason=v.reason)


class _RecoveryObject(ssl.SSLObject):
    """An SSLObject that judges the peer's certificate with ``ApiRecovery.judge`` as soon as
    the handshake completes, before any request is written."""

    def do_handshake(self) -> None:
        super().do_handshake()
        recovery: ApiRecovery = self.context.certops_recovery  # type: ignore[attr-defined]
        verdict = recovery.judge(self.getpeercert(binary_form=True) or b"")
        if not verdict.ok:
            raise RecoveryRefused(verdict)


def refused_in(exc: BaseException) -> RecoveryRefused | None:
    """The ``RecoveryRefused`` behind ``exc`` (httpx wraps httpcore wraps the TLS error)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, RecoveryRefused):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def verify_code_in(exc: BaseException) -> int | None:
    """OpenSSL's verify code of the certificate error behind ``exc``, if there is one."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ssl.SSLCertVerificationError):
            return int(current.verify_code)
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def manual_step(node: str, verdict: RecoveryVerdict) -> str:
    """The exact, reviewable step that lets certops repair ``node`` (for an unpinned one)."""
    return (f"check on {node}'s console that it serves {verdict.sha256} (Expressway: "
            "Maintenance > Security > Server certificate > Show decoded; Unified CM: Cisco "
            "Unified OS Administration > Security > Certificate Management > tomcat), then add "
            "it in a reviewed pull request to "
            f"nodes/{node}.yaml: `connection: {{recovery_pins: ['{verdict.sha256}']}}`; "
            "the next apply renews it under that pin, with its chain and name still verified")
