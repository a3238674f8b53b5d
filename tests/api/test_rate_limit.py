"""Rate limiting (wire-format.md §11): off by default, per-account limit -> 429 `rate_limit`."""

from __future__ import annotations

import time

import pytest
import stripe

from stripe_mock_billing.config import Settings
from stripe_mock_billing.handle import StripeMock
from stripe_mock_billing.server import ThreadedServer
from tests.conftest import err_of, make_client

# Stripe's documented global limits (wire-format.md §11): 100 requests per second per account
# in live mode, 25 in test mode. A burst over the larger one inside one second must all pass.
LIVE_LIMIT = 100
RATE_LIMITED = (
    "Request rate limit exceeded. Learn more about rate limits here "
    "https://stripe.com/docs/rate-limits."
)


def assert_rate_limited(exc: pytest.ExceptionInfo[stripe.RateLimitError]) -> None:
    """A 429 in Stripe's shape: `rate_limit`, no param, the global-rate reason header."""
    assert exc.value.http_status == 429
    e = err_of(exc)
    assert (e["type"], e["code"], e.get("param")) == ("invalid_request_error", "rate_limit", None)
    assert e["message"] == RATE_LIMITED
    assert (exc.value.headers or {})["Stripe-Rate-Limited-Reason"] == "global-rate"


def test_rate_limit_is_off_by_default(client: stripe.StripeClient, mock: StripeMock) -> None:
    assert mock.settings["rate_limit"] == 0
    burst = LIVE_LIMIT + 1
    for _attempt in range(10):  # a stalled machine may stretch a burst past one second
        started = time.monotonic()
        answered = [
            client.v1.customers.list({"limit": 1}).last_response.code  # type: ignore[union-attr]
            for _ in range(burst)
        ]
        took = time.monotonic() - started
        assert answered == [200] * burst  # a 429 would have raised RateLimitError
        if took < 1.0:
            return  # `burst` requests inside one second, none limited
    pytest.fail(f"could not send {burst} requests within one second (last burst: {took:.2f} s)")


def test_per_account_rate_limit_gives_429(
    server: ThreadedServer, api_key: str, mock: StripeMock, schema_violations: list[str]
) -> None:
    mock.update_settings(rate_limit=3)
    c = make_client(server.url, api_key, schema_violations)
    for _ in range(3):
        c.v1.customers.list()
    with pytest.raises(stripe.RateLimitError) as exc:
        c.v1.customers.create({"name": "over"})
    assert_rate_limited(exc)
    other = make_client(server.url, api_key + "_other", schema_violations)
    assert other.v1.customers.list().data == []  # other accounts are not limited
    mock.update_settings(rate_limit=0)
    assert c.v1.customers.list().data == []  # the rejected create wrote nothing


def test_the_limit_counts_the_last_second(client: stripe.StripeClient, mock: StripeMock) -> None:
    mock.update_settings(rate_limit=2)
    client.v1.customers.list()
    client.v1.customers.list()
    with pytest.raises(stripe.RateLimitError) as exc:
        client.v1.customers.list()
    assert_rate_limited(exc)
    time.sleep(1.1)  # the first two requests leave the one-second window
    assert client.v1.customers.list().data == []


def test_rate_limit_from_settings_default(schema_violations: list[str]) -> None:
    settings = Settings.from_env({}, port=0, rate_limit=2)
    with ThreadedServer(settings) as srv:
        c = make_client(srv.url, "sk_test_rl", schema_violations)
        c.v1.customers.list()
        c.v1.customers.list()
        with pytest.raises(stripe.RateLimitError) as exc:
            c.v1.customers.list()
        assert_rate_limited(exc)
        assert StripeMock.connect(srv.url, "sk_test_rl").settings["rate_limit"] == 2
