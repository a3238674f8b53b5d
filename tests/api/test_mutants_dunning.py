"""Collection and dunning through the SDK: the cases the mutation review of billing/dunning.py
found untested (docs/mutation-testing.md). Values are worked by hand from the rules in the
module docstring and the spec (webhook-delivery-and-dunning §9-§11): an automatic failure makes
the customer delinquent; paying any invoice clears it (OpenAPI `customer.delinquent`)."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from stripe_mock_billing.server import ThreadedServer
from tests.api.billing_helpers import (
    DAY,
    HOUR,
    JAN1,
    advance,
    licensed_price,
    new_clock,
    set_account,
)
from tests.api.dunning_helpers import (
    ATTEMPT1,
    RETRY1,
    Events,
    failing_renewal,
    latest_invoice,
)

FAILING = "pm_card_chargeCustomerFail"
VISA = {"payment_method": "pm_card_visa"}


def _one_off(client: stripe.StripeClient, cust: str, amount: int) -> Any:
    """A one-off invoice of `amount` cents, finalized with auto_advance: charged at once."""
    client.v1.invoice_items.create({"customer": cust, "amount": amount, "currency": "usd"})
    inv = client.v1.invoices.create(
        {"customer": cust, "auto_advance": True, "pending_invoice_items_behavior": "include"}
    )
    return client.v1.invoices.finalize_invoice(inv.id)


def _open_send_invoice(client: stripe.StripeClient, amount: int) -> Any:
    """A one-off send_invoice invoice of `amount` cents (due in 10 days), finalized at JAN1 on
    a clock: open and never charged."""
    clk = new_clock(client)
    cust = client.v1.customers.create({"test_clock": clk.id}).id
    client.v1.invoice_items.create({"customer": cust, "amount": amount, "currency": "usd"})
    draft = client.v1.invoices.create(
        {
            "customer": cust,
            "collection_method": "send_invoice",
            "days_until_due": 10,
            "pending_invoice_items_behavior": "include",
        }
    )
    return client.v1.invoices.finalize_invoice(draft.id)


def _delinquent(client: stripe.StripeClient, cust: str) -> bool:
    return bool(client.v1.customers.retrieve(cust).delinquent)


def test_paying_one_of_two_failed_one_off_invoices_clears_delinquency(
    client: stripe.StripeClient,
) -> None:
    """Two one-off invoices fail on the customer's card; paying one clears `delinquent` although
    the other is still owed (Stripe: paying any invoice "will always set this field to false").
    Another customer's failed invoice keeps that customer delinquent."""
    clk = new_clock(client)
    params = {"test_clock": clk.id, "invoice_settings": {"default_payment_method": FAILING}}
    cust = client.v1.customers.create(params).id  # type: ignore[arg-type]
    other = client.v1.customers.create(params).id  # type: ignore[arg-type]
    first = _one_off(client, cust, 700)
    second = _one_off(client, cust, 800)
    _one_off(client, other, 900)
    assert [(i.status, i.attempt_count) for i in (first, second)] == [("open", 1), ("open", 1)]
    assert _delinquent(client, cust) is True and _delinquent(client, other) is True
    paid = client.v1.invoices.pay(first.id, VISA)  # type: ignore[arg-type]
    assert (paid.status, paid.amount_paid) == ("paid", 700)
    assert _delinquent(client, cust) is False  # although the 800 invoice is still owed
    assert client.v1.invoices.retrieve(second.id).status == "open"
    assert _delinquent(client, other) is True
    assert client.v1.test_helpers.test_clocks.retrieve(clk.id).frozen_time == JAN1


def test_voiding_by_request_stops_auto_advance_and_names_the_request(
    client: stripe.StripeClient,
) -> None:
    """`/void` on a one-off invoice whose charge failed: `auto_advance` false, no retry left,
    `voided_at` the clock time, and `invoice.voided` made by that request."""
    clk = new_clock(client)
    params = {"test_clock": clk.id, "invoice_settings": {"default_payment_method": FAILING}}
    cust = client.v1.customers.create(params).id  # type: ignore[arg-type]
    failed = _one_off(client, cust, 600)
    assert (failed.status, failed.auto_advance) == ("open", True)
    assert failed.next_payment_attempt == JAN1 + 3 * DAY  # the first retry, 3 days on
    voided = client.v1.invoices.void_invoice(failed.id)
    assert (voided.status, voided.auto_advance) == ("void", False)
    assert voided.next_payment_attempt is None
    assert voided.status_transitions.voided_at == JAN1
    (event,) = client.v1.events.list({"type": "invoice.voided"}).data
    assert (event.data.object.id, event.created) == (failed.id, JAN1)
    assert event.request.id is not None  # the /void request, not the clock
    advance(client, clk.id, JAN1 + 4 * DAY)
    assert client.v1.invoices.retrieve(failed.id).attempt_count == 1  # never retried


def test_canceling_a_past_due_subscription_stops_its_retries(client: stripe.StripeClient) -> None:
    """Canceling a subscription whose renewal failed: its open invoice keeps `open` but has no
    next attempt and `auto_advance` false, and the retry day passes without a charge."""
    clk, _, sub = failing_renewal(client)
    advance(client, clk.id, ATTEMPT1)
    inv = latest_invoice(client, sub.id)
    assert (inv.status, inv.attempt_count, inv.next_payment_attempt) == ("open", 1, RETRY1)
    client.v1.subscriptions.cancel(sub.id)
    after = client.v1.invoices.retrieve(inv.id)
    assert (after.status, after.auto_advance, after.next_payment_attempt) == ("open", False, None)
    ev = Events(client)
    ev.skip()
    advance(client, clk.id, RETRY1 + DAY)
    assert client.v1.invoices.retrieve(inv.id).attempt_count == 1
    assert ev.types() == []


def test_paid_out_of_band_is_never_attempted(client: stripe.StripeClient) -> None:
    """`paid_out_of_band` on an open invoice never charged (send_invoice): paid in full,
    `attempted` stays false, no next attempt, only `invoice.paid` (no
    `invoice.payment_succeeded`), made by that request at the clock time."""
    opened = _open_send_invoice(client, 1200)
    assert (opened.status, opened.attempted, opened.attempt_count) == ("open", False, 0)
    ev = Events(client)
    ev.skip()
    paid = client.v1.invoices.pay(opened.id, {"paid_out_of_band": True})
    assert (paid.status, paid.amount_paid, paid.amount_paid_off_stripe) == ("paid", 1200, 1200)
    assert (paid.attempted, paid.attempt_count, paid.next_payment_attempt) == (False, 0, None)
    assert paid.status_transitions.paid_at == JAN1
    got = ev.new()
    assert [e.type for e in got] == ["invoice.paid"]
    assert got[0].created == JAN1 and got[0].request.id is not None
    assert got[0].data.object.status == "paid"


def test_a_charge_by_request_is_announced_as_that_request(client: stripe.StripeClient) -> None:
    """`pay` with a card on an open invoice never charged: paid and attempted once, with
    `invoice.paid` then `invoice.payment_succeeded`, both made by that request."""
    opened = _open_send_invoice(client, 1300)
    ev = Events(client)
    ev.skip()
    paid = client.v1.invoices.pay(opened.id, VISA)  # type: ignore[arg-type]
    assert (paid.status, paid.amount_paid, paid.amount_paid_off_stripe) == ("paid", 1300, 0)
    assert (paid.attempted, paid.attempt_count, paid.next_payment_attempt) == (True, 1, None)
    assert paid.status_transitions.paid_at == JAN1
    got = [e for e in ev.new() if e.type.startswith("invoice.")]
    assert [e.type for e in got] == ["invoice.paid", "invoice.payment_succeeded"]
    assert all(e.created == JAN1 and e.request.id is not None for e in got)
    assert all(e.data.object.amount_paid == 1300 for e in got)


def test_a_one_off_invoice_is_marked_uncollectible_by_its_last_retry(
    client: stripe.StripeClient, server: ThreadedServer, api_key: str
) -> None:
    """A one-off invoice outside any subscription, one retry a day after the first attempt and
    `uncollectible` after the last: open after the first failure, uncollectible on the clock
    (no request) when the retry fails, stamped with the retry time."""
    set_account(
        server, api_key, dunning_retry_days=[1], dunning_invoice_after_final="uncollectible"
    )
    clk = new_clock(client)
    params = {"test_clock": clk.id, "invoice_settings": {"default_payment_method": FAILING}}
    cust = client.v1.customers.create(params).id  # type: ignore[arg-type]
    inv = _one_off(client, cust, 500)
    assert (inv.status, inv.attempt_count, inv.next_payment_attempt) == ("open", 1, JAN1 + DAY)
    assert client.v1.events.list({"type": "invoice.marked_uncollectible"}).data == []
    advance(client, clk.id, JAN1 + DAY)
    after = client.v1.invoices.retrieve(inv.id)
    assert (after.status, after.attempt_count, after.next_payment_attempt) == (
        "uncollectible",
        2,
        None,
    )
    assert after.status_transitions.marked_uncollectible_at == JAN1 + DAY
    (event,) = client.v1.events.list({"type": "invoice.marked_uncollectible"}).data
    assert (event.data.object.id, event.created, event.request.id) == (inv.id, JAN1 + DAY, None)


# --- trials -------------------------------------------------------------------------------------


def _trial_customer(client: stripe.StripeClient, pm: str) -> tuple[Any, str]:
    """(clock at JAN1, customer) whose default payment method is `pm`."""
    clk = new_clock(client)
    params = {"test_clock": clk.id, "invoice_settings": {"default_payment_method": pm}}
    return clk, client.v1.customers.create(params).id  # type: ignore[arg-type]


def _status_changes(ev: Events) -> list[tuple[str, str]]:
    """(previous status, new status) of each subscription status change since the last look."""
    return [
        (e.data.previous_attributes.status, e.data.object.status)
        for e in ev.new()
        if e.type == "customer.subscription.updated" and "status" in e.data.previous_attributes
    ]


def _failing_first_invoice_in_trial(client: stripe.StripeClient, trial_end: int) -> Any:
    """A subscription trialing until `trial_end` whose first invoice bills a 700 pending item on
    a failing card (the trial line itself is free)."""
    _, cust = _trial_customer(client, FAILING)
    client.v1.invoice_items.create({"customer": cust, "amount": 700, "currency": "usd"})
    return client.v1.subscriptions.create(
        {"customer": cust, "items": [{"price": licensed_price(client).id}], "trial_end": trial_end}
    )


def test_a_failed_first_invoice_in_a_trial_makes_it_incomplete_until_paid(
    client: stripe.StripeClient,
) -> None:
    """First invoice of a trial owing 700 on a failing card: `incomplete` (from `trialing`);
    paying it inside the trial makes the subscription `trialing` again."""
    ev = Events(client)
    sub = _failing_first_invoice_in_trial(client, JAN1 + 7 * DAY)
    assert sub.status == "incomplete"
    assert _status_changes(ev) == [("trialing", "incomplete")]
    inv = client.v1.invoices.retrieve(sub.latest_invoice)
    assert (inv.status, inv.amount_due, inv.attempt_count) == ("open", 700, 1)
    client.v1.invoices.pay(inv.id, VISA)  # type: ignore[arg-type]
    assert client.v1.subscriptions.retrieve(sub.id).status == "trialing"
    assert _status_changes(ev) == [("incomplete", "trialing")]


def test_paid_at_the_trial_end_the_subscription_is_active(client: stripe.StripeClient) -> None:
    """The same first invoice paid one second before the trial ends gives `trialing`; paid at
    the trial end itself (the trial is over) `active`."""
    for paid_at, status in ((JAN1 + 2 * HOUR - 1, "trialing"), (JAN1 + 2 * HOUR, "active")):
        sub = _failing_first_invoice_in_trial(client, JAN1 + 2 * HOUR)
        cust = client.v1.customers.retrieve(sub.customer)
        advance(client, cust.test_clock, paid_at)
        client.v1.invoices.pay(sub.latest_invoice, VISA)  # type: ignore[arg-type]
        assert client.v1.subscriptions.retrieve(sub.id).status == status


def test_a_failed_one_off_invoice_in_a_trial_makes_it_past_due_until_paid(
    client: stripe.StripeClient,
) -> None:
    """A one-off invoice of a trialing subscription fails: `past_due` (from `trialing`); paid,
    the subscription is `trialing` again."""
    _, cust = _trial_customer(client, "pm_card_visa")
    sub = client.v1.subscriptions.create(
        {"customer": cust, "items": [{"price": licensed_price(client).id}], "trial_period_days": 7}
    )
    assert sub.status == "trialing"
    client.v1.customers.update(cust, {"invoice_settings": {"default_payment_method": FAILING}})
    client.v1.invoice_items.create(
        {"customer": cust, "amount": 700, "currency": "usd", "subscription": sub.id}
    )
    ev = Events(client)
    ev.skip()
    draft = client.v1.invoices.create(
        {
            "customer": cust,
            "subscription": sub.id,
            "auto_advance": True,
            "pending_invoice_items_behavior": "include",
        }
    )
    failed = client.v1.invoices.finalize_invoice(draft.id)
    assert (failed.status, failed.amount_due, failed.attempt_count) == ("open", 700, 1)
    assert _status_changes(ev) == [("trialing", "past_due")]
    client.v1.invoices.pay(failed.id, VISA)  # type: ignore[arg-type]
    assert client.v1.subscriptions.retrieve(sub.id).status == "trialing"
    assert _status_changes(ev) == [("past_due", "trialing")]


# --- ended subscriptions ------------------------------------------------------------------------


def _ended(client: stripe.StripeClient, how: str) -> tuple[Any, Any, str]:
    """(clock, subscription, customer): a subscription `canceled` by request, or
    `incomplete_expired` 23 hours after its first invoice failed; the customer's default card
    fails from then on."""
    clk, cust = _trial_customer(client, "pm_card_visa" if how == "canceled" else FAILING)
    sub = client.v1.subscriptions.create(
        {"customer": cust, "items": [{"price": licensed_price(client).id}]}
    )
    if how == "canceled":
        client.v1.subscriptions.cancel(sub.id)
        client.v1.customers.update(cust, {"invoice_settings": {"default_payment_method": FAILING}})
    else:
        advance(client, clk.id, JAN1 + 23 * HOUR)
    return clk, client.v1.subscriptions.retrieve(sub.id), cust


@pytest.mark.parametrize("how", ["canceled", "incomplete_expired"])
def test_an_ended_subscriptions_invoice_gets_no_final_outcome(
    client: stripe.StripeClient, server: ThreadedServer, api_key: str, how: str
) -> None:
    """No retries and `uncollectible` after the last: a failed one-off invoice of an ended
    subscription stays open (its dunning ended with it), while the customer's one-off invoice
    outside any subscription is marked uncollectible at once."""
    set_account(server, api_key, dunning_retry_days=[], dunning_invoice_after_final="uncollectible")
    _, sub, cust = _ended(client, how)
    assert sub.status == how
    client.v1.invoice_items.create(
        {"customer": cust, "amount": 700, "currency": "usd", "subscription": sub.id}
    )
    draft = client.v1.invoices.create(
        {
            "customer": cust,
            "subscription": sub.id,
            "auto_advance": True,
            "pending_invoice_items_behavior": "include",
        }
    )
    failed = client.v1.invoices.finalize_invoice(draft.id)
    assert (failed.status, failed.attempt_count, failed.next_payment_attempt) == ("open", 1, None)
    assert client.v1.subscriptions.retrieve(sub.id).status == how
    assert _one_off(client, cust, 800).status == "uncollectible"  # the setting is on
    marked = client.v1.events.list({"type": "invoice.marked_uncollectible"}).data
    assert [e.data.object.amount_due for e in marked] == [800]


# --- pending updates ----------------------------------------------------------------------------


def test_paying_a_pending_updates_invoice_applies_it_at_the_payment_time(
    client: stripe.StripeClient,
) -> None:
    """A 1000 -> 3000 upgrade made with `pending_if_incomplete` on a failing card, 10 days in;
    its invoice paid 5 hours later: the update applies then, announced by that request."""
    price, bigger = licensed_price(client, 1000), licensed_price(client, 3000)
    clk, cust = _trial_customer(client, "pm_card_visa")
    sub = client.v1.subscriptions.create({"customer": cust, "items": [{"price": price.id}]})
    client.v1.customers.update(cust, {"invoice_settings": {"default_payment_method": FAILING}})
    advance(client, clk.id, JAN1 + 10 * DAY)
    pending = client.v1.subscriptions.update(
        sub.id,
        {
            "items": [{"id": sub["items"].data[0].id, "price": bigger.id}],
            "proration_behavior": "always_invoice",
            "payment_behavior": "pending_if_incomplete",
        },
    )
    assert pending.pending_update is not None
    paid_at = JAN1 + 10 * DAY + 5 * HOUR
    advance(client, clk.id, paid_at)
    ev = Events(client)
    ev.skip()
    client.v1.invoices.pay(pending.latest_invoice, VISA)  # type: ignore[arg-type]
    (applied,) = [e for e in ev.new() if e.type == "customer.subscription.updated"]
    assert (applied.created, applied.request.id is not None) == (paid_at, True)
    assert applied.data.object["items"].data[0].price.id == bigger.id
    assert applied.data.object.pending_update is None


# --- finalization -------------------------------------------------------------------------------


def test_a_failed_charge_at_finalize_by_request_is_that_requests(
    client: stripe.StripeClient,
) -> None:
    """`/finalize` of an auto-advancing one-off invoice charges it at once; the decline's
    `invoice.payment_failed` and `invoice.updated` are made by that request."""
    _, cust = _trial_customer(client, FAILING)
    ev = Events(client)
    ev.skip()
    failed = _one_off(client, cust, 400)
    assert (failed.status, failed.amount_due, failed.attempt_count) == ("open", 400, 1)
    got = {e.type: e for e in ev.new()}
    assert got["invoice.payment_failed"].request.id is not None
    assert got["invoice.updated"].request.id is not None
    assert got["invoice.payment_failed"].created == JAN1


def test_a_free_first_invoice_is_paid_and_attempted(client: stripe.StripeClient) -> None:
    """A trial's first invoice owes nothing: paid at once, `attempted` true, nothing charged."""
    _, cust = _trial_customer(client, "pm_card_visa")
    sub = client.v1.subscriptions.create(
        {"customer": cust, "items": [{"price": licensed_price(client).id}], "trial_period_days": 7}
    )
    inv = client.v1.invoices.retrieve(sub.latest_invoice)
    assert (inv.status, inv.amount_due, inv.amount_paid) == ("paid", 0, 0)
    assert (inv.attempted, inv.next_payment_attempt) == (True, None)
    assert inv.status_transitions.paid_at == JAN1


def test_turning_auto_advance_on_after_a_failed_pay_schedules_from_that_pay(
    client: stripe.StripeClient,
) -> None:
    """A one-off invoice finalized without auto-advance, `pay` declined a day later (its first
    attempt), then `auto_advance=true`: the first retry is 3 days after that attempt."""
    clk, cust = _trial_customer(client, FAILING)
    client.v1.invoice_items.create({"customer": cust, "amount": 300, "currency": "usd"})
    draft = client.v1.invoices.create(
        {"customer": cust, "auto_advance": False, "pending_invoice_items_behavior": "include"}
    )
    opened = client.v1.invoices.finalize_invoice(draft.id)
    assert (opened.status, opened.attempt_count) == ("open", 0)
    advance(client, clk.id, JAN1 + DAY)
    with pytest.raises(stripe.CardError):
        client.v1.invoices.pay(opened.id)
    failed = client.v1.invoices.retrieve(opened.id)
    assert (failed.attempt_count, failed.next_payment_attempt) == (1, None)
    resumed = client.v1.invoices.update(opened.id, {"auto_advance": True})
    assert resumed.next_payment_attempt == JAN1 + DAY + 3 * DAY


def test_forgive_changes_nothing_for_a_card(client: stripe.StripeClient) -> None:
    """`forgive=true` concerns sources with insufficient funds; a declining card still declines
    (402 `card_declined`) and the invoice stays open and owed."""
    clk = new_clock(client)
    params = {"test_clock": clk.id, "invoice_settings": {"default_payment_method": FAILING}}
    cust = client.v1.customers.create(params).id  # type: ignore[arg-type]
    inv = _one_off(client, cust, 700)
    with pytest.raises(stripe.CardError) as exc:
        client.v1.invoices.pay(inv.id, {"forgive": True})
    assert (exc.value.http_status, exc.value.code) == (402, "card_declined")
    after = client.v1.invoices.retrieve(inv.id)
    assert (after.status, after.amount_remaining, after.attempt_count) == ("open", 700, 1)
