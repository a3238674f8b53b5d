"""Every declared top-level parameter is read by its route's module (issue 15).

A parameter that a spec declares but no code reads is accepted and silently ignored: worse than
a 400, since a user's test passes while testing nothing. This test is a static check, kept
simple on purpose:

1. **Specs.** For each module of `stripe_mock_billing/resources/`, every argument of a
   `p.params(...)` call is evaluated in the module's namespace (a name such as `CREATE`, a dict
   literal, or a builder such as `_create_spec(p.api_version())`, called once per API version in
   `VERSIONS` with a stand-in `p`). Arguments that cannot be evaluated there (a function's own
   parameter) are covered by also taking every module-level `dict[str, Param]` of the module.
   `expand` is added by `parse` itself and read by the renderers, so it is not checked.
2. **Reads.** A name counts as read when the module's source reads it as a string key from a
   plain variable: `x["name"]`, `x.get("name")`, `x.pop("name")`, `"name" in x` / `not in x`.
   When the module passes its parsed parameters on whole (`prm`, or any variable assigned from
   `p.params(...)`) to a function of another module of the package (`render_list(objs, prm,
   ...)`, `engine.pend(ns, prm)`), that module's reads count too, transitively.
3. **Allow-list.** `ALLOWED` names `(module, parameter)` pairs that are declared on purpose and
   not read, each with its reason; every reason must also appear in docs/reference/choices.md
   (checked below), and a stale entry (now read, or no longer declared) fails.

It is a heuristic: a key read on the wrong variable counts, and a read hidden behind
`**prm` or `getattr` does not. Its job is to catch the common mistake of adding a parameter to a
spec and never wiring it.
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import stripe_mock_billing
from stripe_mock_billing.wire.params import Param

PKG = Path(stripe_mock_billing.__file__).parent
CHOICES = PKG.parent / "docs" / "reference" / "choices.md"
VERSIONS = ("2024-04-10", "2026-05-27.dahlia")

# (module, parameter) -> reason; each reason is quoted in docs/reference/choices.md.
ALLOWED: dict[tuple[str, str], str] = {
    ("alerts", "alert_type"): "`alert_type` has one value (`usage_threshold`)",
    ("meter_events", "type"): "`type` of a meter event adjustment has one value (`cancel`)",
    (
        "invoices",
        "forgive",
    ): "`forgive` on invoice pay concerns sources (ACH credit transfers, wires)",
}


def _tree(mod: ModuleType) -> ast.Module:
    return ast.parse(Path(str(mod.__file__)).read_text())


def _is_params_call(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "params"
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "p"
    )


def _is_spec(value: object) -> bool:
    return (
        isinstance(value, Mapping)
        and bool(value)
        and all(isinstance(k, str) and isinstance(v, Param) for k, v in value.items())
    )


def declared(mod: ModuleType) -> set[str]:
    """Top-level parameter names of every spec the module's routes validate with."""
    names: set[str] = set()
    for node in ast.walk(_tree(mod)):
        if not (_is_params_call(node) and isinstance(node, ast.Call) and node.args):
            continue
        code = compile(ast.Expression(node.args[0]), mod.__name__, "eval")
        for version in VERSIONS:
            stand_in = SimpleNamespace(api_version=lambda v=version: v)
            try:
                spec = eval(code, {**vars(mod), "p": stand_in})  # our own source
            except NameError:
                continue  # a function's own parameter: covered by the module-level specs
            names.update(spec)
    for value in vars(mod).values():
        if _is_spec(value):
            names.update(value)
    names.discard("expand")
    return names


def _params_vars(tree: ast.Module) -> set[str]:
    out = {"prm"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and _is_params_call(node.value):
            out.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return out


def _key_reads(tree: ast.Module, names: Mapping[str, object] | None = None) -> set[str]:
    names = names or {}
    keys: set[str] = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Subscript)
            and isinstance(node.value, ast.Name)
            and isinstance(node.slice, ast.Constant)
            and isinstance(node.slice.value, str)
        ):
            keys.add(node.slice.value)
        elif (
            isinstance(node, ast.Subscript)
            and isinstance(node.value, ast.Name)
            and isinstance(node.slice, ast.Name)
            and isinstance(names.get(node.slice.id), str)
        ):
            keys.add(str(names[node.slice.id]))  # prm[TH] with a module-level TH = "..."
        elif isinstance(node, ast.For | ast.comprehension) and isinstance(
            node.iter, ast.Tuple | ast.List | ast.Set
        ):
            # for name in ("name", "email"): ... prm[name] ...
            keys.update(
                e.value
                for e in node.iter.elts
                if isinstance(e, ast.Constant) and isinstance(e.value, str)
            )
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("get", "pop")
            and isinstance(node.func.value, ast.Name)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            keys.add(node.args[0].value)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("get", "pop")
            and node.args
            and isinstance(node.args[0], ast.Name)
            and isinstance(names.get(node.args[0].id), str)
        ):
            keys.add(str(names[node.args[0].id]))  # prm.get(TH)
        elif (
            isinstance(node, ast.Compare)
            and isinstance(node.left, ast.Constant)
            and isinstance(node.left.value, str)
            and len(node.ops) == 1
            and isinstance(node.ops[0], ast.In | ast.NotIn)
            and isinstance(node.comparators[0], ast.Name)
        ):
            keys.add(node.left.value)
    return keys


def _callee_module(mod: ModuleType, func: ast.expr) -> ModuleType | None:
    """The package module defining the function a call names, when it can be resolved."""
    parts: list[str] = []
    while isinstance(func, ast.Attribute):
        parts.insert(0, func.attr)
        func = func.value
    if not isinstance(func, ast.Name) or func.id not in vars(mod):
        return None
    obj: Any = vars(mod)[func.id]
    for part in parts:
        obj = getattr(obj, part, None)
    name = getattr(obj, "__module__", None)
    if not isinstance(name, str) or not name.startswith("stripe_mock_billing"):
        return None
    return importlib.import_module(name)


def reads(mod: ModuleType, seen: set[str] | None = None) -> set[str]:
    """String keys the module reads, plus those of modules it passes its parameters to whole."""
    seen = set() if seen is None else seen
    if mod.__name__ in seen:
        return set()
    seen.add(mod.__name__)
    tree = _tree(mod)
    keys = _key_reads(tree, vars(mod))
    whole = _params_vars(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and any(
            isinstance(a, ast.Name) and a.id in whole for a in node.args
        ):
            callee = _callee_module(mod, node.func)
            if callee is not None and callee is not mod:
                keys |= reads(callee, seen)
    return keys


def route_modules() -> list[ModuleType]:
    mods = []
    for path in sorted((PKG / "resources").glob("*.py")):
        mod = importlib.import_module(f"stripe_mock_billing.resources.{path.stem}")
        if any(_is_params_call(n) for n in ast.walk(_tree(mod))):
            mods.append(mod)
    return mods


def unread() -> set[tuple[str, str]]:
    out = set()
    for mod in route_modules():
        short = mod.__name__.rsplit(".", 1)[1]
        out |= {(short, name) for name in declared(mod) - reads(mod)}
    return out


def test_every_declared_parameter_is_read() -> None:
    missing = sorted(unread() - set(ALLOWED))
    assert missing == [], (
        "declared but never read (accepted and ignored): implement them, drop them from the "
        f"spec (a 400 parameter_unknown), or allow-list them with a reason: {missing}"
    )


def test_allow_list_is_current_and_documented() -> None:
    stale = sorted(set(ALLOWED) - unread())
    assert stale == [], f"allow-listed but now read or no longer declared: {stale}"
    doc = CHOICES.read_text()
    for (module, name), reason in ALLOWED.items():
        assert f"`{name}`" in doc and reason in doc, (module, name, reason)


def test_the_check_sees_an_ignored_parameter() -> None:
    # the heuristic itself: a declared-but-unread parameter is found, a read one is not
    src = (
        "from stripe_mock_billing.wire.params import Str\n"
        "SPEC = {'used': Str(), 'ignored': Str()}\n"
        "def route(p):\n"
        "    prm = p.params(SPEC)\n"
        "    return prm.get('used')\n"
    )
    mod = ModuleType("stripe_mock_billing.resources._probe")
    exec(compile(src, "_probe", "exec"), vars(mod))  # a fixed probe
    tree = ast.parse(src)
    assert {"used", "ignored"} <= {k for v in vars(mod).values() if _is_spec(v) for k in v}
    assert _key_reads(tree) == {"used"}
