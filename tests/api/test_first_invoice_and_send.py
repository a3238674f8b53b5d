"""First invoices (`payment_behavior`, `incomplete` -> `incomplete_expired`) and
`collection_method=send_invoice` (due date -> `past_due`, `/send`) through the SDK."""

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
    err_tuple,
    invoices_of,
    licensed_price,
    new_clock,
)
from tests.api.dunning_helpers import Events

FAILING = {"invoice_settings": {"default_payment_method": "pm_card_chargeCustomerFail"}}


def test_error_if_incomplete_writes_nothing(client: stripe.StripeClient) -> None:
    price = licensed_price(client)
    clk = new_clock(client)
    cust = client.v1.customers.create({"test_clock": clk.id, **FAILING})  # type: ignore[arg-type]
    ev = Events(client)
    ev.skip()
    with pytest.raises(stripe.CardError) as exc:
        client.v1.subscriptions.create(
            {
                "customer": cust.id,
                "items": [{"price": price.id}],
                "payment_behavior": "error_if_incomplete",
            }
        )
    assert err_tuple(exc) == (402, "card_error", "card_declined", None, "Your card was declined.")
    assert exc.value.json_body["error"]["decline_code"] == "generic_decline"
    assert client.v1.subscriptions.list({"customer": cust.id, "status": "all"}).data == []
    assert client.v1.invoices.list({"customer": cust.id}).data == []
    assert ev.types() == []
    ok = client.v1.subscriptions.create(
        {
            "customer": cust.id,
            "items": [{"price": price.id}],
            "payment_behavior": "error_if_incomplete",
            "default_payment_method": "pm_card_visa",
        }
    )
    assert ok.status == "active"


def test_error_if_incomplete_on_an_update_rolls_it_back(client: stripe.StripeClient) -> None:
    price = licensed_price(client, 1000)
    bigger = licensed_price(client, 3000)
    _, cust, sub = clocked_sub(client, [price.id])
    client.v1.customers.update(cust.id, FAILING)  # type: ignore[arg-type]
    item = sub["items"].data[0].id
    ev = Events(client)
    ev.skip()
    with pytest.raises(stripe.CardError) as exc:
        client.v1.subscriptions.update(
            sub.id,
            {
                "items": [{"id": item, "price": bigger.id}],
                "proration_behavior": "always_invoice",
                "payment_behavior": "error_if_incomplete",
                "metadata": {"plan": "big"},
            },
        )
    assert err_tuple(exc)[:3] == (402, "card_error", "card_declined")
    same = client.v1.subscriptions.retrieve(sub.id)
    assert (same.status, same["items"].data[0].price.id, same.metadata.to_dict()) == (
        "active",
        price.id,
        {},
    )
    assert len(invoices_of(client, sub.id)) == 1
    assert ev.types() == []  # the update's events are gone with it


def test_default_incomplete_waits_for_payment(client: stripe.StripeClient) -> None:
    clk, _, sub = clocked_sub(
        client,
        [licensed_price(client).id],
        customer=FAILING,
        payment_behavior="default_incomplete",
    )
    assert sub.status == "incomplete"
    inv = client.v1.invoices.retrieve(sub.latest_invoice)
    assert (inv.status, inv.attempted, inv.attempt_count) == ("open", False, 0)
    paid = client.v1.invoices.pay(inv.id, {"payment_method": "pm_card_visa"})
    assert (paid.status, paid.attempt_count, paid.amount_paid) == ("paid", 1, 5000)
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"
    assert clk.id


def test_pending_if_incomplete_is_refused_on_create(client: stripe.StripeClient) -> None:
    clk = new_clock(client)
    cust = client.v1.customers.create({"test_clock": clk.id})
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.subscriptions.create(
            {
                "customer": cust.id,
                "items": [{"price": licensed_price(client).id}],
                "payment_behavior": "pending_if_incomplete",
            }
        )
    assert err_tuple(exc) == (
        400,
        "invalid_request_error",
        None,
        "payment_behavior",
        "payment_behavior=pending_if_incomplete can only be used when updating a subscription.",
    )


def test_incomplete_expires_after_23_hours(client: stripe.StripeClient) -> None:
    clk, cust, sub = clocked_sub(client, [licensed_price(client).id], customer=FAILING)
    assert sub.status == "incomplete"
    first = client.v1.invoices.retrieve(sub.latest_invoice)
    assert (first.status, first.attempt_count, first.next_payment_attempt) == ("open", 1, None)
    assert client.v1.customers.retrieve(cust.id).delinquent is True
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.subscriptions.update(sub.id, {"description": "x"})
    assert err_tuple(exc) == (
        400,
        "invalid_request_error",
        None,
        None,
        "A subscription with status incomplete can only update its metadata and default_source.",
    )
    ev = Events(client)
    ev.skip()
    advance(client, clk.id, JAN1 + 23 * HOUR - 1)
    assert client.v1.subscriptions.retrieve(sub.id).status == "incomplete"
    assert ev.types() == []
    advance(client, clk.id, JAN1 + 23 * HOUR)
    gone = client.v1.subscriptions.retrieve(sub.id)
    assert (gone.status, gone.ended_at) == ("incomplete_expired", JAN1 + 23 * HOUR)
    assert gone.canceled_at == JAN1 + 23 * HOUR
    got = ev.new()
    assert [e.type for e in got] == ["invoice.voided", "customer.subscription.updated"]
    assert got[1].data.previous_attributes.status == "incomplete"
    assert client.v1.invoices.retrieve(sub.latest_invoice).status == "void"


def test_paying_the_first_invoice_activates(client: stripe.StripeClient) -> None:
    _, cust, sub = clocked_sub(client, [licensed_price(client).id], customer=FAILING)
    pm = client.v1.payment_methods.attach("pm_card_visa", {"customer": cust.id})
    client.v1.invoices.pay(sub.latest_invoice, {"payment_method": pm.id})
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"
    assert client.v1.customers.retrieve(cust.id).delinquent is False


def test_send_invoice_goes_past_due_at_the_due_date(client: stripe.StripeClient) -> None:
    clk, cust, sub = clocked_sub(
        client, [licensed_price(client).id], collection_method="send_invoice", days_until_due=7
    )
    inv = client.v1.invoices.retrieve(sub.latest_invoice)
    assert (inv.status, inv.due_date, inv.next_payment_attempt) == ("open", JAN1 + 7 * DAY, None)
    assert sub.status == "active"
    ev = Events(client)
    ev.skip()
    advance(client, clk.id, JAN1 + 7 * DAY - 1)
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"
    assert client.v1.customers.retrieve(cust.id).delinquent is False
    advance(client, clk.id, JAN1 + 7 * DAY)
    assert client.v1.subscriptions.retrieve(sub.id).status == "past_due"
    assert client.v1.customers.retrieve(cust.id).delinquent is True
    assert ev.types() == ["customer.updated", "customer.subscription.updated"]
    late = client.v1.invoices.retrieve(inv.id)
    assert (late.status, late.attempted, late.attempt_count) == ("open", False, 0)
    sent = client.v1.invoices.send_invoice(inv.id)
    assert sent.id == inv.id
    assert ev.types() == ["invoice.sent"]
    client.v1.invoices.pay(inv.id, {"paid_out_of_band": True})
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"
    assert client.v1.customers.retrieve(cust.id).delinquent is False
    advance(client, clk.id, FEB1 + HOUR)  # the next invoice: sent, not charged
    nxt = invoices_of(client, sub.id)[-1]
    assert (nxt.status, nxt.attempted, nxt.due_date) == ("open", False, FEB1 + HOUR + 7 * DAY)


def test_days_until_due_needs_send_invoice(client: stripe.StripeClient) -> None:
    clk = new_clock(client)
    cust = client.v1.customers.create({"test_clock": clk.id})
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.subscriptions.create(
            {
                "customer": cust.id,
                "items": [{"price": licensed_price(client).id}],
                "days_until_due": 5,
            }
        )
    assert err_tuple(exc) == (
        400,
        "invalid_request_error",
        None,
        "days_until_due",
        "Invalid days_until_due: days_until_due can only be set when collection_method is "
        "send_invoice.",
    )


def test_send_errors(client: stripe.StripeClient) -> None:
    _, _, sub = clocked_sub(client, [licensed_price(client).id])
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.invoices.send_invoice(sub.latest_invoice)
    assert err_tuple(exc) == (
        400,
        "invalid_request_error",
        None,
        None,
        "You can only manually send an invoice if its collection method is 'send_invoice'.",
    )
    _, _, sent = clocked_sub(
        client, [licensed_price(client).id], collection_method="send_invoice", days_until_due=3
    )
    client.v1.invoices.void_invoice(sent.latest_invoice)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.invoices.send_invoice(sent.latest_invoice)
    assert err_tuple(exc) == (
        400,
        "invalid_request_error",
        None,
        None,
        "You can't send an invoice with status void.",
    )


def _pending_upgrade(client: stripe.StripeClient) -> tuple[Any, Any, Any, Any]:
    """(clock, subscription, old price, new price): a 1000 -> 3000 upgrade made with
    pending_if_incomplete on a failing card, 10 days into the period."""
    price = licensed_price(client, 1000)
    bigger = licensed_price(client, 3000)
    clk, cust, sub = clocked_sub(client, [price.id])
    client.v1.customers.update(cust.id, FAILING)  # type: ignore[arg-type]
    advance(client, clk.id, JAN1 + 10 * DAY)
    item = sub["items"].data[0].id
    got = client.v1.subscriptions.update(
        sub.id,
        {
            "items": [{"id": item, "price": bigger.id}],
            "proration_behavior": "always_invoice",
            "payment_behavior": "pending_if_incomplete",
        },
    )
    return clk, got, price, bigger


def test_pending_if_incomplete_keeps_the_update_pending(client: stripe.StripeClient) -> None:
    _, sub, price, bigger = _pending_upgrade(client)
    assert (sub.status, sub["items"].data[0].price.id) == ("active", price.id)
    pending = sub.pending_update
    assert pending.expires_at == JAN1 + 10 * DAY + 23 * HOUR
    assert [it.price.id for it in pending.subscription_items] == [bigger.id]
    inv = client.v1.invoices.retrieve(sub.latest_invoice)
    assert (inv.billing_reason, inv.status, inv.next_payment_attempt) == (
        "subscription_update",
        "open",
        None,
    )
    assert inv.amount_due > 0
    paid = client.v1.invoices.pay(inv.id, {"payment_method": "pm_card_visa"})
    assert paid.status == "paid"
    done = client.v1.subscriptions.retrieve(sub.id)
    assert (done.pending_update, done["items"].data[0].price.id) == (None, bigger.id)


def test_pending_update_expires_after_23_hours(client: stripe.StripeClient) -> None:
    clk, sub, price, _ = _pending_upgrade(client)
    at = JAN1 + 10 * DAY + 23 * HOUR
    advance(client, clk.id, at - 1)
    assert client.v1.subscriptions.retrieve(sub.id).pending_update is not None
    advance(client, clk.id, at)
    done = client.v1.subscriptions.retrieve(sub.id)
    assert (done.pending_update, done["items"].data[0].price.id) == (None, price.id)
    assert client.v1.invoices.retrieve(sub.latest_invoice).status == "void"


def test_pending_if_incomplete_refuses_other_parameters(client: stripe.StripeClient) -> None:
    _, _, sub = clocked_sub(client, [licensed_price(client).id])
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.subscriptions.update(
            sub.id, {"payment_behavior": "pending_if_incomplete", "metadata": {"a": "b"}}
        )
    assert err_tuple(exc) == (
        400,
        "invalid_request_error",
        None,
        "metadata",
        "The following parameters cannot be used with payment_behavior=pending_if_incomplete: "
        "metadata.",
    )


def test_default_incomplete_on_an_update_leaves_its_invoice_unpaid(
    client: stripe.StripeClient,
) -> None:
    # a card that would succeed: default_incomplete must still not charge the update's invoice
    price = licensed_price(client, 1000)
    bigger = licensed_price(client, 3000)
    _, _, sub = clocked_sub(client, [price.id])
    updated = client.v1.subscriptions.update(
        sub.id,
        {
            "items": [{"id": sub["items"].data[0].id, "price": bigger.id}],
            "proration_behavior": "always_invoice",
            "payment_behavior": "default_incomplete",
        },
    )
    inv = client.v1.invoices.retrieve(updated.latest_invoice)
    assert inv.id != sub.latest_invoice
    assert (inv.status, inv.attempted, inv.amount_paid) == ("open", False, 0)
    assert updated.status == "past_due"
    paid = client.v1.invoices.pay(inv.id)
    assert paid.status == "paid"
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"
