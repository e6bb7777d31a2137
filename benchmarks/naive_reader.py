"""The naive threaded reader: the yardstick certops' ``plan`` must beat (issue 14).

What anyone would write in an afternoon: httpx's sync client, one client per node, a pool of
``--parallelism`` threads, the same endpoints certops reads (Expressway: sysinfo, server
certificate, pending CSR, trusted CA list, its API description for the drain; Unified CM: the
one snapshot request), the same
TLS verification (the lab's CA bundle, the node's TLS name). It decodes what it reads (JSON,
PEM text) and plans nothing: a lower bound on reading, not a competitor to planning.

    python benchmarks/naive_reader.py --inventory LAB/inventory.yaml [--parallelism 16]
"""

from __future__ import annotations

import argparse
import ssl
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from ruamel.yaml import YAML

EXPRESSWAY = (
    "/api/provisioning/sysinfo",
    "/api/provisioning/certs/server",
    "/api/provisioning/certs/generate_csr",
    "/api/provisioning/certs/root",
    "/api/raml",  # since the drain (issue 21): is there a maintenance-mode resource?
)
CUCM = ("/platformcom/api/v1/certmgr/config/snapshot/server",)


def paths_for(node_type: str) -> tuple[str, ...]:
    return EXPRESSWAY if node_type.startswith(("expressway", "vcs")) else CUCM


def read_node(entry: dict[str, Any], context: ssl.SSLContext) -> int:
    """Every endpoint of one node, in turn over one keep-alive connection; bytes read."""
    size = 0
    ext = {"sni_hostname": entry["tls_server_name"]} if entry.get("tls_server_name") else {}
    with httpx.Client(
        base_url=entry["api"],
        auth=(str(entry["username"]), str(entry["password"])),
        verify=context,
        timeout=60.0,
    ) as client:
        for path in paths_for(str(entry["type"])):
            response = client.get(path, extensions=ext)
            if response.status_code == 404:  # no pending CSR
                continue
            response.raise_for_status()
            if "json" in response.headers.get("content-type", ""):
                response.json()
            size += len(response.text)
    return size


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--inventory", type=Path, required=True)
    ap.add_argument("--parallelism", type=int, default=16)
    args = ap.parse_args()
    data = YAML(typ="safe").load(args.inventory.read_text())
    context = ssl.create_default_context(cafile=str(data["ca_bundle"]))
    nodes = list(data["nodes"].values())
    with ThreadPoolExecutor(args.parallelism) as pool:
        total = sum(pool.map(lambda e: read_node(e, context), nodes))
    print(f"read {len(nodes)} nodes, {total} characters")
    sys.exit(0)


if __name__ == "__main__":
    main()
