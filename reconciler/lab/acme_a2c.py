"""The ACME lab's CA: acme2certifier configured like a 2027 public CA, and its incidents.

``A2cCa(dir)`` writes what the lab's two ACME processes serve (``reconciler.lab.acme_server``
in front, acme2certifier in the GPL plug-in ``certops_lab_a2c`` behind it; this package never
imports acme2certifier, it only writes its configuration): a private lab root and
issuing CA (``ca/``), an empty CRL, acme2certifier's configuration (``a2c/acme_srv.cfg``:
DNS-01 only, validated against the lab's BIND; ARI on; the lab's profiles in the directory's
``meta.profiles`` and checked on ``newOrder``, an unknown one refused with ``invalidProfile``;
the plug-in's CA handler ``certops_lab_a2c.handler``) and ``server.json``.

What is acme2certifier's and what is the lab's (docs/issuers.md; the two processes:
docs/architecture.md, "The lab's ACME CA"): accounts, orders, DNS-01 validation, issuance, the
directory, ``meta.profiles`` and ``invalidProfile``, ``renewalInfo`` (a window from
``renewal_threshold`` of the lifetime to the expiry, Retry-After), ``revokeCert`` and the CRL
it keeps are acme2certifier's. The lifetime by profile, serverAuth-only leaves and the CRL
distribution point are the lab's CA handler (in the plug-in); moving one certificate's ARI
window, revoking on the CA's own initiative (``revoke``), recording ``replaces`` and serving
the CRL are the lab's (``acme_server``).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from reconciler.lab.files import atomic_write
from reconciler.pki.ari import cert_id

DAY = 86400
# The lab's profiles, after Let's Encrypt's (lifetime in seconds) plus the CA/B Forum's 2029
# maximum: what a client can choose from in 2027.
PROFILES: dict[str, tuple[str, int]] = {
    "classic": ("The default: 64 days (Let's Encrypt's classic from 2027-02-10)", 64 * DAY),
    "tlsserver": ("45 days, serverAuth only, no SKID (Let's Encrypt's tlsserver)", 45 * DAY),
    "shortlived": ("160 hours (Let's Encrypt's shortlived)", 160 * 3600),
    "sc081-2029": ("47 days: the CA/B Forum maximum from 2029-03-15 (ballot SC-081v3)",
                   47 * DAY),
}
DEFAULT_PROFILE = "classic"
# The lab's CA handler, in the GPL plug-in (lab-plugins/certops-lab-a2c): acme2certifier loads
# it by this name in the plug-in's process; named here, never imported.
HANDLER_MODULE = "certops_lab_a2c.handler"


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


@dataclass
class A2cCa:
    """The lab CA's files under ``dir`` (see the module docstring)."""

    dir: Path
    profiles: dict[str, tuple[str, int]] = field(default_factory=lambda: dict(PROFILES))
    default_profile: str = DEFAULT_PROFILE
    renewal_threshold: float = 100 * 2 / 3  # % of the lifetime where ARI's window starts
    ari_retry_after: int = 6 * 3600
    ari: bool = True  # False: no renewalInfo in the directory (a CA without ARI)

    @property
    def ca_dir(self) -> Path:
        return self.dir / "ca"

    def write(self, port: int, dns_port: int, tls_dir: Path, backend_port: int = 0) -> None:
        """The PKI (once), the CRL, acme2certifier's configuration and server.json: the front
        listens on ``port`` (TLS), acme2certifier on ``backend_port`` (HTTP, loopback)."""
        self._pki()
        crl_url = f"https://127.0.0.1:{port}/crl"
        (self.dir / "a2c" / "certs").mkdir(parents=True, exist_ok=True)
        atomic_write(self.dir / "a2c" / "acme_srv.cfg", self._config(crl_url))
        atomic_write(self.dir / "server.json", json.dumps({
            "port": port, "backend_port": backend_port, "dns_port": dns_port,
            "ari_retry_after": self.ari_retry_after,
            "tls_cert": str(tls_dir / "localhost.pem"), "tls_key": str(tls_dir / "localhost.key"),
        }, indent=2))

    def _config(self, crl_url: str) -> str:
        ca = self.ca_dir
        described = {name: text for name, (text, _) in self.profiles.items()}
        seconds = {name: life for name, (_, life) in self.profiles.items()}
        return f"""\
[DEFAULT]
debug: False
dns_server_list: ["127.0.0.1"]

[Nonce]
nonce_check_disable: False

[Account]
# certops registers without a contact when certops.yaml gives no email (RFC 8555 allows it).
contact_check_disable: True

[Challenge]
dns_validation_pause_timer: 0
http_01_support: False
tls_alpn_01_support: False
dns_01_support: True

[Order]
profiles: {json.dumps(described)}
profiles_check_disable: False
retry_after_timeout: 5

[Renewalinfo]
renewalinfo_disable: {not self.ari}
renewalthreshold_pctg: {self.renewal_threshold:.4f}
retry_after_timeout: {self.ari_retry_after}

[Certificate]
revocation_reason_check_disable: False

[DBhandler]
handler_module: acme2certifier.dbhandlers.wsgi_handler
dbfile: {self.dir / "a2c" / "acme_srv.db"}

[CAhandler]
handler_module: {HANDLER_MODULE}
issuing_ca_key: {ca / "issuing.key"}
issuing_ca_cert: {ca / "issuing.pem"}
issuing_ca_crl: {ca / "issuing.crl"}
ca_cert_chain_list: ["{ca / "root.pem"}"]
cert_save_path: {self.dir / "a2c" / "certs"}
lab_profiles: {json.dumps(seconds)}
lab_default_profile: {self.default_profile}
lab_crl_url: {crl_url}
"""

    def _pki(self) -> None:
        """A lab root and its issuing CA (EC P-256), and the issuing CA's empty CRL."""
        ca = self.ca_dir
        if (ca / "issuing.pem").exists():
            return
        ca.mkdir(parents=True, exist_ok=True)
        now = datetime.now(UTC) - timedelta(minutes=5)
        root_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(
            ec.SECP256R1())
        root = _ca(_name("certops ACME lab root"), _name("certops ACME lab root"),
                   root_key, root_key, now, 1)
        issuing = _ca(_name("certops ACME lab issuing CA"), root.subject, key, root_key, now, 0)
        pem = serialization.Encoding.PEM
        (ca / "root.pem").write_bytes(root.public_bytes(pem))
        (ca / "issuing.pem").write_bytes(issuing.public_bytes(pem))
        (ca / "issuing.key").write_bytes(key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        (ca / "issuing.key").chmod(0o600)
        self._write_crl([])

    def root_pem(self) -> str:
        return (self.ca_dir / "root.pem").read_text()

    def issuing_pem(self) -> str:
        return (self.ca_dir / "issuing.pem").read_text()

    # --- incidents ------------------------------------------------------------------------

    def move_window(self, cert: x509.Certificate, start: datetime, end: datetime,
                    explanation: str | None = None) -> str:
        """ARI for ``cert`` answers [start, end] from now on; returns its certID."""
        window: dict[str, object] = {"suggestedWindow": {"start": _rfc3339(start),
                                                         "end": _rfc3339(end)}}
        if explanation:
            window["explanationURL"] = explanation
        ident = cert_id(cert)
        if ident is None:
            raise ValueError("the certificate has no authority key identifier: no ARI certID")
        overrides = self.overrides()
        overrides[ident] = window
        atomic_write(self.dir / "ari-overrides.json", json.dumps(overrides, indent=2))
        return ident

    def revoke(self, certs: list[x509.Certificate], at: datetime, notice: timedelta,
               reason: x509.ReasonFlags = x509.ReasonFlags.superseded) -> None:
        """The CA's mass revocation: ARI says "renew now" (a window ending at ``at + notice``)
        at once; the certificates go on the CRL now (``notice`` zero) or when
        ``publish_due(now)`` runs after ``at + notice``."""
        for cert in certs:
            self.move_window(cert, at - timedelta(seconds=1), at + notice,
                             explanation=f"https://127.0.0.1/incident/{reason.value}")
        due = self._due()
        due.extend({"serial": c.serial_number, "at": _rfc3339(at + notice),
                    "reason": reason.value,
                    "sha256": c.fingerprint(hashes.SHA256()).hex()} for c in certs)
        atomic_write(self.dir / "revocations.json", json.dumps(due, indent=2))
        self.publish_due(at + notice if notice <= timedelta(0) else at)

    def revocations(self) -> dict[str, float]:
        """SHA-256 of each certificate the lab revoked -> when it took (or takes) effect, in
        epoch seconds: what ``lab.served_revoked`` counts the timeline against."""
        return {str(d["sha256"]): _parse(str(d["at"])).timestamp()
                for d in self._due() if "sha256" in d}

    def publish_due(self, now: datetime) -> int:
        """Put every revocation due by ``now`` on the CRL; how many the CRL lists."""
        done = [d for d in self._due() if _parse(str(d["at"])) <= now]
        listed = {int(s): r for s, r in self._crl_entries().items()}
        for entry in done:
            listed.setdefault(int(str(entry["serial"])), str(entry["reason"]))
        self._write_crl(sorted(listed.items()))
        return len(listed)

    def overrides(self) -> dict[str, object]:
        try:
            data = json.loads((self.dir / "ari-overrides.json").read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def replaces_seen(self) -> list[dict[str, object]]:
        """Every ``replaces`` a client sent on newOrder, in order."""
        path = self.dir / "replaces.jsonl"
        lines = path.read_text().splitlines() if path.exists() else []
        return [json.loads(line) for line in lines if line.strip()]

    def ari_requests(self) -> int:
        path = self.dir / "ari-requests.log"
        return len(path.read_text().splitlines()) if path.exists() else 0

    def counts(self) -> tuple[int, int]:
        """(orders placed, certificates issued), from acme2certifier's database."""
        db = self.dir / "a2c" / "acme_srv.db"
        if not db.exists():
            return 0, 0
        with sqlite3.connect(db) as con:
            orders = con.execute("SELECT COUNT(*) FROM orders").fetchone()[0]
            issued = con.execute(
                "SELECT COUNT(*) FROM certificate WHERE cert_raw IS NOT NULL AND cert_raw != ''"
            ).fetchone()[0]
        return int(orders), int(issued)

    def _due(self) -> list[dict[str, object]]:
        try:
            data = json.loads((self.dir / "revocations.json").read_text())
        except (OSError, ValueError):
            return []
        return data if isinstance(data, list) else []

    def _crl_entries(self) -> dict[int, str]:
        crl = x509.load_pem_x509_crl((self.ca_dir / "issuing.crl").read_bytes())
        out = {}
        for revoked in crl:
            try:
                reason = revoked.extensions.get_extension_for_class(x509.CRLReason).value
                out[revoked.serial_number] = reason.reason.value
            except x509.ExtensionNotFound:
                out[revoked.serial_number] = x509.ReasonFlags.unspecified.value
        return out

    def _write_crl(self, entries: list[tuple[int, str]]) -> None:
        ca = self.ca_dir
        issuing = x509.load_pem_x509_certificate((ca / "issuing.pem").read_bytes())
        key = serialization.load_pem_private_key((ca / "issuing.key").read_bytes(), None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        now = datetime.now(UTC)
        builder = (x509.CertificateRevocationListBuilder().issuer_name(issuing.subject)
                   .last_update(now - timedelta(minutes=1)).next_update(now + timedelta(days=1)))
        for serial, reason in entries:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(now)
                .add_extension(x509.CRLReason(x509.ReasonFlags(reason)), critical=False)
                .build())
        crl = builder.sign(key, hashes.SHA256())
        atomic_write(ca / "issuing.crl", crl.public_bytes(serialization.Encoding.PEM).decode())


def _ca(subject: x509.Name, issuer: x509.Name, key: ec.EllipticCurvePrivateKey,
        signer: ec.EllipticCurvePrivateKey, now: datetime, path_length: int) -> x509.Certificate:
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key())
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False,
                                         decipher_only=False), True)
            .add_extension(ski, False).add_extension(aki, False)
            .sign(signer, hashes.SHA256()))


def _rfc3339(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
