"""A real ACME CA on loopback for tests and the demos: acme2certifier (or Pebble) and BIND 9.

``AcmeLab(dir).up(zones)`` starts, as plain child processes on free loopback ports:

- **BIND 9** (``named -g``), authoritative for ``zones``, accepting RFC 2136 updates signed
  with a fresh TSIG key (``hmac-sha256``);
- the ACME server, with a TLS certificate from a fresh "minica" root (``tls_ca_file``),
  validating DNS-01 against BIND, one of:

  - ``backend="a2c"`` (the default): **acme2certifier** (PyPI, GPL-3.0), issuing like a public CA of
    2027 from a private lab root: serverAuth-only leaves, a lifetime by ACME profile
    (``meta.profiles``; ``invalidProfile`` for an unknown one), ARI (``renewalInfo``), a CRL
    at the CRL distribution point its leaves carry; the lab can move a certificate's ARI
    window and revoke certificates (``ca``: ``reconciler.lab.acme_a2c``). Two processes:
    acme2certifier in the GPL plug-in ``certops-lab-a2c`` (``python -m certops_lab_a2c``,
    plain HTTP on a loopback port; this package never imports it) behind the lab's own
    front (``reconciler.lab.acme_server``: TLS, ARI overrides, ``replaces``, the CRL);
  - ``backend="pebble"``: Debian's **Pebble 2.4.0**, Let's Encrypt's test server, for
    protocol tests (External Account Binding, nonce rejection off, no authorization reuse).
    It adds clientAuth to every leaf and has neither ARI nor profiles;
- **pebble-challtestsrv** (optional, with Pebble), whose management API an exec hook can
  use to set TXT records, and whose DNS server answers them (Pebble does not ask it).

The Debian packages ``bind9`` (and ``pebble``) provide the binaries, the plug-in
``lab-plugins/certops-lab-a2c`` acme2certifier (``scripts/system-deps.sh``,
``scripts/setup.sh``); ``missing(backend)`` says
what is absent so tests can skip with a reason. ``python -m reconciler.lab.acme_ca up|down
--dir DIR`` does the same for the demos and writes ``DIR/acme.env``.
"""

from __future__ import annotations

import base64
import http.client
import importlib.util
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

from reconciler.lab.acme_a2c import A2cCa
from reconciler.lab.acme_tls import write_tls
from reconciler.lab.files import atomic_write

BINARIES = {"a2c": ("named",), "pebble": ("pebble", "named")}
# acme2certifier (GPL-3.0) and the lab's CA handler live in this separate distribution
# (lab-plugins/certops-lab-a2c, GPL-3.0-or-later), started as its own process.
PLUGIN = "certops_lab_a2c"
PLUGIN_MISSING = ("the ACME lab plug-in certops-lab-a2c (GPL-3.0, acme2certifier) is not "
                  "installed: pip install ./lab-plugins/certops-lab-a2c (scripts/setup.sh does)")
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


def missing(backend: str = "a2c") -> list[str]:
    """What this lab needs that is not installed: binaries, and the acme2certifier plug-in
    for ``a2c`` (looked up, not imported: it runs as its own process)."""
    absent = [b for b in BINARIES[backend]
              if shutil.which(b) is None and not Path(f"/usr/sbin/{b}").exists()]
    if backend == "a2c" and importlib.util.find_spec(PLUGIN) is None:
        absent.append(PLUGIN_MISSING)
    return absent


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
    """acme2certifier or Pebble, + BIND (+ challtestsrv) under ``dir`` (see the module
    docstring)."""

    dir: Path
    eab: dict[str, str] = field(default_factory=dict)  # kid -> base64url HMAC key (Pebble)
    backend: str = "a2c"
    ca: A2cCa | None = None  # the a2c backend's CA (its files and incident controls)
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    dns_port: int = 0
    acme_port: int = 0
    backend_port: int = 0  # acme2certifier's own HTTP port, behind the TLS front
    mgmt_port: int = 0
    cts_dns_port: int = 0
    cts_mgmt_port: int = 0
    tsig_secret: str = ""

    @property
    def directory_url(self) -> str:
        path = "/directory" if self.backend == "a2c" else "/dir"
        return f"https://127.0.0.1:{self.acme_port}{path}"

    @property
    def tls_ca_file(self) -> Path:
        return self.dir / "tls" / "minica.pem"

    @property
    def pebble_log(self) -> Path:
        return self.dir / "pebble.log"

    def up(self, zones: list[str], *, challtestsrv: bool = False) -> AcmeLab:
        """Start BIND, then the ACME server (and challtestsrv); wait until each answers."""
        if self.backend not in BINARIES:
            raise ValueError(f"unknown ACME lab backend {self.backend!r}: a2c or pebble")
        if self.backend == "a2c" and importlib.util.find_spec(PLUGIN) is None:
            raise RuntimeError(PLUGIN_MISSING)  # before anything starts
        self.dir.mkdir(parents=True, exist_ok=True)
        write_tls(self.dir / "tls")
        self.tsig_secret = base64.b64encode(secrets.token_bytes(32)).decode()
        try:
            self._start_bind(zones)
            if challtestsrv:
                self._start_challtestsrv()
            if self.backend == "a2c":
                self._start_a2c()
            else:
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

    def stop_server(self) -> None:
        """An outage: stop the ACME server (acme2certifier and its TLS front, started last by
        ``up``; BIND stays up) until ``start_server``."""
        if self.backend != "a2c" or len(self.procs) < 2:
            raise RuntimeError("stop_server: only a running acme2certifier lab")
        for _ in range(2):
            server = self.procs.pop()
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=5)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()

    def start_server(self) -> None:
        """acme2certifier (the plug-in's process, HTTP), then the lab's TLS front before it:
        at ``up``, and again after ``stop_server`` (the same ports, files and database)."""
        self._spawn([sys.executable, "-m", PLUGIN, str(self.dir)],
                    self.dir / "acme2certifier.log")
        self._wait(lambda: _answers_http(self.backend_port), "acme2certifier",
                   "acme2certifier.log")
        self._spawn([sys.executable, "-m", "reconciler.lab.acme_server", str(self.dir)],
                    self.dir / "acme-front.log")
        self._wait(lambda: self._get(self.directory_url) is not None, "the ACME lab's front",
                   "acme-front.log")

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

    def _start_a2c(self) -> None:
        """acme2certifier (the plug-in's process, HTTP), then the lab's TLS front before it."""
        self.acme_port, backend_port = free_port(), free_port()
        self.ca = self.ca or A2cCa(self.dir)
        self.ca.write(self.acme_port, self.dns_port, self.dir / "tls", backend_port=backend_port)
        self.backend_port = backend_port
        self.start_server()

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
        """The CA's root and intermediate (PEM): the lab's files, or Pebble's management API."""
        if self.ca is not None:
            return self.ca.root_pem(), self.ca.issuing_pem()
        base = f"https://127.0.0.1:{self.mgmt_port}"
        root, inter = self._get(f"{base}/roots/0"), self._get(f"{base}/intermediates/0")
        if root is None or inter is None:
            raise RuntimeError("Pebble's management API gave no root or intermediate")
        return root.decode(), inter.decode()

    def issued_count(self) -> int:
        """How many certificates the CA has issued (its database, or Pebble's log)."""
        if self.ca is not None:
            return self.ca.counts()[1]
        return self.pebble_log.read_text(errors="replace").count("Issued certificate serial")

    def orders_placed(self) -> int:
        """How many orders the CA has created (its database, or Pebble's log)."""
        if self.ca is not None:
            return self.ca.counts()[0]
        return self.pebble_log.read_text(errors="replace").count("Added order \"")


def _answers_http(port: int) -> bool:
    """The back end serves its directory over plain HTTP on ``port``."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=3)  # no proxy, ever
    try:
        conn.request("GET", "/directory")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


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
    """``up --dir DIR [--backend a2c|pebble] [--ari-retry-after SECONDS] NAME...`` (detached;
    writes DIR/acme.env, the CA's ``ca-root.pem`` and ``ca-intermediate.pem``) or ``down
    --dir DIR``."""
    verb, _, directory, *names = argv
    lab_dir = Path(directory)
    if verb == "down":
        for pid in (lab_dir / "pids").read_text().split() if (lab_dir / "pids").exists() else []:
            try:
                os.kill(int(pid), signal.SIGTERM)
            except ProcessLookupError:
                continue
        return 0
    options = {"--backend": "a2c", "--ari-retry-after": str(A2cCa.ari_retry_after)}
    while names[:1] and names[0] in options:
        options[names[0]], names = names[1], names[2:]
    backend = options["--backend"]
    ca = A2cCa(lab_dir, ari_retry_after=int(options["--ari-retry-after"]))
    lab = AcmeLab(lab_dir, backend=backend, ca=ca if backend == "a2c" else None).up(
        zones_of(names))
    root, inter = lab.ca_chain()
    (lab_dir / "ca-root.pem").write_text(root)
    (lab_dir / "ca-intermediate.pem").write_text(inter)
    (lab_dir / "tsig.secret").write_text(lab.tsig_secret + "\n")
    (lab_dir / "pids").write_text(" ".join(str(p.pid) for p in lab.procs) + "\n")
    (lab_dir / "acme.env").write_text(
        f"ACME_DIRECTORY={lab.directory_url}\nACME_TLS_CA={lab.tls_ca_file}\n"
        f"DNS_SERVER=127.0.0.1:{lab.dns_port}\nTSIG_FILE={lab_dir / 'tsig.secret'}\n"
        f"ACME_BACKEND={backend}\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
