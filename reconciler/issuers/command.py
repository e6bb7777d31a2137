"""Any CA through a command: the CSR on standard input, the chain (PEM) on standard output.

This covers ``openssl ca``, step-ca (``step ca sign``), HashiCorp Vault PKI and Microsoft
ADCS (``certreq``) through a small wrapper. The command runs without a shell, with the
environment of certops plus ``CERTOPS_NODE`` (the node's name), and is stopped at its
timeout. A non-zero exit is an ``IssueFailed`` carrying the end of its standard error,
with the values of secret-looking environment variables masked.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
from collections.abc import Mapping

from reconciler.issuers.base import Issued, IssueFailed, Pending
from reconciler.model import CommandIssuerSpec

_CERT = re.compile(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)
# Environment variables whose values must never appear in an error message.
SECRET_NAME = re.compile(r"(PASS|SECRET|TOKEN|KEY|CREDENTIAL)", re.I)
STDERR_TAIL = 2000  # characters of the command's standard error kept in an error message


def mask(text: str, env: Mapping[str, str]) -> str:
    """``text`` with the value of every secret-looking variable of ``env`` replaced."""
    for name, value in env.items():
        if SECRET_NAME.search(name) and len(value) >= 4:
            text = text.replace(value, f"${{{name}}}")
    return text


class CommandIssuer:
    """An issuer that runs ``spec.run`` (see the module docstring)."""

    def __init__(self, name: str, spec: CommandIssuerSpec, env: Mapping[str, str] | None = None):
        self._name = name
        self.spec = spec
        self.env = dict(os.environ if env is None else env)

    @property
    def name(self) -> str:
        return self._name

    async def submit(self, node: str, csr_pem: str) -> Issued | Pending:
        out = await self._run(node, csr_pem)
        certs = _CERT.findall(out)
        if not certs:
            raise IssueFailed(
                f"issuer {self.name}: {self.spec.run[0]} printed no PEM certificate for {node}: "
                "it must write the signed certificate (and its chain) to standard output"
            )
        return Issued(chain_pem="\n".join(certs) + "\n")

    async def resume(self, node: str, ticket: str) -> Issued | Pending:
        raise IssueFailed(f"issuer {self.name}: a command issuer has no pending orders")

    async def _run(self, node: str, csr_pem: str) -> str:
        """Run the command; its standard output, or IssueFailed saying what went wrong."""
        argv = list(self.spec.run)
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env={**self.env, "CERTOPS_NODE": node},
            )
        except OSError as exc:
            raise IssueFailed(
                f"issuer {self.name}: cannot run {argv[0]!r}: {exc.strerror}"
            ) from None
        try:
            out, err = await asyncio.wait_for(proc.communicate(csr_pem.encode()), self.spec.timeout)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
            raise IssueFailed(
                f"issuer {self.name}: {argv[0]} did not finish within {self.spec.timeout}s "
                f"for {node} (timeout in certops.yaml)"
            ) from None
        if proc.returncode != 0:
            tail = mask(err.decode(errors="replace"), self.env).strip()[-STDERR_TAIL:]
            raise IssueFailed(
                f"issuer {self.name}: {argv[0]} exited {proc.returncode} for {node}: "
                + (tail or "(no message on standard error)")
            )
        return out.decode(errors="replace")
