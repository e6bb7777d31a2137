"""CUCM's same-name rule (CUCM 15 Security Guide [3P]): a CA named like one already trusted
replaces it when newer and is skipped otherwise. The driver reads the store back after every
upload and says which happened."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from unitkit import plan, trust_pems

from reconciler.drivers.cucm import CucmDriver
from reconciler.lab.ca import cert_pem
from reconciler.lab.inprocess import InProcessLab


def ca_named(name: x509.Name, not_before: datetime) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(not_before).not_valid_after(not_before + timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return cert_pem(cert)


async def _driver(lab: InProcessLab, desired: Path) -> CucmDriver:
    _, drivers = await plan(lab, desired)
    driver = drivers["cucm-pub"]
    assert isinstance(driver, CucmDriver)
    return driver


async def test_a_newer_ca_of_the_same_name_replaces_the_old_one(lab: InProcessLab,
                                                                desired: Path) -> None:
    driver = await _driver(lab, desired)
    old = lab.nodes["cucm-pub"].pki.issuing["old"].cert
    newer = ca_named(old.subject, datetime.now(UTC) - timedelta(minutes=1))
    outcome = await driver.trust_add("tomcat-trust", [newer])
    assert outcome.startswith(f"replaced '{old.subject.rfc4514_string()}' (serial ")
    store = trust_pems(lab, "cucm-pub", "tomcat-trust")
    assert newer in store and cert_pem(old) not in store


async def test_an_older_ca_of_the_same_name_is_skipped_and_said_so(lab: InProcessLab,
                                                                   desired: Path) -> None:
    driver = await _driver(lab, desired)
    old = lab.nodes["cucm-pub"].pki.issuing["old"].cert
    older = ca_named(old.subject, old.not_valid_before_utc - timedelta(days=1))
    outcome = await driver.trust_add("tomcat-trust", [older])
    assert outcome.startswith(f"skipped '{old.subject.rfc4514_string()}'")
    assert "keeps the CA of the same name" in outcome
    store = trust_pems(lab, "cucm-pub", "tomcat-trust")
    assert older not in store and cert_pem(old) in store
    assert lab.nodes["cucm-pub"].state.restart_pending == []  # nothing changed


async def test_a_new_name_is_added(lab: InProcessLab, desired: Path) -> None:
    driver = await _driver(lab, desired)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "certops test CA")])
    outcome = await driver.trust_add("callmanager-trust", [ca_named(name, datetime.now(UTC))])
    assert outcome == "added 'CN=certops test CA' to callmanager-trust"
