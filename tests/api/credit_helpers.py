"""Helpers shared by the billing credits and alerts API tests."""

from __future__ import annotations

from typing import Any

import stripe

from tests.api.billing_helpers import FEB1, HOUR, JAN1, advance, new_clock


def meter(client: stripe.StripeClient, name: str = "api_calls") -> Any:
    """A `sum` meter with `event_name=name`."""
    return client.v1.billing.meters.create(
        {"display_name": name, "event_name": name, "default_aggregation": {"formula": "sum"}}
    )


def meter_price(client: stripe.StripeClient, meter_id: str, unit: int = 10) -> Any:
    """A monthly USD price billing the meter's aggregate at `unit` cents."""
    return client.v1.prices.create(
        {
            "currency": "usd",
            "unit_amount": unit,
            "recurring": {"interval": "month", "usage_type": "metered", "meter": meter_id},
            "product_data": {"name": "API calls"},
        }
    )


def grant(client: stripe.StripeClient, customer: str, value: int = 1000, **extra: Any) -> Any:
    """A USD grant for every metered price (unless `applicability_config` is given)."""
    params: dict[str, Any] = {
        "customer": customer,
        "amount": {"type": "monetary", "monetary": {"currency": "usd", "value": value}},
        "applicability_config": {"scope": {"price_type": "metered"}},
        "category": "paid",
        **extra,
    }
    return client.v1.billing.credit_grants.create(params)  # type: ignore[arg-type]


def send(
    client: stripe.StripeClient, customer: str, value: int, name: str = "api_calls", **kw: Any
) -> Any:
    """A v1 meter event for `customer`."""
    params: dict[str, Any] = {
        "event_name": name,
        "payload": {"stripe_customer_id": customer, "value": str(value)},
        **kw,
    }
    return client.v1.billing.meter_events.create(params)  # type: ignore[arg-type]


def clocked(client: stripe.StripeClient, at: int = JAN1) -> tuple[Any, Any]:
    """(clock, customer on it)."""
    clk = new_clock(client, at)
    return clk, client.v1.customers.create({"test_clock": clk.id})


def subscribe(client: stripe.StripeClient, customer: str, *prices: str, **extra: Any) -> Any:
    """A subscription of `customer` to `prices`."""
    items = [{"price": p} for p in prices]
    return client.v1.subscriptions.create(
        {"customer": customer, "items": items, **extra}  # type: ignore[typeddict-item]
    )


def balance(client: stripe.StripeClient, customer: str) -> tuple[int, int]:
    """(available, ledger) USD balance of the customer's metered-scope credits."""
    summary = client.v1.billing.credit_balance_summary.retrieve(
        {
            "customer": customer,
            "filter": {
                "type": "applicability_scope",
                "applicability_scope": {"price_type": "metered"},
            },
        }
    )
    if not summary.balances:
        return 0, 0
    (b,) = summary.balances
    return b.available_balance.monetary.value, b.ledger_balance.monetary.value


def ledger(client: stripe.StripeClient, customer: str, **extra: Any) -> list[tuple[str, int]]:
    """The customer's ledger, oldest first, as (sub-type, signed amount)."""
    txns = client.v1.billing.credit_balance_transactions.list(
        {"customer": customer, "limit": 100, **extra}  # type: ignore[typeddict-item]
    )
    out = []
    for t in reversed(txns.data):
        detail = t.credit if t.type == "credit" else t.debit
        sign = 1 if t.type == "credit" else -1
        out.append((detail.type, sign * detail.amount.monetary.value))
    return out


def past_due_threshold_subscription(client: stripe.StripeClient) -> tuple[Any, Any, Any]:
    """(clock, customer, subscription) at FEB1 + 2 h: a 5000 seats price and a 1-cent meter
    price with `billing_thresholds[amount_gte]=1000`, `past_due` after its renewal's charge
    failed (created at JAN1 and paid with `pm_card_visa`, then `pm_card_chargeCustomerFail`)."""
    seats = client.v1.prices.create(
        {
            "currency": "usd",
            "unit_amount": 5000,
            "recurring": {"interval": "month"},
            "product_data": {"name": "Seats"},
        }
    )
    calls = meter_price(client, meter(client).id, 1)
    clk, cus = clocked(client)
    client.v1.customers.update(
        cus.id, {"invoice_settings": {"default_payment_method": "pm_card_visa"}}
    )
    sub = subscribe(client, cus.id, seats.id, calls.id, billing_thresholds={"amount_gte": 1000})
    client.v1.customers.update(
        cus.id, {"invoice_settings": {"default_payment_method": "pm_card_chargeCustomerFail"}}
    )
    advance(client, clk.id, FEB1 + 2 * HOUR)  # the renewal's charge fails
    assert client.v1.subscriptions.retrieve(sub.id).status == "past_due"
    return clk, cus, sub
