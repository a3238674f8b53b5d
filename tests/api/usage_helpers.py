"""Helpers for the legacy usage-record API tests (acacia only: the SDK has no typed methods)."""

from __future__ import annotations

import time
from typing import Any

import stripe

from stripe_mock_billing.handle import StripeMock
from stripe_mock_billing.server import ThreadedServer

DOCS_TAIL = "Please see https://stripe.com/docs or we can help at https://support.stripe.com/."
DAY = 86_400


def metered_price(
    acacia: stripe.StripeClient,
    aggregate_usage: str = "sum",
    *,
    interval: str = "month",
    usage_type: str = "metered",
) -> Any:
    """A legacy metered price (no meter) with `aggregate_usage`."""
    recurring: dict[str, Any] = {"interval": interval, "usage_type": usage_type}
    if usage_type == "metered":
        recurring["aggregate_usage"] = aggregate_usage
    return acacia.v1.prices.create(
        {
            "currency": "usd",
            "unit_amount": 7,
            "product_data": {"name": "API calls"},
            "recurring": recurring,  # type: ignore[typeddict-item]
        }
    )


def subscribe(acacia: stripe.StripeClient, price_id: str, **extra: Any) -> tuple[Any, str]:
    """A new customer subscribed to `price_id`; returns (subscription, its item id)."""
    cust = acacia.v1.customers.create({})
    sub = acacia.v1.subscriptions.create(
        {"customer": cust.id, "items": [{"price": price_id}], **extra}
    )
    return sub, sub["items"].data[0].id


def metered_item(
    acacia: stripe.StripeClient, aggregate_usage: str = "sum", **extra: Any
) -> tuple[Any, str]:
    """A subscription on a fresh legacy metered price; returns (subscription, item id)."""
    price = metered_price(acacia, aggregate_usage, interval=extra.pop("interval", "month"))
    return subscribe(acacia, price.id, **extra)


def report(acacia: stripe.StripeClient, si: str, **params: Any) -> Any:
    """POST a usage record and return it as a StripeObject."""
    resp = acacia.raw_request("post", f"/v1/subscription_items/{si}/usage_records", **params)
    return acacia.deserialize(resp, api_mode="V1")


def summaries(acacia: stripe.StripeClient, si: str, **params: Any) -> Any:
    """GET the usage record summaries list."""
    resp = acacia.raw_request(
        "get", f"/v1/subscription_items/{si}/usage_record_summaries", **params
    )
    return acacia.deserialize(resp, api_mode="V1")


def totals(acacia: stripe.StripeClient, si: str) -> list[int]:
    """`total_usage` of every summary, newest period first."""
    return [s.total_usage for s in summaries(acacia, si, limit=100).data]


def now() -> int:
    """Real time (the emulator's wall clock for accounts without drift)."""
    return int(time.time())


def travel(server: ThreadedServer, api_key: str, seconds: int) -> None:
    """Move an account's wall clock forward: its `clock_offset` drift setting, through the
    control API (`POST /_mock/settings`)."""
    StripeMock.connect(server.url, api_key).advance_wall_clock(seconds)
