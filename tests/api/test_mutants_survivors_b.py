"""Survivors of the third mutation measurement (issue 15), group B: collection, credits, usage
watching. Pinned here where a surviving mutant changes what a user reads:

- a volume price's flat fee already billed by a threshold invoice does not count again toward
  `amount_gte` (billing-alerts.md §6: the threshold measures the accrued, not-yet-invoiced
  amount), neither in the amount nor in the credits the measurement deducts;
- that measurement deducts the credits the threshold invoice would take finalizing at once,
  ahead of an older draft that shows them (billing-credits.md §5.2: a grant goes to whichever
  invoice finalizes first);
- a test clock advance that fails half-way puts back a credit grant of a customer attached to the
  clock after the grant was made (its `test_clock` is null: only its `customer` ties it to the
  clock), so the expiry is written by the next advance;
- the `credits_applied` ledger entry is dated at the invoice's finalization;
- a draft viewed at the very second its grant expires shows no credits of it (billing-credits.md
  §6: at `expires_at` the remaining balance expires).

Amounts are worked by hand: a volume price of 10 cents a unit with a 200 flat fee bills 100
units 200 + 100 x 10 = 1,200; a 1-cent price bills n units n cents."""

from __future__ import annotations

from typing import Any

import pytest
import stripe
import time_machine

from stripe_mock_billing.handle import new_api_key
from stripe_mock_billing.inprocess import mock_stripe
from tests.api.billing_helpers import DAY, FEB1, HOUR, JAN1, advance
from tests.api.credit_helpers import clocked, grant, ledger, meter, meter_price, send, subscribe
from tests.conftest import assert_journal_valid

AT = JAN1 + 5 * DAY
Y2030 = 1_893_456_000  # 2030-01-01T00:00:00Z
FEB2030 = 1_896_134_400  # 2030-02-01T00:00:00Z


def _volume_flat_price(client: stripe.StripeClient, meter_id: str) -> Any:
    """A metered volume price on `meter_id`: 10 cents a unit plus a 200 flat fee."""
    return client.v1.prices.create(
        {
            "currency": "usd",
            "billing_scheme": "tiered",
            "tiers_mode": "volume",
            "tiers": [{"up_to": "inf", "unit_amount": 10, "flat_amount": 200}],
            "recurring": {"interval": "month", "usage_type": "metered", "meter": meter_id},
            "product_data": {"name": "Storage"},
        }
    )


def _threshold_then_new_item(client: stripe.StripeClient) -> tuple[Any, Any, Any]:
    """(customer, subscription, volume price) at AT on a clock: `amount_gte` 1,000 reached by
    100 units of the volume price (1,200, invoiced at once), then an item of a 1-cent price on
    another meter added in the same second."""
    storage = meter(client, "storage")
    calls = meter(client, "calls")
    volume = _volume_flat_price(client, storage.id)
    cents = meter_price(client, calls.id, 1)
    clk, cus = clocked(client)
    client.v1.customers.update(
        cus.id, {"invoice_settings": {"default_payment_method": "pm_card_visa"}}
    )
    sub = subscribe(client, cus.id, volume.id, billing_thresholds={"amount_gte": 1000})
    advance(client, clk.id, AT)
    send(client, cus.id, 100, "storage")
    first = _latest(client, sub.id)
    assert (first.billing_reason, first.total) == ("subscription_threshold", 1200)
    client.v1.subscription_items.create({"subscription": sub.id, "price": cents.id})
    return cus, sub, volume


def _latest(client: stripe.StripeClient, sub_id: str) -> Any:
    return client.v1.invoices.retrieve(client.v1.subscriptions.retrieve(sub_id).latest_invoice)


def _reasons(client: stripe.StripeClient, sub_id: str) -> list[str]:
    got = client.v1.invoices.list({"subscription": sub_id, "limit": 100}).data
    return [i.billing_reason for i in reversed(got)]


def test_a_flat_fee_billed_by_a_threshold_invoice_does_not_count_again(
    client: stripe.StripeClient,
) -> None:
    """After the 1,200 threshold invoice, 850 units of the new item are 850 un-invoiced: below
    1,000 (the volume price's 200 flat fee was billed already); 150 more reach 1,000."""
    cus, sub, _ = _threshold_then_new_item(client)
    send(client, cus.id, 850, "calls")
    assert _reasons(client, sub.id) == ["subscription_create", "subscription_threshold"]
    send(client, cus.id, 150, "calls")
    assert _reasons(client, sub.id) == ["subscription_create"] + 2 * ["subscription_threshold"]
    second = _latest(client, sub.id)
    assert (second.total, second.threshold_reason.amount_gte) == (1000, 1000)


def test_a_grant_for_an_already_invoiced_price_does_not_net_the_threshold(
    client: stripe.StripeClient,
) -> None:
    """A 500 grant scoped to the volume price, made after its threshold invoice: that price has
    nothing left to bill, so the 1,100 of the new item are measured in full and invoiced."""
    cus, sub, volume = _threshold_then_new_item(client)
    grant(client, cus.id, 500, applicability_config={"scope": {"prices": [{"id": volume.id}]}})
    send(client, cus.id, 1100, "calls")
    assert _reasons(client, sub.id) == ["subscription_create"] + 2 * ["subscription_threshold"]
    second = _latest(client, sub.id)
    assert (second.subtotal, second.total, second.amount_due) == (1100, 1100, 1100)
    assert second.total_pretax_credit_amounts == []


def test_a_threshold_invoice_would_take_the_credits_an_older_draft_shows(
    client: stripe.StripeClient,
) -> None:
    """`amount_gte` 1,000 at 1 cent a unit, a 1,000 grant; January's draft (800 units) waits
    for its finalization an hour after Feb 1 when 1,300 units arrive. A threshold invoice would
    finalize first and take the whole 1,000 (a grant goes to whichever invoice finalizes first,
    billing-credits.md §5.2): 300 net, no threshold invoice. January then takes 800 of the
    credits; the 200 left make the 1,300 measure 1,100: invoiced with 200 of credits."""
    price = meter_price(client, meter(client).id, 1)
    clk, cus = clocked(client)
    client.v1.customers.update(
        cus.id, {"invoice_settings": {"default_payment_method": "pm_card_visa"}}
    )
    sub = subscribe(client, cus.id, price.id, billing_thresholds={"amount_gte": 1000})
    grant(client, cus.id, 1000)
    send(client, cus.id, 800)
    advance(client, clk.id, FEB1)
    send(client, cus.id, 1300)
    assert _reasons(client, sub.id) == ["subscription_create", "subscription_cycle"]
    advance(client, clk.id, FEB1 + 2 * HOUR)
    got = {i.billing_reason: i for i in client.v1.invoices.list({"subscription": sub.id}).data}
    january = got["subscription_cycle"]
    assert (january.status, january.subtotal, january.total) == ("paid", 800, 0)
    threshold = got["subscription_threshold"]
    assert (threshold.subtotal, threshold.total, threshold.amount_due) == (1300, 1100, 1100)


def test_a_failed_advance_puts_back_a_grant_made_before_the_customer_joined_the_clock(
    client: stripe.StripeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 700 grant expiring in 10 days, then the customer is attached to a new clock: an advance
    past the expiry fails after writing it, so the next advance writes it (the ledger shows the
    grant and its expiry once each)."""
    from stripe_mock_billing.billing import alerts

    cus = client.v1.customers.create({})
    g = grant(client, cus.id, 700, expires_at=cus.created + 10 * DAY)
    clk = client.v1.test_helpers.test_clocks.create(
        {"frozen_time": cus.created, "customer": cus.id}  # type: ignore[typeddict-unknown-key]
    )

    def boom(ns: Any, customers: list[str]) -> None:
        raise RuntimeError("boom after the expiry was written")

    monkeypatch.setattr(alerts, "clock_advanced", boom)
    with pytest.raises(stripe.APIError) as exc:
        advance(client, clk.id, cus.created + 11 * DAY)
    assert exc.value.http_status == 500
    monkeypatch.undo()
    assert ledger(client, cus.id) == [("credits_granted", 700)]
    advance(client, clk.id, cus.created + 12 * DAY)
    assert ledger(client, cus.id) == [("credits_granted", 700), ("credits_expired", -700)]
    assert client.v1.billing.credit_grants.retrieve(g.id).expires_at == cus.created + 10 * DAY


def test_credits_applied_are_dated_at_the_finalization(client: stripe.StripeClient) -> None:
    """A 1,000 grant pays the renewal (50 units at 10 cents, 500) when it finalizes, an hour
    after Feb 1: the `credits_applied` entry and its event are dated then."""
    price = meter_price(client, meter(client).id, 10)
    clk, cus = clocked(client)
    sub = subscribe(client, cus.id, price.id)
    grant(client, cus.id, 1000)
    send(client, cus.id, 50)
    advance(client, clk.id, FEB1 + 2 * HOUR)
    (renewal,) = [
        i
        for i in client.v1.invoices.list({"subscription": sub.id}).data
        if i.billing_reason == "subscription_cycle"
    ]
    assert (renewal.status_transitions.finalized_at, renewal.total) == (FEB1 + HOUR, 0)
    (txn,) = [
        t
        for t in client.v1.billing.credit_balance_transactions.list({"customer": cus.id}).data
        if t.type == "debit"
    ]
    assert txn.debit.type == "credits_applied"
    assert (txn.created, txn.effective_at) == (FEB1 + HOUR, FEB1 + HOUR)
    (event,) = [
        e
        for e in client.v1.events.list({"type": "billing.credit_balance_transaction.created"}).data
        if e.data.object.id == txn.id
    ]
    assert (event.created, event.data.object.created) == (FEB1 + HOUR, FEB1 + HOUR)


def test_a_draft_shows_no_credits_of_a_grant_at_its_expires_at() -> None:
    """No clock, the wall clock frozen: a 300 grant expiring half an hour after Feb 1; January's
    draft (10 units at 10 cents) waits for its finalization an hour after Feb 1. A second
    before the expiry the draft shows the 100 of credits, at the expiry none."""
    expires = FEB2030 + 1800
    with mock_stripe() as m, time_machine.travel(Y2030, tick=False) as traveller:
        sdk = m.client(new_api_key())
        price = meter_price(sdk, meter(sdk).id, 10)
        cus = sdk.v1.customers.create({})
        sub = subscribe(sdk, cus.id, price.id)
        grant(sdk, cus.id, 300, expires_at=expires)
        send(sdk, cus.id, 10)
        traveller.move_to(expires - 1)
        (draft,) = [
            i
            for i in sdk.v1.invoices.list({"subscription": sub.id}).data
            if i.billing_reason == "subscription_cycle"
        ]
        assert (draft.status, draft.period_end, draft.subtotal) == ("draft", FEB2030, 100)
        assert [c.amount for c in draft.total_pretax_credit_amounts] == [100]
        traveller.move_to(expires)
        at_expiry = sdk.v1.invoices.retrieve(draft.id)
        assert (at_expiry.status, at_expiry.subtotal, at_expiry.total) == ("draft", 100, 100)
        assert at_expiry.total_pretax_credit_amounts == []
        assert_journal_valid(m.handle(sdk._requestor.api_key))
