"""A real ACME CA on loopback for tests and the demo: Pebble, BIND 9 and pebble-challtestsrv.

``AcmeLab(dir).up(zones)`` starts, as plain child processes on free loopback ports:

- **BIND 9** (``named -g``), authoritative for ``zones``, accepting RFC 2136 updates signed
  with a fresh TSIG key (``hmac-sha256``);
- **Pebble**, Let's Encrypt's test ACME server, with a TLS certificate from a fresh
  "minica" root (``tls_ca_file``), ``-dnsserver`` pointing at BIND so it resolves the DNS-01
  records from there, External Account Binding optional, nonce rejection and validation
  sleeps off, no authorization reuse;
- **pebble-challtestsrv** (optional), whose management API an exec hook can use to set TXT
  records, and whose DNS server answers them (Pebble does not ask it).

The Debian packages ``pebble`` and ``bind9`` provide the binaries (``scripts/system-deps.sh``
installs them); ``missing()`` says which are absent so tests can skip with a reason.
``python -m reconciler.lab.acme_ca up|down --dir DIR`` does the same for the demo and
writes ``DIR/acme.env``.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.lab.acme_tls import write_tls
from reconciler.lab.files import atomic_write

BINARIES = ("pebble", "named")
TSIG_NAME = "certops-acme"
START_TIMEOUT = 20.0

NAMED_CONF = """\
options {{
  directory "{dir}";
  pid-file "{dir}/named.pid";
  session-keyfile "{dir}/session.key";
  listen-on port {port} {{ 127.0.0.1; }};
  listen-on-v6 {{ none; }};
  recursion no;
  dnssec-validation no;
  notify no;
}};
controls {{ }};
key "{key}" {{ algorithm hmac-sha256; secret "{secret}"; }};
{zones}
"""
ZONE_CONF = 'zone "{zone}" {{ type primary; file "{file}"; allow-update {{ key "{key}"; }}; }};\n'
ZONE_FILE = """\
$TTL 60
@ IN SOA ns.{zone}. hostmaster.{zone}. 1 60 60 600 60
@ IN NS ns.{zone}.
ns IN A 127.0.0.1
"""


def missing() -> list[str]:
    """The binaries this lab needs that are not installed."""
    return [b for b in BINARIES if shutil.which(b) is None and not Path(f"/usr/sbin/{b}").exists()]


def free_port() -> int:
    """A loopback port free for both TCP and UDP (DNS listens on both)."""
    for _ in range(50):
        with socket.socket() as tcp:
            tcp.bind(("127.0.0.1", 0))
            port = int(tcp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free loopback port")


@dataclass
class AcmeLab:
    """Pebble + BIND (+ challtestsrv) under ``dir`` (see the module docstring)."""

    dir: Path
    eab: dict[str, str] = field(default_factory=dict)  # kid -> base64url HMAC key
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    dns_port: int = 0
    acme_port: int = 0
    mgmt_port: int = 0
    cts_dns_port: int = 0
    cts_mgmt_port: int = 0
    tsig_secret: str = ""

    @property
    def directory_url(self) -> str:
        return f"https://127.0.0.1:{self.acme_port}/dir"

    @property
    def tls_ca_file(self) -> Path:
        return self.dir / "tls" / "minica.pem"

    @property
    def pebble_log(self) -> Path:
        return self.dir / "pebble.log"

    def up(self, zones: list[str], *, challtestsrv: bool = False) -> AcmeLab:
        """Start BIND, then Pebble (and challtestsrv); wait until each answers."""
        self.dir.mkdir(parents=True, exist_ok=True)
        write_tls(self.dir / "tls")
        self.tsig_secret = base64.b64encode(secrets.token_bytes(32)).decode()
        try:
            self._start_bind(zones)
            if challtestsrv:
                self._start_challtestsrv()
            self._start_pebble()
        except BaseException:
            self.down()
            raise
        return self

    def down(self) -> None:
        """Stop every process this lab started (by its own handle)."""
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in reversed(self.procs):
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs.clear()

    def _spawn(self, argv: list[str], log: Path, env: dict[str, str] | None = None) -> None:
        out = log.open("ab")
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=self.dir,
                                env={**os.environ, **(env or {})}, start_new_session=True)
        out.close()
        self.procs.append(proc)

    def _start_bind(self, zones: list[str]) -> None:
        bind = self.dir / "bind"
        bind.mkdir(exist_ok=True)
        self.dns_port = free_port()
        conf = ""
        for zone in sorted(set(zones)):
            (bind / f"{zone}.zone").write_text(ZONE_FILE.format(zone=zone))
            conf += ZONE_CONF.format(zone=zone, file=f"{bind}/{zone}.zone", key=TSIG_NAME)
        (bind / "named.conf").write_text(NAMED_CONF.format(
            dir=bind, port=self.dns_port, key=TSIG_NAME, secret=self.tsig_secret, zones=conf))
        named = shutil.which("named") or "/usr/sbin/named"
        self._spawn([named, "-g", "-c", str(bind / "named.conf")], self.dir / "named.log")
        self._wait(lambda: _answers_dns(self.dns_port, sorted(zones)[0]), "named", "named.log")

    def _start_challtestsrv(self) -> None:
        self.cts_dns_port, self.cts_mgmt_port = free_port(), free_port()
        self._spawn(["pebble-challtestsrv", "-dns01", f"127.0.0.1:{self.cts_dns_port}",
                     "-management", f"127.0.0.1:{self.cts_mgmt_port}", "-http01", "",
                     "-https01", "", "-tlsalpn01", ""], self.dir / "challtestsrv.log")
        self._wait(lambda: _answers_tcp(self.cts_mgmt_port), "pebble-challtestsrv",
                   "challtestsrv.log")

    def _start_pebble(self) -> None:
        self.acme_port, self.mgmt_port = free_port(), free_port()
        tls = self.dir / "tls"
        config = {"pebble": {
            "listenAddress": f"127.0.0.1:{self.acme_port}",
            "managementListenAddress": f"127.0.0.1:{self.mgmt_port}",
            "certificate": str(tls / "localhost.pem"), "privateKey": str(tls / "localhost.key"),
            "httpPort": free_port(), "tlsPort": free_port(), "ocspResponderURL": "",
            "externalAccountBindingRequired": bool(self.eab),
            "externalAccountMACKeys": self.eab,
        }}
        atomic_write(self.dir / "pebble.json", json.dumps(config, indent=2))
        env = {"PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0",
               "PEBBLE_AUTHZREUSE": "0"}
        self._spawn(["pebble", "-config", str(self.dir / "pebble.json"),
                     "-dnsserver", f"127.0.0.1:{self.dns_port}"], self.pebble_log, env)
        self._wait(lambda: self._get(f"https://127.0.0.1:{self.acme_port}/dir") is not None,
                   "pebble", "pebble.log")

    def _wait(self, ready: object, what: str, log: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.procs[-1].poll() is not None:
                break
            if callable(ready) and ready():
                return
            time.sleep(0.1)
        tail = (self.dir / log).read_text(errors="replace")[-1500:]
        raise RuntimeError(f"{what} did not start within {START_TIMEOUT:g}s:\n{tail}")

    def _get(self, url: str) -> bytes | None:
        context = ssl.create_default_context(cafile=str(self.tls_ca_file))
        try:
            with urllib.request.urlopen(url, context=context, timeout=3) as response:
                return bytes(response.read())
        except OSError:
            return None

    def ca_chain(self) -> tuple[str, str]:
        """Pebble's current root and intermediate (PEM), from its management API."""
        base = f"https://127.0.0.1:{self.mgmt_port}"
        root, inter = self._get(f"{base}/roots/0"), self._get(f"{base}/intermediates/0")
        if root is None or inter is None:
            raise RuntimeError("Pebble's management API gave no root or intermediate")
        return root.decode(), inter.decode()

    def issued_count(self) -> int:
        """How many certificates Pebble has issued (from its log)."""
        return self.pebble_log.read_text(errors="replace").count("Issued certificate serial")

    def orders_placed(self) -> int:
        """How many orders Pebble has created (from its log)."""
        return self.pebble_log.read_text(errors="replace").count("Added order \"")


def _answers_tcp(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _answers_dns(port: int, zone: str) -> bool:
    """BIND serves ``zone``'s SOA on ``port``."""
    import dns.message
    import dns.query
    import dns.rdatatype

    try:
        query = dns.message.make_query(f"{zone}.", dns.rdatatype.SOA)
        answer = dns.query.udp(query, "127.0.0.1", port=port, timeout=0.5)
    except Exception:
        return False
    return any(r.rdtype == dns.rdatatype.SOA for r in answer.answer)


def zones_of(names: list[str]) -> list[str]:
    """One zone per registrable-looking name: the last two labels of each host name."""
    return sorted({".".join(n.lower().split(".")[-2:]) for n in names if "." in n})


def main(argv: list[str]) -> int:
    """``up --dir DIR NAME...`` (detached; writes DIR/acme.env) or ``down --dir DIR``."""
    verb, _, directory, *names = argv
    lab_dir = Path(directory)
    if verb == "down":
        for pid in (lab_dir / "pids").read_text().split() if (lab_dir / "pids").exists() else []:
            try:
                os.kill(int(pid), signal.SIGTERM)
            except ProcessLookupError:
                continue
        return 0
    lab = AcmeLab(lab_dir).up(zones_of(names))
    root, inter = lab.ca_chain()
    (lab_dir / "pebble-root.pem").write_text(root)
    (lab_dir / "pebble-intermediate.pem").write_text(inter)
    (lab_dir / "tsig.secret").write_text(lab.tsig_secret + "\n")
    (lab_dir / "pids").write_text(" ".join(str(p.pid) for p in lab.procs) + "\n")
    (lab_dir / "acme.env").write_text(
        f"ACME_DIRECTORY={lab.directory_url}\nACME_TLS_CA={lab.tls_ca_file}\n"
        f"DNS_SERVER=127.0.0.1:{lab.dns_port}\nTSIG_FILE={lab_dir / 'tsig.secret'}\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
