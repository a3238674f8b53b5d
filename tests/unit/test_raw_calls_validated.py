"""Guard (issue 15): every raw HTTP call of the API and plugin tests (`requests`, `httpx`, a
`requests.Session`) has its response checked against Stripe's OpenAPI with
`tests.conftest.validated`, or says why not: a call to an emulator-only route (`/_mock/*`,
`/healthz`), or a comment on or just above the call that names the reason (containing
"schema", "emulator-only" or "not validated")."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("tests/api", "tests/plugin")
CLIENTS = {"requests", "httpx", "session", "s", "http"}
VERBS = {"get", "post", "put", "patch", "delete", "request", "head"}
REASONS = ("schema", "emulator-only", "not validated")
EXEMPT_ROUTES = ("/_mock", "/healthz")
# file -> (at most this many unchecked raw calls, why their responses are not under test)
ALLOWED: dict[str, tuple[int, str]] = {}


def _is_raw_call(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in VERBS
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id in CLIENTS
    )


def _literals(node: ast.AST) -> str:
    """Every string constant inside a node (URLs built with f-strings or `+`)."""
    return " ".join(
        n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    )


def _is_validated_call(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in ("validated", "validated_raw")
    )


def unchecked_raw_calls(source: str) -> list[int]:
    """Line numbers of raw calls whose responses are neither validated nor exempted."""
    tree = ast.parse(source)
    lines = source.splitlines()
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    bad = []
    for call in [n for n in ast.walk(tree) if _is_raw_call(n)]:
        assert isinstance(call, ast.Call)
        if any(route in _literals(call) for route in EXEMPT_ROUTES):
            continue
        # wrapped: validated(requests.get(...))
        if _is_validated_call(parents.get(call)):
            continue
        # assigned, then validated in the same function: r = requests.get(...); validated(r)
        stmt: ast.AST = call
        while stmt in parents and not isinstance(stmt, ast.stmt):
            stmt = parents[stmt]
        targets = {
            t.id
            for t in getattr(stmt, "targets", [getattr(stmt, "target", None)])
            if isinstance(t, ast.Name)
        }
        scope: ast.AST = stmt
        while scope in parents and not isinstance(scope, ast.FunctionDef | ast.Module):
            scope = parents[scope]
        if targets and any(
            _is_validated_call(n)
            and any(isinstance(a, ast.Name) and a.id in targets for a in n.args)  # type: ignore[attr-defined]
            for n in ast.walk(scope)
        ):
            continue
        # a reason in a comment on the call's lines or the two lines above
        start, end = call.lineno, call.end_lineno or call.lineno
        nearby = "\n".join(lines[max(0, start - 3) : end])
        comments = [ln.split("#", 1)[1] for ln in nearby.splitlines() if "#" in ln]
        if any(reason in c for c in comments for reason in REASONS):
            continue
        bad.append(call.lineno)
    return bad


def test_raw_calls_are_schema_checked_or_say_why_not() -> None:
    found = []
    for d in SCANNED:
        for path in sorted((ROOT / d).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            lines = unchecked_raw_calls(path.read_text(encoding="utf-8"))
            if len(lines) > ALLOWED.get(rel, (0, ""))[0]:
                found += [f"{rel}:{n}" for n in lines]
    assert not found, (
        "raw HTTP calls whose responses are not checked against the schema (wrap them in "
        "tests.conftest.validated, or say why not in a comment):\n" + "\n".join(found)
    )


@pytest.mark.parametrize(
    "source",
    [
        "r = requests.get(url + '/v1/customers')\n",
        "def f():\n    r = requests.post(u, data=b)\n    return r\n",
        "with httpx.Client() as http:\n    http.get('/v1/prices')\n",
    ],
)
def test_the_guard_sees_an_unchecked_call(source: str) -> None:
    assert len(unchecked_raw_calls(source)) == 1


@pytest.mark.parametrize(
    "source",
    [
        "r = validated(requests.get(url + '/v1/customers'))\n",
        "def f():\n    r = requests.post(u, data=b)\n    return validated(r)\n",
        "requests.get(f'{url}/_mock/journal')\n",
        "r = requests.get(url + '/v1/nope')  # not validated: no operation of the spec\n",
        "# Stripe has no PUT: no schema\nr = requests.put(url + '/v1/customers')\n",
    ],
)
def test_the_guard_accepts_checked_or_explained_calls(source: str) -> None:
    assert unchecked_raw_calls(source) == []


# --- SDK clients -------------------------------------------------------------------------------

# files that build a StripeClient themselves, and how their responses are checked
OWN_CLIENTS: dict[str, str] = {
    "tests/api/test_inprocess.py": "the SDK's default clients are the subject: journal checked",
    "tests/api/test_webhook_sdks.py": "parse_thin_event only: the client sends no request",
    "tests/api/test_mutants_wire_pipeline_b.py": (
        "an in-process client over httpx, which passes a key with a line break as is (the "
        "subject): journal checked"
    ),
}


def unchecked_clients(source: str) -> list[int]:
    """Lines of `make_client(..., [])` (violations thrown away) and of `stripe.StripeClient(`."""
    bad = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id == "make_client":
            if len(node.args) >= 3 and isinstance(node.args[2], ast.List):
                bad.append(node.lineno)
        elif isinstance(func, ast.Attribute) and func.attr == "StripeClient":
            bad.append(node.lineno)
    return bad


def test_sdk_clients_check_their_responses() -> None:
    found = []
    for d in SCANNED:
        for path in sorted((ROOT / d).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel not in OWN_CLIENTS:
                lines = unchecked_clients(path.read_text(encoding="utf-8"))
                found += [f"{rel}:{n}" for n in lines]
    assert not found, (
        "SDK clients whose responses nobody checks against the schema (use the `client` "
        "fixture, or make_client(url, key, schema_violations)):\n" + "\n".join(found)
    )


@pytest.mark.parametrize(
    ("source", "unchecked"),
    [
        ("c = make_client(url, key, [])\n", 1),
        ("c = make_client(url, key, [], '2025-02-24.acacia')\n", 1),
        ("c = stripe.StripeClient(key, base_addresses={'api': url})\n", 1),
        ("c = make_client(url, key, schema_violations)\n", 0),
    ],
)
def test_the_client_guard_on_both_sides(source: str, unchecked: int) -> None:
    assert len(unchecked_clients(source)) == unchecked
