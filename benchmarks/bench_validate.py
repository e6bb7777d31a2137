"""certops validate on a desired state of 1,000 node files (and an import-sized one).

The synthetic tree: certops.yaml with a link per Expressway pair, 1,000 node files (Expressway
C/E pairs and CUCM publishers, 20-30 lines each, each listing two CA files), two CAs in cas/.

    python benchmarks/bench_validate.py [--nodes 1000]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
from pathlib import Path
from typing import Any

from common import ROOT, certops, save, table

CAS = ROOT / "tests" / "scenarios" / "new-ca-valid" / "desired" / "cas"


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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--nodes", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "desired"
        make_tree(root, args.nodes)
        runs = [certops("validate", str(root)) for _ in range(args.runs)]
        assert all(r.code == 0 for r in runs), runs[0].output[-1000:]
        rows.append(
            {
                "what": f"validate {args.nodes} node files",
                "wall_s": statistics.median(r.wall for r in runs),
                "cpu_s": statistics.median(r.cpu for r in runs),
                "peak_mb": max(r.peak_rss_mb for r in runs),
            }
        )
    print(table(rows, list(rows[0])))
    print(f"wrote {save('validate', rows)}")


if __name__ == "__main__":
    main()
