"""Schema-driven fuzzing of every implemented operation (issue 14): 0 responses >= 500, 0 hangs.

Stripe's own OpenAPI specs (obtained and checksum-verified by conformance/schema_source.py:
2026-05-27.dahlia and 2024-04-10) are cut down to the operations the emulator serves (its Flask
routes); schemathesis generates requests from them, both valid and invalid ones (positive and
negative modes), and v1 bodies and queries go out in Stripe's bracket encoding
(`items[0][price]=x`, what the SDKs send) instead of schemathesis' flat form encoding. The
emulator runs as its CLI server in a subprocess, on a fresh API key per operation. A response
>= 500, a connection error, or no answer within `--timeout` seconds fails the run; the run is
bounded by `--examples` per operation and mode.

Run (CI, `.ci/run`): in a venv with the package and schemathesis (kept out of the test extras):

    python3 -m venv fuzz/.venv
    fuzz/.venv/bin/pip install -e . schemathesis==4.32.5
    fuzz/.venv/bin/python fuzz/fuzz_openapi.py --examples 10

LIMITATIONS: generated ids never name existing objects, so most requests past validation end
in `resource_missing`; the fuzzer checks robustness, not behaviour (tests/ and conformance/ do).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
import schemathesis  # noqa: E402
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402

from conformance import schema_source  # noqa: E402

_ARG = re.compile(r"<(?:[a-z_]+:)?([a-z_]+)>")
_METHODS = ("get", "post", "delete")


def implemented() -> set[tuple[str, str]]:
    """(method, normalised path) of every Stripe API route of the app."""
    from stripe_mock_billing.app import create_app

    out = set()
    for rule in create_app().url_map.iter_rules():
        if rule.rule.startswith(("/v1/", "/v2/")):
            for method in rule.methods or ():
                if method.lower() in _METHODS:
                    out.add((method.lower(), _ARG.sub("{}", rule.rule)))
    return out


def cut_spec(doc: dict[str, Any], ops: set[tuple[str, str]]) -> tuple[dict[str, Any], int]:
    """The spec with only the operations the emulator serves; how many there are."""
    paths: dict[str, Any] = {}
    count = 0
    for template, item in doc.get("paths", {}).items():
        normal = re.sub(r"\{[^}]*\}", "{}", template)
        kept = {k: v for k, v in item.items() if k not in _METHODS or (k, normal) in ops}
        served = [k for k in kept if k in _METHODS]
        if served:
            paths[template] = kept
            count += len(served)
    out = dict(doc)
    out["paths"] = paths
    out.pop("servers", None)
    return out, count


def bracket_pairs(value: Any, prefix: str) -> Iterator[tuple[str, str]]:
    """Stripe's form encoding of a value (what stripe-python's `_api_encode` sends)."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from bracket_pairs(v, f"{prefix}[{k}]" if prefix else str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from bracket_pairs(v, f"{prefix}[{i}]")
    elif value is None:
        return
    elif isinstance(value, bool):
        yield prefix, "true" if value else "false"
    else:
        yield prefix, str(value)


def form(value: Any) -> bytes:
    """A generated body as Stripe's bracketed form (a non-object as JSON: negative cases)."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    if not isinstance(value, dict):
        return json.dumps(value).encode()
    return "&".join(
        f"{quote(k, safe='[]')}={quote(v, safe='')}" for k, v in bracket_pairs(value, "")
    ).encode()


@schemathesis.serializer("application/x-www-form-urlencoded")
def _stripe_form(ctx: Any, value: Any) -> dict[str, Any]:
    return {"data": form(value)}


def start_server() -> tuple[subprocess.Popen[str], str]:
    """The CLI server on a free port; its URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "stripe_mock_billing", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    match = re.search(r"http://\S+", line)
    if not match:
        proc.kill()
        raise SystemExit(f"the server did not start: {line!r}")
    return proc, match.group(0)


class _Run:
    """Counters of one fuzz run."""

    def __init__(self, url: str, timeout: float) -> None:
        self.url, self.timeout = url, timeout
        self.session = requests.Session()
        self.sent = 0
        self.failures: list[str] = []
        self.statuses: dict[int, int] = {}

    def send(self, case: Any, headers: dict[str, str], mode: GenerationMode) -> None:
        self.sent += 1
        where = f"{case.method} {case.formatted_path} ({mode.value})"
        try:
            resp = case.call(
                base_url=self.url, session=self.session, headers=headers, timeout=self.timeout
            )
        except requests.Timeout:
            self.failures.append(f"{where}: no answer within {self.timeout} s")
            return
        except requests.RequestException as exc:
            self.failures.append(f"{where}: {type(exc).__name__}")
            return
        self.statuses[resp.status_code] = self.statuses.get(resp.status_code, 0) + 1
        if resp.status_code >= 500:
            self.failures.append(f"{where}: {resp.status_code} {resp.text[:200]}")

    def operation(self, operation: Any, version: str, mode: GenerationMode, examples: int) -> None:
        """Fuzz one operation in one mode, on a fresh account."""
        headers = {
            "Authorization": "Bearer sk_test_fuzz_" + uuid.uuid4().hex,
            "Stripe-Version": version,
        }

        @settings(
            max_examples=examples,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def probe(case: Any) -> None:
            self.send(case, headers, mode)

        try:
            probe()
        except Exception as exc:  # a generation problem of this operation: report it
            print(f"  skipped {operation.label} ({mode.value}): {type(exc).__name__}: {exc}")


def run(
    spec: dict[str, Any], version: str, url: str, examples: int, timeout: float
) -> tuple[int, list[str]]:
    """Fuzz every operation of `spec`; (requests sent, failures)."""
    schema = schemathesis.openapi.from_dict(spec)
    state = _Run(url, timeout)
    for result in schema.get_all_operations():
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            state.operation(result.ok(), version, mode, examples)
    statuses = ", ".join(f"{k}: {v}" for k, v in sorted(state.statuses.items()))
    print(f"  statuses: {statuses}")
    return state.sent, state.failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--examples", type=int, default=10, help="per operation and mode")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per request")
    args = parser.parse_args(argv)
    ops = implemented()
    specs = schema_source.ensure(fetch=True)
    proc, url = start_server()
    started = time.monotonic()
    total_sent = 0
    all_failures: list[str] = []
    try:
        for kind, version in (("current", "2026-05-27.dahlia"), ("legacy", "2025-02-24.acacia")):
            doc = json.loads(specs[kind].path.read_bytes())
            cut, count = cut_spec(doc, ops)
            print(f"{kind} spec ({specs[kind].spec.api_version}): {count} operations")
            sent, failures = run(cut, version, url, args.examples, args.timeout)
            total_sent += sent
            all_failures.extend(failures)
        alive = requests.get(url + "/healthz", timeout=args.timeout).ok
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    elapsed = time.monotonic() - started
    print(f"{total_sent} requests in {elapsed:.0f} s, {len(all_failures)} failures")
    for failure in all_failures[:50]:
        print("  " + failure)
    if not alive:
        print("the server stopped answering /healthz")
    return 1 if all_failures or not alive else 0


if __name__ == "__main__":
    sys.exit(main())
