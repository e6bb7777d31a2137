"""Device kinds (pure): one profile per node ``type``, registered here.

Adding a kind is one module under ``reconciler/kinds/`` plus one line in ``_ALL`` (and its
driver in ``reconciler.drivers.registry``, its emulator in ``reconciler.lab``). Nothing
else in certops branches on a node's type: it asks ``kind_of(type)``.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any

from pydantic import Field

from reconciler.kinds.base import NodeKind, Profile, Restart
from reconciler.kinds.cuc import CUC
from reconciler.kinds.cucm import CUCM, CucmNodeSpec
from reconciler.kinds.expressway import EXPRESSWAY_C, EXPRESSWAY_E, VCS, ExpresswayNodeSpec
from reconciler.kinds.imp import IMP
from reconciler.model import NodeSpecBase

# Registration: one line per kind.
_ALL: tuple[NodeKind, ...] = (
    EXPRESSWAY_C,
    EXPRESSWAY_E,
    VCS,
    CUCM,
    IMP,
    CUC,
)
KINDS: dict[str, NodeKind] = {k.type: k for k in _ALL}
NODE_TYPES: tuple[str, ...] = tuple(KINDS)


class UnknownKind(ValueError):
    """A node type no profile is registered for."""


def kind_of(node_type: str) -> NodeKind:
    """The profile of ``node_type``; ``UnknownKind`` names the known types."""
    try:
        return KINDS[node_type]
    except KeyError:
        raise UnknownKind(
            f"unknown node type {node_type!r} (known: {', '.join(NODE_TYPES)})"
        ) from None


def spec_models() -> tuple[type[NodeSpecBase], ...]:
    """Each node-file model once, in registration order."""
    return tuple(dict.fromkeys(k.spec_model for k in _ALL))


@cache
def node_spec_union() -> Any:
    """The node-file type for pydantic: the kinds' models, discriminated by ``type``."""
    models = spec_models()
    union = models[0]
    for model in models[1:]:
        union = union | model  # type: ignore[assignment]
    return Annotated[union, Field(discriminator="type")]


__all__ = [
    "KINDS",
    "NODE_TYPES",
    "CucmNodeSpec",
    "ExpresswayNodeSpec",
    "NodeKind",
    "Profile",
    "Restart",
    "UnknownKind",
    "kind_of",
    "node_spec_union",
    "spec_models",
]
