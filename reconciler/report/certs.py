"""Certificate and CSR facts for ``certops inspect`` and ``certops verify``: text and JSON.

Like Expressway's "Show decoded", but with what an engineer checks first: SANs, EKU, AKI,
issuer, validity, key and fingerprint.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from reconciler.model.common import colon_hex
from reconciler.pki import EKU_LABELS, CertInfo, CsrInfo, VerifyResult
from reconciler.report.findings import finding_data, render_findings


def _key(info: CertInfo | CsrInfo) -> str:
    curve = getattr(info, "curve", None)
    return f"{info.key_type} {info.key_bits}" + (f" ({curve})" if curve else "")


def cert_data(cert: CertInfo, now: datetime) -> dict[str, Any]:
    return {
        "kind": "certificate",
        "subject": cert.subject,
        "issuer": cert.issuer,
        "serial": cert.serial,
        "not_before": cert.not_before.isoformat(),
        "not_after": cert.not_after.isoformat(),
        "days_left": (cert.not_after - now).days,
        "subject_alt_names": {
            "dns": list(cert.dns_names),
            "ip": list(cert.ip_addresses),
            "uri": list(cert.uris),
            "email": list(cert.emails),
            "critical": cert.san_critical,
        },
        "key_usage": list(cert.key_usage),
        "extended_key_usage": list(cert.eku),
        "authority_key_id": cert.authority_key_id,
        "subject_key_id": cert.subject_key_id,
        "basic_constraints": {"ca": cert.is_ca, "path_length": cert.path_length},
        "key": {"type": cert.key_type, "bits": cert.key_bits, "curve": cert.curve},
        "signature_hash": cert.signature_hash,
        "self_signed": cert.self_signed,
        "sha256": cert.sha256,
        "spki_sha256": cert.spki_sha256,
    }


def csr_data(csr: CsrInfo) -> dict[str, Any]:
    return {
        "kind": "csr",
        "subject": csr.subject,
        "subject_alt_names": {"dns": list(csr.dns_names), "ip": list(csr.ip_addresses)},
        "requested_eku": list(csr.requested_eku),
        "key": {"type": csr.key_type, "bits": csr.key_bits},
        "signature_hash": csr.signature_hash,
        "signature_valid": csr.signature_valid,
        "spki_sha256": csr.spki_sha256,
        "sha256": csr.sha256,
    }


def cert_lines(cert: CertInfo, now: datetime, indent: str = "  ") -> list[str]:
    days = (cert.not_after - now).days
    state = "EXPIRED" if days < 0 else f"{days} days left"
    if cert.not_before > now:
        state = "NOT YET VALID"
    sans = [*cert.dns_names, *(f"IP:{ip}" for ip in cert.ip_addresses), *cert.uris, *cert.emails]
    eku = [EKU_LABELS.get(e, e) for e in cert.eku]
    kind = "CA" if cert.is_ca else "end entity"
    if cert.self_signed:
        kind += ", self-signed"
    rows = [
        ("Subject", cert.subject),
        ("Issuer", cert.issuer),
        ("Serial", cert.serial),
        (
            "Valid",
            f"{cert.not_before:%Y-%m-%d %H:%M} → {cert.not_after:%Y-%m-%d %H:%M} UTC ({state})",
        ),
        ("SANs", (", ".join(sans) or "(none)") + (" [critical]" if cert.san_critical else "")),
        ("Key usage", ", ".join(cert.key_usage) or "(none)"),
        ("Ext. key usage", ", ".join(eku) or "(none)"),
        ("Authority KID", colon_hex(cert.authority_key_id) if cert.authority_key_id else "(none)"),
        ("Subject KID", colon_hex(cert.subject_key_id) if cert.subject_key_id else "(none)"),
        (
            "Basic constr.",
            kind + (f", pathlen {cert.path_length}" if cert.path_length is not None else ""),
        ),
        ("Key", _key(cert)),
        ("Signature", cert.signature_hash or "(intrinsic)"),
        ("SHA-256", colon_hex(cert.sha256)),
    ]
    return [f"{indent}{k + ':':<16}{v}" for k, v in rows]


def csr_lines(csr: CsrInfo, indent: str = "  ") -> list[str]:
    rows = [
        ("Subject", csr.subject),
        ("SANs", ", ".join([*csr.dns_names, *(f"IP:{ip}" for ip in csr.ip_addresses)]) or "(none)"),
        ("Requested EKU", ", ".join(EKU_LABELS.get(e, e) for e in csr.requested_eku) or "(none)"),
        ("Key", _key(csr)),
        ("Signature", f"{csr.signature_hash} ({'valid' if csr.signature_valid else 'INVALID'})"),
        ("Public key", colon_hex(csr.spki_sha256)[:47] + "… (SPKI SHA-256)"),
    ]
    return [f"{indent}{k + ':':<16}{v}" for k, v in rows]


def chain_lines(chain: Sequence[CertInfo]) -> list[str]:
    """``leaf → intermediate → root`` as indented lines."""
    return [
        f"  {'  ' * i}{'└ ' if i else ''}{c.subject}  [{c.sha256[:16]}]"
        for i, c in enumerate(chain)
    ]


def certs_text(path: str, certs: Sequence[CertInfo], now: datetime) -> list[str]:
    """``certops inspect`` of a certificate file: each certificate, then the chain they make."""
    from reconciler.pki import build_chain

    out = [f"{path}: {len(certs)} certificate{'s' if len(certs) > 1 else ''}"]
    for i, cert in enumerate(certs):
        if len(certs) > 1:
            out.append(f" [{i + 1}]")
        out += cert_lines(cert, now)
    if len(certs) > 1:
        leafish = [c for c in certs if not c.is_ca] or list(certs)
        chain = build_chain(leafish[0], certs, [c for c in certs if c.self_signed])
        out.append(" Chain" + ("" if chain.complete else " (incomplete)") + ":")
        out += chain_lines(chain.chain)
    return out


def csr_text(path: str, csr: CsrInfo) -> list[str]:
    """``certops inspect`` of a CSR file."""
    return [f"{path}: certificate signing request", *csr_lines(csr)]


def verify_text(path: str, result: VerifyResult) -> list[str]:
    """``certops verify``: the verdict, the chain, the findings."""
    out = [f"{path}: {'valid' if result.valid else 'INVALID'}"]
    if result.chain:
        out += [" Chain:", *chain_lines(result.chain)]
    return out + [f" {line}" for line in render_findings(result.findings)]


def verify_data(result: VerifyResult) -> dict[str, Any]:
    return {
        "valid": result.valid,
        "chain": [{"subject": c.subject, "sha256": c.sha256} for c in result.chain],
        "findings": [finding_data(f) for f in result.findings],
    }
