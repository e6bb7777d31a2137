"""Shared harness for the benchmarks: a lab in its own process, certops as a subprocess.

Every figure comes from outside the measured process: wall time, CPU (user + system) and
peak RSS from ``/usr/bin/time``-style accounting (``os.wait4``), HTTP requests from the
lab's own counters, and the lab's CPU from ``/proc/<pid>/stat``. Only loopback is used.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
CERTOPS = [sys.executable, "-m", "reconciler"]
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Measure:
    wall: float
    cpu: float
    peak_rss_mb: float
    code: int
    output: str


def run(args: list[str], *, env: dict[str, str] | None = None, check: bool = False) -> Measure:
    """Run a command; its wall time, CPU seconds and peak RSS (of that process tree)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        args,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, **(env or {})},
        text=True,
    )
    out_chunks: list[str] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        out_chunks.append(line)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    proc.returncode = code
    output = "".join(out_chunks)
    if check and code != 0:
        raise RuntimeError(f"{' '.join(args)} exited {code}:\n{output[-2000:]}")
    return Measure(
        wall=wall,
        cpu=usage.ru_utime + usage.ru_stime,
        peak_rss_mb=usage.ru_maxrss / 1024,
        code=code,
        output=output,
    )


def byte_compiled(checkout: Path) -> None:
    """Compile a checkout's package to bytecode first, as ``pip install`` does: where
    PYTHONDONTWRITEBYTECODE is set (this machine), a checkout run from its sources would
    otherwise compile ~150 modules on every run, which no installed certops does."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(checkout / "reconciler")],
                   check=True, stdout=subprocess.DEVNULL)


def checkout_env(root: Path) -> dict[str, str]:
    """The environment that runs certops from ``root`` (byte-compiled first), and checks
    that it does.

    ``python -m`` puts the current directory first on ``sys.path``, ahead of PYTHONPATH: run
    from inside a checkout, both sides of a ``--vs`` comparison would import that checkout.
    PYTHONSAFEPATH (Python 3.11) leaves it out, so PYTHONPATH decides.
    """
    byte_compiled(root)
    env = {"PYTHONPATH": str(root), "PYTHONSAFEPATH": "1"}
    probe = run([sys.executable, "-c", "import reconciler; print(reconciler.__file__)"], env=env)
    if not Path(probe.output.strip()).is_relative_to(root):
        raise SystemExit(f"certops would be imported from {probe.output.strip()}, not {root}")
    return env


def certops(*args: str, **kw: Any) -> Measure:
    return run([*CERTOPS, *args], **kw)


def proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) that process ``pid`` has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


@dataclass
class RunningLab:
    directory: Path
    pid: int

    @property
    def inventory(self) -> Path:
        return self.directory / "inventory.yaml"

    def client(self) -> Any:
        from reconciler.lab.control import LabClient

        return LabClient(self.directory)

    def set_latency(self, ms: int) -> None:
        """Per-request latency on every node (a lab fault matching every path)."""
        from reconciler.lab import Fault

        client = self.client()
        for node in client.counters():
            client.clear_faults(node)
            if ms:
                client.set_fault(node, Fault(match="*", latency_ms=ms))

    def requests(self) -> dict[str, dict[str, int]]:
        data: dict[str, dict[str, int]] = self.client().counters()
        return data

    def reset(self) -> None:
        self.client().reset_counters()


@contextmanager
def lab(
    directory: Path, nodes: int, *, builtin_cas: int = 150, restart_seconds: float = 1.0
) -> Iterator[RunningLab]:
    """A synthetic fleet of ``nodes`` in its own process, stopped afterwards."""
    if directory.exists():
        shutil.rmtree(directory)
    certops(
        "lab",
        "up",
        "--detach",
        "--dir",
        str(directory),
        "--nodes",
        str(nodes),
        "--builtin-cas",
        str(builtin_cas),
        "--restart-seconds",
        str(restart_seconds),
        check=True,
    )
    control = json.loads((directory / "control.json").read_text())
    try:
        yield RunningLab(directory, int(control["pid"]))
    finally:
        certops("lab", "down", "--dir", str(directory))


_SSH_KEY_LINE = re.compile(r"^  ssh_host_key: .*\n", re.MULTILINE)
_EMPTY_CONNECTION = re.compile(r"^connection:\n(?!  )", re.MULTILINE)


def without_cli(desired: Path, target: Path) -> Path:
    """A copy of an imported fleet at ``target`` with no platform CLI declared: the node
    files' ``connection.ssh_host_key`` removed (then a REST node's pending CSRs are not read:
    ``csr.pending_unknown``)."""
    shutil.copytree(desired, target)
    for node in (target / "nodes").glob("*.yaml"):
        text = node.read_text()
        node.write_text(_EMPTY_CONNECTION.sub("", _SSH_KEY_LINE.sub("", text)))
    return target


def inventory_without_cli(inventory: Path, target: Path) -> Path:
    """The lab's inventory without ``ssh``/``ssh_host_key``."""
    data = YAML(typ="safe").load(inventory.read_text())
    for entry in data["nodes"].values():
        for key in ("ssh", "ssh_port", "ssh_host_key"):
            entry.pop(key, None)
    with target.open("w") as fh:
        YAML(typ="safe").dump(data, fh)
    return target


def machine() -> dict[str, Any]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "system": platform.platform(),
    }


def save(name: str, rows: list[dict[str, Any]]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({"machine": machine(), "rows": rows}, indent=2) + "\n")
    return path


def table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    """A small Markdown table (printed, and pasted into benchmarks/README.md)."""

    def cell(v: Any) -> str:
        return f"{v:.3g}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(r.get(c, "")) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


def measure_dataclass(m: Measure) -> dict[str, Any]:
    data = asdict(m)
    data.pop("output")
    return data
