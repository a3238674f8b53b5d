"""Billing engine behaviour seen by a user, pinned where the second mutation review of
engine.py found it untested: the wall-clock schedule follows invoices finalized by a request,
invoice item deletion, `billing_cycle_anchor=now` right after a price change, and the events
of subscription updates and customers (types, timestamps)."""

from __future__ import annotations

import stripe

from stripe_mock_billing.handle import StripeMock
from tests.api.billing_helpers import DAY, licensed_price

VISA = {"invoice_settings": {"default_payment_method": "pm_card_visa"}}
FAILING = {"invoice_settings": {"default_payment_method": "pm_card_chargeCustomerFail"}}


def test_a_subscription_invoice_finalized_by_request_is_retried_on_the_wall_clock(
    client: stripe.StripeClient, mock: StripeMock
) -> None:
    """A wall-clock subscription (10.00/month) and a one-off 7.00 invoice naming it, finalized
    by request with `auto_advance=true` on a failing card: the automatic attempt fails, the
    first retry is 3 days later (the account's default schedule), well before the period end,
    and runs once the wall clock passes it."""
    cust = client.v1.customers.create(VISA)  # type: ignore[arg-type]
    sub = client.v1.subscriptions.create(
        {"customer": cust.id, "items": [{"price": licensed_price(client, 1000).id}]}
    )
    client.v1.customers.update(cust.id, FAILING)  # type: ignore[arg-type]
    draft = client.v1.invoices.create(
        {"customer": cust.id, "subscription": sub.id, "auto_advance": False}
    )
    client.v1.invoice_items.create(
        {"customer": cust.id, "invoice": draft.id, "amount": 700, "currency": "usd"}
    )
    inv = client.v1.invoices.finalize_invoice(draft.id, {"auto_advance": True})
    assert (inv.status, inv.attempt_count, inv.amount_due) == ("open", 1, 700)
    retry = inv.next_payment_attempt
    assert retry == inv.status_transitions.finalized_at + 3 * DAY
    mock.advance_wall_clock(retry - mock.now() - 60)
    assert client.v1.invoices.retrieve(inv.id).attempt_count == 1
    mock.advance_wall_clock(61)
    again = client.v1.invoices.retrieve(inv.id)
    assert (again.attempt_count, again.next_payment_attempt) == (2, retry + 5 * DAY)
