"""Failed renewals through the SDK: attempts, retries on the test clock (default schedule
[3, 5, 7] days), events in order, the outcomes after the last retry, and recovery."""

from __future__ import annotations

import uuid

import pytest
import stripe

from stripe_mock_billing.handle import StripeMock
from stripe_mock_billing.server import ThreadedServer
from tests.api.billing_helpers import (
    DAY,
    FEB1,
    HOUR,
    MAR1,
    advance,
    clocked_sub,
    err_tuple,
    invoices_of,
    licensed_price,
    set_account,
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
from tests.conftest import make_client

FAILED_RETRY = ["invoice.payment_failed", "invoice.updated"]


def _state(client: stripe.StripeClient, sub_id: str) -> tuple[object, ...]:
    """(invoice status, attempt_count, next_payment_attempt, subscription status)."""
    inv = latest_invoice(client, sub_id)
    sub = client.v1.subscriptions.retrieve(sub_id)
    return (inv.status, inv.attempt_count, inv.next_payment_attempt, sub.status)


def _walk_to_last_retry(client: stripe.StripeClient, clk: str, sub: str, ev: Events) -> None:
    """Renewal, first attempt and the first two retries, asserting each step."""
    advance(client, clk, FEB1)
    assert _state(client, sub) == ("draft", 0, ATTEMPT1, "active")
    ev.skip()
    advance(client, clk, ATTEMPT1 - 1)
    assert _state(client, sub) == ("draft", 0, ATTEMPT1, "active")
    assert ev.types() == []
    advance(client, clk, ATTEMPT1)
    assert _state(client, sub) == ("open", 1, RETRY1, "past_due")
    assert ev.types() == [
        "invoice.finalized",
        "invoice.payment_failed",
        "invoice.updated",
        "customer.subscription.updated",
        "customer.updated",
    ]
    advance(client, clk, RETRY1 - 1)  # day 3 minus one second: nothing yet
    assert _state(client, sub) == ("open", 1, RETRY1, "past_due")
    assert ev.types() == []
    advance(client, clk, RETRY1)
    assert _state(client, sub) == ("open", 2, RETRY2, "past_due")
    assert ev.types() == FAILED_RETRY
    advance(client, clk, RETRY2 - 1)
    assert _state(client, sub) == ("open", 2, RETRY2, "past_due")
    advance(client, clk, RETRY2)
    assert _state(client, sub) == ("open", 3, RETRY3, "past_due")
    assert ev.types() == FAILED_RETRY
    advance(client, clk, RETRY3 - 1)
    assert _state(client, sub) == ("open", 3, RETRY3, "past_due")
    assert ev.types() == []


def test_default_schedule_then_cancel(client: stripe.StripeClient) -> None:
    clk, cust, sub = failing_renewal(client)
    ev = Events(client)
    _walk_to_last_retry(client, clk.id, sub.id, ev)
    advance(client, clk.id, RETRY3)
    got = ev.new()
    assert [e.type for e in got] == [*FAILED_RETRY, "customer.subscription.deleted"]
    failed = got[0].data.object
    assert (failed.attempt_count, failed.next_payment_attempt) == (4, None)
    assert got[1].data.previous_attributes.to_dict() == {
        "attempt_count": 3,
        "next_payment_attempt": RETRY3,
    }
    assert all(e.created == RETRY3 for e in got)
    done = client.v1.subscriptions.retrieve(sub.id)
    assert (done.status, done.ended_at) == ("canceled", RETRY3)
    assert done.cancellation_details.reason == "payment_failed"
    inv = latest_invoice(client, sub.id)
    assert (inv.status, inv.attempt_count, inv.next_payment_attempt) == ("open", 4, None)
    assert (inv.amount_due, inv.amount_paid, inv.amount_remaining) == (5000, 0, 5000)
    assert inv.auto_advance is False
    assert client.v1.customers.retrieve(cust.id).delinquent is True
    advance(client, clk.id, MAR1 + HOUR)  # nothing more happens
    assert ev.types() == []
    assert len(invoices_of(client, sub.id)) == 2


def test_payment_failed_events_carry_each_attempt(client: stripe.StripeClient) -> None:
    clk, _, sub = failing_renewal(client)
    advance(client, clk.id, RETRY2)
    failed = client.v1.events.list({"type": "invoice.payment_failed"}).data
    assert [(e.data.object.attempt_count, e.data.object.next_payment_attempt) for e in failed] == [
        (3, RETRY3),
        (2, RETRY2),
        (1, RETRY1),
    ]
    assert [e.created for e in failed] == [RETRY2, RETRY1, ATTEMPT1]
    assert all(e.request.id is None for e in failed)  # automatic
    sub_update = client.v1.events.list({"type": "customer.subscription.updated"}).data[0]
    assert sub_update.data.object.status == "past_due"
    assert sub_update.data.previous_attributes.to_dict() == {"status": "active"}
    assert sub.id


@pytest.mark.parametrize(
    ("after", "invoice_after", "sub_status", "inv_status", "tail"),
    [
        (
            "unpaid",
            "uncollectible",
            "unpaid",
            "uncollectible",
            ["invoice.marked_uncollectible", "customer.subscription.updated"],
        ),
        ("unpaid", "open", "unpaid", "open", ["customer.subscription.updated"]),
        ("past_due", "open", "past_due", "open", []),
        (
            "past_due",
            "uncollectible",
            "past_due",
            "uncollectible",
            ["invoice.marked_uncollectible"],
        ),
        (
            "cancel",
            "uncollectible",
            "canceled",
            "uncollectible",
            [
                "invoice.marked_uncollectible",
                "customer.subscription.deleted",
            ],
        ),
    ],
)
def test_outcomes_after_the_last_retry(
    client: stripe.StripeClient,
    server: ThreadedServer,
    api_key: str,
    after: str,
    invoice_after: str,
    sub_status: str,
    inv_status: str,
    tail: list[str],
) -> None:
    set_account(
        server, api_key, dunning_after_final=after, dunning_invoice_after_final=invoice_after
    )
    clk, _, sub = failing_renewal(client)
    ev = Events(client)
    _walk_to_last_retry(client, clk.id, sub.id, ev)
    advance(client, clk.id, RETRY3)
    got = ev.new()
    assert [e.type for e in got] == [*FAILED_RETRY, *tail]
    if "customer.subscription.updated" in tail:
        assert got[-1].data.previous_attributes.to_dict() == {"status": "past_due"}
    assert _state(client, sub.id) == (inv_status, 4, None, sub_status)


def test_unpaid_subscription_keeps_invoicing_without_attempts(
    client: stripe.StripeClient, server: ThreadedServer, api_key: str
) -> None:
    set_account(server, api_key, dunning_after_final="unpaid")
    clk, _, sub = failing_renewal(client)
    advance(client, clk.id, RETRY3)
    failed_id = latest_invoice(client, sub.id).id
    advance(client, clk.id, MAR1)
    draft = latest_invoice(client, sub.id)
    assert (draft.status, draft.next_payment_attempt) == ("draft", None)  # not to be charged
    advance(client, clk.id, MAR1 + HOUR)
    new = latest_invoice(client, sub.id)
    assert new.id != failed_id
    assert (new.status, new.attempted, new.attempt_count) == ("open", False, 0)
    assert new.next_payment_attempt is None
    assert client.v1.subscriptions.retrieve(sub.id).status == "unpaid"
    # paying an older invoice does not restore the subscription; paying the latest does
    client.v1.invoices.pay(failed_id, {"payment_method": "pm_card_visa"})
    assert client.v1.subscriptions.retrieve(sub.id).status == "unpaid"
    paid = client.v1.invoices.pay(new.id, {"payment_method": "pm_card_visa"})
    assert (paid.status, paid.amount_paid, paid.amount_remaining) == ("paid", 5000, 0)
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"


def test_recovery_by_attaching_a_card_and_paying(client: stripe.StripeClient) -> None:
    clk, cust, sub = failing_renewal(client)
    advance(client, clk.id, ATTEMPT1)
    ev = Events(client)
    ev.skip()
    pm = client.v1.payment_methods.attach("pm_card_visa", {"customer": cust.id})
    paid = client.v1.invoices.pay(latest_invoice(client, sub.id).id, {"payment_method": pm.id})
    assert (paid.status, paid.amount_paid, paid.amount_remaining) == ("paid", 5000, 0)
    assert (paid.attempt_count, paid.next_payment_attempt) == (1, None)  # pay does not count
    assert paid.status_transitions.paid_at == ATTEMPT1
    assert ev.types() == [
        "payment_method.attached",
        "invoice.paid",
        "invoice.payment_succeeded",
        "customer.updated",
        "customer.subscription.updated",
    ]
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"
    assert client.v1.customers.retrieve(cust.id).delinquent is False
    advance(client, clk.id, RETRY3 + DAY)  # no retries of a paid invoice
    assert ev.types() == []


def test_retry_succeeds_after_the_default_method_changes(client: stripe.StripeClient) -> None:
    clk, cust, sub = failing_renewal(client)
    advance(client, clk.id, RETRY1)
    client.v1.customers.update(
        cust.id, {"invoice_settings": {"default_payment_method": "pm_card_mastercard"}}
    )
    ev = Events(client)
    ev.skip()
    advance(client, clk.id, RETRY2 - 1)
    assert _state(client, sub.id) == ("open", 2, RETRY2, "past_due")
    advance(client, clk.id, RETRY2)
    assert _state(client, sub.id) == ("paid", 3, None, "active")
    assert ev.types() == [
        "invoice.paid",
        "invoice.payment_succeeded",
        "customer.updated",
        "customer.subscription.updated",
    ]
    inv = latest_invoice(client, sub.id)
    assert (inv.amount_paid, inv.status_transitions.paid_at) == (5000, RETRY2)


def test_subscription_default_payment_method_comes_first(client: stripe.StripeClient) -> None:
    clk, _, sub = failing_renewal(client)
    client.v1.subscriptions.update(sub.id, {"default_payment_method": "pm_card_visa"})
    advance(client, clk.id, ATTEMPT1)
    assert _state(client, sub.id) == ("paid", 1, None, "active")


def test_hard_decline_is_never_retried(client: stripe.StripeClient) -> None:
    clk, _, sub = hard_declining_renewal(client)
    advance(client, clk.id, ATTEMPT1)
    failed = client.v1.events.list({"type": "invoice.payment_failed"}).data
    assert len(failed) == 1
    ev = Events(client)
    ev.skip()
    advance(client, clk.id, RETRY1)
    # the retry is not executed: attempt_count rises, no new charge (no invoice.payment_failed)
    assert _state(client, sub.id) == ("open", 2, RETRY2, "past_due")
    assert ev.types() == ["invoice.updated"]
    advance(client, clk.id, RETRY3)
    assert len(client.v1.events.list({"type": "invoice.payment_failed"}).data) == 1
    assert _state(client, sub.id) == ("open", 4, None, "canceled")


def test_hard_decline_retry_runs_on_a_new_payment_method(client: stripe.StripeClient) -> None:
    pm = client.v1.payment_methods.create(
        {"type": "card", "card": {"token": "tok_visa_chargeCustomerFailStolenCard"}}
    )
    clk, cust, sub = failing_renewal(client, failing="pm_card_visa")
    client.v1.payment_methods.attach(pm.id, {"customer": cust.id})
    client.v1.customers.update(cust.id, {"invoice_settings": {"default_payment_method": pm.id}})
    advance(client, clk.id, RETRY1)
    assert _state(client, sub.id) == ("open", 2, RETRY2, "past_due")
    client.v1.customers.update(
        cust.id, {"invoice_settings": {"default_payment_method": "pm_card_visa"}}
    )
    advance(client, clk.id, RETRY2)
    assert _state(client, sub.id) == ("paid", 3, None, "active")


def test_custom_schedule_setting(
    client: stripe.StripeClient, server: ThreadedServer, api_key: str
) -> None:
    set_account(server, api_key, dunning_retry_days=[1])
    clk, _, sub = failing_renewal(client)
    advance(client, clk.id, ATTEMPT1)
    assert _state(client, sub.id) == ("open", 1, ATTEMPT1 + DAY, "past_due")
    advance(client, clk.id, ATTEMPT1 + DAY)
    assert _state(client, sub.id) == ("open", 2, None, "canceled")


def test_no_retries_at_all(
    client: stripe.StripeClient, server: ThreadedServer, api_key: str
) -> None:
    set_account(server, api_key, dunning_retry_days=[], dunning_after_final="unpaid")
    clk, _, sub = failing_renewal(client)
    advance(client, clk.id, ATTEMPT1)
    assert _state(client, sub.id) == ("open", 1, None, "unpaid")


def test_smart_schedule_spreads_tries_over_the_window(
    client: stripe.StripeClient, server: ThreadedServer, api_key: str
) -> None:
    set_account(
        server, api_key, dunning_mode="smart", dunning_smart_tries=4, dunning_smart_window_days=14
    )
    clk, _, sub = failing_renewal(client)
    step = 14 * DAY // 4
    advance(client, clk.id, ATTEMPT1)
    assert _state(client, sub.id) == ("open", 1, ATTEMPT1 + step, "past_due")
    advance(client, clk.id, ATTEMPT1 + 3 * step)
    assert _state(client, sub.id) == ("open", 4, ATTEMPT1 + 4 * step, "past_due")
    advance(client, clk.id, ATTEMPT1 + 4 * step - 1)
    assert _state(client, sub.id)[3] == "past_due"
    advance(client, clk.id, ATTEMPT1 + 4 * step)
    assert _state(client, sub.id) == ("open", 5, None, "canceled")


def test_pay_errors(client: stripe.StripeClient) -> None:
    clk, _, sub = failing_renewal(client)
    advance(client, clk.id, ATTEMPT1)
    inv = latest_invoice(client, sub.id)
    with pytest.raises(stripe.CardError) as exc:
        client.v1.invoices.pay(inv.id)
    assert err_tuple(exc) == (402, "card_error", "card_declined", None, "Your card was declined.")
    assert exc.value.json_body["error"]["decline_code"] == "generic_decline"
    after = client.v1.invoices.retrieve(inv.id)
    assert (after.status, after.attempt_count, after.next_payment_attempt) == ("open", 1, RETRY1)
    with pytest.raises(stripe.CardError) as exc:
        client.v1.invoices.pay(
            inv.id, {"payment_method": "pm_card_visa_chargeDeclinedInsufficientFunds"}
        )
    assert err_tuple(exc) == (
        402,
        "card_error",
        "card_declined",
        None,
        "Your card has insufficient funds.",
    )
    assert exc.value.json_body["error"]["decline_code"] == "insufficient_funds"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.invoices.pay(inv.id, {"paid_out_of_band": True, "payment_method": "pm_card_visa"})
    assert err_tuple(exc) == (
        400,
        "invalid_request_error",
        "parameters_exclusive",
        "paid_out_of_band",
        "You may only specify one of these parameters: paid_out_of_band, payment_method.",
    )
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.invoices.pay(inv.id, {"source": "src_nope"})
    assert err_tuple(exc) == (
        400,
        "invalid_request_error",
        "resource_missing",
        "source",
        "No such source: 'src_nope'",
    )
    paid = client.v1.invoices.pay(inv.id, {"paid_out_of_band": True})
    assert (paid.status, paid.amount_paid, paid.amount_paid_off_stripe) == ("paid", 5000, 5000)
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.invoices.pay(inv.id)
    assert err_tuple(exc) == (400, "invalid_request_error", None, None, "Invoice is already paid")


def test_mark_uncollectible_restores_a_past_due_subscription(client: stripe.StripeClient) -> None:
    clk, cust, sub = failing_renewal(client)
    advance(client, clk.id, ATTEMPT1)
    inv = latest_invoice(client, sub.id)
    bad = client.v1.invoices.mark_uncollectible(inv.id)
    assert (bad.status, bad.next_payment_attempt) == ("uncollectible", None)
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"
    assert client.v1.customers.retrieve(cust.id).delinquent is False
    advance(client, clk.id, RETRY1)
    assert client.v1.invoices.retrieve(inv.id).attempt_count == 1


def test_acacia_invoice_has_no_payment_intent(acacia: stripe.StripeClient) -> None:
    clk, _, sub = failing_renewal(acacia)
    advance(acacia, clk.id, ATTEMPT1)
    inv = latest_invoice(acacia, sub.id)
    assert (inv.paid, inv.payment_intent, inv.charge) == (False, None, None)
    assert (inv.attempt_count, inv.next_payment_attempt) == (1, RETRY1)


def test_a_snapshot_keeps_the_schedule(
    client: stripe.StripeClient,
    mock: StripeMock,
    server: ThreadedServer,
    schema_violations: list[str],
) -> None:
    clk, _, sub = failing_renewal(client)
    advance(client, clk.id, ATTEMPT1)
    other = StripeMock.connect(server.url, "sk_test_" + uuid.uuid4().hex)
    other.import_state(mock.export_state())
    copy = make_client(server.url, other.api_key, schema_violations)
    advance(copy, clk.id, RETRY1)
    assert _state(copy, sub.id) == ("open", 2, RETRY2, "past_due")
    assert _state(client, sub.id) == ("open", 1, RETRY1, "past_due")  # the original is untouched


def test_auto_advance_false_stops_retries(client: stripe.StripeClient) -> None:
    clk, _, sub = failing_renewal(client)
    advance(client, clk.id, ATTEMPT1)
    inv = latest_invoice(client, sub.id)
    stopped = client.v1.invoices.update(inv.id, {"auto_advance": False})
    assert (stopped.auto_advance, stopped.next_payment_attempt) == (False, None)
    advance(client, clk.id, RETRY1)
    assert _state(client, sub.id) == ("open", 1, None, "past_due")
    resumed = client.v1.invoices.update(inv.id, {"auto_advance": True})
    assert resumed.next_payment_attempt == RETRY1  # 3 days after the last attempt
    advance(client, clk.id, RETRY1 + 1)
    assert _state(client, sub.id) == ("open", 2, RETRY1 + 5 * DAY, "past_due")


def test_no_payment_method_fails_when_the_setting_is_off(
    client: stripe.StripeClient, server: ThreadedServer, api_key: str
) -> None:
    set_account(server, api_key, charge_without_payment_method=False)
    sub = clocked_sub(client, [licensed_price(client).id])[2]
    assert sub.status == "incomplete"  # as at Stripe without a payment method
    first = client.v1.invoices.retrieve(sub.latest_invoice)
    assert (first.status, first.attempt_count) == ("open", 1)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.invoices.pay(first.id)
    assert err_tuple(exc) == (
        400,
        "invalid_request_error",
        None,
        None,
        "This customer has no attached payment source or default payment method. Please "
        "consider adding a default payment method.",
    )
    paid = client.v1.invoices.pay(first.id, {"payment_method": "pm_card_visa"})
    assert paid.status == "paid"
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"
