"""The certificate lifecycle of one node as small pure rules: facts in, one decision out.

``CertFacts`` holds what the decision needs (the desired leaf, the installed certificate, the
pending CSR or the committed one standing in for it, the wanted SANs, whether renewal is due,
the issuer). ``decide`` returns one ``Decision`` (install, restart only, generate a CSR, keep
the pending CSR, wait for its signature, issue, nothing), the first rule of ``DECISION_RULES``
that applies; ``notes`` returns the findings of ``NOTE_RULES``. The planner maps a decision to
actions; nothing here knows about drafts, kinds or I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum

from reconciler.model import Code, Severity, parse_duration
from reconciler.model.layout import cert_path, csr_path
from reconciler.model.renewal import RenewalWindow
from reconciler.pki import CertInfo, CsrInfo, key_matches


@dataclass(frozen=True)
class CertFacts:
    """What one node's certificate decision depends on."""

    node: str
    file: str | None  # server_certificate.file as written
    want: frozenset[str]  # the desired SANs, lower case
    leaf: CertInfo | None  # the desired certificate (from ``file``)
    installed: CertInfo | None
    restart_pending: bool  # installed but not served yet
    live_pending: bool  # the node reports a pending CSR
    pending: CsrInfo | None  # the node's pending CSR, or the committed CSR standing for it
    pending_is_committed: bool  # ``pending`` is the CSR committed as csrs/<node>.csr.pem
    due: bool  # the installed certificate is inside its renewal window
    renew_before: str
    now: datetime
    issuer: str | None = None  # the configured issuer that signs for this node (no file)
    pending_unreadable: bool = False  # the kind cannot read a pending CSR (VOS)
    replace_pending: bool = False  # server_certificate.replace_pending_csr
    csr_answered: bool = False  # the committed CSR's key is the installed certificate's
    role: str | None = None  # a certificate role other than the kind's primary one
    ari: RenewalWindow | None = None  # the CA's renewal window (ARI): it times ``due``
    revoked: str | None = None  # the installed certificate is on its CRL: what it says
    self_signed: bool = False  # renewed by regenerating it on the node (VOS identities)
    when: RenewalTime | None = None  # when it is renewed and why (planning.renewal_timing)

    @property
    def csr_file(self) -> str:
        """Where this certificate's CSR is saved (``csrs/<node>[.<role>].csr.pem``)."""
        return csr_path(self.node, self.role)

    @property
    def cert_file(self) -> str:
        return cert_path(self.node, self.role)

    @property
    def spec_key(self) -> str:
        """The node-file key this certificate is declared under."""
        return "server_certificate" if self.role is None else f"certificates.{self.role}"

    @property
    def installs_file(self) -> bool:
        """A desired certificate that is not the installed one."""
        installed = self.installed
        return self.leaf is not None and (installed is None or installed.sha256 != self.leaf.sha256)

    @property
    def judges_renewal(self) -> bool:
        """No desired file: the live certificate is kept until renewal or a SAN change."""
        nothing_known = self.installed is None and not self.live_pending and not self.want
        return self.leaf is None and not nothing_known

    @property
    def sans_differ(self) -> bool:
        if self.self_signed:  # the node names its own self-signed certificate
            return False
        return self.installed is None or self.installed.san_set() != self.want

    @property
    def triggered(self) -> bool:
        """A new certificate is needed: renewal is due or the live SANs differ."""
        return self.judges_renewal and (self.due or self.sans_differ)

    @property
    def may_replace_pending(self) -> bool:
        """A new CSR may be generated: the node's pending CSR can be read (and is shown),
        or certops has no reason to suspect one (the CSR it saved was answered by the
        installed certificate), or the desired state allows replacing it. Cisco's rule:
        never discard a pending CSR; on Unified CM a new one silently replaces it."""
        return not self.pending_unreadable or self.replace_pending or self.csr_answered

    @property
    def pending_fits(self) -> bool:
        """The pending CSR requests every wanted name."""
        return self.pending is not None and self.want <= self.pending.san_set()


def renewal_due(installed: CertInfo | None, renew_before: str, now: datetime) -> bool:
    """Whether ``installed`` is inside its renewal window at ``now``."""
    if installed is None:
        return False
    return renewal_time(installed, renew_before, None).at <= now


@dataclass(frozen=True)
class RenewalTime:
    """When a certificate is renewed, and why: the CA's ARI window, or ``renew_before``."""

    at: datetime
    source: str  # "ari", "fraction" (1/3, 33%) or "fixed" (30d)
    why: str


def renewal_time(installed: CertInfo, renew_before: str, ari: RenewalWindow | None
                 ) -> RenewalTime:
    """The moment renewal is due: the ARI window's start, else ``renew_before`` before the
    certificate's end (a share of its lifetime, or a fixed time)."""
    if ari is not None:
        return RenewalTime(ari.start, "ari", ari.describe())
    window = parse_duration(renew_before, installed.not_before, installed.not_after)
    source = "fraction" if renew_before.endswith("%") or "/" in renew_before else "fixed"
    return RenewalTime(installed.not_after - window, source, f"renew_before {renew_before}")


# --- the decision ------------------------------------------------------------------------


class Step(Enum):
    """What happens to the node's certificate."""

    NOTHING = "nothing"
    INSTALL = "install"  # install the desired file, then restart
    RESTART = "restart"  # only the restart that serves the installed certificate
    GENERATE = "csr.generate"  # generate a new CSR for the CA
    KEEP = "csr.keep"  # keep the node's pending CSR and save it for the CA
    WAIT = "csr.waiting"  # the committed pending CSR waits for its signed certificate
    ISSUE = "cert.issue"  # CSR (new or kept), issue, install, restart
    HOLD = "csr.hold"  # a new CSR is needed, but it might replace an unreadable pending one
    REGENERATE = "cert.regenerate"  # a self-signed identity is regenerated on the node


@dataclass(frozen=True)
class Decision:
    """One node's certificate decision."""

    step: Step
    restart_pending: bool = False  # a restart also serves the already installed certificate
    keep_pending: bool = False  # ISSUE: the pending CSR is kept instead of generating one
    why: str = ""  # GENERATE / ISSUE: why a new CSR is needed


def generate_why(facts: CertFacts) -> str:
    """Why a CSR is generated, naming the pending CSR that is discarded, if any."""
    why = "renewal is due" if facts.due else "the SANs differ from the desired ones"
    if facts.pending is not None:
        lacking = ", ".join(sorted(facts.want - facts.pending.san_set()))
        why += f"; the pending CSR lacks {lacking} and is discarded first"
    return why


def rule_install(facts: CertFacts) -> Decision | None:
    """A committed certificate that is not the installed one is installed."""
    return Decision(Step.INSTALL) if facts.installs_file else None


def rule_regenerate(facts: CertFacts) -> Decision | None:
    """A self-signed identity that is due is regenerated on the node, never sent to a CA."""
    if facts.self_signed and facts.installed is not None and facts.due:
        return Decision(Step.REGENERATE, why="renewal is due")
    return None


def rule_hold(facts: CertFacts) -> Decision | None:
    """A new CSR is needed, but a pending one that certops cannot read might be replaced."""
    if facts.triggered and not facts.pending_fits and not facts.may_replace_pending:
        return Decision(Step.HOLD)
    return None


def rule_issue(facts: CertFacts) -> Decision | None:
    """With an issuer, a needed certificate is issued from the pending CSR or a new one."""
    if not (facts.triggered and facts.issuer):
        return None
    if facts.pending_fits:
        return Decision(Step.ISSUE, keep_pending=True)
    return Decision(Step.ISSUE, why=generate_why(facts))


def rule_wait(facts: CertFacts) -> Decision | None:
    """The committed CSR is the pending one: the CA has it, nothing to do but wait."""
    if facts.triggered and facts.pending_fits and facts.pending_is_committed:
        return Decision(Step.WAIT)
    return None


def rule_keep(facts: CertFacts) -> Decision | None:
    """A pending CSR with every wanted name is kept (and saved for the CA)."""
    return Decision(Step.KEEP) if facts.triggered and facts.pending_fits else None


def rule_generate(facts: CertFacts) -> Decision | None:
    """Otherwise a needed certificate starts with a new CSR."""
    return Decision(Step.GENERATE, why=generate_why(facts)) if facts.triggered else None


def rule_restart(facts: CertFacts) -> Decision | None:
    """Nothing to renew, but the installed certificate is not served yet."""
    return Decision(Step.RESTART) if facts.restart_pending else None


Rule = Callable[[CertFacts], "Decision | None"]
DECISION_RULES: tuple[Rule, ...] = (
    rule_install,
    rule_regenerate,
    rule_hold,
    rule_issue,
    rule_wait,
    rule_keep,
    rule_generate,
    rule_restart,
)
# Steps after which a pending restart is still needed on its own: an install brings its own.
RESTART_ALONGSIDE = frozenset({Step.GENERATE, Step.KEEP, Step.WAIT, Step.HOLD})


def decide(facts: CertFacts) -> Decision:
    """The first rule that applies; a pending restart rides along where no install follows."""
    for rule in DECISION_RULES:
        decision = rule(facts)
        if decision is not None:
            alongside = facts.restart_pending and decision.step in RESTART_ALONGSIDE
            return replace(decision, restart_pending=alongside)
    return Decision(Step.NOTHING)


# --- the findings ------------------------------------------------------------------------

AT_FILE = ("server_certificate", "file")
AT_CERT = ("server_certificate",)


@dataclass(frozen=True)
class Note:
    """A finding about the node: code, severity, message and the node-file key it is at."""

    code: Code
    severity: Severity
    message: str
    at: tuple[str, ...] = AT_CERT


def note_key_mismatch(facts: CertFacts) -> Note | None:
    """The desired certificate matches neither the pending CSR nor the installed key."""
    leaf, pending, installed = facts.leaf, facts.pending, facts.installed
    if leaf is None or not facts.installs_file:
        return None
    if (pending and key_matches(leaf, pending)) or (installed and key_matches(leaf, installed)):
        return None
    name = facts.node
    return Note(
        Code.CSR_KEY_MISMATCH,
        Severity.ERROR,
        f"{facts.file} matches neither {name}'s pending CSR nor its current key: the "
        "node would refuse the install. Have the CA sign the node's pending CSR "
        f"({facts.csr_file}), or remove `file` to generate a new CSR.",
        AT_FILE,
    )


def note_issuer_changed(facts: CertFacts) -> Note | None:
    """The desired certificate comes from another CA than the installed one."""
    leaf, installed = facts.leaf, facts.installed
    if leaf is None or installed is None or not facts.installs_file:
        return None
    if leaf.authority_key_id == installed.authority_key_id:
        return None
    return Note(
        Code.ISSUER_CHANGED,
        Severity.INFO,
        f"{facts.file} is issued by '{leaf.issuer}' (AKI {leaf.authority_key_id}), "
        f"the live certificate by '{installed.issuer}' (AKI "
        f"{installed.authority_key_id}): the new chain is added to this node and "
        "every linked peer first (Cisco's step D).",
        AT_FILE,
    )


def note_san_dropped(facts: CertFacts) -> Note | None:
    """The desired certificate lacks names the installed one carries."""
    leaf, installed = facts.leaf, facts.installed
    if leaf is None or installed is None or not facts.installs_file:
        return None
    dropped = sorted(installed.san_set() - leaf.san_set())
    if not dropped:
        return None
    return Note(
        Code.SAN_DROPPED,
        Severity.WARNING,
        f"the new certificate drops {', '.join(dropped)}, which the live one "
        "carries: clients using those names will fail (Cisco's step A).",
        AT_FILE,
    )


def note_renewal_due(facts: CertFacts) -> Note | None:
    """The live certificate (no desired file) is inside its renewal window."""
    installed = facts.installed
    if installed is None or not (facts.judges_renewal and facts.due):
        return None
    days = (installed.not_after - facts.now).days
    planned = _renewal_step_text(facts)
    why = (facts.when.why if facts.when else facts.ari.describe() if facts.ari
           else f"renew_before {facts.renew_before}")
    return Note(
        Code.RENEWAL_DUE,
        Severity.WARNING,
        f"the live {facts.role + ' ' if facts.role else ''}certificate expires on "
        f"{installed.not_after:%Y-%m-%d} ({days} days left, {why}): {planned}.",
    )


def _renewal_step_text(facts: CertFacts) -> str:
    """What this plan does about a due renewal: the decision's own words, so that the finding
    never promises a CSR the plan does not hold."""
    step = decide(facts).step
    if step is Step.ISSUE:
        return f"issuer {facts.issuer} signs a new one"
    if step is Step.WAIT:
        return "the pending CSR waits for its signed certificate (no new CSR is planned)"
    if step is Step.KEEP:
        return "the node's pending CSR has the names and is kept for the CA"
    if step is Step.HOLD:
        return "no CSR is planned until csr.pending_unknown is resolved"
    if step is Step.REGENERATE:
        return "the node regenerates it (self-signed)"
    return "a CSR is planned"


def note_renews_every_run(facts: CertFacts) -> Note | None:
    """A fixed ``renew_before`` at least as long as the live certificate's lifetime: every
    certificate would be due as soon as it is issued, and renewed at every run."""
    installed = facts.installed
    if installed is None or facts.ari is not None or not facts.judges_renewal:
        return None
    life = installed.not_after - installed.not_before
    if parse_duration(facts.renew_before, installed.not_before, installed.not_after) < life:
        return None
    return Note(
        Code.RENEWAL_EVERY_RUN,
        Severity.ERROR,
        f"renew_before {facts.renew_before} is at least the {life.days}-day lifetime of the "
        "live certificate: every new certificate would be due at once and renewed at every "
        "run. Write a share of the lifetime (renew_before: 1/3) or a shorter time.",
        ("server_certificate", "renew_before"),
    )


def note_waits_for_window(facts: CertFacts) -> Note | None:
    """The CA's ARI window is open, but the renewal waits for the node's first restart
    window inside it (``planning.renewal_timing``): say when, so nobody wonders why not now."""
    ari, when = facts.ari, facts.when
    if ari is None or when is None or facts.due or not ari.start <= facts.now < when.at:
        return None
    return Note(
        Code.RENEWAL_WAITS_FOR_WINDOW,
        Severity.INFO,
        f"the live {_role(facts)}certificate is renewed on {when.at:%Y-%m-%d %H:%M} UTC "
        f"({when.why}): "
        "order, install and drained restart together, so it is never installed and left "
        "unserved outside the window.",
    )


def note_revocation_pending(facts: CertFacts) -> Note | None:
    """The CA asks through ARI for the certificate to be replaced now (an incident: a
    revocation is coming)."""
    ari, installed = facts.ari, facts.installed
    if ari is None or installed is None or not ari.urgent(facts.now):
        return None
    return Note(
        Code.CERT_REVOCATION_PENDING,
        Severity.WARNING,
        f"the CA wants the live {_role(facts)}certificate (serial {installed.serial}) "
        "replaced now: "
        f"{ari.describe()}. Expect it to be revoked by {ari.end:%Y-%m-%d %H:%M} UTC: "
        f"{_renewal_step_text(facts)}.",
    )


def note_revoked(facts: CertFacts) -> Note | None:
    """The installed certificate is on its issuer's CRL: clients that check refuse it."""
    if facts.revoked is None or facts.installed is None:
        return None
    return Note(
        Code.CERT_REVOKED,
        Severity.WARNING,
        f"URGENT: the live {_role(facts)}certificate is revoked: {facts.revoked}. Clients "
        "that check "
        f"revocation refuse it: {_renewal_step_text(facts)}.",
    )


def _role(facts: CertFacts) -> str:
    return f"{facts.role} " if facts.role else ""


def note_san_live_differs(facts: CertFacts) -> Note | None:
    """The live certificate's SANs differ from the desired ones."""
    installed = facts.installed
    if installed is None or not (facts.judges_renewal and facts.sans_differ):
        return None
    parts = []
    if missing := sorted(facts.want - installed.san_set()):
        parts.append(f"lacks {', '.join(missing)}")
    if extra := sorted(installed.san_set() - facts.want):
        parts.append(f"carries {', '.join(extra)} that the new one will drop")
    live = f"the live {facts.role} certificate" if facts.role else "the live certificate"
    return Note(
        Code.SAN_LIVE_DIFFERS,
        Severity.INFO,
        f"{live} {' and '.join(parts)}: a CSR with the desired names is planned.",
    )


def note_csr_waiting(facts: CertFacts) -> Note | None:
    """The decision is to wait for the CA to sign the committed pending CSR."""
    if decide(facts).step is not Step.WAIT:
        return None
    return Note(
        Code.CSR_WAITING,
        Severity.INFO,
        f"the pending CSR {facts.csr_file} waits for a signed certificate: have "
        f"the CA sign it and commit the result as {facts.cert_file} with "
        f"{facts.spec_key}.file set.",
    )


def note_csr_pending_unknown(facts: CertFacts) -> Note | None:
    """The decision is to hold: say why, and exactly what to do."""
    if decide(facts).step is not Step.HOLD:
        return None
    name = facts.csr_file
    record = (f"{name} lacks {', '.join(sorted(facts.want - facts.pending.san_set()))}"
              if facts.pending is not None else f"no {name} is committed")
    return Note(
        Code.CSR_PENDING_UNKNOWN,
        Severity.WARNING,
        f"a new CSR is needed, but the node cannot show whether one is pending (no documented "
        f"read) and {record}: generating one would silently replace a pending CSR and its key "
        "(Cisco: never discard a pending CSR), so no csr.generate is planned. If an earlier "
        f"apply generated one, commit it as {name} (merge the certops/csrs pull "
        "request) and have the CA sign it. If none is pending, or it may be replaced, set "
        f"{facts.spec_key}.replace_pending_csr: true for one apply, then remove it once "
        f"{name} is committed. To have certops read pending CSRs instead (no flag needed), "
        "declare the node's platform CLI in its node file (connection.ssh_port or "
        "connection.ssh_host_key): certops then reads them over SSH (show csr list own); "
        "'certops doctor' checks the CLI login.",
    )


NoteRule = Callable[[CertFacts], "Note | None"]
NOTE_RULES: tuple[NoteRule, ...] = (
    note_key_mismatch,
    note_issuer_changed,
    note_san_dropped,
    note_renewal_due,
    note_renews_every_run,
    note_waits_for_window,
    note_revocation_pending,
    note_revoked,
    note_san_live_differs,
    note_csr_waiting,
    note_csr_pending_unknown,
)


def notes(facts: CertFacts) -> list[Note]:
    """Every finding the rules make about the node's certificate."""
    return [n for n in (rule(facts) for rule in NOTE_RULES) if n is not None]
