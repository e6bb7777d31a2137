"""Issue 23: ``certops doctor`` on a Unified CM at 12.5 says the certificates go over the
platform CLI, logs in, runs the read-only certificate commands in one session, and judges
the capabilities from those checks; nothing is written."""

from __future__ import annotations

from pathlib import Path

from unitkit import declare_cli, session_of

from reconciler.lab import Fault
from reconciler.lab.inprocess import InProcessLab
from reconciler.report.doctor import doctor_text
from reconciler.usecases.doctor import DoctorRequest, doctor

READ_ONLY = ("set cli pagination off", "show ", "utils service list")


async def test_doctor_on_a_12_5_node_checks_the_cli(lab125: InProcessLab,
                                                    desired: Path) -> None:
    lab = lab125
    lab.reset_counters()
    report = await doctor(session_of(lab, desired), DoctorRequest(nodes=("cucm-pub",)))
    text = "\n".join(doctor_text(report))
    assert report.ok and report.writes == 0, text
    assert "transport: the platform CLI over SSH (GET /platformcom" in text
    # tomcat, CallManager, CAPF, ipsec, TVS, ITLRecovery (issue 22: the lab lists every identity)
    assert "cli commands: show version active: 12.5.1.16900-48; show cert list own: 6 files" \
        in text
    assert "version: 12.5.1.16900-48" in text
    for cap in ("trust.add", "csr.generate", "cert.install", "csr.read"):
        assert f"[ ok ] capability {cap}: ready: the SSH login, the CLI certificate commands" \
            in text, cap
    typed = lab.nodes["cucm-pub"].ssh_commands
    assert typed and all(c.startswith(READ_ONLY) for c in typed), typed
    assert lab.counters("cucm-pub")["writes"] == 0


async def test_doctor_names_the_command_whose_output_does_not_parse(
        lab125: InProcessLab, desired: Path) -> None:
    lab125.set_fault("cucm-pub", Fault(match="cert.list", cli_garbage=True, count=1))
    report = await doctor(session_of(lab125, desired), DoctorRequest(nodes=("cucm-pub",)))
    failed = [c for c in report.checks if c.status == "fail"]
    assert [c.check for c in failed] == ["cli commands"]
    assert "show cert list own" in failed[0].detail
    caps = [c for c in report.checks if c.check == "capability cert.install"]
    assert "NOT READY: the CLI certificate commands" in caps[0].detail


async def test_doctor_on_a_14_node_reports_the_rest_transport(lab: InProcessLab,
                                                               desired: Path) -> None:
    report = await doctor(session_of(lab, desired), DoctorRequest(nodes=("cucm-pub",)))
    text = "\n".join(doctor_text(report))
    assert report.ok and "transport: Certificate Management REST API (release 14+)" in text
    assert "cli commands" not in text
    assert "declare connection.ssh_port or ssh_host_key" in text  # pending CSRs unreadable
    declare_cli(lab, "cucm-pub")
    report = await doctor(session_of(lab, desired), DoctorRequest(nodes=("cucm-pub",)))
    assert "pending CSRs and the version over the declared platform CLI" in "\n".join(
        doctor_text(report))


async def test_doctor_with_transport_rest_on_a_12_5_node_says_what_to_set(
        lab125: InProcessLab, desired: Path) -> None:
    node = desired / "nodes" / "cucm-pub.yaml"
    node.write_text(node.read_text() + "connection: {transport: rest}\n")
    report = await doctor(session_of(lab125, desired), DoctorRequest(nodes=("cucm-pub",)))
    failed = [c for c in report.checks if c.status == "fail"]
    assert failed and failed[0].check == "read snapshot" and "404" in failed[0].detail
    assert "connection.transport auto or cli" in failed[0].fix
    assert not [c for c in report.checks if c.check == "cli commands"]
