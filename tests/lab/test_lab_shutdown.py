"""The lab stops without leaving a task pending (no "Task was destroyed but it is pending!")."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent("""
    import gc, socket, ssl, sys, threading, time
    from reconciler.lab import Fault, start_lab

    with start_lab(sys.argv[1], restart_seconds=0.2, builtin_cas=2) as lab:
        lab.set_fault("expe1", Fault(match="*", latency_ms=5000))
        port = int(lab.url("expe1").rsplit(":", 1)[1])

        def request() -> None:  # in flight (5 s of latency) when the lab stops
            ctx = ssl._create_unverified_context()
            try:
                with socket.create_connection(("127.0.0.1", port)) as raw:
                    with ctx.wrap_socket(raw) as tls:
                        tls.sendall(b"GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n")
                        tls.recv(1)
            except OSError:
                pass

        threading.Thread(target=request, daemon=True).start()
        time.sleep(0.5)
    gc.collect()
""")


def test_stopping_with_a_request_in_flight_leaves_no_pending_task(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "lab")],
                          capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr
    assert "Task was destroyed but it is pending" not in done.stderr, done.stderr
