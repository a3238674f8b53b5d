"""Subscription lifecycle behaviour seen by a user, pinned where survivors of the third mutation
measurement (issue 15, group A) showed it untested: an anchor reset of a subscription whose stub
was free, a final invoice in the same second as an anchor reset, and a pending update paid after
its decline left no retry."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from stripe_mock_billing.server import ThreadedServer
from tests.api.billing_helpers import (
    DAY,
    FEB1,
    HOUR,
    JAN1,
    advance,
    clocked_sub,
    legacy_metered_price,
    licensed_price,
    report,
    set_account,
)
from tests.api.dunning_helpers import FAILING_CUSTOMER, VISA_CUSTOMER, Events

JAN11 = JAN1 + 10 * DAY
JAN15 = JAN1 + 14 * DAY
JAN20 = JAN1 + 19 * DAY
FEB20 = FEB1 + 19 * DAY


def test_anchor_reset_bills_the_new_period_in_full_after_a_free_stub(
    client: stripe.StripeClient,
) -> None:
    """Created Jan 1 with `billing_cycle_anchor` Jan 15 and `proration_behavior=none`: only the
    stub up to the anchor is free. `billing_cycle_anchor=now` on Jan 20 (no prorations) starts
    a new period Jan 20..Feb 20, billed at the full 10.00."""
    price = licensed_price(client, 1000)
    clk, _, sub = clocked_sub(
        client,
        [price.id],
        billing_cycle_anchor=JAN15,
        proration_behavior="none",
        collection_method="send_invoice",
        days_until_due=30,
    )
    assert client.v1.invoices.retrieve(sub.latest_invoice).amount_due == 0  # the free stub
    advance(client, clk.id, JAN20)
    got = client.v1.subscriptions.update(
        sub.id, {"billing_cycle_anchor": "now", "proration_behavior": "none"}
    )
    inv = client.v1.invoices.retrieve(got.latest_invoice)
    assert inv.billing_reason == "subscription_update"
    assert [(ln.amount, ln.period.start, ln.period.end) for ln in inv.lines.data] == [
        (1000, JAN20, FEB20)
    ]
    assert (inv.subtotal, inv.total, inv.amount_due) == (1000, 1000, 1000)


def test_final_invoice_in_the_anchor_reset_second_has_no_inverted_usage_period(
    acacia: stripe.StripeClient,
) -> None:
    """`billing_cycle_anchor=now` on Jan 11 bills the usage so far (100 x 0.07); cancelling with
    `invoice_now` in the same second leaves no usage to bill: the final invoice is 0.00 and no
    line's period ends before it starts."""
    client = acacia
    price = legacy_metered_price(client, 7)
    clk, _, sub = clocked_sub(client, [price.id], customer=VISA_CUSTOMER)
    item = sub["items"].data[0].id
    advance(client, clk.id, JAN11)
    report(client, item, 100, JAN11 - HOUR)
    reset = client.v1.subscriptions.update(
        sub.id, {"billing_cycle_anchor": "now", "proration_behavior": "none"}
    )
    assert client.v1.invoices.retrieve(reset.latest_invoice).amount_due == 700
    canceled = client.v1.subscriptions.cancel(sub.id, {"invoice_now": True})
    final = client.v1.invoices.retrieve(canceled.latest_invoice)
    assert final.id != reset.latest_invoice
    assert (final.created, final.total, final.amount_due) == (JAN11, 0, 0)
    for line in final.lines.data:
        assert line.period.start <= line.period.end


def _declined_pending_swap(client: stripe.StripeClient) -> tuple[Any, Any]:
    """An active 10.00 subscription (paid Jan 1) whose swap to 30.00 on Jan 11 with
    `always_invoice` and `pending_if_incomplete` is declined: (subscription, update invoice)."""
    a, b = licensed_price(client, 1000), licensed_price(client, 3000)
    clk, cust, sub = clocked_sub(client, [a.id], customer=VISA_CUSTOMER)
    client.v1.customers.update(cust.id, FAILING_CUSTOMER)  # type: ignore[arg-type]
    advance(client, clk.id, JAN11)
    got = client.v1.subscriptions.update(
        sub.id,
        {
            "items": [{"id": sub["items"].data[0].id, "price": b.id}],
            "proration_behavior": "always_invoice",
            "payment_behavior": "pending_if_incomplete",
        },
    )
    assert (got.status, got.pending_update is not None) == ("active", True)
    return got, got.latest_invoice


@pytest.mark.parametrize("after_final", ["unpaid", "cancel"])
def test_a_paid_pending_update_leaves_an_active_subscription_active_with_no_retry_left(
    client: stripe.StripeClient, server: ThreadedServer, api_key: str, after_final: str
) -> None:
    """With no retry configured and `unpaid` (or `cancel`) after the last one, the declined
    update's invoice is paid the same day: the update applies and the subscription, active
    throughout, stays active. Paying an invoice neither cancels a subscription nor makes it
    `unpaid`, not even in passing in the events it sends."""
    set_account(server, api_key, dunning_retry_days=[], dunning_after_final=after_final)
    sub, inv_id = _declined_pending_swap(client)
    ev = Events(client)
    ev.skip()
    client.v1.invoices.pay(inv_id, {"payment_method": "pm_card_visa"})
    done = client.v1.subscriptions.retrieve(sub.id)
    assert (done.status, done.pending_update, done.canceled_at, done.ended_at) == (
        "active",
        None,
        None,
        None,
    )
    assert done["items"].data[0].price.unit_amount == 3000
    updated = [e for e in ev.new() if e.type == "customer.subscription.updated"]
    assert updated  # the update was applied
    assert [e.data.object.status for e in updated] == ["active"] * len(updated)
