"""Certificates, CSRs and facts for the lifecycle rule tests (keys in memory only)."""

from __future__ import annotations

import sys
from dataclasses import replace
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from reconciler.pki import CertCache, CertInfo, CsrInfo
from reconciler.planning.lifecycle import CertFacts

sys.path.insert(0, str(Path(__file__).parent.parent / "scenarios"))
from pkitools import Issued, PrivateKey, make_ca, make_csr, make_leaf, new_key, utc

CACHE = CertCache()  # one parse cache for these helpers

NOW = datetime(2026, 11, 26, tzinfo=UTC)
SANS = ["a.example.com", "b.example.com"]
WANT = frozenset(SANS)


class Pki:
    """Two issuing CAs, one node key, certificates and CSRs for it."""

    def __init__(self) -> None:
        self.root = make_ca("Test Root CA")
        self.old = make_ca("Test Issuing CA G1", issuer=self.root)
        self.new = make_ca("Test Issuing CA G2", issuer=self.root)
        self.key: PrivateKey = new_key("ec")
        self.next_key: PrivateKey = new_key("ec")

    def cert(
        self,
        sans: list[str] = SANS,
        *,
        ca: Issued | None = None,
        key: PrivateKey | None = None,
        not_after: datetime = utc(2027, 6, 1),
    ) -> CertInfo:
        issued = make_leaf(
            "a.example.com",
            sans,
            ca or self.old,
            key=key or self.key,
            not_before=utc(2026, 6, 1),
            not_after=not_after,
        )
        return CACHE.parse(issued.pem)[0]

    def csr(self, sans: list[str] = SANS, key: PrivateKey | None = None) -> CsrInfo:
        return CACHE.parse_csr(make_csr("a.example.com", sans, key or self.next_key))


@cache
def pki() -> Pki:
    return Pki()


@cache
def installed() -> CertInfo:
    """The live certificate: the wanted SANs, far from expiry."""
    return pki().cert()


def facts(**changes: Any) -> CertFacts:
    """A node whose live certificate is as wanted: nothing to do, unless ``changes`` say so."""
    base = CertFacts(
        node="node1",
        file=None,
        want=WANT,
        leaf=None,
        installed=installed(),
        restart_pending=False,
        live_pending=False,
        pending=None,
        pending_is_committed=False,
        due=False,
        renew_before="30d",
        now=NOW,
    )
    return replace(base, **changes)
