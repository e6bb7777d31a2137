"""Issue 23: the platform CLI conversation recorded from the public evidence (Cisco's CLI
reference, the pyATS VOS plugin, public scripts) replays through the driver: the banner,
the prompt after an escape code, a pager after pagination is off, the paste prompt, the
older two-space CSR success line. The node it describes reads as the REST recording's node
does: the same identity, the same stores, the same fingerprint parts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reconciler.drivers import PermanentError
from reconciler.drivers.base import Endpoint
from reconciler.drivers.cli_replay import CliReplay
from reconciler.drivers.cucm import CucmDriver
from reconciler.drivers.fleet import make_driver
from reconciler.drivers.http import HttpSettings
from reconciler.drivers.seams import DriverFactory
from reconciler.drivers.vos_cli_parse import sha256_of
from reconciler.lab.inprocess import InProcessLab
from reconciler.model import LiveNode

RECORDINGS = Path(__file__).resolve().parents[1] / "fixtures" / "recordings" / "vos"
CLI = RECORDINGS / "cucm125-cli-public-evidence.json"
REST = RECORDINGS / "cucm-pub-public-evidence.json"


def recording(path: Path = CLI) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def replayed(replay: CliReplay, served: str) -> CucmDriver:
    """cucm-old's driver over the CLI (``connection.transport: cli``), every answer from the
    recording; no socket is opened."""
    endpoint = Endpoint(name="cucm-old", type="cucm", api="https://cucm.example.com:8443",
                        username="admin", password="x", transport="cli")

    async def probe() -> str | None:
        return served

    factory = DriverFactory(probe_for=lambda _: probe, shell_for=lambda _: replay.opener())
    driver = make_driver(endpoint, [], HttpSettings(), factory)
    assert isinstance(driver, CucmDriver)
    return driver


def identity() -> str:
    body = recording(REST)["exchanges"][0]["response"]["body"]
    pem: str = body["identities"][0]["certificate"]
    return pem


def test_every_exchange_names_its_source_and_no_secret() -> None:
    text = CLI.read_text().lower()
    assert all(e["source"] for e in recording()["exchanges"])
    assert "password" not in text and "authorization" not in text


async def test_the_recording_reads_like_the_rest_recording() -> None:
    replay = CliReplay(recording())
    driver = replayed(replay, identity())
    try:
        live = await driver.read()
    finally:
        await driver.aclose()
    assert live.error is None and live.transport == "cli" and live.version == "12.5.1.16900-48"
    rest = recording(REST)["exchanges"][0]["response"]["body"]
    as_rest = LiveNode(
        name="cucm-old", type="cucm", server_certificate=identity(),
        served_certificate=identity(),
        stores={t["service"]: tuple(c["certificate"] for c in t["certificate_data"])
                for t in rest["trusts"]},
    )
    assert live.fingerprint_parts() == as_rest.fingerprint_parts()
    assert replay.typed[0] == "set cli pagination off"  # before anything else [C]


async def test_import_csr_and_install_replay_through_the_driver() -> None:
    replay = CliReplay(recording())
    driver = replayed(replay, identity())
    new_ca = next(e for e in recording()["exchanges"]
                  if e["command"].endswith("Example_VOS_Recording_New_CA.pem"))
    pem = new_ca["output"][0]["text"].split("]\n", 1)[1]
    try:
        await driver.read()
        outcome = await driver.trust_add("tomcat-trust", [pem])
        csr = await driver.csr_generate(["cucm.example.com"])
        await driver.cert_install(identity(), [])
    finally:
        await driver.aclose()
    assert outcome == "added 'CN=Example VOS Recording New CA' to tomcat-trust"
    assert "CERTIFICATE REQUEST" in csr
    assert "set csr gen tomcat" in replay.typed and "set cert import own tomcat" in replay.typed
    assert sha256_of(pem) and not [t for t in replay.typed if "not in the recording" in t]


async def test_a_command_missing_from_the_recording_is_a_refusal() -> None:
    """The replay never invents an answer: a command it lacks is refused, named."""
    replay = CliReplay(recording())
    driver = replayed(replay, identity())
    try:
        await driver.read()
        await driver.cert_regenerate("tomcat")
    except PermanentError as exc:
        assert "not in the recording: set cert regen tomcat" in str(exc)
    else:
        raise AssertionError("a command the recording lacks was taken for a success")
    finally:
        await driver.aclose()


async def test_the_lab_answers_like_the_recording(lab125: InProcessLab) -> None:
    """Command by command, the lab's 12.5 CLI answers in the recorded forms: the list lines,
    a PEM where the recording has one, the same success line (the fidelity check
    ``tests/unit/test_vos_recording.py`` makes for REST)."""
    from reconciler.drivers.vos_cli_certs import session
    from reconciler.drivers.vos_cli_parse import parse_cert_list

    async with session("cucm-pub", lab125.shells["cucm-pub"]) as shell:
        own = await shell.run("cert.list", unit="own")
        trust = await shell.run("cert.list", unit="trust")
        first = parse_cert_list(trust, "show cert list trust")[0]
        shown = await shell.run("cert.show", unit="trust", file=first.ref)
        version = await shell.run("version")
    recorded = {e["command"]: "".join(s["text"] for s in e["output"])
                for e in recording()["exchanges"]}  # a command's last exchange
    for text, want in ((own, recorded["show cert list own"]),
                       (trust, recorded["show cert list trust"])):
        for lines in (text, want):
            rows = [ln for ln in lines.splitlines() if ln.strip()]
            assert rows and all("/" in ln.split(": ", 1)[0] for ln in rows), lines
    assert "tomcat/tomcat.pem: " in own and "tomcat/tomcat.pem: " in recorded[
        "show cert list own"]
    assert "-----BEGIN CERTIFICATE-----" in shown
    assert version.split(":", 1)[0] == recorded["show version active"].split(":", 1)[0]
