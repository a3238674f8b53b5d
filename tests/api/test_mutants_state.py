"""What a rolled-back subscription update (`payment_behavior=error_if_incomplete`, declined)
puts back and what it keeps, pinned where the mutation review of billing/state.py found it
untested: the engine's indexes are restored as they were (a pending invoice item the update
had taken stays pending), the emulator's own lists (armed webhook faults) are kept, and the
events of the update are never delivered."""

from __future__ import annotations

import pytest
import stripe

from stripe_mock_billing.handle import StripeMock
from tests.api.billing_helpers import FEB1, JAN1, advance, clocked_sub, invoices_of, licensed_price
from tests.api.webhook_helpers import endpoint, receiver

FAILING = {"invoice_settings": {"default_payment_method": "pm_card_chargeCustomerFail"}}
VISA = {"invoice_settings": {"default_payment_method": "pm_card_visa"}}


def _declined_anchor_reset(client: stripe.StripeClient, sub_id: str) -> None:
    """`billing_cycle_anchor=now` with `error_if_incomplete` on a failing card: a 402."""
    with pytest.raises(stripe.CardError) as exc:
        client.v1.subscriptions.update(
            sub_id,
            {
                "billing_cycle_anchor": "now",
                "proration_behavior": "none",
                "payment_behavior": "error_if_incomplete",
            },
        )
    assert exc.value.http_status == 402


def test_a_pending_item_taken_by_a_declined_update_is_billed_at_renewal(
    client: stripe.StripeClient,
) -> None:
    """10.00/month from Jan 1 plus a pending 5.00 item; the declined anchor reset on Jan 1 put
    the item on its invoice, which the rollback removed: the Feb 1 renewal bills 10.00 + 5.00."""
    price = licensed_price(client, 1000)
    clk, cust, sub = clocked_sub(client, [price.id], customer=VISA)
    client.v1.invoice_items.create({"customer": cust.id, "amount": 500, "currency": "usd"})
    client.v1.customers.update(cust.id, FAILING)  # type: ignore[arg-type]
    _declined_anchor_reset(client, sub.id)
    assert len(invoices_of(client, sub.id)) == 1
    client.v1.customers.update(cust.id, VISA)  # type: ignore[arg-type]
    advance(client, clk.id, FEB1)
    renewal = invoices_of(client, sub.id)[-1]
    assert renewal.billing_reason == "subscription_cycle"
    assert sorted(ln.amount for ln in renewal.lines.data) == [500, 1000]
    assert (renewal.subtotal, renewal.amount_due) == (1500, 1500)


def test_armed_webhook_faults_survive_a_declined_update(
    client: stripe.StripeClient, mock: StripeMock
) -> None:
    price = licensed_price(client, 1000)
    _, cust, sub = clocked_sub(client, [price.id], customer=VISA)
    mock.webhook_fault("drop", times=3)
    mock.webhook_fault("delay", times=2, delay_ms=5)
    client.v1.customers.update(cust.id, FAILING)  # type: ignore[arg-type]
    _declined_anchor_reset(client, sub.id)
    assert [(f["kind"], f["times"]) for f in mock.webhook_faults()] == [("drop", 3), ("delay", 2)]


def test_a_declined_update_after_a_snapshot_import_delivers_none_of_its_events(
    client: stripe.StripeClient, mock: StripeMock
) -> None:
    """An account loaded from a snapshot (which carries no delivery queue) whose first request
    is a declined update: the update never happened, so its events are never delivered; a
    later metadata update is."""
    with receiver() as rcv:
        endpoint(client, rcv)
        price = licensed_price(client, 1000)
        _, cust, sub = clocked_sub(client, [price.id], at=JAN1, customer=VISA)
        client.v1.customers.update(cust.id, FAILING)  # type: ignore[arg-type]
        mock.import_state(mock.export_state())
        seen = len(rcv.types())
        _declined_anchor_reset(client, sub.id)
        mock.wait_for_webhooks()
        assert rcv.types()[seen:] == []
        client.v1.subscriptions.update(sub.id, {"metadata": {"k": "v"}})
        mock.wait_for_webhooks()
        assert rcv.types()[seen:] == ["customer.subscription.updated"]


def test_a_declined_update_after_webhook_deliveries_is_a_402_and_delivers_nothing(
    client: stripe.StripeClient, mock: StripeMock
) -> None:
    """The delivery log (each attempt with what it sent) is kept as it is, not copied."""
    with receiver() as rcv:
        endpoint(client, rcv)
        price = licensed_price(client, 1000)
        _, cust, sub = clocked_sub(client, [price.id], at=JAN1, customer=VISA)
        client.v1.customers.update(cust.id, FAILING)  # type: ignore[arg-type]
        mock.wait_for_webhooks()
        seen = len(rcv.types())
        attempts = mock.webhook_attempts()
        assert seen > 0 and len(attempts) == seen
        _declined_anchor_reset(client, sub.id)
        mock.wait_for_webhooks()
        assert rcv.types()[seen:] == []
        assert mock.webhook_attempts() == attempts
