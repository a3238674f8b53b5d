"""The package's layers (docs/architecture.md): imports only go down, and no module imports
itself back through others.

Every `import` / `from ... import` statement counts, wherever it is: at module level, inside a
function, or under `if TYPE_CHECKING:` (a function-level import that dodges a cycle still makes
the two modules depend on each other).

    edges     -> resources -> billing -> domain -> core
    wire      is used by resources and edges, and uses only core
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = "stripe_mock_billing"
ROOT = Path(__file__).resolve().parents[2] / PACKAGE

CORE = {"", "store", "clock", "ids", "errors", "config", "shapes", "limits", "stripe_versions"}
EDGES = {
    "__main__",
    "app",
    "cli",
    "cli_server",
    "server",
    "loop_server",
    "loop_connection",
    "control",
    "snapshot",
    "snapshot.schema",
    "snapshot.encode",
    "snapshot.checks",
    "snapshot.decode",
    "persistence",
    "handle",
    "inprocess",
    "inprocess_httpx",
    "wsgi_call",
    "pytest_plugin",
    "webhooks",
    "webhook_http",
    "webhook_receiver",
    "delivery",
    "delivery_queue",
    "delivery_records",
    "control_webhooks",
    "control_billing",
    "gc_tuning",
}
# which layers a layer may import (itself included)
MAY_IMPORT = {
    "core": {"core"},
    "wire": {"core", "wire"},
    "domain": {"core", "domain"},
    "billing": {"core", "domain", "billing"},
    "resources": {"core", "domain", "billing", "wire", "resources"},
    "edges": {"core", "domain", "billing", "wire", "resources", "edges"},
}
# HTTP belongs to wire, resources and edges; the layers below know no web framework
NO_HTTP = {"core", "domain", "billing"}
HTTP_PACKAGES = {"flask", "werkzeug"}


def _modules() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def layer(name: str) -> str:
    """The layer of a module, by its name relative to the package."""
    top = name.split(".")[0]
    if top in ("wire", "resources", "billing", "domain"):
        return top
    if name in CORE:
        return "core"
    if name in EDGES:
        return "edges"
    raise AssertionError(f"{PACKAGE}.{name} belongs to no layer: add it to test_layers.py")


def _imports(name: str) -> tuple[set[str], set[str]]:
    """(package modules, third-party top-level packages) that module `name` imports."""
    path = MODULES[name]
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    package = [p for p in package if p]
    inner: set[str] = set()
    outer: set[str] = set()

    def add(target: str) -> None:
        if target == PACKAGE:
            inner.add("")
        elif target.startswith(PACKAGE + "."):
            sub = target[len(PACKAGE) + 1 :]
            # `from pkg import mod` names a module; `from pkg.mod import func` a name in it
            while sub and sub not in MODULES:
                sub = sub.rpartition(".")[0]
            inner.add(sub)
        else:
            outer.add(target.split(".")[0])

    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = [PACKAGE, *package][: len(package) + 2 - node.level]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            add(module)
            for alias in node.names:
                add(f"{module}.{alias.name}")
    inner.discard(name)
    return inner, outer


GRAPH = {name: _imports(name) for name in MODULES}


def test_every_module_has_a_layer() -> None:
    for name in MODULES:
        layer(name)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_only_go_down(name: str) -> None:
    own = layer(name)
    inner, outer = GRAPH[name]
    upward = sorted(f"{PACKAGE}.{t} ({layer(t)})" for t in inner if layer(t) not in MAY_IMPORT[own])
    assert not upward, f"{PACKAGE}.{name} ({own}) imports up: {upward}"
    if own in NO_HTTP:
        http = sorted(outer & HTTP_PACKAGES)
        assert not http, f"{PACKAGE}.{name} ({own}) imports {http}"


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    comp = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        comp.append(member)
                        if member == node:
                            break
                    if len(comp) > 1:
                        found.append(sorted(comp))
    return found


def test_no_import_cycles() -> None:
    cycles = _cycles({name: inner for name, (inner, _) in GRAPH.items()})
    assert not cycles, f"import cycles: {cycles}"


def test_the_checks_catch_a_cycle_and_an_upward_import() -> None:
    # the checker itself: a two-module cycle and a domain -> resources import are both seen
    assert _cycles({"a": {"b"}, "b": {"a"}, "c": set()}) == [["a", "b"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []
    assert "resources" not in MAY_IMPORT[layer("domain.invoices")]
    assert "billing" not in MAY_IMPORT[layer("store")]
    assert "domain" not in MAY_IMPORT[layer("wire.render")]
