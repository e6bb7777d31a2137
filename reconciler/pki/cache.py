"""A content-addressed parse cache: the same certificate seen on 1,000 nodes is parsed once.

Two levels: the SHA-256 of the input bytes (a whole file or PEM string) maps to its parse
result, and the SHA-256 of each certificate's DER maps to one ``CertInfo``, so the same
certificate inside different files (a chain file, a trust store, a live snapshot) is the same
object. Lookups and inserts hold a lock and never await, so it is safe from threads and tasks.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from reconciler.pki.certinfo import CertInfo, CsrInfo
from reconciler.pki.errors import PkiError
from reconciler.pki.parse import csr_der, parse_certificates


@dataclass(frozen=True)
class CacheStats:
    """Counters for benchmarks: input-level hits/misses and DER-level hits/misses."""

    hits: int
    misses: int
    der_hits: int
    der_misses: int
    inputs: int
    certificates: int


class CertCache:
    """Parses certificates and CSRs once per distinct content (see module docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._inputs: dict[str, tuple[CertInfo, ...]] = {}
        self._csrs: dict[str, CsrInfo] = {}
        self._by_der: dict[str, CertInfo] = {}
        self._texts: dict[str, tuple[CertInfo, ...]] = {}
        self._stores: dict[tuple[str, ...], Mapping[str, CertInfo]] = {}
        self._hits = self._misses = self._der_hits = self._der_misses = 0

    def _cert(self, der: bytes) -> CertInfo:
        key = hashlib.sha256(der).hexdigest()
        with self._lock:
            found = self._by_der.get(key)
            if found is not None:
                self._der_hits += 1
                return found
        info = CertInfo.from_der(der)  # outside the lock: parsing is the slow part
        with self._lock:
            self._der_misses += 1
            return self._by_der.setdefault(key, info)

    def parse(self, data: bytes) -> tuple[CertInfo, ...]:
        """Every certificate in ``data`` (see ``parse_certificates``). Raises PkiError."""
        key = hashlib.sha256(data).hexdigest()
        with self._lock:
            found = self._inputs.get(key)
            if found is not None:
                self._hits += 1
                return found
        certs = parse_certificates(data, load=self._cert)
        with self._lock:
            self._misses += 1
            return self._inputs.setdefault(key, certs)

    def parse_text(self, text: str) -> tuple[CertInfo, ...]:
        """``parse`` for PEM text, memoised on the string itself: live trust stores repeat
        the same PEM (Cisco's built-in CAs) on every node, and a str hashes once."""
        found = self._texts.get(text)
        if found is None:
            found = self.parse(text.encode())
            if len(self._texts) < 500_000:
                self._texts[text] = found
        return found

    def parse_store(self, pems: tuple[str, ...]) -> Mapping[str, CertInfo]:
        """SHA-256 -> certificate of every certificate in one trust store's PEM texts (in
        their order), memoised on the whole store: the nodes of a fleet whose stores hold
        the same CAs (a Unified CM's ~150 built-in CAs a store, on every node) share one
        read-only mapping instead of building 600 entries each. Raises PkiError, and then
        memoises nothing (the caller says which entry is bad)."""
        found = self._stores.get(pems)
        if found is None:
            found = MappingProxyType(self.store_entries(pems))
            if len(self._stores) < 10_000:
                self._stores[pems] = found
        return found

    def store_entries(self, pems: Sequence[str],
                      bad: Callable[[PkiError], None] | None = None) -> dict[str, CertInfo]:
        """SHA-256 -> certificate of every readable certificate in a store's PEM texts, not
        memoised as a whole. An unreadable entry raises PkiError, or with ``bad`` is told to
        it and left out (a store with a bad entry: the good ones are kept)."""
        certs: dict[str, CertInfo] = {}
        for pem in pems:
            try:
                for cert in self.parse_text(pem):
                    certs[cert.sha256] = cert
            except PkiError as exc:
                if bad is None:
                    raise
                bad(exc)
        return certs

    def parse_csr(self, data: bytes) -> CsrInfo:
        """The CSR in ``data`` (see ``parse_csr``). Raises PkiError."""
        key = hashlib.sha256(data).hexdigest()
        with self._lock:
            found = self._csrs.get(key)
            if found is not None:
                self._hits += 1
                return found
        csr = CsrInfo.from_der(csr_der(data))
        with self._lock:
            self._misses += 1
            return self._csrs.setdefault(key, csr)

    @property
    def stats(self) -> CacheStats:
        with self._lock:
            return CacheStats(
                hits=self._hits,
                misses=self._misses,
                der_hits=self._der_hits,
                der_misses=self._der_misses,
                inputs=len(self._inputs) + len(self._csrs),
                certificates=len(self._by_der),
            )

    def clear(self) -> None:
        with self._lock:
            self._inputs.clear()
            self._csrs.clear()
            self._by_der.clear()
            self._texts.clear()
            self._stores.clear()
            self._hits = self._misses = self._der_hits = self._der_misses = 0
