"""Billing thresholds pinned while reviewing the surviving mutants of billing/thresholds.py (issue
15; usage-records-legacy.md §9, billing-alerts.md §6): which subscriptions are measured (active and
past_due, not trialing), what the amount counts (metered usage only, net of credits that have not
expired yet), and which request the threshold invoice's events name. A price at 1 cent a unit with
`amount_gte` 1000: 1,000 units reach the threshold. Clocks start at JAN1; usage comes on day 5."""

from __future__ import annotations

from typing import Any

import stripe

from tests.api.billing_helpers import DAY, HOUR, JAN1, advance, legacy_metered_price
from tests.api.credit_helpers import (
    clocked,
    grant,
    meter,
    meter_price,
    past_due_threshold_subscription,
    send,
    subscribe,
)

AT = JAN1 + 5 * DAY


def _reasons(client: stripe.StripeClient, sub_id: str) -> list[str]:
    got = client.v1.invoices.list({"subscription": sub_id, "limit": 100}).data
    return [i.billing_reason for i in reversed(got)]


def _latest(client: stripe.StripeClient, sub_id: str) -> Any:
    return client.v1.invoices.retrieve(client.v1.subscriptions.retrieve(sub_id).latest_invoice)


def test_a_past_due_subscription_still_invoices_at_its_threshold(
    client: stripe.StripeClient,
) -> None:
    """A past_due subscription (failed renewal) gets a threshold invoice at amount_gte."""
    _clk, cus, sub = past_due_threshold_subscription(client)
    send(client, cus.id, 999)
    assert _reasons(client, sub.id) == ["subscription_create", "subscription_cycle"]
    send(client, cus.id, 1)
    assert _reasons(client, sub.id)[-1] == "subscription_threshold"
    th = _latest(client, sub.id)
    assert (th.total, th.threshold_reason.amount_gte) == (1000, 1000)


def test_usage_records_during_a_trial_make_no_threshold_invoice(
    acacia: stripe.StripeClient,
) -> None:
    """Thresholds are not evaluated on a trialing subscription, even past amount_gte."""
    price = legacy_metered_price(acacia, 1)
    clk, cus = clocked(acacia)
    sub = subscribe(
        acacia, cus.id, price.id, trial_period_days=14, billing_thresholds={"amount_gte": 1000}
    )
    advance(acacia, clk.id, AT)
    si = sub["items"].data[0].id
    acacia.raw_request(
        "post", f"/v1/subscription_items/{si}/usage_records", quantity=5000, timestamp=AT
    )
    assert acacia.v1.subscriptions.retrieve(sub.id).status == "trialing"
    assert _reasons(acacia, sub.id) == ["subscription_create"]


def test_a_licensed_items_flat_fee_does_not_count_toward_amount_gte(
    client: stripe.StripeClient,
) -> None:
    """amount_gte measures metered usage: a licensed volume price's flat fee is not in it."""
    support = client.v1.prices.create(
        {
            "currency": "usd",
            "recurring": {"interval": "month"},
            "billing_scheme": "tiered",
            "tiers_mode": "volume",
            "tiers": [
                {"up_to": 5, "unit_amount": 100, "flat_amount": 500},
                {"up_to": "inf", "unit_amount": 80},
            ],
            "product_data": {"name": "Support"},
        }
    )
    calls = meter_price(client, meter(client).id, 1)
    clk, cus = clocked(client)
    sub = subscribe(client, cus.id, support.id, calls.id, billing_thresholds={"amount_gte": 1000})
    assert client.v1.invoices.retrieve(sub.latest_invoice).total == 600  # 500 flat + 1 x 100
    advance(client, clk.id, AT)
    send(client, cus.id, 999)
    assert _reasons(client, sub.id) == ["subscription_create"]
    send(client, cus.id, 1)
    th = _latest(client, sub.id)
    assert (th.billing_reason, th.total) == ("subscription_threshold", 1000)


def test_a_grant_that_expires_later_still_nets_the_amount(client: stripe.StripeClient) -> None:
    """Credits of a grant whose expires_at is still ahead are deducted from the measured amount."""
    calls = meter_price(client, meter(client).id, 1)
    clk, cus = clocked(client)
    sub = subscribe(client, cus.id, calls.id, billing_thresholds={"amount_gte": 1000})
    advance(client, clk.id, AT)
    grant(client, cus.id, 300, expires_at=AT + HOUR)
    send(client, cus.id, 1299)  # 1,299 - 300 of credits = 999
    assert _reasons(client, sub.id) == ["subscription_create"]
    send(client, cus.id, 1)  # 1,300 - 300 = 1,000
    th = _latest(client, sub.id)
    assert th.billing_reason == "subscription_threshold"
    assert (th.subtotal, th.total, th.amount_due) == (1300, 1000, 1000)


def test_the_threshold_invoice_events_name_the_usage_request(
    acacia: stripe.StripeClient,
) -> None:
    """invoice.created and invoice.finalized of a threshold invoice name the request causing it."""
    price = legacy_metered_price(acacia, 1)
    clk, cus = clocked(acacia)
    sub = subscribe(acacia, cus.id, price.id, billing_thresholds={"amount_gte": 1000})
    advance(acacia, clk.id, AT)
    si = sub["items"].data[0].id
    resp = acacia.raw_request(
        "post", f"/v1/subscription_items/{si}/usage_records", quantity=1000, timestamp=AT
    )
    th = _latest(acacia, sub.id)
    assert th.billing_reason == "subscription_threshold"
    for kind in ("invoice.created", "invoice.finalized"):
        (event,) = [
            e for e in acacia.v1.events.list({"type": kind}).data if e.data.object.id == th.id
        ]
        assert event.request.id == resp.request_id
