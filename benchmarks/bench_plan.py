"""certops plan against a synthetic lab fleet: wall time vs the network limit, CPU, memory.

Network limit = (requests on the longest per-node chain × L) × ceil(N / parallelism).
Why: certops reads each node over one keep-alive connection, so a node's requests are
sequential (a chain: Expressway sysinfo, certificate, CSR, trust list = 4; Unified CM
inventory + 4 trust stores = 5), nodes are read ``parallelism`` at a time, and the lab adds
L to every request. Nothing can finish sooner; the ratio says how close certops gets.

    python benchmarks/bench_plan.py [--sizes 50,200,1000] [--latencies 0,20,100] [--quick]
"""

from __future__ import annotations

import argparse
import math
import tempfile
from pathlib import Path
from typing import Any

from common import certops, lab, proc_cpu, save, table

CHAIN = {"expressway": 4, "cucm": 5}


def bench(
    sizes: list[int], latencies: list[int], parallelism: int, builtin: int
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            with lab(Path(tmp) / f"lab{n}", n, builtin_cas=builtin) as running:
                desired = Path(tmp) / f"desired{n}"
                certops("import", str(desired), "--inventory", str(running.inventory), check=True)
                for latency in latencies:
                    running.set_latency(latency)
                    running.reset()
                    lab_cpu0 = proc_cpu(running.pid)
                    m = certops(
                        "plan",
                        str(desired),
                        "--inventory",
                        str(running.inventory),
                        "--parallelism",
                        str(parallelism),
                        "--format",
                        "json",
                    )
                    lab_cpu = proc_cpu(running.pid) - lab_cpu0
                    counts = running.requests()
                    total = sum(c.get("total", 0) for c in counts.values())
                    per_node = max(c.get("total", 0) for c in counts.values())
                    limit = per_node * latency / 1000 * math.ceil(n / parallelism)
                    rows.append(
                        {
                            "N": n,
                            "L_ms": latency,
                            "exit": m.code,
                            "wall_s": m.wall,
                            "requests": total,
                            "req_per_node_max": per_node,
                            "net_limit_s": limit,
                            "wall/limit": m.wall / limit if limit else "n/a",
                            "cpu_s": m.cpu,
                            "cpu_ms_per_node": m.cpu / n * 1000,
                            "peak_mb": m.peak_rss_mb,
                            "lab_cpu_s": lab_cpu,
                            "lab_cpu_share": lab_cpu / m.wall,
                        }
                    )
                    print(table(rows[-1:], list(rows[-1])), flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="50,200,1000")
    ap.add_argument("--latencies", default="0,20,100")
    ap.add_argument("--parallelism", type=int, default=16)
    ap.add_argument("--builtin-cas", type=int, default=150)
    ap.add_argument("--quick", action="store_true", help="N=20 and L=0,20 only")
    args = ap.parse_args()
    sizes = [20] if args.quick else [int(x) for x in args.sizes.split(",")]
    latencies = [0, 20] if args.quick else [int(x) for x in args.latencies.split(",")]
    rows = bench(sizes, latencies, args.parallelism, args.builtin_cas)
    print(table(rows, list(rows[0])))
    print(f"wrote {save('plan', rows)}")


if __name__ == "__main__":
    main()
