"""Billing thresholds on subscriptions billed by Billing Meters (meter events, not usage
records): the `subscription_threshold` invoice at the right moment, and the period-end invoice
billing only what the threshold invoice did not."""

from __future__ import annotations

from typing import Any

import stripe

from tests.api.billing_helpers import DAY, FEB1, HOUR, JAN1, advance
from tests.api.credit_helpers import clocked, meter, meter_price, send, subscribe

AT = JAN1 + 5 * DAY


def invoices(client: stripe.StripeClient, sub_id: str) -> list[Any]:
    """The subscription's invoices, oldest first."""
    return list(reversed(client.v1.invoices.list({"subscription": sub_id, "limit": 100}).data))


def setup(client: stripe.StripeClient, unit: int = 1, **extra: Any) -> tuple[Any, Any, Any]:
    """(clock at AT, customer, subscription from JAN1) billing `api_calls` at `unit` cents."""
    m = meter(client)
    price = meter_price(client, m.id, unit)
    clk, cus = clocked(client)
    sub = subscribe(client, cus.id, price.id, **extra)
    advance(client, clk.id, AT)
    return clk, cus, sub


def test_amount_gte_invoices_when_reached_and_not_twice(client: stripe.StripeClient) -> None:
    clk, cus, sub = setup(client, billing_thresholds={"amount_gte": 1000})
    send(client, cus.id, 999)
    assert [i.billing_reason for i in invoices(client, sub.id)] == ["subscription_create"]
    send(client, cus.id, 1)
    th = invoices(client, sub.id)[-1]
    assert th.billing_reason == "subscription_threshold"
    assert th.threshold_reason.amount_gte == 1000
    assert (th.created, th.period_start, th.period_end) == (AT, JAN1, AT)
    assert (th.subtotal, th.total, th.status) == (1000, 1000, "paid")
    assert th.lines.data[0].quantity == 1000
    advance(client, clk.id, AT + HOUR)
    send(client, cus.id, 200)
    advance(client, clk.id, FEB1 + 2 * HOUR)
    cycle = invoices(client, sub.id)[-1]
    assert cycle.billing_reason == "subscription_cycle"
    assert (cycle.lines.data[0].quantity, cycle.total) == (200, 200)  # not billed twice


def test_v2_meter_events_trigger_thresholds(client: stripe.StripeClient) -> None:
    _, cus, sub = setup(client, billing_thresholds={"amount_gte": 500})
    client.v2.billing.meter_events.create(
        {"event_name": "api_calls", "payload": {"stripe_customer_id": cus.id, "value": "500"}}
    )
    assert invoices(client, sub.id)[-1].billing_reason == "subscription_threshold"


def test_reset_billing_cycle_anchor(client: stripe.StripeClient) -> None:
    clk, cus, sub = setup(
        client, billing_thresholds={"amount_gte": 1000, "reset_billing_cycle_anchor": True}
    )
    send(client, cus.id, 1000)
    th = invoices(client, sub.id)[-1]
    assert th.billing_reason == "subscription_threshold"
    item = client.v1.subscriptions.retrieve(sub.id)["items"].data[0]
    assert item.current_period_start == AT
    advance(client, clk.id, AT + HOUR)
    send(client, cus.id, 30)
    advance(client, clk.id, FEB1 + 2 * HOUR)
    assert invoices(client, sub.id)[-1].billing_reason == "subscription_threshold"  # no cycle yet
    next_end = item.current_period_end
    advance(client, clk.id, next_end + 2 * HOUR)
    cycle = invoices(client, sub.id)[-1]
    assert (cycle.billing_reason, cycle.period_start, cycle.total) == (
        "subscription_cycle",
        AT,
        30,
    )


def test_item_usage_gte_with_a_meter_price(client: stripe.StripeClient) -> None:
    m = meter(client)
    price = meter_price(client, m.id, 1)
    clk, cus = clocked(client)
    sub = client.v1.subscriptions.create(
        {
            "customer": cus.id,
            "items": [{"price": price.id, "billing_thresholds": {"usage_gte": 100}}],
        }
    )
    advance(client, clk.id, AT)
    send(client, cus.id, 99)
    assert len(invoices(client, sub.id)) == 1
    send(client, cus.id, 1)
    th = invoices(client, sub.id)[-1]
    assert th.threshold_reason.amount_gte is None
    (reason,) = th.threshold_reason.item_reasons
    assert reason.usage_gte == 100 and reason.line_item_ids == [th.lines.data[0].id]


def test_another_customers_usage_does_not_count(client: stripe.StripeClient) -> None:
    _, _, sub = setup(client, billing_thresholds={"amount_gte": 500})
    other = client.v1.customers.create({})
    send(client, other.id, 10_000)
    assert len(invoices(client, sub.id)) == 1


def test_usage_stamped_ahead_counts_when_the_clock_gets_there(
    client: stripe.StripeClient,
) -> None:
    clk, cus, sub = setup(client, billing_thresholds={"amount_gte": 500})
    send(client, cus.id, 600, timestamp=AT + 240)
    assert len(invoices(client, sub.id)) == 1  # stamped 4 minutes ahead of the clock
    advance(client, clk.id, AT + 239)
    assert len(invoices(client, sub.id)) == 1
    advance(client, clk.id, AT + 240)
    th = invoices(client, sub.id)[-1]
    assert (th.billing_reason, th.created, th.total) == ("subscription_threshold", AT + 240, 600)


def test_the_amount_measured_is_net_of_credits(client: stripe.StripeClient) -> None:
    from tests.api.credit_helpers import grant

    _, cus, sub = setup(client, billing_thresholds={"amount_gte": 1000})
    grant(client, cus.id, 300)
    send(client, cus.id, 1299)  # 1,299 - 300 of credits = 999
    assert len(invoices(client, sub.id)) == 1
    send(client, cus.id, 1)  # 1,300 - 300 = 1,000
    th = invoices(client, sub.id)[-1]
    assert th.billing_reason == "subscription_threshold"
    assert (th.subtotal, th.total, th.amount_due) == (1300, 1000, 1000)


def test_a_threshold_invoice_at_an_old_price_is_not_offset_later(
    client: stripe.StripeClient,
) -> None:
    m = meter(client)
    old, new = meter_price(client, m.id, 1), meter_price(client, m.id, 3)
    clk, cus = clocked(client)
    sub = subscribe(client, cus.id, old.id, billing_thresholds={"amount_gte": 1000})
    advance(client, clk.id, AT)
    send(client, cus.id, 1000)  # 10.00 at the old price: threshold invoice
    th = invoices(client, sub.id)[-1]
    assert (th.billing_reason, th.total) == ("subscription_threshold", 1000)
    advance(client, clk.id, AT + HOUR)
    item = sub["items"].data[0].id
    client.v1.subscription_items.update(item, {"price": new.id, "proration_behavior": "none"})
    advance(client, clk.id, AT + 2 * HOUR)
    send(client, cus.id, 100)  # 3.00 at the new price
    advance(client, clk.id, FEB1 + 2 * HOUR)
    cycle = invoices(client, sub.id)[-1]
    assert cycle.billing_reason == "subscription_cycle"
    assert [(ln.pricing.price_details.price, ln.amount) for ln in cycle.lines.data] == [
        (new.id, 300)
    ]  # no line re-billing or offsetting the threshold invoice's usage
