"""pytest plugin (entry point `pytest11: stripe_mock_billing`): fixtures only, lazy imports.

Fixtures:
- `stripe_mock`: a `StripeMock` handle on a fresh account (unique `sk_test_` key) with `.url`,
  `.api_key`, `.reset()`, clock helpers, `.journal()`, faults, settings and snapshots. The
  account is forgotten after the test (its memory is freed).
- `stripe_client`: a `stripe.StripeClient` for that account, all four base addresses at the
  emulator, `max_network_retries=0`; `*_async` methods work too.
- `stripe_test_clock`: a factory `make(frozen_time=None, **customer_params)` returning a
  `ClockedCustomer` (a test clock with a customer on it, `.advance(to=|by=)`).
- `stripe_mock_app_settings` (session): the `Settings` of the session's app; override it in a
  conftest.py to change defaults (in-process and server modes).
- `stripe_mock_backend` (session): the app / server / URL shared by the session.
- `stripe_webhooks`: a webhook receiver registered as an endpoint (`*`) of the test's account,
  verifying every delivery with the official SDK: `.events(type)`, `.wait_for(type)`,
  `.clear()`, `.respond_with(status)` (webhook_receiver.py; docs/webhooks.md).

Modes, from `--stripe-mock-mode`, else env `STRIPE_MOCK_BILLING_MODE`, else ini
`stripe_mock_mode`, else `external` when `STRIPE_MOCK_BILLING_URL` (or `--stripe-mock-url` /
ini `stripe_mock_url`) is set, else `inprocess`:
- `inprocess`: one app per session (per xdist worker); during each test using `stripe_mock`,
  requests/httpx traffic to Stripe's hosts and to `http://stripe-mock-billing.invalid` is
  routed to it (inprocess.mock_stripe), so code under test that uses Stripe's default URLs is
  served by the emulator too.
- `server`: one ThreadedServer per session (per xdist worker) on a free loopback port.
- `external`: a running emulator (e.g. the Docker image) at the configured URL; xdist workers
  share it safely because every test has its own key.

Marker `@pytest.mark.stripe_mock(**account_settings)` applies account settings (e.g.
`rate_limit=25`, `clock_offset=-30`, `webhook_delivery="background"`) to the test's account
before it runs; `@pytest.mark.stripe_webhook_fault(kind, times=1, type=None, endpoint=None)`
arms a webhook delivery fault.

In-process and server modes fail a test whose requests made the emulator raise unexpectedly.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

MODES = ("inprocess", "server", "external")
MODE_ENV = "STRIPE_MOCK_BILLING_MODE"
URL_ENV = "STRIPE_MOCK_BILLING_URL"


def pytest_addoption(parser: pytest.Parser) -> None:
    """`--stripe-mock-mode`, `--stripe-mock-url` and their ini equivalents."""
    group = parser.getgroup("stripe-mock-billing", "stripe-mock-billing emulator")
    group.addoption(
        "--stripe-mock-mode",
        dest="stripe_mock_mode",
        default=None,
        help=f"how tests reach the emulator: {', '.join(MODES)} (default inprocess; "
        f"env {MODE_ENV})",
    )
    group.addoption(
        "--stripe-mock-url",
        dest="stripe_mock_url",
        default=None,
        help=f"base URL of a running emulator for external mode (env {URL_ENV})",
    )
    parser.addini("stripe_mock_mode", "stripe-mock-billing mode: " + ", ".join(MODES))
    parser.addini("stripe_mock_url", "base URL of a running emulator (external mode)")


def pytest_configure(config: pytest.Config) -> None:
    """Register the `stripe_mock` marker."""
    config.addinivalue_line(
        "markers",
        "stripe_mock(**account_settings): account settings (rate_limit, clock_offset, "
        "summary_lag, ...) for the test's emulator account",
    )
    config.addinivalue_line(
        "markers",
        "stripe_webhook_fault(kind, times=1, type=None, endpoint=None, delay_ms=None): the "
        "next webhook deliveries of the test's account are duplicated, reordered, delayed, "
        "failed or dropped",
    )


def _url(config: pytest.Config) -> str | None:
    url = config.getoption("stripe_mock_url") or os.environ.get(URL_ENV)
    return url or (str(config.getini("stripe_mock_url")) or None)


def resolve_mode(config: pytest.Config) -> str:
    """The configured mode (option > env > ini > external if a URL is set > inprocess)."""
    mode = (
        config.getoption("stripe_mock_mode")
        or os.environ.get(MODE_ENV)
        or str(config.getini("stripe_mock_mode") or "")
        or ("external" if _url(config) else "inprocess")
    )
    if mode not in MODES:
        raise pytest.UsageError(
            f"stripe-mock-billing: unknown mode {mode!r}; choose one of {', '.join(MODES)}"
        )
    return mode


def pytest_report_header(config: pytest.Config) -> str | None:
    """One header line naming the mode, when it is not the default."""
    mode = resolve_mode(config)
    if mode == "inprocess":
        return None
    return f"stripe-mock-billing: {mode}" + (f" at {_url(config)}" if mode == "external" else "")


@dataclass
class Backend:
    """What a session's tests talk to: an app (in-process / server) or an external URL."""

    mode: str
    url: str
    app: Any = None
    server: Any = None
    extras: dict[str, Any] = field(default_factory=dict)


@pytest.fixture(scope="session")
def stripe_mock_app_settings() -> Any:
    """Settings of the session's app (in-process and server modes); override to customize."""
    from stripe_mock_billing.config import Settings

    # each test deletes its own account: no idle-account eviction under a long test
    return Settings.from_env(propagate_exceptions=True, account_idle_ttl=0, max_accounts=0)


def _check_external(url: str) -> None:
    import json
    import urllib.request

    try:
        with urllib.request.urlopen(url.rstrip("/") + "/healthz", timeout=10) as resp:
            json.loads(resp.read())
    except Exception as exc:
        raise pytest.UsageError(
            f"stripe-mock-billing: no emulator answering at {url} ({exc})"
        ) from exc


@pytest.fixture(scope="session")
def stripe_mock_backend(
    pytestconfig: pytest.Config, stripe_mock_app_settings: Any
) -> Iterator[Backend]:
    """The session's emulator: one app (in-process), one thread server, or an external URL."""
    mode = resolve_mode(pytestconfig)
    if mode == "external":
        url = _url(pytestconfig)
        if not url:
            raise pytest.UsageError(
                f"stripe-mock-billing: external mode needs {URL_ENV} or --stripe-mock-url"
            )
        _check_external(url)
        yield Backend(mode=mode, url=url.rstrip("/"))
        return
    from stripe_mock_billing.app import create_app

    app = create_app(stripe_mock_app_settings)
    if mode == "inprocess":
        from stripe_mock_billing.inprocess import INPROCESS_URL

        yield Backend(mode=mode, url=INPROCESS_URL, app=app)
        return
    from stripe_mock_billing.server import ThreadedServer

    with ThreadedServer(app=app) as srv:
        yield Backend(mode=mode, url=srv.url, app=app, server=srv)


@pytest.fixture
def stripe_mock(request: pytest.FixtureRequest, stripe_mock_backend: Backend) -> Iterator[Any]:
    """A fresh emulator account (unique key) with control helpers; see StripeMock."""
    from stripe_mock_billing.handle import StripeMock, new_api_key

    backend = stripe_mock_backend
    handle = StripeMock(url=backend.url, api_key=new_api_key(), mode=backend.mode, app=backend.app)
    errors: list[BaseException] = (
        backend.app.extensions["stripe_mock_billing.errors"] if backend.app is not None else []
    )
    seen = len(errors)
    mock = None
    if backend.mode == "inprocess":
        from stripe_mock_billing.inprocess import mock_stripe

        mock = mock_stripe(backend.app).start()
    caller = mock.caller if mock is not None else None
    try:
        marker = request.node.get_closest_marker("stripe_mock")
        if marker is not None and marker.kwargs:
            handle.update_settings(**marker.kwargs)
        for fault in request.node.iter_markers("stripe_webhook_fault"):
            handle.webhook_fault(*fault.args, **fault.kwargs)
        yield handle
    finally:
        handle.unmount_webhook_apps()
        if mock is not None:
            mock.stop()
        if backend.app is not None:
            backend.app.extensions["stripe_mock_billing.store"].reset(handle.api_key)
        else:
            with contextlib.suppress(Exception):  # the server went away: nothing to free
                handle.reset()
    raised = caller.raised if caller is not None else set()
    fresh = [e for e in errors[seen:] if id(e) not in raised]
    if fresh:
        pytest.fail(
            f"stripe-mock-billing raised {type(fresh[0]).__name__}: {fresh[0]} "
            "(the client got a 500 api_error); see the log for the traceback",
            pytrace=False,
        )


@pytest.fixture
def stripe_client(stripe_mock: Any) -> Any:
    """A StripeClient for the test's account (max_network_retries=0, all base addresses)."""
    return stripe_mock.client()


@pytest.fixture
def stripe_test_clock(stripe_mock: Any, stripe_client: Any) -> Callable[..., Any]:
    """Factory: `stripe_test_clock(frozen_time=None, **customer)` -> ClockedCustomer."""
    from stripe_mock_billing.handle import ClockedCustomer

    def make(frozen_time: int | None = None, **customer: Any) -> Any:
        start = frozen_time if frozen_time is not None else stripe_mock.now()
        return ClockedCustomer.create(stripe_client, start, **customer)

    return make


@pytest.fixture
def stripe_webhooks(stripe_mock: Any, stripe_mock_backend: Backend) -> Iterator[Any]:
    """A webhook receiver registered as an endpoint (`*`) of the test's account; every
    delivery is verified with the official SDK (see webhook_receiver.WebhookReceiver)."""
    from stripe_mock_billing.webhook_receiver import WebhookReceiver

    def synchronous() -> bool:
        return bool(stripe_mock.settings["webhook_delivery"] == "synchronous")

    receiver = WebhookReceiver(synchronous=synchronous)
    app = stripe_mock_backend.app
    local = None
    if stripe_mock_backend.mode == "inprocess" and app is not None:
        from stripe_mock_billing.control_webhooks import dispatcher
        from stripe_mock_billing.ids import random_tail

        local = f"http://stripe-webhooks-{random_tail(10).lower()}.localhost/webhooks"
        dispatcher(app).local_receivers[local] = receiver.wsgi
        url = local
    else:
        url = receiver.serve()
    endpoint = stripe_mock.client().v1.webhook_endpoints.create(
        {"url": url, "enabled_events": ["*"], "description": "stripe_webhooks fixture"}
    )
    receiver.secret = endpoint.secret
    receiver.endpoint = endpoint
    receiver.url = url
    try:
        yield receiver
    finally:
        receiver.close()
        if local is not None:
            dispatcher(app).local_receivers.pop(local, None)
    if receiver.errors:
        pytest.fail(
            "stripe_webhooks: deliveries failed signature verification: " + receiver.errors[0],
            pytrace=False,
        )
