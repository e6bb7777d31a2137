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
