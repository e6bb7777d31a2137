"""A large fleet planned as a CI matrix of shards (``--select shard=K``), against a running lab.

The fleet is simulated: ``--copies`` times the lab's imported fleet (a 1,000-node lab gives
10,000 nodes with ``--copies 10``), each copy's nodes renamed (``expc-0001`` ...) and pointed,
through the inventory, at the lab node it copies; every site gets ``labels: {shard: K}``
(K = site mod ``--shards``), so each site's linked nodes stay in one shard. The lab answers
each request as it would for its own node (the same requests, the same answers).

It checks and measures:

1. the shards, run at the same time as a matrix would, together give the unsharded plan: the
   union of their actions (by id, whole JSON) equals the unsharded plan's actions;
2. each shard against its nodes alone (a desired state holding only that shard's node files
   and links), the two run in turn (``--pairs`` times): wall and CPU ratios, medians.

    python benchmarks/bench_shards.py --lab LAB_DIR --desired IMPORTED_DIR [--copies 10]

``--no-cli`` simulates the fleet without the Unified CMs' platform CLI (REST only; see
bench_plan.py).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from common import (
    CERTOPS,
    ROOT,
    Measure,
    checkout_env,
    inventory_without_cli,
    run,
    save,
    without_cli,
)
from ruamel.yaml import YAML

NAME = re.compile(r"^(?P<kind>[a-z]+)-(?P<site>\d+)$")


def new_name(kind: str, site: int) -> str:
    return f"{kind}-{site:04d}"


def simulate(desired: Path, inventory: Path, copies: int, shards: int, out: Path,
             only: int | None = None) -> tuple[Path, Path, int]:
    """A fleet of ``copies`` × the imported one (or only shard ``only`` of it) and its
    inventory; returns (desired dir, inventory, nodes)."""
    inv = YAML(typ="safe").load(inventory.read_text())
    lab_sites = sorted({int(m["site"]) for n in inv["nodes"] if (m := NAME.match(n))})
    tree = out / ("fleet" if only is None else f"shard{only}")
    shutil.copytree(desired, tree, ignore=shutil.ignore_patterns("nodes"))
    (tree / "nodes").mkdir()
    new_inv: dict[str, Any] = {k: v for k, v in inv.items() if k != "nodes"}
    new_inv["nodes"] = {}
    links: list[str] = []
    count = 0
    for site in range(1, copies * len(lab_sites) + 1):
        shard = site % shards
        if only is not None and shard != only:
            continue
        lab_site = lab_sites[(site - 1) % len(lab_sites)]
        names = {}
        for kind in ("expe", "expc", "cucm"):
            old = f"{kind}-{lab_site:03d}"
            if old not in inv["nodes"]:
                continue
            names[old] = new = new_name(kind, site)
            text = (desired / "nodes" / f"{old}.yaml").read_text()
            text = text.replace(f"name: {old}\n", f"name: {new}\nlabels:\n  shard: '{shard}'\n")
            (tree / "nodes" / f"{new}.yaml").write_text(text)
            new_inv["nodes"][new] = inv["nodes"][old]
            count += 1
        links += [f"  - [{names[a]}, {names[b]}]" for a, b in _links(desired)
                  if a in names and b in names]
    _write_fleet(desired / "certops.yaml", tree / "certops.yaml", links)
    inv_path = out / f"{tree.name}-inventory.yaml"
    with inv_path.open("w") as fh:
        YAML(typ="safe").dump(new_inv, fh)
    return tree, inv_path, count


def _links(desired: Path) -> list[tuple[str, str]]:
    data = YAML(typ="safe").load((desired / "certops.yaml").read_text())
    return [(str(a), str(b)) for a, b in data.get("links", [])]


def _write_fleet(source: Path, target: Path, links: list[str]) -> None:
    """certops.yaml with the links replaced by the simulated fleet's."""
    kept = [line for line in source.read_text().splitlines()
            if not line.startswith(("links:", "  - ["))]
    target.write_text("\n".join([*kept, "links:", *links]) + "\n")


def plan_cmd(tree: Path, inventory: Path, out: Path, select: str | None) -> list[str]:
    cmd = [*CERTOPS, "plan", str(tree), "--inventory", str(inventory), "--out", str(out),
           "--format", "json"]
    return [*cmd, "--select", select] if select else cmd


def actions(path: Path) -> dict[str, str]:
    data = json.loads(path.read_text())
    return {a["id"]: json.dumps(a, sort_keys=True) for a in data["actions"]}


def matrix(tree: Path, inventory: Path, shards: int, work: Path,
           env: dict[str, str]) -> tuple[bool, float, dict[str, Any]]:
    """The shards at the same time; whether their actions together equal the whole plan."""
    whole_out = work / "whole.json"
    whole = run(plan_cmd(tree, inventory, whole_out, None), env=env)
    t0 = time.perf_counter()
    procs = [subprocess.Popen(plan_cmd(tree, inventory, work / f"shard{k}.json", f"shard={k}"),
                              env={**_base_env(), **env}, stdout=subprocess.DEVNULL,
                              stderr=subprocess.STDOUT) for k in range(shards)]
    codes = [p.wait() for p in procs]
    matrix_wall = time.perf_counter() - t0
    union: dict[str, str] = {}
    for k in range(shards):
        union.update(actions(work / f"shard{k}.json"))
    same = union == actions(whole_out)
    info = {"whole_wall_s": whole.wall, "whole_cpu_s": whole.cpu, "whole_exit": whole.code,
            "shard_exits": codes, "matrix_wall_s": matrix_wall,
            "actions": len(union), "union_equals_whole": same}
    return same, matrix_wall, info


def _base_env() -> dict[str, str]:
    import os

    return dict(os.environ)


def pairs(fleet: Path, fleet_inv: Path, alone: list[tuple[Path, Path]], shards_to_time: list[int],
          repeat: int, work: Path, env: dict[str, str]) -> list[dict[str, Any]]:
    """Each timed shard against its nodes alone, in turn, ``repeat`` times."""
    rows = []
    for k in shards_to_time:
        got: dict[str, list[Measure]] = {"shard": [], "alone": []}
        for _ in range(repeat):
            got["shard"].append(run(plan_cmd(fleet, fleet_inv, work / "t.json", f"shard={k}"),
                                    env=env))
            tree, inv = alone[k]
            got["alone"].append(run(plan_cmd(tree, inv, work / "t.json", None), env=env))
        rows.append({
            "shard": k,
            "shard_wall_s": statistics.median(m.wall for m in got["shard"]),
            "alone_wall_s": statistics.median(m.wall for m in got["alone"]),
            "wall_ratio": statistics.median(a.wall / b.wall for a, b in
                                            zip(got["shard"], got["alone"], strict=True)),
            "cpu_ratio": statistics.median(a.cpu / b.cpu for a, b in
                                           zip(got["shard"], got["alone"], strict=True)),
            "exits": sorted({m.code for m in got["shard"] + got["alone"]}),
        })
        print(rows[-1], flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--lab", type=Path, required=True, help="a running lab's directory")
    ap.add_argument("--desired", type=Path, required=True, help="certops import of that lab")
    ap.add_argument("--copies", type=int, default=10)
    ap.add_argument("--shards", type=int, default=8)
    ap.add_argument("--time-shards", default="0,1", help="shards timed against their nodes alone")
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--no-cli", action="store_true",
                    help="no platform CLI declared on the Unified CMs (REST only)")
    ap.add_argument("--name", default="shards")
    args = ap.parse_args()
    env = checkout_env(ROOT)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        desired, inventory = args.desired, args.lab / "inventory.yaml"
        if args.no_cli:
            desired = without_cli(desired, work / "rest-only" / desired.name)
            inventory = inventory_without_cli(inventory, work / "rest-only" / "inventory.yaml")
        fleet, fleet_inv, nodes = simulate(desired, inventory, args.copies, args.shards, work)
        print(f"simulated fleet: {nodes} nodes", flush=True)
        same, _, info = matrix(fleet, fleet_inv, args.shards, work, env)
        print(info, flush=True)
        timed = [int(k) for k in args.time_shards.split(",") if k]
        alone = [simulate(desired, inventory, args.copies, args.shards,
                          work, only=k)[:2] if k in timed else (fleet, fleet_inv)
                 for k in range(args.shards)]
        rows = pairs(fleet, fleet_inv, alone, timed, args.pairs, work, env)
    print(f"wrote {save(args.name, [{'nodes': nodes, **info}, *rows])}")
    raise SystemExit(0 if same else 1)


if __name__ == "__main__":
    main()
