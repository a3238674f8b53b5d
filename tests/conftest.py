"""Shared fixtures: one emulator server per session, a fresh account (API key) per test, and a
StripeClient whose every response is validated against Stripe's official OpenAPI schema."""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
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

from conformance.openapi_check import (  # noqa: E402
    UnknownOperation,
    find_spec_dir,
    validator_for_version,
)
from stripe_mock_billing.config import Settings  # noqa: E402
from stripe_mock_billing.server import ThreadedServer  # noqa: E402

ACACIA = "2025-02-24.acacia"
SPEC_DIR = find_spec_dir()
if SPEC_DIR is None:
    print(
        "\n*** ../shared/openapi not found: responses will NOT be schema-validated ***\n",
        file=sys.stderr,
    )


class ValidatingClient(stripe.RequestsClient):
    """A RequestsClient that checks every response body against the official schema."""

    def __init__(self, violations: list[str]) -> None:
        super().__init__()
        self.violations = violations

    def request(self, method: str, url: str, headers: Any, post_data: Any = None) -> Any:
        content, status, resp_headers = super().request(method, url, headers, post_data)
        self._check(method, url, status, content, resp_headers)
        return content, status, resp_headers

    def _check(self, method: str, url: str, status: int, content: Any, headers: Any) -> None:
        if SPEC_DIR is None:
            return
        path = urlsplit(url).path
        if path.startswith("/_mock") or path == "/healthz":
            return
        version = headers.get("Stripe-Version") or ACACIA
        validator = validator_for_version(version, path)
        if validator is None:
            return
        try:
            body = json.loads(content)
        except ValueError:
            self.violations.append(f"{method} {path} {status}: body is not JSON")
            return
        try:
            errors = validator.validate(method, path, status, body)
        except UnknownOperation:
            return  # endpoints outside the billing subset (none today)
        self.violations.extend(f"{method} {path} {status} [{version}]: {e}" for e in errors)


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
def schema_violations() -> Iterator[list[str]]:
    """Schema violations seen during the test; any makes the test fail."""
    found: list[str] = []
    yield found
    if found:
        pytest.fail("responses violate the OpenAPI schema:\n" + "\n".join(found[:20]))


def make_client(
    url: str, key: str, violations: list[str], version: str | None = None
) -> stripe.StripeClient:
    """A StripeClient pointed at the emulator for every base address."""
    return stripe.StripeClient(
        key,
        base_addresses={"api": url, "meter_events": url, "files": url, "connect": url},
        max_network_retries=0,
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
