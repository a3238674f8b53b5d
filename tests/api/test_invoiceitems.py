"""Invoice items through the SDK: pending items, items on drafts, deletion, errors."""

from __future__ import annotations

import pytest
import stripe

from tests.api.billing_helpers import (
    FEB1,
    advance,
    clocked_sub,
    err_tuple,
    invoices_of,
    licensed_price,
)
from tests.conftest import err_of


def test_pending_invoice_items_go_on_next_invoice(client: stripe.StripeClient) -> None:
    clk, cust, sub = clocked_sub(client, [licensed_price(client).id])
    ii = client.v1.invoice_items.create(
        {"customer": cust.id, "amount": 250, "currency": "usd", "description": "setup"}
    )
    assert ii.invoice is None
    pending = client.v1.invoice_items.list({"customer": cust.id, "pending": True})
    assert [x.id for x in pending.data] == [ii.id]
    advance(client, clk.id, FEB1)
    inv = invoices_of(client, sub.id)[-1]
    assert inv.total == 5250
    assert any(ln.parent.type == "invoice_item_details" for ln in inv.lines.data)
    assert client.v1.invoice_items.retrieve(ii.id).invoice == inv.id


def test_invoiceitem_for_a_subscription_names_it_in_its_parent(
    client: stripe.StripeClient, schema_violations: list[str]
) -> None:
    """`subscription` on an invoice item: the parent names the subscription; an item made by
    hand has no subscription item, so `subscription_item` is absent, never null (Stripe's spec
    declares it an optional string)."""
    _clk, cust, sub = clocked_sub(client, [licensed_price(client).id])
    ii = client.v1.invoice_items.create(
        {"customer": cust.id, "amount": 250, "currency": "usd", "subscription": sub.id}
    )
    details = ii.parent.subscription_details
    assert (ii.parent.type, details.subscription) == ("subscription_details", sub.id)
    assert "subscription_item" not in details
    assert schema_violations == []


def test_invoiceitem_delete_and_errors(client: stripe.StripeClient) -> None:
    cust = client.v1.customers.create({})
    ii = client.v1.invoice_items.create({"customer": cust.id, "amount": 99, "currency": "usd"})
    assert client.v1.invoice_items.delete(ii.id).deleted is True
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.invoice_items.retrieve(ii.id)
    assert exc.value.http_status == 404
    assert err_of(exc)["message"] == f"No such invoiceitem: '{ii.id}'"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.invoice_items.create({"customer": cust.id, "currency": "usd"})
    e = err_of(exc)
    assert (e["code"], e["param"]) == ("parameter_missing", "amount")
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.invoice_items.create({"customer": "cus_nope", "amount": 1, "currency": "usd"})
    e = err_of(exc)
    assert exc.value.http_status == 400
    assert (e["code"], e["param"]) == ("resource_missing", "customer")


def test_invoiceitem_errors(client: stripe.StripeClient) -> None:
    cust = client.v1.customers.create({})
    other = client.v1.customers.create({})
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.invoice_items.create({"customer": cust.id, "amount": 5})
    assert err_tuple(exc) == (
        400,
        "invalid_request_error",
        "parameter_missing",
        "currency",
        "Missing required param: currency.",
    )
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.invoice_items.create(
            {"customer": cust.id, "amount": 5, "currency": "usd", "invoice": "in_nope"}
        )
    assert err_tuple(exc) == (
        400,
        "invalid_request_error",
        "resource_missing",
        "invoice",
        "No such invoice: 'in_nope'",
    )
    sub = clocked_sub(client, [licensed_price(client).id])[2]
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.invoice_items.create(
            {"customer": other.id, "amount": 5, "currency": "usd", "subscription": sub.id}
        )
    assert err_tuple(exc) == (
        400,
        "invalid_request_error",
        "resource_missing",
        "subscription",
        f"No such subscription: '{sub.id}'",
    )
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.invoice_items.create(
            {"customer": other.id, "amount": 5, "currency": "usd", "invoice": sub.latest_invoice}
        )
    assert err_tuple(exc) == (
        400,
        "invalid_request_error",
        None,
        "invoice",
        "Invoice items can only be added to draft invoices of the same customer.",
    )


def test_invoiceitem_on_draft_and_delete_after_finalization(client: stripe.StripeClient) -> None:
    clk, cust, sub = clocked_sub(client, [licensed_price(client).id])
    advance(client, clk.id, FEB1)
    draft = invoices_of(client, sub.id)[-1]
    ii = client.v1.invoice_items.create(
        {"customer": cust.id, "amount": 300, "currency": "usd", "invoice": draft.id}
    )
    assert client.v1.invoices.retrieve(draft.id).total == 5300
    client.v1.invoices.finalize_invoice(draft.id)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.invoice_items.delete(ii.id)
    assert err_tuple(exc) == (
        400,
        "invalid_request_error",
        None,
        None,
        "You can't delete an invoice item that is attached to a finalized invoice.",
    )
