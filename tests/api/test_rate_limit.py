"""Rate limiting (wire-format.md §11): off by default, per-account limit -> 429 `rate_limit`."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from stripe_mock_billing.config import Settings
from stripe_mock_billing.server import ThreadedServer
from tests.conftest import err_of, make_client

# --- rate limiting ------------------------------------------------------------------------------


def test_rate_limit_is_off_by_default(client: stripe.StripeClient) -> None:
    for _ in range(40):
        client.v1.customers.list({"limit": 1})


def test_per_account_rate_limit_gives_429(server: Any, api_key: str) -> None:
    store = server.app.extensions["stripe_mock_billing.store"]
    store.namespace(api_key).settings.rate_limit = 3
    c = make_client(server.url, api_key, [])
    for _ in range(3):
        c.v1.customers.list()
    with pytest.raises(stripe.RateLimitError) as exc:
        c.v1.customers.create({"name": "over"})
    assert exc.value.http_status == 429
    e = err_of(exc)
    assert (e["type"], e["code"]) == ("invalid_request_error", "rate_limit")
    assert e["message"] == (
        "Request rate limit exceeded. Learn more about rate limits here "
        "https://stripe.com/docs/rate-limits."
    )
    assert (exc.value.headers or {})["Stripe-Rate-Limited-Reason"] == "global-rate"
    other = make_client(server.url, api_key + "_other", [])
    assert other.v1.customers.list().data == []  # other accounts are not limited
    store.namespace(api_key).settings.rate_limit = 0
    assert c.v1.customers.list().data == []  # the rejected create wrote nothing


def test_rate_limit_from_settings_default() -> None:
    settings = Settings.from_env({}, port=0, rate_limit=2)
    with ThreadedServer(settings) as srv:
        c = make_client(srv.url, "sk_test_rl", [])
        c.v1.customers.list()
        c.v1.customers.list()
        with pytest.raises(stripe.RateLimitError):
            c.v1.customers.list()
