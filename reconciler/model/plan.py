"""Plans (docs/architecture.md): findings plus actions ordered by a dependency graph."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field, SerializerFunctionWrapHandler, model_serializer

from reconciler.model.codes import Code
from reconciler.model.common import CertSummary, Finding, Frozen, Severity

ActionKind = Literal[
    "trust.add",
    "service.restart",
    "csr.generate",
    "cert.issue",
    "cert.install",
    "cert.regenerate",
    "node.drain",
    "node.restart",
    "trust.remove",
    "manual",
]
PHASES: dict[str, int] = {
    "trust.add": 1,
    "service.restart": 2,
    "csr.generate": 3,
    "cert.issue": 4,
    "cert.install": 5,
    "cert.regenerate": 5,
    "node.drain": 6,
    "node.restart": 7,
    "trust.remove": 8,
    "manual": 9,
}
# Actions during which the node (or some of its services) is down.
RESTART_KINDS: tuple[str, ...] = ("node.restart", "service.restart")
# Actions that mostly wait for a node (to come back, or for its calls to end): the executor
# lets them run whatever its parallelism, since they hold no request open.
WAITING_KINDS: tuple[str, ...] = (*RESTART_KINDS, "node.drain")
# Fields of an action that are left out of its JSON while unset, so that plans without
# issuance (or cluster replication) keep their exact form.
ISSUE_FIELDS = ("issuer", "certificate_from", "replicated_from", "role")
FORMAT_VERSION = 1


class Action(Frozen):
    """One step on one node. ``id`` is stable for the same inputs."""

    id: str
    kind: ActionKind
    node: str
    reason: str
    store: str | None = None
    certificate: CertSummary | None = None
    services: tuple[str, ...] = ()
    subject_alt_names: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()
    manual: str | None = Field(
        None, description="For kind 'manual': the exact GUI path or CLI command."
    )
    issuer: str | None = Field(
        None, description="For kind 'cert.issue': the issuer (certops.yaml issuers) to ask."
    )
    certificate_from: str | None = Field(
        None,
        description="For a 'cert.install' whose certificate is known only after apply: the id "
        "of the 'cert.issue' action whose output it installs (certificate is then null).",
    )

    role: str | None = Field(
        None,
        description="The certificate role the action changes (csr.generate, cert.issue, "
        "cert.install), left out for the kind's primary role (server_certificate).",
    )
    replicated_from: str | None = Field(
        None,
        description="For a 'trust.add' on a cluster member whose store replicates from the "
        "publisher: the publisher. The step uploads nothing: it waits (with a deadline) until "
        "the CA appears in the member's store.",
    )

    @model_serializer(mode="wrap")
    def _omit_unset_issue_fields(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        if isinstance(data, dict):
            for key in ISSUE_FIELDS:
                if data.get(key) is None:
                    data.pop(key, None)
        return data

    @property
    def phase(self) -> int:
        return PHASES[self.kind]

    @property
    def known_after_apply(self) -> bool:
        """The certificate this action installs is issued during the apply."""
        return self.certificate_from is not None


# Zone names a window may be written in that are UTC itself: its times are said once.
UTC_NAMES = frozenset({"UTC", "Etc/UTC"})


class NodeWindow(Frozen):
    """The change window a node's disruptive steps wait for, as of the plan's time."""

    window: str = Field(description="The window's name (certops.yaml windows:).")
    timezone: str = Field(description="The window's time zone.")
    open: bool = Field(description="Whether the window is open at the plan's created_at.")
    closes_at: datetime | None = Field(None, description="When it closes (UTC), while open.")
    next_open: datetime = Field(description="When it next opens after created_at (UTC).")
    next_open_local: str = Field(description="The same moment in the window's time zone.")
    emergency: str | None = Field(
        None, description="Why this node's restarts run now, outside the window "
        "(emergency.revocation: restart-now and the finding); left out when they wait.",
    )

    @model_serializer(mode="wrap")
    def _omit_no_emergency(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)  # plans without an emergency keep their exact form
        if isinstance(data, dict) and data.get("emergency") is None:
            data.pop("emergency", None)
        return data

    def next_text(self) -> str:
        """``2026-12-07 22:00 Europe/Zurich = 21:00 UTC``; in UTC: ``2026-12-07 21:00 UTC``."""
        if self.timezone in UTC_NAMES:
            return f"{self.next_open:%Y-%m-%d %H:%M} UTC"
        utc = self.next_open.strftime("%H:%M")
        if self.next_open.strftime("%Y-%m-%d") != self.next_open_local[:10]:
            utc = self.next_open.strftime("%Y-%m-%d %H:%M")
        return f"{self.next_open_local} {self.timezone} = {utc} UTC"


class Plan(Frozen):
    """What ``certops plan`` writes and ``certops apply`` executes."""

    format_version: int = FORMAT_VERSION
    created_at: datetime
    desired_digest: str
    git_commit: str | None = Field(
        None,
        description="The desired-state repository's commit; '-dirty' appended when the planned "
        "files differ from it.",
    )
    desired_root: str | None = Field(None, description="The desired-state directory planned.")
    targets: tuple[str, ...] = Field(
        (), description="The --node targets the plan was narrowed to (empty: every node, or "
        "a shard).",
    )
    node_fingerprints: dict[str, str] = Field(default_factory=dict)
    node_state: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="Per node, a SHA-256 per part of its live state."
    )
    tls_verify_off: tuple[str, ...] = ()
    live_certificates: dict[str, CertSummary] = Field(
        default_factory=dict, description="Each node's installed certificate as read (step A)."
    )
    findings: tuple[Finding, ...] = ()
    actions: tuple[Action, ...] = ()
    restart_windows: dict[str, NodeWindow] = Field(
        default_factory=dict,
        description="Per node with a disruptive action, the change window it waits for "
        "(left out when no node has one).",
    )
    assumed_owed: dict[str, tuple[str, ...]] = Field(
        default_factory=dict,
        description="Per node, the services the plan restarts to be safe because the record "
        "of owed restarts is missing (restart.record_missing); apply folds them into the "
        "live state as the planner did (left out when empty).",
    )

    @model_serializer(mode="wrap")
    def _omit_unset_targets(self, handler: SerializerFunctionWrapHandler) -> Any:
        # A plan of every node keeps its exact form; only a --node plan records its targets,
        # only a plan with windows its restart_windows.
        data = handler(self)
        if isinstance(data, dict):
            for key in ("targets", "restart_windows", "assumed_owed"):
                if not data.get(key):
                    data.pop(key, None)
        return data

    @property
    def blocked(self) -> bool:
        return any(f.severity is Severity.ERROR for f in self.findings)

    @property
    def unread(self) -> tuple[str, ...]:
        """Nodes a partial plan could not read (their finding a warning, not --strict)."""
        trouble = (Code.NODE_UNREACHABLE, Code.LIVE_UNPARSEABLE)
        return tuple(sorted({f.node for f in self.findings if f.code in trouble and f.node
                             and f.severity is Severity.WARNING}))

    @property
    def held_back(self) -> tuple[str, ...]:
        """Nodes whose actions a partial plan holds back (``node.held_back``)."""
        return tuple(sorted({f.node for f in self.findings
                             if f.code == Code.NODE_HELD_BACK and f.node}))

    @property
    def partial(self) -> bool:
        """Some nodes could not be read and the plan covers the rest (not --strict)."""
        return bool(self.unread or self.held_back)

    @property
    def has_changes(self) -> bool:
        return bool(self.actions)
