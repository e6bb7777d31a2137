"""Each rule of the certificate lifecycle (reconciler.planning.lifecycle) on its own."""

from __future__ import annotations

from datetime import timedelta

import pytest
from lifecycle_support import NOW, SANS, WANT, facts, installed, pki

from reconciler.model import Severity
from reconciler.model.renewal import RenewalWindow
from reconciler.planning.lifecycle import (
    DECISION_RULES,
    NOTE_RULES,
    Decision,
    RenewalTime,
    Step,
    decide,
    generate_why,
    note_csr_waiting,
    note_issuer_changed,
    note_key_mismatch,
    note_renewal_due,
    note_san_dropped,
    note_san_live_differs,
    notes,
    renewal_due,
    renewal_time,
    rule_generate,
    rule_hold,
    rule_install,
    rule_issue,
    rule_keep,
    rule_restart,
    rule_wait,
)

# --- facts --------------------------------------------------------------------------------


def test_renewal_due_window() -> None:
    cert = installed()  # not after 2027-06-01
    assert not renewal_due(None, "30d", NOW)
    assert not renewal_due(cert, "30d", NOW)
    assert renewal_due(cert, "30d", cert.not_after - timedelta(days=29))
    assert renewal_due(cert, "30d", cert.not_after - timedelta(days=30))
    assert not renewal_due(cert, "30d", cert.not_after - timedelta(days=31))
    assert renewal_due(cert, "60%", NOW)  # a year's lifetime, 187 days left


def test_facts_stages() -> None:
    assert not facts().triggered
    assert facts(due=True).triggered
    assert facts(want=frozenset({"c.example.com"})).triggered
    # A desired leaf equal to the installed one: nothing is judged.
    same = facts(leaf=installed(), file="certs/n.pem", due=True)
    assert not same.installs_file and not same.judges_renewal and not same.triggered
    # Nothing installed, nothing pending, nothing wanted: nothing to judge.
    assert not facts(installed=None, want=frozenset()).judges_renewal
    assert facts(installed=None, want=frozenset(), live_pending=True).judges_renewal


def test_pending_fits_needs_every_wanted_name() -> None:
    assert facts(pending=pki().csr([*SANS, "extra.example.com"])).pending_fits
    assert not facts(pending=pki().csr(SANS[:1])).pending_fits
    assert not facts().pending_fits


# --- decision rules -----------------------------------------------------------------------


def test_rule_install() -> None:
    new = pki().cert(key=pki().next_key)
    assert rule_install(facts(leaf=new, file="certs/n.pem")) == Decision(Step.INSTALL)
    assert rule_install(facts(leaf=new, installed=None)) == Decision(Step.INSTALL)
    assert rule_install(facts(leaf=installed())) is None
    assert rule_install(facts()) is None


def test_rule_issue() -> None:
    due = facts(due=True, issuer="ca1")
    assert rule_issue(due) == Decision(Step.ISSUE, why="renewal is due")
    kept = rule_issue(facts(due=True, issuer="ca1", pending=pki().csr()))
    assert kept == Decision(Step.ISSUE, keep_pending=True)
    # A committed pending CSR is issued too: with an issuer nobody waits for a CA.
    committed = facts(due=True, issuer="ca1", pending=pki().csr(), pending_is_committed=True)
    assert rule_issue(committed) == Decision(Step.ISSUE, keep_pending=True)
    assert rule_issue(facts(due=True)) is None
    assert rule_issue(facts(issuer="ca1")) is None


def test_rule_wait() -> None:
    waiting = facts(due=True, pending=pki().csr(), pending_is_committed=True)
    assert rule_wait(waiting) == Decision(Step.WAIT)
    assert rule_wait(facts(due=True, pending=pki().csr())) is None
    assert rule_wait(facts(pending=pki().csr(), pending_is_committed=True)) is None


def test_rule_keep() -> None:
    assert rule_keep(facts(due=True, pending=pki().csr())) == Decision(Step.KEEP)
    assert rule_keep(facts(due=True, pending=pki().csr(SANS[:1]))) is None
    assert rule_keep(facts(pending=pki().csr())) is None


def test_rule_generate_and_its_reason() -> None:
    assert rule_generate(facts(due=True)) == Decision(Step.GENERATE, why="renewal is due")
    differ = facts(want=WANT | {"c.example.com"})
    assert rule_generate(differ) == Decision(
        Step.GENERATE, why="the SANs differ from the desired ones"
    )
    discarded = generate_why(facts(due=True, pending=pki().csr(SANS[:1])))
    assert discarded == "renewal is due; the pending CSR lacks b.example.com and is discarded first"
    assert rule_generate(facts()) is None


def test_rule_hold_where_a_pending_csr_cannot_be_read() -> None:
    """VOS: a new CSR might silently replace a pending one that certops cannot see."""
    vos = {"due": True, "pending_unreadable": True}
    assert rule_hold(facts(**vos)) == Decision(Step.HOLD)
    assert decide(facts(**vos, issuer="ca1")).step is Step.HOLD  # issuance holds too
    assert decide(facts(**vos, replace_pending=True)).step is Step.GENERATE  # allowed
    assert decide(facts(**vos, csr_answered=True)).step is Step.GENERATE  # its CSR was used
    assert rule_hold(facts(due=True)) is None  # the pending CSR is read (Expressway)
    assert decide(facts(**vos, pending=pki().csr())).step is Step.KEEP  # certops' own CSR
    assert decide(facts(**vos, restart_pending=True)).restart_pending
    [note] = [n for n in notes(facts(**vos)) if n.code == "csr.pending_unknown"]
    assert "no csrs/node1.csr.pem is committed" in note.message
    assert "server_certificate.replace_pending_csr: true" in note.message


def test_rule_restart() -> None:
    assert rule_restart(facts(restart_pending=True)) == Decision(Step.RESTART)
    assert rule_restart(facts()) is None


def test_decide_order_and_pending_restart() -> None:
    assert [r.__name__ for r in DECISION_RULES] == [
        "rule_install",
        "rule_regenerate",
        "rule_hold",
        "rule_issue",
        "rule_wait",
        "rule_keep",
        "rule_generate",
        "rule_restart",
    ]
    new = pki().cert(key=pki().next_key)
    # An install brings its own restart.
    assert decide(facts(leaf=new, restart_pending=True)) == Decision(Step.INSTALL)
    assert decide(facts(due=True, issuer="ca1", restart_pending=True)).restart_pending is False
    # A CSR (new, kept or waiting) leaves the pending restart to do alongside.
    for pending in ({}, {"pending": pki().csr()}):
        assert decide(facts(due=True, restart_pending=True, **pending)).restart_pending
    assert decide(facts(restart_pending=True)) == Decision(Step.RESTART)
    assert decide(facts()) == Decision(Step.NOTHING)


# --- finding rules ------------------------------------------------------------------------


def test_note_key_mismatch() -> None:
    other = pki().cert(key=pki().next_key)  # signed for the next key
    note = note_key_mismatch(facts(leaf=other, file="certs/n.pem"))
    assert note is not None and note.severity is Severity.ERROR and note.code == "csr.key_mismatch"
    assert note.at == ("server_certificate", "file") and "certs/n.pem" in note.message
    assert note_key_mismatch(facts(leaf=other, file="f", pending=pki().csr())) is None
    same_key = pki().cert(ca=pki().new)  # re-signed for the installed key
    assert note_key_mismatch(facts(leaf=same_key, file="f")) is None
    assert note_key_mismatch(facts()) is None


def test_note_issuer_changed() -> None:
    new_ca = pki().cert(ca=pki().new)
    note = note_issuer_changed(facts(leaf=new_ca, file="certs/n.pem"))
    assert note is not None and note.severity is Severity.INFO
    assert "Test Issuing CA G2" in note.message
    same_ca = pki().cert(key=pki().next_key)
    assert note_issuer_changed(facts(leaf=same_ca, file="f")) is None
    assert note_issuer_changed(facts(leaf=new_ca, file="f", installed=None)) is None


def test_note_san_dropped() -> None:
    fewer = pki().cert(SANS[:1], key=pki().next_key)
    note = note_san_dropped(facts(leaf=fewer, file="f"))
    assert note is not None and note.severity is Severity.WARNING
    assert "drops b.example.com" in note.message
    assert note_san_dropped(facts(leaf=pki().cert(key=pki().next_key), file="f")) is None


def test_note_renewal_due() -> None:
    note = note_renewal_due(facts(due=True))
    assert note is not None and note.severity is Severity.WARNING
    assert "2027-06-01" in note.message and "a CSR is planned" in note.message
    issued = note_renewal_due(facts(due=True, issuer="ca1"))
    assert issued is not None and "issuer ca1 signs a new one" in issued.message
    assert note_renewal_due(facts()) is None
    # With a committed certificate the offline check reports renewal of that file instead.
    assert note_renewal_due(facts(due=True, leaf=installed())) is None


def test_note_san_live_differs() -> None:
    note = note_san_live_differs(facts(want=frozenset({"a.example.com", "c.example.com"})))
    assert note is not None and note.severity is Severity.INFO
    assert "lacks c.example.com and carries b.example.com" in note.message
    assert note_san_live_differs(facts()) is None
    assert note_san_live_differs(facts(installed=None, live_pending=True)) is None


def test_note_csr_waiting() -> None:
    waiting = facts(due=True, pending=pki().csr(), pending_is_committed=True)
    note = note_csr_waiting(waiting)
    assert note is not None and "csrs/node1.csr.pem" in note.message
    assert note_csr_waiting(facts(due=True, pending=pki().csr())) is None
    with_issuer = facts(due=True, pending=pki().csr(), pending_is_committed=True, issuer="ca1")
    assert note_csr_waiting(with_issuer) is None


@pytest.mark.parametrize(
    ("changes", "codes"),
    [
        ({}, []),
        ({"due": True}, ["renewal.due"]),
        ({"due": True, "want": WANT | {"c.example.com"}}, ["renewal.due", "san.live_differs"]),
        (
            {"due": True, "pending": "csr", "pending_is_committed": True},
            ["renewal.due", "csr.waiting"],
        ),
        ({"due": True, "revoked": "serial 1 is on CA's CRL"}, ["renewal.due", "cert.revoked"]),
        ({"due": True, "ari": "urgent"}, ["renewal.due", "cert.revocation_pending"]),
        ({"ari": "later"}, []),
        ({"renew_before": "4000d"}, ["renewal.every_run"]),
        ({"renew_before": "4000d", "ari": "later"}, []),  # the CA times it: no renew_before
        ({"ari": "open", "when": "window"}, ["renewal.waits_for_window"]),
        ({"ari": "open", "when": "window", "due": True}, ["renewal.due"]),
    ],
)
def test_notes_collects_every_rule(changes: dict[str, object], codes: list[str]) -> None:
    if changes.get("pending") == "csr":
        changes = {**changes, "pending": pki().csr()}
    if changes.get("ari") in ("urgent", "later"):
        changes = {**changes, "ari": _window(urgent=changes["ari"] == "urgent")}
    if changes.get("ari") == "open":  # opened after it was asked; the restart window in 5 h
        ari = _window(urgent=False).model_copy(update={"start": NOW - timedelta(minutes=30)})
        when = RenewalTime(NOW + timedelta(hours=5), "ari", "in restart window nightly")
        changes = {**changes, "ari": ari, "when": when}
    assert [n.code for n in notes(facts(**changes))] == codes
    assert len(NOTE_RULES) == 11


def _window(*, urgent: bool) -> RenewalWindow:
    """An ARI window that had opened when the CA was asked (urgent), or opens in a week."""
    start = NOW - timedelta(days=1) if urgent else NOW + timedelta(days=7)
    return RenewalWindow(cert_id="a.b", issuer="ca1", node="node1", start=start,
                         end=start + timedelta(days=2), checked_at=NOW - timedelta(hours=1),
                         next_check=NOW + timedelta(hours=5),
                         explanation_url="https://ca.example/incident" if urgent else None)


def test_renewal_time_says_when_and_why() -> None:
    cert = installed()
    life = cert.not_after - cert.not_before
    fixed = renewal_time(cert, "30d", None)
    assert (fixed.at, fixed.source) == (cert.not_after - timedelta(days=30), "fixed")
    third = renewal_time(cert, "1/3", None)
    assert (third.at, third.source, third.why) == (cert.not_after - life / 3, "fraction",
                                                   "renew_before 1/3")
    ari = renewal_time(cert, "30d", _window(urgent=False))
    assert (ari.at, ari.source) == (NOW + timedelta(days=7), "ari")
    assert "the CA's ARI window" in ari.why


def test_rule_regenerate_self_signed() -> None:
    """A self-signed identity that is due is regenerated on the node: never a CSR, never held
    for an unreadable pending CSR, and its names (the node's own) never trigger it."""
    due = facts(due=True, self_signed=True, want=frozenset(), pending_unreadable=True)
    assert decide(due) == Decision(Step.REGENERATE, why="renewal is due")
    assert decide(facts(self_signed=True, want=frozenset())) == Decision(Step.NOTHING)
    assert not facts(self_signed=True, want=frozenset()).sans_differ
    assert decide(facts(due=True, pending_unreadable=True)).step is Step.HOLD
