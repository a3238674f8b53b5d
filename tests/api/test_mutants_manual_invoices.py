"""One-off invoices pinned while reviewing the surviving mutants of billing/manual_invoices.py
(issue 15): a new draft's currency and dates, `auto_advance` changes on drafts and open
invoices, and the time-driven steps of a clock advance. Clocks start at JAN1."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from stripe_mock_billing.handle import StripeMock
from stripe_mock_billing.server import ThreadedServer
from tests.api.billing_helpers import (
    DAY,
    FEB1,
    HOUR,
    JAN1,
    MAR1,
    advance,
    clocked_sub,
    err_tuple,
    invoices_of,
    licensed_price,
    new_clock,
)
from tests.conftest import make_client

VISA = {"invoice_settings": {"default_payment_method": "pm_card_visa"}}
JAN6 = JAN1 + 5 * DAY


def _customer(client: stripe.StripeClient, **extra: Any) -> tuple[str, str]:
    clk = new_clock(client)
    cust = client.v1.customers.create({"test_clock": clk.id, **extra})
    return clk.id, cust.id


def _failing_card(client: stripe.StripeClient, cus: str) -> str:
    client.v1.payment_methods.attach("pm_card_chargeCustomerFail", {"customer": cus})
    return str(client.v1.customers.payment_methods.list(cus).data[0].id)


def test_a_new_draft_is_dated_now_in_the_right_currency(client: stripe.StripeClient) -> None:
    """A draft's period is the moment of its creation (the customer's clock time, also the
    `invoice.created` event's); its currency is the one asked for, else its subscription's,
    else usd."""
    clk, cus = _customer(client)
    advance(client, clk, JAN6)
    plain = client.v1.invoices.create({"customer": cus})
    assert (plain.currency, plain.created, plain.period_start, plain.period_end) == (
        "usd",
        JAN6,
        JAN6,
        JAN6,
    )
    (created,) = client.v1.events.list({"type": "invoice.created"}).data
    assert (created.data.object.id, created.created) == (plain.id, JAN6)
    assert client.v1.invoices.create({"customer": cus, "currency": "EUR"}).currency == "eur"
    eur = client.v1.prices.create(
        {
            "currency": "eur",
            "unit_amount": 900,
            "recurring": {"interval": "month"},
            "product_data": {"name": "Pro EU"},
        }
    )
    sub = client.v1.subscriptions.create({"customer": cus, "items": [{"price": eur.id}]})
    named = client.v1.invoices.create({"customer": cus, "subscription": sub.id})
    assert (named.currency, named.parent.subscription_details.subscription) == ("eur", sub.id)


def test_a_reactivated_draft_of_a_canceled_subscription_finalizes_in_time_order(
    client: stripe.StripeClient,
) -> None:
    """Canceling stops the renewal draft (`auto_advance` false); turning it back on finalizes it
    an hour after its creation, on the clock, among the customer's other subscription's steps in
    time order (events are listed newest first)."""
    clk, cus, sub = clocked_sub(client, [licensed_price(client, 1000).id], customer=VISA)
    client.v1.subscriptions.create(
        {"customer": cus.id, "items": [{"price": licensed_price(client, 300).id}]}
    )
    advance(client, clk.id, FEB1 + 60)
    client.v1.subscriptions.cancel(sub.id)
    (draft,) = [i for i in invoices_of(client, sub.id) if i.status == "draft"]
    assert (draft.auto_advance, draft.automatically_finalizes_at) == (False, None)
    again = client.v1.invoices.update(draft.id, {"auto_advance": True})
    assert (again.auto_advance, again.automatically_finalizes_at) == (True, FEB1 + HOUR)
    advance(client, clk.id, MAR1 + 60)
    done = client.v1.invoices.retrieve(draft.id)
    assert (done.status, done.status_transitions.finalized_at) == ("paid", FEB1 + HOUR)
    got = client.v1.events.list({"limit": 100}).data
    stamps = [e.created for e in got if e.type.startswith("invoice.")]
    assert stamps == sorted(stamps, reverse=True)
    assert FEB1 + HOUR in stamps and MAR1 in stamps


def test_a_deleted_auto_advancing_draft_naming_a_subscription_leaves_nothing_behind(
    client: stripe.StripeClient,
) -> None:
    """A one-off draft naming a subscription, switched to `auto_advance` and then deleted, is
    gone for good: the subscription's later renewals run as usual."""
    clk, cus, sub = clocked_sub(client, [licensed_price(client, 1000).id], customer=VISA)
    client.v1.invoice_items.create({"customer": cus.id, "amount": 250, "currency": "usd"})
    one_off = client.v1.invoices.create(
        {"customer": cus.id, "subscription": sub.id, "pending_invoice_items_behavior": "include"}
    )
    on = client.v1.invoices.update(one_off.id, {"auto_advance": True})
    assert on.automatically_finalizes_at == JAN1 + HOUR
    client.v1.invoices.delete(one_off.id)
    advance(client, clk.id, FEB1 + 2 * HOUR)
    renewal = [i for i in invoices_of(client, sub.id) if i.billing_reason == "subscription_cycle"]
    # the deleted draft's item went back to pending and is billed on the renewal
    assert [(i.status, i.total) for i in renewal] == [("paid", 1250)]


def test_a_send_invoice_invoice_is_never_charged_automatically(
    client: stripe.StripeClient,
) -> None:
    """`auto_advance` on an open send_invoice invoice whose payment by API failed schedules no
    automatic retry: the customer pays it (the due date passes without a charge)."""
    clk, cus = _customer(client)
    card = _failing_card(client, cus)
    client.v1.invoice_items.create({"customer": cus, "amount": 900, "currency": "usd"})
    inv = client.v1.invoices.create(
        {
            "customer": cus,
            "collection_method": "send_invoice",
            "days_until_due": 30,
            "pending_invoice_items_behavior": "include",
        }
    )
    client.v1.invoices.finalize_invoice(inv.id, {"auto_advance": False})
    with pytest.raises(stripe.CardError) as exc:
        client.v1.invoices.pay(inv.id, {"payment_method": card})
    assert err_tuple(exc)[:3] == (402, "card_error", "card_declined")
    on = client.v1.invoices.update(inv.id, {"auto_advance": True})
    assert (on.attempt_count, on.next_payment_attempt) == (1, None)
    advance(client, clk, JAN1 + 20 * DAY)
    later = client.v1.invoices.retrieve(inv.id)
    assert (later.status, later.attempt_count, later.next_payment_attempt) == ("open", 1, None)
    assert len(client.v1.events.list({"type": "invoice.payment_failed"}).data) == 1


def test_automatic_steps_of_a_one_off_invoice_have_no_request(
    client: stripe.StripeClient,
) -> None:
    """Finalization and retries done by the clock are automatic: their events name no request
    (the advance call's id is not theirs). A retry due exactly at the advance's target runs in
    that advance."""
    clk, cus = _customer(client)
    card = _failing_card(client, cus)
    client.v1.invoice_items.create({"customer": cus, "amount": 900, "currency": "usd"})
    inv = client.v1.invoices.create(
        {
            "customer": cus,
            "auto_advance": True,
            "pending_invoice_items_behavior": "include",
            "default_payment_method": card,
        }
    )
    advance(client, clk, JAN1 + HOUR + 3 * DAY)  # finalized at +1 h, retried 3 days later
    got = client.v1.invoices.retrieve(inv.id)
    assert (got.status, got.attempt_count, got.next_payment_attempt) == (
        "open",
        2,
        JAN1 + HOUR + 3 * DAY + 5 * DAY,
    )
    (fin,) = client.v1.events.list({"type": "invoice.finalized"}).data
    failed = client.v1.events.list({"type": "invoice.payment_failed"}).data
    assert [e.created for e in failed] == [JAN1 + HOUR + 3 * DAY, JAN1 + HOUR]
    assert [(e.request.id, e.request.idempotency_key) for e in [fin, *failed]] == [(None, None)] * 3


def test_a_stopped_one_off_draft_survives_a_snapshot(
    server: ThreadedServer,
    client: stripe.StripeClient,
    mock: StripeMock,
    schema_violations: list[str],
) -> None:
    """A one-off draft whose `auto_advance` was turned off exports and imports unchanged, and
    still waits for an explicit finalization; one left on finalizes after the import."""
    clk, cus = _customer(client, **VISA)
    stopped = client.v1.invoices.create({"customer": cus, "auto_advance": True})
    client.v1.invoices.update(stopped.id, {"auto_advance": False})
    running = client.v1.invoices.create({"customer": cus, "auto_advance": True})
    other = StripeMock.connect(server.url)
    other.import_state(mock.export_state())
    twin = make_client(server.url, other.api_key, schema_violations)
    for inv in (stopped, running):
        assert twin.v1.invoices.retrieve(inv.id).to_dict() == (
            client.v1.invoices.retrieve(inv.id).to_dict()
        )
    advance(twin, clk, JAN1 + 2 * HOUR)
    after = [twin.v1.invoices.retrieve(i.id) for i in (stopped, running)]
    assert [(i.status, i.automatically_finalizes_at) for i in after] == [
        ("draft", None),
        ("paid", None),
    ]
