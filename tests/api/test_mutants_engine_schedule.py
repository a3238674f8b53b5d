"""Billing engine behaviour seen by a user, pinned where the second mutation review of
engine.py found it untested: the wall-clock schedule follows invoices finalized by a request,
invoice item deletion, `billing_cycle_anchor=now` right after a price change, and the events
of subscription updates and customers (types, timestamps)."""

from __future__ import annotations

import types

import pytest
import stripe

from stripe_mock_billing.handle import StripeMock
from stripe_mock_billing.server import ThreadedServer
from tests.api.billing_helpers import (
    DAY,
    FEB1,
    JAN1,
    advance,
    clocked_sub,
    invoices_of,
    legacy_metered_price,
    licensed_price,
    report,
    set_account,
)
from tests.api.dunning_helpers import FAILING_CUSTOMER, VISA_CUSTOMER

JAN4 = JAN1 + 3 * DAY
JAN11 = JAN1 + 10 * DAY


def test_a_subscription_invoice_finalized_by_request_is_retried_on_the_wall_clock(
    client: stripe.StripeClient, mock: StripeMock
) -> None:
    """A wall-clock subscription (10.00/month) and a one-off 7.00 invoice naming it, finalized
    by request with `auto_advance=true` on a failing card: the automatic attempt fails, the
    first retry is 3 days later (the account's default schedule), well before the period end,
    and runs once the wall clock passes it."""
    cust = client.v1.customers.create(VISA_CUSTOMER)  # type: ignore[arg-type]
    sub = client.v1.subscriptions.create(
        {"customer": cust.id, "items": [{"price": licensed_price(client, 1000).id}]}
    )
    client.v1.customers.update(cust.id, FAILING_CUSTOMER)  # type: ignore[arg-type]
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
    clk, _, sub = clocked_sub(client, [legacy_metered_price(client, 7).id], customer=VISA_CUSTOMER)
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
    _, _, sub = clocked_sub(client, [old.id], customer=VISA_CUSTOMER)
    si = sub["items"].data[0].id
    inv = _anchor_now(client, sub.id, items=[{"id": si, "price": new.id}])
    assert [(ln.price.id, ln.quantity, ln.amount) for ln in inv.lines.data] == [(new.id, 0, 0)]
    assert (inv.period_start, inv.period_end, inv.amount_due) == (JAN1, JAN1, 0)


# --- events of updates, invoice items ----------------------------------------------------------


def _event(client: stripe.StripeClient, type_: str) -> stripe.Event:
    got = client.v1.events.list({"type": type_, "limit": 1}).data
    assert got, f"no {type_} event"
    return got[0]


def test_a_subscription_update_event_carries_the_clock_time_and_what_changed(
    client: stripe.StripeClient,
) -> None:
    clk, _, sub = clocked_sub(client, [licensed_price(client, 1000).id], customer=VISA_CUSTOMER)
    advance(client, clk.id, JAN4)
    client.v1.subscriptions.update(sub.id, {"metadata": {"plan": "gold"}})
    ev = _event(client, "customer.subscription.updated")
    assert (ev.created, ev.data.object.id, ev.data.object.metadata.to_dict()) == (
        JAN4,
        sub.id,
        {"plan": "gold"},
    )
    assert ev.data.previous_attributes.to_dict() == {"metadata": {"plan": None}}


def test_customer_events_carry_the_clock_time(client: stripe.StripeClient) -> None:
    clk = client.v1.test_helpers.test_clocks.create({"frozen_time": JAN4})
    cust = client.v1.customers.create({"test_clock": clk.id, "name": "Ada"})
    created = _event(client, "customer.created")
    assert (created.created, created.data.object.id) == (JAN4, cust.id)
    client.v1.customers.update(cust.id, {"name": "Grace"})
    ev = _event(client, "customer.updated")
    assert (ev.created, ev.data.object.name) == (JAN4, "Grace")
    assert ev.data.previous_attributes.to_dict() == {"name": "Ada"}


def test_an_invoice_item_created_event_carries_the_clock_time(client: stripe.StripeClient) -> None:
    clk = client.v1.test_helpers.test_clocks.create({"frozen_time": JAN4})
    cust = client.v1.customers.create({"test_clock": clk.id})
    ii = client.v1.invoice_items.create({"customer": cust.id, "amount": 700, "currency": "usd"})
    ev = _event(client, "invoiceitem.created")
    assert (ev.created, ev.data.object.id, ev.data.object.amount) == (JAN4, ii.id, 700)


def test_deleting_an_item_of_a_draft_leaves_the_customers_pending_item(
    client: stripe.StripeClient,
) -> None:
    """A pending 3.00 item and a 7.00 item on a one-off draft of the same customer: deleting
    the draft's item takes its line off; the pending item goes on the next invoice."""
    clk = client.v1.test_helpers.test_clocks.create({"frozen_time": JAN4})
    cust = client.v1.customers.create({"test_clock": clk.id, **VISA_CUSTOMER})  # type: ignore[arg-type]
    draft = client.v1.invoices.create({"customer": cust.id})
    on_draft = client.v1.invoice_items.create(
        {"customer": cust.id, "invoice": draft.id, "amount": 700, "currency": "usd"}
    )
    pending = client.v1.invoice_items.create(
        {"customer": cust.id, "amount": 300, "currency": "usd"}
    )
    gone = client.v1.invoice_items.delete(on_draft.id)
    assert (gone.id, gone.deleted) == (on_draft.id, True)
    assert client.v1.invoices.retrieve(draft.id).lines.data == []
    nxt = client.v1.invoices.create(
        {"customer": cust.id, "pending_invoice_items_behavior": "include"}
    )
    assert [ln.amount for ln in nxt.lines.data] == [300]
    assert client.v1.invoice_items.retrieve(pending.id).invoice == nxt.id


def test_attaching_a_customer_to_a_clock_moves_its_pending_items_onto_the_clock(
    client: stripe.StripeClient,
) -> None:
    cust = client.v1.customers.create()
    ii = client.v1.invoice_items.create({"customer": cust.id, "amount": 700, "currency": "usd"})
    clk = client.v1.test_helpers.test_clocks.create(
        {"frozen_time": cust.created, "customer": cust.id}  # type: ignore[typeddict-unknown-key]
    )
    assert client.v1.invoice_items.retrieve(ii.id).test_clock == clk.id
    # a test clock's items are listed only when a customer or invoice filter asks for them
    assert ii.id not in [i.id for i in client.v1.invoice_items.list({"limit": 100}).data]
    listed = client.v1.invoice_items.list({"customer": cust.id}).data
    assert [i.id for i in listed] == [ii.id]


def test_switching_cancel_at_period_end_on_a_wall_clock_subscription(
    client: stripe.StripeClient, mock: StripeMock
) -> None:
    """`cancel_at_period_end` on a subscription without a test clock: it is canceled once the
    wall clock passes its period end, not before."""
    cust = client.v1.customers.create(VISA_CUSTOMER)  # type: ignore[arg-type]
    sub = client.v1.subscriptions.create(
        {"customer": cust.id, "items": [{"price": licensed_price(client, 1000).id}]}
    )
    got = client.v1.subscriptions.update(sub.id, {"cancel_at_period_end": True})
    assert (got.cancel_at_period_end, got.status) == (True, "active")
    end = got["items"].data[0].current_period_end
    mock.advance_wall_clock(end - mock.now() - 60)
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"
    mock.advance_wall_clock(61)
    done = client.v1.subscriptions.retrieve(sub.id)
    assert (done.status, done.ended_at) == ("canceled", end)


def test_a_snapshot_after_a_price_change_imports_and_renews_at_the_new_price(
    client: stripe.StripeClient, mock: StripeMock
) -> None:
    """10.00/month from Jan 1, switched to 20.00 on Jan 4 without proration: the account's
    snapshot imports again (after the creation and after the change), and the Feb 1 renewal
    bills 20.00."""
    a, b = licensed_price(client, 1000), licensed_price(client, 2000)
    clk, _, sub = clocked_sub(client, [a.id], customer=VISA_CUSTOMER)
    mock.import_state(mock.export_state())
    advance(client, clk.id, JAN4)
    si = sub["items"].data[0].id
    client.v1.subscriptions.update(
        sub.id, {"items": [{"id": si, "price": b.id}], "proration_behavior": "none"}
    )
    mock.import_state(mock.export_state())
    advance(client, clk.id, FEB1)
    renewal = invoices_of(client, sub.id)[-1]
    assert (renewal.billing_reason, renewal.subtotal) == ("subscription_cycle", 2000)
    assert [ln.pricing.price_details.price for ln in renewal.lines.data] == [b.id]


# --- strict test clock limits ------------------------------------------------------------------


def test_strict_limits_count_live_subscriptions_of_test_clock_customers_only(
    client: stripe.StripeClient, server: ThreadedServer, api_key: str
) -> None:
    """Strict limits: a canceled subscription frees its place among a test clock customer's 3,
    and a customer without a test clock is not capped."""
    set_account(server, api_key, strict_clock_limits=True)
    prices = [licensed_price(client, 100 * (i + 1)).id for i in range(4)]
    _, cust, first = clocked_sub(client, [prices[0]])
    for pr in prices[1:3]:
        client.v1.subscriptions.create({"customer": cust.id, "items": [{"price": pr}]})
    client.v1.subscriptions.cancel(first.id)
    fourth = client.v1.subscriptions.create({"customer": cust.id, "items": [{"price": prices[3]}]})
    assert fourth.status == "active"
    wall = client.v1.customers.create(VISA_CUSTOMER)  # type: ignore[arg-type]
    for pr in prices:
        got = client.v1.subscriptions.create({"customer": wall.id, "items": [{"price": pr}]})
        assert got.status == "active"


def test_without_strict_limits_a_test_clock_customer_has_more_than_three_subscriptions(
    client: stripe.StripeClient,
) -> None:
    prices = [licensed_price(client, 100 * (i + 1)).id for i in range(4)]
    _, cust, _ = clocked_sub(client, [prices[0]])
    for pr in prices[1:]:
        client.v1.subscriptions.create({"customer": cust.id, "items": [{"price": pr}]})
    subs = client.v1.subscriptions.list({"customer": cust.id}).data
    assert sorted(s["items"].data[0].price.unit_amount for s in subs) == [100, 200, 300, 400]


def test_every_event_of_a_subscription_creation_names_the_request(
    client: stripe.StripeClient,
) -> None:
    """The first invoice is finalized and paid by the create request itself: its events carry
    that request's id, like the subscription's own event."""
    clk = client.v1.test_helpers.test_clocks.create({"frozen_time": JAN4})
    cust = client.v1.customers.create({"test_clock": clk.id, **VISA_CUSTOMER})  # type: ignore[arg-type]
    before = {e.id for e in client.v1.events.list({"limit": 100}).data}
    client.v1.subscriptions.create(
        {"customer": cust.id, "items": [{"price": licensed_price(client, 1000).id}]}
    )
    evs = [e for e in client.v1.events.list({"limit": 100}).data if e.id not in before]
    types = {e.type for e in evs}
    assert {"customer.subscription.created", "invoice.created", "invoice.finalized"} <= types
    assert "invoice.paid" in types
    req = {e.request.id for e in evs if e.type != "price.created" and e.type != "product.created"}
    assert len(req) == 1 and None not in req


def test_a_wall_clock_renewal_runs_at_the_period_end_second_itself(
    client: stripe.StripeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The wall clock held still (real time replaced in the emulator's clock module): one
    second before the period end nothing has happened; at the end second the period rolls."""
    import time as real_time

    from stripe_mock_billing import clock

    frozen = [int(real_time.time())]
    fake = types.SimpleNamespace(
        time=lambda: frozen[0], sleep=real_time.sleep, monotonic=real_time.monotonic
    )
    monkeypatch.setattr(clock, "time", fake)
    cust = client.v1.customers.create(VISA_CUSTOMER)  # type: ignore[arg-type]
    sub = client.v1.subscriptions.create(
        {"customer": cust.id, "items": [{"price": licensed_price(client, 1000).id}]}
    )
    end = sub["items"].data[0].current_period_end
    frozen[0] = end - 1
    got = client.v1.subscriptions.retrieve(sub.id)
    assert (got.latest_invoice, got["items"].data[0].current_period_end) == (
        sub.latest_invoice,
        end,
    )
    frozen[0] = end
    got = client.v1.subscriptions.retrieve(sub.id)
    assert got["items"].data[0].current_period_start == end
    renewal = client.v1.invoices.retrieve(got.latest_invoice)
    assert (renewal.billing_reason, renewal.period_start, renewal.period_end) == (
        "subscription_cycle",
        sub["items"].data[0].current_period_start,
        end,
    )


def test_a_new_subscriptions_first_invoice_takes_the_customers_pending_items(
    client: stripe.StripeClient,
) -> None:
    """A pending 5.00 invoice item, then a 10.00/month subscription: its first invoice bills
    both (15.00) and the item is no longer pending."""
    clk = client.v1.test_helpers.test_clocks.create({"frozen_time": JAN4})
    cust = client.v1.customers.create({"test_clock": clk.id, **VISA_CUSTOMER})  # type: ignore[arg-type]
    ii = client.v1.invoice_items.create({"customer": cust.id, "amount": 500, "currency": "usd"})
    sub = client.v1.subscriptions.create(
        {"customer": cust.id, "items": [{"price": licensed_price(client, 1000).id}]}
    )
    first = client.v1.invoices.retrieve(sub.latest_invoice)
    assert first.billing_reason == "subscription_create"
    assert sorted(ln.amount for ln in first.lines.data) == [500, 1000]
    assert [ln.invoice for ln in first.lines.data] == [first.id, first.id]
    assert (first.subtotal, first.amount_paid, first.status) == (1500, 1500, "paid")
    assert client.v1.invoice_items.retrieve(ii.id).invoice == first.id


def test_default_incomplete_with_nothing_due_starts_the_trial(client: stripe.StripeClient) -> None:
    """`payment_behavior=default_incomplete` waits only for an amount due: a 7-day trial's
    first invoice is 0.00, paid at once, and the subscription is created trialing (never
    incomplete, so no update follows)."""
    clk = client.v1.test_helpers.test_clocks.create({"frozen_time": JAN4})
    cust = client.v1.customers.create({"test_clock": clk.id, **VISA_CUSTOMER})  # type: ignore[arg-type]
    sub = client.v1.subscriptions.create(
        {
            "customer": cust.id,
            "items": [{"price": licensed_price(client, 1000).id}],
            "trial_period_days": 7,
            "payment_behavior": "default_incomplete",
        }
    )
    assert sub.status == "trialing"
    first = client.v1.invoices.retrieve(sub.latest_invoice)
    assert (first.amount_due, first.status) == (0, "paid")
    created = _event(client, "customer.subscription.created")
    assert (created.data.object.id, created.data.object.status) == (sub.id, "trialing")
    assert client.v1.events.list({"type": "customer.subscription.updated"}).data == []
