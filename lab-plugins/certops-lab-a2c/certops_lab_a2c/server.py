"""acme2certifier's WSGI application on a loopback port: the lab ACME CA's back-end process.

``python -m certops_lab_a2c DIR`` reads ``DIR/server.json`` (``backend_port``, ``dns_port``)
and serves acme2certifier with its configuration ``DIR/a2c/acme_srv.cfg``, both written by
certops' ``AcmeLab``. Plain HTTP on 127.0.0.1 only: certops' front process (TLS, the lab's ARI
overrides, ``replaces`` record and CRL) is the only client and forwards each request with its
``Host`` and ``X-Forwarded-Proto: https``, from which acme2certifier builds its URLs.

One request at a time (wsgiref's single-threaded server): acme2certifier's SQLite store
refuses concurrent writers ("Database error" when several nodes order at once).

acme2certifier's DNS-01 validator asks the servers named in its configuration on port 53; the
lab's BIND listens on a free loopback port, so this process sets dnspython's default port.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server


class _QuietHandler(WSGIRequestHandler):
    def address_string(self) -> str:  # no reverse DNS
        return str(self.client_address[0])


def _set_dns_port(port: int) -> None:
    """dnspython resolvers built by acme2certifier ask BIND's port instead of 53."""
    import dns.resolver

    original = dns.resolver.Resolver.__init__

    def init(self: dns.resolver.Resolver, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.port = port

    dns.resolver.Resolver.__init__ = init  # type: ignore[method-assign,assignment]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m certops_lab_a2c DIR (DIR/server.json, DIR/a2c/acme_srv.cfg)",
              file=sys.stderr)
        return 2
    root = Path(args[0]).resolve()
    conf = json.loads((root / "server.json").read_text())
    os.environ["ACME_SRV_CONFIGFILE"] = str(root / "a2c" / "acme_srv.cfg")
    _set_dns_port(int(conf["dns_port"]))
    from acme2certifier.share import acme2certifier_wsgi  # reads its configuration on import

    server = make_server("127.0.0.1", int(conf["backend_port"]),
                         acme2certifier_wsgi.application, handler_class=_QuietHandler)
    server.serve_forever()
    return 0
