"""What a user reads on the proration invoice items of a mid-period change (issue 15): their
`date` (the change time on the clock), `description` (`Unused time on ...` for the credit,
`Remaining time on ...` for the debit; the emulator's documented format, Stripe appends a date),
currency, test clock, unit amount, amounts and periods; the `always_invoice` invoice (its period
is the change instant, its events carry the request); a quantity lowered to 0 (a credit, no
debit); cancel with `prorate` (dated credit, none while trialing). Clocks start at JAN1: a
change on day 10 leaves 21 of 31 days, 1000 x 21/31 = 677.4 -> 677 and
3000 x 21/31 = 2032.3 -> 2032."""

from __future__ import annotations

from decimal import Decimal

import stripe

from tests.api.billing_helpers import (
    DAY,
    FEB1,
    JAN1,
    advance,
    clocked_sub,
    invoices_of,
    licensed_price,
)

DAY10 = JAN1 + 10 * DAY


def test_proration_items_date_description_amount_and_period(client: stripe.StripeClient) -> None:
    price = licensed_price(client, 1000, name="Pro")
    clk, cust, sub = clocked_sub(client, [price.id])
    advance(client, clk.id, DAY10)
    client.v1.subscriptions.update(
        sub.id, {"items": [{"id": sub["items"].data[0].id, "quantity": 3}]}
    )
    pending = client.v1.invoice_items.list({"customer": cust.id, "pending": True}).data
    got = sorted(
        (ii.amount, ii.description, ii.date, ii.period.start, ii.period.end) for ii in pending
    )
    assert got == [
        (-677, "Unused time on 1 × Pro", DAY10, DAY10, FEB1),
        (2032, "Remaining time on 3 × Pro", DAY10, DAY10, FEB1),
    ]


def test_a_price_change_names_the_old_and_the_new_product(client: stripe.StripeClient) -> None:
    basic = licensed_price(client, 1000, name="Basic")
    team = licensed_price(client, 3100, name="Team")
    clk, cust, sub = clocked_sub(client, [basic.id])
    advance(client, clk.id, JAN1 + DAY)
    client.v1.subscription_items.update(sub["items"].data[0].id, {"price": team.id})
    pending = client.v1.invoice_items.list({"customer": cust.id, "pending": True}).data
    # 30 of 31 days: 1000 x 30/31 = 967.7 -> 968; 3100 x 30/31 = 3000
    assert sorted((ii.amount, ii.description, ii.date) for ii in pending) == [
        (-968, "Unused time on 1 × Basic", JAN1 + DAY),
        (3000, "Remaining time on 1 × Team", JAN1 + DAY),
    ]


def test_proration_items_currency_clock_and_unit_amount(client: stripe.StripeClient) -> None:
    price = licensed_price(client, 1000, name="Pro")
    clk, cust, sub = clocked_sub(client, [price.id])
    advance(client, clk.id, DAY10)
    client.v1.subscription_items.update(sub["items"].data[0].id, {"quantity": 3})
    pending = client.v1.invoice_items.list({"customer": cust.id, "pending": True}).data
    credit, debit = sorted(pending, key=lambda ii: ii.amount)
    for ii in (credit, debit):
        assert (ii.currency, ii.test_clock, ii.proration) == ("usd", clk.id, True)
    assert (credit.quantity, credit.pricing.unit_amount_decimal) == (1, Decimal("-677"))
    # 2032 / 3 = 677.33...: three units of it make the line's 2032 again
    assert debit.quantity == 3
    assert round(Decimal(debit.pricing.unit_amount_decimal) * 3) == 2032
    created = client.v1.events.list({"type": "invoiceitem.created"}).data
    assert sorted(e.created for e in created) == [DAY10, DAY10]


def test_always_invoice_invoice_is_for_the_change_instant(client: stripe.StripeClient) -> None:
    price = licensed_price(client, 1000, name="Pro")
    clk, _, sub = clocked_sub(client, [price.id])
    advance(client, clk.id, DAY10)
    client.v1.subscription_items.update(
        sub["items"].data[0].id, {"quantity": 3, "proration_behavior": "always_invoice"}
    )
    inv = invoices_of(client, sub.id)[-1]
    assert (inv.billing_reason, inv.period_start, inv.period_end) == (
        "subscription_update",
        DAY10,
        DAY10,
    )
    assert (inv.subtotal, inv.total, inv.amount_due) == (1355, 1355, 1355)  # 2032 - 677
    # made by the API request, not by the clock: its events name the request
    for kind in ("invoice.created", "invoice.finalized"):
        (ev,) = [
            e for e in client.v1.events.list({"type": kind}).data if e.data.object.id == inv.id
        ]
        assert ev.request.id is not None and ev.request.id.startswith("req_")


def test_quantity_lowered_to_zero_credits_without_a_debit(client: stripe.StripeClient) -> None:
    price = licensed_price(client, 1000, name="Pro")
    clk, cust, sub = clocked_sub(client, [price.id])
    advance(client, clk.id, DAY10)
    client.v1.subscription_items.update(sub["items"].data[0].id, {"quantity": 0})
    pending = client.v1.invoice_items.list({"customer": cust.id, "pending": True}).data
    assert [(ii.amount, ii.quantity) for ii in pending] == [(-677, 1)]


def test_cancel_with_prorate_leaves_a_dated_credit(client: stripe.StripeClient) -> None:
    price = licensed_price(client, 1000, name="Pro")
    clk, cust, sub = clocked_sub(client, [price.id])
    advance(client, clk.id, DAY10)
    client.v1.subscriptions.cancel(sub.id, {"prorate": True})
    pending = client.v1.invoice_items.list({"customer": cust.id, "pending": True}).data
    assert [(ii.amount, ii.date, ii.description) for ii in pending] == [
        (-677, DAY10, "Unused time on 1 × Pro")
    ]


def test_cancel_with_prorate_while_trialing_credits_nothing(client: stripe.StripeClient) -> None:
    price = licensed_price(client, 1000, name="Pro")
    clk, cust, sub = clocked_sub(client, [price.id], trial_period_days=14)
    advance(client, clk.id, DAY10)
    client.v1.subscriptions.cancel(sub.id, {"prorate": True})
    assert client.v1.invoice_items.list({"customer": cust.id, "pending": True}).data == []


def test_prorations_dated_at_the_period_end_keep_their_labels(
    client: stripe.StripeClient,
) -> None:
    # nothing is left of the period: both amounts are 0, the credit is still the unused time
    price = licensed_price(client, 1000, name="Pro")
    _, cust, sub = clocked_sub(client, [price.id])
    client.v1.subscription_items.update(
        sub["items"].data[0].id, {"quantity": 2, "proration_date": FEB1}
    )
    pending = client.v1.invoice_items.list({"customer": cust.id, "pending": True}).data
    assert sorted((ii.description, ii.amount) for ii in pending) == [
        ("Remaining time on 2 × Pro", 0),
        ("Unused time on 1 × Pro", 0),
    ]
