"""Small text helpers the renderers share: a Markdown table cell, a CA's short name."""

from __future__ import annotations

import re

_CN = re.compile(r"(?:^|,)\s*CN=((?:\\.|[^,])+)")


def cell(text: str) -> str:
    """``text`` safe inside a Markdown table cell: pipes escaped, one line."""
    return text.replace("|", "\\|").replace("\n", " ")


def short_subject(subject: str) -> str:
    """A certificate's common name (``CN=...``), else its whole subject."""
    m = _CN.search(subject)
    return m[1].replace("\\,", ",") if m else subject
