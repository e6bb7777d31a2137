"""Issue 23: each certificate command's conversation over the platform CLI, through the
driver, against the in-process lab's CLI (the SSH server's session, over a pipe): success,
refusals the node makes, a hung prompt, garbage output, and what the driver typed."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from unitkit import REPO, plan, session_of

from reconciler.drivers import PermanentError, TemporaryError, Unparseable
from reconciler.drivers.cucm import CucmDriver
from reconciler.drivers.vos_cli_certs import COMMANDS, READ_SECONDS
from reconciler.drivers.vos_cli_parse import sha256_of
from reconciler.kinds import kind_of
from reconciler.lab import Fault
from reconciler.lab.ca import cert_pem, new_key
from reconciler.lab.inprocess import InProcessLab
from reconciler.lab.state import TrustEntry
from reconciler.model import Code
from reconciler.usecases.loading import load_fleet


def vos_driver(lab: InProcessLab, desired: Path, name: str = "cucm-pub") -> CucmDriver:
    fleet = load_fleet(session_of(lab, desired), datetime.now(UTC)).fleet
    driver = lab.drivers(fleet.desired, [name])[name]
    assert isinstance(driver, CucmDriver)
    return driver


def sha(pem: str) -> str:
    return sha256_of(pem)


def clusters_desired(folder: Path) -> Path:
    root = folder / "desired-state-clusters"
    shutil.copytree(REPO / "desired-state-clusters", root)
    return root


def typed(lab: InProcessLab, name: str = "cucm-pub") -> list[str]:
    return lab.nodes[name].ssh_commands


async def test_trust_import_pastes_each_ca_and_reads_the_store_back(
        lab125: InProcessLab, desired: Path) -> None:
    lab = lab125
    driver = vos_driver(lab, desired)
    await driver.read()
    new_cas = lab.lab.nodes["cucm-pub"].pki.chain_for("new")
    pems = [cert_pem(c) for c in new_cas]
    outcome = await driver.trust_add("callmanager-trust", pems)
    assert outcome.count("added") == len(pems), outcome
    stored = {e.sha256 for e in lab.nodes["cucm-pub"].state.trust["callmanager"]}
    assert {sha(p) for p in pems} <= stored
    assert typed(lab).count("set cert import trust CallManager") == len(pems)
    # The restarts the import asks for are the REST ones (the lab's restart-pending flags).
    assert "Cisco CallManager" in lab.nodes["cucm-pub"].state.restart_pending


async def test_csr_generate_then_read_then_install(lab125: InProcessLab, desired: Path) -> None:
    """``set csr gen tomcat`` (no OU prompt at 12.5), ``show csr own`` gives the pending CSR
    (``csr_read``), ``set cert import own tomcat`` installs its signed certificate."""
    lab = lab125
    driver = vos_driver(lab, desired)
    live = await driver.read()
    assert live.pending_csr is None
    csr = await driver.csr_generate(["cucm-pub.nart.com", "cucm.nart.com"])
    assert await driver.csr_read() == csr
    assert (await driver.read()).pending_csr == csr
    chain = lab.sign(csr, "new")
    leaf, *cas = [cert_pem(c) for c in x509.load_pem_x509_certificates(chain.encode())]
    await driver.trust_add("tomcat-trust", cas)
    await driver.cert_install(leaf, cas)
    state = lab.nodes["cucm-pub"].state
    assert sha(state.identities["tomcat"].cert_pem) == sha(leaf)
    assert state.pending_csrs == {} and await driver.csr_read() is None
    assert sha(await driver.installed_certificate() or "") == sha(leaf)
    assert "set cert import own tomcat" in typed(lab)


async def test_the_14su2_ou_prompt_is_answered(lab125: InProcessLab, desired: Path) -> None:
    """A 14SU2 node read over the CLI (``connection.transport: cli``) asks ``Include OU in
    CSR (yes|no)?``: certops answers ``no`` (the new default) and the CSR is made."""
    lab = lab125
    lab.nodes["cucm-pub"].state.version = "14.0.1.12900-161"
    driver = vos_driver(lab, desired)
    driver.over_cli = True
    csr = await driver.csr_generate(["cucm-pub.nart.com"])
    assert "CERTIFICATE REQUEST" in csr and "cucm-pub.nart.com" in str(
        x509.load_pem_x509_csr(csr.encode()).extensions)


async def test_a_csr_without_a_wanted_name_is_refused_with_the_gui_step(
        lab125: InProcessLab, desired: Path) -> None:
    driver = vos_driver(lab125, desired)
    with pytest.raises(PermanentError, match=r"lacks extra\.nart\.com") as caught:
        await driver.csr_generate(["cucm-pub.nart.com", "extra.nart.com"])
    assert "Generate CSR" in caught.value.hint and "extra.nart.com" in caught.value.hint


async def test_import_of_a_certificate_for_another_key_is_refused(
        lab125: InProcessLab, desired: Path) -> None:
    """A signed certificate whose key matches neither the pending CSR nor the current key:
    the node's refusal is quoted, nothing is installed."""
    lab = lab125
    driver = vos_driver(lab, desired)
    pki = lab.lab.nodes["cucm-pub"].pki
    stranger = cert_pem(pki.issue("old", new_key("ec256").public_key(), "cucm-pub.nart.com",
                                  ["cucm-pub.nart.com"]))
    before = lab.nodes["cucm-pub"].state.identities["tomcat"].cert_pem
    with pytest.raises(PermanentError, match="SSH CLI refused") as caught:
        await driver.cert_install(stranger, [])
    assert caught.value.path == "set cert import own tomcat"
    assert lab.nodes["cucm-pub"].state.identities["tomcat"].cert_pem == before


async def test_import_while_the_ca_is_not_trusted_is_refused(lab125: InProcessLab,
                                                             desired: Path) -> None:
    lab = lab125
    driver = vos_driver(lab, desired)
    csr = await driver.csr_generate(["cucm-pub.nart.com", "cucm.nart.com"])
    leaf = lab.sign(csr, "new").split("-----END CERTIFICATE-----")[0] + \
        "-----END CERTIFICATE-----\n"
    with pytest.raises(PermanentError, match="not in tomcat-trust"):
        await driver.cert_install(leaf, [])
    assert "tomcat" in lab.nodes["cucm-pub"].state.pending_csrs  # the CSR stays pending


async def test_a_hung_paste_prompt_times_out_naming_the_command(
        lab125: InProcessLab, desired: Path) -> None:
    lab = lab125
    driver = vos_driver(lab, desired)
    driver.restart_timeout = 0.3  # the command's deadline (real nodes: 120 s)
    await driver.read()
    lab.set_fault("cucm-pub", Fault(match="cert.import", cli_hang=True, count=1))
    ca = cert_pem(lab.lab.nodes["cucm-pub"].pki.chain_for("new")[0])
    with pytest.raises(TemporaryError, match=r"hung: no admin: prompt 0\.3s after "
                       r"'set cert import trust tomcat'"):
        await driver.trust_add("tomcat-trust", [ca])
    assert ca not in [e.pem for e in lab.nodes["cucm-pub"].state.trust["tomcat"]]


async def test_read_timeout_bounds_a_hung_read_command_not_an_import(
        lab125: InProcessLab, desired: Path) -> None:
    """connection.read_timeout caps the commands without a longer deadline of their own (a
    hung `show` gives up after it: the soak's hung CLI); an import keeps its 120 s."""
    lab = lab125
    driver = vos_driver(lab, desired)
    driver.endpoint = replace(driver.endpoint, read_timeout=0.2)
    lab.set_fault("cucm-pub", Fault(match="cert.list", cli_hang=True, count=1))
    with pytest.raises(TemporaryError, match=r"hung: no admin: prompt 0\.2s after "
                       r"'show cert list own'"):
        await driver.read()
    assert COMMANDS["cert.import"].seconds > READ_SECONDS >= COMMANDS["cert.list"].seconds


@pytest.mark.parametrize(("command", "typed_text"), [
    ("cert.list", "show cert list own"),
    ("cert.show", "show cert own tomcat/tomcat.pem"),
])
async def test_garbage_output_is_unparseable_naming_the_command(
        lab125: InProcessLab, desired: Path, command: str, typed_text: str) -> None:
    lab = lab125
    lab.set_fault("cucm-pub", Fault(match=command, cli_garbage=True, count=1))
    with pytest.raises(Unparseable) as caught:
        await vos_driver(lab, desired).read()
    assert caught.value.path == typed_text and typed_text in str(caught.value)


async def test_garbage_in_a_plan_is_live_unparseable_naming_the_command(
        lab125: InProcessLab, desired: Path) -> None:
    lab125.set_fault("cucm-pub", Fault(match="cert.list", cli_garbage=True))
    run, _ = await plan(lab125, desired)
    bad = [f for f in run.plan.findings if f.code == Code.LIVE_UNPARSEABLE]
    assert [f.node for f in bad] == ["cucm-pub"] and "show cert list own" in bad[0].message


async def test_trust_delete_is_cluster_wide_and_read_back(clab125: InProcessLab,
                                                          tmp_path: Path) -> None:
    """``set cert delete`` of the file holding the CA, typed on the publisher; gone on every
    member (cluster-wide from 11.0 [C])."""
    lab = clab125
    root = clusters_desired(tmp_path)
    driver = vos_driver(lab, root)
    old_ca = lab.nodes["cucm-pub"].state.trust["tomcat"][-1]
    await driver.trust_remove("tomcat-trust", old_ca.sha256)
    assert any(t.startswith("set cert delete tomcat-trust ") for t in typed(lab))
    for name in ("cucm-pub", "cucm-sub1", "cucm-sub2"):
        assert old_ca.sha256 not in {e.sha256 for e in lab.nodes[name].state.trust["tomcat"]}
    assert not [t for t in typed(lab, "cucm-sub1") if t.startswith("set cert delete")]


def same_subject_ca(pem: str) -> str:
    """Another self-signed CA whose subject is that of ``pem``'s certificate."""
    subject = x509.load_pem_x509_certificate(pem.encode()).subject
    key = new_key("ec256")
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=9))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))  # type: ignore[arg-type]
    return cert_pem(cert)


async def test_trust_delete_of_a_same_name_file_stops_for_a_manual_step(
        lab125: InProcessLab, desired: Path) -> None:
    """Two CAs with one subject in a store: ``set cert delete`` cannot tell their files
    apart [U], so nothing is deleted and the exact command is named for a person."""
    lab = lab125
    entries = lab.nodes["cucm-pub"].state.trust["tomcat"]
    entries.append(TrustEntry.of(same_subject_ca(entries[0].pem)))
    driver = vos_driver(lab, desired)
    with pytest.raises(PermanentError, match="cannot tell same-name files apart") as caught:
        await driver.trust_remove("tomcat-trust", entries[0].sha256)
    assert caught.value.hint.startswith("delete it by hand: set cert delete tomcat-trust ")
    assert not [t for t in typed(lab) if t.startswith("set cert delete")]
    assert len(lab.nodes["cucm-pub"].state.trust["tomcat"]) == 3


async def test_regenerate_tomcat_and_itlrecovery(lab125: InProcessLab, desired: Path) -> None:
    lab = lab125
    driver = vos_driver(lab, desired)
    before = lab.nodes["cucm-pub"].state.identities["tomcat"].cert_pem
    await driver.cert_regenerate("tomcat")
    after = lab.nodes["cucm-pub"].state.identities["tomcat"].cert_pem
    cert = x509.load_pem_x509_certificate(after.encode())
    assert after != before and cert.issuer == cert.subject
    await driver.cert_regenerate("ITLRecovery")  # answers "Proceed with regeneration"
    assert typed(lab)[-1] == "set cert regen ITLRecovery"


@pytest.mark.parametrize("kind", ["imp", "cuc"])
async def test_im_and_presence_and_unity_connection_at_12_5_read_over_the_cli(
        tmp_path: Path, kind: str) -> None:
    """The other VOS products at 12.5 read the same way: every store of their kind, through
    the CLI units (``cup``, ``cup-xmpp`` [U]; ``CallManager`` [3P])."""
    from reconciler.drivers.fleet import endpoint_from_inventory, make_driver
    from reconciler.lab.ca import reuse_rsa_keys
    from reconciler.lab.inprocess import FAST_HTTP
    from reconciler.lab.topology import Topology, TopologyDefaults, TopologyNode

    reuse_rsa_keys()
    topology = Topology(defaults=TopologyDefaults(key="ec256"), nodes=[
        TopologyNode(name="old", type=kind, fqdn="old.nart.com", version="12.5.1.16900-48")])
    async with InProcessLab.start(tmp_path / "lab", topology=topology) as lab:
        endpoint = endpoint_from_inventory("old", lab.inventory)
        driver = make_driver(endpoint, list(lab.inventory.ca_pems), FAST_HTTP, lab.factory)
        try:
            live = await driver.read()
        finally:
            await driver.aclose()
        node = lab.nodes["old"]
        assert live.error is None and live.transport == "cli"
        for store, pems in live.stores.items():
            service = store.removesuffix("-trust")
            want = [*node.builtins[: node.state.builtin_cas], *node.state.trust.get(service, [])]
            assert [sha(p) for p in pems] == [e.sha256 for e in want], store
        assert set(live.stores) == set(kind_of(kind).stores)
        assert sha(live.server_certificate or "") == sha(
            node.state.identities["tomcat"].cert_pem)


async def test_every_cli_command_is_on_the_audit_trail_without_the_pasted_pem(
        lab125: InProcessLab, desired: Path, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    driver = vos_driver(lab125, desired)
    ca = cert_pem(lab125.lab.nodes["cucm-pub"].pki.chain_for("new")[0])
    with caplog.at_level(logging.INFO, logger="certops.audit"):
        await driver.trust_add("tomcat-trust", [ca])
    records = [r for r in caplog.records if r.name == "certops.audit"]
    ops = [(getattr(r, "operation", ""), getattr(r, "status", "")) for r in records]
    assert ("SSH set cert import trust tomcat", "ok") in ops
    assert ("SSH set cli pagination off", "ok") in ops
    assert all(getattr(r, "node", "") == "cucm-pub" for r in records)
    assert "BEGIN CERTIFICATE" not in caplog.text


async def test_a_session_that_ends_mid_command_is_unreachable(
        lab125: InProcessLab, desired: Path) -> None:
    """The CLI closing the session (the node rebooting) is a connection failure that may
    have acted (``sent``), never a crash."""
    from reconciler.drivers import Unreachable
    from reconciler.drivers.cli_replay import Pipe, piped

    async def hang_up(stdin: Pipe, stdout: Pipe) -> None:
        stdout.write("Welcome to the Platform Command Line Interface\n")
        await stdin.readline()
        stdout.write("admin:")
        await stdin.readline()  # set cli pagination off: the session ends instead

    driver = vos_driver(lab125, desired)
    driver.shell = piped(hang_up)
    with pytest.raises(Unreachable, match="session ended during 'set cli pagination off'") \
            as caught:
        await driver.read()
    assert caught.value.sent
