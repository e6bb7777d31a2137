"""The loader's event stream (``yamlsource._events``): libyaml's C parser called directly
gives what ruamel's ``YAML(typ="safe", pure=False).parse`` gives, and without
ruamel.yaml.clib the pure-Python parser gives the same events."""

from __future__ import annotations

import sys

import pytest
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from reconciler.desired import yamlsource

TEXT = """\
# a node file
name: expc-001
labels: {site: lon, shard: '3'}
links:
  - expe-001
trust:
  - &a ../cas/root.pem
  - *a
"""


def _shape(events: object) -> list[tuple[str, object, object, int]]:
    return [(type(e).__name__, getattr(e, "value", None), getattr(e, "anchor", None),
             e.start_mark.line) for e in events]  # type: ignore[attr-defined]


def test_the_same_events_as_ruamel() -> None:
    want = _shape(YAML(typ="safe", pure=False).parse(TEXT))
    assert _shape(yamlsource._events(TEXT)) == want
    assert any(name == "AliasEvent" for name, *_ in want)


def test_without_the_c_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    import ruamel.yaml

    want = _shape(YAML(typ="safe", pure=True).parse(TEXT))
    monkeypatch.setitem(sys.modules, "ruamel.yaml.cyaml", None)  # import fails
    monkeypatch.delattr(ruamel.yaml, "cyaml", raising=False)
    parsed: list[str] = []
    real = yamlsource._Yaml.parse

    def parse(self: YAML, text: str) -> object:
        parsed.append(text)
        return real(self, text)

    monkeypatch.setattr(yamlsource._Yaml, "parse", parse)
    assert _shape(yamlsource._events(TEXT)) == want
    assert parsed == [TEXT]  # the fallback ran
    assert yamlsource.top_scalars(TEXT.encode(), frozenset({"name"})) == {"name": ["expc-001"]}


def test_a_syntax_error_is_raised() -> None:
    with pytest.raises(YAMLError):
        list(yamlsource._events("a: [1, 2\nb: c\n"))
