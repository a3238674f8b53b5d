"""Shared fixtures: one emulator server per session, a fresh account (API key) per test, and a
StripeClient whose every response is validated against Stripe's official OpenAPI schema.

The schema is obtained on first use (cache, ../shared/openapi, else PyPI + npm once; see
tests/schema_gate.py). Without it the session fails, unless opted out with `--no-schema` or
STRIPE_MOCK_BILLING_NO_SCHEMA=1; the end of the session says how many responses were validated.
"""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import pytest
import stripe
from hypothesis import HealthCheck, settings

# CI machines are small and shared: no per-example deadline (timing is for bench/, not tests)
settings.register_profile(
    "default_no_deadline", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("default_no_deadline")

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from conformance.openapi_check import UnknownOperation  # noqa: E402
from stripe_mock_billing.config import Settings  # noqa: E402
from stripe_mock_billing.server import ThreadedServer  # noqa: E402
from tests.schema_gate import OUTPUT_KEY, SchemaGate, SchemaUnavailable  # noqa: E402

ACACIA = "2025-02-24.acacia"
_GATE_KEY = pytest.StashKey[SchemaGate]()
_gate: SchemaGate | None = None  # this process's gate (set by pytest_configure)


def schema_gate() -> SchemaGate:
    """This process's schema gate (one from the environment outside a pytest session)."""
    global _gate
    if _gate is None:
        _gate = SchemaGate.from_env()
    return _gate


# --------------------------------------------------------------------------- session hooks


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--no-schema",
        action="store_true",
        default=False,
        help="do not validate responses against Stripe's OpenAPI schema (explicit opt-out; "
        "also STRIPE_MOCK_BILLING_NO_SCHEMA=1). Without it a missing schema fails the session.",
    )


def pytest_configure(config: pytest.Config) -> None:
    global _gate
    _gate = SchemaGate.from_env(bool(config.getoption("no_schema", default=False)))
    config.stash[_GATE_KEY] = _gate


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """pytest-xdist controller: add up a finished worker's counts."""
    gate = node.config.stash.get(_GATE_KEY, None)
    if gate is not None:
        gate.merge(getattr(node, "workeroutput", {}).get(OUTPUT_KEY))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    gate = config.stash.get(_GATE_KEY, None)
    if gate is None:
        return
    if _is_worker(config):
        config.workeroutput[OUTPUT_KEY] = gate.to_output()  # type: ignore[attr-defined]
        return
    if config.option.collectonly:
        return
    if gate.failure() and session.exitstatus in (
        pytest.ExitCode.OK,
        pytest.ExitCode.NO_TESTS_COLLECTED,
    ):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    gate = config.stash.get(_GATE_KEY, None)
    if gate is None or _is_worker(config) or config.option.collectonly:
        return
    for line, bad in gate.summary():
        terminalreporter.write_line(line, red=bad, bold=bad)
    _docs_summary(terminalreporter)


def _docs_summary(terminalreporter: Any) -> None:
    """How many README/docs code blocks ran (tests/docs/test_examples.py), when any did."""
    ran = {"python": 0, "shell": 0}
    for report in terminalreporter.stats.get("passed", []):
        nodeid = getattr(report, "nodeid", "")
        if getattr(report, "when", "") != "call" or "test_examples.py::" not in nodeid:
            continue
        if "::test_python_block_runs[" in nodeid:
            ran["python"] += 1
        elif "::test_shell_block_starts_the_server[" in nodeid:
            ran["shell"] += 1
    if not any(ran.values()):
        return
    from tests.docs.test_examples import counts

    marked = counts()["skipped"]
    terminalreporter.write_line(
        f"docs: {ran['python']} Python blocks and {ran['shell']} server-starting shell blocks "
        f"of README.md and docs/ executed; {marked} blocks marked <!-- not run -->"
    )


@pytest.fixture(scope="session")
def openapi_schema(pytestconfig: pytest.Config) -> SchemaGate:
    """The schema gate, with Stripe's OpenAPI specs obtained (fails the test when they cannot be;
    skips nothing: when opted out the gate hands out no validators)."""
    gate = pytestconfig.stash.get(_GATE_KEY, None) or schema_gate()
    if not gate.opt_out:
        try:
            gate.ensure()
        except SchemaUnavailable as exc:
            pytest.fail(str(exc), pytrace=False)
    return gate


class ValidatingHTTPXClient(stripe.HTTPXClient):
    """stripe's httpx client (async methods) checking every response against the schema."""

    def __init__(self, violations: list[str], gate: SchemaGate | None = None) -> None:
        super().__init__()
        self.violations = violations
        self.gate = gate or schema_gate()

    async def request_async(
        self, method: str, url: str, headers: Any, post_data: Any = None
    ) -> Any:
        content, status, resp_headers = await super().request_async(method, url, headers, post_data)
        self.violations.extend(
            schema_problems(method, url, status, resp_headers, content, gate=self.gate)
        )
        return content, status, resp_headers


class ValidatingClient(stripe.RequestsClient):
    """A RequestsClient that checks every response body against the official schema (its
    `*_async` methods go through a ValidatingHTTPXClient)."""

    def __init__(self, violations: list[str], gate: SchemaGate | None = None) -> None:
        super().__init__(async_fallback_client=ValidatingHTTPXClient(violations, gate))
        self.violations = violations
        self.gate = gate or schema_gate()

    def request(self, method: str, url: str, headers: Any, post_data: Any = None) -> Any:
        content, status, resp_headers = super().request(method, url, headers, post_data)
        self.violations.extend(
            schema_problems(method, url, status, resp_headers, content, gate=self.gate)
        )
        return content, status, resp_headers


def schema_problems(
    method: str,
    url: str,
    status: int,
    headers: Any,
    content: bytes | str,
    *,
    gate: SchemaGate | None = None,
    strict: bool = False,
) -> list[str]:
    """Violations of one response against Stripe's OpenAPI for its method, path, status and
    `Stripe-Version` (empty when valid; counted in the session's total when validated).

    Emulator-only routes (`/_mock/*`, `/healthz`) are skipped. An operation the spec does not
    have (the emulator's 404 for an unknown URL) passes silently, unless `strict`: then it is a
    problem, so a raw call said to be checked never goes unchecked."""
    gate = gate or schema_gate()
    path = urlsplit(url).path
    method = method.upper()
    if path.startswith("/_mock") or path == "/healthz":
        return [f"{method} {path}: an emulator-only route has no schema"] if strict else []
    version = headers.get("Stripe-Version") or ACACIA
    try:
        validator = gate.validator(version, path)
    except SchemaUnavailable as exc:  # the session fails too (gate.error)
        return [f"{method} {path} {status}: not validated: {exc}"]
    if validator is None:  # opted out (--no-schema / STRIPE_MOCK_BILLING_NO_SCHEMA=1)
        return []
    try:
        body = json.loads(content)
    except ValueError:
        return [f"{method} {path} {status}: body is not JSON"]
    try:
        errors = validator.validate(method, path, status, body)
    except UnknownOperation as exc:
        # routes Stripe does not have (the emulator's 404s for unknown URLs)
        return [f"{method} {path} {status}: not in Stripe's OpenAPI: {exc}"] if strict else []
    gate.counted(validator)
    return [f"{method} {path} {status} [{version}]: {e}" for e in errors]


R = TypeVar("R")


def validated(resp: R) -> R:
    """A raw HTTP response (`requests`, `httpx` or Flask's test client), checked against
    Stripe's OpenAPI for its method, path and status like every SDK response; fails the test on
    any violation, and on a route the spec does not have (calls the spec cannot describe are
    left unwrapped, with a comment saying why)."""
    r: Any = resp
    request = r.request
    url = str(getattr(r, "url", None) or request.url)  # werkzeug's TestResponse has no url
    body = r.content if hasattr(r, "content") else r.get_data()
    problems = schema_problems(request.method, url, r.status_code, r.headers, body, strict=True)
    assert not problems, "response violates the OpenAPI schema:\n" + "\n".join(problems[:20])
    return resp


def journal_problems(handle: Any) -> list[str]:
    """Schema violations of every response in an account's journal (`StripeMock.journal()`):
    checks what any client received, the SDK's default clients, async ones and an app's own,
    without changing the client under test. Bodies the journal kept as null (over 256 KiB) are
    not validated (and not counted)."""
    problems: list[str] = []
    for e in handle.journal():
        if e.response_truncated:
            continue
        headers = {"Stripe-Version": e.api_version} if e.api_version else {}
        problems.extend(
            schema_problems(e.method, e.path, e.status, headers, json.dumps(e.response))
        )
    return problems


def assert_journal_valid(handle: Any) -> None:
    """Fail on any journaled response of the account that violates the schema."""
    problems = journal_problems(handle)
    assert not problems, "responses violate the OpenAPI schema:\n" + "\n".join(problems[:20])


def validated_raw(method: str, path: str, status: int, headers: Any, body: bytes | str) -> None:
    """`validated` for responses read off a socket or `http.client` (status, headers, body)."""
    problems = schema_problems(method, path, status, headers, body, strict=True)
    assert not problems, "response violates the OpenAPI schema:\n" + "\n".join(problems[:20])


@pytest.fixture(scope="session")
def server() -> Iterator[ThreadedServer]:
    """One emulator for the whole test session (accounts isolate tests)."""
    with ThreadedServer(Settings(port=0)) as srv:
        yield srv


@pytest.fixture
def api_key() -> str:
    """A fresh secret test key: a fresh, empty account."""
    return "sk_test_" + uuid.uuid4().hex


@pytest.fixture
def schema_violations(openapi_schema: SchemaGate) -> Iterator[list[str]]:
    """Schema violations seen during the test; any makes the test fail."""
    found: list[str] = []
    yield found
    if found:
        pytest.fail("responses violate the OpenAPI schema:\n" + "\n".join(found[:20]))


def make_client(
    url: str,
    key: str,
    violations: list[str],
    version: str | None = None,
    *,
    max_network_retries: int = 0,
) -> stripe.StripeClient:
    """A StripeClient pointed at the emulator for every base address, its responses checked
    against the schema into `violations` (the `schema_violations` fixture fails the test on any)."""
    return stripe.StripeClient(
        key,
        base_addresses={"api": url, "meter_events": url, "files": url, "connect": url},
        max_network_retries=max_network_retries,
        http_client=ValidatingClient(violations),
        stripe_version=version,
    )


@pytest.fixture
def client(
    server: ThreadedServer, api_key: str, schema_violations: list[str]
) -> stripe.StripeClient:
    """StripeClient 16.1.0 at its own pinned version (basil-or-later rendering)."""
    return make_client(server.url, api_key, schema_violations)


@pytest.fixture
def acacia(
    server: ThreadedServer, api_key: str, schema_violations: list[str]
) -> stripe.StripeClient:
    """The same account, sending `Stripe-Version: 2025-02-24.acacia` (legacy usage records)."""
    return make_client(server.url, api_key, schema_violations, ACACIA)


def err_of(exc: pytest.ExceptionInfo[stripe.StripeError]) -> dict[str, Any]:
    """The `error` object of a raised SDK exception."""
    body = exc.value.json_body or {}
    return dict(body.get("error") or {})
