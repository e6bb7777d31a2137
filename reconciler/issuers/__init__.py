"""Issuers: the CAs certops asks to sign CSRs during apply (``certops.yaml`` ``issuers``).

Like the drivers, issuers do I/O (a command, a CA's API); the planner only names them.
``issuer_for`` builds one from its spec; a new issuer type is one module and one line here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from reconciler.issuers.base import Issued, IssueFailed, Issuer, Pending
from reconciler.issuers.command import CommandIssuer
from reconciler.model import IssuerSpec

IssuerFactory = Callable[[str, IssuerSpec, Mapping[str, str]], Issuer]

# Registration: issuer type -> how to build one.
ISSUER_TYPES: dict[str, IssuerFactory] = {
    "command": CommandIssuer,
}


def issuers_of(specs: Mapping[str, IssuerSpec], env: Mapping[str, str]) -> dict[str, Issuer]:
    """Every issuer of certops.yaml by name, ready to sign."""
    return {name: issuer_for(name, spec, env) for name, spec in specs.items()}


def issuer_for(name: str, spec: IssuerSpec, env: Mapping[str, str]) -> Issuer:
    """The issuer ``name`` of certops.yaml, ready to sign."""
    factory = ISSUER_TYPES.get(spec.type)
    if factory is None:
        raise IssueFailed(f"issuer {name}: no issuer of type {spec.type!r}")
    return factory(name, spec, env)


__all__ = [
    "ISSUER_TYPES",
    "CommandIssuer",
    "IssueFailed",
    "Issued",
    "Issuer",
    "Pending",
    "issuer_for",
    "issuers_of",
]
