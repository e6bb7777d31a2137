"""``certops lab``: start, inspect and stop the lab, sign CSRs, inject faults, timelines, and
stage an ACME CA incident (``ari``: move ARI windows; ``revoke``, ``crl``: revocations).

The main CLI mounts ``app`` as the ``lab`` sub-command; ``python -m reconciler.lab.cli``
runs it alone. Every command takes ``--dir DIR`` (default ``.certops-lab``). This is the
only lab module that prints.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import typer
from cryptography import x509

from reconciler.lab.acme_a2c import A2cCa
from reconciler.lab.ca import cert_pem, load_or_create_pki
from reconciler.lab.control import LabClient
from reconciler.lab.faults import Fault
from reconciler.lab.files import DEFAULT_DIR, LabPaths, atomic_write
from reconciler.lab.server import Lab, LabOptions
from reconciler.lab.state import load_node, save_node
from reconciler.lab.topology import load_topology
from reconciler.model import parse_span

app = typer.Typer(help="The lab: emulated Expressway and CUCM nodes over real HTTPS.",
                  no_args_is_help=True)

DirOpt = typer.Option(Path(DEFAULT_DIR), "--dir", help="Lab directory.")


def _fail(text: str) -> None:
    typer.echo(f"error: {text}", err=True)
    raise typer.Exit(1)


def _client_for(node: str, directory: Path) -> LabClient:
    """The running lab's client, once ``node`` is known to be one of its nodes."""
    client = LabClient.running(directory)
    if client is None:
        _fail(f"no lab is running in {directory}")
        raise typer.Exit(1)  # _fail exits; this tells the type checker
    nodes = client.status().get("nodes", {})
    if node not in nodes:
        _fail(f"no node {node} in the lab ({', '.join(sorted(nodes))})")
    return client


def _print_nodes(status: dict[str, object]) -> None:
    nodes = status.get("nodes", {})
    assert isinstance(nodes, dict)
    for name, info in nodes.items():
        ssh = f"  ssh {info['ssh']}" if info.get("ssh") else ""
        flags = []
        if not info.get("up", True):
            flags.append("DOWN")
        if info.get("restart_required"):
            flags.append("restart-required")
        if info.get("restart_pending"):
            flags.append("restart-pending: " + ", ".join(info["restart_pending"]))
        if info.get("maintenance"):
            flags.append("maintenance mode")
        if info.get("calls"):
            flags.append(f"calls: {info['calls']}")
        if info.get("faults"):
            flags.append(f"faults: {len(info['faults'])}")
        extra = f"  [{'; '.join(flags)}]" if flags else ""
        typer.echo(f"{name:<12} {info['type']:<13} {info['api']}{ssh}{extra}")


async def _serve(directory: Path, options: LabOptions) -> None:
    from reconciler.lab.control import status_of

    lab = Lab(directory, options)
    await lab.start()
    _print_nodes(status_of(lab))
    typer.echo(f"inventory: {lab.paths.inventory}")
    typer.echo("lab running; Ctrl+C or `certops lab down` stops it", err=True)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, lab.stopped.set)
    await lab.stopped.wait()
    await lab.stop()


@app.command()
def up(
    directory: Path = DirOpt,
    topology: Path | None = typer.Option(None, "--topology", help="Topology YAML file."),
    nodes: int | None = typer.Option(None, "--nodes", min=1, help="A synthetic fleet of N nodes."),
    detach: bool = typer.Option(False, "--detach", help="Run in the background."),
    restart_seconds: float | None = typer.Option(
        None, "--restart-seconds", min=0,
        help="How long a node is down while it restarts (default: the topology's, else 3).",
    ),
    latency_ms: int | None = typer.Option(
        None, "--latency-ms", min=0, help="Delay every API answer by this many milliseconds.",
    ),
    builtin_cas: int | None = typer.Option(
        None, "--builtin-cas", min=0,
        help="Cisco built-in CAs in each Unified CM trust store (default: the topology's).",
    ),
    cucm_version: str | None = typer.Option(
        None, "--cucm-version",
        help="Release of every Unified CM node, e.g. 12.5.1.16900-48: no REST API (404 on "
        "/platformcom), certificates over the platform CLI.",
    ),
    timeout: float = typer.Option(120, "--timeout", help="Seconds to wait for --detach."),
) -> None:
    """Start the lab (foreground, or --detach), print each node's URL, write inventory.yaml."""
    paths = LabPaths(directory)
    if LabClient.running(directory) is not None:
        _fail(f"a lab is already running in {directory} (certops lab down --dir {directory})")
    if detach:
        _detach(paths, sys.argv, timeout)
        return
    options = LabOptions(
        topology=load_topology(topology) if topology else None, nodes=nodes,
        restart_seconds=restart_seconds, latency_ms=latency_ms, builtin_cas=builtin_cas,
        cucm_version=cucm_version,
    )
    asyncio.run(_serve(directory, options))


def _detach(paths: LabPaths, argv: list[str], timeout: float) -> None:
    paths.root.mkdir(parents=True, exist_ok=True)
    paths.control.unlink(missing_ok=True)  # stale: nobody answered on it
    args = [a for a in argv[1:] if a != "--detach"]
    if "up" not in args:
        args = ["up", *args]
    cmd = [sys.executable, "-m", "reconciler.lab.cli", *args[args.index("up"):]]
    with open(paths.log, "ab") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = paths.log.read_text(errors="replace")[-2000:]
            _fail(f"the lab exited with status {proc.returncode}:\n{tail}")
        client = LabClient.running(paths.root)
        if client is not None:
            status = client.status()
            if status["pid"] == proc.pid and all(n["up"] for n in status["nodes"].values()):
                _print_nodes(status)
                typer.echo(f"inventory: {paths.inventory}")
                typer.echo(f"lab running in the background (pid {proc.pid})")
                return
        time.sleep(0.2)
    proc.terminate()
    _fail(f"the lab did not answer within {timeout:.0f}s; see {paths.log}")


@app.command()
def status(directory: Path = DirOpt) -> None:
    """Show the running lab's nodes, URLs and flags."""
    client = LabClient.running(directory)
    if client is None:
        _fail(f"no lab is running in {directory}")
        return
    st = client.status()
    typer.echo(f"lab pid {st['pid']} in {st['dir']}")
    _print_nodes(st)


@app.command()
def down(directory: Path = DirOpt) -> None:
    """Stop every process of the running lab and free its ports."""
    client = LabClient.running(directory)
    if client is None:
        typer.echo(f"no lab is running in {directory}")
        return
    pid = client.pid
    client.shutdown()
    if not _wait_gone(pid, 10.0):
        os.kill(pid, signal.SIGTERM)  # the lab's own pid, recorded in control.json
        if not _wait_gone(pid, 5.0):
            os.kill(pid, signal.SIGKILL)
            _wait_gone(pid, 5.0)
    typer.echo("lab stopped")


def _wait_gone(pid: int, seconds: float) -> bool:
    """Whether the process ended within ``seconds`` (its ports are then free)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.1)
    return not _alive(pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of ours counts as gone
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    except ChildProcessError:
        return True


@app.command()
def sign(
    csr: Path = typer.Argument(..., help="The CSR (PEM) to sign."),
    ca: str = typer.Option("old", "--ca", help="Issuing CA: old | new."),
    out: Path = typer.Option(..., "--out", help="Where to write the certificate (PEM)."),
    directory: Path = DirOpt,
    days: int = typer.Option(365, "--days", min=1, help="Validity of the certificate in days."),
    no_client_auth: bool = typer.Option(False, "--no-client-auth",
                                        help="Leave out the clientAuth EKU."),
    profile: str = typer.Option("private", "--profile",
                                help="private: serverAuth and clientAuth (an enterprise CA); "
                                "public: serverAuth only, as public CAs issue from 2027."),
    drop_san: list[str] = typer.Option([], "--drop-san", help="Leave out this SAN."),
    leaf_only: bool = typer.Option(False, "--leaf-only", help="Write the leaf alone."),
) -> None:
    """Sign a CSR as an enterprise CA would; write leaf, issuing CA and root."""
    if ca not in ("old", "new"):
        _fail("--ca must be old or new")
    if profile not in ("private", "public"):
        _fail("--profile must be private or public")
    no_client_auth = no_client_auth or profile == "public"
    try:
        request = x509.load_pem_x509_csr(csr.read_bytes())
    except (OSError, ValueError) as exc:
        _fail(f"{csr}: not a PEM CSR ({exc})")
        return
    pki = load_or_create_pki(LabPaths(directory).ca)
    try:
        leaf = pki.sign_csr(request, ca, days=days, client_auth=not no_client_auth,
                            drop_san=drop_san)
    except ValueError as exc:
        _fail(str(exc))
        return
    chain = [] if leaf_only else pki.chain_for(ca)
    atomic_write(out, "".join(cert_pem(c) for c in [leaf, *chain]))
    typer.echo(f"wrote {out}")


@app.command()
def fault(
    node: str = typer.Argument(..., help="Node name."),
    directory: Path = DirOpt,
    match: str = typer.Option("*", "--match", "--endpoint",
                              help="Path glob (e.g. '/api/*') or operation name."),
    latency_ms: int = typer.Option(0, "--latency-ms", min=0, help="Delay each matching answer."),
    status_code: int | None = typer.Option(None, "--status", help="Answer 500 or 503."),
    count: int | None = typer.Option(None, "--count", min=1, help="Only the next N calls."),
    retry_after: int | None = typer.Option(
        None, "--retry-after", min=0, help="Send Retry-After with --status 503 (seconds)."
    ),
    drop: bool = typer.Option(False, "--drop", help="Close the connection, no answer."),
    slow: float = typer.Option(0, "--slow", min=0, help="Delay the answer this many seconds."),
    malformed_json: bool = typer.Option(
        False, "--malformed-json", help="Answer JSON requests with a broken JSON body."
    ),
    restart_hang: bool = typer.Option(False, "--restart-hang",
                                      help="A restart that never comes back."),
    cli_hang: bool = typer.Option(False, "--cli-hang", help="VOS CLI: the command named by "
                                  "--match (e.g. cert.import) stops answering at its prompt."),
    cli_garbage: bool = typer.Option(False, "--cli-garbage", help="VOS CLI: the command named "
                                     "by --match (e.g. cert.list) answers garbage."),
    clear: bool = typer.Option(False, "--clear", help="Remove every fault of the node."),
) -> None:
    """Add a fault to a node (or --clear them), in the running lab or for its next start."""
    new = None
    if not clear:
        new = Fault(match=match, latency_ms=latency_ms, status=status_code, count=count,
                    retry_after=retry_after, drop=drop, slow_seconds=slow,
                    malformed_json=malformed_json, restart_hang=restart_hang,
                    cli_hang=cli_hang, cli_garbage=cli_garbage)
    client = LabClient.running(directory)
    if client is not None:
        if node not in client.status()["nodes"]:
            _fail(f"no node {node!r} in the running lab")
        if new is None:
            client.clear_faults(node)
        else:
            client.set_fault(node, new)
        typer.echo(f"{node}: faults {'cleared' if new is None else 'updated'} (running lab)")
        return
    paths = LabPaths(directory)
    state = load_node(paths, node)
    if state is None:
        _fail(f"no node {node!r} in {directory}")
        return
    if new is None:
        state.faults.clear()
    else:
        state.faults.append(new)
    save_node(paths, state)
    typer.echo(f"{node}: faults {'cleared' if new is None else 'updated'} (applies at next start)")


AcmeDirOpt = typer.Option(None, "--acme-dir",
                         help="The ACME lab's directory (default: DIR/acme).")


def _acme_targets(directory: Path, acme_dir: Path | None, nodes: list[str],
                  certs: list[Path]) -> tuple[A2cCa, list[tuple[str, x509.Certificate]]]:
    """The lab CA of ``acme_dir`` and the certificates named: each node's installed server
    certificate (from the lab's node state), and certificate files."""
    root = acme_dir or directory / "acme"
    if not (root / "ca" / "issuing.pem").exists():
        _fail(f"{root} holds no acme2certifier lab CA (python -m reconciler.lab.acme_ca up "
              f"--dir {root} ...)")
    found: list[tuple[str, x509.Certificate]] = []
    for node in nodes:
        state = load_node(LabPaths(directory), node)
        if state is None or state.server is None:
            _fail(f"no node {node!r} with a server certificate in {directory}")
            continue
        found.append((node, x509.load_pem_x509_certificate(state.server.cert_pem.encode())))
    for path in certs:
        try:
            found.append((str(path), x509.load_pem_x509_certificate(path.read_bytes())))
        except (OSError, ValueError) as exc:
            _fail(f"{path}: not a PEM certificate ({exc})")
    if not found:
        _fail("name the certificates: --node NODE (repeatable) or --cert FILE")
    return A2cCa(root), found


@app.command()
def ari(
    directory: Path = DirOpt,
    acme_dir: Path | None = AcmeDirOpt,
    node: list[str] = typer.Option([], "--node", help="A node whose certificate (repeatable)."),
    cert: list[Path] = typer.Option([], "--cert", help="A certificate file (repeatable)."),
    now: bool = typer.Option(False, "--now", help="The CA wants it renewed now (24 h window)."),
    start: datetime | None = typer.Option(None, "--start", help="Window start (ISO, UTC)."),
    end: datetime | None = typer.Option(None, "--end", help="Window end (ISO, UTC)."),
    explain: str | None = typer.Option(None, "--explain", help="explanationURL to send."),
) -> None:
    """Move certificates' ARI windows at the lab's ACME CA (a CA incident, RFC 9773)."""
    ca, targets = _acme_targets(directory, acme_dir, node, cert)
    if now == (start is not None or end is not None) or (not now and not (start and end)):
        _fail("give --now, or both --start and --end")
    opens = datetime.now(UTC) - timedelta(minutes=1) if now else _utc(start)
    closes = opens + timedelta(days=1) if now else _utc(end)
    if closes <= opens:
        _fail("--end must come after --start")
    for name, leaf in targets:
        ident = ca.move_window(leaf, opens, closes, explain)
        typer.echo(f"{name}: ARI window {opens:%Y-%m-%dT%H:%M:%SZ} to "
                   f"{closes:%Y-%m-%dT%H:%M:%SZ} (certID {ident})")


@app.command()
def revoke(
    directory: Path = DirOpt,
    acme_dir: Path | None = AcmeDirOpt,
    node: list[str] = typer.Option([], "--node", help="A node whose certificate (repeatable)."),
    cert: list[Path] = typer.Option([], "--cert", help="A certificate file (repeatable)."),
    notice: str = typer.Option("24h", "--notice",
                               help="Time until revocation, like 24h, 5d or 0s (at once)."),
    reason: str = typer.Option("superseded", "--reason",
                               help="CRL reason: superseded, keyCompromise, ..."),
) -> None:
    """Revoke certificates at the lab's ACME CA: ARI says "renew now" at once; the CRL lists
    them when the notice is over (``certops lab crl`` publishes what is due)."""
    ca, targets = _acme_targets(directory, acme_dir, node, cert)
    try:
        wait = parse_span(notice)
        flag = x509.ReasonFlags(reason)
    except ValueError as exc:
        _fail(str(exc))
        return
    at = datetime.now(UTC)
    ca.revoke([leaf for _, leaf in targets], at, wait, flag)
    for name, leaf in targets:
        typer.echo(f"{name}: serial {leaf.serial_number:x} revoked ({reason}) at "
                   f"{at + wait:%Y-%m-%dT%H:%M:%SZ}; ARI says renew now")


@app.command()
def crl(directory: Path = DirOpt, acme_dir: Path | None = AcmeDirOpt) -> None:
    """Publish the lab ACME CA's revocations that are due now on its CRL."""
    root = acme_dir or directory / "acme"
    listed = A2cCa(root).publish_due(datetime.now(UTC))
    typer.echo(f"{root / 'ca' / 'issuing.crl'}: {listed} revoked certificate(s) listed")


def _utc(when: datetime | None) -> datetime:
    assert when is not None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@app.command()
def timeline(
    directory: Path = DirOpt,
    since: int = typer.Option(0, "--since", min=0, help="Start at this mark (see --mark)."),
    mark: bool = typer.Option(False, "--mark", help="Print the current mark and exit."),
    acme_dir: Path | None = typer.Option(
        None, "--acme-dir", help="The lab's ACME CA: also count the seconds each node served "
        "a certificate it revoked (certops lab revoke)."),
) -> None:
    """Each node's availability over time (down/up, the certificate served, maintenance
    mode), the calls restarts dropped, the seconds served revoked (with --acme-dir), and the
    cluster invariant checked at every change; exit 1 when it was breached."""
    from reconciler.lab.availability import render, sample_of

    client = LabClient.running(directory)
    if client is None:
        _fail(f"no lab is running in {directory}")
        return
    data = client.timeline(since)
    if mark:
        typer.echo(str(data["mark"]))
        return
    samples = [sample_of(s) for s in data["samples"]]
    origin = samples[0].t if samples else 0.0
    for line in render(samples, origin):
        typer.echo(line)
    for cluster in data["clusters"]:
        typer.echo(f"cluster {cluster['name']}: {len(cluster['members'])} members, at least "
                   f"{len(cluster['members']) - cluster['max_unavailable']} up at every instant")
    lost = data.get("phones_lost", {})
    typer.echo(f"phones that lost trust: {sum(lost.values())}"
               + "".join(f"\n  {node}: {n}" for node, n in sorted(lost.items())))
    refused = data.get("refused", [])
    typer.echo(f"refused handshakes: {len(refused)}")
    for text in refused:
        typer.echo(f"  {text}")
    dropped = data.get("dropped_calls", {})
    per_node = ", ".join(f"{node} {n}" for node, n in dropped.items())
    typer.echo(f"dropped calls: {sum(dropped.values())}" + (f" ({per_node})" if per_node else ""))
    if acme_dir is not None:
        _served_revoked(data, acme_dir)
    calls = client.calls()
    if any(c["moved"] or c["refused"] for c in calls.values()):
        moved = sum(c["moved"] for c in calls.values())
        turned_away = sum(c["refused"] for c in calls.values())
        typer.echo(f"since the lab started: {moved} new call(s) went to a peer (node in "
                   f"maintenance mode or down), {turned_away} refused (no peer took calls)")
    if data["violations"]:
        for text in data["violations"]:
            typer.echo(f"INVARIANT BREACHED: {text}")
        raise typer.Exit(1)
    typer.echo(f"invariant held at all {len(samples)} changes")


def _served_revoked(data: dict[str, Any], acme_dir: Path) -> None:
    """``served revoked: N s``: from the timeline (its start state too) and the CA's record."""
    from reconciler.lab.served_revoked import revoked_seconds

    samples = [*data.get("start", []), *data["samples"]]
    samples.sort(key=lambda s: float(s["wall"]))
    seconds = revoked_seconds(samples, A2cCa(acme_dir).revocations(), time.time())
    per_node = ", ".join(f"{node} {n:.1f} s" for node, n in seconds.items())
    typer.echo(f"served revoked: {sum(seconds.values()):.1f} s"
               + (f" ({per_node})" if per_node else ""))


@app.command()
def restart(
    node: str = typer.Argument(..., help="The node to restart."),
    service: str | None = typer.Option(
        None, "--service", help="VOS node: the service to restart (default Cisco CallManager)."),
    directory: Path = DirOpt,
) -> None:
    """Restart a node without warning (an Expressway reboots; on a VOS node a service
    restarts): every call on it drops, and the timeline records it."""
    client = _client_for(node, directory)
    typer.echo(client.restart(node, service))


@app.command()
def maintenance(
    node: str = typer.Argument(..., help="The Expressway."),
    mode: str = typer.Argument("on", help="on or off."),
    directory: Path = DirOpt,
) -> None:
    """Switch an Expressway's maintenance mode by hand, as a person at its GUI would
    (Maintenance > Maintenance mode), even where its API lists no such resource: then
    `certops apply --drained NODE`. Its calls run on; new calls go to its peers."""
    if mode not in ("on", "off"):
        _fail(f"maintenance {node} {mode}: write on or off")
    client = _client_for(node, directory)
    typer.echo(client.maintenance(node, mode == "on"))


if __name__ == "__main__":
    app()
