"""Apply on a synthetic fleet, measured against its restart-bound limit.

    python benchmarks/bench_apply.py [--nodes 1000] [--restart-seconds 60] [--parallelism 16]

The renewal is staged as an operator would run it: (1) `certops apply` of the import with the
Expressways' certificates left out (renewal due: one CSR generated per Expressway), (2) the
CSRs signed by the lab CA (in this process), (3) `certops plan --out`, then (4) `certops
apply plan.json`: one `cert.install` and one `node.restart` per Expressway, each restart
proved by a TLS handshake. Only (4) is measured; the lab emulates every restart by keeping
the node's port closed for ``--restart-seconds``.

The restart-bound limit is what no executor can beat, whatever its parallelism, when every
restart takes R seconds and every other step takes no time:

    limit = max(critical path, budget bound)
    critical path = the longest chain, through the plan's `depends_on` edges, of restarts
                    (each restart R, every other action 0): the planner's restart waves ×
                    R when every wave is one restart deep
    budget bound  = R × max( 1                              if anything restarts,
                             2                              if two linked nodes both restart
                                                            (linked nodes never restart
                                                            together),
                             ceil(k / max_unavailable)      for each cluster with k members
                                                            restarting )

The budget bound is computed from the desired state (links and clusters), independently of
the planner's edges: a critical path above it means the plan serialises more than the
budgets force. The synthetic lab (`certops lab up --nodes N`) has no clusters; each site's
Expressway-E and -C are linked and both restart (the C is also linked to its CUCM, which
does not restart), so both terms are 2R. Installs are left out of the limit: they run
`--parallelism` at a time and their measured total is reported beside it (installs ÷
parallelism), as is the pre-execution part of the wall time (start-up, loading the desired
state, the freshness re-read of every node).

From the apply report (each action's start and seconds): the most restarts waiting at the
same moment (above --parallelism proves that restarts hold no slot) and the most other
steps at once (never above --parallelism).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from common import ROOT, certops, lab, proc_cpu, save, table

RESTART_KINDS = frozenset({"node.restart", "service.restart"})
# What holds no slot of --parallelism while it waits for a node: restarts and drains.
WAITING_KINDS = RESTART_KINDS | {"node.drain"}
ENV = {"PYTHONPATH": str(ROOT)}  # this checkout's certops, whatever is installed


def sign_all(lab_dir: Path, desired: Path) -> int:
    """What `certops lab sign` does, in-process for speed: full chain from the old CA."""
    from cryptography import x509

    from reconciler.lab.ca import cert_pem, load_or_create_pki

    pki = load_or_create_pki(lab_dir / "ca")
    (desired / "certs").mkdir(exist_ok=True)  # `certops import` pins no file by default
    count = 0
    for csr_file in sorted((desired / "csrs").glob("exp*.csr.pem")):
        node = csr_file.name.removesuffix(".csr.pem")
        leaf = pki.sign_csr(x509.load_pem_x509_csr(csr_file.read_bytes()), "old")
        (desired / "certs" / f"{node}.pem").write_text(
            "".join(cert_pem(c) for c in [leaf, *pki.chain_for("old")])
        )
        node_file = desired / "nodes" / f"{node}.yaml"
        node_file.write_text(
            node_file.read_text().replace(
                "server_certificate:\n", f"server_certificate:\n  file: ../certs/{node}.pem\n", 1
            )
        )
        count += 1
    return count


def critical_path(actions: Sequence[Mapping[str, Any]], restart_s: float) -> tuple[float, int]:
    """Seconds and restarts on the longest chain of the plan's dependency graph, with each
    restart costing ``restart_s`` and every other action nothing."""
    by_id = {a["id"]: a for a in actions}
    memo: dict[str, int] = {}
    for action in actions:  # the plan lists actions in dependency order
        deps = [memo[d] for d in action.get("depends_on", ()) if d in by_id]
        memo[action["id"]] = max(deps, default=0) + (action["kind"] in RESTART_KINDS)
    longest = max(memo.values(), default=0)
    return longest * restart_s, longest


def budget_bound(
    restarting: Iterable[str],
    linked: Iterable[frozenset[str]],
    clusters: Iterable[tuple[Sequence[str], int]],
    restart_s: float,
) -> float:
    """The least time the disruption rules force, from the desired state alone: two linked
    nodes that both restart take 2R; a cluster with k restarting members and a budget u takes
    ceil(k / u) × R; anything restarting takes R."""
    nodes = set(restarting)
    if not nodes:
        return 0.0
    waves = 1
    if any(pair <= nodes and len(pair) == 2 for pair in linked):
        waves = 2
    for members, max_unavailable in clusters:
        k = len(nodes & set(members))
        waves = max(waves, math.ceil(k / max_unavailable))
    return waves * restart_s


Clusters = list[tuple[Sequence[str], int]]  # each cluster's members and max_unavailable


def restart_rules(desired_root: Path) -> tuple[set[frozenset[str]], Clusters]:
    """Linked pairs outside clusters, and each cluster's members and budget (as the planner
    reads them), from the desired state."""
    from reconciler.desired.loader import load
    from reconciler.pki import CertCache

    desired = load(desired_root, CertCache()).desired
    assert desired is not None
    clusters = [(c.members, c.max_unavailable) for c in desired.fleet.clusters.values()]
    inside = {frozenset((a, b)) for members, _ in clusters for a in members for b in members
              if a != b}
    return desired.linked_pairs() - inside, clusters


def most_at_once(results: Sequence[Mapping[str, Any]], kinds: frozenset[str], *,
                 inside: bool) -> int:
    """The most actions (of ``kinds``, or of every other kind) running at the same moment."""
    events: list[tuple[float, int]] = []
    for r in results:
        if (r["kind"] in kinds) != inside or not r.get("started_at"):
            continue
        t0 = datetime.fromisoformat(r["started_at"]).timestamp()
        # 10 ms less: a start comes from the wall clock, the seconds from the monotonic one,
        # each rounded, so a restart and the one that waited for it may seem to touch
        events += [(t0, 1), (t0 + r["seconds"] - 0.01, -1)]
    peak = now = 0
    for _, step in sorted(events):  # an end sorts before a start at the same instant
        now += step
        peak = max(peak, now)
    return peak


def timeline(results: Sequence[Mapping[str, Any]], started_at: str) -> dict[str, float]:
    """Seconds from the start of the walk: when the last install ended, and the longest
    that any action waited, once everything it depends on was done, before it started (a
    restart that waited for a slot, or an install queued behind the others)."""
    t0 = datetime.fromisoformat(started_at).timestamp()
    start = {r["id"]: datetime.fromisoformat(r["started_at"]).timestamp()
             for r in results if r.get("started_at")}
    end = {aid: start[aid] + r["seconds"] for r in results if (aid := r["id"]) in start}
    installs = [end[r["id"]] - t0 for r in results if r["kind"] == "cert.install"
                and r["id"] in end]
    lag = {"restart": 0.0, "other": 0.0}
    for r in results:
        if r["id"] not in start:
            continue
        ready = max((end[d] for d in r.get("depends_on", ()) if d in end), default=t0)
        what = "restart" if r["kind"] in RESTART_KINDS else "other"
        lag[what] = max(lag[what], start[r["id"]] - ready)
    return {"installs_end_s": max(installs, default=0.0), "restart_lag_max_s": lag["restart"],
            "other_lag_max_s": lag["other"]}


def seconds_of(results: Sequence[Mapping[str, Any]], kind: str) -> list[float]:
    return [float(r["seconds"]) for r in results if r["kind"] == kind and r["outcome"] == "done"]


def bench(nodes: int, restart_s: float, parallelism: int, poll: float,
          builtin: int = 150) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory() as tmp,
        lab(Path(tmp) / "lab", nodes, builtin_cas=builtin, restart_seconds=restart_s) as run,
    ):
        inv = str(run.inventory)
        desired = Path(tmp) / "desired"
        certops("import", str(desired), "--inventory", inv, check=True, env=ENV)
        for node_file in (desired / "nodes").glob("exp*.yaml"):  # a pinned file: renew anyway
            node_file.write_text(re.sub(r"\n  file: \.\./certs/[^\n]+", "", node_file.read_text()))
        csr = certops("apply", str(desired), "--inventory", inv, "--auto-approve",
                      "--poll-interval", str(poll), check=True, env=ENV)
        signed = sign_all(run.directory, desired)
        plan_file = Path(tmp) / "plan.json"
        plan = certops("plan", str(desired), "--inventory", inv, "--out", str(plan_file),
                       "--parallelism", str(parallelism), env=ENV)
        actions = json.loads(plan_file.read_text())["actions"]
        path_s, waves = critical_path(actions, restart_s)
        linked, clusters = restart_rules(desired)
        restarting = {a["node"] for a in actions if a["kind"] in RESTART_KINDS}
        budget_s = budget_bound(restarting, linked, clusters, restart_s)
        limit = max(path_s, budget_s)
        load_before = os.getloadavg()
        lab_cpu0 = proc_cpu(run.pid)
        report_file = Path(tmp) / "report.json"
        applied = certops(
            "apply", str(plan_file), "--dir", str(desired), "--inventory", inv,
            "--poll-interval", str(poll), "--parallelism", str(parallelism),
            "--report", str(report_file), env=ENV,
        )
        lab_cpu = proc_cpu(run.pid) - lab_cpu0
        load_after = os.getloadavg()
        if not report_file.exists():
            raise RuntimeError(f"apply wrote no report:\n{applied.output[-2000:]}")
        report = json.loads(report_file.read_text())
        results = report["results"]
        after = certops("plan", str(desired), "--inventory", inv, "--detailed-exitcode", env=ENV)
    installs, restarts = seconds_of(results, "cert.install"), seconds_of(results, "node.restart")
    deps = {a["id"]: a.get("depends_on", []) for a in actions}
    times = timeline([{**r, "depends_on": deps.get(r["id"], [])} for r in results],
                     report["started_at"])
    execute_s = float(report["seconds"])
    return {
        "N": nodes,
        "R_s": restart_s,
        "parallelism": parallelism,
        "poll_s": poll,
        "renewals": signed,
        "actions": len(actions),
        "restarts": sum(a["kind"] in RESTART_KINDS for a in actions),
        "restart_waves": waves,
        "critical_path_s": path_s,
        "budget_bound_s": budget_s,
        "limit_s": limit,
        "csr_apply_s": csr.wall,
        "plan_s": plan.wall,
        "apply_wall_s": applied.wall,
        "wall_over_limit": applied.wall / limit if limit else None,
        "execute_s": execute_s,
        "execute_over_limit": execute_s / limit if limit else None,
        "before_execute_s": applied.wall - execute_s,
        "apply_cpu_s": applied.cpu,
        "apply_peak_mb": applied.peak_rss_mb,
        "lab_cpu_s": lab_cpu,
        "lab_cpu_share": lab_cpu / applied.wall,
        "install_sum_s": sum(installs),
        "install_sum_over_p_s": sum(installs) / parallelism,
        "restart_mean_s": sum(restarts) / len(restarts) if restarts else 0.0,
        "restart_max_s": max(restarts, default=0.0),
        **times,
        "restarts_at_once": most_at_once(results, RESTART_KINDS, inside=True),
        "others_at_once": most_at_once(results, WAITING_KINDS, inside=False),
        "apply_exit": applied.code,
        "apply_ok": report["ok"],
        "done": sum(r["outcome"] == "done" for r in results),
        "replan_exit": after.code,
        "load_avg": f"{load_before[0]:.1f}/{load_after[0]:.1f}",
    }


COLUMNS = ["N", "R_s", "parallelism", "renewals", "actions", "restart_waves", "limit_s",
           "apply_wall_s", "wall_over_limit", "execute_s", "before_execute_s", "apply_cpu_s",
           "apply_peak_mb", "lab_cpu_share", "restarts_at_once", "others_at_once",
           "restart_mean_s", "install_sum_over_p_s", "installs_end_s", "restart_lag_max_s",
           "done", "replan_exit", "load_avg"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nodes", type=int, default=1000)
    ap.add_argument("--restart-seconds", type=float, default=60.0,
                    help="how long the lab keeps a restarting node down (the issue: 60)")
    ap.add_argument("--parallelism", type=int, default=16)
    ap.add_argument("--poll-interval", type=float, default=1.0,
                    help="apply's --poll-interval (seconds between looks at a restarting node)")
    ap.add_argument("--builtin-cas", type=int, default=150)
    ap.add_argument("--name", default="apply", help="results/<name>.json")
    args = ap.parse_args()
    rows = [bench(args.nodes, args.restart_seconds, args.parallelism, args.poll_interval,
                  args.builtin_cas)]
    print(table(rows, COLUMNS))
    print(f"wrote {save(args.name, rows)}")


if __name__ == "__main__":
    main()
