"""The running lab's control endpoint, and the client other processes use to reach it.

Plain HTTP on loopback, protected by a random token kept in ``DIR/control.json`` (0600)
next to the URL and the lab's pid. It lets ``certops lab fault`` / ``status`` / ``down``
/ ``restart`` (and tests in other processes) set and clear faults, read and reset request
counters, restart a node without warning, read the calls and the availability timeline and
stop the lab, without the lab re-reading files per request.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reconciler.lab.faults import Fault
from reconciler.lab.files import LabPaths, atomic_write

if TYPE_CHECKING:
    from reconciler.lab.server import Lab

TOKEN_HEADER = "X-Lab-Token"


def status_of(lab: Lab) -> dict[str, Any]:
    nodes = {}
    for name, node in lab.nodes.items():
        s = node.state
        nodes[name] = {
            "type": s.type, "api": lab.url(name), "ssh": lab.ssh_ports.get(name),
            "up": not node.down, "version": s.version, "restart_required": s.restart_required,
            "pending_csr": s.pending_csr is not None or bool(s.pending_csrs),
            "restart_pending": list(s.restart_pending),
            "maintenance": s.maintenance,
            "calls": lab.calls.current(name) if lab.calls is not None else 0,
            "faults": [f.model_dump(exclude_defaults=True) for f in s.faults],
            "counters": dict(node.faults.counters),
        }
    return {"pid": os.getpid(), "dir": str(lab.paths.root), "nodes": nodes}


def control_app(lab: Lab, token: str) -> Starlette:
    def guard(request: Request) -> Response | None:
        if not secrets.compare_digest(request.headers.get(TOKEN_HEADER, ""), token):
            return JSONResponse({"error": "bad token"}, status_code=403)
        return None

    def node_or_404(request: Request) -> str | Response:
        name = request.path_params["name"]
        return name if name in lab.nodes else JSONResponse({"error": "no such node"}, 404)

    async def status(request: Request) -> Response:
        return guard(request) or JSONResponse(status_of(lab))

    async def counters(request: Request) -> Response:
        if (bad := guard(request)) is not None:
            return bad
        if request.method == "POST":
            lab.reset_counters()
        return JSONResponse({n: lab.counters(n) for n in lab.nodes})

    async def faults(request: Request) -> Response:
        if (bad := guard(request)) is not None:
            return bad
        name = node_or_404(request)
        if isinstance(name, Response):
            return name
        if request.method == "DELETE":
            lab.clear_faults(name)
        elif request.method == "POST":
            try:
                lab.set_fault(name, Fault.model_validate_json(await request.body()))
            except ValidationError as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse([f.model_dump() for f in lab.nodes[name].state.faults])

    async def timeline(request: Request) -> Response:
        """The availability timeline from ``?since=N`` (a mark) on, with the breaches."""
        if (bad := guard(request)) is not None:
            return bad
        from reconciler.lab.availability import report

        try:
            since = int(request.query_params.get("since", "0"))
        except ValueError:
            return JSONResponse({"error": "since must be an integer"}, status_code=400)
        return JSONResponse(report(lab.timeline, lab.clusters, lab.links, since))

    async def restart(request: Request) -> Response:
        """An unplanned restart of the node (``?service=`` on a VOS node)."""
        if (bad := guard(request)) is not None:
            return bad
        name = node_or_404(request)
        if isinstance(name, Response):
            return name
        return JSONResponse({"restarting": lab.restart(name,
                                                       request.query_params.get("service"))})

    async def maintenance(request: Request) -> Response:
        """Maintenance mode switched by hand (``?on=true|false``), as at the node's GUI."""
        if (bad := guard(request)) is not None:
            return bad
        name = node_or_404(request)
        if isinstance(name, Response):
            return name
        on = request.query_params.get("on", "true").lower()
        if on not in ("true", "false"):
            return JSONResponse({"error": "on must be true or false"}, status_code=400)
        try:
            return JSONResponse({"maintenance": lab.maintenance(name, on == "true")})
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)

    async def calls(request: Request) -> Response:
        """Per node: calls on it now, dropped, moved to a peer, refused."""
        if (bad := guard(request)) is not None:
            return bad
        return JSONResponse(lab.calls.summary() if lab.calls is not None else {})

    async def by_hand(request: Request) -> Response:
        """What a person does outside certops: ``{"remove_ca": SHA256}`` deletes that CA
        from every trust store of the node."""
        if (bad := guard(request)) is not None:
            return bad
        name = node_or_404(request)
        if isinstance(name, Response):
            return name
        body = json.loads(await request.body() or b"{}")
        if isinstance(body.get("remove_ca"), str):
            return JSONResponse({"removed": lab.remove_ca_by_hand(name, body["remove_ca"])})
        return JSONResponse({"error": "say remove_ca"}, status_code=400)

    async def shutdown(request: Request) -> Response:
        if (bad := guard(request)) is not None:
            return bad
        lab.stopped.set()
        return JSONResponse({"stopping": True})

    return Starlette(routes=[
        Route("/status", status),
        Route("/counters", counters, methods=["GET", "POST"]),
        Route("/faults/{name}", faults, methods=["GET", "POST", "DELETE"]),
        Route("/timeline", timeline),
        Route("/restart/{name}", restart, methods=["POST"]),
        Route("/maintenance/{name}", maintenance, methods=["POST"]),
        Route("/calls", calls),
        Route("/by-hand/{name}", by_hand, methods=["POST"]),
        Route("/shutdown", shutdown, methods=["POST"]),
    ])


async def start_control(lab: Lab) -> str:
    """Serve the control endpoint and record it in ``control.json``; returns its URL."""
    from reconciler.lab.server import bind, server_for

    token = secrets.token_urlsafe(24)
    sock = bind(0)
    server = server_for(control_app(lab, token), None)
    await server.startup(sockets=[sock])
    lab.control_server = server
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    record = {"url": url, "token": token, "pid": os.getpid()}
    atomic_write(lab.paths.control, json.dumps(record), private=True)
    return url


async def stop_control(lab: Lab) -> None:
    server = lab.control_server
    if server is not None:
        for srv in server.servers:
            srv.close()
    try:
        record = json.loads(lab.paths.control.read_text())
        if record.get("pid") == os.getpid():
            lab.paths.control.unlink()
    except (OSError, ValueError):
        pass


class LabClient:
    """Talks to a running lab through its control endpoint (another process)."""

    def __init__(self, directory: str | os.PathLike[str], timeout: float = 10) -> None:
        self.paths = LabPaths(Path(directory))
        record = json.loads(self.paths.control.read_text())
        self.url, self.token, self.pid = record["url"], record["token"], int(record["pid"])
        self.http = httpx.Client(base_url=self.url, headers={TOKEN_HEADER: self.token},
                                 timeout=timeout)

    @staticmethod
    def running(directory: str | os.PathLike[str]) -> LabClient | None:
        """A client when a lab answers for ``directory``, else None."""
        try:
            client = LabClient(directory, timeout=3)
            client.status()
        except (OSError, ValueError, KeyError, httpx.HTTPError):
            return None
        return client

    def _json(self, response: httpx.Response) -> Any:
        response.raise_for_status()
        return response.json()

    def status(self) -> dict[str, Any]:
        result: dict[str, Any] = self._json(self.http.get("/status"))
        return result

    def counters(self) -> dict[str, dict[str, int]]:
        result: dict[str, dict[str, int]] = self._json(self.http.get("/counters"))
        return result

    def reset_counters(self) -> None:
        self._json(self.http.post("/counters"))

    def set_fault(self, node: str, fault: Fault) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._json(
            self.http.post(f"/faults/{node}", content=fault.model_dump_json()))
        return result

    def clear_faults(self, node: str) -> None:
        self._json(self.http.delete(f"/faults/{node}"))

    def timeline(self, since: int = 0) -> dict[str, Any]:
        result: dict[str, Any] = self._json(self.http.get("/timeline",
                                                          params={"since": since}))
        return result

    def restart(self, node: str, service: str | None = None) -> str:
        params = {"service": service} if service else {}
        result: dict[str, str] = self._json(self.http.post(f"/restart/{node}", params=params))
        return result["restarting"]

    def maintenance(self, node: str, on: bool) -> str:
        result: dict[str, str] = self._json(self.http.post(
            f"/maintenance/{node}", params={"on": "true" if on else "false"}))
        return result["maintenance"]

    def calls(self) -> dict[str, dict[str, int]]:
        result: dict[str, dict[str, int]] = self._json(self.http.get("/calls"))
        return result

    def by_hand(self, node: str, action: dict[str, Any]) -> dict[str, Any]:
        """A person's change outside certops (see ``control_app``'s ``by_hand``)."""
        result: dict[str, Any] = self._json(self.http.post(f"/by-hand/{node}", json=action))
        return result

    def shutdown(self) -> None:
        self._json(self.http.post("/shutdown"))

    def close(self) -> None:
        self.http.close()
