"""stripeemu stands alone: the standard library and aiohttp, no app package (nor stripe)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "stripeemu"
ALLOWED = set(sys.stdlib_module_names) | {"aiohttp", "stripeemu"}


def _imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_imports_only_stdlib_and_aiohttp() -> None:
    files = sorted(PACKAGE.glob("*.py"))
    assert files
    outside = {str(f.name): _imported(f) - ALLOWED for f in files}
    assert {name: mods for name, mods in outside.items() if mods} == {}
