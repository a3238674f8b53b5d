"""The API coverage table of the docs, generated from the emulator's own route table.

For every `/v1` and `/v2` route of `create_app()`:

- **versions**: which API versions serve it, found by asking the app: each route is requested
  with `Stripe-Version: 2025-02-24.acacia` and with `2025-03-31.basil`; a version whose answer
  is Stripe's `Unrecognized request URL` does not have it (usage records, upcoming invoices).
- **SDK call**: the stripe-python method that requests that method and path, read from the
  installed SDK's service classes (their source names the method and the path template).
- **OpenAPI**: whether Stripe's official spec (current `2026-05-27.dahlia` and legacy
  `2024-04-10`) has the path, and which paths of the spec's usage-billing surface the emulator
  does not serve.

`python -m conformance.coverage` writes docs/reference/coverage.md; `--check` exits 1 when the
file is stale (tests/docs/test_coverage_page.py runs the check).
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "reference" / "coverage.md"
VERSIONS = {"acacia": "2025-02-24.acacia", "basil+": "2025-03-31.basil"}
_METHODS = ("get", "post", "delete")
_REQUEST = re.compile(r"""self\._request(?:_async)?\(\s*"(get|post|delete)",\s*"(/v[12]/[^"]*)\"""")
_ARG = re.compile(r"<(?:[a-z_]+:)?([a-z_]+)>")


def _template(rule: str) -> str:
    """Flask `/v1/customers/<cid>` -> OpenAPI-like `/v1/customers/{}` (names dropped)."""
    return _ARG.sub("{}", rule)


def _normal(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path)


def routes() -> list[tuple[str, str]]:
    """(METHOD, rule) of every Stripe API route of the app, sorted by path."""
    from stripe_mock_billing.app import create_app

    out = set()
    for rule in create_app().url_map.iter_rules():
        if not rule.rule.startswith(("/v1/", "/v2/")):
            continue
        for method in rule.methods or ():
            if method.lower() in _METHODS:
                out.add((method, rule.rule))
    return sorted(out, key=lambda mr: (mr[1], mr[0]))


def served_versions(method: str, rule: str, app: Any) -> list[str]:
    """The API versions (of VERSIONS) under which the app does not answer `Unrecognized`."""
    url = _ARG.sub("probe_x", rule)
    found = []
    for label, version in VERSIONS.items():
        client = app.test_client()
        headers = {"Authorization": "Bearer sk_test_coverage_probe", "Stripe-Version": version}
        if rule.startswith("/v2/"):
            resp = client.open(url, method=method, headers=headers, json={})
        else:
            resp = client.open(url, method=method, headers=headers)
        body = resp.get_json(silent=True) or {}
        message = str((body.get("error") or {}).get("message", ""))
        if not message.startswith("Unrecognized request URL"):
            found.append(label)
    return found


def _services(root: Any, prefix: str) -> Iterator[tuple[str, Any]]:
    """(dotted access path, service) for a service and every sub-service below it."""
    yield prefix, root
    module = sys.modules[type(root).__module__]
    for name in sorted(getattr(module, "_subservices", {})):
        yield from _services(getattr(root, name), f"{prefix}.{name}")


def sdk_calls() -> dict[tuple[str, str], str]:
    """(METHOD, normalised path) -> `client.v1....method` of the installed stripe-python."""
    import stripe

    client = stripe.StripeClient("sk_test_coverage")
    out: dict[tuple[str, str], str] = {}
    for top in ("v1", "v2"):
        for access, service in _services(getattr(client, top), f"client.{top}"):
            for name, func in inspect.getmembers(type(service), inspect.isfunction):
                if name.startswith("_") or name.endswith("_async"):
                    continue
                try:
                    source = inspect.getsource(func)
                except (OSError, TypeError):
                    continue
                for verb, path in _REQUEST.findall(source):
                    out.setdefault((verb.upper(), _normal(path)), f"{access}.{name}")
    return out


def openapi_paths() -> dict[str, set[tuple[str, str]]]:
    """Spec kind -> {(METHOD, normalised path)} of its usage-billing surface."""
    from conformance import schema_source
    from conformance.openapi_check import in_billing_scope

    found = schema_source.ensure(fetch=True)
    out: dict[str, set[tuple[str, str]]] = {}
    for kind, located in found.items():
        doc = json.loads(located.path.read_bytes())
        ops = set()
        for template, item in doc.get("paths", {}).items():
            if not in_billing_scope(template):
                continue
            for verb in _METHODS:
                if verb in item:
                    ops.add((verb.upper(), _normal(template)))
        out[kind] = ops
    return out


def render() -> str:
    """The whole coverage page."""
    import stripe

    from stripe_mock_billing import __version__
    from stripe_mock_billing.app import create_app

    app = create_app()
    calls = sdk_calls()
    spec = openapi_paths()
    current, legacy = spec.get("current", set()), spec.get("legacy", set())
    lines = [
        "# API coverage",
        "",
        "<!-- generated by `python -m conformance.coverage`: do not edit by hand -->",
        "",
        f"Every Stripe API route of stripe-mock-billing {__version__}, from the app's own route",
        "table. **Versions**: the API versions under which the emulator serves the route (asked of",
        "the app itself: a version that answers `Unrecognized request URL` does not have it).",
        f"**SDK call**: the stripe-python {stripe.VERSION} method that requests it.",
        "**OpenAPI**: whether Stripe's official spec has it (`current` = `2026-05-27.dahlia`,",
        "`legacy` = `2024-04-10`).",
        "",
        "| Method | Path | Versions | SDK call (stripe-python) | OpenAPI |",
        "|---|---|---|---|---|",
    ]
    served = set()
    for method, rule in routes():
        key = (method, _normal(_template(rule)))
        served.add(key)
        versions = ", ".join(served_versions(method, rule, app)) or "none"
        in_spec = [k for k, ops in (("current", current), ("legacy", legacy)) if key in ops]
        call = calls.get(key)
        lines.append(
            f"| {method} | `{_template(rule)}` | {versions} | "
            f"{f'`{call}`' if call else '(none)'} | {', '.join(in_spec) or '(not in the spec)'} |"
        )
    missing = sorted((current | legacy) - served, key=lambda mp: (mp[1], mp[0]))
    lines += [
        "",
        "## In Stripe's usage-billing surface, not served",
        "",
        "Operations of the official specs under the usage-billing paths (customers, products,",
        "prices, subscriptions, invoices, billing, test clocks, events, webhook endpoints) that",
        "the emulator does not serve: a request gets Stripe's `Unrecognized request URL` 404.",
        "",
        "| Method | Path | Spec |",
        "|---|---|---|",
    ]
    for method, path in missing:
        kinds = [
            k for k, ops in (("current", current), ("legacy", legacy)) if (method, path) in ops
        ]
        lines.append(f"| {method} | `{path}` | {', '.join(kinds)} |")
    lines += [
        "",
        f"{len(served)} operations served; {len(missing)} operations of the specs' "
        "usage-billing surface not served.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance.coverage", description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if the page is stale")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if not PAGE.is_file() or PAGE.read_text(encoding="utf-8") != text:
            print(f"{PAGE.relative_to(ROOT)} is stale: run python -m conformance.coverage")
            return 1
        return 0
    PAGE.write_text(text, encoding="utf-8")
    print(f"wrote {PAGE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    importlib.import_module("stripe_mock_billing")
    raise SystemExit(main())
