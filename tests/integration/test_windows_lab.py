"""Change windows end to end over HTTPS and the CLI, with real cron expressions and the real
clock: a window that is closed now (it opens once a day, twelve hours from now), then one that
is open now (every minute, for an hour). The rules one by one are tested in process
(tests/unit/test_windows_inprocess.py)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from fleet import (
    NODES,
    apply_args,
    assert_invariant,
    certops,
    generate_csrs,
    report,
    served,
    sign_all,
)

from reconciler.lab import LabThread
from reconciler.model.layout import OWED_RESTARTS_FILE


def set_window(desired: Path, cron: str, duration: str) -> None:
    path = desired / "certops.yaml"
    text = path.read_text().split("\nwindows:\n")[0]
    if "restart_window:" not in text:
        text = text.replace("defaults:\n", "defaults:\n  restart_window: lab\n", 1)
    path.write_text(f"{text}\nwindows:\n  lab: {{cron: \"{cron}\", duration: {duration}, "
                    "timezone: Europe/Zurich}\n")


def closed_now_cron() -> str:
    """A daily window that opens 12 hours from now (Europe/Zurich): closed now, yet open often
    enough for every certificate's renewal period (renewal.few_windows wants two openings)."""
    at = datetime.now(ZoneInfo("Europe/Zurich")) + timedelta(hours=12)
    return f"{at.minute} {at.hour} * * *"


def test_closed_then_open_window_over_https(
    lab: LabThread, desired: Path, inventory: Path, tmp_path: Path
) -> None:
    generate_csrs(desired, inventory)
    sign_all(lab, desired, "new")
    served_before = {n: served(lab, n).serial_number for n in NODES}

    set_window(desired, closed_now_cron(), "1m")  # closed now
    code, out = certops("plan", str(desired), "--inventory", str(inventory))
    assert code == 0, out
    assert "restarts in window lab (next: " in out and "Europe/Zurich = " in out
    rep = tmp_path / "closed.json"
    log = tmp_path / "audit.log"
    code, out = certops("--log-file", str(log), *apply_args(desired, inventory, "--report",
                                                            str(rep)))
    assert code == 0, out
    data = report(rep)
    assert data["ok"] is True
    owed = [r for r in data["results"] if r["outcome"] == "owed"]
    assert {r["kind"] for r in owed} >= {"node.restart", "service.restart"}
    assert "Owed (" in out and "owed to window lab (closed; next opens " in out
    assert {n: served(lab, n).serial_number for n in NODES} == served_before
    assert json.loads((desired / OWED_RESTARTS_FILE).read_text())["cucm-pub"]["services"]
    assert_invariant(lab)

    code, out = certops(*apply_args(desired, inventory, "--outside-window"))
    assert code == 1 and "--outside-window needs --reason" in out
    assert {n: served(lab, n).serial_number for n in NODES} == served_before

    set_window(desired, "* * * * *", "1h")  # open now
    code, out = certops("--log-file", str(log), *apply_args(desired, inventory))
    assert code == 0, out
    assert "Apply complete:" in out
    for node in NODES:
        assert "Issuing CA New" in served(lab, node).issuer.rfc4514_string()
    assert_invariant(lab)
    steps = [json.loads(line) for line in log.read_text().splitlines()]
    assert any(s.get("status") == "owed" for s in steps)
    # The override's reason goes into the audit trail (and, when steps run, the report).
    code, out = certops("--log-file", str(log), *apply_args(
        desired, inventory, "--outside-window", "--reason", "CHG-42 emergency"))
    assert code == 0 and "No changes" in out, out
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert any(r.get("event") == "outside_window" and r.get("detail") == "CHG-42 emergency"
               for r in records)
