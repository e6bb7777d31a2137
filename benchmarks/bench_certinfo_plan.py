"""The CPU of certificate facts inside a real ``certops plan``, this checkout against another.

    certops lab up --detach --dir LAB --nodes 150
    certops import DESIRED --inventory LAB/inventory.yaml
    python benchmarks/bench_certinfo_plan.py --desired DESIRED --inventory LAB/inventory.yaml \\
        --vs ../before [--rounds 3]

Each round runs ``certops plan --format json`` in a child process per checkout (in turn: A B
A B ...), with ``CertInfo.from_der`` and the signature check behind ``self_signed``
(``certinfo._self_signed``, in both checkouts) wrapped to add up the ``time.process_time``
spent inside them; the child reports those sums and its whole CPU. ``bench_plan.py``'s
figure (the plan's CPU from outside) moves by only the facts' share, a few per cent, which a
shared machine's noise hides; this measures the share itself. Loopback only.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from common import ROOT, checkout_env, save, table

_CHILD = """
import contextlib, io, json, sys, time
from reconciler.pki import certinfo
from reconciler.cli import main
spent = {"from_der": 0.0, "built": 0, "self_signed": 0.0, "verified": 0, "inside": 0.0,
         "depth": 0}
build, check = certinfo.CertInfo.from_der.__func__, certinfo._self_signed

def from_der(cls, der):
    t = time.process_time()
    spent["depth"] += 1
    try:
        return build(cls, der)
    finally:
        spent["depth"] -= 1
        spent["from_der"] += time.process_time() - t
        spent["built"] += 1

def self_signed(cert):
    t = time.process_time()
    try:
        return check(cert)
    finally:
        took = time.process_time() - t
        spent["self_signed"] += took
        spent["inside" if spent["depth"] else "outside"] = (
            spent.get("inside" if spent["depth"] else "outside", 0.0) + took)
        spent["verified"] += 1

certinfo.CertInfo.from_der = classmethod(from_der)
certinfo._self_signed = self_signed
sys.argv = ["certops", "plan", sys.argv[1], "--inventory", sys.argv[2], "--format", "json"]
t0 = time.process_time()
with contextlib.redirect_stdout(io.StringIO()):
    try:
        main()
    except SystemExit as exit:
        spent["exit"] = exit.code
spent["total"] = time.process_time() - t0
print(json.dumps(spent), file=sys.stderr)
"""


def measure(env: dict[str, str], desired: Path, inventory: Path) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, "-c", _CHILD, str(desired), str(inventory)],
                          env={**os.environ, **env}, capture_output=True, text=True, check=True)
    data: dict[str, Any] = json.loads(proc.stderr.strip().splitlines()[-1])
    # Before the change self_signed ran inside from_der: count it once.
    data["facts"] = data["from_der"] + data["self_signed"] - data["inside"]
    return data


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--desired", type=Path, required=True)
    ap.add_argument("--inventory", type=Path, required=True)
    ap.add_argument("--vs", type=Path, help="another checkout, measured in turn with this one")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--name", default="certinfo-plan")
    args = ap.parse_args()
    sides = {"this": checkout_env(ROOT)}
    if args.vs:
        sides["vs"] = checkout_env(args.vs.resolve())
    runs: dict[str, list[dict[str, Any]]] = {side: [] for side in sides}
    for _ in range(args.rounds):
        for side, env in sides.items():
            runs[side].append(measure(env, args.desired, args.inventory))
    rows: list[dict[str, Any]] = []
    for side, done in runs.items():
        rows.append({
            "checkout": side, "exit": sorted({r.get("exit") for r in done}, key=str),
            "built": done[0]["built"], "verified": done[0]["verified"],
            "facts_ms": statistics.median(r["facts"] for r in done) * 1e3,
            "plan_cpu_s": statistics.median(r["total"] for r in done),
            "facts_share": statistics.median(r["facts"] / r["total"] for r in done),
        })
    if args.vs:
        for row, key in ((rows[0], "facts"), (rows[0], "total")):
            row[f"{key}_ratio"] = statistics.median(
                a[key] / b[key] for a, b in zip(runs["this"], runs["vs"], strict=True))
    columns = ["checkout", "exit", "built", "verified", "facts_ms", "facts_share",
               "plan_cpu_s"]
    print(table(rows, columns + (["facts_ratio", "total_ratio"] if args.vs else [])))
    print(f"results: {save(args.name, rows)}")


if __name__ == "__main__":
    main()
