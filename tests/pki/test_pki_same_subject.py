"""``same_subject``: CAs that share a name, which chain building by name may confuse."""

from __future__ import annotations

from pkifactory import Factory

from reconciler.pki import same_subject


def test_same_subject_counts_distinct_certificates_and_keys(factory: Factory) -> None:
    key = factory.key("ec")
    first = factory.issue("Corp Root", ca=True, key=key).info
    reissued = factory.issue("Corp Root", ca=True, key=key).info  # same key, new certificate
    rekeyed = factory.issue("Corp Root", ca=True).info  # same name, another key
    other = factory.issue("Other Root", ca=True).info
    certs = [first, reissued, rekeyed, other, first]
    assert same_subject(certs) == {first.subject: 3}
    assert same_subject(certs, by_key=True) == {first.subject: 2}
    assert same_subject([first, other]) == {}
