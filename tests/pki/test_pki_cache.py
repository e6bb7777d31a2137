"""The content-addressed cache: one parse per input, one CertInfo per DER, counters."""

from __future__ import annotations

import threading

import pytest
from pkifactory import Pki

from reconciler.pki import CertCache, PkiError


def test_same_input_is_parsed_once(pki: Pki) -> None:
    cache = CertCache()
    first = cache.parse(pki.leaf.pem)
    again = cache.parse(pki.leaf.pem)
    assert first is again
    stats = cache.stats
    assert (stats.hits, stats.misses, stats.der_misses, stats.certificates) == (1, 1, 1, 1)


def test_same_certificate_in_different_files_is_one_object(pki: Pki) -> None:
    cache = CertCache()
    (alone,) = cache.parse(pki.inter.pem)
    chain = cache.parse(pki.leaf.pem + pki.inter.pem + pki.root.pem)
    as_der = cache.parse(pki.inter.der)
    assert chain[1] is alone and as_der[0] is alone
    stats = cache.stats
    assert stats.misses == 3 and stats.hits == 0
    assert stats.der_hits == 2 and stats.der_misses == 3
    assert stats.certificates == 3 and stats.inputs == 3


def test_csr_cache_and_errors_are_not_cached(pki: Pki) -> None:
    from pkifactory import vector

    cache = CertCache()
    data = vector("x509/requests/rsa_sha256.pem")
    assert cache.parse_csr(data) is cache.parse_csr(data)
    for _ in range(2):
        with pytest.raises(PkiError):
            cache.parse(data)
    assert cache.stats.hits == 1
    cache.clear()
    assert cache.stats.inputs == 0 and cache.stats.hits == 0


def test_threads_get_one_object(pki: Pki) -> None:
    cache = CertCache()
    seen: list[object] = []

    def work() -> None:
        for _ in range(50):
            seen.append(cache.parse(pki.leaf.pem + pki.inter.pem)[1])

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(x) for x in seen}) == 1
    assert cache.stats.hits + cache.stats.misses == 200



def test_live_store_texts_cost_a_lookup_once_their_certificate_is_known(pki: Pki) -> None:
    """What the planner does with 600 CAs per node: the first node's text is parsed (or
    found by content), every later node's equal text is one dict lookup, and a text framed
    differently from the file (CRLF) finds the same certificate by its DER, not parsed."""
    cache = CertCache()
    (from_file,) = cache.parse(pki.root.pem)  # the desired side: cas/<root>.pem
    texts = ["".join([pki.root.pem.decode()]) for _ in range(3)]  # equal, distinct strings
    assert all(cache.parse_text(t)[0] is from_file for t in texts)
    crlf = pki.root.pem.decode().replace("\n", "\r\n")
    assert cache.parse_text(crlf)[0] is from_file
    stats = cache.stats
    assert stats.der_misses == 1  # one x509 parse in all
    assert stats.misses == 2 and stats.hits == 1  # the file, the CRLF text; the first text


def _entries(cache: CertCache, pems: tuple[str, ...]) -> dict[str, object]:
    """What a store is without the memo: each entry parsed on its own, in order."""
    return {cert.sha256: cert for pem in pems for cert in cache.parse_text(pem)}


def test_a_store_is_what_its_entries_are_and_identical_stores_share_one(pki: Pki) -> None:
    cache = CertCache()
    pems = (pki.root.pem.decode(), pki.inter.pem.decode() + pki.leaf.pem.decode(),
            pki.root.pem.decode())  # a bundle entry, and a CA listed twice
    store = cache.parse_store(pems)
    assert list(store.items()) == list(_entries(cache, pems).items())  # same order too
    assert cache.parse_store(tuple(pems)) is store  # another node, the same store
    other = cache.parse_store(pems[:1])
    assert other is not store and list(other) == [cache.parse(pki.root.pem)[0].sha256]
    with pytest.raises(TypeError):
        store["x"] = store[next(iter(store))]  # type: ignore[index]  # shared: read-only


def test_a_store_with_an_unreadable_entry_raises_and_is_not_remembered(pki: Pki) -> None:
    cache = CertCache()
    pems = (pki.root.pem.decode(), "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    for _ in range(2):
        with pytest.raises(PkiError):
            cache.parse_store(pems)


def test_a_store_with_an_unreadable_entry_keeps_its_readable_ones_when_told(pki: Pki) -> None:
    cache = CertCache()
    junk = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
    pems = (junk, pki.root.pem.decode(), junk)
    told: list[PkiError] = []
    kept = cache.store_entries(pems, told.append)
    assert list(kept) == [cache.parse(pki.root.pem)[0].sha256] and len(told) == 2
    with pytest.raises(PkiError):
        cache.store_entries(pems)  # nobody told: the first unreadable entry raises
