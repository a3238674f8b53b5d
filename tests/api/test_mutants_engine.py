"""Billing engine behaviour seen by a user, pinned where the mutation review of engine.py,
preview.py, manual_invoices.py and pending_updates.py found it untested: pending updates
(`payment_behavior=pending_if_incomplete`) from the decline to the payment, one-off drafts on
the wall clock and their auto_advance, deleted drafts and items, previews of pending items and
of added items, customer deletion, `billing_cycle_anchor=now` and `trial_end=now`."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from stripe_mock_billing.handle import StripeMock
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
    new_clock,
    report,
)
from tests.api.dunning_helpers import FAILING_CUSTOMER, VISA_CUSTOMER, Events
from tests.conftest import err_of

JAN4 = JAN1 + 3 * DAY
JAN8 = JAN1 + 7 * DAY
JAN11 = JAN1 + 10 * DAY
FEB4 = FEB1 + 3 * DAY
FEB8 = FEB1 + 7 * DAY
FEB11 = FEB1 + 10 * DAY
PENDING = "pending_if_incomplete"


def _fail_from_now(client: stripe.StripeClient, cust: Any) -> None:
    client.v1.customers.update(cust.id, FAILING_CUSTOMER)  # type: ignore[arg-type]


# --- pending updates ---------------------------------------------------------------------------


def test_pending_item_swap_keeps_its_invoice_and_applies_when_paid(
    acacia: stripe.StripeClient,
) -> None:
    """A declined swap of A (10.00) for B (30.00) on Jan 11 after a 7-day trial: the update's
    invoice, its proration items and events stay; paying it applies the swap, A is gone."""
    client = acacia
    a, b = licensed_price(client, 1000), licensed_price(client, 3000)
    clk, cust, sub = clocked_sub(client, [a.id], trial_period_days=7, customer=VISA_CUSTOMER)
    advance(client, clk.id, JAN8 + HOUR)  # the trial ended Jan 8; that invoice was paid
    _fail_from_now(client, cust)
    advance(client, clk.id, JAN11)
    item_a = sub["items"].data[0].id
    ev = Events(client)
    ev.skip()
    got = client.v1.subscriptions.update(
        sub.id,
        {
            "items": [{"id": item_a, "deleted": True}, {"price": b.id}],
            "proration_behavior": "always_invoice",
            "payment_behavior": PENDING,
        },
    )
    assert (got.status, [it.id for it in got["items"].data]) == ("active", [item_a])
    pu = got.pending_update
    assert [it.price.id for it in pu.subscription_items] == [b.id]
    # neither the anchor nor the trial changes with this update
    assert (pu.billing_cycle_anchor, pu.trial_end, pu.expires_at) == (None, None, JAN11 + 23 * HOUR)
    inv = client.v1.invoices.retrieve(got.latest_invoice)
    assert (inv.billing_reason, inv.status, inv.created) == ("subscription_update", "open", JAN11)
    for line in inv.lines.data:  # the proration items are kept with their invoice
        assert client.v1.invoice_items.retrieve(line.invoice_item).invoice == inv.id
    assert [i.billing_reason for i in invoices_of(client, sub.id)] == [
        "subscription_create",
        "subscription_cycle",
        "subscription_update",
    ]
    seen = [(e.type, e.created, e.data.object.id) for e in ev.new()]
    assert seen[:3] == [
        ("invoice.created", JAN11, inv.id),
        ("invoice.finalized", JAN11, inv.id),
        ("invoice.payment_failed", JAN11, inv.id),
    ]
    updated = client.v1.events.list({"type": "customer.subscription.updated", "limit": 1}).data[0]
    assert (updated.created, updated.request.id is not None) == (JAN11, True)
    assert updated.data.previous_attributes.pending_update is None
    client.v1.invoices.pay(inv.id, {"payment_method": "pm_card_visa"})
    done = client.v1.subscriptions.retrieve(sub.id)
    assert (done.status, done.pending_update) == ("active", None)
    assert [it.price.id for it in done["items"].data] == [b.id]
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.subscription_items.retrieve(item_a)
    assert (exc.value.http_status, err_of(exc)["code"]) == (404, "resource_missing")
    applied = client.v1.events.list({"type": "customer.subscription.updated", "limit": 1}).data[0]
    assert (applied.created, applied.request.id is not None) == (JAN11, True)
    assert applied.data.previous_attributes.pending_update.expires_at == JAN11 + 23 * HOUR
    advance(client, clk.id, FEB8 + HOUR)  # the next renewal (the cycle runs from Jan 8) bills B
    assert invoices_of(client, sub.id)[-1].total == 3000


def test_pending_anchor_reset_moves_the_cycle_when_paid(acacia: stripe.StripeClient) -> None:
    """A declined `billing_cycle_anchor=now` on Jan 11 leaves the cycle Jan 1..Feb 1 and shows
    the anchor pending; paid, the cycle is Jan 11..Feb 11."""
    client = acacia
    clk, cust, sub = clocked_sub(client, [licensed_price(client, 1000).id])
    _fail_from_now(client, cust)
    advance(client, clk.id, JAN11)
    got = client.v1.subscriptions.update(
        sub.id,
        {"billing_cycle_anchor": "now", "proration_behavior": "none", "payment_behavior": PENDING},
    )
    assert (got.billing_cycle_anchor, got.current_period_start, got.current_period_end) == (
        JAN1,
        JAN1,
        FEB1,
    )
    assert (got.pending_update.billing_cycle_anchor, got.pending_update.trial_end) == (JAN11, None)
    client.v1.invoices.pay(got.latest_invoice, {"payment_method": "pm_card_visa"})
    done = client.v1.subscriptions.retrieve(sub.id)
    assert (done.status, done.pending_update) == ("active", None)
    assert (done.billing_cycle_anchor, done.current_period_start, done.current_period_end) == (
        JAN11,
        JAN11,
        FEB11,
    )


def test_pending_trial_end_now_ends_the_trial_when_paid(acacia: stripe.StripeClient) -> None:
    """A declined `trial_end=now` on Jan 4 of a 7-day trial: still trialing until Jan 8, the
    new trial end pending; paid, the subscription is active from Jan 4 to Feb 4."""
    client = acacia
    clk, _, sub = clocked_sub(
        client, [licensed_price(client, 1000).id], trial_period_days=7, customer=FAILING_CUSTOMER
    )
    advance(client, clk.id, JAN4)
    got = client.v1.subscriptions.update(sub.id, {"trial_end": "now", "payment_behavior": PENDING})
    assert (got.status, got.trial_end) == ("trialing", JAN8)
    assert (got.pending_update.trial_end, got.pending_update.billing_cycle_anchor) == (JAN4, JAN4)
    client.v1.invoices.pay(got.latest_invoice, {"payment_method": "pm_card_visa"})
    done = client.v1.subscriptions.retrieve(sub.id)
    assert (done.status, done.trial_end, done.pending_update) == ("active", JAN4, None)
    assert (done.current_period_start, done.current_period_end) == (JAN4, FEB4)


# --- one-off invoices ----------------------------------------------------------------------------


def new_clock_customer(client: stripe.StripeClient) -> tuple[str, str]:
    """(clock id, customer id): a customer paying by card on a clock frozen at Jan 1."""
    clk = new_clock(client)
    cust = client.v1.customers.create({"test_clock": clk.id, **VISA_CUSTOMER})  # type: ignore[arg-type]
    return clk.id, cust.id


def _include(client: stripe.StripeClient, cus: str, **extra: Any) -> Any:
    """A one-off draft with the customer's pending invoice items."""
    return client.v1.invoices.create(
        {"customer": cus, "pending_invoice_items_behavior": "include", **extra}
    )


def test_wall_clock_one_off_drafts_each_finalize_an_hour_after_creation(
    client: stripe.StripeClient, mock: StripeMock
) -> None:
    """Three auto-advancing drafts of a customer without a test clock, made 0, 30 and 45 min
    into the account's wall clock, are paid one hour after each was created."""
    cus = client.v1.customers.create(VISA_CUSTOMER).id  # type: ignore[arg-type]
    drafts = []
    for step, amount in ((0, 100), (30 * 60, 200), (15 * 60, 300)):
        mock.advance_wall_clock(step)
        client.v1.invoice_items.create({"customer": cus, "amount": amount, "currency": "usd"})
        drafts.append(_include(client, cus, auto_advance=True).id)
    mock.advance_wall_clock(16 * 60)  # 61 min after the first
    assert [client.v1.invoices.retrieve(i).status for i in drafts] == ["paid", "draft", "draft"]
    mock.advance_wall_clock(30 * 60)  # 91 min: the second is due
    assert [client.v1.invoices.retrieve(i).status for i in drafts] == ["paid", "paid", "draft"]
    mock.advance_wall_clock(15 * 60)  # 106 min: the third
    assert [client.v1.invoices.retrieve(i).amount_paid for i in drafts] == [100, 200, 300]


def test_deleted_draft_of_a_subscription_gives_its_items_back(client: stripe.StripeClient) -> None:
    """A one-off auto-advancing draft naming a subscription, with an item added to it directly:
    deleted, it leaves the subscription's invoices, its item is pending again (the next draft
    takes it), `invoice.deleted` is stamped with the clock time, and the clock moves on."""
    clk, cust, sub = clocked_sub(client, [licensed_price(client, 1000).id], customer=VISA_CUSTOMER)
    advance(client, clk.id, JAN4)
    draft = client.v1.invoices.create(
        {"customer": cust.id, "subscription": sub.id, "auto_advance": True}
    )
    item = client.v1.invoice_items.create(
        {"customer": cust.id, "invoice": draft.id, "amount": 700, "currency": "usd"}
    )
    assert [i.id for i in invoices_of(client, sub.id)] == [sub.latest_invoice, draft.id]
    client.v1.invoices.delete(draft.id)
    assert [i.id for i in invoices_of(client, sub.id)] == [sub.latest_invoice]
    deleted = client.v1.events.list({"type": "invoice.deleted", "limit": 1}).data[0]
    assert (deleted.data.object.id, deleted.created) == (draft.id, JAN4)
    assert client.v1.invoice_items.retrieve(item.id).invoice is None
    advance(client, clk.id, JAN4 + 2 * HOUR)  # the deleted draft has nothing left to do
    again = _include(client, cust.id)
    assert [ln.amount for ln in again.lines.data] == [700]


def test_cycle_draft_auto_advance_off_then_on_finalizes_an_hour_after_creation(
    client: stripe.StripeClient,
) -> None:
    """A renewal draft of Feb 1 switched to `auto_advance=false` and back finalizes and is paid
    at Feb 1 01:00 as if never stopped; while stopped it has no finalization time."""
    clk, _, sub = clocked_sub(client, [licensed_price(client, 1000).id], customer=VISA_CUSTOMER)
    advance(client, clk.id, FEB1)
    draft = client.v1.subscriptions.retrieve(sub.id).latest_invoice
    stopped = client.v1.invoices.update(draft, {"auto_advance": False})
    assert (stopped.automatically_finalizes_at, stopped.next_payment_attempt) == (None, None)
    resumed = client.v1.invoices.update(draft, {"auto_advance": True})
    assert resumed.automatically_finalizes_at == FEB1 + HOUR
    advance(client, clk.id, FEB1 + HOUR - 1)
    assert client.v1.invoices.retrieve(draft).status == "draft"
    advance(client, clk.id, FEB1 + HOUR)
    paid = client.v1.invoices.retrieve(draft)
    assert (paid.status, paid.status_transitions.finalized_at) == ("paid", FEB1 + HOUR)


def test_cycle_draft_resumed_after_its_hour_finalizes_at_the_next_advance(
    client: stripe.StripeClient,
) -> None:
    """A renewal draft stopped past its finalization hour stays a draft; switched back on at
    Feb 1 02:00, the next advance finalizes and pays it."""
    clk, _, sub = clocked_sub(client, [licensed_price(client, 1000).id], customer=VISA_CUSTOMER)
    advance(client, clk.id, FEB1)
    draft = client.v1.subscriptions.retrieve(sub.id).latest_invoice
    client.v1.invoices.update(draft, {"auto_advance": False})
    advance(client, clk.id, FEB1 + 2 * HOUR)
    assert client.v1.invoices.retrieve(draft).status == "draft"
    client.v1.invoices.update(draft, {"auto_advance": True})
    advance(client, clk.id, FEB1 + 3 * HOUR)
    paid = client.v1.invoices.retrieve(draft)
    assert (paid.status, paid.amount_paid) == ("paid", 1000)


def test_one_off_draft_of_a_subscription_auto_advance_on_later(client: stripe.StripeClient) -> None:
    """A one-off draft naming a subscription, made on Jan 4 without auto_advance and switched
    on at 00:30, finalizes at 01:00 (an hour after creation) and stays out of the renewal."""
    clk, cust, sub = clocked_sub(client, [licensed_price(client, 1000).id], customer=VISA_CUSTOMER)
    advance(client, clk.id, JAN4)
    client.v1.invoice_items.create({"customer": cust.id, "amount": 700, "currency": "usd"})
    draft = _include(client, cust.id, subscription=sub.id)
    assert draft.automatically_finalizes_at is None
    advance(client, clk.id, JAN4 + HOUR // 2)
    on = client.v1.invoices.update(draft.id, {"auto_advance": True})
    assert on.automatically_finalizes_at == JAN4 + HOUR
    advance(client, clk.id, JAN4 + HOUR - 1)
    assert client.v1.invoices.retrieve(draft.id).status == "draft"
    advance(client, clk.id, JAN4 + HOUR)
    paid = client.v1.invoices.retrieve(draft.id)
    assert (paid.status, paid.amount_paid, paid.status_transitions.finalized_at) == (
        "paid",
        700,
        JAN4 + HOUR,
    )
    advance(client, clk.id, FEB1 + HOUR)
    assert invoices_of(client, sub.id)[-1].total == 1000


def test_auto_advance_on_for_an_open_invoice_never_attempted(client: stripe.StripeClient) -> None:
    """A one-off invoice finalized by hand (no attempt yet) gets no retry time when
    auto_advance is switched on; one marked uncollectible after a failed attempt neither."""
    clk, cus = new_clock_customer(client)
    client.v1.invoice_items.create({"customer": cus, "amount": 900, "currency": "usd"})
    inv = _include(client, cus)
    client.v1.invoices.finalize_invoice(inv.id, {"auto_advance": False})
    on = client.v1.invoices.update(inv.id, {"auto_advance": True})
    assert (on.status, on.attempt_count, on.next_payment_attempt) == ("open", 0, None)
    client.v1.customers.update(cus, FAILING_CUSTOMER)  # type: ignore[arg-type]
    client.v1.invoice_items.create({"customer": cus, "amount": 500, "currency": "usd"})
    failed = _include(client, cus, auto_advance=True)
    advance(client, clk, JAN1 + HOUR)
    assert client.v1.invoices.retrieve(failed.id).attempt_count == 1
    client.v1.invoices.mark_uncollectible(failed.id)
    client.v1.invoices.update(failed.id, {"auto_advance": False})
    back = client.v1.invoices.update(failed.id, {"auto_advance": True})
    assert (back.status, back.next_payment_attempt) == ("uncollectible", None)


# --- invoice previews ----------------------------------------------------------------------------


def test_preview_of_pending_items_is_an_upcoming_invoice_at_the_clock_time(
    client: stripe.StripeClient,
) -> None:
    """A customer without subscription, on a clock at Jan 4, with a 4.00 item and a deleted
    9.00 one: the preview is an `upcoming` invoice of Jan 4 of the 4.00 item only."""
    clk, cus = new_clock_customer(client)
    advance(client, clk, JAN4)
    client.v1.invoice_items.create({"customer": cus, "amount": 400, "currency": "usd"})
    gone = client.v1.invoice_items.create({"customer": cus, "amount": 900, "currency": "usd"})
    client.v1.invoice_items.delete(gone.id)
    prev = client.v1.invoices.create_preview({"customer": cus})
    assert prev.id.startswith("upcoming_in_")
    assert (prev.customer, prev.created, prev.currency, prev.billing_reason) == (
        cus,
        JAN4,
        "usd",
        "upcoming",
    )
    assert (prev.period_start, prev.period_end, prev.test_clock) == (JAN4, JAN4, clk)
    assert [(ln.amount, ln.invoice) for ln in prev.lines.data] == [(400, prev.id)]
    assert prev.total == 400


def test_preview_of_an_added_item_prorates_it_from_now(client: stripe.StripeClient) -> None:
    """Adding a 31.00 item without quantity on Jan 11 of a Jan 1..Feb 1 cycle previews a
    proration of 21/31 of it (21.00) beside the next period's 10.00 + 31.00."""
    a, b = licensed_price(client, 1000), licensed_price(client, 3100)
    clk, _, sub = clocked_sub(client, [a.id])
    advance(client, clk.id, JAN11)
    prev = client.v1.invoices.create_preview(
        {"subscription": sub.id, "subscription_details": {"items": [{"price": b.id}]}}
    )
    prorated = [ln for ln in prev.lines.data if ln.parent.type == "invoice_item_details"]
    assert [(ln.amount, ln.quantity, ln.period.start, ln.period.end) for ln in prorated] == [
        (2100, 1, JAN11, FEB1)
    ]
    assert prorated[0].parent.invoice_item_details.proration is True
    assert prev.total == 2100 + 1000 + 3100


# --- invoice items and customers -----------------------------------------------------------------


def test_deleting_an_item_of_a_one_off_draft_takes_its_line_off(
    client: stripe.StripeClient,
) -> None:
    """Of two items added to a one-off draft on Jan 4, the deleted 3.00 one leaves the draft
    (5.00 left) and `invoiceitem.deleted` is stamped Jan 4."""
    clk, cus = new_clock_customer(client)
    advance(client, clk, JAN4)
    draft = client.v1.invoices.create({"customer": cus})
    gone, kept = (
        client.v1.invoice_items.create(
            {"customer": cus, "invoice": draft.id, "amount": amount, "currency": "usd"}
        )
        for amount in (300, 500)
    )
    assert client.v1.invoice_items.delete(gone.id).deleted is True
    left = client.v1.invoices.retrieve(draft.id)
    assert ([ln.amount for ln in left.lines.data], left.total) == ([500], 500)
    ev = client.v1.events.list({"type": "invoiceitem.deleted", "limit": 1}).data[0]
    assert (ev.data.object.id, ev.created) == (gone.id, JAN4)
    assert client.v1.invoice_items.retrieve(kept.id).invoice == draft.id


def test_deleting_a_customer_cancels_only_its_live_subscriptions_then(
    client: stripe.StripeClient,
) -> None:
    """A customer on a clock whose first subscription was canceled on Jan 4: deleting it on
    Jan 11 cancels the second one then, without a final invoice; the first keeps its date."""
    price = licensed_price(client, 1000)
    clk, cust, first = clocked_sub(client, [price.id], customer=VISA_CUSTOMER)
    second = client.v1.subscriptions.create({"customer": cust.id, "items": [{"price": price.id}]})
    advance(client, clk.id, JAN4)
    client.v1.subscriptions.cancel(first.id)
    advance(client, clk.id, JAN11)
    client.v1.customers.delete(cust.id)
    assert [
        (s.id, s.status, s.canceled_at)
        for s in (client.v1.subscriptions.retrieve(x.id) for x in (first, second))
    ] == [(first.id, "canceled", JAN4), (second.id, "canceled", JAN11)]
    ended = client.v1.events.list({"type": "customer.subscription.deleted", "limit": 10}).data
    assert [(e.data.object.id, e.created, e.request.id is not None) for e in ended] == [
        (second.id, JAN11, True),
        (first.id, JAN4, True),
    ]
    deleted = client.v1.events.list({"type": "customer.deleted", "limit": 1}).data[0]
    assert (deleted.created, deleted.request.id is not None) == (JAN11, True)
    assert len(invoices_of(client, second.id)) == 1  # its first invoice only


# --- billing_cycle_anchor=now ------------------------------------------------------------------


def test_anchor_reset_bills_usage_so_far_and_a_new_period(acacia: stripe.StripeClient) -> None:
    """`billing_cycle_anchor=now` on Jan 11: one invoice, paid at once, of the usage
    Jan 1..Jan 11 (10 + 5 units, the last a second before, at 0.07) and 10.00 for
    Jan 11..Feb 11; the cycle is then Jan 11..Feb 11."""
    client = acacia
    lic, met = licensed_price(client, 1000), legacy_metered_price(client, 7)
    clk, _, sub = clocked_sub(client, [lic.id, met.id], customer=VISA_CUSTOMER)
    si = next(i.id for i in sub["items"].data if i.price.id == met.id)
    advance(client, clk.id, JAN11)
    report(client, si, 10, JAN4)
    report(client, si, 5, JAN11 - 1)
    got = client.v1.subscriptions.update(
        sub.id, {"billing_cycle_anchor": "now", "proration_behavior": "none"}
    )
    assert (got.billing_cycle_anchor, got.current_period_start, got.current_period_end) == (
        JAN11,
        JAN11,
        FEB11,
    )
    inv = client.v1.invoices.retrieve(got.latest_invoice)
    assert (inv.billing_reason, inv.created, inv.period_start, inv.period_end) == (
        "subscription_update",
        JAN11,
        JAN1,
        JAN11,
    )
    assert (inv.status, inv.status_transitions.finalized_at, inv.total) == ("paid", JAN11, 1105)
    lines = sorted(
        (ln.amount, ln.quantity, ln.period.start, ln.period.end) for ln in inv.lines.data
    )
    assert lines == [(105, 15, JAN1, JAN11), (1000, 1, JAN11, FEB11)]
    for kind in ("invoice.created", "invoice.finalized"):
        ev = client.v1.events.list({"type": kind, "limit": 1}).data[0]
        assert (ev.data.object.id, ev.created, ev.request.id is not None) == (inv.id, JAN11, True)


def test_anchor_reset_takes_the_pending_items(client: stripe.StripeClient) -> None:
    """A 2.50 pending item of the customer goes on the invoice of a `billing_cycle_anchor=now`
    of Jan 11, beside 10.00 for Jan 11..Feb 11."""
    clk, cust, sub = clocked_sub(client, [licensed_price(client, 1000).id], customer=VISA_CUSTOMER)
    advance(client, clk.id, JAN11)
    item = client.v1.invoice_items.create({"customer": cust.id, "amount": 250, "currency": "usd"})
    got = client.v1.subscriptions.update(
        sub.id, {"billing_cycle_anchor": "now", "proration_behavior": "none"}
    )
    inv = client.v1.invoices.retrieve(got.latest_invoice)
    assert (inv.status, sorted(ln.amount for ln in inv.lines.data)) == ("paid", [250, 1000])
    assert client.v1.invoice_items.retrieve(item.id).invoice == inv.id


def test_trial_ended_now_bills_only_the_usage_after_it(acacia: stripe.StripeClient) -> None:
    """`trial_end=now` on Jan 4 of a metered 0.07 subscription: the 10 units of Jan 2 are free,
    the 5 units of Jan 5 are billed at the Feb 4 renewal."""
    client = acacia
    met = legacy_metered_price(client, 7)
    clk, _, sub = clocked_sub(client, [met.id], trial_period_days=7, customer=VISA_CUSTOMER)
    si = sub["items"].data[0].id
    advance(client, clk.id, JAN4)
    report(client, si, 10, JAN1 + DAY)
    client.v1.subscriptions.update(sub.id, {"trial_end": "now"})
    advance(client, clk.id, JAN4 + DAY + HOUR)
    report(client, si, 5, JAN4 + DAY)
    advance(client, clk.id, FEB4 + HOUR)
    renewal = invoices_of(client, sub.id)[-1]
    assert (renewal.billing_reason, renewal.period_start, renewal.period_end) == (
        "subscription_cycle",
        JAN4,
        FEB4,
    )
    assert ([(ln.quantity, ln.amount) for ln in renewal.lines.data], renewal.total) == (
        [(5, 35)],
        35,
    )
