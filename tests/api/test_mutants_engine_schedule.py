"""Billing engine behaviour seen by a user, pinned where the second mutation review of
engine.py found it untested: the wall-clock schedule follows invoices finalized by a request,
invoice item deletion, `billing_cycle_anchor=now` right after a price change, and the events
of subscription updates and customers (types, timestamps)."""

from __future__ import annotations

import stripe

from stripe_mock_billing.handle import StripeMock
from tests.api.billing_helpers import (
    DAY,
    JAN1,
    advance,
    clocked_sub,
    legacy_metered_price,
    licensed_price,
    report,
)

JAN4 = JAN1 + 3 * DAY
JAN11 = JAN1 + 10 * DAY
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


# --- billing_cycle_anchor=now --------------------------------------------------------------------


def _anchor_now(client: stripe.StripeClient, sub_id: str, **extra: object) -> stripe.Invoice:
    got = client.v1.subscriptions.update(
        sub_id,
        {"billing_cycle_anchor": "now", "proration_behavior": "none", **extra},  # type: ignore[typeddict-item]
    )
    return client.v1.invoices.retrieve(got.latest_invoice)


def test_anchor_reset_bills_usage_stamped_at_the_reset_second(acacia: stripe.StripeClient) -> None:
    """`billing_cycle_anchor=now` on Jan 11: usage up to now is billed, the 5 units stamped
    Jan 11 00:00:00 itself too (3 + 5 units at 0.07 = 0.56)."""
    client = acacia
    clk, _, sub = clocked_sub(client, [legacy_metered_price(client, 7).id], customer=VISA)
    si = sub["items"].data[0].id
    advance(client, clk.id, JAN11)
    report(client, si, 3, JAN4)
    report(client, si, 5, JAN11)
    inv = _anchor_now(client, sub.id)
    assert [(ln.quantity, ln.amount) for ln in inv.lines.data] == [(8, 56)]
    assert (inv.period_start, inv.period_end, inv.amount_due) == (JAN1, JAN11, 56)


def test_a_price_change_and_anchor_reset_at_the_creation_second_bill_one_empty_line(
    acacia: stripe.StripeClient,
) -> None:
    """A metered subscription created Jan 1 whose price changes with `billing_cycle_anchor=now`
    in the same second: the old price billed nothing, so the invoice has only the new price's
    line, 0 units."""
    client = acacia
    old, new = legacy_metered_price(client, 7), legacy_metered_price(client, 9)
    _, _, sub = clocked_sub(client, [old.id], customer=VISA)
    si = sub["items"].data[0].id
    inv = _anchor_now(client, sub.id, items=[{"id": si, "price": new.id}])
    assert [(ln.price.id, ln.quantity, ln.amount) for ln in inv.lines.data] == [(new.id, 0, 0)]
    assert (inv.period_start, inv.period_end, inv.amount_due) == (JAN1, JAN1, 0)
