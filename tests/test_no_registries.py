"""No module under services/ or core/ keeps a module-level registry (STYLE.md lesson 14).

A listener list, a cache or a hook table at module level is hidden wiring: whoever appends to it
is wired to whoever reads it, and no constructor says so. The scan reads the source (AST):

- a module-level name bound to a mutable container (a list, dict or set display or
  comprehension, or a call of list/dict/set/defaultdict/...) is refused unless it is an
  UPPER_CASE constant that nothing mutates (better still: a tuple, frozenset or
  MappingProxyType);
- any module-level name that code mutates (``name.append(...)``, ``name[k] = v``,
  ``name.attr = v``, ``name.attr.add(...)``, from its own module or through
  ``module.name``) or rebinds (``global name``) is refused, whatever it holds,

except the few entries of `ALLOWED`, each with its reason.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCANNED = ("services", "core")
MUTABLE_CALLS = frozenset(
    {"list", "dict", "set", "defaultdict", "OrderedDict", "Counter", "deque", "WeakSet",
     "WeakValueDictionary", "WeakKeyDictionary", "bytearray"}
)  # fmt: skip
MUTATORS = frozenset(
    {"append", "extend", "insert", "add", "update", "setdefault", "pop", "popitem", "clear",
     "remove", "discard", "__setitem__", "__delitem__", "appendleft", "extendleft"}
)  # fmt: skip
# (module, name) -> why it is not hidden wiring.
ALLOWED: dict[tuple[str, str], str] = {
    ("services.terminals.secrets", "_box"): (
        "the process's at-rest key: configuration set once at start-up by `configure`, the "
        "only function that rebinds it (see the module docstring and test_secrets_box below)"
    ),
    ("core.clock", "_installed"): (
        "the one process clock the design asks for (DESIGN.md: time comes from one clock): "
        "`install`/`using` are its only mutators, tests move time by advancing it"
    ),
    ("services.signals.charts", "_LOCKS"): (
        "single-flight locks so that concurrent calls render one chart version once: private "
        "to `ensure_chart`, weak values (an entry lives only while a call holds or "
        "awaits it); nobody registers into it, and the chart row is the state that matters"
    ),
}


@dataclass(frozen=True)
class Finding:
    module: str
    name: str
    line: int
    why: str

    def __str__(self) -> str:
        return f"{self.module}:{self.line} {self.name}: {self.why}"


def _modules() -> Iterator[tuple[str, ast.Module]]:
    for package in SCANNED:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            yield name, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _top_level(tree: ast.Module) -> Iterator[ast.stmt]:
    """Module-level statements, including those inside module-level if/try blocks."""
    stack: list[ast.stmt] = list(tree.body)
    while stack:
        node = stack.pop(0)
        yield node
        if isinstance(node, ast.If | ast.Try):
            stack.extend(node.body + node.orelse)
            if isinstance(node, ast.Try):
                stack.extend(node.finalbody)
                for handler in node.handlers:
                    stack.extend(handler.body)


def _bindings(tree: ast.Module) -> dict[str, tuple[int, ast.expr | None]]:
    found: dict[str, tuple[int, ast.expr | None]] = {}
    for node in _top_level(tree):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    found[target.id] = (node.lineno, node.value)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            found[node.target.id] = (node.lineno, node.value)
    return found


def _is_mutable_container(value: ast.expr | None) -> bool:
    if isinstance(value, ast.List | ast.Dict | ast.Set | ast.ListComp | ast.DictComp):
        return True
    if isinstance(value, ast.SetComp):
        return True
    if isinstance(value, ast.Call):
        func = value.func
        called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
        return called in MUTABLE_CALLS
    return False


def _root(node: ast.expr) -> list[str]:
    """``a.b.c[0].d`` -> ["a", "b", "c", "d"] (the dotted path, subscripts skipped)."""
    path: list[str] = []
    while True:
        if isinstance(node, ast.Attribute):
            path.insert(0, node.attr)
            node = node.value
        elif isinstance(node, ast.Subscript):
            node = node.value
        elif isinstance(node, ast.Name):
            path.insert(0, node.id)
            return path
        else:
            return []


def _module_aliases(tree: ast.Module, known: set[str]) -> dict[str, str]:
    """Local names that refer to scanned modules (``from services.terminals import devices``)."""
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                if full in known:
                    aliases[alias.asname or alias.name] = full
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in known and alias.asname:
                    aliases[alias.asname] = alias.name
    return aliases


def _mutations(module: str, tree: ast.Module, known: set[str]) -> Iterator[tuple[str, str, int]]:
    """(module, name, line) of every mutation or rebinding of a module-level name."""
    aliases = _module_aliases(tree, known)

    def owner(path: list[str]) -> tuple[str, str] | None:
        if len(path) >= 2 and path[0] in aliases:
            return aliases[path[0]], path[1]
        if path:
            return module, path[0]
        return None

    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in MUTATORS:
                target = owner(_root(node.func.value))
                if target:
                    yield (*target, node.lineno)
        elif isinstance(node, ast.Assign | ast.AugAssign | ast.Delete):
            targets = node.targets if isinstance(node, ast.Assign | ast.Delete) else [node.target]
            for target_node in targets:
                if isinstance(target_node, ast.Attribute | ast.Subscript):
                    target = owner(_root(target_node))
                    if target:
                        yield (*target, node.lineno)
        elif isinstance(node, ast.Global):
            for name in node.names:
                yield module, name, node.lineno


def findings() -> list[Finding]:
    trees = dict(_modules())
    known = set(trees)
    bindings = {module: _bindings(tree) for module, tree in trees.items()}
    out: list[Finding] = []
    mutated: dict[tuple[str, str], int] = {}
    for module, tree in trees.items():
        for owner_module, name, line in _mutations(module, tree, known):
            if name in bindings.get(owner_module, {}):
                mutated.setdefault((owner_module, name), line)
    for module, names in bindings.items():
        for name, (line, value) in names.items():
            if (module, name) in ALLOWED or name == "__all__":
                continue
            if (module, name) in mutated:
                out.append(Finding(module, name, line, "module-level state that code mutates"))
            elif _is_mutable_container(value) and not name.isupper():
                out.append(Finding(module, name, line, "a mutable container at module level"))
    return out


def test_no_module_level_registries_in_services_or_core() -> None:
    found = findings()
    assert not found, "module-level registries (pass them in instead):\n" + "\n".join(
        map(str, found)
    )


def test_the_allow_list_names_what_exists() -> None:
    """An allowance for something that was removed is a hole waiting to be reused."""
    bindings = {module: _bindings(tree) for module, tree in _modules()}
    for module, name in ALLOWED:
        assert name in bindings.get(module, {}), f"{module}.{name} is allowed but gone"


@pytest.mark.parametrize(
    ("source", "name"),
    [
        ("hooks = []\n", "hooks"),  # a lower-case list: a registry in waiting
        ("_cache: dict[str, int] = {}\n", "_cache"),
        ("seen = set()\n", "seen"),
        ("from collections import defaultdict\nby_key = defaultdict(list)\n", "by_key"),
        ("LISTENERS = []\ndef on(f):\n    LISTENERS.append(f)\n", "LISTENERS"),  # mutated
        ("class H:\n    pass\nhooks = H()\ndef add(f):\n    hooks.items = [f]\n", "hooks"),
        ("class K:\n    pass\nring = K()\ndef use():\n    ring.cache['k'] = 1\n", "ring"),
        ("key = None\ndef configure(k):\n    global key\n    key = k\n", "key"),
    ],
)
def test_the_scan_catches_registries(
    source: str, name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "services"
    package.mkdir()
    (package / "sample.py").write_text(source, encoding="utf-8")
    (tmp_path / "core").mkdir()
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert [(f.module, f.name) for f in findings()] == [("services.sample", name)]


def test_the_scan_allows_constants(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = (
        "from types import MappingProxyType\n"
        "LATE_WAKES_S = (0.1, 1.0)\nKINDS = frozenset({'a'})\n"
        "NAMES = MappingProxyType({'a': 1})\n__all__ = ['x']\nlog = print\n"
    )
    for package in SCANNED:
        (tmp_path / package).mkdir()
    (tmp_path / "services" / "sample.py").write_text(source, encoding="utf-8")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert findings() == []


def test_secrets_box_is_replaced_only_by_configure() -> None:
    """The one allowance: `configure` is the only function that rebinds the process's box."""
    path = ROOT / "services" / "terminals" / "secrets.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    rebinding = {
        function.name
        for function in ast.walk(tree)
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef)
        for node in ast.walk(function)
        if isinstance(node, ast.Global) and "_box" in node.names
    }
    assert rebinding == {"configure"}
    for _module, tree_of in _modules():  # and nobody assigns it from outside
        for node in ast.walk(tree_of):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    assert _root(target)[-1:] != ["_box"] or isinstance(target, ast.Name)
