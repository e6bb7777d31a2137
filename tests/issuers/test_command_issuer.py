"""The command issuer against a real CA (``openssl ca``), and its failure modes."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from openssl_ca import have_openssl, make_openssl_ca

from reconciler.issuers import CommandIssuer, Issued, IssueFailed, issuer_for
from reconciler.model import CommandIssuerSpec

pytestmark = pytest.mark.skipif(not have_openssl(), reason="openssl is not installed")


def csr_pem(*sans: str) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, sans[0])]))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in sans]), False)
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.PEM).decode()


def issuer(*run: str, timeout: int = 30, env: dict[str, str] | None = None) -> CommandIssuer:
    spec = CommandIssuerSpec(type="command", run=run, timeout=timeout)
    return CommandIssuer("corp", spec, env or {"PATH": "/usr/bin:/bin"})


async def test_openssl_ca_signs_the_csr_with_its_sans_and_both_ekus(tmp_path: Path) -> None:
    ca = make_openssl_ca(tmp_path / "ca")
    result = await issuer(str(ca.sign)).submit("expe1", csr_pem("expe.example.com", "a.example"))
    assert isinstance(result, Issued)
    certs = x509.load_pem_x509_certificates(result.chain_pem.encode())
    leaf, root = certs
    assert root.public_bytes(serialization.Encoding.PEM) == ca.root_pem.read_bytes()
    sans = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["expe.example.com", "a.example"]
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert set(eku) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}


async def test_registry_builds_the_command_issuer() -> None:
    spec = CommandIssuerSpec(type="command", run=("true",))
    assert isinstance(issuer_for("corp", spec, {}), CommandIssuer)


async def test_non_zero_exit_carries_stderr_with_secrets_masked() -> None:
    env = {"PATH": "/usr/bin:/bin", "VAULT_TOKEN": "s.hunter2-very-secret"}
    script = "echo denied for token $VAULT_TOKEN >&2; exit 3"
    with pytest.raises(IssueFailed) as caught:
        await issuer("sh", "-c", script, env=env).submit("expc1", csr_pem("expc.example"))
    message = str(caught.value)
    assert "exited 3 for expc1" in message and "denied for token ${VAULT_TOKEN}" in message
    assert "hunter2" not in message


async def test_timeout_stops_the_command() -> None:
    with pytest.raises(IssueFailed, match="did not finish within 1s for expe1"):
        await issuer("sleep", "30", timeout=1).submit("expe1", csr_pem("expe.example"))


async def test_output_without_a_certificate_is_refused() -> None:
    with pytest.raises(IssueFailed, match="printed no PEM certificate"):
        await issuer("echo", "signed!").submit("expe1", csr_pem("expe.example"))


async def test_a_missing_command_is_named() -> None:
    with pytest.raises(IssueFailed, match="cannot run '/nonexistent/ca-tool'"):
        await issuer("/nonexistent/ca-tool").submit("expe1", csr_pem("expe.example"))


async def test_the_csr_reaches_standard_input_and_the_node_its_environment() -> None:
    script = (
        'test "$CERTOPS_NODE" = cucm-pub && grep -q "BEGIN CERTIFICATE REQUEST" && exit 0; exit 9'
    )
    with pytest.raises(IssueFailed, match="printed no PEM certificate"):  # exit 0, no output
        await issuer("sh", "-c", script).submit("cucm-pub", csr_pem("cucm.example"))
