"""Event coverage as delivered: product.*, price.*, invoiceitem.updated (and the invoice item
update it comes from), customer.subscription.trial_will_end on a clock advance,
billing.meter.*; `data.object` as of the change, `request` null for clock-driven events."""

from __future__ import annotations

import pytest
import stripe

from tests.api.billing_helpers import DAY, FEB1, HOUR, JAN1, advance, clocked_sub, licensed_price
from tests.api.webhook_helpers import endpoint, receiver
from tests.conftest import err_of


def test_product_events(client: stripe.StripeClient) -> None:
    with receiver() as rcv:
        endpoint(client, rcv, ["product.created", "product.updated", "product.deleted"])
        prod = client.v1.products.create({"name": "Pro"})
        client.v1.products.update(prod.id, {"name": "Pro 2"})
        client.v1.products.update(prod.id, {"name": "Pro 2"})  # no change: no event
        client.v1.products.delete(prod.id)
        assert rcv.types() == ["product.created", "product.updated", "product.deleted"]
        created, updated, deleted = rcv.events()
        assert created.data.object.name == "Pro"
        assert created.request.id is not None
        assert updated.data.object.name == "Pro 2"
        assert updated.data.previous_attributes.name == "Pro"
        assert deleted.data.object.id == prod.id


def test_price_events(client: stripe.StripeClient) -> None:
    with receiver() as rcv:
        endpoint(client, rcv, ["price.created", "price.updated", "product.created"])
        price = licensed_price(client)
        client.v1.prices.update(price.id, {"nickname": "monthly", "active": False})
        assert rcv.types() == ["product.created", "price.created", "price.updated"]
        upd = rcv.wait_for("price.updated")
        assert upd.data.object.nickname == "monthly"
        assert upd.data.previous_attributes.to_dict() == {"active": True, "nickname": None}


def test_invoiceitem_updated_on_a_pending_item(client: stripe.StripeClient, cus: str) -> None:
    with receiver() as rcv:
        endpoint(client, rcv, ["invoiceitem.updated"])
        ii = client.v1.invoice_items.create(
            {"customer": cus, "amount": 1000, "currency": "usd", "description": "a"}
        )
        got = client.v1.invoice_items.update(ii.id, {"quantity": 3, "description": "b"})
        assert (got.amount, got.quantity, got.description) == (3000, 3, "b")
        ev = rcv.wait_for("invoiceitem.updated")
        assert ev.data.object.amount == 3000
        assert ev.data.previous_attributes.to_dict()["amount"] == 1000
        assert ev.data.previous_attributes.to_dict()["description"] == "a"


def test_invoiceitem_update_moves_the_draft_line(client: stripe.StripeClient) -> None:
    clk, cust, sub = clocked_sub(client, [licensed_price(client, amount=5000).id])
    advance(client, clk.id, FEB1)  # the cycle invoice is a draft for an hour
    draft = client.v1.invoices.retrieve(client.v1.subscriptions.retrieve(sub.id).latest_invoice)
    assert draft.status == "draft"
    ii = client.v1.invoice_items.create(
        {"customer": cust.id, "amount": 500, "currency": "usd", "invoice": draft.id}
    )
    assert client.v1.invoices.retrieve(draft.id).total == 5500
    client.v1.invoice_items.update(ii.id, {"amount": 700})
    again = client.v1.invoices.retrieve(draft.id)
    assert again.total == 5700
    assert sorted(ln.amount for ln in again.lines.data) == [700, 5000]
    advance(client, clk.id, FEB1 + HOUR)  # finalized
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.invoice_items.update(ii.id, {"amount": 900})
    e = err_of(exc)
    assert exc.value.http_status == 400
    assert e["message"] == (
        "You can't update an invoice item that is attached to a finalized invoice."
    )


def test_invoiceitem_update_errors(client: stripe.StripeClient, cus: str) -> None:
    ii = client.v1.invoice_items.create({"customer": cus, "amount": 1000, "currency": "usd"})
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.invoice_items.update(ii.id, {"amount": 5, "quantity": 2})
    e = err_of(exc)
    assert (exc.value.http_status, e["param"]) == (400, "amount")
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.invoice_items.update(ii.id, {"price": "price_x"})  # type: ignore[typeddict-unknown-key]
    e = err_of(exc)
    assert (e["code"], e["param"]) == ("parameter_unknown", "price")
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.invoice_items.update("ii_missing", {"amount": 5})
    assert exc.value.http_status == 404


def test_trial_will_end_three_days_before(client: stripe.StripeClient) -> None:
    with receiver() as rcv:
        endpoint(client, rcv, ["customer.subscription.trial_will_end"])
        clk, _, sub = clocked_sub(client, [licensed_price(client).id], trial_end=JAN1 + 10 * DAY)
        advance(client, clk.id, JAN1 + 7 * DAY - 1)  # 3 days + 1 s before the end
        assert rcv.events() == []
        advance(client, clk.id, JAN1 + 7 * DAY)  # exactly 3 days before
        (ev,) = rcv.events()
        assert ev.created == JAN1 + 7 * DAY
        assert ev.request.id is None
        assert ev.data.object.id == sub.id
        assert ev.data.object.status == "trialing"


def test_meter_events_delivered(client: stripe.StripeClient) -> None:
    with receiver() as rcv:
        endpoint(client, rcv, ["billing.meter.created", "billing.meter.deactivated"])
        meter = client.v1.billing.meters.create(
            {
                "display_name": "Tokens",
                "event_name": "tokens",
                "default_aggregation": {"formula": "sum"},
            }
        )
        client.v1.billing.meters.deactivate(meter.id)
        assert rcv.types() == ["billing.meter.created", "billing.meter.deactivated"]
        assert rcv.events()[1].data.object.status == "inactive"


def test_invoice_updated(client: stripe.StripeClient, cus: str) -> None:
    with receiver() as rcv:
        endpoint(client, rcv, ["invoice.created", "invoice.updated"])
        inv = client.v1.invoices.create({"customer": cus, "description": "before"})
        client.v1.invoices.update(inv.id, {"description": "after"})
        assert rcv.types() == ["invoice.created", "invoice.updated"]
        upd = rcv.wait_for("invoice.updated")
        assert upd.data.object.description == "after"
        assert upd.data.previous_attributes.description == "before"
