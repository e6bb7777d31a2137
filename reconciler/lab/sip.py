"""A Unified CM node's SIP TLS port (5061 on a real node), emulated for handshakes only.

It presents the node's CallManager identity as ``state.sip_served`` holds it: switched by the
restart the evidence names (Cisco HAProxy from 14SU1, Cisco CallManager before; lab.phones),
so a handshake shows which CallManager certificate the Expressway-C and trunks meet. Each
handshake picks the context of the identity served at that moment (SNI callback); the
connection is closed after the handshake (no SIP is spoken). The inventory names the port
``sip_tls``.
"""

from __future__ import annotations

import asyncio
import ssl

from reconciler.lab.files import atomic_write
from reconciler.lab.node import Node
from reconciler.lab.state import Identity

HOST = "127.0.0.1"


class SipTls:
    """The SIP TLS listener of one node."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.server: asyncio.Server | None = None
        self._contexts: dict[str, ssl.SSLContext] = {}

    def _context_for(self, identity: Identity) -> ssl.SSLContext:
        ctx = self._contexts.get(identity.cert_pem)
        if ctx is None:
            path = self.node.paths.tls_file(f"{self.node.name}.sip")
            atomic_write(path, identity.key_pem + identity.cert_pem + "".join(
                identity.chain_pems), private=True)
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(path)
            self._contexts[identity.cert_pem] = ctx
        return ctx

    def _base(self) -> ssl.SSLContext:
        identity = self.node.state.sip_served
        assert identity is not None
        base = self._context_for(identity)

        def pick(sock: ssl.SSLObject, _name: str | None, _ctx: ssl.SSLContext) -> None:
            current = self.node.state.sip_served
            if current is not None:
                sock.context = self._context_for(current)

        base.sni_callback = pick
        return base

    async def start(self, port: int = 0) -> int:
        async def handle(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.close()

        self.server = await asyncio.start_server(handle, HOST, port, ssl=self._base())
        return int(self.server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
