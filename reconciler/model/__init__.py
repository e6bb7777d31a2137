"""Frozen data shapes shared by every layer: desired state, findings, certificate summaries.

Imports pydantic only (DESIGN.md section 2, layer 1).
"""

from reconciler.model.common import (
    CertSummary,
    Finding,
    Severity,
    SourcePos,
)
from reconciler.model.desired import (
    CUCM_STORES,
    CredentialsSpec,
    CucmNodeSpec,
    Defaults,
    Desired,
    DesiredNode,
    ExpresswayNodeSpec,
    FleetSpec,
    NodeSpec,
    NodeType,
    PemFile,
    Policy,
    ServerCertificateSpec,
    TrustStoreSpec,
    parse_duration,
)

__all__ = [
    "CUCM_STORES",
    "CertSummary",
    "CredentialsSpec",
    "CucmNodeSpec",
    "Defaults",
    "Desired",
    "DesiredNode",
    "ExpresswayNodeSpec",
    "Finding",
    "FleetSpec",
    "NodeSpec",
    "NodeType",
    "PemFile",
    "Policy",
    "ServerCertificateSpec",
    "Severity",
    "SourcePos",
    "TrustStoreSpec",
    "parse_duration",
]
