"""One-off invoices through the SDK: create -> items -> finalize -> pay, auto-advance on the
clock, updates by status, delete, and every wrong-state call."""

from __future__ import annotations

import pytest
import stripe

from tests.api.billing_helpers import (
    DAY,
    HOUR,
    JAN1,
    advance,
    clocked_sub,
    err_tuple,
    licensed_price,
    new_clock,
)
from tests.api.dunning_helpers import Events

VISA = {"invoice_settings": {"default_payment_method": "pm_card_visa"}}


def _customer(client: stripe.StripeClient, **extra: object) -> tuple[str, str]:
    clk = new_clock(client)
    cust = client.v1.customers.create({"test_clock": clk.id, **VISA, **extra})  # type: ignore[arg-type]
    return clk.id, cust.id


def test_create_add_items_finalize_pay(client: stripe.StripeClient) -> None:
    _, cus = _customer(client)
    client.v1.invoice_items.create({"customer": cus, "amount": 1500, "currency": "usd"})
    price = licensed_price(client, 250)
    ev = Events(client)
    ev.skip()
    inv = client.v1.invoices.create(
        {
            "customer": cus,
            "pending_invoice_items_behavior": "include",
            "description": "Setup",
            "metadata": {"order": "42"},
        }
    )
    assert (inv.status, inv.billing_reason, inv.auto_advance) == ("draft", "manual", False)
    assert (inv.total, inv.description, inv.metadata.to_dict()) == (1500, "Setup", {"order": "42"})
    assert (inv.created, inv.next_payment_attempt, inv.due_date) == (JAN1, None, None)
    client.v1.invoice_items.create(
        {"customer": cus, "invoice": inv.id, "price": price.id, "quantity": 2}
    )
    draft = client.v1.invoices.retrieve(inv.id)
    assert (draft.total, draft.amount_due, len(draft.lines.data)) == (2000, 2000, 2)
    done = client.v1.invoices.finalize_invoice(inv.id)
    assert (done.status, done.attempted, done.amount_remaining) == ("open", False, 2000)
    paid = client.v1.invoices.pay(inv.id)
    assert (paid.status, paid.amount_paid, paid.amount_remaining, paid.attempt_count) == (
        "paid",
        2000,
        0,
        1,
    )
    assert ev.types() == [
        "invoice.created",
        "invoiceitem.created",
        "invoice.finalized",
        "invoice.paid",
        "invoice.payment_succeeded",
    ]


def test_exclude_leaves_pending_items_pending(client: stripe.StripeClient) -> None:
    _, cus = _customer(client)
    item = client.v1.invoice_items.create({"customer": cus, "amount": 700, "currency": "usd"})
    inv = client.v1.invoices.create({"customer": cus})
    assert inv.total == 0
    assert client.v1.invoice_items.retrieve(item.id).invoice is None


def test_pay_a_draft_finalizes_it_first(client: stripe.StripeClient) -> None:
    """As `stripe trigger invoice.payment_failed` does: create, then pay straight away."""
    _, cus = _customer(client)
    client.v1.payment_methods.attach("pm_card_chargeCustomerFail", {"customer": cus})
    cards = client.v1.customers.payment_methods.list(cus).data
    client.v1.invoice_items.create({"customer": cus, "amount": 2000, "currency": "usd"})
    inv = client.v1.invoices.create({"customer": cus, "pending_invoice_items_behavior": "include"})
    with pytest.raises(stripe.CardError) as exc:
        client.v1.invoices.pay(inv.id, {"payment_method": cards[0].id})
    assert err_tuple(exc) == (402, "card_error", "card_declined", None, "Your card was declined.")
    after = client.v1.invoices.retrieve(inv.id)
    assert (after.status, after.attempt_count, after.amount_remaining) == ("open", 1, 2000)
    assert after.number is not None
    assert len(client.v1.events.list({"type": "invoice.payment_failed"}).data) == 1


def test_auto_advance_finalizes_after_an_hour(client: stripe.StripeClient) -> None:
    clk, cus = _customer(client)
    client.v1.invoice_items.create({"customer": cus, "amount": 900, "currency": "usd"})
    inv = client.v1.invoices.create(
        {"customer": cus, "auto_advance": True, "pending_invoice_items_behavior": "include"}
    )
    assert inv.next_payment_attempt == JAN1 + HOUR
    advance(client, clk, JAN1 + HOUR - 1)
    assert client.v1.invoices.retrieve(inv.id).status == "draft"
    advance(client, clk, JAN1 + HOUR)
    paid = client.v1.invoices.retrieve(inv.id)
    assert (paid.status, paid.amount_paid, paid.status_transitions.paid_at) == (
        "paid",
        900,
        JAN1 + HOUR,
    )


def test_auto_advance_manual_invoice_retries_and_stays_open(client: stripe.StripeClient) -> None:
    clk, cus = _customer(client, payment_method="pm_card_chargeCustomerFail")
    cards = client.v1.customers.payment_methods.list(cus).data
    failing = next(c.id for c in cards if c.card.last4 == "0341")
    client.v1.invoice_items.create({"customer": cus, "amount": 900, "currency": "usd"})
    inv = client.v1.invoices.create(
        {
            "customer": cus,
            "auto_advance": True,
            "pending_invoice_items_behavior": "include",
            "default_payment_method": failing,
        }
    )
    advance(client, clk, JAN1 + HOUR)
    got = client.v1.invoices.retrieve(inv.id)
    assert (got.status, got.attempt_count, got.next_payment_attempt) == (
        "open",
        1,
        JAN1 + HOUR + 3 * DAY,
    )
    advance(client, clk, JAN1 + HOUR + 15 * DAY)
    got = client.v1.invoices.retrieve(inv.id)
    assert (got.status, got.attempt_count, got.next_payment_attempt) == ("open", 4, None)


def test_send_invoice_manual_due_date(client: stripe.StripeClient) -> None:
    _, cus = _customer(client)
    inv = client.v1.invoices.create(
        {"customer": cus, "collection_method": "send_invoice", "days_until_due": 10}
    )
    assert inv.due_date == JAN1 + 10 * DAY
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.invoices.create({"customer": cus, "days_until_due": 10})
    assert err_tuple(exc) == (
        400,
        "invalid_request_error",
        None,
        "days_until_due",
        "Invalid days_until_due: days_until_due can only be set when collection_method is "
        "send_invoice.",
    )
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.invoices.create(
            {
                "customer": cus,
                "collection_method": "send_invoice",
                "days_until_due": 10,
                "due_date": JAN1 + DAY,
            }
        )
    assert err_tuple(exc) == (
        400,
        "invalid_request_error",
        "parameters_exclusive",
        "days_until_due",
        "You may only specify one of these parameters: days_until_due, due_date.",
    )


def test_update_a_draft(client: stripe.StripeClient) -> None:
    _, cus = _customer(client)
    inv = client.v1.invoices.create({"customer": cus})
    upd = client.v1.invoices.update(
        inv.id,
        {
            "collection_method": "send_invoice",
            "days_until_due": 5,
            "description": "New",
            "metadata": {"a": "1"},
        },
    )
    assert (upd.collection_method, upd.due_date, upd.description) == (
        "send_invoice",
        JAN1 + 5 * DAY,
        "New",
    )
    ev = client.v1.events.list({"type": "invoice.updated"}).data[0]
    assert ev.data.previous_attributes.collection_method == "charge_automatically"


def test_wrong_state_calls(client: stripe.StripeClient) -> None:
    _, cus = _customer(client)
    client.v1.invoice_items.create({"customer": cus, "amount": 500, "currency": "usd"})
    inv = client.v1.invoices.create({"customer": cus, "pending_invoice_items_behavior": "include"})
    client.v1.invoices.finalize_invoice(inv.id)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.invoices.delete(inv.id)
    assert err_tuple(exc) == (
        400,
        "invalid_request_error",
        None,
        None,
        "You can't delete an invoice with status open: only draft invoices can be deleted. "
        "Void it instead.",
    )
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.invoices.update(inv.id, {"collection_method": "send_invoice"})
    assert err_tuple(exc) == (
        400,
        "invalid_request_error",
        None,
        "collection_method",
        "You can't update `collection_method` on an invoice with status open; only "
        "`auto_advance`, `default_payment_method`, `description`, `metadata` can be updated.",
    )
    opened = client.v1.invoices.update(inv.id, {"description": "ok"})
    assert opened.description == "ok"
    client.v1.invoices.pay(inv.id)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.invoices.update(inv.id, {"auto_advance": True})
    assert err_tuple(exc) == (
        400,
        "invalid_request_error",
        None,
        "auto_advance",
        "You can't update `auto_advance` on an invoice with status paid; only `description`, "
        "`metadata` can be updated.",
    )
    assert client.v1.invoices.update(inv.id, {"metadata": {"k": "v"}}).metadata.k == "v"
    client.v1.invoice_items.create({"customer": cus, "amount": 300, "currency": "usd"})
    void = client.v1.invoices.create({"customer": cus, "pending_invoice_items_behavior": "include"})
    client.v1.invoices.finalize_invoice(void.id)
    client.v1.invoices.void_invoice(void.id)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.invoices.pay(void.id)
    assert err_tuple(exc) == (
        400,
        "invalid_request_error",
        None,
        None,
        "This invoice has been voided and can no longer be paid.",
    )


def test_delete_a_draft(client: stripe.StripeClient) -> None:
    _, cus = _customer(client)
    item = client.v1.invoice_items.create({"customer": cus, "amount": 500, "currency": "usd"})
    inv = client.v1.invoices.create({"customer": cus, "pending_invoice_items_behavior": "include"})
    gone = client.v1.invoices.delete(inv.id)
    assert (gone.id, gone.deleted) == (inv.id, True)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.invoices.retrieve(inv.id)
    assert err_tuple(exc)[:3] == (404, "invalid_request_error", "resource_missing")
    assert client.v1.invoice_items.retrieve(item.id).invoice is None  # pending again
    assert client.v1.events.list({"type": "invoice.deleted"}).data[0].data.object.id == inv.id


def test_subscription_draft_cannot_be_deleted(client: stripe.StripeClient) -> None:
    clk, _, sub = clocked_sub(client, [licensed_price(client).id])
    advance(client, clk.id, JAN1 + 31 * DAY)
    draft = client.v1.subscriptions.retrieve(sub.id).latest_invoice
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.invoices.delete(draft)
    assert err_tuple(exc) == (
        400,
        "invalid_request_error",
        None,
        None,
        "You can't delete an invoice created by a subscription. Void it instead.",
    )
    stopped = client.v1.invoices.update(draft, {"auto_advance": False})
    assert (stopped.auto_advance, stopped.next_payment_attempt) == (False, None)
    advance(client, clk.id, JAN1 + 32 * DAY)
    assert client.v1.invoices.retrieve(draft).status == "draft"


def test_create_errors(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.invoices.create({"customer": "cus_nope"})
    assert err_tuple(exc) == (
        400,
        "invalid_request_error",
        "resource_missing",
        "customer",
        "No such customer: 'cus_nope'",
    )
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.invoices.create({})  # type: ignore[typeddict-item]
    assert err_tuple(exc) == (
        400,
        "invalid_request_error",
        "parameter_missing",
        "customer",
        "Missing required param: customer.",
    )


def test_invoice_item_update_on_a_manual_invoice(client: stripe.StripeClient) -> None:
    _, cus = _customer(client)
    inv = client.v1.invoices.create({"customer": cus})
    ii = client.v1.invoice_items.create(
        {"customer": cus, "amount": 400, "currency": "usd", "invoice": inv.id}
    )
    client.v1.invoice_items.update(ii.id, {"amount": 650, "description": "Fee"})
    draft = client.v1.invoices.retrieve(inv.id)
    assert (draft.total, draft.lines.data[0].description) == (650, "Fee")
    paid = client.v1.invoices.pay(inv.id)
    assert (paid.status, paid.amount_paid) == ("paid", 650)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.invoice_items.update(ii.id, {"amount": 1})
    assert err_tuple(exc) == (
        400,
        "invalid_request_error",
        None,
        None,
        "You can't update an invoice item that is attached to a finalized invoice.",
    )
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.invoice_items.delete(ii.id)
    assert err_tuple(exc) == (
        400,
        "invalid_request_error",
        None,
        None,
        "You can't delete an invoice item that is attached to a finalized invoice.",
    )
