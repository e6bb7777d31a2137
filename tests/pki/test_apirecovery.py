"""The recovery verdict for an expired API certificate: expired + pinned + right name + right
CA, and nothing else (reconciler/pki/apirecovery.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from reconciler.lab.ca import LabPki, load_or_create_pki, new_key
from reconciler.pki.apirecovery import RecoveryVerdict, judge_expired, pin_of

NOW = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)
NAME = "expe1.nart.com"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> LabPki:
    return load_or_create_pki(Path(tmp_path_factory.mktemp("pki")))


@pytest.fixture(scope="module")
def other(tmp_path_factory: pytest.TempPathFactory) -> LabPki:
    return load_or_create_pki(Path(tmp_path_factory.mktemp("other")))


def _leaf(pki: LabPki, not_before: datetime, not_after: datetime, name: str = NAME) -> bytes:
    cert = pki.issue("new", new_key().public_key(), name, [name],
                     not_before=not_before, not_after=not_after)
    return cert.public_bytes(Encoding.DER)


def _expired(pki: LabPki) -> bytes:
    return _leaf(pki, NOW - timedelta(days=90), NOW - timedelta(days=2))


def _judge(der: bytes, pki: LabPki, *, pinned: bool = True,
           name: str = NAME) -> RecoveryVerdict:
    return judge_expired(der, pins=frozenset({pin_of(der)} if pinned else set()),
                         anchors=pki.all_cas(), server_name=name, now=NOW)


def test_accepts_an_expired_pinned_leaf_of_the_right_ca_and_name(pki: LabPki) -> None:
    der = _expired(pki)
    verdict = _judge(der, pki)
    assert verdict.ok, verdict.reason
    assert verdict.sha256 == pin_of(der)
    assert verdict.not_after == NOW - timedelta(days=2)


def test_accepts_a_pinned_leaf_that_is_not_yet_valid(pki: LabPki) -> None:
    der = _leaf(pki, NOW + timedelta(days=1), NOW + timedelta(days=90))
    assert _judge(der, pki).ok


def test_refuses_an_unpinned_leaf(pki: LabPki) -> None:
    verdict = _judge(_expired(pki), pki, pinned=False)
    assert verdict.refused == "unpinned"


def test_refuses_the_wrong_name(pki: LabPki) -> None:
    verdict = _judge(_expired(pki), pki, name="attacker.example.com")
    assert verdict.refused == "chain"
    assert "attacker.example.com" in verdict.reason


def test_refuses_an_unknown_ca(pki: LabPki, other: LabPki) -> None:
    der = _expired(other)  # pinned, right name, but another CA
    verdict = _judge(der, pki)
    assert verdict.refused == "chain"


def test_refuses_a_leaf_that_is_valid_now(pki: LabPki) -> None:
    """Not expired but refused for another reason (a wrong name, say): nothing is relaxed."""
    der = _leaf(pki, NOW - timedelta(days=1), NOW + timedelta(days=90), name="other.example")
    verdict = _judge(der, pki, name=NAME)
    assert verdict.refused == "valid_now"


def test_refuses_when_the_ca_had_expired_before_the_leaf(pki: LabPki) -> None:
    """The chain is checked at the leaf's last valid moment: an issuing CA that was not valid
    then fails it (a leaf outliving its CA is not repaired under a pin)."""
    late = pki.issuing["new"].cert.not_valid_after_utc + timedelta(days=1)
    der = _leaf(pki, NOW - timedelta(days=90), NOW - timedelta(days=2))
    verdict = judge_expired(der, pins=frozenset({pin_of(der)}), anchors=pki.all_cas(),
                            server_name=NAME, now=late)
    assert verdict.ok  # the leaf's notAfter is inside the CA's validity: accepted
    beyond = _leaf(pki, NOW - timedelta(days=90), late)
    verdict = judge_expired(beyond, pins=frozenset({pin_of(beyond)}), anchors=pki.all_cas(),
                            server_name=NAME, now=late + timedelta(days=1))
    assert verdict.refused == "chain"


def test_refuses_garbage() -> None:
    verdict = judge_expired(b"not DER", pins=frozenset({pin_of(b"not DER")}), anchors=[],
                            server_name=NAME, now=NOW)
    assert verdict.refused == "unparseable"
