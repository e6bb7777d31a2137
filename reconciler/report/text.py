"""Small helpers the renderers share: a Markdown table cell, a CA's short name, what an
action does to trust."""

from __future__ import annotations

import re

from reconciler.model import Action

TRUST_KINDS = ("trust.add", "trust.remove")

_CN = re.compile(r"(?:^|,)\s*CN=((?:\\.|[^,])+)")


def cell(text: str) -> str:
    """``text`` safe inside a Markdown table cell: pipes escaped, one line."""
    return text.replace("|", "\\|").replace("\n", " ")


def short_subject(subject: str) -> str:
    """A certificate's common name (``CN=...``), else its whole subject."""
    m = _CN.search(subject)
    return m[1].replace("\\,", ",") if m else subject


def trust_change(action: Action) -> str | None:
    """``trust.add`` or ``trust.remove`` for an action that changes a trust store, also when
    it is a step done by hand (a manual action keeps its kind in its id, ``node/kind/...``)."""
    kind: str = action.kind
    if kind == "manual" and action.id.count("/"):
        kind = action.id.split("/")[1]
    return kind if kind in TRUST_KINDS else None
