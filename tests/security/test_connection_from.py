"""Issue 16 item 4: a pull request cannot make certops send a node's credentials elsewhere.

With ``--connection-from`` the connection settings (and cas/) come from the base; a node
whose settings the change edits is not contacted, and the plan highlights it.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from unitkit import session_of

from reconciler.lab.inprocess import InProcessLab
from reconciler.model import Code
from reconciler.report.plan import plan_markdown, plan_text
from reconciler.usecases.plan import PlanRequest, plan


def attack(root: Path) -> None:
    """What the malicious pull request does: its own server for expe1, and a CA for it."""
    node = root / "nodes" / "expe1.yaml"
    node.write_text(node.read_text().replace("api: https://expe1.nart.com",
                                             "api: https://collector.attacker.example"))


async def test_changed_api_is_not_contacted_and_is_highlighted(
    lab: InProcessLab, desired: Path, tmp_path: Path
) -> None:
    base = tmp_path / "base"
    shutil.copytree(desired, base)
    attack(desired)
    lab.reset_counters()
    run = await plan(session_of(lab, desired), PlanRequest(connection_from=str(base)))
    assert lab.counters("expe1")["total"] == 0  # no request, so no Basic-auth header
    assert lab.counters("expc1")["total"] > 0  # the other nodes are planned as usual
    changed = [f for f in run.plan.findings if f.code == Code.CONNECTION_CHANGED]
    assert [f.node for f in changed] == ["expe1"] and "api" in changed[0].message
    assert run.plan.blocked
    assert any(line.startswith("!!! SECURITY-RELEVANT: expe1") for line in plan_text(run.plan))
    assert "[!CAUTION]" in plan_markdown(run.plan)


async def test_from_a_git_ref(lab: InProcessLab, desired: Path) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(desired), *args], check=True, capture_output=True)

    git("init", "-q")
    git("-c", "user.email=t@t", "-c", "user.name=t", "add", ".")
    git("-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "base")
    node = desired / "nodes" / "expc1.yaml"
    node.write_text(node.read_text().replace("password_env: EXPC1_PASSWORD",
                                             "password_env: EXPE1_PASSWORD"))
    lab.reset_counters()
    run = await plan(session_of(lab, desired), PlanRequest(connection_from="HEAD"))
    changed = {f.node: f.message for f in run.plan.findings if f.code == Code.CONNECTION_CHANGED}
    assert list(changed) == ["expc1"] and "credentials" in changed["expc1"]
    assert lab.counters("expc1")["total"] == 0


async def test_same_settings_plan_as_before(lab: InProcessLab, desired: Path,
                                            tmp_path: Path) -> None:
    base = tmp_path / "base"
    shutil.copytree(desired, base)
    run = await plan(session_of(lab, desired), PlanRequest(connection_from=str(base)))
    plain = await plan(session_of(lab, desired))
    assert [a.id for a in run.plan.actions] == [a.id for a in plain.plan.actions]
    assert not [f for f in run.plan.findings if f.code == Code.CONNECTION_CHANGED]


async def test_a_change_cannot_pin_an_expired_api_certificate(
    lab: InProcessLab, desired: Path, tmp_path: Path
) -> None:
    """The pins that let certops use an expired API certificate (drivers/tlsrecovery.py)
    come from the base too: a pull request that commits a certificate as certs/expe1.pem or
    adds connection.recovery_pins on expc1 pins nothing for its own plan (expc1 is not even
    contacted: its connection settings changed)."""
    from reconciler.usecases.loading import load_fleet
    from reconciler.usecases.plan import connect_from_base

    base = tmp_path / "base"
    shutil.copytree(desired, base)
    (desired / "certs" / "expe1.pem").write_text(lab.nodes["expe1"].state.served.cert_pem)
    node = desired / "nodes" / "expc1.yaml"
    node.write_text(node.read_text() + "connection:\n  recovery_pins: ['sha256:" + "ab" * 32
                    + "']\n")
    session = session_of(lab, desired)
    loaded = load_fleet(session, session.now())
    assert loaded.fleet.desired.files.get("certs/expe1.pem") is not None  # the change has it
    drivers, skipped, _ = connect_from_base(session, loaded, ["expe1", "expc1", "cucm-pub"],
                                            str(base))
    try:
        assert drivers["expe1"].endpoint.recovery_pins == ()
        assert "expc1" in skipped and "expc1" not in drivers
    finally:
        for driver in drivers.values():
            await driver.aclose()
