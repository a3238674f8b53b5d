"""The lines of the invoices a user reads (issue 15, mutation testing of billing/invoicing.py):
a metered line's description, quantity and parent; invoice-item lines name their invoice; pending
invoice items go onto the next invoice of their own subscription (or of any subscription when
they have none), deleted ones never; canceling a subscription stops its pending draft from
finalizing. Clocks start at JAN1; renewals are at FEB1 and drafts finalize 1 h later."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import stripe

from tests.api.billing_helpers import (
    DAY,
    FEB1,
    HOUR,
    JAN1,
    advance,
    clocked_sub,
    invoices_of,
    legacy_metered_price,
    licensed_price,
)
from tests.api.credit_helpers import meter, meter_price, send


def test_metered_line_on_the_cycle_invoice(client: stripe.StripeClient) -> None:
    price = meter_price(client, meter(client).id, 10)  # 10 cents a call
    clk, cust, sub = clocked_sub(client, [price.id])
    send(client, cust.id, 1234, timestamp=JAN1 + 5)
    advance(client, clk.id, FEB1 + 60)
    inv = invoices_of(client, sub.id)[-1]
    (line,) = inv.lines.data
    assert (line.amount, line.quantity, line.quantity_decimal) == (12340, 1234, Decimal(1234))
    assert line.description == "1234 × API calls (at $0.10 / month)"
    assert line.invoice == inv.id
    details = line.parent.subscription_item_details
    assert (details.subscription, details.subscription_item) == (sub.id, sub["items"].data[0].id)
    assert (line.period.start, line.period.end) == (JAN1, FEB1)


def _item(client: stripe.StripeClient, customer: str, amount: int, **extra: Any) -> Any:
    return client.v1.invoice_items.create(
        {"customer": customer, "amount": amount, "currency": "usd", **extra}
    )


def test_an_item_added_to_a_draft_is_a_line_of_it(client: stripe.StripeClient) -> None:
    clk, cust, sub = clocked_sub(client, [licensed_price(client, 1000).id])
    advance(client, clk.id, FEB1 + 60)
    draft = invoices_of(client, sub.id)[-1]
    assert draft.status == "draft"
    ii = _item(client, cust.id, 250, invoice=draft.id)
    lines = client.v1.invoices.retrieve(draft.id).lines.data
    (extra,) = [ln for ln in lines if ln.amount == 250]
    assert extra.invoice == draft.id
    assert extra.parent.invoice_item_details.invoice_item == ii.id
    assert client.v1.invoices.retrieve(draft.id).total == 1250


def test_pending_items_go_to_their_own_subscription_and_deleted_ones_nowhere(
    client: stripe.StripeClient,
) -> None:
    clk, cust, sub_a = clocked_sub(client, [licensed_price(client, 1000).id])
    sub_b = client.v1.subscriptions.create(
        {"customer": cust.id, "items": [{"price": licensed_price(client, 2000).id}]}
    )
    gone = _item(client, cust.id, 111)
    client.v1.invoice_items.delete(gone.id)
    advance(client, clk.id, JAN1 + 10 * DAY)
    # B's prorations belong to B: 21 of 31 days, 2000 x 21/31 = 1354.8 -> -1355, 2 x: 2710
    client.v1.subscription_items.update(sub_b["items"].data[0].id, {"quantity": 2})
    general = _item(client, cust.id, 333)
    advance(client, clk.id, FEB1 + 2 * HOUR)
    renewal_a = invoices_of(client, sub_a.id)[-1]
    renewal_b = invoices_of(client, sub_b.id)[-1]
    assert renewal_a.billing_reason == renewal_b.billing_reason == "subscription_cycle"
    extras_a = sorted(ln.amount for ln in renewal_a.lines.data if ln.amount != 1000)
    extras_b = sorted(ln.amount for ln in renewal_b.lines.data if ln.amount != 4000)
    # the general item lands on one renewal, exactly once; the deleted 111 on none
    assert sorted(extras_a + extras_b) == [-1355, 333, 2710]
    assert {-1355, 2710} <= set(extras_b)
    for inv in (renewal_a, renewal_b):
        assert all(ln.invoice == inv.id for ln in inv.lines.data)
    assert client.v1.invoice_items.retrieve(general.id).invoice in (renewal_a.id, renewal_b.id)
    assert client.v1.invoice_items.list({"customer": cust.id, "pending": True}).data == []


def test_canceling_stops_the_pending_draft_from_finalizing(client: stripe.StripeClient) -> None:
    clk, _, sub = clocked_sub(client, [licensed_price(client, 1000).id])
    advance(client, clk.id, FEB1 + 60)
    draft = invoices_of(client, sub.id)[-1]
    assert (draft.status, draft.auto_advance) == ("draft", True)
    assert draft.automatically_finalizes_at == FEB1 + HOUR
    client.v1.subscriptions.cancel(sub.id)
    stopped = client.v1.invoices.retrieve(draft.id)
    assert (stopped.auto_advance, stopped.automatically_finalizes_at) == (False, None)
    advance(client, clk.id, FEB1 + 3 * HOUR)
    assert client.v1.invoices.retrieve(draft.id).status == "draft"


def _cycle_line(client: stripe.StripeClient, price_id: str, values: list[str]) -> Any:
    """The metered line of the FEB1 renewal of a meter-billed subscription from JAN1 whose
    customer sent `values` in January."""
    clk, cust, sub = clocked_sub(client, [price_id])
    for n, value in enumerate(values):
        client.v1.billing.meter_events.create(
            {
                "event_name": "api_calls",
                "payload": {"stripe_customer_id": cust.id, "value": value},
                "timestamp": JAN1 + 5 + n,
            }
        )
    advance(client, clk.id, FEB1 + 60)
    (line,) = invoices_of(client, sub.id)[-1].lines.data
    return line


def test_a_single_unit_of_usage_is_billed(client: stripe.StripeClient) -> None:
    line = _cycle_line(client, meter_price(client, meter(client).id, 10).id, ["1"])
    assert (line.quantity, line.amount) == (1, 10)


def test_legacy_metered_item_without_usage_bills_nothing(acacia: stripe.StripeClient) -> None:
    price = legacy_metered_price(acacia, 7)
    clk, _, sub = clocked_sub(acacia, [price.id])
    advance(acacia, clk.id, FEB1 + 60)
    cycle = invoices_of(acacia, sub.id)[-1]
    assert [(ln.quantity, ln.amount) for ln in cycle.lines.data] == [(0, 0)]
    assert (cycle.subtotal, cycle.total, cycle.amount_due) == (0, 0, 0)


def test_legacy_metered_price_without_aggregate_usage_sums(acacia: stripe.StripeClient) -> None:
    price = acacia.v1.prices.create(
        {
            "currency": "usd",
            "unit_amount": 7,
            "recurring": {"interval": "month", "usage_type": "metered"},
            "product_data": {"name": "API calls"},
        }
    )
    clk, _, sub = clocked_sub(acacia, [price.id])
    si = sub["items"].data[0].id
    for quantity in (3, 4):
        acacia.raw_request(
            "post", f"/v1/subscription_items/{si}/usage_records", quantity=quantity, timestamp=JAN1
        )
    advance(acacia, clk.id, FEB1 + 60)
    cycle = invoices_of(acacia, sub.id)[-1]
    assert [(ln.quantity, ln.amount) for ln in cycle.lines.data] == [(7, 49)]  # 3 + 4 at 7 cents


def test_a_licensed_item_of_quantity_zero_bills_nothing(client: stripe.StripeClient) -> None:
    price = licensed_price(client, 1000)
    clk = client.v1.test_helpers.test_clocks.create({"frozen_time": JAN1})
    cus = client.v1.customers.create({"test_clock": clk.id})
    sub = client.v1.subscriptions.create(
        {"customer": cus.id, "items": [{"price": price.id, "quantity": 0}]}
    )
    first = client.v1.invoices.retrieve(sub.latest_invoice)
    assert [(ln.quantity, ln.amount) for ln in first.lines.data] == [(0, 0)]
    assert (first.total, first.amount_due) == (0, 0)


def test_preview_of_a_quantity_change_shows_the_new_quantity(client: stripe.StripeClient) -> None:
    price = licensed_price(client, 1000)
    _, cust, sub = clocked_sub(client, [price.id])
    preview = client.v1.invoices.create_preview(
        {
            "customer": cust.id,
            "subscription": sub.id,
            "subscription_details": {
                "items": [{"id": sub["items"].data[0].id, "quantity": 5}],
                "proration_behavior": "none",
            },
        }
    )
    assert [(ln.quantity, ln.amount) for ln in preview.lines.data] == [(5, 5000)]
    assert (preview.period_end, preview.total) == (FEB1, 5000)


def test_trial_line_names_the_product(client: stripe.StripeClient) -> None:
    price = licensed_price(client, 1000, name="Pro")
    _, _, sub = clocked_sub(client, [price.id], trial_period_days=7)
    first = client.v1.invoices.retrieve(sub.latest_invoice)
    assert [(ln.description, ln.amount) for ln in first.lines.data] == [("Trial period for Pro", 0)]


def test_a_clock_made_renewal_names_no_request(client: stripe.StripeClient) -> None:
    clk, _, sub = clocked_sub(client, [licensed_price(client, 1000).id])
    advance(client, clk.id, FEB1 + 2 * HOUR)
    renewal = invoices_of(client, sub.id)[-1]
    assert (renewal.billing_reason, renewal.status) == ("subscription_cycle", "paid")
    for kind in ("invoice.created", "invoice.finalized"):
        (ev,) = [
            e for e in client.v1.events.list({"type": kind}).data if e.data.object.id == renewal.id
        ]
        assert ev.request.id is None
    # charged automatically: no due date
    assert renewal.due_date is None


def test_licensed_line_on_the_first_invoice(client: stripe.StripeClient) -> None:
    price = licensed_price(client, 1000, name="Pro")
    _, _, sub = clocked_sub(client, [price.id])
    (line,) = client.v1.invoices.retrieve(sub.latest_invoice).lines.data
    assert (line.description, line.quantity, line.amount) == (
        "1 × Pro (at $10.00 / month)",
        1,
        1000,
    )
    details = line.parent.subscription_item_details
    assert (details.subscription, details.subscription_item) == (sub.id, sub["items"].data[0].id)
    assert (line.period.start, line.period.end) == (JAN1, FEB1)


def test_pending_items_come_first_on_the_renewal(client: stripe.StripeClient) -> None:
    clk, cust, sub = clocked_sub(client, [licensed_price(client, 1000).id])
    _item(client, cust.id, 333)
    advance(client, clk.id, FEB1 + 60)
    renewal = invoices_of(client, sub.id)[-1]
    assert [ln.amount for ln in renewal.lines.data] == [333, 1000]


def test_canceled_at_its_start_the_final_invoice_bills_no_usage(
    client: stripe.StripeClient,
) -> None:
    # the metered line of the final invoice covers [JAN1, JAN1): nothing
    price = meter_price(client, meter(client).id, 10)
    _, _, sub = clocked_sub(client, [price.id])
    client.v1.subscriptions.cancel(sub.id, {"invoice_now": True})
    final = invoices_of(client, sub.id)[-1]
    assert [(ln.quantity, ln.amount) for ln in final.lines.data] == [(0, 0)]
    assert (final.subtotal, final.total, final.amount_due) == (0, 0, 0)


def test_a_one_cent_invoice_is_charged_not_waved_through(client: stripe.StripeClient) -> None:
    price = licensed_price(client, 1)
    clk = client.v1.test_helpers.test_clocks.create({"frozen_time": JAN1})
    cus = client.v1.customers.create(
        {
            "test_clock": clk.id,
            "payment_method": "pm_card_chargeCustomerFail",
            "invoice_settings": {"default_payment_method": "pm_card_chargeCustomerFail"},
        }
    )
    sub = client.v1.subscriptions.create({"customer": cus.id, "items": [{"price": price.id}]})
    first = client.v1.invoices.retrieve(sub.latest_invoice)
    assert (first.amount_due, first.status, first.amount_paid) == (1, "open", 0)


def test_a_free_renewal_is_paid_by_the_clock(client: stripe.StripeClient) -> None:
    clk, _, sub = clocked_sub(client, [licensed_price(client, 0).id])
    advance(client, clk.id, FEB1 + 2 * HOUR)
    renewal = invoices_of(client, sub.id)[-1]
    assert (renewal.billing_reason, renewal.status, renewal.amount_due) == (
        "subscription_cycle",
        "paid",
        0,
    )
    (paid,) = [
        e
        for e in client.v1.events.list({"type": "invoice.paid"}).data
        if e.data.object.id == renewal.id
    ]
    assert paid.request.id is None


def test_canceling_leaves_a_finalized_renewal_as_it_was(client: stripe.StripeClient) -> None:
    clk, _, sub = clocked_sub(client, [licensed_price(client, 1000).id])
    advance(client, clk.id, FEB1 + 2 * HOUR)
    renewal = invoices_of(client, sub.id)[-1]
    assert renewal.status == "paid"
    client.v1.subscriptions.cancel(sub.id)
    after = client.v1.invoices.retrieve(renewal.id)
    assert (after.status, after.auto_advance) == ("paid", renewal.auto_advance)
