"""Helpers for the billing engine API tests: clocks, prices, subscriptions, account settings."""

from __future__ import annotations

from typing import Any

import requests
import stripe

from stripe_mock_billing.server import ThreadedServer

DAY = 86_400
HOUR = 3_600
JAN1 = 1_767_225_600  # 2026-01-01T00:00:00Z
FEB1 = 1_769_904_000  # 2026-02-01T00:00:00Z
MAR1 = 1_772_323_200  # 2026-03-01T00:00:00Z
APR1 = 1_775_001_600  # 2026-04-01T00:00:00Z


def set_account(server: ThreadedServer, api_key: str, **values: Any) -> None:
    """Change account settings through the control API (`POST /_mock/settings`)."""
    resp = requests.post(  # emulator-only, no schema
        f"{server.url}/_mock/settings",
        json=values,
        headers={"Authorization": f"Bearer {api_key}"},
        timeout=10,
    )
    resp.raise_for_status()


def new_clock(client: stripe.StripeClient, at: int = JAN1) -> Any:
    """A test clock frozen at `at`."""
    return client.v1.test_helpers.test_clocks.create({"frozen_time": at})


def advance(client: stripe.StripeClient, clock_id: str, to: int) -> Any:
    """Advance a clock (the emulator applies every effect before answering)."""
    return client.v1.test_helpers.test_clocks.advance(clock_id, {"frozen_time": to})


def licensed_price(
    client: stripe.StripeClient, amount: int = 5000, interval: str = "month", name: str = "Pro"
) -> Any:
    """A licensed recurring USD price."""
    return client.v1.prices.create(
        {
            "currency": "usd",
            "unit_amount": amount,
            "recurring": {"interval": interval},  # type: ignore[typeddict-item]
            "product_data": {"name": name},
        }
    )


def legacy_metered_price(acacia: stripe.StripeClient, unit: int = 7, agg: str = "sum") -> Any:
    """A legacy metered price (usage records, acacia)."""
    return acacia.v1.prices.create(
        {
            "currency": "usd",
            "unit_amount": unit,
            "recurring": {  # type: ignore[typeddict-item]
                "interval": "month",
                "usage_type": "metered",
                "aggregate_usage": agg,
            },
            "product_data": {"name": "API calls"},
        }
    )


def clocked_sub(
    client: stripe.StripeClient,
    prices: list[str],
    *,
    at: int = JAN1,
    customer: dict[str, Any] | None = None,
    **extra: Any,
) -> tuple[Any, Any, Any]:
    """(clock, customer, subscription) with the given prices, created at `at`."""
    clk = new_clock(client, at)
    cust = client.v1.customers.create({"test_clock": clk.id, **(customer or {})})
    sub = client.v1.subscriptions.create(
        {"customer": cust.id, "items": [{"price": p} for p in prices], **extra}
    )
    return clk, cust, sub


def report(acacia: stripe.StripeClient, si: str, quantity: int, timestamp: int) -> Any:
    """Record legacy usage (raw request: the SDK has no usage-record methods)."""
    resp = acacia.raw_request(
        "post",
        f"/v1/subscription_items/{si}/usage_records",
        quantity=quantity,
        timestamp=timestamp,
    )
    return acacia.deserialize(resp, api_mode="V1")


def invoices_of(client: stripe.StripeClient, sub_id: str) -> list[Any]:
    """The subscription's invoices, oldest first."""
    got = client.v1.invoices.list({"subscription": sub_id, "limit": 100})
    return list(reversed(got.data))


def metered_line(inv: Any) -> Any:
    """The metered (usage) line of an acacia invoice."""
    return next(ln for ln in inv.lines.data if ln.price.recurring.usage_type == "metered")


def err_tuple(exc: Any) -> tuple[object, ...]:
    """(HTTP status, type, code, param, message) of a raised SDK error."""
    e = dict((exc.value.json_body or {}).get("error") or {})
    return (exc.value.http_status, e["type"], e.get("code"), e.get("param"), e["message"])
