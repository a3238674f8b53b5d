"""When billing thresholds are evaluated (usage-records-legacy.md §9, "Rules (documented)"): not
in the 24 hours before the subscription ends (`cancel_at`, `cancel_at_period_end`), both sides of
that day, and not during a trial. A meter price at 1 cent a unit with `amount_gte` 1000: 1,000
units reach the threshold. Clocks start at JAN1; the usage is sent on day 5 (AT)."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from tests.api.billing_helpers import DAY, FEB1, JAN1, advance
from tests.api.credit_helpers import clocked, meter, meter_price, send, subscribe

AT = JAN1 + 5 * DAY


def _reasons(client: stripe.StripeClient, sub_id: str) -> list[str]:
    got = client.v1.invoices.list({"subscription": sub_id, "limit": 100}).data
    return [i.billing_reason for i in reversed(got)]


def _threshold_sub(client: stripe.StripeClient, **extra: Any) -> tuple[Any, Any, Any]:
    price = meter_price(client, meter(client).id, 1)
    clk, cus = clocked(client)
    sub = subscribe(client, cus.id, price.id, billing_thresholds={"amount_gte": 1000}, **extra)
    return clk, cus, sub


@pytest.mark.parametrize(
    ("ends_in", "invoiced"),
    [(86_400, False), (86_401, True)],  # exactly 24 h before the end is inside the quiet day
)
def test_no_threshold_in_the_24_hours_before_cancel_at(
    client: stripe.StripeClient, ends_in: int, invoiced: bool
) -> None:
    clk, cus, sub = _threshold_sub(client)
    advance(client, clk.id, AT)
    client.v1.subscriptions.update(sub.id, {"cancel_at": AT + ends_in})
    send(client, cus.id, 1000)
    threshold = ["subscription_threshold"] if invoiced else []
    assert _reasons(client, sub.id) == ["subscription_create", *threshold]


@pytest.mark.parametrize(("before_end", "invoiced"), [(86_400, False), (86_401, True)])
def test_no_threshold_in_the_24_hours_before_the_period_end_when_canceling_then(
    client: stripe.StripeClient, before_end: int, invoiced: bool
) -> None:
    clk, cus, sub = _threshold_sub(client)
    client.v1.subscriptions.update(sub.id, {"cancel_at_period_end": True})
    advance(client, clk.id, FEB1 - before_end)
    send(client, cus.id, 1000, timestamp=FEB1 - before_end)
    threshold = ["subscription_threshold"] if invoiced else []
    assert _reasons(client, sub.id) == ["subscription_create", *threshold]


def test_no_threshold_during_a_trial(client: stripe.StripeClient) -> None:
    clk, cus, sub = _threshold_sub(client, trial_period_days=14)
    advance(client, clk.id, AT)
    send(client, cus.id, 5000)
    assert _reasons(client, sub.id) == ["subscription_create"]


def test_amount_gte_sums_every_metered_item(client: stripe.StripeClient) -> None:
    m1, m2 = meter(client, "calls_a"), meter(client, "calls_b")
    p1, p2 = meter_price(client, m1.id, 1), meter_price(client, m2.id, 1)
    clk, cus = clocked(client)
    sub = subscribe(client, cus.id, p1.id, p2.id, billing_thresholds={"amount_gte": 1000})
    advance(client, clk.id, AT)
    send(client, cus.id, 600, name="calls_a")
    send(client, cus.id, 400, name="calls_b")  # 6.00 + 4.00 = 10.00
    th = client.v1.invoices.retrieve(client.v1.subscriptions.retrieve(sub.id).latest_invoice)
    assert (th.billing_reason, th.total) == ("subscription_threshold", 1000)


def test_reset_anchor_bills_the_licensed_items_for_the_new_period(
    client: stripe.StripeClient,
) -> None:
    seats = client.v1.prices.create(
        {
            "currency": "usd",
            "unit_amount": 3000,
            "recurring": {"interval": "month"},
            "product_data": {"name": "Seats"},
        }
    )
    metered = meter_price(client, meter(client).id, 1)
    clk, cus = clocked(client)
    sub = subscribe(
        client,
        cus.id,
        seats.id,
        metered.id,
        billing_thresholds={"amount_gte": 1000, "reset_billing_cycle_anchor": True},
    )
    advance(client, clk.id, AT)
    send(client, cus.id, 1000)
    th = client.v1.invoices.retrieve(client.v1.subscriptions.retrieve(sub.id).latest_invoice)
    assert th.billing_reason == "subscription_threshold"
    feb6 = FEB1 + 5 * DAY  # one month after the threshold on 2026-01-06
    lines = sorted((ln.amount, ln.period.start, ln.period.end) for ln in th.lines.data)
    assert lines == [(1000, JAN1, AT), (3000, AT, feb6)]
    assert (th.subtotal, th.total, th.amount_due) == (4000, 4000, 4000)
    item = client.v1.subscriptions.retrieve(sub.id)["items"].data[0]
    assert (item.current_period_start, item.current_period_end) == (AT, feb6)


def test_usage_gte_alone_with_credits_held_waits_for_the_usage(
    client: stripe.StripeClient,
) -> None:
    from tests.api.credit_helpers import grant

    price = meter_price(client, meter(client).id, 1)
    clk, cus = clocked(client)
    sub = client.v1.subscriptions.create(
        {
            "customer": cus.id,
            "items": [{"price": price.id, "billing_thresholds": {"usage_gte": 100}}],
        }
    )
    advance(client, clk.id, AT)
    grant(client, cus.id, 500)
    send(client, cus.id, 99)
    assert _reasons(client, sub.id) == ["subscription_create"]
    send(client, cus.id, 1)
    assert _reasons(client, sub.id) == ["subscription_create", "subscription_threshold"]
