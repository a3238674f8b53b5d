"""Payments, `payment_behavior` checks, dunning and billing credits through the SDK: the cases the
mutation run of billing/payments.py, collection.py, dunning.py and credits.py found untested
(docs/mutation-testing.md). Values are worked by hand from the rules in the module docstrings
and the spec."""

from __future__ import annotations

from typing import Any

import pytest
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
    err_tuple,
    invoices_of,
    legacy_metered_price,
    licensed_price,
    new_clock,
    report,
    set_account,
)
from tests.api.credit_helpers import (
    balance,
    clocked,
    grant,
    ledger,
    meter,
    meter_price,
    send,
    subscribe,
)
from tests.api.dunning_helpers import (
    ATTEMPT1,
    RETRY1,
    RETRY2,
    RETRY3,
    Events,
    failing_renewal,
    hard_declining_renewal,
    latest_invoice,
)

FAILING = "pm_card_chargeCustomerFail"
DECLINED = (402, "card_error", "card_declined", None, "Your card was declined.")


def _customer(client: stripe.StripeClient, pm: str | None = FAILING, **extra: Any) -> Any:
    """A customer on a clock at JAN1, whose default payment method is `pm` (None: none)."""
    clk = new_clock(client)
    params: dict[str, Any] = {"test_clock": clk.id, **extra}
    if pm is not None:
        params["invoice_settings"] = {"default_payment_method": pm}
    return client.v1.customers.create(params)  # type: ignore[arg-type]


def _strict(client: stripe.StripeClient, cust: str, *prices: str, **extra: Any) -> Any:
    """`subscriptions.create` with `payment_behavior=error_if_incomplete`."""
    return client.v1.subscriptions.create(
        {
            "customer": cust,
            "items": [{"price": p} for p in prices],
            "payment_behavior": "error_if_incomplete",
            **extra,
        }
    )


# --- payment methods --------------------------------------------------------------------------


def test_detach_clears_only_the_defaults_naming_that_card(client: stripe.StripeClient) -> None:
    """Detaching a card clears the customer's and subscriptions' defaults that name it, no other."""
    _, cust, sub = clocked_sub(
        client,
        [licensed_price(client).id],
        customer={"invoice_settings": {"default_payment_method": "pm_card_mastercard"}},
        default_payment_method="pm_card_visa",
    )
    sub_pm = sub.default_payment_method
    cust_pm = client.v1.customers.retrieve(cust.id).invoice_settings.default_payment_method
    assert sub_pm != cust_pm
    attached = client.v1.events.list({"type": "payment_method.attached"}).data
    assert sorted(e.data.object.id for e in attached) == sorted([sub_pm, cust_pm])  # so far
    assert all(e.created == JAN1 and e.data.object.customer == cust.id for e in attached)
    spare = client.v1.payment_methods.attach("pm_card_amex", {"customer": cust.id}).id
    client.v1.payment_methods.detach(spare)  # named by no default: both stay
    assert client.v1.customers.retrieve(cust.id).invoice_settings.default_payment_method == cust_pm
    assert client.v1.subscriptions.retrieve(sub.id).default_payment_method == sub_pm
    ev = Events(client)
    ev.skip()
    client.v1.payment_methods.detach(cust_pm)
    assert client.v1.customers.retrieve(cust.id).invoice_settings.default_payment_method is None
    assert client.v1.subscriptions.retrieve(sub.id).default_payment_method == sub_pm
    (detached,) = ev.new()
    assert detached.type == "payment_method.detached"
    assert detached.created == JAN1  # the customer's clock time
    assert detached.data.object.id == cust_pm and detached.data.object.customer is None
    assert detached.data.previous_attributes.to_dict() == {"customer": cust.id}
    client.v1.payment_methods.detach(sub_pm)
    assert client.v1.subscriptions.retrieve(sub.id).default_payment_method is None


def test_a_test_card_expires_in_december_three_years_on(client: stripe.StripeClient) -> None:
    """A card made from a test id at the clock's 2026-01-01 expires 12/2029."""
    cust = _customer(client, pm=None)
    pm = client.v1.payment_methods.attach("pm_card_visa", {"customer": cust.id})
    assert (pm.card.exp_month, pm.card.exp_year) == (12, 2029)


def test_the_subscription_default_is_charged_before_the_customers(
    client: stripe.StripeClient,
) -> None:
    """A failing subscription default fails the charge although the customer's default is good."""
    _, cust, sub = clocked_sub(
        client,
        [licensed_price(client).id],
        customer={"invoice_settings": {"default_payment_method": "pm_card_visa"}},
        default_payment_method=FAILING,
    )
    assert sub.status == "incomplete"
    first = client.v1.invoices.retrieve(sub.latest_invoice)
    assert (first.status, first.attempt_count, first.amount_paid) == ("open", 1, 0)
    assert client.v1.customers.retrieve(cust.id).delinquent is True


# --- error_if_incomplete: the first payment judged before anything is written -----------------


def test_error_if_incomplete_judges_the_subscriptions_own_test_card(
    client: stripe.StripeClient,
) -> None:
    """A failing test id given as the subscription's default payment method makes the 402."""
    cust = _customer(client, pm="pm_card_visa")
    with pytest.raises(stripe.CardError) as exc:
        _strict(client, cust.id, licensed_price(client).id, default_payment_method=FAILING)
    assert err_tuple(exc) == DECLINED
    assert client.v1.subscriptions.list({"customer": cust.id, "status": "all"}).data == []


def test_error_if_incomplete_without_any_card(
    client: stripe.StripeClient, server: ThreadedServer, api_key: str
) -> None:
    """No payment method: charged anyway by default; a 402 once the account setting is off."""
    price = licensed_price(client).id
    ok = _strict(client, _customer(client, pm=None).id, price)
    assert ok.status == "active"
    set_account(server, api_key, charge_without_payment_method=False)
    cust = _customer(client, pm=None)
    with pytest.raises(stripe.CardError) as exc:
        _strict(client, cust.id, price)
    assert err_tuple(exc) == (
        402,
        "card_error",
        "invoice_payment_intent_requires_action",
        None,
        "This customer has no attached payment source or default payment method. Please "
        "consider adding a default payment method.",
    )
    assert client.v1.invoices.list({"customer": cust.id}).data == []


def test_error_if_incomplete_honours_the_mock_payment_flag(client: stripe.StripeClient) -> None:
    """`metadata[_mock_payment]=fail` declines the first payment even with a good card."""
    cust = _customer(client, pm="pm_card_visa", metadata={"_mock_payment": "fail"})
    with pytest.raises(stripe.CardError) as exc:
        _strict(client, cust.id, licensed_price(client).id)
    assert err_tuple(exc) == DECLINED


@pytest.mark.parametrize(
    ("amounts", "quantity", "extra", "refused"),
    [
        ([1], 1, {}, True),  # one cent is due
        ([5000], 0, {}, False),  # quantity 0: nothing is due
        ([5000], 1, {"trial_period_days": 7}, False),  # a trial's first invoice is 0
        ([5000, 0], 1, {}, True),  # the paid price counts although the last one is free
        ([5000], 1, {"collection_method": "send_invoice", "days_until_due": 7}, False),
    ],
)
def test_error_if_incomplete_only_when_an_amount_is_due(
    client: stripe.StripeClient,
    amounts: list[int],
    quantity: int,
    extra: dict[str, Any],
    refused: bool,
) -> None:
    """The first-payment 402 comes only when the first invoice has an amount to charge."""
    cust = _customer(client)
    items = [{"price": licensed_price(client, a).id, "quantity": quantity} for a in amounts]
    params: dict[str, Any] = {
        "customer": cust.id,
        "items": items,
        "payment_behavior": "error_if_incomplete",
        **extra,
    }
    if refused:
        with pytest.raises(stripe.CardError) as exc:
            client.v1.subscriptions.create(params)  # type: ignore[arg-type]
        assert err_tuple(exc) == DECLINED
    else:
        sub = client.v1.subscriptions.create(params)  # type: ignore[arg-type]
        assert sub.status in ("active", "trialing")
        assert client.v1.invoices.retrieve(sub.latest_invoice).amount_paid == 0


def test_error_if_incomplete_with_a_metered_price_only(client: stripe.StripeClient) -> None:
    """A metered price bills nothing up front: no first payment to refuse."""
    cust = _customer(client)
    m = client.v1.billing.meters.create(
        {"display_name": "c", "event_name": "calls", "default_aggregation": {"formula": "sum"}}
    )
    price = client.v1.prices.create(
        {
            "currency": "usd",
            "unit_amount": 10,
            "recurring": {"interval": "month", "usage_type": "metered", "meter": m.id},
            "product_data": {"name": "Calls"},
        }
    )
    assert _strict(client, cust.id, price.id).status == "active"


@pytest.mark.parametrize(
    ("items", "refused"),
    [
        ([700], True),  # a pending item is charged on the first invoice
        ([-500], True),  # 1000 - 500 = 500 is due
        ([-1000], False),  # 1000 - 1000 = 0
    ],
)
def test_error_if_incomplete_counts_pending_invoice_items(
    client: stripe.StripeClient, items: list[int], refused: bool
) -> None:
    """Pending invoice items join the first invoice, so they count in the amount judged."""
    cust = _customer(client)
    for amount in items:
        client.v1.invoice_items.create({"customer": cust.id, "amount": amount, "currency": "usd"})
    price = licensed_price(client, 1000).id
    if refused:
        with pytest.raises(stripe.CardError) as exc:
            _strict(client, cust.id, price)
        assert err_tuple(exc) == DECLINED
    else:
        assert _strict(client, cust.id, price).status == "active"


def test_error_if_incomplete_on_a_trial_with_a_pending_item(client: stripe.StripeClient) -> None:
    """A trial's first invoice still charges the pending items; a deleted one no longer counts."""
    cust = _customer(client)
    item = client.v1.invoice_items.create({"customer": cust.id, "amount": 700, "currency": "usd"})
    price = licensed_price(client).id
    with pytest.raises(stripe.CardError) as exc:
        _strict(client, cust.id, price, trial_period_days=7)
    assert err_tuple(exc) == DECLINED
    client.v1.invoice_items.delete(item.id)
    assert _strict(client, cust.id, price, trial_period_days=7).status == "trialing"


@pytest.mark.parametrize("behavior", ["error_if_incomplete", "pending_if_incomplete"])
def test_a_guarded_update_paid_at_once_is_applied(
    client: stripe.StripeClient, behavior: str
) -> None:
    """An upgrade whose invoice is paid goes through under either guarded payment_behavior."""
    price, bigger = licensed_price(client, 1000), licensed_price(client, 3000)
    _, _, sub = clocked_sub(
        client,
        [price.id],
        customer={"invoice_settings": {"default_payment_method": "pm_card_visa"}},
    )
    done = client.v1.subscriptions.update(
        sub.id,
        {
            "items": [{"id": sub["items"].data[0].id, "price": bigger.id}],
            "proration_behavior": "always_invoice",
            "payment_behavior": behavior,  # type: ignore[typeddict-item]
        },
    )
    assert (done.status, done["items"].data[0].price.id) == ("active", bigger.id)
    assert done.pending_update is None
    inv = client.v1.invoices.retrieve(done.latest_invoice)
    assert (inv.billing_reason, inv.status, inv.amount_paid) == (
        "subscription_update",
        "paid",
        2000,
    )


def test_pay_with_a_card_the_customer_does_not_have(client: stripe.StripeClient) -> None:
    """`pay`'s payment_method must exist and be attached to the invoice's customer."""
    cust = _customer(client, pm="pm_card_visa")
    client.v1.invoice_items.create({"customer": cust.id, "amount": 900, "currency": "usd"})
    inv = client.v1.invoices.create(
        {"customer": cust.id, "pending_invoice_items_behavior": "include"}
    )
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.invoices.pay(inv.id, {"payment_method": "pm_nope"})
    assert err_tuple(exc) == (
        400,
        "invalid_request_error",
        "resource_missing",
        "payment_method",
        "No such PaymentMethod: 'pm_nope'",
    )
    stranger = client.v1.payment_methods.create({"type": "card", "card": {"token": "tok_visa"}})
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.invoices.pay(inv.id, {"payment_method": stranger.id})
    assert err_tuple(exc) == (
        400,
        "invalid_request_error",
        "resource_missing",
        "payment_method",
        f"The customer does not have a payment method with the ID {stranger.id}. The payment "
        "method must be attached to the customer.",
    )
    assert client.v1.invoices.retrieve(inv.id).status == "draft"  # nothing happened
    mine = client.v1.payment_methods.attach(stranger.id, {"customer": cust.id})
    paid = client.v1.invoices.pay(inv.id, {"payment_method": mine.id})
    assert (paid.status, paid.amount_paid) == ("paid", 900)


def test_error_if_incomplete_ignores_items_of_another_subscription(
    client: stripe.StripeClient,
) -> None:
    """A pending item bound to another subscription is not on the new one's first invoice."""
    cust = _customer(client, pm="pm_card_visa")
    price = licensed_price(client).id
    other = client.v1.subscriptions.create({"customer": cust.id, "items": [{"price": price}]})
    client.v1.invoice_items.create(
        {"customer": cust.id, "amount": 700, "currency": "usd", "subscription": other.id}
    )
    client.v1.customers.update(cust.id, {"invoice_settings": {"default_payment_method": FAILING}})
    sub = _strict(client, cust.id, price, trial_period_days=7)
    assert sub.status == "trialing"
    assert client.v1.invoices.retrieve(sub.latest_invoice).amount_due == 0


# --- dunning ----------------------------------------------------------------------------------


def test_a_failed_renewal_says_what_changed(client: stripe.StripeClient) -> None:
    """The first failed attempt's events carry the previous attempt count, delinquency, status;
    paying by API carries them back, as caused by that request."""
    clk, cust, sub = failing_renewal(client)
    advance(client, clk.id, ATTEMPT1 - 1)
    ev = Events(client)
    ev.skip()
    advance(client, clk.id, ATTEMPT1)
    got = {e.type: e for e in ev.new()}
    assert all(e.created == ATTEMPT1 and e.request.id is None for e in got.values())
    prev = got["invoice.updated"].data.previous_attributes
    assert (prev.attempt_count, prev.attempted) == (0, False)
    changed = got["customer.updated"].data
    assert changed.object.delinquent is True
    assert changed.previous_attributes.to_dict() == {"delinquent": False}
    assert got["customer.subscription.updated"].data.previous_attributes.to_dict() == {
        "status": "active"
    }
    client.v1.invoices.pay(latest_invoice(client, sub.id).id, {"payment_method": "pm_card_visa"})
    back = {e.type: e for e in ev.new()}
    assert all(e.request.id is not None for e in back.values())
    assert back["customer.updated"].data.object.delinquent is False
    assert back["customer.updated"].data.previous_attributes.to_dict() == {"delinquent": True}
    assert back["customer.subscription.updated"].data.previous_attributes.to_dict() == {
        "status": "past_due"
    }
    assert client.v1.customers.retrieve(cust.id).delinquent is False


def test_cancel_after_the_last_retry_stamps_the_cancellation(client: stripe.StripeClient) -> None:
    """The subscription canceled for non-payment is canceled and ended at the last retry."""
    clk, _, sub = failing_renewal(client)
    advance(client, clk.id, RETRY3)
    done = client.v1.subscriptions.retrieve(sub.id)
    assert (done.status, done.canceled_at, done.ended_at) == ("canceled", RETRY3, RETRY3)


def test_cancel_after_the_last_retry_ends_a_pending_cancellation(
    client: stripe.StripeClient,
) -> None:
    """A subscription already set to cancel at period end keeps its canceled_at; it ends at
    the last retry and no longer says it cancels at period end."""
    clk, _, sub = failing_renewal(client)
    advance(client, clk.id, ATTEMPT1)
    asked = client.v1.subscriptions.update(sub.id, {"cancel_at_period_end": True})
    assert (asked.cancel_at_period_end, asked.canceled_at) == (True, ATTEMPT1)
    advance(client, clk.id, RETRY3)
    done = client.v1.subscriptions.retrieve(sub.id)
    assert (done.status, done.canceled_at, done.ended_at) == ("canceled", ATTEMPT1, RETRY3)
    assert done.cancel_at_period_end is False
    assert done.cancellation_details.reason == "payment_failed"


def test_an_unexecuted_retry_reports_the_count_it_raised(client: stripe.StripeClient) -> None:
    """A retry skipped after a hard decline still raises attempt_count and moves the schedule."""
    clk, _, sub = hard_declining_renewal(client)
    advance(client, clk.id, ATTEMPT1)
    ev = Events(client)
    ev.skip()
    advance(client, clk.id, RETRY1)
    (updated,) = ev.new()
    assert (updated.type, updated.created, updated.request.id) == ("invoice.updated", RETRY1, None)
    assert updated.data.object.attempt_count == 2
    assert updated.data.previous_attributes.to_dict() == {
        "attempt_count": 1,
        "next_payment_attempt": RETRY1,
    }
    inv = latest_invoice(client, sub.id)
    assert (inv.attempt_count, inv.next_payment_attempt) == (2, RETRY2)


def test_a_retry_that_succeeds_is_automatic(client: stripe.StripeClient) -> None:
    """A retry paid on the clock emits its events with no request, at the retry time."""
    clk, cust, _ = failing_renewal(client)
    advance(client, clk.id, ATTEMPT1)
    client.v1.customers.update(
        cust.id, {"invoice_settings": {"default_payment_method": "pm_card_mastercard"}}
    )
    ev = Events(client)
    ev.skip()
    advance(client, clk.id, RETRY1)
    got = ev.new()
    assert [e.type for e in got] == [
        "invoice.paid",
        "invoice.payment_succeeded",
        "customer.updated",
        "customer.subscription.updated",
    ]
    assert all(e.created == RETRY1 and e.request.id is None for e in got)
    assert got[0].data.object.amount_paid == 5000
    assert got[3].data.object.status == "active"


# --- billing credits --------------------------------------------------------------------------


def _cycle(client: stripe.StripeClient, sub_id: str, period_end: int) -> Any:
    """The subscription's cycle invoice ending at `period_end`."""
    (inv,) = [
        i
        for i in client.v1.invoices.list({"subscription": sub_id, "limit": 100}).data
        if i.billing_reason == "subscription_cycle" and i.period_end == period_end
    ]
    return inv


def _metered_sub(client: stripe.StripeClient, **extra: Any) -> tuple[Any, Any, Any]:
    """(clock, customer, subscription) billing the `api_calls` meter at 10 cents from JAN1."""
    price = meter_price(client, meter(client).id)
    clk, cus = clocked(client)
    return clk, cus, subscribe(client, cus.id, price.id, **extra)


def test_a_drained_grant_pays_nothing_more(client: stripe.StripeClient) -> None:
    """A grant used up in January leaves February's invoice, its own expiry and the ledger alone."""
    clk, cus, sub = _metered_sub(client)
    grant(client, cus.id, 400, expires_at=MAR1 + 3 * HOUR)
    send(client, cus.id, 100)  # 1000 in January: the grant pays 400
    advance(client, clk.id, FEB1 + 2 * HOUR)
    jan = _cycle(client, sub.id, FEB1)
    assert [c.amount for c in jan.total_pretax_credit_amounts] == [400]
    send(client, cus.id, 50)  # 500 in February
    advance(client, clk.id, MAR1 + 2 * HOUR)
    feb = _cycle(client, sub.id, MAR1)
    assert feb.total_pretax_credit_amounts == []
    assert (feb.subtotal, feb.total, feb.amount_due) == (500, 500, 500)
    advance(client, clk.id, MAR1 + 3 * HOUR)  # its expiry has nothing left to write off
    assert ledger(client, cus.id) == [("credits_granted", 400), ("credits_applied", -400)]


def test_a_one_cent_grant_pays_one_cent(client: stripe.StripeClient) -> None:
    """The smallest grant, 1 cent, is applied in full."""
    clk, cus, sub = _metered_sub(client)
    grant(client, cus.id, 1)
    send(client, cus.id, 100)
    advance(client, clk.id, FEB1 + 2 * HOUR)
    inv = _cycle(client, sub.id, FEB1)
    assert [c.amount for c in inv.total_pretax_credit_amounts] == [1]
    assert (inv.subtotal, inv.total, inv.amount_due) == (1000, 999, 999)


def test_expire_later_on_the_clock_stamps_that_time(client: stripe.StripeClient) -> None:
    """`/expire` a day after the grant: expires_at, updated and the expiry entry say that day."""
    clk, cus = clocked(client)
    g = grant(client, cus.id, 700)
    advance(client, clk.id, JAN1 + DAY)
    out = client.v1.billing.credit_grants.expire(g.id)
    assert (out.expires_at, out.updated, out.created) == (JAN1 + DAY, JAN1 + DAY, JAN1)
    (txn,) = client.v1.billing.credit_balance_transactions.list(
        {"customer": cus.id, "limit": 1}
    ).data
    assert (txn.debit.type, txn.effective_at, txn.created) == (
        "credits_expired",
        JAN1 + DAY,
        JAN1 + DAY,
    )


def test_void_later_on_the_clock_stamps_that_time(client: stripe.StripeClient) -> None:
    """`/void` a day after the grant: voided_at and updated say that day."""
    clk, cus = clocked(client)
    g = grant(client, cus.id, 700)
    advance(client, clk.id, JAN1 + DAY)
    out = client.v1.billing.credit_grants.void_grant(g.id)
    assert (out.voided_at, out.updated) == (JAN1 + DAY, JAN1 + DAY)
    assert balance(client, cus.id) == (0, 0)


@pytest.mark.parametrize(
    ("version", "reinstated"), [("2024-11-20.acacia", False), ("2024-12-18.acacia", True)]
)
def test_voiding_gives_credits_back_from_2024_12_18(
    client: stripe.StripeClient, mock: StripeMock, version: str, reinstated: bool
) -> None:
    """Voiding an invoice reinstates its credits only for accounts on 2024-12-18.acacia or later."""
    mock.update_settings(api_version=version)
    clk, cus, sub = _metered_sub(client, collection_method="send_invoice", days_until_due=30)
    grant(client, cus.id, 1000)
    send(client, cus.id, 150)
    advance(client, clk.id, FEB1 + 2 * HOUR)
    client.v1.invoices.void_invoice(_cycle(client, sub.id, FEB1).id)
    applied = [("credits_granted", 1000), ("credits_applied", -1000)]
    if reinstated:
        assert ledger(client, cus.id) == [*applied, ("credits_application_invoice_voided", 1000)]
        assert balance(client, cus.id) == (1000, 1000)
    else:
        assert ledger(client, cus.id) == applied
        assert balance(client, cus.id) == (0, 0)


def test_a_one_cent_line_is_paid(client: stripe.StripeClient) -> None:
    """A metered line of one cent is paid by a grant."""
    price = meter_price(client, meter(client).id, unit=1)
    clk, cus = clocked(client)
    sub = subscribe(client, cus.id, price.id)
    grant(client, cus.id, 1000)
    send(client, cus.id, 1)
    advance(client, clk.id, FEB1 + 2 * HOUR)
    inv = _cycle(client, sub.id, FEB1)
    assert [c.amount for c in inv.total_pretax_credit_amounts] == [1]
    assert (inv.subtotal, inv.total, inv.amount_due, inv.status) == (1, 0, 0, "paid")
    assert balance(client, cus.id) == (999, 999)


def test_one_cent_left_expires_and_voids(client: stripe.StripeClient) -> None:
    """A one-cent balance is written off by its expiry, and by a void."""
    clk, cus = clocked(client)
    g = grant(client, cus.id, 1, expires_at=JAN1 + DAY)
    advance(client, clk.id, JAN1 + DAY)
    assert ledger(client, cus.id, credit_grant=g.id) == [
        ("credits_granted", 1),
        ("credits_expired", -1),
    ]
    v = grant(client, cus.id, 1)
    client.v1.billing.credit_grants.void_grant(v.id)
    assert ledger(client, cus.id, credit_grant=v.id) == [
        ("credits_granted", 1),
        ("credits_voided", -1),
    ]


def test_a_grant_for_other_prices_does_not_stop_the_next_grant(
    client: stripe.StripeClient,
) -> None:
    """A first grant scoped to another price is skipped; the next grant pays the line."""
    price = meter_price(client, meter(client).id)
    other = meter_price(client, meter(client, "other_calls").id)
    clk, cus = clocked(client)
    sub = subscribe(client, cus.id, price.id)
    grant(
        client,
        cus.id,
        1000,
        priority=10,
        applicability_config={"scope": {"prices": [{"id": other.id}]}},
    )
    grant(client, cus.id, 1000, priority=50)
    send(client, cus.id, 30)
    advance(client, clk.id, FEB1 + 2 * HOUR)
    inv = _cycle(client, sub.id, FEB1)
    assert [c.amount for c in inv.total_pretax_credit_amounts] == [300]
    assert (inv.total, inv.amount_due) == (0, 0)


def test_a_preview_leaves_out_a_grant_expiring_within_the_period(
    client: stripe.StripeClient,
) -> None:
    """A grant expiring before the previewed period ends pays nothing of it (period_end <
    expires_at), though it has not expired yet; one expiring after the period end pays."""
    _, cus, sub = _metered_sub(client)
    grant(client, cus.id, 100, expires_at=FEB1)
    send(client, cus.id, 40)
    prev = client.v1.invoices.create_preview({"subscription": sub.id})
    assert prev.period_end == FEB1
    assert prev.total_pretax_credit_amounts == []
    assert (prev.subtotal, prev.amount_due) == (400, 400)
    grant(client, cus.id, 50, expires_at=FEB1 + 1)
    prev = client.v1.invoices.create_preview({"subscription": sub.id})
    assert [c.amount for c in prev.total_pretax_credit_amounts] == [50]


def test_legacy_usage_record_lines_are_never_paid(acacia: stripe.StripeClient) -> None:
    """A metered price fed by usage records (no meter) is not paid by credits."""
    price = legacy_metered_price(acacia, unit=7)
    clk, cus = clocked(acacia)
    sub = subscribe(acacia, cus.id, price.id)
    grant(acacia, cus.id, 1000)
    advance(acacia, clk.id, JAN1 + DAY)
    report(acacia, sub["items"].data[0].id, 100, JAN1 + DAY)
    advance(acacia, clk.id, FEB1 + 2 * HOUR)
    inv = _cycle(acacia, sub.id, FEB1)
    assert inv.total_pretax_credit_amounts == []
    assert (inv.subtotal, inv.total, inv.amount_due) == (700, 700, 700)
    assert balance(acacia, cus.id) == (1000, 1000)


def test_a_voided_or_pending_grant_listed_first_hides_no_other(
    client: stripe.StripeClient,
) -> None:
    """The balance summary counts every live grant after a voided or a pending one."""
    _, cus = clocked(client)
    client.v1.billing.credit_grants.void_grant(grant(client, cus.id, 500).id)
    grant(client, cus.id, 300, effective_at=JAN1 + DAY)
    grant(client, cus.id, 200)
    assert balance(client, cus.id) == (200, 200)


def test_default_incomplete_update_reports_past_due_as_requested(
    client: stripe.StripeClient,
) -> None:
    """A default_incomplete upgrade makes the subscription past_due in an event of that request."""
    price, bigger = licensed_price(client, 1000), licensed_price(client, 3000)
    _, _, sub = clocked_sub(client, [price.id])
    ev = Events(client)
    ev.skip()
    client.v1.subscriptions.update(
        sub.id,
        {
            "items": [{"id": sub["items"].data[0].id, "price": bigger.id}],
            "proration_behavior": "always_invoice",
            "payment_behavior": "default_incomplete",
        },
    )
    changes = [e for e in ev.new() if e.type == "customer.subscription.updated"]
    went = changes[0]  # then the update's own event, with the items
    assert went.data.object.status == "past_due"
    assert went.data.previous_attributes.to_dict() == {"status": "active"}
    assert (went.created, went.request.id is not None) == (JAN1, True)


def _subs_of(client: stripe.StripeClient, cust: str, *specs: dict[str, Any]) -> list[Any]:
    """Subscriptions of `cust` to a 5000/month price, one per spec of extra parameters."""
    price = licensed_price(client).id
    return [
        client.v1.subscriptions.create(
            {"customer": cust, "items": [{"price": price}], **spec}  # type: ignore[typeddict-item]
        )
        for spec in specs
    ]


def _delinquent(client: stripe.StripeClient, cust: str) -> bool:
    return bool(client.v1.customers.retrieve(cust).delinquent)


def test_paying_any_invoice_clears_delinquency_while_another_is_still_failed(
    client: stripe.StripeClient,
) -> None:
    """Stripe's `customer.delinquent` tracks "the most recent state change on any invoice":
    paying one failed invoice clears it although another failed invoice is still open ("paying
    or marking uncollectible any customer invoice regardless of whether it is the latest invoice
    for a subscription will always set this field to false"); the other's next automatic
    failure sets it again."""
    clk = new_clock(client)
    cust = client.v1.customers.create(
        {"test_clock": clk.id, "invoice_settings": {"default_payment_method": "pm_card_visa"}}
    ).id
    a, b = _subs_of(client, cust, {}, {})
    client.v1.customers.update(cust, {"invoice_settings": {"default_payment_method": FAILING}})
    advance(client, clk.id, ATTEMPT1)  # both renewals failed once
    assert [latest_invoice(client, s.id).attempt_count for s in (a, b)] == [1, 1]
    assert _delinquent(client, cust) is True
    visa = {"payment_method": "pm_card_visa"}
    client.v1.invoices.pay(latest_invoice(client, a.id).id, visa)  # type: ignore[arg-type]
    assert _delinquent(client, cust) is False
    b_inv = latest_invoice(client, b.id)
    assert (b_inv.status, b_inv.attempt_count) == ("open", 1)
    advance(client, clk.id, b_inv.next_payment_attempt)  # b's first retry fails too
    assert latest_invoice(client, b.id).attempt_count == 2
    assert _delinquent(client, cust) is True


def test_marking_any_invoice_uncollectible_by_request_clears_delinquency(
    client: stripe.StripeClient,
) -> None:
    clk = new_clock(client)
    cust = client.v1.customers.create(
        {"test_clock": clk.id, "invoice_settings": {"default_payment_method": "pm_card_visa"}}
    ).id
    a, b = _subs_of(client, cust, {}, {})
    client.v1.customers.update(cust, {"invoice_settings": {"default_payment_method": FAILING}})
    advance(client, clk.id, ATTEMPT1)  # both renewals failed once
    assert _delinquent(client, cust) is True
    client.v1.invoices.mark_uncollectible(latest_invoice(client, a.id).id)
    assert _delinquent(client, cust) is False
    assert latest_invoice(client, b.id).status == "open"


def test_two_failed_renewals_retry_apart_and_stop_together(
    client: stripe.StripeClient, server: ThreadedServer, api_key: str
) -> None:
    """With retries 3, 5 and 30 days apart, February's and March's failed invoices retry on
    their own schedules; paying February's keeps March's retrying (the subscription stays
    past_due); March's last failure cancels and stops every open invoice."""
    set_account(server, api_key, dunning_retry_days=[3, 5, 30])
    clk, _, sub = failing_renewal(client)
    advance(client, clk.id, MAR1 + HOUR)
    feb, mar = [i for i in invoices_of(client, sub.id) if i.billing_reason == "subscription_cycle"]
    assert (feb.attempt_count, feb.next_payment_attempt) == (3, ATTEMPT1 + 38 * DAY)
    assert (mar.attempt_count, mar.next_payment_attempt) == (1, MAR1 + HOUR + 3 * DAY)
    paid = client.v1.invoices.pay(feb.id, {"payment_method": "pm_card_visa"})
    assert client.v1.subscriptions.retrieve(sub.id).status == "past_due"  # March is open
    advance(client, clk.id, MAR1 + HOUR + 3 * DAY)
    mar = client.v1.invoices.retrieve(mar.id)
    assert (mar.attempt_count, mar.next_payment_attempt) == (2, MAR1 + HOUR + 8 * DAY)
    advance(client, clk.id, APR1 + HOUR + 7 * DAY)  # March's last retry (APR8 + 1 h) fails
    done = client.v1.subscriptions.retrieve(sub.id)
    assert (done.status, done.ended_at) == ("canceled", APR1 + HOUR + 7 * DAY)
    assert client.v1.invoices.retrieve(feb.id).auto_advance == paid.auto_advance  # left alone
    apr = invoices_of(client, sub.id)[-1]
    assert apr.period_end == APR1
    assert (apr.status, apr.attempt_count, apr.next_payment_attempt, apr.auto_advance) == (
        "open",
        2,
        None,
        False,
    )


def test_paying_the_latest_invoice_restores_despite_an_older_open_one(
    client: stripe.StripeClient, server: ThreadedServer, api_key: str
) -> None:
    """Paying the latest invoice makes the subscription active while February's still retries."""
    set_account(server, api_key, dunning_retry_days=[3, 5, 30])
    clk, _, sub = failing_renewal(client)
    advance(client, clk.id, MAR1 + HOUR)
    assert client.v1.subscriptions.retrieve(sub.id).status == "past_due"
    feb, mar = [i for i in invoices_of(client, sub.id) if i.billing_reason == "subscription_cycle"]
    client.v1.invoices.pay(mar.id, {"payment_method": "pm_card_visa"})
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"
    assert client.v1.invoices.retrieve(feb.id).next_payment_attempt == ATTEMPT1 + 38 * DAY


def test_an_overdue_invoice_is_announced_on_the_clock(client: stripe.StripeClient) -> None:
    """At the due date: customer.updated (delinquent) and customer.subscription.updated
    (past_due), both automatic, at the due date, saying what they were."""
    clk, cust, sub = clocked_sub(
        client, [licensed_price(client).id], collection_method="send_invoice", days_until_due=7
    )
    ev = Events(client)
    ev.skip()
    advance(client, clk.id, JAN1 + 8 * DAY)
    got = ev.new()
    assert [e.type for e in got] == ["customer.updated", "customer.subscription.updated"]
    assert all(e.created == JAN1 + 7 * DAY and e.request.id is None for e in got)
    assert got[0].data.previous_attributes.to_dict() == {"delinquent": False}
    assert got[1].data.previous_attributes.to_dict() == {"status": "active"}
    assert (cust.id, sub.id) == (got[0].data.object.id, got[1].data.object.id)


def test_an_overdue_one_off_invoice_makes_the_customer_delinquent(
    client: stripe.StripeClient,
) -> None:
    """A one-off send_invoice invoice past its due date makes its customer delinquent."""
    clk = new_clock(client)
    cust = client.v1.customers.create({"test_clock": clk.id}).id
    client.v1.invoice_items.create({"customer": cust, "amount": 900, "currency": "usd"})
    inv = client.v1.invoices.create(
        {
            "customer": cust,
            "collection_method": "send_invoice",
            "days_until_due": 10,
            "pending_invoice_items_behavior": "include",
        }
    )
    client.v1.invoices.finalize_invoice(inv.id)
    advance(client, clk.id, JAN1 + 10 * DAY - 1)
    assert _delinquent(client, cust) is False
    advance(client, clk.id, JAN1 + 10 * DAY)
    assert _delinquent(client, cust) is True


def test_voiding_a_failed_invoice_stops_its_retries(client: stripe.StripeClient) -> None:
    """A voided invoice shows no next attempt, auto_advance false, and is not retried."""
    clk, _, sub = failing_renewal(client)
    advance(client, clk.id, ATTEMPT1)
    inv = latest_invoice(client, sub.id)
    ev = Events(client)
    ev.skip()
    voided = client.v1.invoices.void_invoice(inv.id)
    (event,) = ev.new()
    assert (event.type, event.created, event.request.id is not None) == (
        "invoice.voided",
        ATTEMPT1,
        True,
    )
    assert (voided.status, voided.auto_advance, voided.next_payment_attempt) == (
        "void",
        False,
        None,
    )
    assert voided.status_transitions.voided_at == ATTEMPT1
    advance(client, clk.id, RETRY1)
    again = client.v1.invoices.retrieve(inv.id)
    assert (again.status, again.attempt_count, again.auto_advance) == ("void", 1, False)


def test_voided_credits_come_back_dated_and_tied_to_their_line(
    client: stripe.StripeClient,
) -> None:
    """The reinstatement of a voided invoice's credits is dated at the void and names the line;
    a grant whose expiry is still ahead keeps the credits."""
    clk, cus, sub = _metered_sub(client, collection_method="send_invoice", days_until_due=30)
    grant(client, cus.id, 1000, expires_at=APR1)
    send(client, cus.id, 150)
    advance(client, clk.id, FEB1 + 2 * HOUR)
    inv = _cycle(client, sub.id, FEB1)
    advance(client, clk.id, FEB1 + DAY)
    client.v1.invoices.void_invoice(inv.id)
    (txn,) = client.v1.billing.credit_balance_transactions.list(
        {"customer": cus.id, "limit": 1}
    ).data
    assert (txn.credit.type, txn.effective_at, txn.created) == (
        "credits_application_invoice_voided",
        FEB1 + DAY,
        FEB1 + DAY,
    )
    voided = txn.credit.credits_application_invoice_voided
    assert (voided.invoice, voided.invoice_line_item) == (inv.id, inv.lines.data[0].id)
    assert balance(client, cus.id) == (1000, 1000)


def test_credits_voided_after_expiry_expire_at_the_void(client: stripe.StripeClient) -> None:
    """Credits given back to an expired grant expire at once, dated at the void."""
    clk, cus, sub = _metered_sub(client, collection_method="send_invoice", days_until_due=30)
    grant(client, cus.id, 1000, expires_at=FEB1 + DAY)
    send(client, cus.id, 150)
    advance(client, clk.id, FEB1 + 2 * DAY)
    client.v1.invoices.void_invoice(_cycle(client, sub.id, FEB1).id)
    (txn,) = client.v1.billing.credit_balance_transactions.list(
        {"customer": cus.id, "limit": 1}
    ).data
    assert (txn.debit.type, txn.debit.amount.monetary.value) == ("credits_expired", 1000)
    assert (txn.effective_at, txn.created) == (FEB1 + 2 * DAY, FEB1 + 2 * DAY)


def test_grant_changes_are_dated_on_the_clock(client: stripe.StripeClient) -> None:
    """billing.credit_grant.updated events of update, expire and void, and the credits_voided
    entry, are dated at the customer's clock time."""
    clk, cus = clocked(client)
    a, b = grant(client, cus.id, 300), grant(client, cus.id, 400)
    advance(client, clk.id, JAN1 + DAY)
    client.v1.billing.credit_grants.update(a.id, {"metadata": {"k": "v"}})
    client.v1.billing.credit_grants.expire(a.id)
    client.v1.billing.credit_grants.void_grant(b.id)
    updates = client.v1.events.list({"type": "billing.credit_grant.updated"}).data
    assert [e.created for e in updates] == [JAN1 + DAY] * 3
    (txn,) = client.v1.billing.credit_balance_transactions.list(
        {"customer": cus.id, "credit_grant": b.id, "limit": 1}
    ).data
    assert (txn.debit.type, txn.effective_at, txn.created) == (
        "credits_voided",
        JAN1 + DAY,
        JAN1 + DAY,
    )


def test_a_draft_holds_credits_of_an_expiring_grant(client: stripe.StripeClient) -> None:
    """A draft holds the credits of a grant with an expiry: available drops, ledger stays."""
    clk, cus, sub = _metered_sub(client)
    grant(client, cus.id, 1000, expires_at=APR1)
    send(client, cus.id, 40)
    advance(client, clk.id, FEB1)
    assert client.v1.invoices.retrieve(_cycle(client, sub.id, FEB1).id).status == "draft"
    assert balance(client, cus.id) == (600, 1000)


def test_a_held_draft_stays_held_after_the_cancellation(
    client: stripe.StripeClient, server: ThreadedServer, api_key: str
) -> None:
    """A renewal draft the user took off auto-advance is neither finalized nor put back on
    auto-advance when the subscription is canceled for non-payment."""
    set_account(server, api_key, dunning_retry_days=[3, 5, 30])
    clk, _, sub = failing_renewal(client)
    advance(client, clk.id, MAR1)
    draft = latest_invoice(client, sub.id)
    assert (draft.status, draft.period_end) == ("draft", MAR1)
    client.v1.invoices.update(draft.id, {"auto_advance": False})
    ev = Events(client)
    ev.skip()
    advance(client, clk.id, APR1)  # February's last retry fails at MAR11 + 1 h
    deleted = [e for e in ev.new() if e.type == "customer.subscription.deleted"]
    assert [(e.created, e.request.id) for e in deleted] == [(ATTEMPT1 + 38 * DAY, None)]
    held = client.v1.invoices.retrieve(draft.id)
    assert (held.status, held.auto_advance, held.next_payment_attempt) == ("draft", False, None)


def test_marked_uncollectible_by_the_last_retry_or_by_request(
    client: stripe.StripeClient, server: ThreadedServer, api_key: str
) -> None:
    """The last retry marks the invoice uncollectible on the clock (no request); the API call
    marks another one as that request; both stamp the time and stop auto-advance."""
    set_account(server, api_key, dunning_invoice_after_final="uncollectible")
    clk, cust, sub = failing_renewal(client)
    advance(client, clk.id, RETRY3)
    (auto,) = client.v1.events.list({"type": "invoice.marked_uncollectible"}).data
    assert (auto.created, auto.request.id) == (RETRY3, None)
    inv = latest_invoice(client, sub.id)
    assert (inv.status, inv.auto_advance) == ("uncollectible", False)
    assert inv.status_transitions.marked_uncollectible_at == RETRY3
    client.v1.invoice_items.create({"customer": cust.id, "amount": 900, "currency": "usd"})
    one_off = client.v1.invoices.create(
        {"customer": cust.id, "pending_invoice_items_behavior": "include"}
    )
    client.v1.invoices.finalize_invoice(one_off.id)
    marked = client.v1.invoices.mark_uncollectible(one_off.id)
    assert (marked.status, marked.auto_advance) == ("uncollectible", False)
    assert marked.status_transitions.marked_uncollectible_at == RETRY3
    latest = client.v1.events.list({"type": "invoice.marked_uncollectible", "limit": 1}).data[0]
    assert (latest.data.object.id, latest.created) == (one_off.id, RETRY3)
    assert latest.request.id is not None


def test_unpaid_after_the_last_retry_is_announced_on_the_clock(
    client: stripe.StripeClient, server: ThreadedServer, api_key: str
) -> None:
    """`unpaid` after the last retry: customer.subscription.updated at the retry, no request."""
    set_account(server, api_key, dunning_after_final="unpaid")
    clk, _, sub = failing_renewal(client)
    advance(client, clk.id, RETRY3 - 1)
    ev = Events(client)
    ev.skip()
    advance(client, clk.id, RETRY3)
    (changed,) = [e for e in ev.new() if e.type == "customer.subscription.updated"]
    assert (changed.created, changed.request.id) == (RETRY3, None)
    assert changed.data.object.status == "unpaid"
    assert client.v1.subscriptions.retrieve(sub.id).status == "unpaid"


def test_a_grant_created_past_its_expiry_expires_at_once(client: stripe.StripeClient) -> None:
    """A grant backdated to before its (past) expires_at is written off as it is created."""
    _, cus = clocked(client)
    grant(client, cus.id, 700, effective_at=JAN1 - 10 * DAY, expires_at=JAN1 - DAY)
    assert ledger(client, cus.id) == [("credits_granted", 700), ("credits_expired", -700)]
    (txn,) = client.v1.billing.credit_balance_transactions.list(
        {"customer": cus.id, "limit": 1}
    ).data
    assert (txn.effective_at, txn.created) == (JAN1 - DAY, JAN1)
    assert balance(client, cus.id) == (0, 0)


def test_a_pending_update_announces_only_its_own_invoice(client: stripe.StripeClient) -> None:
    """A declined pending_if_incomplete upgrade emits the events of its one new invoice only."""
    price, bigger = licensed_price(client, 1000), licensed_price(client, 3000)
    clk, cust, sub = clocked_sub(client, [price.id])
    client.v1.customers.update(cust.id, {"invoice_settings": {"default_payment_method": FAILING}})
    advance(client, clk.id, JAN1 + 10 * DAY)
    ev = Events(client)
    ev.skip()
    got = client.v1.subscriptions.update(
        sub.id,
        {
            "items": [{"id": sub["items"].data[0].id, "price": bigger.id}],
            "proration_behavior": "always_invoice",
            "payment_behavior": "pending_if_incomplete",
        },
    )
    invoice_events = [e for e in ev.new() if e.type.startswith("invoice.")]
    assert {e.data.object.id for e in invoice_events} == {got.latest_invoice}
    assert len(invoices_of(client, sub.id)) == 2


def test_no_payment_method_retries_are_not_executed(
    client: stripe.StripeClient, server: ThreadedServer, api_key: str
) -> None:
    """Without any payment method (setting off) the renewal fails once; its retries only raise
    attempt_count (invoice.updated, no invoice.payment_failed) until a card appears."""
    set_account(server, api_key, charge_without_payment_method=False)
    clk, cust, sub = clocked_sub(
        client,
        [licensed_price(client).id],
        customer={"invoice_settings": {"default_payment_method": "pm_card_visa"}},
    )
    card = client.v1.customers.retrieve(cust.id).invoice_settings.default_payment_method
    client.v1.payment_methods.detach(card)
    advance(client, clk.id, ATTEMPT1)
    assert latest_invoice(client, sub.id).attempt_count == 1
    ev = Events(client)
    ev.skip()
    advance(client, clk.id, RETRY1)
    assert ev.types() == ["invoice.updated"]
    assert latest_invoice(client, sub.id).attempt_count == 2
    client.v1.customers.update(
        cust.id, {"invoice_settings": {"default_payment_method": "pm_card_visa"}}
    )
    advance(client, clk.id, RETRY2)
    assert (
        latest_invoice(client, sub.id).status,
        latest_invoice(client, sub.id).attempt_count,
    ) == (
        "paid",
        3,
    )


def test_an_overdue_invoice_during_a_trial_makes_it_past_due(client: stripe.StripeClient) -> None:
    """A trialing send_invoice subscription whose first invoice (a pending item) passes its due
    date becomes past_due."""
    clk = new_clock(client)
    cust = client.v1.customers.create({"test_clock": clk.id}).id
    client.v1.invoice_items.create({"customer": cust, "amount": 700, "currency": "usd"})
    (sub,) = _subs_of(
        client,
        cust,
        {"collection_method": "send_invoice", "days_until_due": 7, "trial_period_days": 30},
    )
    assert sub.status == "trialing"
    assert client.v1.invoices.retrieve(sub.latest_invoice).amount_due == 700
    advance(client, clk.id, JAN1 + 7 * DAY)
    assert client.v1.subscriptions.retrieve(sub.id).status == "past_due"
    (changed,) = client.v1.events.list({"type": "customer.subscription.updated", "limit": 1}).data
    assert changed.data.previous_attributes.to_dict() == {"status": "trialing"}


def test_drafts_take_credits_in_the_order_they_were_made(client: stripe.StripeClient) -> None:
    """Of two drafts, the one made first holds the credits first, whatever the order of the
    subscriptions: the later draft shows what is left."""
    a_price = meter_price(client, meter(client, "a_calls").id)
    b_price = meter_price(client, meter(client, "b_calls").id)
    clk, cus = clocked(client)
    sub_a = subscribe(client, cus.id, a_price.id)
    sub_b = subscribe(client, cus.id, b_price.id, billing_cycle_anchor=JAN1 + 19 * DAY)
    grant(client, cus.id, 500)
    send(client, cus.id, 40, name="a_calls")  # 400 on A's draft of FEB1
    send(client, cus.id, 30, name="b_calls")  # 300 on B's draft of JAN20
    advance(client, clk.id, JAN1 + 19 * DAY)
    b_draft = _cycle(client, sub_b.id, JAN1 + 19 * DAY)
    client.v1.invoices.update(b_draft.id, {"auto_advance": False})  # stays a draft
    advance(client, clk.id, FEB1)
    a_draft = client.v1.invoices.retrieve(_cycle(client, sub_a.id, FEB1).id)
    b_draft = client.v1.invoices.retrieve(b_draft.id)
    assert (a_draft.status, b_draft.status) == ("draft", "draft")
    assert [c.amount for c in b_draft.total_pretax_credit_amounts] == [300]
    assert [c.amount for c in a_draft.total_pretax_credit_amounts] == [200]
    assert balance(client, cus.id) == (0, 500)


def test_smart_retries_fall_on_whole_seconds(
    client: stripe.StripeClient, server: ThreadedServer, api_key: str
) -> None:
    """7 smart tries over 30 days: retry k runs k/7 of 2,592,000 s after the first attempt,
    rounded down to a whole second (370,285 s for the first, 740,571 s for the second)."""
    set_account(
        server, api_key, dunning_mode="smart", dunning_smart_tries=7, dunning_smart_window_days=30
    )
    clk, _, sub = failing_renewal(client)
    advance(client, clk.id, ATTEMPT1)
    assert latest_invoice(client, sub.id).next_payment_attempt == ATTEMPT1 + 370_285
    advance(client, clk.id, ATTEMPT1 + 370_285)
    inv = latest_invoice(client, sub.id)
    assert (inv.attempt_count, inv.next_payment_attempt) == (2, ATTEMPT1 + 740_571)


def test_an_update_bills_now_on_the_hard_declining_card_it_names(
    client: stripe.StripeClient,
) -> None:
    """`default_payment_method` (a test id of a card that declines with `lost_card`) and
    `billing_cycle_anchor=now` in one update: the card is attached first and the update's
    invoice is charged to that `pm_...`, so the first retry, on the same card, is not run (a
    hard decline is retried only on another card: `invoice.updated`, no new failure). The
    card was charged under its test id, and the retry then ran a charge."""
    clk, _cust, sub = clocked_sub(
        client,
        [licensed_price(client, 5000).id],
        customer={"invoice_settings": {"default_payment_method": "pm_card_visa"}},
    )
    advance(client, clk.id, JAN1 + 10 * DAY)
    updated = client.v1.subscriptions.update(
        sub.id,
        {
            "default_payment_method": "pm_card_visa_chargeCustomerFailLostCard",
            "billing_cycle_anchor": "now",
            "proration_behavior": "none",
        },
    )
    assert updated.default_payment_method.startswith("pm_")
    assert updated.default_payment_method != "pm_card_visa_chargeCustomerFailLostCard"
    inv = latest_invoice(client, sub.id)
    assert (inv.billing_reason, inv.status, inv.attempt_count) == ("subscription_update", "open", 1)
    assert inv.next_payment_attempt == JAN1 + 13 * DAY
    ev = Events(client)
    ev.skip()
    advance(client, clk.id, JAN1 + 13 * DAY)
    assert ev.types() == ["invoice.updated"]
    assert latest_invoice(client, sub.id).attempt_count == 2
