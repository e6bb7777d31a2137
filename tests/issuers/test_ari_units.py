"""ARI (RFC 9773) and profiles without a server: the certID, the answer, the cache, the
directory's profiles, renew_before as a fraction, and the lab's ARI layer, each checked
against RFC 9773's own examples where it has them."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import ValidationError

from reconciler.issuers.ari import AcmeDirectory, read_cache, retry_after, window_from, write_cache
from reconciler.lab.acme_server import lab_layer
from reconciler.model import Policy, parse_duration
from reconciler.model.layout import RENEWAL_INFO_FILE
from reconciler.model.renewal import RenewalCache
from reconciler.pki.ari import cert_id

# RFC 9773 section 4.1: AKI keyIdentifier 69:88:5B:6B:87:46:40:41:E1:B3:7B:84:7B:A0:AE:2C:
# DE:01:C8:D4 and serial 0x87654321 give this certID.
RFC_AKI = bytes.fromhex("69885B6B87464041E1B37B847BA0AE2CDE01C8D4")
RFC_SERIAL = 0x87654321
RFC_CERT_ID = "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE"
# RFC 9773 section 4.2: the example renewalInfo answer (Retry-After: 21600).
RFC_ANSWER = {"suggestedWindow": {"start": "2025-01-02T04:00:00Z",
                                  "end": "2025-01-03T04:00:00Z"},
              "explanationURL": "https://acme.example.com/docs/ari"}
NOW = datetime(2025, 1, 1, 12, tzinfo=UTC)


def rfc_cert() -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "example.com")])
    aki = x509.AuthorityKeyIdentifier(RFC_AKI, None, None)
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(RFC_SERIAL)
            .not_valid_before(NOW).not_valid_after(NOW + timedelta(days=47))
            .add_extension(aki, critical=False).sign(key, hashes.SHA256()))


def test_cert_id_is_rfc_9773s_example() -> None:
    assert cert_id(rfc_cert()) == RFC_CERT_ID


def test_the_rfc_answer_becomes_a_window_with_its_retry_after() -> None:
    window = window_from("le", "expe1", RFC_CERT_ID, RFC_ANSWER, "21600", NOW)
    assert window.start == datetime(2025, 1, 2, 4, tzinfo=UTC)
    assert window.end == datetime(2025, 1, 3, 4, tzinfo=UTC)
    assert window.explanation_url == "https://acme.example.com/docs/ari"
    assert window.next_check == NOW + timedelta(hours=6)
    assert not window.urgent(NOW)


@pytest.mark.parametrize(("header", "wait"), [
    (None, timedelta(hours=6)), ("0", timedelta(minutes=1)), ("86400", timedelta(days=1)),
    ("99999999", timedelta(days=7)), ("Thu, 02 Jan 2025 12:00:00 GMT", timedelta(days=1)),
    ("soon", timedelta(hours=6)),
])
def test_retry_after_seconds_or_date_bounded(header: str | None, wait: timedelta) -> None:
    assert retry_after(header, NOW) == NOW + wait


@pytest.mark.parametrize("body", [{}, {"suggestedWindow": {"start": "2025-01-03T04:00:00Z",
                                                           "end": "2025-01-02T04:00:00Z"}},
                                  {"suggestedWindow": {"start": "yesterday", "end": "now"}}])
def test_an_answer_without_a_valid_window_is_refused(body: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        window_from("le", "expe1", RFC_CERT_ID, body, None, NOW)


def test_what_a_ca_says_is_quoted_on_one_line() -> None:
    hostile = {**RFC_ANSWER, "explanationURL": "https://ca.example/x\n\x1b[31mFAKE: ok"}
    window = window_from("le", "expe1", RFC_CERT_ID, hostile, None, NOW)
    assert window.explanation_url is not None and "\n" not in window.explanation_url
    assert "\x1b" not in window.explanation_url
    not_a_url = window_from("le", "expe1", RFC_CERT_ID,
                            {**RFC_ANSWER, "explanationURL": "javascript:x"}, None, NOW)
    assert not_a_url.explanation_url is None
    directory = AcmeDirectory.from_json("https://ca/dir", {"meta": {"profiles": {
        "a\nb": "x" * 500}}})
    [(name, text)] = directory.profiles.items()
    assert "\n" not in name and len(text) == 200


def test_a_window_that_had_opened_when_asked_is_urgent() -> None:
    answer = {"suggestedWindow": {"start": "2025-01-01T00:00:00Z", "end": "2025-01-02T00:00:00Z"}}
    assert window_from("le", "expe1", RFC_CERT_ID, answer, None, NOW).urgent(NOW)
    # the same window, first seen before it opened and asked again since: a normal one
    seen = window_from("le", "expe1", RFC_CERT_ID, answer, None, NOW).model_copy(
        update={"first_seen": datetime(2024, 12, 31, tzinfo=UTC)})
    assert not seen.urgent(NOW) and seen.urgent(datetime(2025, 1, 2, tzinfo=UTC))


def test_the_cache_round_trips_and_is_written_only_on_change(tmp_path: Path) -> None:
    assert read_cache(tmp_path) == RenewalCache()
    assert not write_cache(tmp_path, RenewalCache())  # nothing to remember: no file
    window = window_from("le", "expe1", RFC_CERT_ID, RFC_ANSWER, "21600", NOW)
    cache = RenewalCache(windows={RFC_CERT_ID: window})
    assert write_cache(tmp_path, cache)
    assert not write_cache(tmp_path, cache)
    assert read_cache(tmp_path) == cache
    (tmp_path / RENEWAL_INFO_FILE).write_text("{not json")
    assert read_cache(tmp_path) == RenewalCache()  # unreadable: asked again, which is safe


def test_an_unknown_profile_names_the_offered_ones() -> None:
    directory = AcmeDirectory.from_json("https://ca/dir", {
        "renewalInfo": "https://ca/ari/", "meta": {"profiles": {
            "classic": "90 days", "tlsserver": "45 days", "shortlived": "160 hours"}}})
    assert directory.renewal_info == "https://ca/ari"
    assert directory.profile_problem("le", "tlsserver") is None
    assert directory.profile_problem("le", None) is None
    problem = directory.profile_problem("le", "fortnight")
    assert problem is not None and "'fortnight'" in problem
    assert "classic (90 days), shortlived (160 hours), tlsserver (45 days)" in problem
    bare = AcmeDirectory.from_json("https://ca/dir", {})
    assert bare.renewal_info is None
    assert "offers no profiles" in (bare.profile_problem("le", "classic") or "")


def test_renew_before_as_a_fraction_of_the_lifetime() -> None:
    start = datetime(2027, 1, 1, tzinfo=UTC)
    assert parse_duration("1/3", start, start + timedelta(days=45)) == timedelta(days=15)
    assert parse_duration("2/5", start, start + timedelta(days=100)) == timedelta(days=40)
    for bad in ("1/1", "4/3", "0/3", "1/0"):
        with pytest.raises(ValidationError):
            Policy(renew_before=bad)


def _call(app: Any, method: str, path: str, body: bytes = b"") -> tuple[str, dict[str, str],
                                                                        bytes]:
    seen: dict[str, Any] = {}

    def start(status: str, headers: list[tuple[str, str]]) -> None:
        seen.update(status=status, headers=dict(headers))

    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "wsgi.input": io.BytesIO(body),
               "CONTENT_LENGTH": str(len(body))}
    data = b"".join(app(environ, start))
    return seen["status"], seen["headers"], data


def test_the_lab_layer_answers_a_moved_window_and_passes_the_rest(tmp_path: Path) -> None:
    from reconciler.lab.acme_a2c import A2cCa

    inner_calls: list[str] = []

    def inner(environ: dict[str, Any], start: Any) -> list[bytes]:
        inner_calls.append(environ["PATH_INFO"])
        start("404 Not Found", [])
        return [environ["wsgi.input"].read()]

    ca = A2cCa(tmp_path)
    ca.move_window(rfc_cert(), datetime(2025, 1, 2, 4, tzinfo=UTC),
                   datetime(2025, 1, 3, 4, tzinfo=UTC), "https://acme.example.com/docs/ari")
    app = lab_layer(inner, tmp_path, retry_after=21600)
    status, headers, data = _call(app, "GET", f"/acme/renewal-info/{RFC_CERT_ID}")
    assert status == "200 OK" and headers["Retry-After"] == "21600"
    assert json.loads(data) == RFC_ANSWER
    assert _call(app, "GET", "/acme/renewal-info/other.AQ")[0] == "404 Not Found"
    payload = json.dumps({"identifiers": [{"type": "dns", "value": "a.example"}],
                          "replaces": RFC_CERT_ID}).encode()
    import base64
    jws = json.dumps({"protected": "", "signature": "",
                      "payload": base64.urlsafe_b64encode(payload).decode().rstrip("=")}).encode()
    status, _, echoed = _call(app, "POST", "/acme/neworders", jws)
    assert echoed == jws  # the server still reads the whole request
    assert ca.replaces_seen() == [{"replaces": RFC_CERT_ID, "identifiers": ["a.example"],
                                   "profile": None}]
    assert ca.ari_requests() == 2 and inner_calls == ["/acme/renewal-info/other.AQ",
                                                      "/acme/neworders"]


async def test_a_ca_that_cannot_be_asked_warns_and_falls_back(
    lab: Any, desired: Path
) -> None:
    """A directory nobody answers (a closed loopback port): ``issuer.ari_unavailable`` and an
    unchecked profile are warnings, renewal follows renew_before, nothing is written."""
    from reconciler.lab.inprocess import FAST_HTTP
    from reconciler.usecases.plan import plan
    from reconciler.usecases.session import Session

    spec = {"type": "acme", "directory": "https://127.0.0.1:9/directory", "profile": "tlsserver",
            "account_key_env": "ACME_ACCOUNT_KEY", "eku": ["serverAuth", "clientAuth"],
            "dns01": {"provider": "rfc2136", "server": "127.0.0.1:9", "tsig_key_name": "k",
                      "tsig_secret_env": "TSIG"}}
    with (desired / "certops.yaml").open("a") as out:
        out.write(f"issuers:\n  down: {json.dumps(spec)}\n")
    node = desired / "nodes" / "expe1.yaml"
    node.write_text(node.read_text().replace("server_certificate:",
                                             "server_certificate:\n  issuer: down", 1))
    session = Session(root=desired, inventory=lab.inventory, drivers=lab.factory,
                      http=FAST_HTTP, env={})
    run = await plan(session)
    found = {(f.code, f.severity.value) for f in run.plan.findings if f.code.startswith("issuer.")}
    assert found == {("issuer.ari_unavailable", "warning"), ("issuer.unknown_profile", "warning"),
                     ("issuer.no_chain", "warning")}  # (no ca_files: asked about any cert)
    [ari] = [f for f in run.plan.findings if f.code == "issuer.ari_unavailable"]
    assert ari.node == "expe1" and "127.0.0.1:9" in ari.message
    assert "renewal follows renew_before" in ari.message
    assert not (desired / RENEWAL_INFO_FILE).exists()
    assert run.renewal == {}


def test_drift_markdown_lists_the_soonest_renewals_and_counts_the_rest() -> None:
    from reconciler.model import Plan
    from reconciler.planning.drift import DriftReport
    from reconciler.planning.lifecycle import RenewalTime
    from reconciler.report.drift import RENEWAL_ROWS, drift_json, drift_markdown, drift_text

    renewals = {f"node{i:02d}": RenewalTime(NOW + timedelta(days=30 - i), "fixed",
                                            "renew_before 30d") for i in range(25)}
    report = DriftReport(plan=Plan(created_at=NOW, desired_digest="0" * 64), findings=(),
                         certificates=(), up=dict.fromkeys(renewals, True), renewals=renewals)
    text = drift_markdown(report)
    shown = [line.split(" | ")[0][2:] for line in text.splitlines()
             if "| renew_before 30d |" in line]
    assert shown == [f"node{i:02d}" for i in range(24, 24 - RENEWAL_ROWS, -1)]  # soonest first
    assert "| … | 5 more, later | |" in text
    lines = [line for line in drift_text(report) if line.startswith("renewal: ")]
    assert lines[0].startswith("renewal: node24: renewed from ") and len(lines) == 21
    assert lines[-1] == "renewal: 5 more, later (--format json: all)"
    assert len(json.loads(drift_json(report))["nodes"]) == 25  # JSON keeps every node
