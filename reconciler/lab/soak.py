"""A year hands-off, in the lab: the scheduled workflows' commands on a timer, faults from
a seed, and counters from the lab's own record (issue 25).

Time runs fast without faking it: ``day_seconds`` real seconds are "a day". The lab's ACME
CA (``lab.soak_acme``: acme2certifier with ARI) and the soak's command CA
(``lab.soak_issuer``) issue certificates valid ``lifetime_days`` days (100: the public
maximum from 2027-03-15) in real seconds, the fleet renews at ``renew_before`` (``1/3`` of
the lifetime: the ACME default, so it scales with it), and the change window is a real
six-field cron expression (cronsim's seconds field first) that opens every
``window_every_days`` for ``window_open_days``. Every date certops reads is real; no clock
is mocked. Restarts, drains (the calls), the Unified CM trust replication and the CLI
node's read timeout are scaled with the day too.

The fleet (``lab.soak_fleet``): the clustered fleet of ``scripts/demo-clusters.sh`` on
X15.5 and 14, a Unified CM 12.5 node read over the platform CLI, and ``nodes`` - 8 more
Expressway-E nodes in pairs. The timer (``Timer``, ``schedule``) runs, as subprocesses, what
``.github/workflows/certops-windows.yml`` and ``certops-drift.yml`` run: every
``tick_days`` ``certops apply --auto-approve`` (a tick falls on each window's opening; in a
window it runs the restarts, between windows it issues and installs and leaves them owed),
and beside it, between windows, ``certops drift`` every ``drift_every_days`` (its own
workflow: it never delays the apply). Faults fire on seeded days
(``FAULTS``), each on the first tick after its day. At the end the
lab's timeline gives the counters (``lab.soak_counters``), written as ``soak.json`` and
``soak.md`` (with ``soak.png`` when matplotlib is installed).

    python -m reconciler.lab.soak --days 365 --seed 1 --out DIR
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from reconciler.lab import soak_acme, soak_fleet
from reconciler.lab.acme_ca import AcmeLab
from reconciler.lab.ca import load_or_create_pki, sha256_hex
from reconciler.lab.control import LabClient
from reconciler.lab.faults import Fault
from reconciler.lab.soak_counters import (
    Run,
    closest_call,
    expired_seconds,
    renewals,
    run_counts,
)

REPO = Path(__file__).resolve().parents[2]
FLEET = REPO / "desired-state-clusters"
# The faults of issue 25 (and a dropped connection), each once on a seeded random day.
FAULTS = ("node_503", "cli_hang", "ca_down", "node_restart", "apply_sigkill",
          "two_applies", "ca_removed", "dropped_request")
LEAVES = {"served": ("served_sha", "served_not_after"),  # the TLS port's certificate
          "client": ("client_sha", "client_not_after"),  # X15.5: presented connecting out
          "sip": ("sip_sha", "sip_not_after")}  # Unified CM: the CallManager identity


@dataclass
class SoakOptions:
    """The run's size and its compressed calendar (see the module docstring)."""

    days: int = 365
    day_seconds: float = 1.0  # the year in about 6 minutes (docs/soak.md: why not 0.5)
    lifetime_days: float = 100
    renew_before: str = "1/3"
    window_every_days: int = 6
    window_open_days: int = 4
    tick_days: int = 2  # the timer's period; a window's period is a whole number of them
    drift_every_days: float = 12  # the nightly drift report, once a window period here
    nodes: int = soak_fleet.BASE_NODES
    seed: int = 1
    restart_days: float = 0.2  # how long a restart keeps a node down
    cli_timeout_days: float = 2  # the 12.5 node's connection.read_timeout
    drain: bool = True  # False: `defaults: drain: false` (a rule broken on purpose)
    faults: tuple[str, ...] = FAULTS
    out: Path = Path("soak-out")

    def seconds(self, days: float) -> float:
        return days * self.day_seconds


@dataclass
class Soak:
    """One run: its workspace, the lab, the timer's runs and the faults it fired."""

    options: SoakOptions
    work: Path
    runs: list[Run] = field(default_factory=list)
    fired: list[dict[str, Any]] = field(default_factory=list)
    loads: list[float] = field(default_factory=list)  # 1-minute load average at each run
    t0: float = 0.0
    acme: AcmeLab | None = None

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
    return [str(found)] if found.exists() else [sys.executable, "-m", "reconciler"]


def child_env(work: Path) -> dict[str, str]:
    """The environment of every certops process: byte code cached under ``work`` (this
    machine's Python is told not to write it next to the sources, so each process would
    compile certops again: a third of a second of CPU)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
    return env


def share_of(renew_before: str) -> float:
    """``1/3`` or ``33%`` as a share of the lifetime (the soak needs a share: it scales)."""
    if "/" in renew_before:
        num, den = renew_before.split("/")
        return int(num) / int(den)
    if renew_before.endswith("%"):
        return float(renew_before[:-1]) / 100
    raise ValueError(f"renew_before {renew_before!r}: the soak needs a share of the lifetime "
                     "('1/3' or '33%'), which scales with the compressed lifetime")


def window_cron(o: SoakOptions) -> tuple[str, str]:
    """The window as a six-field cron (seconds first) and its duration, in real seconds."""
    every = o.seconds(o.window_every_days)
    if every != int(every) or not 2 <= every <= 30 or 60 % int(every):
        raise ValueError(f"a window every {o.window_every_days} days at {o.day_seconds} s a "
                         "day is not a whole divisor of a minute in seconds; change either")
    if o.window_every_days % o.tick_days:
        raise ValueError(f"the window's period ({o.window_every_days} days) must be a whole "
                         f"number of timer ticks ({o.tick_days} days)")
    return f"*/{int(every)} * * * * *", f"{max(1, round(o.seconds(o.window_open_days)))}s"


def prepare(soak: Soak) -> None:
    """The lab and the ACME CA up; the desired state with the soak's issuers, renewal and
    window; the fleet onboarded once."""
    o = soak.options
    soak.work.mkdir(parents=True, exist_ok=True)
    env = child_env(soak.work)
    _run_checked([sys.executable, "-m", "compileall", "-q", str(REPO / "reconciler")],
                 env=env)
    topo = soak_fleet.topology(o.nodes, o.day_seconds, o.seconds(o.restart_days))
    soak_fleet.write_topology(soak.work / "topology.yaml", topo)
    _run_checked([*certops(), "lab", "up", "--detach", "--dir", str(soak.lab), "--topology",
                  str(soak.work / "topology.yaml")], env=env)
    soak.acme = soak_acme.start(soak.work / "acme", o.seconds(o.lifetime_days),
                                share_of(o.renew_before), [soak_fleet.DOMAIN])
    cron, duration = window_cron(o)
    run = [sys.executable, "-m", "reconciler.lab.soak_issuer", "--lab", str(soak.lab),
           "--lifetime", str(o.seconds(o.lifetime_days)),
           "--down-file", str(soak.work / "ca-down")]
    tail = (f"windows:\n  soak: {{cron: '{cron}', duration: {duration}, timezone: UTC}}\n"
            f"issuers:\n  soak:\n    type: command\n    run: {json.dumps(run)}\n"
            "    eku: [serverAuth, clientAuth]\n"
            "    ca_files: [cas/lab-root.pem, cas/lab-new.pem]\n")
    soak_fleet.write_desired(FLEET, soak.ds, topo, tail, o.drain,
                             o.seconds(o.cli_timeout_days))
    config = soak.ds / "certops.yaml"
    config.write_text(config.read_text() + soak_acme.issuer_yaml(soak.acme, soak.ds, soak.work))
    pki = load_or_create_pki(soak.lab / "ca")
    (soak.ds / "cas/lab-root.pem").write_text(_pem(pki.root.cert))
    (soak.ds / "cas/lab-new.pem").write_text(_pem(pki.issuing["new"].cert))
    _run_checked([*certops(), "validate", str(soak.ds)], env=env)
    # Day 0, before the clock starts: the fleet moves from the lab's OLD CA to the soak's
    # CAs (trust first everywhere, then certificates of the soak's lifetime), as a team
    # would onboard it once, outside the window with a reason. The year starts from that.
    _run_checked([*certops(), "apply", str(soak.ds), "--inventory",
                  str(soak.lab / "inventory.yaml"), "--auto-approve", "--poll-interval", "0.05",
                  "--outside-window", "--reason", "soak set-up: onboard the fleet",
                  "--report", str(soak.work / "onboard.json")],
                 soak.work / "onboard.log", env=env)
    config.write_text(config.read_text().replace("renew_before: '99%'",
                                                 f"renew_before: '{o.renew_before}'"))


def _pem(cert: Any) -> str:
    from reconciler.lab.ca import cert_pem

    return cert_pem(cert)


def _run_checked(argv: list[str], log: Path | None = None,
                 env: dict[str, str] | None = None) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False, env=env)
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
    """The team's schedule (see the module docstring): each command a subprocess; a fault
    fires in the first gap whose day has come, one a gap."""

    def __init__(self, soak: Soak, client: LabClient) -> None:
        self.soak, self.client = soak, client
        self.rng = random.Random(soak.options.seed + 1)
        self.pending = fault_days(soak.options)
        self.applies = 0
        self.env = child_env(soak.work)
        self.next_drift = 0.0  # simulated day
        self.nodes = [n.stem for n in sorted((soak.ds / "nodes").glob("*.yaml"))]
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
        self.soak.loads.append(os.getloadavg()[0])
        log = open(self.soak.work / f"{command}.log", "ab")  # noqa: SIM115 (child's log)
        proc = subprocess.Popen(self.argv(command), stdout=log, stderr=subprocess.STDOUT,
                                env=self.env)
        log.close()
        return proc, time.time()

    def run(self, command: str, fault: str, slot: str) -> int:
        proc, began = self.start(command)
        rc = proc.wait()
        self.record(command, began, rc, fault, slot)
        return rc

    def record(self, command: str, began: float, rc: int, fault: str, slot: str) -> None:
        now = time.time()
        self.soak.runs.append(Run(command, began, now, rc, fault, slot))

    def tick(self, slot: str) -> None:
        """One timer tick: apply, and beside it drift when due (the nightly report, between
        windows only: its own workflow and timer, so it runs beside the apply, never before
        it; it goes first, alone, when a fault fired that it must see); a fault whose day
        has come fires first and lasts the tick."""
        fault = self.fire_due()
        seen = fault in ("node_503", "ca_removed", "cli_hang")
        if seen:
            self.drift(fault, slot)
        beside = None
        if not seen and slot == "gap" and self.soak.day() >= self.next_drift:
            self.next_drift = self.soak.day() + self.soak.options.drift_every_days
            beside = self.start("drift")
        if fault == "apply_sigkill":
            self.killed_apply(slot)
        elif fault == "two_applies":
            self.two_applies(slot)
        else:
            rc = self.run("apply", fault, slot)
            if fault in ("node_503", "ca_down", "dropped_request", "ca_removed"):
                self.note(fault, apply_rc=rc)
        if beside is not None:
            proc, began = beside
            self.record("drift", began, proc.wait(), "", slot)
        self.clear(fault)

    def drift(self, fault: str, slot: str) -> None:
        self.next_drift = self.soak.day() + self.soak.options.drift_every_days
        rc = self.run("drift", fault, slot)
        if fault in ("ca_removed", "cli_hang"):
            self.note(fault, drift_rc=rc)
        if fault == "cli_hang":
            self.client.clear_faults(soak_fleet.CLI_NODE)

    def fire_due(self) -> str:
        """Fire the first fault whose day has come; its name, or ''."""
        if not self.pending or self.pending[0][0] > self.soak.day():
            return ""
        _day, fault = self.pending.pop(0)
        node = self.rng.choice(self.nodes)
        if fault == "node_503":
            self.client.set_fault(node, Fault(match="*", status=503))
        elif fault == "dropped_request":
            self.client.set_fault(node, Fault(match="*", drop=True, count=1))
        elif fault == "cli_hang":  # the 12.5 node's CLI stops answering its listing
            node = soak_fleet.CLI_NODE
            self.client.set_fault(node, Fault(match="cert.list", cli_hang=True))
        elif fault == "ca_down":  # the ACME CA's server process stops
            assert self.soak.acme is not None
            self.soak.acme.stop_server()
        elif fault == "node_restart":
            self.client.restart(node)
        elif fault == "ca_removed":
            sha = sha256_hex(load_or_create_pki(self.soak.lab / "ca").issuing["new"].cert)
            self.client.by_hand(node, {"remove_ca": sha})
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
        """A fault lasts one gap (at least the simulated hour or day the issue names)."""
        if fault in ("node_503", "dropped_request"):
            node = next(f["node"] for f in self.soak.fired if f["fault"] == fault)
            self.client.clear_faults(node)
        elif fault == "ca_down":
            fired = next(f for f in self.soak.fired if f["fault"] == fault)
            time.sleep(max(0.0, fired["wall"] + self.soak.options.day_seconds - time.time()))
            assert self.soak.acme is not None
            self.soak.acme.start_server()
            self.note(fault, down_days=round((time.time() - fired["wall"])
                                             / self.soak.options.day_seconds, 2))

    def killed_apply(self, slot: str) -> None:
        proc, began = self.start("apply")
        time.sleep(self.rng.uniform(0.3, 1.0))
        proc.send_signal(signal.SIGKILL)
        rc = proc.wait()
        self.record("apply", began, rc, "apply_sigkill", slot)
        self.note("apply_sigkill", rc=rc)

    def two_applies(self, slot: str) -> None:
        started = [self.start("apply"), self.start("apply")]
        codes = []
        for proc, began in started:
            rc = proc.wait()
            codes.append(rc)
            self.record("apply", began, rc, "two_applies", slot)
        self.note("two_applies", rcs=codes)


def schedule(soak: Soak, timer: Timer) -> float:
    """Run the timer until the last simulated day; the end (epoch seconds). Ticks fall on
    whole multiples of ``tick_days`` (a window's opening is one: the cron opens on multiples
    of its period, a multiple of the tick's); a tick that overruns the next one's time makes
    it start at once (ticks it overran entirely are not made up). A tick's slot is the
    window's state when it starts: "window" (its apply runs restarts) or "gap"."""
    o = soak.options
    tick, period = o.seconds(o.tick_days), o.seconds(o.window_every_days)
    opened = o.seconds(o.window_open_days)
    stop = soak.t0 + o.seconds(o.days)
    due = (int(time.time() // period) + 1) * period
    while due < stop:
        time.sleep(max(0.0, due - time.time()))
        timer.tick("window" if time.time() % period < opened else "gap")
        due = max(due + tick, time.time())
    time.sleep(max(0.0, stop - time.time()))
    return time.time()


def run_soak(options: SoakOptions, work: Path) -> dict[str, Any]:
    """Run the soak in ``work`` and return its counters (also written to ``options.out``)."""
    soak = Soak(options, work)
    try:
        prepare(soak)
        client = LabClient(soak.lab)
        timer = Timer(soak, client)
        setup_calls = client.calls()  # the onboarding's, before the clock starts
        soak.t0 = time.time()
        end = schedule(soak, timer)
        timeline = client.timeline()
        timeline["calls"] = year_calls(client.calls(), setup_calls)
        timeline["calls_setup"] = setup_calls
        acme_counts = {"orders": soak.acme.orders_placed(),
                       "issued": soak.acme.issued_count()} if soak.acme else {}
        manual = manual_steps(soak)
    finally:
        subprocess.run([*certops(), "lab", "down", "--dir", str(soak.lab)],
                       capture_output=True, check=False)
        if soak.acme is not None:
            soak.acme.down()
    result = counters(soak, timeline, end)
    result["manual_steps"] = manual
    result["acme"] = acme_counts
    write_outputs(options.out, result, timeline, soak)
    return result


def year_calls(now: dict[str, dict[str, int]],
               setup: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    """Per node, the calls dropped, moved and refused since the clock started (the lab
    counts from its own start, which includes the onboarding); ``active``: up now."""
    return {node: {k: v - (setup.get(node, {}).get(k, 0) if k != "active" else 0)
                   for k, v in counts.items()} for node, counts in now.items()}


def durations(runs: list[Run], day_seconds: float) -> dict[str, Any]:
    """Per command and slot: how many, and their real seconds (median, 90th percentile,
    longest) and the same in simulated days."""
    out: dict[str, Any] = {}
    for key in sorted({(r.command, r.slot) for r in runs}):
        took = sorted(r.end - r.start for r in runs if (r.command, r.slot) == key)
        p90 = took[min(len(took) - 1, int(0.9 * len(took)))]
        out[f"{key[0]} ({key[1]})"] = {
            "runs": len(took), "median_s": round(statistics.median(took), 2),
            "p90_s": round(p90, 2), "max_s": round(took[-1], 2),
            "max_days": round(took[-1] / day_seconds, 1)}
    return out


def counters(soak: Soak, timeline: dict[str, Any], end: float) -> dict[str, Any]:
    """The headline figures, from the lab's timeline and the timer's exit codes."""
    samples = [*timeline["start"], *timeline["samples"]]
    o = soak.options
    expired = {leaf: expired_seconds(samples, end, after) for leaf, (_sha, after)
               in LEAVES.items()}
    restored = None
    for fired in soak.fired:
        if fired["fault"] == "ca_removed":
            node = fired["node"]
            sha = sha256_hex(load_or_create_pki(soak.lab / "ca").issuing["new"].cert)
            last = [s for s in samples if s["node"] == node][-1]
            restored = sha in last["trusted_shas"]
    runs = run_counts(soak.runs)
    closest = {leaf: closest_call(samples, soak.t0, sha, after)
               for leaf, (sha, after) in LEAVES.items()}
    applies = sorted(r.start for r in soak.runs if r.command == "apply")
    gaps = [b - a for a, b in itertools.pairwise(applies)]
    renew_days = share_of(o.renew_before) * o.lifetime_days
    return {
        "options": {**asdict(o), "out": str(o.out)},
        "simulated_days": round(soak.day(end), 1),
        "real_seconds": round(end - soak.t0, 1),
        "expired_served_seconds": round(sum(sum(e.values()) for e in expired.values()), 3),
        "expired_served_days": round(sum(sum(e.values()) for e in expired.values())
                                     / o.day_seconds, 2),
        "expired_by_leaf": {leaf: round(sum(e.values()), 3) for leaf, e in expired.items()},
        "expired_served_by_node": {leaf: {n: v for n, v in e.items() if v}
                                   for leaf, e in expired.items()},
        "refused_handshakes": len(timeline["refused"]),
        "refused_reasons": timeline["refused"][:10],
        "invariant_breaches": len(timeline["violations"]),
        "invariant_examples": timeline["violations"][:10],
        "calls_dropped": sum(timeline["dropped_calls"].values()),
        "calls_dropped_expressway": sum(n for node, n in timeline["dropped_calls"].items()
                                        if not node.startswith("cucm"))
        - dropped_by_fault([s for s in samples if not s["node"].startswith("cucm")],
                           soak.fired, o.day_seconds),
        "calls_dropped_by_node": timeline["dropped_calls"],
        "calls_dropped_by_fault": dropped_by_fault(samples, soak.fired, o.day_seconds),
        "calls": timeline["calls"],
        "calls_refused": sum(c["refused"] for c in timeline["calls"].values()),
        "calls_setup": timeline["calls_setup"],
        "phones_lost_trust": sum(timeline.get("phones_lost", {}).values()),
        "phones_lost_by_node": timeline.get("phones_lost", {}),
        "runs": runs,
        "failed_runs": runs["drift"]["failed"] + runs["apply"]["failed"],
        "recovered_runs": runs["drift"]["recovered"] + runs["apply"]["recovered"],
        "renewals": renewals(samples),
        "renewals_by_leaf": {leaf: renewals(samples, sha) for leaf, (sha, _a) in LEAVES.items()},
        "closest_call_days": {leaf: None if c is None else round(c / o.day_seconds, 1)
                              for leaf, c in closest.items()},
        "margin": {"renew_before_days": round(renew_days, 1),
                   "window_every_days": o.window_every_days,
                   "windows_in_renew_before": round(renew_days / o.window_every_days, 2),
                   "apply_every_days_median": round(statistics.median(gaps) / o.day_seconds, 2)
                   if gaps else None,
                   "apply_every_days_max": round(max(gaps) / o.day_seconds, 2)
                   if gaps else None},
        "durations": durations(soak.runs, o.day_seconds),
        "load_average": {"mean": round(statistics.mean(soak.loads), 1) if soak.loads else None,
                         "max": round(max(soak.loads), 1) if soak.loads else None},
        "faults": soak.fired,
        "run_log": [asdict(r) for r in soak.runs],
        "faults_fired": len(soak.fired),
        "ca_removed_restored": restored,
    }


def dropped_by_fault(samples: list[dict[str, Any]], fired: list[dict[str, Any]],
                     day_seconds: float) -> int:
    """Calls the unannounced restart dropped (its node, within a day of it): not certops'."""
    hits = [(f["node"], f["wall"]) for f in fired if f["fault"] == "node_restart"]
    return sum(int(s.get("dropped", 0)) for s in samples for node, wall in hits
               if s["node"] == node and 0 <= s["wall"] - wall < max(1.0, day_seconds))


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
                          capture_output=True, text=True, check=False,
                          env=child_env(soak.work))
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
    d = SoakOptions()
    parser.add_argument("--days", type=int, default=d.days)
    parser.add_argument("--nodes", type=int, default=d.nodes,
                        help="fleet size (8 or more; more adds Expressway-E pairs)")
    parser.add_argument("--day-seconds", type=float, default=d.day_seconds)
    parser.add_argument("--lifetime-days", type=float, default=d.lifetime_days)
    parser.add_argument("--renew-before", default=d.renew_before)
    parser.add_argument("--window-every-days", type=int, default=d.window_every_days)
    parser.add_argument("--window-open-days", type=int, default=d.window_open_days)
    parser.add_argument("--tick-days", type=int, default=d.tick_days)
    parser.add_argument("--seed", type=int, default=d.seed)
    parser.add_argument("--no-faults", action="store_true")
    parser.add_argument("--no-drain", action="store_true", help="a rule broken on purpose")
    parser.add_argument("--out", type=Path, default=d.out)
    parser.add_argument("--keep", type=Path, help="work here and keep it (logs, lab)")
    a = parser.parse_args(argv)
    options = SoakOptions(days=a.days, nodes=a.nodes, day_seconds=a.day_seconds,
                          lifetime_days=a.lifetime_days, renew_before=a.renew_before,
                          window_every_days=a.window_every_days,
                          window_open_days=a.window_open_days, tick_days=a.tick_days,
                          seed=a.seed,
                          drain=not a.no_drain, faults=() if a.no_faults else FAULTS,
                          out=a.out)
    try:
        soak_fleet.extra_pairs(a.nodes)
        window_cron(options)
        share_of(a.renew_before)
    except ValueError as exc:
        parser.error(str(exc))
    if a.keep is not None:
        a.keep.mkdir(parents=True)
        result = run_soak(options, a.keep.resolve())
    else:
        with tempfile.TemporaryDirectory(prefix="certops-soak.") as work:
            result = run_soak(options, Path(work))
    print(json.dumps({k: result[k] for k in (
        "simulated_days", "real_seconds", "expired_served_seconds", "refused_handshakes",
        "invariant_breaches", "calls_dropped_expressway", "phones_lost_trust", "failed_runs",
        "recovered_runs", "manual_steps", "faults_fired")}))
    print(f"report: {a.out / 'soak.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
