"""pemtext: certificate blocks in the text nodes return, and the memoised per-entry split."""

from __future__ import annotations

import pytest

from reconciler.drivers.pemtext import split_entry, split_pems

A = "-----BEGIN CERTIFICATE-----\nMIIBAAAA\nQUFB\n-----END CERTIFICATE-----"
B = "-----BEGIN CERTIFICATE-----\nMIIBBBBB\n-----END CERTIFICATE-----"


@pytest.mark.parametrize("split", [split_pems, split_entry])
@pytest.mark.parametrize(("text", "blocks"), [
    (A, (A + "\n",)),
    (A + "\n", (A + "\n",)),
    (A + "\n" + B + "\n", (A + "\n", B + "\n")),
    # CRLF line ends are kept inside the block; the block ends with one "\n"
    (A.replace("\n", "\r\n") + "\r\n", (A.replace("\n", "\r\n") + "\n",)),
    # whitespace around and between the blocks is not part of them
    ("\n\n  " + A + "  \n\n\t" + B + "\n\n", (A + "\n", B + "\n")),
    # text before, between and after the blocks is ignored
    ("subject=CN=x\n" + A + "\ngarbage\n" + B + "\ntrailer", (A + "\n", B + "\n")),
    # no block at all: nothing (the caller decides whether that is an error)
    ("", ()),
    ("not a certificate", ()),
    ("-----BEGIN CERTIFICATE-----\nMIIB\n", ()),  # truncated: no END line
    ("-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n", ()),
])
def test_blocks(split: object, text: str, blocks: tuple[str, ...]) -> None:
    assert split(text) == blocks  # type: ignore[operator]


def test_identical_blocks_are_one_string_across_calls() -> None:
    """The same CA on many nodes is one string, whichever node's answer it came from."""
    first = split_pems("x" + A)[0]
    again = split_entry("".join([A, "\n"]))[0]  # a fresh, equal string
    assert first is again


def test_the_entry_memo_gives_the_same_tuple_for_equal_texts() -> None:
    text = "".join([B, "\n"])
    assert split_entry(text) is split_entry("".join([B, "\n"]))


def test_long_texts_are_split_but_not_kept() -> None:
    from reconciler.drivers import pemtext

    bundle = "\n".join([A, B] * 2_000)
    assert len(split_entry(bundle)) == 4_000
    assert bundle not in pemtext._ENTRIES
