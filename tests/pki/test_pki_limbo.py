"""The x509-limbo conformance suite through verify().

The suite lives outside the repository (``<repo>/../shared/ext/x509-limbo.json``, see that
folder's README) and is never copied in; without it these tests skip. Each case maps to
``verify(peer, intermediates=untrusted_intermediates, roots=trusted_certs,
at=validation_time, names=[expected_peer_name], usages=extended_key_usage,
max_depth=max_chain_depth)``; certops' verdict is "valid" when no finding is an error, and an
input certops refuses to parse counts as FAILURE.

Where certops says valid and limbo says FAILURE, certops is lenient like the nodes' own
verifiers, and says so: ``WARNED`` maps each such case to the warning (``x509.lenient`` or
``chain.webpki_stricter``) whose message names the rule, and the test asserts it. What still
disagrees (public-suffix wildcards, which need the Public Suffix List; certops' own stricter
policy) is in ``DISAGREEMENTS`` with the reason, run as ``xfail(strict=True)``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from reconciler.model import Severity
from reconciler.pki import CertCache, PkiError, VerifyResult, verify

LIMBO = Path(__file__).resolve().parents[2].parent / "shared" / "ext" / "x509-limbo.json"
# limbo's "no validation time" means "now"; a fixed instant keeps the run reproducible
# (every such case's certificates are valid from 1970 to 2969).
DEFAULT_TIME = datetime(2024, 6, 1, tzinfo=UTC)

# Where certops says valid and limbo says FAILURE, certops is lenient on purpose (as OpenSSL on
# Expressway and Java on Unified CM are), never silently: each case carries the warning that
# names the rule, (code, a fragment of its message). They run as ordinary tests asserting it.
RFC, BR = "RFC 5280 ", "CA/B Forum BR "
LENIENT_CODE, STRICTER = "x509.lenient", "chain.webpki_stricter"
WARNED: dict[str, tuple[str, str]] = {
    # cryptography's verifier accepts these by documented choice; strictness.py names the rule
    "rfc5280::aki::intermediate-missing-aki": (LENIENT_CODE, RFC + "4.2.1.1"),
    "rfc5280::aki::cross-signed-root-missing-aki": (LENIENT_CODE, RFC + "4.2.1.1"),
    "rfc5280::ski::root-missing-ski": (LENIENT_CODE, RFC + "4.2.1.2"),
    "rfc5280::ski::intermediate-missing-ski": (LENIENT_CODE, RFC + "4.2.1.2"),
    "webpki::aki::root-with-aki-all-fields": (LENIENT_CODE, BR + "7.1.2.1.3"),
    "webpki::aki::root-with-aki-ski-mismatch": (LENIENT_CODE, BR + "7.1.2.1.3"),
    "rfc5280::nc::permitted-dns-match-noncritical": (LENIENT_CODE, RFC + "4.2.1.10"),
    "rfc5280::pc::ica-noncritical-pc": (LENIENT_CODE, RFC + "4.2.1.11"),
    "rfc5280::serial::zero": (LENIENT_CODE, RFC + "4.1.2.2"),
    "webpki::eku::ee-anyeku": (LENIENT_CODE, BR + "7.1.2.7.10"),
    "webpki::eku::ee-critical-eku": (LENIENT_CODE, BR + "7.1.2.7.6"),
    "webpki::eku::ee-without-eku": (LENIENT_CODE, BR + "7.1.2.7.6"),
    "webpki::eku::root-has-eku": (LENIENT_CODE, BR + "7.1.2.1.2"),
    "webpki::forbidden-rsa-not-divisible-by-8-in-root": (LENIENT_CODE, BR + "6.1.5"),
    "webpki::forbidden-rsa-key-not-divisible-by-8-in-leaf": (LENIENT_CODE, BR + "6.1.5"),
    **{
        f"webpki::cn::{case}": (LENIENT_CODE, BR + "7.1.4.3")
        for case in ("ipv4-hex-mismatch", "ipv4-leading-zeros-mismatch", "ipv6-uppercase-mismatch",
                     "ipv6-uncompressed-mismatch", "ipv6-non-rfc5952-mismatch",
                     "punycode-not-in-san", "utf8-vs-punycode-mismatch", "not-in-san",
                     "case-mismatch")
    },
    # the Web PKI verifier refuses these, OpenSSL and Java accept them: verify() downgrades
    # the refusal to chain.webpki_stricter, which quotes the verifier's reason
    "rfc5280::aki::leaf-missing-aki": (STRICTER, "2.5.29.35: Certificate is missing required"),
    "webpki::aki::root-with-aki-missing-keyidentifier": (STRICTER, "must contain keyIdentifier"),
    "rfc5280::nc::invalid-dnsname-leading-period": (STRICTER, "malformed DNS name constraint"),
    "rfc5280::nc::not-allowed-in-ee-noncritical": (STRICTER, "2.5.29.30: Certificate contains "
                                                   "prohibited extension"),
    "rfc5280::nc::not-allowed-in-ee-critical": (STRICTER, "2.5.29.30: Certificate contains "
                                                "prohibited extension"),
    "rfc5280::nc::nc-permits-invalid-dns-san": (STRICTER, "malformed SAN"),
    "rfc5280::san::noncritical-with-empty-subject": (STRICTER, "critical when subject is empty"),
    "webpki::san::san-critical-with-nonempty-subject": (STRICTER, "MUST NOT be critical"),
    "rfc5280::san::underscore-dns": (STRICTER, "invalid domain name"),
    "rfc5280::serial::too-long": (STRICTER, "serial between 1 and 20 octets"),
    "rfc5280::root-missing-basic-constraints": (STRICTER, "has no basicConstraints"),
    "rfc5280::root-non-critical-basic-constraints": (STRICTER, "2.5.29.19: Certificate "
                                                     "extension has incorrect criticality"),
    "rfc5280::leaf-ku-keycertsign": (STRICTER, "must not assert keyCertSign"),
}

# What still disagrees, with the reason; run as xfail(strict=True), so a case that starts
# agreeing fails the run and the list stays honest.
NO_PSL = ("certops does not detect a wildcard over a public suffix: that needs the Public "
          "Suffix List, a dependency it does not carry (cryptography's verifier has none either)")
DISAGREEMENTS: dict[str, str] = {
    "webpki::san::public-suffix-multi-label-wildcard-san": NO_PSL + " ('*.co.uk')",
    "webpki::san::public-suffix-private-namespace-wildcard-san": NO_PSL
    + " ('*.s3.amazonaws.com', a private-domains entry)",
    # -- certops' own policy: stricter than limbo ---------------------------------------------
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


def certops_result(case: dict[str, Any], cache_: CertCache) -> VerifyResult | None:
    """verify() on the case, or None when certops refuses to parse an input."""
    try:
        roots = [c for pem in case["trusted_certs"] for c in cache_.parse(pem.encode())]
        inters = [c for pem in case["untrusted_intermediates"]
                  for c in cache_.parse(pem.encode())]
        leaf = cache_.parse(case["peer_certificate"].encode())[0]
    except PkiError:
        return None
    when = case["validation_time"]
    peer = case["expected_peer_name"]
    return verify(
        leaf,
        intermediates=inters,
        roots=roots,
        at=datetime.fromisoformat(when) if when else DEFAULT_TIME,
        names=[peer["value"]] if peer else [],
        usages=tuple(case["extended_key_usage"]),
        max_depth=case["max_chain_depth"],
    )


def certops_verdict(case: dict[str, Any], cache_: CertCache) -> str:
    result = certops_result(case, cache_)
    return "SUCCESS" if result is not None and result.valid else "FAILURE"


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
    """certops agrees with limbo, or disagrees out loud: valid with the warning naming why."""
    if case["id"] not in WARNED:
        assert certops_verdict(case, _CACHE) == case["expected_result"], case["description"]
        return
    code, rule = WARNED[case["id"]]
    assert case["expected_result"] == "FAILURE"
    result = certops_result(case, _CACHE)
    assert result is not None and result.valid, case["description"]
    named = [f for f in result.findings
             if f.code == code and f.severity is Severity.WARNING and rule in f.message]
    assert named, [f.render() for f in result.findings]


def test_disagreement_lists_name_real_cases() -> None:
    cases = limbo_cases()
    if not cases:
        pytest.skip(f"{LIMBO} is absent")
    ids = {c["id"] for c in cases}
    assert set(DISAGREEMENTS) <= ids
    assert set(WARNED) <= ids
    assert not set(DISAGREEMENTS) & set(WARNED)
    skipped = {c["id"] for c in cases if unmappable(c)}
    assert not (set(DISAGREEMENTS) | set(WARNED)) & skipped
