"""The x509-limbo conformance suite through verify().

The suite lives outside the repository (``<repo>/../shared/ext/x509-limbo.json``, see that
folder's README) and is never copied in; without it these tests skip. Each case maps to
``verify(peer, intermediates=untrusted_intermediates, roots=trusted_certs,
at=validation_time, names=[expected_peer_name], usages=extended_key_usage,
max_depth=max_chain_depth)``; certops' verdict is "valid" when no finding is an error, and an
input certops refuses to parse counts as FAILURE.

``DISAGREEMENTS`` lists every case where certops' verdict differs from limbo's, with the
reason; they run as ``xfail(strict=True)``, so a case that starts agreeing fails the run and
the list stays honest.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from reconciler.pki import CertCache, PkiError, verify

LIMBO = Path(__file__).resolve().parents[2].parent / "shared" / "ext" / "x509-limbo.json"
# limbo's "no validation time" means "now"; a fixed instant keeps the run reproducible
# (every such case's certificates are valid from 1970 to 2969).
DEFAULT_TIME = datetime(2024, 6, 1, tzinfo=UTC)

# cryptography's verifier (which verify() uses) accepts these by documented policy choice.
PYCA = "cryptography's verifier accepts this by documented choice: "
# certops deliberately downgrades these Web PKI refusals to a warning, because OpenSSL
# (Expressway) and Java (Unified CM) accept them: chain.webpki_stricter, verdict valid.
LENIENT = "OpenSSL/Java accept it, so certops warns (chain.webpki_stricter) instead: "

DISAGREEMENTS: dict[str, str] = {
    # -- cryptography's verifier -------------------------------------------------------------
    "rfc5280::aki::intermediate-missing-aki": PYCA + "no AKI required on intermediates",
    "rfc5280::aki::cross-signed-root-missing-aki": PYCA + "no AKI required on a cross-signed CA",
    "rfc5280::ski::root-missing-ski": PYCA + "no SKI required on a trust anchor",
    "rfc5280::ski::intermediate-missing-ski": PYCA + "no SKI required on intermediates",
    "webpki::aki::root-with-aki-all-fields": PYCA + "a trust anchor's own AKI is not checked",
    "webpki::aki::root-with-aki-ski-mismatch": PYCA + "a trust anchor's own AKI is not checked",
    "rfc5280::nc::permitted-dns-match-noncritical": PYCA + "non-critical nameConstraints",
    "rfc5280::pc::ica-noncritical-pc": PYCA + "non-critical policyConstraints",
    "rfc5280::serial::zero": PYCA + "serial number zero",
    "webpki::eku::ee-anyeku": PYCA + "anyExtendedKeyUsage in a leaf (no EKU requested)",
    "webpki::eku::ee-critical-eku": PYCA + "a critical EKU extension",
    "webpki::eku::ee-without-eku": PYCA + "a leaf without EKU when none is requested "
    "(rfc5280::eku::ee-without-eku expects the opposite)",
    "webpki::eku::root-has-eku": PYCA + "an EKU extension on the trust anchor",
    "webpki::san::public-suffix-multi-label-wildcard-san": PYCA + "no public suffix list",
    "webpki::san::public-suffix-private-namespace-wildcard-san": PYCA + "no public suffix list",
    "webpki::forbidden-rsa-not-divisible-by-8-in-root": PYCA + "RSA modulus size not % 8",
    "webpki::forbidden-rsa-key-not-divisible-by-8-in-leaf": PYCA + "RSA modulus size not % 8",
    **{
        f"webpki::cn::{case}": PYCA + "CN/SAN consistency (CABF BR 7.1.4.3) is not checked; "
        "Expressway and Unified CM match names against SANs only"
        for case in ("ipv4-hex-mismatch", "ipv4-leading-zeros-mismatch", "ipv6-uppercase-mismatch",
                     "ipv6-uncompressed-mismatch", "ipv6-non-rfc5952-mismatch",
                     "punycode-not-in-san", "utf8-vs-punycode-mismatch", "not-in-san",
                     "case-mismatch")
    },
    # -- certops' lenient policy -------------------------------------------------------------
    "rfc5280::aki::leaf-missing-aki": LENIENT + "leaf without AKI",
    "webpki::aki::root-with-aki-missing-keyidentifier": LENIENT + "AKI without keyIdentifier",
    "rfc5280::nc::invalid-dnsname-leading-period": LENIENT + "'.example.com' DNS constraint",
    "rfc5280::nc::not-allowed-in-ee-noncritical": LENIENT + "nameConstraints in a leaf",
    "rfc5280::nc::not-allowed-in-ee-critical": LENIENT + "nameConstraints in a leaf",
    "rfc5280::nc::nc-permits-invalid-dns-san": LENIENT + "malformed DNS name constraint",
    "rfc5280::san::noncritical-with-empty-subject": LENIENT + "non-critical SAN, empty subject",
    "webpki::san::san-critical-with-nonempty-subject": LENIENT + "critical SAN beside a subject",
    "rfc5280::san::underscore-dns": LENIENT + "'_' in a DNS name",
    "rfc5280::serial::too-long": LENIENT + "serial number longer than 20 octets",
    "rfc5280::root-missing-basic-constraints": LENIENT + "v3 root without basicConstraints",
    "rfc5280::root-non-critical-basic-constraints": LENIENT + "non-critical basicConstraints",
    "rfc5280::leaf-ku-keycertsign": LENIENT + "keyCertSign in a leaf's keyUsage",
    # -- certops' own policy -----------------------------------------------------------------
    "rfc5280::ca-as-leaf": "certops refuses a CA certificate as server certificate (cert.is_ca)",
    "pathlen::validation-ignores-pathlen-in-leaf":
        "certops refuses a CA certificate as server certificate (cert.is_ca)",
    "rfc5280::validity::notafter-fractional":
        "checked 5 ms after notAfter: certops, like OpenSSL, calls that expired",
}


@cache
def limbo_cases() -> tuple[dict[str, Any], ...]:
    if not LIMBO.is_file():
        return ()
    data = json.loads(LIMBO.read_text())
    return tuple(data["testcases"])


def unmappable(case: dict[str, Any]) -> str | None:
    """Why a case cannot be expressed as a verify() call, or None."""
    if "has-crl" in case["features"]:
        return "revocation (CRLs) is not part of verify()"
    peer = case["expected_peer_name"]
    if peer is not None and peer["kind"] not in ("DNS", "IP"):
        return f"{peer['kind']} peer names: verify() checks DNS names and IP addresses"
    if case["expected_peer_names"]:
        return "client subject names (expected_peer_names) are not a verify() input"
    if case["key_usage"]:
        return "required key usages are not a verify() input"
    if case["signature_algorithms"]:
        return "signature algorithm allow-lists are not a verify() input"
    return None


def certops_verdict(case: dict[str, Any], cache_: CertCache) -> str:
    try:
        roots = [c for pem in case["trusted_certs"] for c in cache_.parse(pem.encode())]
        inters = [c for pem in case["untrusted_intermediates"]
                  for c in cache_.parse(pem.encode())]
        leaf = cache_.parse(case["peer_certificate"].encode())[0]
    except PkiError:
        return "FAILURE"
    when = case["validation_time"]
    peer = case["expected_peer_name"]
    result = verify(
        leaf,
        intermediates=inters,
        roots=roots,
        at=datetime.fromisoformat(when) if when else DEFAULT_TIME,
        names=[peer["value"]] if peer else [],
        usages=tuple(case["extended_key_usage"]),
        max_depth=case["max_chain_depth"],
    )
    return "SUCCESS" if result.valid else "FAILURE"


def _params() -> list[Any]:
    cases = limbo_cases()
    if not cases:
        return [pytest.param(None, id="x509-limbo-absent",
                             marks=pytest.mark.skip(reason=f"{LIMBO} is absent"))]
    out = []
    for case in cases:
        marks: list[pytest.MarkDecorator] = []
        why = unmappable(case)
        if why is not None:
            marks.append(pytest.mark.skip(reason=why))
        elif case["id"] in DISAGREEMENTS:
            marks.append(pytest.mark.xfail(reason=DISAGREEMENTS[case["id"]], strict=True))
        out.append(pytest.param(case, id=case["id"], marks=marks))
    return out


_CACHE = CertCache()


@pytest.mark.parametrize("case", _params())
def test_limbo_case(case: dict[str, Any]) -> None:
    assert certops_verdict(case, _CACHE) == case["expected_result"], case["description"]


def test_disagreement_list_names_real_cases() -> None:
    cases = limbo_cases()
    if not cases:
        pytest.skip(f"{LIMBO} is absent")
    ids = {c["id"] for c in cases}
    assert set(DISAGREEMENTS) <= ids
    skipped = {c["id"] for c in cases if unmappable(c)}
    assert not set(DISAGREEMENTS) & skipped
