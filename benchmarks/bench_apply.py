"""Apply on a synthetic fleet: one renewal per Expressway (CSR, signed by the lab CA,
installed, node restarted and verified by TLS handshake), restart time 1 s in the lab.

    python benchmarks/bench_apply.py [--nodes 200]
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
from pathlib import Path
from typing import Any

from common import certops, lab, proc_cpu, save, table


def sign_all(lab_dir: Path, desired: Path) -> int:
    """What `certops lab sign` does, in-process for speed: full chain from the old CA."""
    from cryptography import x509

    from reconciler.lab.ca import cert_pem, load_or_create_pki

    pki = load_or_create_pki(lab_dir / "ca")
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--nodes", type=int, default=200)
    ap.add_argument("--parallelism", type=int, default=16)
    args = ap.parse_args()
    rows: list[dict[str, Any]] = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        lab(Path(tmp) / "lab", args.nodes, builtin_cas=150, restart_seconds=1.0) as run,
    ):
        inv = str(run.inventory)
        desired = Path(tmp) / "desired"
        certops("import", str(desired), "--inventory", inv, check=True)
        for node_file in (desired / "nodes").glob("exp*.yaml"):  # keep until due: renew
            node_file.write_text(re.sub(r"\n  file: \.\./certs/[^\n]+", "", node_file.read_text()))
        csr = certops(
            "apply",
            str(desired),
            "--inventory",
            inv,
            "--auto-approve",
            "--poll-interval",
            "0.2",
            check=True,
        )
        signed = sign_all(run.directory, desired)
        plan_file = Path(tmp) / "plan.json"
        plan = certops(
            "plan",
            str(desired),
            "--inventory",
            inv,
            "--out",
            str(plan_file),
            "--parallelism",
            str(args.parallelism),
        )
        actions = len(json.loads(plan_file.read_text())["actions"])
        lab_cpu0 = proc_cpu(run.pid)
        applied = certops(
            "apply",
            str(plan_file),
            "--dir",
            str(desired),
            "--inventory",
            inv,
            "--poll-interval",
            "0.2",
            "--parallelism",
            str(args.parallelism),
            "--report",
            str(Path(tmp) / "report.json"),
        )
        lab_cpu = proc_cpu(run.pid) - lab_cpu0
        report = json.loads((Path(tmp) / "report.json").read_text())
        after = certops("plan", str(desired), "--inventory", inv, "--detailed-exitcode")
        rows.append(
            {
                "N": args.nodes,
                "renewals": signed,
                "actions": actions,
                "csr_apply_s": csr.wall,
                "plan_s": plan.wall,
                "apply_wall_s": applied.wall,
                "apply_cpu_s": applied.cpu,
                "apply_peak_mb": applied.peak_rss_mb,
                "lab_cpu_s": lab_cpu,
                "apply_ok": report["ok"],
                "done": sum(r["outcome"] == "done" for r in report["results"]),
                "replan_exit": after.code,
            }
        )
    print(table(rows, list(rows[0])))
    print(f"wrote {save('apply', rows)}")


if __name__ == "__main__":
    main()
