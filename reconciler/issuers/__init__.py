"""Issuers: the CAs certops asks to sign CSRs during apply (``certops.yaml`` ``issuers``).

Like the drivers, issuers do I/O (a command, a CA's API); the planner only names them.
``issuer_for`` builds one from its spec; a new issuer type is one module and one line here.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.issuers.base import Issued, IssueFailed, Issuer, Pending
from reconciler.issuers.command import CommandIssuer
from reconciler.model import AcmeIssuerSpec, CommandIssuerSpec, IssuerSpec

if TYPE_CHECKING:
    from reconciler.issuers.acme import AcmeIssuer


def __getattr__(name: str) -> Any:
    """``AcmeIssuer`` on first use: the ACME client (certbot's library, josepy, requests,
    dnspython) takes ~100 ms to import, which a fleet without an ACME issuer never needs."""
    if name == "AcmeIssuer":
        from reconciler.issuers.acme import AcmeIssuer

        return AcmeIssuer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class BuiltinAcmeIssuer:
    """``expressway-acme``: the node's own ACME client, which the plan leaves to a person
    (a ``manual`` action). It never signs in certops."""

    def __init__(self, name: str) -> None:
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    async def submit(self, node: str, csr_pem: str) -> Issued | Pending:
        raise IssueFailed(f"issuer {self.name} is {node}'s own ACME client: it is a manual "
                          "step of the plan (Maintenance > Security > ACME certificate)")

    async def resume(self, node: str, ticket: str) -> Issued | Pending:
        return await self.submit(node, "")


def issuers_of(
    specs: Mapping[str, IssuerSpec], env: Mapping[str, str], desired_root: Path | None = None
) -> dict[str, Issuer]:
    """Every issuer of certops.yaml by name, ready to sign."""
    return {name: issuer_for(name, spec, env, desired_root) for name, spec in specs.items()}


def issuer_for(
    name: str, spec: IssuerSpec, env: Mapping[str, str], desired_root: Path | None = None
) -> Issuer:
    """The issuer ``name`` of certops.yaml, ready to sign (``desired_root``: where ACME
    records its open orders and finds a relative ``tls_ca_file``)."""
    if isinstance(spec, CommandIssuerSpec):
        return CommandIssuer(name, spec, env)
    if isinstance(spec, AcmeIssuerSpec):
        from reconciler.issuers.acme import AcmeIssuer

        return AcmeIssuer(name, spec, env, desired_root)
    return BuiltinAcmeIssuer(name)


__all__ = [
    "AcmeIssuer",
    "BuiltinAcmeIssuer",
    "CommandIssuer",
    "IssueFailed",
    "Issued",
    "Issuer",
    "Pending",
    "issuer_for",
    "issuers_of",
]
