"""The README's "Finding codes" table lists exactly the codes of ``reconciler.model.codes``,
each row with the severities its codes can take."""

from __future__ import annotations

import re
from pathlib import Path

from reconciler.model import Code, Severity

README = Path(__file__).resolve().parents[2] / "README.md"


def table_rows() -> list[tuple[list[str], set[str]]]:
    """(codes, severity words) of each row of the README's "Finding codes" table."""
    text = README.read_text()
    section = text.split("## Finding codes", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        if not line.startswith("| `"):
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        codes = re.findall(r"`([^`]+)`", cells[0])
        words = set(re.findall(r"\b(error|warning|info)\b", cells[1]))
        rows.append((codes, words))
    return rows


def test_the_readme_lists_exactly_the_codes() -> None:
    listed = [code for codes, _ in table_rows() for code in codes]
    assert len(listed) == len(set(listed)), "a code is listed twice"
    known = {c.value for c in Code}
    assert set(listed) - known == set(), "listed in the README but not in model/codes.py"
    assert known - set(listed) == set(), "in model/codes.py but missing from the README"


def test_each_row_names_the_severities_of_its_codes() -> None:
    for codes, words in table_rows():
        severities = {s.value for code in codes for s in Code(code).severities}
        assert words == severities, (codes, words, severities)


def test_every_code_has_a_meaning_and_a_severity() -> None:
    for code in Code:
        assert code.meaning and code.severities
        assert all(isinstance(s, Severity) for s in code.severities)
