"""Billing credits pinned while reviewing the surviving mutants of billing/credits.py (issue 15;
billing-credits.md §4 "Unused credit grants limit", §5): what counts toward the 100 unused
grants of a customer (a live grant that is pending or still has a balance; not one used up by
an invoice, even on the second it became effective, nor a voided pending one), and the expiry
written by a clock advance that passes `expires_at`, or by the wall-clock renewal that next uses
the credits, before anything reads them; credits given back by a void to a grant whose expiry
passed unwritten expire at the void; a preview made while an earlier draft holds credits of an
expiring grant, or usage that reaches a billing threshold then."""

from __future__ import annotations

import pytest
import stripe

from stripe_mock_billing.handle import StripeMock
from tests.api.billing_helpers import APR1, DAY, FEB1, JAN1, MAR1, advance
from tests.api.credit_helpers import clocked, grant, meter, meter_price, send, subscribe
from tests.conftest import err_of


def test_a_used_up_grant_and_a_voided_pending_one_are_not_unused(
    client: stripe.StripeClient,
) -> None:
    """Grant A (1 cent, effective Feb 1) pays 1 cent of January's 10-cent usage when the draft
    is finalized at Feb 1, the second A becomes effective; grant B (effective Mar 1) is voided.
    Neither counts: 100 more grants can be made at Feb 1, the 101st is refused."""
    price = meter_price(client, meter(client).id, 10)
    clk, cus = clocked(client)
    sub = subscribe(client, cus.id, price.id)
    used = grant(client, cus.id, 1, effective_at=FEB1)
    client.v1.billing.credit_grants.void_grant(grant(client, cus.id, 5, effective_at=MAR1).id)
    send(client, cus.id, 1)
    advance(client, clk.id, FEB1)
    (draft,) = [
        i
        for i in client.v1.invoices.list({"subscription": sub.id}).data
        if i.billing_reason == "subscription_cycle"
    ]
    paid = client.v1.invoices.finalize_invoice(draft.id)
    assert [c.amount for c in paid.total_pretax_credit_amounts] == [1]
    assert (paid.subtotal, paid.total) == (10, 9)
    ledger = client.v1.billing.credit_balance_summary.retrieve(
        {
            "customer": cus.id,
            "filter": {"type": "credit_grant", "credit_grant": used.id},
        }
    )
    assert ledger.balances[0].ledger_balance.monetary.value == 0
    for _ in range(100):
        grant(client, cus.id, 1)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        grant(client, cus.id, 1)
    e = err_of(exc)
    assert (exc.value.http_status, e["param"]) == (400, "customer")
    assert e["message"] == (
        f"The customer {cus.id} has reached the maximum of 100 unused credit grants."
    )


def test_a_clock_advance_past_expires_at_writes_the_expiry(client: stripe.StripeClient) -> None:
    """A 700 grant expiring Jan 11: the advance to Jan 12 writes `credits_expired` (700,
    effective Jan 11) and its event, with no read of the credits in between."""
    clk, cus = clocked(client)
    g = grant(client, cus.id, 700, expires_at=JAN1 + 10 * DAY)
    advance(client, clk.id, JAN1 + 11 * DAY)
    evs = client.v1.events.list({"type": "billing.credit_balance_transaction.created"}).data
    got = [
        (e.data.object.credit_grant, e.data.object.type, e.data.object.effective_at)
        for e in reversed(evs)
    ]
    assert got == [(g.id, "credit", JAN1), (g.id, "debit", JAN1 + 10 * DAY)]
    debit = evs[0].data.object.debit
    assert (debit.type, debit.amount.monetary.value) == ("credits_expired", 700)


def test_a_wall_clock_renewal_writes_the_expiry_of_a_lapsed_grant(
    client: stripe.StripeClient, mock: StripeMock
) -> None:
    """A customer without a clock, a 300 grant expiring in 10 days: 32 days later the renewal
    invoice (10 units, 100) is finalized without credits, and the expiry (300) is written
    then, with no read of the credits in between."""
    price = meter_price(client, meter(client).id, 10)
    cus = client.v1.customers.create({})
    start = mock.now()
    g = grant(client, cus.id, 300, expires_at=start + 10 * DAY)
    sub = subscribe(client, cus.id, price.id)
    send(client, cus.id, 10)
    mock.advance_wall_clock(32 * DAY)
    evs = client.v1.events.list({"type": "billing.credit_balance_transaction.created"}).data
    got = [(e.data.object.type, e.data.object.effective_at) for e in reversed(evs)]
    assert got[1:] == [("debit", start + 10 * DAY)]
    assert evs[0].data.object.debit.type == "credits_expired"
    assert evs[0].data.object.credit_grant == g.id
    (renewal,) = [
        i
        for i in client.v1.invoices.list({"subscription": sub.id}).data
        if i.billing_reason == "subscription_cycle"
    ]
    assert (renewal.subtotal, renewal.total, renewal.total_pretax_credit_amounts) == (100, 100, [])


def test_credits_voided_back_to_a_lapsed_grant_expire_at_the_void(
    client: stripe.StripeClient, mock: StripeMock
) -> None:
    """No clock: a 1,000 grant expiring in 40 days pays 1,000 of the 32nd day's renewal (150
    units, 1,500); voided 10 days later, past the expiry, the 1,000 come back and expire at once
    (billing-credits.md §6), with no read of the credits in between."""
    price = meter_price(client, meter(client).id, 10)
    cus = client.v1.customers.create({})
    start = mock.now()
    g = grant(client, cus.id, 1000, expires_at=start + 40 * DAY)
    sub = subscribe(client, cus.id, price.id, collection_method="send_invoice", days_until_due=30)
    send(client, cus.id, 150)
    mock.advance_wall_clock(32 * DAY)
    (renewal,) = [
        i
        for i in client.v1.invoices.list({"subscription": sub.id}).data
        if i.billing_reason == "subscription_cycle"
    ]
    assert (renewal.status, renewal.total_pretax_credit_amounts[0].amount) == ("open", 1000)
    mock.advance_wall_clock(10 * DAY)
    voided = client.v1.invoices.void_invoice(renewal.id)
    evs = client.v1.events.list({"type": "billing.credit_balance_transaction.created"}).data
    got = [(e.data.object.type, e.data.object.credit_grant) for e in reversed(evs)]
    assert got == [("credit", g.id), ("debit", g.id), ("credit", g.id), ("debit", g.id)]
    last = evs[0].data.object
    assert (last.debit.type, last.debit.amount.monetary.value) == ("credits_expired", 1000)
    assert last.created == voided.status_transitions.voided_at


def test_a_preview_while_a_draft_holds_credits_of_an_expiring_grant(
    client: stripe.StripeClient,
) -> None:
    """A 5,000 grant expiring Apr 1; January's draft (80 units, 800) waits for finalization at
    Feb 1; the preview of February (30 units, 300) is paid by the grant in full."""
    price = meter_price(client, meter(client).id, 10)
    clk, cus = clocked(client)
    sub = subscribe(client, cus.id, price.id)
    grant(client, cus.id, 5000, expires_at=APR1)
    send(client, cus.id, 80)
    advance(client, clk.id, FEB1)
    send(client, cus.id, 30)
    prev = client.v1.invoices.create_preview({"subscription": sub.id})
    assert (prev.period_start, prev.period_end) == (FEB1, MAR1)
    assert [c.amount for c in prev.total_pretax_credit_amounts] == [300]
    assert (prev.subtotal, prev.total, prev.amount_due) == (300, 0, 0)


def test_usage_at_a_threshold_while_a_draft_holds_credits_of_an_expiring_grant(
    client: stripe.StripeClient,
) -> None:
    """`amount_gte` 1,000 at 1 cent a unit, a 5,000 grant expiring Apr 1; January's draft (800)
    waits for finalization at Feb 1 when 1,000 units arrive: accepted, and paid by credits in
    full they make no threshold invoice (billing-alerts.md §6: the amount is net of credits)."""
    price = meter_price(client, meter(client).id, 1)
    clk, cus = clocked(client)
    sub = subscribe(client, cus.id, price.id, billing_thresholds={"amount_gte": 1000})
    grant(client, cus.id, 5000, expires_at=APR1)
    send(client, cus.id, 800)
    advance(client, clk.id, FEB1)
    send(client, cus.id, 1000)
    got = client.v1.invoices.list({"subscription": sub.id}).data
    assert sorted(i.billing_reason for i in got) == ["subscription_create", "subscription_cycle"]


def test_a_void_after_an_unwritten_expiry_expires_what_was_left_at_expires_at(
    client: stripe.StripeClient, mock: StripeMock
) -> None:
    """No clock: a 1,000 grant for metered prices, expiring in 40 days, pays the 300 metered
    line (30 units) of the 32nd day's renewal, which also bills a 500 licensed price; voided 10
    days later, with no read of the credits in between, the 700 left at the expiry expire at
    `expires_at` and the 300 given back expire at the void (the expiry was written as one debit
    of 1,000 dated at `expires_at`, before the credit it offset)."""
    price = meter_price(client, meter(client).id, 10)
    seat = client.v1.prices.create(
        {
            "currency": "usd",
            "unit_amount": 500,
            "recurring": {"interval": "month"},
            "product_data": {"name": "Seat"},
        }
    )
    cus = client.v1.customers.create({})
    start = mock.now()
    g = grant(client, cus.id, 1000, expires_at=start + 40 * DAY)
    sub = subscribe(
        client, cus.id, price.id, seat.id, collection_method="send_invoice", days_until_due=30
    )
    send(client, cus.id, 30)
    mock.advance_wall_clock(32 * DAY)
    (renewal,) = [
        i
        for i in client.v1.invoices.list({"subscription": sub.id}).data
        if i.billing_reason == "subscription_cycle"
    ]
    assert (renewal.status, renewal.total_pretax_credit_amounts[0].amount) == ("open", 300)
    mock.advance_wall_clock(10 * DAY)
    voided = client.v1.invoices.void_invoice(renewal.id)
    at = voided.status_transitions.voided_at
    txns = client.v1.billing.credit_balance_transactions.list({"customer": cus.id}).data
    got = [
        (
            t.type,
            (t.credit or t.debit).type,
            (t.credit or t.debit).amount.monetary.value,
            t.effective_at,
        )
        for t in reversed(txns)
    ]
    assert g.effective_at in (start, start + 1)  # the wall clock may tick between the two
    assert got == [
        ("credit", "credits_granted", 1000, g.effective_at),
        ("debit", "credits_applied", 300, renewal.status_transitions.finalized_at),
        ("debit", "credits_expired", 700, start + 40 * DAY),
        ("credit", "credits_application_invoice_voided", 300, at),
        ("debit", "credits_expired", 300, at),
    ]
    assert {t.credit_grant for t in txns} == {g.id}
