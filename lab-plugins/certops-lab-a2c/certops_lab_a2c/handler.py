"""acme2certifier CA handler of the ACME lab: its openssl handler, issuing like a 2027 public CA.

acme2certifier (PyPI) loads this module as its ``[CAhandler] handler_module`` inside this
plug-in's server process (``certops_lab_a2c.server``). It is acme2certifier's own openssl
handler (which signs with a private lab issuing CA and keeps a CRL for ACME ``revokeCert``)
with three things a 2027 public CA does that the stock handler does not:

- leaves carry **serverAuth only** (the stock default adds clientAuth; Chrome's root program
  forbids it in public leaves issued from 2027-03-15), keyUsage digitalSignature, the SANs
  of the CSR, no SKID (Let's Encrypt's ``tlsserver`` leaves have none);
- the **lifetime follows the order's ACME profile** (``lab_profiles``: name -> seconds;
  ``lab_default_profile`` when the order names none), as Let's Encrypt's profiles do;
- a **CRL distribution point** (``lab_crl_url``), where the lab serves the issuing CA's CRL.

Its configuration keys are read from the same ``[CAhandler]`` section as the stock ones.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from acme2certifier.acme_srv.helpers.config import load_config, profile_lookup
from acme2certifier.cahandlers.openssl_ca_handler import CAhandler as OpensslHandler
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID


class CAhandler(OpensslHandler):  # type: ignore[misc]  # acme2certifier is untyped
    """The openssl handler, serverAuth-only, lifetime by profile, with a CRL DP."""

    def __init__(self, debug: bool = False, logger: Any = None) -> None:
        super().__init__(debug, logger)
        self.lab_profiles: dict[str, int] = {}
        self.lab_default_profile = ""
        self.lab_crl_url = ""
        self.lab_profile: str | None = None

    def _config_load(self) -> None:
        super()._config_load()
        section = load_config(self.logger, "CAhandler")["CAhandler"]
        self.lab_profiles = {k: int(v) for k, v in json.loads(
            section.get("lab_profiles", "{}")).items()}
        self.lab_default_profile = section.get("lab_default_profile", "")
        self.lab_crl_url = section.get("lab_crl_url", "")

    def enroll(self, csr: str) -> tuple[Any, ...]:
        """Find the order's profile (acme2certifier stores it with the order), then sign."""
        self.lab_profile = profile_lookup(self.logger, csr) or self.lab_default_profile
        result: tuple[Any, ...] = super().enroll(csr)
        return result

    def _certexpiry_date_set(self) -> datetime:
        seconds = self.lab_profiles.get(self.lab_profile or "", 0)
        if not seconds:
            return super()._certexpiry_date_set()  # type: ignore[no-any-return]
        return datetime.now(UTC) + timedelta(seconds=seconds)

    def _cert_extension_apply(self, builder: Any, ca_cert: Any, req: Any) -> Any:
        extensions: list[tuple[x509.ExtensionType, bool]] = [
            (x509.BasicConstraints(ca=False, path_length=None), True),
            (x509.KeyUsage(digital_signature=True, content_commitment=False,
                           key_encipherment=False, data_encipherment=False,
                           key_agreement=False, key_cert_sign=False, crl_sign=False,
                           encipher_only=False, decipher_only=False), True),
            (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False),
            (x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()), False),
        ]
        if self.lab_crl_url:
            extensions.append((x509.CRLDistributionPoints([x509.DistributionPoint(
                full_name=[x509.UniformResourceIdentifier(self.lab_crl_url)],
                relative_name=None, reasons=None, crl_issuer=None)]), False))
        san = req.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        extensions.append((san, False))
        for ext, critical in extensions:
            builder = builder.add_extension(ext, critical=critical)
        return builder
