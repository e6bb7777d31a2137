"""certops validate on a desired state of 1,000 node files (and an import-sized one).

The synthetic tree: certops.yaml with a link per Expressway pair, 1,000 node files (Expressway
C/E pairs and CUCM publishers, 20-30 lines each, each listing two CA files), two CAs in cas/.

Beside it, in turn (A B C A B C ...): a plain ruamel load of the same files
(``plain_ruamel_load.py``) and, with ``--vs DIR``, certops from another checkout; the ratio to
the plain load is taken run by run.

    python benchmarks/bench_validate.py [--nodes 1000] [--runs 5] [--vs ../before]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from common import CERTOPS, ROOT, Measure, checkout_env, run, save, table

CAS = ROOT / "tests" / "scenarios" / "new-ca-valid" / "desired" / "cas"
PLAIN = Path(__file__).resolve().parent / "plain_ruamel_load.py"


def make_tree(root: Path, count: int) -> None:
    (root / "nodes").mkdir(parents=True)
    (root / "cas").mkdir()
    for ca in ("lab-root.pem", "issuing-old.pem"):
        shutil.copy(CAS / ca, root / "cas" / ca)
    links = []
    for i in range(count):
        site, kind = divmod(i, 3)
        name = ("expe", "expc", "cucm")[kind] + f"-{site:04d}"
        dom = f"site{site:04d}.example.com"
        if kind == 1:
            links.append(f"  - [expe-{site:04d}, {name}]")
        if kind == 2:
            links.append(f"  - [expc-{site:04d}, {name}]")
        env = name.upper().replace("-", "_")
        trust = (
            "trust:\n  tomcat-trust: [../cas/lab-root.pem, ../cas/issuing-old.pem]\n"
            "  callmanager-trust: [../cas/lab-root.pem, ../cas/issuing-old.pem]\n"
            if kind == 2
            else "trust:\n  - ../cas/lab-root.pem\n  - ../cas/issuing-old.pem\n"
        )
        (root / "nodes" / f"{name}.yaml").write_text(
            f"name: {name}\ntype: {('expressway-e', 'expressway-c', 'cucm')[kind]}\n"
            f"api: https://{name}.{dom}\nlabels: {{site: s{site:04d}}}\n"
            f"credentials:\n  username_env: {env}_USER\n  password_env: {env}_PASSWORD\n"
            f"server_certificate:\n  subject_alt_names:\n    - {name}.{dom}\n    - join.{dom}\n"
            f"    - {dom}\n  renew_before: 30d\n{trust}"
        )
    (root / "certops.yaml").write_text(
        "policy:\n  renew_before: 30d\nlinks:\n" + "\n".join(links) + "\n"
    )


def compare(root: Path, runs: int, vs: Path | None) -> list[dict[str, Any]]:
    """certops validate (this checkout, and ``vs``) and the plain load, alternated."""
    cmds = {"certops validate": ([*CERTOPS, "validate", str(root)], checkout_env(ROOT))}
    if vs is not None:
        cmds["before: certops validate"] = (cmds["certops validate"][0],
                                            checkout_env(vs.resolve()))
    cmds["plain ruamel load"] = ([sys.executable, str(PLAIN), str(root)], {})
    seen: dict[str, list[Measure]] = {name: [] for name in cmds}
    for _ in range(runs):
        for name, (argv, env) in cmds.items():
            seen[name].append(run(argv, env=env))
    plain = seen["plain ruamel load"]
    rows = []
    for name, ms in seen.items():
        assert all(m.code == 0 for m in ms), ms[0].output[-1000:]
        rows.append({
            "what": name, "wall_s": statistics.median(m.wall for m in ms),
            "cpu_s": statistics.median(m.cpu for m in ms),
            "peak_mb": max(m.peak_rss_mb for m in ms),
            "÷plain": statistics.median(m.wall / p.wall for m, p in zip(ms, plain, strict=True)),
        })
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--nodes", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--vs", type=Path, help="another checkout of certops to compare with")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "desired"
        make_tree(root, args.nodes)
        rows = compare(root, args.runs, args.vs)
    print(table(rows, list(rows[0])))
    print(f"wrote {save('validate', rows)}")


if __name__ == "__main__":
    main()
