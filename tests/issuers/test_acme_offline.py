"""The ACME issuer's parts that need no ACME server: the spec, rate-limit messages, secrets
in the desired-state directory, order records."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from acme import messages
from pydantic import TypeAdapter, ValidationError

from reconciler.desired import load
from reconciler.issuers.acme import AcmeIssuer
from reconciler.issuers.dns01 import host_port
from reconciler.issuers.orders import OrderRecord, drop_order, read_order, write_order
from reconciler.model import AcmeIssuerSpec, Code, IssuerSpec
from reconciler.pki import CertCache

ISSUER = TypeAdapter(IssuerSpec)
DNS = {"provider": "rfc2136", "server": "127.0.0.1:53", "tsig_key_name": "k",
       "tsig_secret_env": "TSIG"}


def acme_spec(**extra: Any) -> AcmeIssuerSpec:
    spec = ISSUER.validate_python({"type": "acme", "directory": "letsencrypt-staging",
                                   "account_key_env": "KEY", "dns01": DNS, **extra})
    assert isinstance(spec, AcmeIssuerSpec)
    return spec


def test_the_union_is_discriminated_on_type() -> None:
    assert acme_spec().directory_url.startswith("https://acme-staging-v02.")
    assert acme_spec(directory="letsencrypt").directory_url.startswith("https://acme-v02.")
    assert acme_spec(directory="https://ca.example/dir").directory_url == "https://ca.example/dir"
    assert acme_spec().eku == ("serverAuth",)
    command = ISSUER.validate_python({"type": "command", "run": ["x"]})
    assert command.eku == ("serverAuth", "clientAuth")


@pytest.mark.parametrize("bad", [
    {"account_key_file": "/keys/acme.pem"},  # both a variable and a file
    {"account_key_env": None},  # neither
    {"eab_kid_env": "KID"},  # half an EAB
    {"directory": "http://ca.example/dir"},  # not https
    {"account_key_env": None, "account_key_file": "keys/acme.pem"},  # relative
    {"dns01": {"provider": "exec", "command": ["hook"]}},  # no nameservers to check
    {"dns01": {**DNS, "tsig_secret_env": None}},  # no TSIG secret
])
def test_inconsistent_specs_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        acme_spec(**bad)


def test_a_rate_limit_names_the_retry_after() -> None:
    issuer = AcmeIssuer("le", acme_spec(), {"KEY": "x"}, Path("."))
    error = messages.Error.with_code("rateLimited", detail="too many certificates (5) already")
    session: Any = SimpleNamespace(net=SimpleNamespace(last=SimpleNamespace(
        headers={"Retry-After": "3600"})))
    text = issuer._problem(error, "expe1", session)
    assert "rate-limited the order for expe1" in text and "retry after 3600 seconds" in text
    assert "too many certificates" in text


def test_secrets_are_masked_in_messages() -> None:
    env = {"KEY": "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END "
           "PRIVATE KEY-----\n", "TSIG": "c2VjcmV0LXRzaWctdmFsdWU="}
    issuer = AcmeIssuer("le", acme_spec(), env, Path("."))
    text = issuer._redact("saw MIIEvQIBADANBgkqhkiG9w0BAQEFAASC and c2VjcmV0LXRzaWctdmFsdWU= here")
    assert "MIIEvQ" not in text and "c2VjcmV0" not in text


def test_order_records_are_public_and_atomic(tmp_path: Path) -> None:
    record = OrderRecord(issuer="le", node="expe1", order_url="https://ca/order/1",
                         csr_sha256="ab", directory="https://ca/dir", placed_at="now")
    path = write_order(tmp_path, record)
    assert path == tmp_path / ".certops" / "orders" / "le" / "expe1.json"
    assert read_order(tmp_path, "le", "expe1") == record
    assert [p.name for p in path.parent.iterdir()] == ["expe1.json"]  # no temporary left
    drop_order(tmp_path, "le", "expe1")
    assert read_order(tmp_path, "le", "expe1") is None


def test_host_port() -> None:
    assert host_port("127.0.0.1:5353") == ("127.0.0.1", 5353)
    assert host_port("ns1.example.com") == ("ns1.example.com", 53)
    assert host_port("[::1]:53") == ("::1", 53)


def test_a_key_file_inside_the_desired_state_is_refused(tmp_path: Path) -> None:
    repo = Path(__file__).resolve().parents[2] / "desired-state"
    root = tmp_path / "ds"
    shutil.copytree(repo, root)
    (root / "acme-account.pem").write_text("not a key\n")
    with (root / "certops.yaml").open("a") as out:
        out.write("issuers:\n  le:\n    type: acme\n    directory: letsencrypt\n"
                  f"    account_key_file: {root}/acme-account.pem\n"
                  "    dns01: {provider: exec, command: [hook], nameservers: [ns1]}\n")
    found = [f for f in load(root, CertCache()).findings if f.code == Code.ISSUER_SECRET_IN_REPO]
    assert len(found) == 1 and "account_key_file" not in found[0].message
    assert found[0].location is not None and found[0].location.line > 1


def test_order_records_do_not_change_the_desired_state(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    shutil.copytree(Path(__file__).resolve().parents[2] / "desired-state", root)
    loaded = load(root, CertCache())
    assert loaded.desired is not None
    before = loaded.desired.digest
    write_order(root, OrderRecord(issuer="le", node="expe1", order_url="u", csr_sha256="c",
                                  directory="d", placed_at="t"))
    after = load(root, CertCache())
    assert after.desired is not None and after.desired.digest == before
    assert not [f for f in after.findings if f.severity == "error"]
