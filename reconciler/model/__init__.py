"""Frozen data shapes shared by every layer: desired state, live snapshots, findings, plans.

Imports pydantic only (DESIGN.md section 2, layer 1).
"""

from reconciler.model.common import CertSummary, Finding, Severity, SourcePos
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
from reconciler.model.errors import CertopsError
from reconciler.model.live import LiveNode
from reconciler.model.plan import FORMAT_VERSION, PHASES, Action, ActionKind, Plan
from reconciler.model.result import ActionResult, ApplyResult, Outcome

__all__ = [
    "CUCM_STORES",
    "FORMAT_VERSION",
    "PHASES",
    "Action",
    "ActionKind",
    "ActionResult",
    "ApplyResult",
    "CertSummary",
    "CertopsError",
    "CredentialsSpec",
    "CucmNodeSpec",
    "Defaults",
    "Desired",
    "DesiredNode",
    "ExpresswayNodeSpec",
    "Finding",
    "FleetSpec",
    "LiveNode",
    "NodeSpec",
    "NodeType",
    "Outcome",
    "PemFile",
    "Plan",
    "Policy",
    "ServerCertificateSpec",
    "Severity",
    "SourcePos",
    "TrustStoreSpec",
    "parse_duration",
]
