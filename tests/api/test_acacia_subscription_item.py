"""Acacia (2024-04-10 schema and earlier shapes): `subscription_item` of an invoice item and of
an invoice line is optional and never null. Stripe leaves it out when the item was not made
for a subscription item; it was rendered as null (a schema violation the `acacia` fixture
reports)."""

from __future__ import annotations

import stripe

from tests.api.billing_helpers import FEB1, JAN1, advance, licensed_price, new_clock


def test_subscription_item_is_left_out_when_there_is_none(acacia: stripe.StripeClient) -> None:
    clk = new_clock(acacia, JAN1)
    cus = acacia.v1.customers.create({"test_clock": clk.id})
    sub = acacia.v1.subscriptions.create(
        {
            "customer": cus.id,
            "items": [{"price": licensed_price(acacia).id}],
            "collection_method": "send_invoice",
            "days_until_due": 3,
        }
    )
    si = sub["items"].data[0].id
    one_off = acacia.v1.invoice_items.create({"customer": cus.id, "amount": 500, "currency": "usd"})
    assert "subscription_item" not in one_off.to_dict()
    acacia.v1.subscriptions.update(sub.id, {"items": [{"id": si, "quantity": 2}]})  # prorations
    advance(acacia, clk.id, FEB1 + 7200)
    inv = acacia.v1.invoices.retrieve(acacia.v1.subscriptions.retrieve(sub.id).latest_invoice)
    lines = {(ln.type, ln.amount): ln.to_dict().get("subscription_item") for ln in inv.lines.data}
    assert lines == {
        ("invoiceitem", 500): None,  # absent
        ("invoiceitem", 10000): si,  # the proration debit: 2 x 5000 for the whole period
        ("invoiceitem", -5000): si,  # the credit of the unused time
        ("subscription", 10000): si,
    }
    raw = [ln.to_dict() for ln in acacia.v1.invoices.line_items.list(inv.id).data]
    assert sum("subscription_item" not in ln for ln in raw) == 1
    items = acacia.v1.invoice_items.list({"customer": cus.id}).data
    assert sorted(it.to_dict().get("subscription_item") or "-" for it in items) == ["-", si, si]
