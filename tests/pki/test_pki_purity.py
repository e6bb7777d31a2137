"""reconciler.pki stays pure: cryptography, the standard library and reconciler.model only;
no file, network or process I/O, and no clock (docs/architecture.md)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import reconciler.pki

PKI = Path(reconciler.pki.__file__).parent
FORBIDDEN_STDLIB = {"os", "io", "pathlib", "socket", "ssl", "subprocess", "shutil", "time",
                    "tempfile", "glob", "asyncio", "http", "urllib.request", "sqlite3"}


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_imports_are_allowed() -> None:
    modules = sorted(PKI.glob("*.py"))
    assert len(modules) >= 10
    for path in modules:
        for name in _imports(path):
            top = name.split(".")[0]
            if top == "reconciler":
                assert name == "reconciler.model" or name.startswith("reconciler.pki"), (
                    path.name, name)
            elif top == "cryptography" or top == "__future__":
                continue
            else:
                assert top in sys.stdlib_module_names, (path.name, name)
                assert name not in FORBIDDEN_STDLIB and top not in FORBIDDEN_STDLIB, (
                    path.name, name)


def test_no_clock_and_no_files() -> None:
    for path in PKI.glob("*.py"):
        text = path.read_text()
        for needle in ("datetime.now", "datetime.utcnow", "date.today", "open(", ".read_bytes",
                       ".read_text", "time.time"):
            assert needle not in text, (path.name, needle)


def test_modules_are_small_and_documented() -> None:
    for path in PKI.glob("*.py"):
        tree = ast.parse(path.read_text())
        assert ast.get_docstring(tree), path.name
        assert len(path.read_text().splitlines()) <= 300, path.name
