"""Frozen data shapes shared by every layer: desired state, live snapshots, findings, plans.

Imports pydantic only (docs/architecture.md, Layers).
"""

from reconciler.model.codes import Code
from reconciler.model.common import CertSummary, Finding, Severity, SourcePos
from reconciler.model.desired import (
    AcmeIssuerSpec,
    CertificateSpec,
    ClusterSpec,
    CommandIssuerSpec,
    ConnectionSpec,
    CredentialsSpec,
    CsrSubjectSpec,
    Defaults,
    Desired,
    DesiredNode,
    ExecDnsSpec,
    ExpresswayAcmeIssuerSpec,
    FleetSpec,
    IssuerSpec,
    MultiStoreSpec,
    NodeSpecBase,
    PemFile,
    Policy,
    RestartSettings,
    Rfc2136Spec,
    ServerCertificateSpec,
    SingleStoreSpec,
    TrustStoreSpec,
    parse_duration,
    parse_span,
)
from reconciler.model.errors import CertopsError
from reconciler.model.live import LiveNode
from reconciler.model.plan import FORMAT_VERSION, PHASES, RESTART_KINDS, Action, ActionKind, Plan
from reconciler.model.result import ActionResult, ApplyResult, Outcome

__all__ = [
    "FORMAT_VERSION",
    "PHASES",
    "RESTART_KINDS",
    "AcmeIssuerSpec",
    "Action",
    "ActionKind",
    "ActionResult",
    "ApplyResult",
    "CertSummary",
    "CertificateSpec",
    "CertopsError",
    "ClusterSpec",
    "Code",
    "CommandIssuerSpec",
    "ConnectionSpec",
    "CredentialsSpec",
    "CsrSubjectSpec",
    "Defaults",
    "Desired",
    "DesiredNode",
    "ExecDnsSpec",
    "ExpresswayAcmeIssuerSpec",
    "Finding",
    "FleetSpec",
    "IssuerSpec",
    "LiveNode",
    "MultiStoreSpec",
    "NodeSpecBase",
    "Outcome",
    "PemFile",
    "Plan",
    "Policy",
    "RestartSettings",
    "Rfc2136Spec",
    "ServerCertificateSpec",
    "Severity",
    "SingleStoreSpec",
    "SourcePos",
    "TrustStoreSpec",
    "parse_duration",
    "parse_span",
]
