"""A year hands-off, in the lab: the scheduled workflow's commands on a timer, faults from
a seed, and counters from the lab's own record (issue 25).

Time runs fast without faking it: ``day_seconds`` real seconds are "a day". The soak's
command CA (``lab.soak_issuer``) issues certificates valid ``lifetime_days`` days (100 at
2027's public lifetimes) in real seconds, the fleet renews at ``renew_before`` (a share of
the lifetime, so it scales with it), and the change window is a real six-field cron
expression (cronsim's seconds field first) that opens every ``window_every_days`` for
``window_open_days``. Every date certops reads is real; no clock is mocked.

The fleet is ``scripts/demo-clusters.sh``'s (an E pair, a C pair, a Unified CM publisher
with two subscribers, links between them) on the HTTPS lab. Each timer tick runs, as
subprocesses, what ``.github/workflows/certops-drift.yml`` and ``certops-windows.yml`` run:
``certops drift`` and ``certops apply --auto-approve``. Faults fire on seeded random days
(``FAULTS``). At the end the lab's timeline gives the counters (``lab.soak_counters``),
written as ``soak.json`` and ``soak.md`` (with ``soak.png`` when matplotlib is installed).

    python -m reconciler.lab.soak --days 365 --seed 1 --out DIR
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from reconciler.lab.ca import load_or_create_pki, sha256_hex
from reconciler.lab.control import LabClient
from reconciler.lab.faults import Fault
from reconciler.lab.soak_counters import Run, expired_seconds, renewals, run_counts

REPO = Path(__file__).resolve().parents[2]
FLEET = REPO / "desired-state-clusters"
TOPOLOGY = REPO / "reconciler/lab/topologies/clusters.yaml"
CUCM = ("cucm-pub", "cucm-sub1", "cucm-sub2")
# The faults of issue 25 that the lab can make (the hung CLI needs a 12.5 Unified CM: see
# docs/soak.md), each once on a seeded random day.
FAULTS = ("node_503", "dropped_request", "ca_down", "node_restart", "apply_sigkill",
          "two_applies", "ca_removed")


@dataclass
class SoakOptions:
    """The run's size and its compressed calendar (see the module docstring)."""

    days: int = 365
    day_seconds: float = 2.0
    lifetime_days: float = 100
    renew_before: str = "33%"
    window_every_days: int = 10
    window_open_days: int = 5
    tick_days: float = 2
    drift_every: int = 3  # ticks: drift is the daily report, apply the window's job
    seed: int = 1
    restart_seconds: float = 0.2
    drain: bool = True  # False: `defaults: drain: false` (a rule broken on purpose)
    faults: tuple[str, ...] = FAULTS
    out: Path = Path("soak-out")


@dataclass
class Soak:
    """One run: its workspace, the lab, the timer's runs and the faults it fired."""

    options: SoakOptions
    work: Path
    runs: list[Run] = field(default_factory=list)
    fired: list[dict[str, Any]] = field(default_factory=list)
    t0: float = 0.0

    @property
    def ds(self) -> Path:
        return self.work / "desired"

    @property
    def lab(self) -> Path:
        return self.work / "lab"

    def day(self, when: float | None = None) -> float:
        return ((when or time.time()) - self.t0) / self.options.day_seconds


def certops() -> list[str]:
    found = Path(sys.executable).with_name("certops")
    return [str(found)] if found.exists() else [sys.executable, "-m", "reconciler.cli"]


def window_cron(o: SoakOptions) -> tuple[str, str]:
    """The window as a six-field cron (seconds first) and its duration, in real seconds."""
    every = o.window_every_days * o.day_seconds
    if every != int(every) or not 2 <= every <= 30 or 60 % int(every):
        raise ValueError(f"a window every {o.window_every_days} days at {o.day_seconds} s a "
                         "day is not a whole divisor of a minute in seconds; change either")
    return f"*/{int(every)} * * * * *", f"{max(1, round(o.window_open_days * o.day_seconds))}s"


def prepare(soak: Soak) -> None:
    """The fleet's desired state with the soak's issuer, renewal and window; the lab up."""
    o = soak.options
    shutil.copytree(FLEET, soak.ds)
    _run_checked([*certops(), "lab", "up", "--detach", "--dir", str(soak.lab), "--topology",
                  str(TOPOLOGY), "--restart-seconds", str(o.restart_seconds)])
    pki = load_or_create_pki(soak.lab / "ca")
    (soak.ds / "cas/lab-root.pem").write_text(_pem(pki.root.cert))
    (soak.ds / "cas/lab-new.pem").write_text(_pem(pki.issuing["new"].cert))
    cron, duration = window_cron(o)
    run = [sys.executable, "-m", "reconciler.lab.soak_issuer", "--lab", str(soak.lab),
           "--lifetime", str(o.lifetime_days * o.day_seconds),
           "--down-file", str(soak.work / "ca-down")]
    config = soak.ds / "certops.yaml"
    # Onboarding renews every node whatever renew_before is (99% of the lab's long-lived
    # starting certificates); the year then runs at o.renew_before.
    text = config.read_text().replace("renew_before: 30d", "renew_before: '99%'")
    text = text.replace("defaults:\n", "defaults:\n  restart_window: soak\n"
                        + ("" if o.drain else "  drain: false\n"))
    text += (f"windows:\n  soak: {{cron: '{cron}', duration: {duration}, timezone: UTC}}\n"
             f"issuers:\n  soak:\n    type: command\n    run: {json.dumps(run)}\n"
             "    ca_files: [cas/lab-root.pem, cas/lab-new.pem]\n")
    config.write_text(text)
    for node in (soak.ds / "nodes").glob("*.yaml"):
        body = node.read_text().replace("  renew_before: 30d\n", "")
        extra = "  issuer: soak\n"
        if node.stem in CUCM:  # hands-off: no pending CSR is kept on the lab's nodes
            extra += "  replace_pending_csr: true\n"
        node.write_text(body.replace("server_certificate:", "server_certificate:\n"
                                     + extra.rstrip("\n"), 1))
    _run_checked([*certops(), "validate", str(soak.ds)])
    # Day 0, before the clock starts: the fleet moves from the lab's OLD CA to the soak's CA
    # (trust first everywhere, then certificates of the soak's lifetime), as a team would
    # onboard it once, outside the window with a reason. The year starts from that fleet.
    _run_checked([*certops(), "apply", str(soak.ds), "--inventory",
                  str(soak.lab / "inventory.yaml"), "--auto-approve", "--poll-interval", "0.05",
                  "--outside-window", "--reason", "soak set-up: onboard the fleet"],
                 soak.work / "onboard.log")
    config.write_text(config.read_text().replace("renew_before: '99%'",
                                                 f"renew_before: '{o.renew_before}'"))


def _pem(cert: Any) -> str:
    from reconciler.lab.ca import cert_pem

    return cert_pem(cert)


def _run_checked(argv: list[str], log: Path | None = None) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if log is not None:
        log.write_text(done.stdout + done.stderr)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:4])}... exit {done.returncode}: "
                           f"{done.stdout[-2000:]}{done.stderr[-2000:]}")


def fault_days(o: SoakOptions) -> list[tuple[float, str]]:
    """Each fault once, on a seeded random day past the first renewal (so it meets the
    fleet in its steady state) and before the last tenth of the run."""
    rng = random.Random(o.seed)
    start, stop = o.lifetime_days * 0.8, o.days * 0.9
    if stop <= start:
        start, stop = o.days * 0.2, o.days * 0.8
    return sorted((round(rng.uniform(start, stop), 1), name) for name in o.faults)


class Timer:
    """The team's schedule: on every tick ``certops drift`` then ``certops apply
    --auto-approve``, each a subprocess; faults fire when their day has come."""

    def __init__(self, soak: Soak, client: LabClient) -> None:
        self.soak, self.client = soak, client
        self.rng = random.Random(soak.options.seed + 1)
        self.pending = fault_days(soak.options)
        self.removed: tuple[str, str] | None = None  # (node, CA sha) a person removed
        self.applies = 0
        (soak.work / "reports").mkdir(exist_ok=True)

    def argv(self, command: str) -> list[str]:
        inv = ["--inventory", str(self.soak.lab / "inventory.yaml")]
        if command == "drift":
            return [*certops(), "drift", str(self.soak.ds), *inv]
        self.applies += 1
        report = self.soak.work / "reports" / f"apply-{self.applies}.json"
        return [*certops(), "apply", str(self.soak.ds), *inv, "--auto-approve",
                "--poll-interval", "0.05", "--lock-timeout", "0", "--report", str(report)]

    def start(self, command: str) -> tuple[subprocess.Popen[bytes], float]:
        log = open(self.soak.work / f"{command}.log", "ab")  # noqa: SIM115 (child's log)
        proc = subprocess.Popen(self.argv(command), stdout=log, stderr=subprocess.STDOUT)
        log.close()
        return proc, time.time()

    def run(self, command: str, fault: str = "") -> int:
        proc, began = self.start(command)
        rc = proc.wait()
        self.soak.runs.append(Run(command, began, time.time(), rc, fault))
        return rc

    def tick(self, k: int) -> None:
        fault = self.fire_due()
        if fault in ("node_503", "ca_removed") or k % self.soak.options.drift_every == 0:
            drift_rc = self.run("drift", fault if fault in ("node_503", "ca_removed") else "")
            if fault == "ca_removed":
                self.note(fault, drift_rc=drift_rc)
        if fault == "apply_sigkill":
            self.killed_apply()
        elif fault == "two_applies":
            self.two_applies()
        else:
            self.run("apply", fault)
        self.clear(fault)

    def fire_due(self) -> str:
        """Fire the first fault whose day has come (one a tick); its name, or ''."""
        if not self.pending or self.pending[0][0] > self.soak.day():
            return ""
        _day, fault = self.pending.pop(0)
        node = self.rng.choice(("expe1", "expe2", "expc1", "expc2", *CUCM))
        if fault == "node_503":
            self.client.set_fault(node, Fault(match="*", status=503))
        elif fault == "dropped_request":
            self.client.set_fault(node, Fault(match="*", drop=True, count=1))
        elif fault == "ca_down":
            (self.soak.work / "ca-down").touch()
        elif fault == "node_restart":
            self.client.restart(node)
        elif fault == "ca_removed":
            sha = sha256_hex(load_or_create_pki(self.soak.lab / "ca").issuing["new"].cert)
            self.client.by_hand(node, {"remove_ca": sha})
            self.removed = (node, sha)
        if fault in ("ca_down", "apply_sigkill", "two_applies"):
            self.note(fault)
        else:
            self.note(fault, node=node)
        return fault

    def note(self, fault: str, **facts: Any) -> None:
        for entry in self.soak.fired:
            if entry["fault"] == fault:
                entry.update(facts)
                return
        self.soak.fired.append({"fault": fault, "day": round(self.soak.day(), 1),
                                "wall": time.time(), **facts})

    def clear(self, fault: str) -> None:
        """A fault lasts one tick (at least the simulated hour or day the issue names)."""
        if fault in ("node_503", "dropped_request"):
            node = next(f["node"] for f in self.soak.fired if f["fault"] == fault)
            self.client.clear_faults(node)
        elif fault == "ca_down":
            (self.soak.work / "ca-down").unlink(missing_ok=True)

    def killed_apply(self) -> None:
        proc, began = self.start("apply")
        time.sleep(self.rng.uniform(0.3, 1.5))
        proc.send_signal(signal.SIGKILL)
        rc = proc.wait()
        self.soak.runs.append(Run("apply", began, time.time(), rc, "apply_sigkill"))
        self.note("apply_sigkill", rc=rc)

    def two_applies(self) -> None:
        started = [self.start("apply"), self.start("apply")]
        codes = []
        for proc, began in started:
            rc = proc.wait()
            codes.append(rc)
            self.soak.runs.append(Run("apply", began, time.time(), rc, "two_applies"))
        self.note("two_applies", rcs=codes)


def run_soak(options: SoakOptions, work: Path) -> dict[str, Any]:
    """Run the soak in ``work`` and return its counters (also written to ``options.out``)."""
    soak = Soak(options, work)
    prepare(soak)
    client = LabClient(soak.lab)
    try:
        timer = Timer(soak, client)
        soak.t0 = time.time()
        tick_seconds = options.tick_days * options.day_seconds
        k = 0
        while soak.day() < options.days:
            timer.tick(k)
            k = max(k + 1, int((time.time() - soak.t0) / tick_seconds) + 1)
            time.sleep(max(0.0, soak.t0 + k * tick_seconds - time.time()))
        end = time.time()
        timeline = client.timeline()
        timeline["calls"] = client.calls()
    finally:
        subprocess.run([*certops(), "lab", "down", "--dir", str(soak.lab)],
                       capture_output=True, check=False)
    result = counters(soak, timeline, end)
    write_outputs(options.out, result, timeline, soak)
    return result


def counters(soak: Soak, timeline: dict[str, Any], end: float) -> dict[str, Any]:
    """The headline figures, from the lab's timeline and the timer's exit codes."""
    samples = [*timeline["start"], *timeline["samples"]]
    expired = expired_seconds(samples, end)
    restored = None
    for fired in soak.fired:
        if fired["fault"] == "ca_removed":
            node = fired["node"]
            sha = sha256_hex(load_or_create_pki(soak.lab / "ca").issuing["new"].cert)
            last = [s for s in samples if s["node"] == node][-1]
            restored = sha in last["trusted_shas"]
    runs = run_counts(soak.runs)
    o = soak.options
    return {
        "options": {**asdict(o), "out": str(o.out)},
        "simulated_days": round(soak.day(end), 1),
        "real_seconds": round(end - soak.t0, 1),
        "expired_served_seconds": round(sum(expired.values()), 3),
        "expired_served_days": round(sum(expired.values()) / o.day_seconds, 2),
        "expired_served_by_node": expired,
        "refused_handshakes": len(timeline["refused"]),
        "refused_reasons": timeline["refused"][:10],
        "invariant_breaches": len(timeline["violations"]),
        "invariant_examples": timeline["violations"][:10],
        "calls_dropped": sum(timeline["dropped_calls"].values()),
        "calls_dropped_expressway": sum(n for node, n in timeline["dropped_calls"].items()
                                        if not node.startswith("cucm"))
        - dropped_by_fault([s for s in samples if not s["node"].startswith("cucm")],
                           soak.fired),
        "calls_dropped_by_node": timeline["dropped_calls"],
        "calls_dropped_by_fault": dropped_by_fault(samples, soak.fired),
        "calls": timeline["calls"],
        "phones_lost_trust": sum(timeline.get("phones_lost", {}).values()),
        "phones_lost_by_node": timeline.get("phones_lost", {}),
        "runs": runs,
        "failed_runs": runs["drift"]["failed"] + runs["apply"]["failed"],
        "recovered_runs": runs["drift"]["recovered"] + runs["apply"]["recovered"],
        "manual_steps": manual_steps(soak),
        "renewals": renewals(samples),
        "faults": soak.fired,
        "run_log": [asdict(r) for r in soak.runs],
        "faults_fired": len(soak.fired),
        "ca_removed_restored": restored,
    }


def dropped_by_fault(samples: list[dict[str, Any]], fired: list[dict[str, Any]]) -> int:
    """Calls the unannounced restart dropped (its node, within 5 s of it): not certops'."""
    hits = [(f["node"], f["wall"]) for f in fired if f["fault"] == "node_restart"]
    return sum(int(s.get("dropped", 0)) for s in samples for node, wall in hits
               if s["node"] == node and 0 <= s["wall"] - wall < 5)


def manual_steps(soak: Soak) -> int:
    """Steps that needed a person: every action an apply reported ``manual`` (apply stops
    before them) and the manual actions of a plan made after the run (the only place where
    certops' own output is read: a manual step is certops' notion, the lab cannot see it)."""
    seen: set[str] = set()
    for report in (soak.work / "reports").glob("apply-*.json"):
        try:
            results = json.loads(report.read_text()).get("results", [])
        except ValueError:
            continue
        seen |= {r["id"] for r in results if r.get("outcome") == "manual"}
    done = subprocess.run([*certops(), "plan", str(soak.ds), "--format", "json",
                           "--inventory", str(soak.lab / "inventory.yaml")],
                          capture_output=True, text=True, check=False)
    try:
        plan = json.loads(done.stdout)
    except ValueError:
        return -1
    left = {a["id"] for a in plan.get("actions", []) if a.get("kind") == "manual"}
    return len(seen | left)


def write_outputs(out: Path, result: dict[str, Any], timeline: dict[str, Any],
                  soak: Soak) -> None:
    from reconciler.lab.soak_report import markdown, plot

    out.mkdir(parents=True, exist_ok=True)
    (out / "soak.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    o = soak.options
    picture = plot(out / "soak.png", timeline, soak.fired, soak.t0, o.day_seconds,
                   o.lifetime_days)
    (out / "soak.md").write_text(markdown(result, picture))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="soak", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--day-seconds", type=float, default=2.0)
    parser.add_argument("--lifetime-days", type=float, default=100)
    parser.add_argument("--renew-before", default="33%")
    parser.add_argument("--window-every-days", type=int, default=10)
    parser.add_argument("--window-open-days", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-faults", action="store_true")
    parser.add_argument("--out", type=Path, default=Path("soak-out"))
    parser.add_argument("--keep", type=Path, help="work here and keep it (logs, lab)")
    a = parser.parse_args(argv)
    options = SoakOptions(days=a.days, day_seconds=a.day_seconds,
                          lifetime_days=a.lifetime_days, renew_before=a.renew_before,
                          window_every_days=a.window_every_days,
                          window_open_days=a.window_open_days, seed=a.seed,
                          faults=() if a.no_faults else FAULTS, out=a.out)
    if a.keep is not None:
        a.keep.mkdir(parents=True)
        result = run_soak(options, a.keep)
    else:
        with tempfile.TemporaryDirectory(prefix="certops-soak.") as work:
            result = run_soak(options, Path(work))
    print(json.dumps({k: result[k] for k in (
        "simulated_days", "real_seconds", "expired_served_seconds", "refused_handshakes",
        "invariant_breaches", "failed_runs", "recovered_runs", "manual_steps",
        "faults_fired")}))
    print(f"report: {a.out / 'soak.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
