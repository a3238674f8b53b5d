"""Subscription lifecycle seen by a user, pinned on both sides of each boundary: a future
`billing_cycle_anchor` crossed on a test clock, trial ends with metered usage, renewal events
and their `previous_attributes` (acacia and basil shapes), immediate cancellation with
`invoice_now`, `cancel_at`, `cancel_at_period_end`, expiry of an unpaid first invoice, collection
stopped by a cancel, and wall-clock work of an account without subscriptions."""

from __future__ import annotations

import time
from typing import Any

import stripe

from stripe_mock_billing.handle import StripeMock
from stripe_mock_billing.server import ThreadedServer
from tests.api.billing_helpers import (
    APR1,
    DAY,
    FEB1,
    HOUR,
    JAN1,
    MAR1,
    advance,
    clocked_sub,
    invoices_of,
    legacy_metered_price,
    licensed_price,
    metered_line,
    report,
    set_account,
)
from tests.api.dunning_helpers import ATTEMPT1, RETRY1, RETRY2, failing_renewal, latest_invoice
from tests.conftest import ACACIA, make_client

JAN10 = JAN1 + 9 * DAY
JAN8 = JAN1 + 7 * DAY  # end of a 7-day trial started JAN1
FEB8 = JAN1 + 38 * DAY  # JAN8 + one month
BASIL = "2025-03-31.basil"


def _events(client: stripe.StripeClient, type_: str) -> list[Any]:
    """The account's events of one type, oldest first."""
    return list(reversed(client.v1.events.list({"type": type_, "limit": 100}).data))


def _metered_sub(acacia: stripe.StripeClient, **extra: Any) -> tuple[Any, Any, str]:
    price = legacy_metered_price(acacia, 7)
    clk, _, sub = clocked_sub(acacia, [price.id], **extra)
    return clk, sub, sub["items"].data[0].id


# --- a future billing_cycle_anchor -----------------------------------------------------------


def test_future_anchor_stub_then_whole_months(acacia: stripe.StripeClient) -> None:
    """A sub created Jan 10 anchored Feb 1 renews Feb 1 for Feb 1..Mar 1, then Mar 1..Apr 1."""
    price = licensed_price(acacia, 5000)
    clk, _, sub = clocked_sub(acacia, [price.id], at=JAN10, billing_cycle_anchor=FEB1)
    assert (sub.current_period_start, sub.current_period_end) == (JAN10, FEB1)
    advance(acacia, clk.id, FEB1 - 1)
    assert len(invoices_of(acacia, sub.id)) == 1
    advance(acacia, clk.id, FEB1 + HOUR)
    feb = acacia.v1.subscriptions.retrieve(sub.id)
    assert (feb.current_period_start, feb.current_period_end) == (FEB1, MAR1)
    assert feb.billing_cycle_anchor == FEB1
    cycle = invoices_of(acacia, sub.id)[-1]
    assert (cycle.billing_reason, cycle.status, cycle.created) == (
        "subscription_cycle",
        "paid",
        FEB1,
    )
    assert (cycle.period_start, cycle.period_end) == (JAN10, FEB1)
    [line] = cycle.lines.data
    assert (line.amount, line.period.start, line.period.end) == (5000, FEB1, MAR1)
    advance(acacia, clk.id, MAR1 + HOUR)
    mar = acacia.v1.subscriptions.retrieve(sub.id)
    assert (mar.current_period_start, mar.current_period_end) == (MAR1, APR1)
    assert invoices_of(acacia, sub.id)[-1].total == 5000


# --- trials ------------------------------------------------------------------------------------


def test_usage_after_a_trial_is_billed_at_each_later_renewal(acacia: stripe.StripeClient) -> None:
    """Trial usage is free; usage in the first paid month is billed at the next renewal."""
    clk, sub, si = _metered_sub(acacia, trial_period_days=7)
    advance(acacia, clk.id, JAN1 + DAY)
    report(acacia, si, 50, JAN1 + DAY)  # during the trial: free
    advance(acacia, clk.id, JAN8 + DAY)
    assert acacia.v1.subscriptions.retrieve(sub.id).status == "active"
    assert invoices_of(acacia, sub.id)[-1].total == 0
    report(acacia, si, 10, JAN8 + DAY)
    advance(acacia, clk.id, FEB8 - 1)
    assert len(invoices_of(acacia, sub.id)) == 2
    advance(acacia, clk.id, FEB8 + HOUR)
    cycle = invoices_of(acacia, sub.id)[-1]
    line = metered_line(cycle)
    assert (line.quantity, line.amount, cycle.total) == (10, 70, 70)
    assert (line.period.start, line.period.end) == (JAN8, FEB8)
    advance(acacia, clk.id, FEB8 + DAY)
    report(acacia, si, 3, FEB8 + DAY)
    advance(acacia, clk.id, JAN1 + 66 * DAY + HOUR)  # Mar 8
    assert metered_line(invoices_of(acacia, sub.id)[-1]).quantity == 3


def test_trial_end_event_shows_the_previous_status(client: stripe.StripeClient) -> None:
    """The renewal ending a trial says `previous_attributes.status == "trialing"`."""
    clk, _, sub = clocked_sub(client, [licensed_price(client).id], trial_period_days=7)
    advance(client, clk.id, JAN8 + HOUR)
    ev = _events(client, "customer.subscription.updated")[-1]
    assert (ev.created, ev.data.object.status) == (JAN8, "active")
    assert ev.data.previous_attributes.status == "trialing"
    assert ev.data.previous_attributes.latest_invoice == sub.latest_invoice


# --- renewal events ----------------------------------------------------------------------------


def test_renewal_event_acacia_previous_attributes(client: stripe.StripeClient) -> None:
    """Renewal: `previous_attributes` holds the old period and invoice only, the object the new."""
    clk, _, sub = clocked_sub(client, [licensed_price(client).id])
    advance(client, clk.id, FEB1)
    [ev] = _events(client, "customer.subscription.updated")
    cycle = invoices_of(client, sub.id)[-1]
    assert ev.data.previous_attributes.to_dict() == {
        "latest_invoice": sub.latest_invoice,
        "current_period_start": JAN1,
        "current_period_end": FEB1,
    }
    obj = ev.data.object
    assert (obj.current_period_start, obj.current_period_end) == (FEB1, MAR1)
    assert obj.latest_invoice == cycle.id != sub.latest_invoice


def test_renewal_event_basil_previous_item_periods(
    client: stripe.StripeClient, mock: StripeMock
) -> None:
    """basil: the renewal's `previous_attributes.items` lists the items with the old period."""
    mock.update_settings(api_version=BASIL)
    clk, _, sub = clocked_sub(client, [licensed_price(client).id])
    si = sub["items"].data[0].id
    advance(client, clk.id, FEB1)
    [ev] = _events(client, "customer.subscription.updated")
    prev = ev.data.previous_attributes.to_dict()
    assert set(prev) == {"latest_invoice", "items"}
    assert prev["items"]["object"] == "list"
    [old] = prev["items"]["data"]
    assert (old["id"], old["current_period_start"], old["current_period_end"]) == (si, JAN1, FEB1)
    [new] = ev.data.object["items"].data
    assert (new.id, new.current_period_start, new.current_period_end) == (si, FEB1, MAR1)


# --- cancellation ------------------------------------------------------------------------------


def test_cancel_invoice_now_final_invoice(acacia: stripe.StripeClient) -> None:
    """`cancel(invoice_now)` on day 2: a final invoice for Jan 1..Jan 2 (usage stamped up to the
    cancel second), finalized at once."""
    clk, sub, si = _metered_sub(acacia)
    advance(acacia, clk.id, JAN1 + DAY)
    report(acacia, si, 10, JAN1 + DAY)
    report(acacia, si, 4, JAN1 + DAY + 1)  # a second after the cancel: not billed
    done = acacia.v1.subscriptions.cancel(sub.id, {"invoice_now": True})
    assert (done.status, done.cancel_at_period_end) == ("canceled", False)
    assert (done.canceled_at, done.ended_at) == (JAN1 + DAY, JAN1 + DAY)
    final = acacia.v1.invoices.retrieve(done.latest_invoice)
    assert (final.billing_reason, final.status, final.total) == ("subscription_update", "paid", 70)
    assert (final.period_start, final.period_end) == (JAN1, JAN1 + DAY)
    assert final.status_transitions.finalized_at == JAN1 + DAY
    [fin] = [e for e in _events(acacia, "invoice.finalized") if e.data.object.id == final.id]
    assert fin.created == JAN1 + DAY


def test_cancel_invoice_now_without_grace_finalizes_once(
    client: stripe.StripeClient, server: ThreadedServer, api_key: str
) -> None:
    """With a zero finalization grace the final invoice is still finalized exactly once."""
    set_account(server, api_key, finalization_grace=0)
    clk, _, sub = clocked_sub(client, [licensed_price(client).id])
    advance(client, clk.id, JAN1 + DAY)
    done = client.v1.subscriptions.cancel(sub.id, {"invoice_now": True})
    first, final = invoices_of(client, sub.id)
    assert final.id == done.latest_invoice
    prefix = first.number.rsplit("-", 1)[0]
    assert (first.number, final.number) == (f"{prefix}-0001", f"{prefix}-0002")
    finalized = [e.data.object.id for e in _events(client, "invoice.finalized")]
    assert finalized == [first.id, final.id]


def test_cancel_at_is_automatic_and_stamped_at_cancel_at(client: stripe.StripeClient) -> None:
    """`cancel_at` reached on a clock: final invoice and `.deleted` at that time, no request."""
    clk, _, sub = clocked_sub(client, [licensed_price(client).id])
    client.v1.subscriptions.update(sub.id, {"cancel_at": JAN1 + 10 * DAY})
    advance(client, clk.id, JAN1 + 10 * DAY - 1)
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"
    advance(client, clk.id, JAN1 + 20 * DAY)
    done = client.v1.subscriptions.retrieve(sub.id)
    assert (done.status, done.ended_at, done.cancel_at_period_end) == (
        "canceled",
        JAN1 + 10 * DAY,
        False,
    )
    [deleted] = _events(client, "customer.subscription.deleted")
    assert (deleted.created, deleted.request.id) == (JAN1 + 10 * DAY, None)
    assert deleted.data.object.status == "canceled"
    final = client.v1.invoices.retrieve(done.latest_invoice)
    assert final.status_transitions.finalized_at == JAN1 + 10 * DAY
    fin = [e for e in _events(client, "invoice.finalized") if e.data.object.id == final.id]
    assert [(e.created, e.request.id) for e in fin] == [(JAN1 + 10 * DAY, None)]


def test_cancel_at_period_end_final_invoice_and_event(acacia: stripe.StripeClient) -> None:
    """`cancel_at_period_end`: a cycle invoice for Jan with its usage, then `.deleted` at FEB1."""
    clk, sub, si = _metered_sub(acacia)
    acacia.v1.subscriptions.update(sub.id, {"cancel_at_period_end": True})
    advance(acacia, clk.id, JAN1 + DAY)
    report(acacia, si, 10, JAN1 + DAY)
    advance(acacia, clk.id, FEB1 - 1)
    assert acacia.v1.subscriptions.retrieve(sub.id).status == "active"
    advance(acacia, clk.id, FEB1 + HOUR)
    done = acacia.v1.subscriptions.retrieve(sub.id)
    assert (done.status, done.ended_at, done.cancel_at_period_end) == ("canceled", FEB1, False)
    final = invoices_of(acacia, sub.id)[-1]
    assert (final.billing_reason, final.status, final.total) == ("subscription_cycle", "paid", 70)
    assert (final.period_start, final.period_end) == (JAN1, FEB1)
    [deleted] = _events(acacia, "customer.subscription.deleted")
    assert (deleted.created, deleted.request.id) == (FEB1, None)
    resp = acacia.raw_request("get", f"/v1/subscription_items/{si}/usage_record_summaries")
    summaries = acacia.deserialize(resp, api_mode="V1").data
    assert [(s.period.start, s.period.end, s.total_usage, s.invoice) for s in summaries] == [
        (JAN1, FEB1, 10, final.id)
    ]


def test_cancel_of_a_past_due_subscription_stops_collection(client: stripe.StripeClient) -> None:
    """Canceling a past_due subscription stops the retries of its open invoice."""
    clk, _, sub = failing_renewal(client)
    advance(client, clk.id, ATTEMPT1)
    inv = latest_invoice(client, sub.id)
    assert (inv.status, inv.attempt_count, inv.next_payment_attempt) == ("open", 1, RETRY1)
    advance(client, clk.id, RETRY1)
    inv = latest_invoice(client, sub.id)
    assert (inv.status, inv.attempt_count, inv.next_payment_attempt) == ("open", 2, RETRY2)
    client.v1.subscriptions.cancel(sub.id)
    inv = latest_invoice(client, sub.id)
    assert (inv.status, inv.next_payment_attempt, inv.auto_advance) == ("open", None, False)
    advance(client, clk.id, RETRY2 + DAY)
    assert latest_invoice(client, sub.id).attempt_count == 2


# --- incomplete expiry -------------------------------------------------------------------------


def test_incomplete_expiry_events_are_automatic(client: stripe.StripeClient) -> None:
    """Expiry after 23 h: `invoice.voided` and `.updated` stamped then, with no request."""
    clk, _, sub = clocked_sub(
        client, [licensed_price(client).id], customer={"metadata": {"_mock_payment": "fail"}}
    )
    advance(client, clk.id, JAN1 + 23 * HOUR - 1)
    assert _events(client, "invoice.voided") == []
    advance(client, clk.id, JAN1 + 23 * HOUR)
    inv = client.v1.invoices.retrieve(sub.latest_invoice)
    assert (inv.status, inv.status_transitions.voided_at) == ("void", JAN1 + 23 * HOUR)
    [voided] = _events(client, "invoice.voided")
    assert (voided.created, voided.request.id) == (JAN1 + 23 * HOUR, None)
    expired = _events(client, "customer.subscription.updated")[-1]
    assert (expired.created, expired.request.id) == (JAN1 + 23 * HOUR, None)
    assert expired.data.object.status == "incomplete_expired"
    assert expired.data.previous_attributes.to_dict() == {"status": "incomplete"}


# --- wall clock without subscriptions ----------------------------------------------------------


def test_wall_clock_invoice_finalizes_in_an_account_without_subscriptions(
    client: stripe.StripeClient, server: ThreadedServer, api_key: str
) -> None:
    """A one-off auto-advancing invoice finalizes an hour later on the account's wall clock."""
    cus = client.v1.customers.create({})
    client.v1.invoice_items.create({"customer": cus.id, "amount": 1500, "currency": "usd"})
    inv = client.v1.invoices.create(
        {"customer": cus.id, "auto_advance": True, "pending_invoice_items_behavior": "include"}
    )
    assert inv.status == "draft"
    created = inv.created
    set_account(server, api_key, clock_offset=created + HOUR - int(time.time()) - 60)
    assert client.v1.invoices.retrieve(inv.id).status == "draft"
    set_account(server, api_key, clock_offset=created + HOUR - int(time.time()) + 60)
    done = client.v1.invoices.retrieve(inv.id)
    assert (done.status, done.amount_due) == ("paid", 1500)
    assert done.status_transitions.finalized_at == created + HOUR


# --- zero grace, notices, drafts at a cancel -----------------------------------------------


def test_renewal_with_zero_grace_is_finalized_at_the_boundary(
    client: stripe.StripeClient, server: ThreadedServer, api_key: str
) -> None:
    """Grace 0: the renewal invoice is finalized and paid at FEB1 itself, automatically."""
    set_account(server, api_key, finalization_grace=0)
    clk, _, sub = clocked_sub(client, [licensed_price(client).id])
    advance(client, clk.id, FEB1 - 1)
    assert len(invoices_of(client, sub.id)) == 1
    advance(client, clk.id, FEB1)
    cycle = invoices_of(client, sub.id)[-1]
    assert (cycle.billing_reason, cycle.status, cycle.total) == ("subscription_cycle", "paid", 5000)
    assert cycle.status_transitions.finalized_at == FEB1
    fin = [e for e in _events(client, "invoice.finalized") if e.data.object.id == cycle.id]
    assert [(e.created, e.request.id) for e in fin] == [(FEB1, None)]


def test_upcoming_notice_is_automatic_seven_days_ahead(client: stripe.StripeClient) -> None:
    """`invoice.upcoming` comes 7 days before the renewal, with no request behind it."""
    clk, _, _ = clocked_sub(client, [licensed_price(client).id])
    advance(client, clk.id, FEB1 - 7 * DAY - 1)
    assert _events(client, "invoice.upcoming") == []
    advance(client, clk.id, FEB1 - 7 * DAY)
    [up] = _events(client, "invoice.upcoming")
    assert (up.created, up.request.id) == (FEB1 - 7 * DAY, None)
    assert up.data.object.amount_due == 5000


def test_cancel_at_inside_the_renewal_grace_leaves_the_draft(
    client: stripe.StripeClient,
) -> None:
    """`cancel_at` half an hour after a renewal: the renewal draft stops auto-advancing."""
    clk, _, sub = clocked_sub(client, [licensed_price(client).id])
    client.v1.subscriptions.update(sub.id, {"cancel_at": FEB1 + HOUR // 2})
    advance(client, clk.id, FEB1 + HOUR // 2 - 1)
    renewal = invoices_of(client, sub.id)[-1]
    assert (renewal.billing_reason, renewal.status) == ("subscription_cycle", "draft")
    advance(client, clk.id, FEB1 + 2 * HOUR)
    done = client.v1.subscriptions.retrieve(sub.id)
    assert (done.status, done.ended_at) == ("canceled", FEB1 + HOUR // 2)
    kept = client.v1.invoices.retrieve(renewal.id)
    assert (kept.status, kept.auto_advance) == ("draft", False)


# --- pending updates -------------------------------------------------------------------------


def _pending_upgrade(client: stripe.StripeClient) -> tuple[Any, Any]:
    """(clock, subscription): a 1000 -> 3000 upgrade with `pending_if_incomplete` on a failing
    card on Jan 11 (its pending update expires 23 hours later)."""
    price, bigger = licensed_price(client, 1000), licensed_price(client, 3000)
    clk, cust, sub = clocked_sub(client, [price.id])
    client.v1.customers.update(
        cust.id, {"invoice_settings": {"default_payment_method": "pm_card_chargeCustomerFail"}}
    )
    advance(client, clk.id, JAN1 + 10 * DAY)
    got = client.v1.subscriptions.update(
        sub.id,
        {
            "items": [{"id": sub["items"].data[0].id, "price": bigger.id}],
            "proration_behavior": "always_invoice",
            "payment_behavior": "pending_if_incomplete",
        },
    )
    assert got.pending_update.expires_at == JAN1 + 10 * DAY + 23 * HOUR
    return clk, got


def test_pending_update_expiry_is_automatic(client: stripe.StripeClient) -> None:
    """At `expires_at` the update's invoice is voided and the pending update dropped, then."""
    clk, sub = _pending_upgrade(client)
    at = JAN1 + 10 * DAY + 23 * HOUR
    advance(client, clk.id, at - 1)
    assert _events(client, "invoice.voided") == []
    advance(client, clk.id, at)
    inv = client.v1.invoices.retrieve(sub.latest_invoice)
    assert (inv.status, inv.status_transitions.voided_at) == ("void", at)
    [voided] = _events(client, "invoice.voided")
    assert (voided.created, voided.request.id) == (at, None)
    dropped = _events(client, "customer.subscription.updated")[-1]
    assert (dropped.created, dropped.request.id) == (at, None)
    assert dropped.data.object.pending_update is None
    assert dropped.data.previous_attributes.pending_update.expires_at == at


def test_pending_update_invoice_voided_by_the_user_is_not_voided_again(
    client: stripe.StripeClient,
) -> None:
    """An update invoice the user voided stays as voided; the expiry drops only the update."""
    clk, sub = _pending_upgrade(client)
    client.v1.invoices.void_invoice(sub.latest_invoice)
    at = JAN1 + 10 * DAY + 23 * HOUR
    advance(client, clk.id, at)
    assert client.v1.subscriptions.retrieve(sub.id).pending_update is None
    inv = client.v1.invoices.retrieve(sub.latest_invoice)
    assert (inv.status, inv.status_transitions.voided_at) == ("void", JAN1 + 10 * DAY)
    assert [e.created for e in _events(client, "invoice.voided")] == [JAN1 + 10 * DAY]


# --- incomplete subscriptions ----------------------------------------------------------------


def test_incomplete_backdated_subscription_waits_23_hours_to_expire(
    client: stripe.StripeClient,
) -> None:
    """A backdated incomplete sub whose period ends an hour in stays incomplete until 23 h."""
    clk, _, sub = clocked_sub(
        client,
        [licensed_price(client).id],
        customer={"invoice_settings": {"default_payment_method": "pm_card_chargeCustomerFail"}},
        backdate_start_date=JAN1 - 31 * DAY + HOUR,  # Dec 1 01:00: the period ends Jan 1 01:00
    )
    assert sub.status == "incomplete"
    advance(client, clk.id, JAN1 + 2 * HOUR)
    assert client.v1.subscriptions.retrieve(sub.id).status == "incomplete"
    advance(client, clk.id, JAN1 + 23 * HOUR)
    gone = client.v1.subscriptions.retrieve(sub.id)
    assert (gone.status, gone.ended_at) == ("incomplete_expired", JAN1 + 23 * HOUR)


# --- notices -----------------------------------------------------------------------------------


def _interval_price(client: stripe.StripeClient, interval: str, count: int) -> Any:
    return client.v1.prices.create(
        {
            "currency": "usd",
            "unit_amount": 700,
            "recurring": {"interval": interval, "interval_count": count},  # type: ignore[typeddict-item]
            "product_data": {"name": "Short"},
        }
    )


def test_no_upcoming_notice_when_the_period_is_the_notice_length(
    client: stripe.StripeClient,
) -> None:
    """A weekly period gets no `invoice.upcoming` (7-day notice); an 8-day one gets it on day 1."""
    week = _interval_price(client, "week", 1)
    clk, _, _ = clocked_sub(client, [week.id])
    advance(client, clk.id, JAN1 + 7 * DAY + HOUR)
    assert _events(client, "invoice.upcoming") == []
    eight = _interval_price(client, "day", 8)
    clk, _, _ = clocked_sub(client, [eight.id])
    advance(client, clk.id, JAN1 + 8 * DAY + HOUR)
    assert [e.created for e in _events(client, "invoice.upcoming")] == [JAN1 + DAY]


def test_zero_grace_failed_final_invoice_of_a_period_end_cancel(
    acacia: stripe.StripeClient, server: ThreadedServer, api_key: str
) -> None:
    """Grace 0, card failing: the final invoice of a period-end cancel is not retried."""
    set_account(server, api_key, finalization_grace=0)
    clk, cust, sub = clocked_sub(
        acacia,
        [legacy_metered_price(acacia, 7).id],
        customer={"invoice_settings": {"default_payment_method": "pm_card_visa"}},
    )
    acacia.v1.customers.update(
        cust.id, {"invoice_settings": {"default_payment_method": "pm_card_chargeCustomerFail"}}
    )
    acacia.v1.subscriptions.update(sub.id, {"cancel_at_period_end": True})
    advance(acacia, clk.id, JAN1 + DAY)
    report(acacia, sub["items"].data[0].id, 10, JAN1 + DAY)
    advance(acacia, clk.id, FEB1 + HOUR)
    done = acacia.v1.subscriptions.retrieve(sub.id)
    assert (done.status, done.ended_at) == ("canceled", FEB1)
    final = latest_invoice(acacia, sub.id)
    assert (final.status, final.amount_due, final.attempt_count) == ("open", 70, 1)
    assert (final.next_payment_attempt, final.auto_advance) == (None, False)
    advance(acacia, clk.id, FEB1 + 10 * DAY)
    assert latest_invoice(acacia, sub.id).attempt_count == 1
    assert acacia.v1.subscriptions.retrieve(sub.id).status == "canceled"


# --- usage record summaries after a cancel ----------------------------------------------------


def _summaries(acacia: stripe.StripeClient, si: str) -> list[tuple[int, int, int, str | None]]:
    """(start, end, total_usage, invoice) of each usage record summary, newest first."""
    resp = acacia.raw_request("get", f"/v1/subscription_items/{si}/usage_record_summaries")
    got = acacia.deserialize(resp, api_mode="V1").data
    return [(s.period.start, s.period.end, s.total_usage, s.invoice) for s in got]


def test_summary_of_a_period_cut_by_cancel_names_the_final_invoice(
    acacia: stripe.StripeClient,
) -> None:
    """`cancel(invoice_now)` mid-period: the period's summary names the final invoice."""
    clk, sub, si = _metered_sub(acacia)
    advance(acacia, clk.id, JAN1 + DAY)
    report(acacia, si, 10, JAN1 + DAY)
    done = acacia.v1.subscriptions.cancel(sub.id, {"invoice_now": True})
    assert _summaries(acacia, si) == [(JAN1, FEB1, 10, done.latest_invoice)]


def test_cancel_right_at_a_renewal_keeps_each_period_on_its_invoice(
    acacia: stripe.StripeClient,
) -> None:
    """Cancel at FEB1: January's usage stays on the renewal, February's on the final invoice."""
    clk, sub, si = _metered_sub(acacia)
    advance(acacia, clk.id, JAN1 + DAY)
    report(acacia, si, 5, JAN1 + DAY)
    advance(acacia, clk.id, FEB1)
    renewal = invoices_of(acacia, sub.id)[-1]
    assert (renewal.billing_reason, metered_line(renewal).quantity) == ("subscription_cycle", 5)
    report(acacia, si, 2, FEB1)
    done = acacia.v1.subscriptions.cancel(sub.id, {"invoice_now": True})
    final = acacia.v1.invoices.retrieve(done.latest_invoice)
    assert (metered_line(final).quantity, final.total) == (2, 14)
    assert _summaries(acacia, si) == [
        (FEB1, MAR1, 2, final.id),
        (JAN1, FEB1, 5, renewal.id),
    ]


# --- drafts held back, cancel_at at the period end ---------------------------------------------


def test_renewal_draft_with_auto_advance_off_waits_for_the_user(
    client: stripe.StripeClient,
) -> None:
    """A renewal draft set to `auto_advance=false` stays a draft; later renewals go on."""
    clk, _, sub = clocked_sub(client, [licensed_price(client).id])
    advance(client, clk.id, FEB1)
    held = invoices_of(client, sub.id)[-1]
    client.v1.invoices.update(held.id, {"auto_advance": False})
    advance(client, clk.id, FEB1 + 2 * HOUR)
    assert client.v1.invoices.retrieve(held.id).status == "draft"
    advance(client, clk.id, MAR1 + HOUR)
    assert client.v1.invoices.retrieve(held.id).status == "draft"
    march = invoices_of(client, sub.id)[-1]
    assert (march.created, march.status, march.total) == (MAR1, "paid", 5000)


def test_cancel_at_exactly_the_period_end_ends_without_renewal(
    client: stripe.StripeClient,
) -> None:
    """`cancel_at` = the period end: canceled at FEB1 with a final cycle invoice, no renewal."""
    clk, _, sub = clocked_sub(client, [licensed_price(client).id])
    client.v1.subscriptions.update(sub.id, {"cancel_at": FEB1})
    advance(client, clk.id, FEB1 - 1)
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"
    advance(client, clk.id, FEB1 + HOUR)
    done = client.v1.subscriptions.retrieve(sub.id)
    assert (done.status, done.ended_at) == ("canceled", FEB1)
    final = invoices_of(client, sub.id)[-1]
    assert (final.created, final.billing_reason, final.total) == (FEB1, "subscription_cycle", 0)


def test_snapshot_of_an_account_with_a_canceled_subscription_restores(
    acacia: stripe.StripeClient,
    server: ThreadedServer,
    mock: StripeMock,
    schema_violations: list[str],
) -> None:
    """An account whose metered subscription was canceled exports and imports unchanged."""
    clk, sub, si = _metered_sub(acacia)
    advance(acacia, clk.id, JAN1 + DAY)
    report(acacia, si, 10, JAN1 + DAY)
    done = acacia.v1.subscriptions.cancel(sub.id, {"invoice_now": True})
    snap = mock.export_state()
    other = StripeMock.connect(server.url)
    other.import_state(snap)
    twin = make_client(server.url, other.api_key, schema_violations, ACACIA)
    assert twin.v1.subscriptions.retrieve(sub.id).to_dict() == done.to_dict()
    final = twin.v1.invoices.retrieve(done.latest_invoice)
    assert (final.status, final.total) == ("paid", 70)
