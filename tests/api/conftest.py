"""Fixtures and helpers shared by the API tests (the session server and clients are in
tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
import stripe

from stripe_mock_billing.handle import ControlError, StripeMock
from stripe_mock_billing.server import ThreadedServer
from tests.conftest import err_of


@pytest.fixture
def mock(server: ThreadedServer, api_key: str) -> StripeMock:
    """The control handle of the test's account, over HTTP (as in external mode)."""
    return StripeMock.connect(server.url, api_key)


@pytest.fixture
def cus(client: stripe.StripeClient) -> str:
    """A fresh customer of the test's account."""
    return str(client.v1.customers.create({}).id)


def raw_http(server: ThreadedServer, method: str, path: str, key: str | None, **kw: Any) -> Any:
    """A plain `requests` call to the server, authenticated with `key` when given. Not checked
    against the schema: the tests use it for the control API (`/_mock/*`, emulator-only) and
    URLs Stripe's OpenAPI does not have."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    headers.update(kw.pop("headers", {}))
    # not validated here: see the docstring (callers validate API responses they make with it)
    return requests.request(method, server.url + path, headers=headers, timeout=10, **kw)


def control_error(exc: pytest.ExceptionInfo[ControlError]) -> dict[str, Any]:
    """The error object of a failed control-API call."""
    return exc.value.error


def invalid_request(
    exc: pytest.ExceptionInfo[stripe.StripeError], status: int = 400
) -> dict[str, object]:
    """The error of an `invalid_request_error` with HTTP `status`."""
    assert exc.value.http_status == status
    e = err_of(exc)
    assert e["type"] == "invalid_request_error"
    return e


@pytest.fixture
def loop_srv() -> Iterator[Any]:
    """The CLI's event-loop server (loop_server.LoopServer) on a free port, with a fresh app."""
    from tests.api.hardening_helpers import start_loop

    srv, thread = start_loop()
    yield srv
    srv.shutdown()
    thread.join(timeout=5)
