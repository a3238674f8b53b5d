"""Billing engine behaviour seen by a user, pinned where the mutation review of engine.py,
preview.py, alerts.py, clock_tx.py, manual_invoices.py, pending_updates.py, state.py and
usage_watch.py found it untested: pending updates (`payment_behavior=pending_if_incomplete`)
of an item swap, an anchor reset and a trial ended now, from the decline to the payment."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from tests.api.billing_helpers import (
    DAY,
    FEB1,
    HOUR,
    JAN1,
    advance,
    clocked_sub,
    invoices_of,
    licensed_price,
)
from tests.api.dunning_helpers import Events
from tests.conftest import err_of

JAN4 = JAN1 + 3 * DAY
JAN8 = JAN1 + 7 * DAY
JAN11 = JAN1 + 10 * DAY
FEB4 = FEB1 + 3 * DAY
FEB8 = FEB1 + 7 * DAY
FEB11 = FEB1 + 10 * DAY
VISA = {"invoice_settings": {"default_payment_method": "pm_card_visa"}}
FAILING = {"invoice_settings": {"default_payment_method": "pm_card_chargeCustomerFail"}}
PENDING = "pending_if_incomplete"


def _fail_from_now(client: stripe.StripeClient, cust: Any) -> None:
    client.v1.customers.update(cust.id, FAILING)  # type: ignore[arg-type]


# --- pending updates ---------------------------------------------------------------------------


def test_pending_item_swap_keeps_its_invoice_and_applies_when_paid(
    acacia: stripe.StripeClient,
) -> None:
    """A declined swap of A (10.00) for B (30.00) on Jan 11 after a 7-day trial: the update's
    invoice, its proration items and events stay; paying it applies the swap, A is gone."""
    client = acacia
    a, b = licensed_price(client, 1000), licensed_price(client, 3000)
    clk, cust, sub = clocked_sub(client, [a.id], trial_period_days=7, customer=VISA)
    advance(client, clk.id, JAN8 + HOUR)  # the trial ended Jan 8; that invoice was paid
    _fail_from_now(client, cust)
    advance(client, clk.id, JAN11)
    item_a = sub["items"].data[0].id
    ev = Events(client)
    ev.skip()
    got = client.v1.subscriptions.update(
        sub.id,
        {
            "items": [{"id": item_a, "deleted": True}, {"price": b.id}],
            "proration_behavior": "always_invoice",
            "payment_behavior": PENDING,
        },
    )
    assert (got.status, [it.id for it in got["items"].data]) == ("active", [item_a])
    pu = got.pending_update
    assert [it.price.id for it in pu.subscription_items] == [b.id]
    # neither the anchor nor the trial changes with this update
    assert (pu.billing_cycle_anchor, pu.trial_end, pu.expires_at) == (None, None, JAN11 + 23 * HOUR)
    inv = client.v1.invoices.retrieve(got.latest_invoice)
    assert (inv.billing_reason, inv.status, inv.created) == ("subscription_update", "open", JAN11)
    for line in inv.lines.data:  # the proration items are kept with their invoice
        assert client.v1.invoice_items.retrieve(line.invoice_item).invoice == inv.id
    assert [i.billing_reason for i in invoices_of(client, sub.id)] == [
        "subscription_create",
        "subscription_cycle",
        "subscription_update",
    ]
    seen = [(e.type, e.created, e.data.object.id) for e in ev.new()]
    assert seen[:3] == [
        ("invoice.created", JAN11, inv.id),
        ("invoice.finalized", JAN11, inv.id),
        ("invoice.payment_failed", JAN11, inv.id),
    ]
    updated = client.v1.events.list({"type": "customer.subscription.updated", "limit": 1}).data[0]
    assert (updated.created, updated.request.id is not None) == (JAN11, True)
    assert updated.data.previous_attributes.pending_update is None
    client.v1.invoices.pay(inv.id, {"payment_method": "pm_card_visa"})
    done = client.v1.subscriptions.retrieve(sub.id)
    assert (done.status, done.pending_update) == ("active", None)
    assert [it.price.id for it in done["items"].data] == [b.id]
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.subscription_items.retrieve(item_a)
    assert (exc.value.http_status, err_of(exc)["code"]) == (404, "resource_missing")
    applied = client.v1.events.list({"type": "customer.subscription.updated", "limit": 1}).data[0]
    assert (applied.created, applied.request.id is not None) == (JAN11, True)
    assert applied.data.previous_attributes.pending_update.expires_at == JAN11 + 23 * HOUR
    advance(client, clk.id, FEB8 + HOUR)  # the next renewal (the cycle runs from Jan 8) bills B
    assert invoices_of(client, sub.id)[-1].total == 3000


def test_pending_anchor_reset_moves_the_cycle_when_paid(acacia: stripe.StripeClient) -> None:
    """A declined `billing_cycle_anchor=now` on Jan 11 leaves the cycle Jan 1..Feb 1 and shows
    the anchor pending; paid, the cycle is Jan 11..Feb 11."""
    client = acacia
    clk, cust, sub = clocked_sub(client, [licensed_price(client, 1000).id])
    _fail_from_now(client, cust)
    advance(client, clk.id, JAN11)
    got = client.v1.subscriptions.update(
        sub.id,
        {"billing_cycle_anchor": "now", "proration_behavior": "none", "payment_behavior": PENDING},
    )
    assert (got.billing_cycle_anchor, got.current_period_start, got.current_period_end) == (
        JAN1,
        JAN1,
        FEB1,
    )
    assert (got.pending_update.billing_cycle_anchor, got.pending_update.trial_end) == (JAN11, None)
    client.v1.invoices.pay(got.latest_invoice, {"payment_method": "pm_card_visa"})
    done = client.v1.subscriptions.retrieve(sub.id)
    assert (done.status, done.pending_update) == ("active", None)
    assert (done.billing_cycle_anchor, done.current_period_start, done.current_period_end) == (
        JAN11,
        JAN11,
        FEB11,
    )


def test_pending_trial_end_now_ends_the_trial_when_paid(acacia: stripe.StripeClient) -> None:
    """A declined `trial_end=now` on Jan 4 of a 7-day trial: still trialing until Jan 8, the
    new trial end pending; paid, the subscription is active from Jan 4 to Feb 4."""
    client = acacia
    clk, _, sub = clocked_sub(
        client, [licensed_price(client, 1000).id], trial_period_days=7, customer=FAILING
    )
    advance(client, clk.id, JAN4)
    got = client.v1.subscriptions.update(sub.id, {"trial_end": "now", "payment_behavior": PENDING})
    assert (got.status, got.trial_end) == ("trialing", JAN8)
    assert (got.pending_update.trial_end, got.pending_update.billing_cycle_anchor) == (JAN4, JAN4)
    client.v1.invoices.pay(got.latest_invoice, {"payment_method": "pm_card_visa"})
    done = client.v1.subscriptions.retrieve(sub.id)
    assert (done.status, done.trial_end, done.pending_update) == ("active", JAN4, None)
    assert (done.current_period_start, done.current_period_end) == (JAN4, FEB4)
