"""Which node files a --select shard loads: labels seen in libyaml's events, and the part of
the link graph that holds the shard's nodes."""

from __future__ import annotations

import pytest

from reconciler.desired.shardscope import LOOKED_AT, files_to_load, might_match, reached, within
from reconciler.desired.yamlsource import top_scalars
from reconciler.model import FleetSpec


@pytest.mark.parametrize(("text", "said"), [
    (b"name: a\nlabels:\n  site: dc1\n  shard: '3'\ntrust: {x: [a, {b: c}]}\n",
     {"name": ["a"], "labels": ["site=dc1", "shard=3"]}),
    (b'{name: a, labels: {site: "d\\x631"}}', {"name": ["a"], "labels": ["site=dc1"]}),
    (b"name: a\nlabels:\n  list: [1, 2]\n  site: dc1\n", {"name": ["a"], "labels": ["site=dc1"]}),
    (b"\xef\xbb\xbfname: a\n", {"name": ["a"]}),
    # both read: the rest is left to the loader of the shard the file belongs to
    (b"name: a\nlabels: {site: dc1}\ntrust: [\n", {"name": ["a"], "labels": ["site=dc1"]}),
])
def test_what_a_node_file_says_is_read_from_its_events(text: bytes,
                                                        said: dict[str, list[str]]) -> None:
    assert top_scalars(text, LOOKED_AT) == said


@pytest.mark.parametrize("text", [
    b"- a\n", b"name: &x a\nlabels: {site: *x}\n", b"name: a\n---\nname: b\n",
    b"labels: {site: dc1\n", b"\xff\xfe", b"? [a]\n: b\n",
])
def test_a_file_whose_events_do_not_show_it_plainly_is_unknown(text: bytes) -> None:
    assert top_scalars(text, LOOKED_AT) is None
    assert might_match(None, [("site", "dc1")])  # so it is loaded


def test_labels_must_all_be_there() -> None:
    said = {"labels": ["site=dc1", "role=edge"]}
    assert might_match(said, [("site", "dc1")]) and might_match(said, [("role", "edge")])
    assert not might_match(said, [("site", "dc1"), ("role", "core")])
    assert not might_match({"name": ["a"]}, [("site", "dc1")])


FLEET = FleetSpec.model_validate({
    "links": [["e1", "c1"], ["c1", "cm"], ["e2", "c2"], ["x", "y"]],
    "clusters": {"cm": {"members": ["cm1", "cm2"]}, "other": {"members": ["o1", "o2"]}},
})


def test_links_and_clusters_are_followed_to_the_end() -> None:
    assert reached(FLEET, {"e1"}) == {"e1", "c1", "cm1", "cm2"}
    assert reached(FLEET, {"cm2"}) == {"e1", "c1", "cm1", "cm2"}
    assert reached(FLEET, {"o1"}) == {"o1", "o2"}
    assert reached(FLEET, {"lonely"}) == {"lonely"}


def test_a_shard_loads_its_nodes_and_what_their_links_reach() -> None:
    raw = {f"nodes/{n}.yaml": f"name: {n}\nlabels: {{site: {s}}}\n".encode()
           for n, s in [("e1", "a"), ("c1", "b"), ("cm1", "b"), ("cm2", "b"), ("e2", "a"),
                        ("c2", "b"), ("o1", "c"), ("o2", "c")]}
    raw["nodes/odd.yaml"] = b"name: [odd\n"  # cannot tell: loaded
    wanted, linked = files_to_load(raw, FLEET, [("site", "a")])
    assert wanted == {f"nodes/{n}.yaml" for n in ("e1", "c1", "cm1", "cm2", "e2", "c2", "odd")}
    part = within(FLEET, linked)
    assert part.links == (("e1", "c1"), ("c1", "cm"), ("e2", "c2"))
    assert set(part.clusters) == {"cm"}
