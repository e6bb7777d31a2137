"""The issuer seam: a CA that certops asks to sign a node's CSR during apply.

An ``Issuer`` takes the CSR a node generated (its private key never leaves the node) and
returns the signed certificate with its chain, or a ticket to ask again later (a CA that
needs a person's approval, an ACME order not ready yet). The plan names the issuer in a
``cert.issue`` action; the certificate it returns is "known after apply" and is checked
against every offline rule before the same apply installs it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from reconciler.model import CertopsError


@dataclass(frozen=True)
class Issued:
    """The signed certificate, leaf first, then the chain as the CA gave it (PEM text)."""

    chain_pem: str
    note: str = ""  # what the apply report says about how it was obtained (an order URL)


@dataclass(frozen=True)
class Pending:
    """Not signed yet: ask again with ``ticket`` (after ``retry_after`` seconds, if known)."""

    ticket: str
    retry_after: float | None = None


class IssueFailed(CertopsError):
    """The issuer refused or failed; the message says why and never holds a secret."""


class Issuer(Protocol):
    """One configured issuer (``certops.yaml`` ``issuers.<name>``)."""

    @property
    def name(self) -> str: ...

    async def submit(self, node: str, csr_pem: str) -> Issued | Pending: ...

    async def resume(self, node: str, ticket: str) -> Issued | Pending: ...
