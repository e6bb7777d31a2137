"""The naive threaded reader: the yardstick certops' ``plan`` must beat (issue 14).

What anyone would write in an afternoon: httpx's sync client, one client per node, a pool of
``--parallelism`` threads, the same endpoints certops reads (Expressway: sysinfo, server
certificate, pending CSR, trusted CA list, its API description for the drain; Unified CM: the
one snapshot request), the same
TLS verification (the lab's CA bundle, the node's TLS name). It decodes what it reads (JSON,
PEM text) and plans nothing: a lower bound on reading, not a competitor to planning.

A Unified CM whose inventory entry declares the platform CLI (``ssh_host_key`` or ``ssh``)
is also read over SSH, as certops reads it (issue 22): one session per node (asyncssh's
plain API, ``asyncio.run`` in the worker thread), the host key checked against the pinned
one (else ``~/.ssh/known_hosts``), the same commands certops types for a REST node: ``set
cli pagination off``, ``show version active``, ``show csr list own`` and ``show csr own`` of
each CSR listed. The ciphers in certops' order (AES-GCM first: asyncssh's default,
ChaCha20, costs the client ~3 ms more a session here), so the two pay the same per session.

    python benchmarks/naive_reader.py --inventory LAB/inventory.yaml [--parallelism 16]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import ssl
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

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
CLI = ("set cli pagination off", "show version active", "show csr list own")
CIPHERS = ["aes128-gcm@openssh.com", "aes256-gcm@openssh.com",
           "chacha20-poly1305@openssh.com", "aes256-ctr", "aes192-ctr", "aes128-ctr"]
PROMPT = "admin:"
BANNER = "Welcome to the Platform Command Line Interface"
ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[()][0-~]|\x1b[0-~]|\r")
CSR_LINE = re.compile(r"^\s*(\S+/\S+\.csr)\s*$", re.MULTILINE)


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
    if cli_declared(entry):
        size += asyncio.run(read_cli(entry))
    return size


def cli_declared(entry: dict[str, Any]) -> bool:
    return bool(entry.get("ssh_host_key") or entry.get("ssh"))


async def read_cli(entry: dict[str, Any]) -> int:
    """One SSH session: log in, wait for the prompt, type ``CLI`` (then ``show csr own``
    of each CSR listed); characters read."""
    import asyncssh  # only when a node declares the CLI

    host = str(urlsplit(str(entry["api"])).hostname)
    port = int(entry.get("ssh") or 22)
    known: Any = ()  # asyncssh's default: ~/.ssh/known_hosts
    if entry.get("ssh_host_key"):
        where = host if port == 22 else f"[{host}]:{port}"
        known = asyncssh.import_known_hosts(f"{where} {entry['ssh_host_key']}\n")
    extra = {} if known == () else {"known_hosts": known}
    async with asyncssh.connect(host, port, username=str(entry["username"]),
                                password=str(entry["password"]), client_keys=None,
                                agent_path=None, encryption_algs=CIPHERS, **extra) as conn:
        process = await conn.create_process(term_type="vt100", term_size=(200, 24))
        text = await until(process, lambda t: BANNER in t)
        process.stdin.write("\n")  # the prompt waits for a newline
        text += await until(process, at_prompt)
        size = len(text)
        for command in CLI:
            output = await run(process, command)
            size += len(output)
            if command == "show csr list own":
                for name in CSR_LINE.findall(output):
                    size += len(await run(process, f"show csr own {name}"))
        process.stdin.write("exit\n")
        process.close()
    return size


def at_prompt(text: str) -> bool:
    return text.rstrip().endswith(PROMPT)


async def run(process: Any, command: str) -> str:
    """The command's output: what follows its echo, up to the next prompt."""
    process.stdin.write(command + "\n")
    text = await until(process, lambda t: command in t and at_prompt(t.split(command, 1)[1]))
    return text.split(command, 1)[1]


async def until(process: Any, done: Callable[[str], bool]) -> str:
    """What the CLI writes until ``done`` holds for it (escape codes stripped)."""
    buf = ""
    while True:
        chunk = await asyncio.wait_for(process.stdout.read(4096), 60)
        if not chunk:
            raise EOFError("the CLI closed the session")
        buf += chunk
        text = ESCAPES.sub("", buf)
        if done(text):
            return text


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
