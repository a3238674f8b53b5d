"""Helpers shared by scenarios: unique names, fixtures that clean up after themselves, periods."""

from __future__ import annotations

import uuid
from typing import Any

from ..harness import T

DAY = 86400


def uid() -> str:
    """A short unique suffix (scenarios may share one real Stripe account)."""
    return uuid.uuid4().hex[:12]


def customer(
    t: T, clock: str | None = None, api_version: str | None = None, **params: Any
) -> dict[str, Any]:
    """A customer (deleted after the scenario unless it sits on a test clock)."""
    body: dict[str, Any] = {"email": f"conformance-{uid()}@example.com", **params}
    if clock:
        body["test_clock"] = clock
    cus: dict[str, Any] = t.call("customers.create", params=body, api_version=api_version)
    if not clock:
        t.defer("customers.delete", cus["id"])
    return cus


def product(t: T, name: str = "Conformance product") -> dict[str, Any]:
    """A product."""
    prod: dict[str, Any] = t.call("products.create", params={"name": f"{name} {uid()}"})
    return prod


def licensed_price(t: T, prod: str, amount: int = 1000, interval: str = "month") -> dict[str, Any]:
    """A licensed recurring price."""
    price: dict[str, Any] = t.call(
        "prices.create",
        params={
            "product": prod,
            "currency": "usd",
            "unit_amount": amount,
            "recurring": {"interval": interval},
        },
    )
    return price


def legacy_metered_price(
    t: T, prod: str, amount: int = 7, aggregate_usage: str = "sum", **extra: Any
) -> dict[str, Any]:
    """A legacy metered price (no meter; acacia only)."""
    params: dict[str, Any] = {
        "product": prod,
        "currency": "usd",
        "recurring": {
            "interval": "month",
            "usage_type": "metered",
            "aggregate_usage": aggregate_usage,
        },
        **extra,
    }
    if "tiers" not in extra and "billing_scheme" not in extra:
        params["unit_amount"] = amount
    price: dict[str, Any] = t.call("prices.create", params=params)
    return price


def subscribe(t: T, cus: str, *prices: str, **params: Any) -> dict[str, Any]:
    """A subscription with one item per price (no quantity: metered-safe).

    Invoices are sent (`send_invoice`, due in 30 days) unless the caller says otherwise: at real
    Stripe a `charge_automatically` subscription without a payment method starts `incomplete`.
    """
    body: dict[str, Any] = {
        "customer": cus,
        "items": [{"price": p} for p in prices],
        "collection_method": "send_invoice",
        "days_until_due": 30,
        **params,
    }
    sub: dict[str, Any] = t.call("subscriptions.create", params=body)
    return sub


def period(t: T, sub: dict[str, Any]) -> tuple[int, int]:
    """The current period: on the subscription (acacia) or on its items (basil+: the 2025-03-31
    changelog moved `current_period_*` from the subscription to its items)."""
    item = sub["items"]["data"][0]
    if t.legacy_rendering:
        t.check("current_period_end" not in item, "acacia: no current_period_end on items")
        return int(sub["current_period_start"]), int(sub["current_period_end"])
    t.check("current_period_end" not in sub, "basil+: no current_period_end on the subscription")
    return int(item["current_period_start"]), int(item["current_period_end"])


def clock(t: T, frozen_time: int) -> dict[str, Any]:
    """A test clock, deleted after the scenario (which deletes its customers too)."""
    clk: dict[str, Any] = t.call(
        "test_clocks.create", params={"frozen_time": frozen_time, "name": f"conformance {uid()}"}
    )
    t.defer("test_clocks.delete", clk["id"])
    return clk


def midnight(ts: int) -> int:
    """UTC midnight at or before `ts`."""
    return ts - ts % DAY


def only_item(sub: dict[str, Any]) -> dict[str, Any]:
    """The subscription's single item."""
    items: list[dict[str, Any]] = sub["items"]["data"]
    return items[0]
