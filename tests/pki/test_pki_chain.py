"""split_leaf and build_chain: any order, missing issuers, loops, anchors, determinism."""

from __future__ import annotations

import itertools

import pytest
from pkifactory import Factory, Pki, vector

from reconciler.pki import PkiError, build_chain, issued_by, parse_certificates, split_leaf


def test_split_leaf_in_any_order(pki: Pki) -> None:
    certs = [pki.leaf.info, pki.inter.info, pki.root.info]
    for order in itertools.permutations(certs):
        leaf, rest = split_leaf(order)
        assert leaf.sha256 == pki.leaf.info.sha256
        assert [c.sha256 for c in rest] == [c.sha256 for c in order if c is not leaf]


def test_split_leaf_real_full_chain() -> None:
    leaf, rest = split_leaf(parse_certificates(vector("x509/cryptography.io.chain.pem"))[::-1])
    assert leaf.subject.startswith("CN=www.cryptography.io")
    assert [c.subject for c in rest] == ["CN=RapidSSL SHA256 CA - G3,O=GeoTrust Inc.,C=US"]


def test_split_leaf_single_and_ca_only(pki: Pki) -> None:
    assert split_leaf([pki.inter.info]) == (pki.inter.info, ())
    # A chain with no end entity but one bottom: that CA comes back as "the leaf", so the
    # checks can say "a CA certificate given as server certificate".
    leaf, rest = split_leaf([pki.root.info, pki.inter.info])
    assert leaf is pki.inter.info and rest == (pki.root.info,)


def test_split_leaf_errors(factory: Factory, pki: Pki) -> None:
    with pytest.raises(PkiError, match="no certificates"):
        split_leaf([])
    other = factory.leaf(pki.inter, "other.example.com")
    with pytest.raises(PkiError, match="2 server certificates in one file"):
        split_leaf([pki.leaf.info, other.info, pki.inter.info])
    unrelated = factory.root("Unrelated Root")
    with pytest.raises(PkiError, match="only CA certificates"):
        split_leaf([pki.inter.info, unrelated.info])


def test_complete_chain_prefers_anchor(pki: Pki) -> None:
    result = build_chain(pki.leaf.info, [pki.root.info, pki.inter.info], [pki.root.info])
    assert result.complete and result.missing_issuer is None
    assert [c.sha256 for c in result.chain] == [
        pki.leaf.info.sha256, pki.inter.info.sha256, pki.root.info.sha256]
    assert result.anchor is not None and result.anchor.sha256 == pki.root.info.sha256


def test_intermediate_as_anchor_stops_early(pki: Pki) -> None:
    result = build_chain(pki.leaf.info, [pki.inter.info, pki.root.info], [pki.inter.info])
    assert result.complete
    assert [c.sha256 for c in result.chain] == [pki.leaf.info.sha256, pki.inter.info.sha256]


def test_missing_intermediate_names_issuer_and_aki(pki: Pki) -> None:
    result = build_chain(pki.leaf.info, [pki.root.info], [pki.root.info])
    assert not result.complete
    assert result.chain == (pki.leaf.info,)
    assert result.missing_issuer == "CN=Test Issuing CA,O=certops tests"
    assert result.missing_aki == pki.inter.info.subject_key_id
    assert result.anchor is None


def test_untrusted_self_signed_top(pki: Pki) -> None:
    result = build_chain(pki.leaf.info, [pki.inter.info, pki.root.info], [])
    assert not result.complete
    assert len(result.chain) == 3
    assert result.missing_issuer == pki.root.info.subject
    assert result.missing_aki == pki.root.info.subject_key_id


def test_same_name_different_key_is_not_an_issuer(factory: Factory, pki: Pki) -> None:
    impostor = factory.intermediate(pki.root)  # same subject DN, other key
    assert impostor.info.subject == pki.inter.info.subject
    assert not issued_by(pki.leaf.info, impostor.info)
    result = build_chain(pki.leaf.info, [impostor.info, pki.root.info], [pki.root.info])
    assert not result.complete and result.missing_aki == pki.inter.info.subject_key_id


def test_key_identifiers_must_agree_when_both_present(factory: Factory) -> None:
    root = factory.root("AKI Root")
    inter = factory.intermediate(root, "AKI CA")
    leaf = factory.leaf(inter)
    assert issued_by(leaf.info, inter.info)
    no_ski = factory.intermediate(root, "AKI CA", key=inter.key, ski=False)
    assert issued_by(leaf.info, no_ski.info)  # no SKI: DN and signature decide
    other_ski = factory.intermediate(root, "AKI CA", key=inter.key, ski=b"\x01" * 20)
    assert not issued_by(leaf.info, other_ski.info)  # the signature verifies, the SKI differs


def test_cross_signed_loop_terminates(factory: Factory) -> None:
    a = factory.root("Loop A")
    b = factory.root("Loop B")
    a_by_b = factory.issue("Loop A", b, ca=True, key=a.key)  # A cross-signed by B
    b_by_a = factory.issue("Loop B", a, ca=True, key=b.key)  # B cross-signed by A
    leaf = factory.leaf(a_by_b)
    candidates = [a_by_b.info, b_by_a.info]
    result = build_chain(leaf.info, candidates, [])
    assert not result.complete
    assert len({c.sha256 for c in result.chain}) == len(result.chain) <= 3
    trusted = build_chain(leaf.info, candidates, [b.info])
    assert trusted.complete and trusted.chain[-1].sha256 == b.info.sha256


def test_deterministic_choice_between_equal_candidates(factory: Factory) -> None:
    root = factory.root("Det Root")
    inter = factory.intermediate(root, "Det CA")
    reissued = factory.intermediate(root, "Det CA", key=inter.key)  # same key, new serial
    leaf = factory.leaf(inter)
    pool = [inter.info, reissued.info]
    first = build_chain(leaf.info, pool, [root.info]).chain[1].sha256
    assert first == min(inter.info.sha256, reissued.info.sha256)
    assert build_chain(leaf.info, pool[::-1], [root.info]).chain[1].sha256 == first
