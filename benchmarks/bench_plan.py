"""certops plan against a synthetic lab fleet: wall time vs the network limit, CPU, memory,
side by side with its peers in the same run: the naive threaded reader (``naive_reader.py``)
and, with ``--vs DIR``, certops from another checkout (the "before" of a change).

Network limit (issue 14), with the request counts of the five-request CUCM read (4 per
Expressway, 5 per CUCM), so that fewer requests count as a gain:

    limit = max(chain × L × ceil(N / parallelism), all requests × L / parallelism)

Why: a node's requests go over one keep-alive connection (a chain), nodes are read
``parallelism`` at a time, and the lab adds L to every request: no reader finishes sooner.
Every command of a latency runs in turn (A B C A B C ...), ``--repeat`` times; the table has
each one's median and its median ratio, pair by pair, to the naive reader and to ``--vs``.

The lab declares every Unified CM's platform CLI (``ssh``, ``ssh_host_key``), so certops and
the naive reader also read each one over SSH (one session, three commands). ``--no-cli``
plans a copy of the fleet without it (both keys stripped from the inventory and from the
imported node files: REST only, as before issue 22); ``--cli both`` runs the two variants on
the same lab, one after the other.

    python benchmarks/bench_plan.py [--sizes 50,200,1000] [--latencies 0,20,100] [--quick]
    python benchmarks/bench_plan.py --sizes 1000 --latencies 20 --repeat 3 --vs ../before
    python benchmarks/bench_plan.py --sizes 1000 --latencies 20 --repeat 3 --cli both
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from common import (
    CERTOPS,
    ROOT,
    Measure,
    RunningLab,
    certops,
    checkout_env,
    inventory_without_cli,
    lab,
    proc_cpu,
    run,
    save,
    table,
    without_cli,
)
from ruamel.yaml import YAML

OLD_CHAIN = {"expressway": 4, "cucm": 5}  # requests per node before the one-request CUCM read
NAIVE = Path(__file__).resolve().parent / "naive_reader.py"


def network_limit(types: list[str], latency_ms: int, parallelism: int) -> float:
    """The larger of the longest chain's bound and the all-requests bound, in seconds."""
    counts = [OLD_CHAIN["expressway"] if t.startswith(("expressway", "vcs")) else
              OLD_CHAIN["cucm"] for t in types]
    if not counts:
        return 0.0
    chain = max(counts) * latency_ms / 1000 * math.ceil(len(types) / parallelism)
    return max(chain, sum(counts) * latency_ms / 1000 / parallelism)


def commands(desired: Path, inventory: Path, parallelism: int, vs: Path | None,
             workers: bool = False, certops_parallelism: int | None = None,
             ) -> dict[str, tuple[list[str], dict[str, str]]]:
    """The readers to compare: name -> (argv, environment). certops reads as many nodes at
    once as its own default (each node over one connection), unless ``certops_parallelism``
    says; the naive reader runs ``parallelism`` threads."""
    at_once = [] if certops_parallelism is None else ["--parallelism", str(certops_parallelism)]

    def plan_of(directory: Path) -> list[str]:
        return [*CERTOPS, "plan", str(directory), "--inventory", str(inventory),
                *at_once, "--format", "json"]

    plan = plan_of(desired)
    mine = checkout_env(ROOT)
    cmds = {"certops": (plan, mine)}
    if workers:  # the same code with read workers (opt-in): what the other cores buy
        cmds["certops-workers"] = (plan, {**mine, "CERTOPS_READ_WORKERS": "auto"})
    if vs is not None:  # its own import: each version plans what its own import writes
        cmds["before"] = (plan_of(desired.with_name(desired.name + "-before")),
                          checkout_env(vs.resolve()))
    cmds["naive"] = ([sys.executable, str(NAIVE), "--inventory", str(inventory),
                      "--parallelism", str(parallelism)], {})
    return cmds


def one_run(running: RunningLab, argv: list[str], env: dict[str, str]) -> dict[str, Any]:
    running.reset()
    lab_cpu0 = proc_cpu(running.pid)
    m: Measure = run(argv, env=env)
    counts = running.requests()
    return {"m": m, "lab_cpu": proc_cpu(running.pid) - lab_cpu0,
            "requests": sum(c.get("total", 0) for c in counts.values()),
            "cli_commands": sum(c.get("SSH", 0) for c in counts.values()),
            "per_node": max(c.get("total", 0) for c in counts.values())}


def summarise(name: str, runs: list[dict[str, Any]], n: int, latency: int,
              limit: float, cli: str) -> dict[str, Any]:
    wall = statistics.median(r["m"].wall for r in runs)
    cpu = statistics.median(r["m"].cpu for r in runs)
    return {
        "reader": name, "N": n, "L_ms": latency, "cli": cli,
        "exit": max(r["m"].code for r in runs),
        "wall_s": wall, "requests": runs[-1]["requests"],
        "cli_commands": runs[-1]["cli_commands"],
        "req_per_node_max": runs[-1]["per_node"], "net_limit_s": limit,
        "wall/limit": wall / limit if limit else "n/a",
        "cpu_s": cpu, "cpu_ms_per_node": cpu / n * 1000,
        "peak_mb": max(r["m"].peak_rss_mb for r in runs),
        "lab_cpu_share": statistics.median(r["lab_cpu"] / r["m"].wall for r in runs),
    }


def ratios(rows: list[dict[str, Any]], runs: dict[str, list[dict[str, Any]]]) -> None:
    """Each reader's median pairwise wall ratio to the naive reader and to ``before``."""
    for row in rows:
        mine = runs[row["reader"]]
        for peer in ("naive", "before"):
            if peer in runs:
                row[f"÷{peer}"] = statistics.median(
                    a["m"].wall / b["m"].wall for a, b in zip(mine, runs[peer], strict=True))


def variants(desired: Path, running: RunningLab, cli: str, vs: Path | None,
             tmp: Path) -> list[tuple[str, Path, Path]]:
    """(name, desired dir, inventory) of each variant ``cli`` asks for: the lab as it is
    (``declared``) and/or its copy without the CLI (``undeclared``)."""
    out: list[tuple[str, Path, Path]] = []
    if cli in ("declared", "both"):
        out.append(("declared", desired, running.inventory))
    if cli in ("undeclared", "both"):
        tree = without_cli(desired, tmp / f"{desired.name}-nocli")
        if vs is not None:  # its own import, as commands() expects it: NAME-before
            without_cli(desired.with_name(desired.name + "-before"),
                        tmp / f"{tree.name}-before")
        inv = inventory_without_cli(running.inventory, tmp / f"{desired.name}-nocli.yaml")
        out.append(("undeclared", tree, inv))
    return out


def bench(sizes: list[int], latencies: list[int], parallelism: int, builtin: int,
          repeat: int = 1, vs: Path | None = None, workers: bool = False,
          certops_parallelism: int | None = None, cli: str = "declared") -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            with lab(Path(tmp) / f"lab{n}", n, builtin_cas=builtin) as running:
                desired = Path(tmp) / f"desired{n}"
                certops("import", str(desired), "--inventory", str(running.inventory),
                        env=checkout_env(ROOT), check=True)
                if vs is not None:
                    certops("import", str(desired) + "-before", "--inventory",
                            str(running.inventory), check=True, env=checkout_env(vs.resolve()))
                inventory = YAML(typ="safe").load(running.inventory.read_text())
                types = [str(e["type"]) for e in inventory["nodes"].values()]
                for name, tree, inv in variants(desired, running, cli, vs, Path(tmp)):
                    cmds = commands(tree, inv, parallelism, vs, workers, certops_parallelism)
                    for latency in latencies:
                        rows += measure(running, cmds, repeat, n, latency,
                                        network_limit(types, latency, parallelism), name)
    return rows


def measure(running: RunningLab, cmds: dict[str, tuple[list[str], dict[str, str]]],
            repeat: int, n: int, latency: int, limit: float, cli: str) -> list[dict[str, Any]]:
    """The readers in turn, ``repeat`` times, at ``latency``: one row each."""
    running.set_latency(latency)
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in cmds}
    for _ in range(repeat):
        for name, (argv, env) in cmds.items():
            runs[name].append(one_run(running, argv, env))
    new = [summarise(k, v, n, latency, limit, cli) for k, v in runs.items()]
    ratios(new, runs)
    print(table(new, list(new[0])), flush=True)
    return new


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="50,200,1000")
    ap.add_argument("--latencies", default="0,20,100")
    ap.add_argument("--parallelism", type=int, default=16,
                    help="the naive reader's threads, and the network limit's")
    ap.add_argument("--certops-parallelism", type=int,
                    help="certops plan --parallelism (default: certops' own default)")
    ap.add_argument("--builtin-cas", type=int, default=150)
    ap.add_argument("--repeat", type=int, default=1, help="runs of each reader, alternated")
    ap.add_argument("--vs", type=Path, help="another checkout of certops to compare with")
    ap.add_argument("--workers", action="store_true",
                    help="also run certops with read workers (CERTOPS_READ_WORKERS=auto)")
    ap.add_argument("--cli", choices=("declared", "undeclared", "both"), default="declared",
                    help="the Unified CMs' platform CLI declared (the lab's inventory and its "
                    "import), stripped from a copy of both, or the two variants in turn")
    ap.add_argument("--no-cli", dest="cli", action="store_const", const="undeclared",
                    help="the same as --cli undeclared: REST only")
    ap.add_argument("--name", default="plan", help="results/NAME.json")
    ap.add_argument("--quick", action="store_true", help="N=20 and L=0,20 only")
    args = ap.parse_args()
    sizes = [20] if args.quick else [int(x) for x in args.sizes.split(",")]
    latencies = [0, 20] if args.quick else [int(x) for x in args.latencies.split(",")]
    rows = bench(sizes, latencies, args.parallelism, args.builtin_cas, args.repeat, args.vs,
                 args.workers, args.certops_parallelism, args.cli)
    columns = sorted({c for r in rows for c in r}, key=lambda c: list(rows[-1]).index(c)
                     if c in rows[-1] else 99)
    print(table(rows, columns))
    print(f"wrote {save(args.name, rows)}")


if __name__ == "__main__":
    main()
