"""Billing credits on invoices, through the SDK with test clocks: what the invoice a user reads
shows (subtotal, total, amount_due, pretax credit amounts) and the ledger behind it."""

from __future__ import annotations

from typing import Any

import stripe

from tests.api.billing_helpers import DAY, FEB1, HOUR, JAN1, MAR1, advance, licensed_price
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


def cycle(client: stripe.StripeClient, sub_id: str, period_end: int = FEB1) -> Any:
    """The subscription's cycle invoice ending at `period_end`."""
    (inv,) = [
        i
        for i in client.v1.invoices.list({"subscription": sub_id, "limit": 100}).data
        if i.billing_reason == "subscription_cycle" and i.period_end == period_end
    ]
    return inv


def setup(client: stripe.StripeClient, unit: int = 10, **extra: Any) -> tuple[Any, Any, Any, Any]:
    """(price, clock, customer, subscription) billing the `api_calls` meter from Jan 1."""
    m = meter(client)
    price = meter_price(client, m.id, unit)
    clk, cus = clocked(client)
    sub = subscribe(client, cus.id, price.id, **extra)
    return price, clk, cus, sub


def credit_amounts(inv: Any) -> list[int]:
    return [c.amount for c in inv.total_pretax_credit_amounts]


def test_a_1000_grant_pays_1000_of_1500(client: stripe.StripeClient) -> None:
    _, clk, cus, sub = setup(client)
    g = grant(client, cus.id, 1000)
    send(client, cus.id, 150)
    advance(client, clk.id, FEB1 + 2 * HOUR)
    inv = cycle(client, sub.id)
    assert (inv.subtotal, inv.total, inv.amount_due, inv.amount_paid) == (1500, 500, 500, 500)
    assert credit_amounts(inv) == [1000]
    (line,) = inv.lines.data
    assert line.amount == 1500
    (pca,) = line.pretax_credit_amounts
    assert pca.type == "credit_balance_transaction" and pca.amount == 1000
    txn = client.v1.billing.credit_balance_transactions.retrieve(pca.credit_balance_transaction)
    assert txn.credit_grant == g.id and txn.type == "debit"
    assert txn.debit.type == "credits_applied"
    assert txn.debit.credits_applied.invoice == inv.id
    assert txn.debit.credits_applied.invoice_line_item == line.id
    assert balance(client, cus.id) == (0, 0)
    assert ledger(client, cus.id) == [("credits_granted", 1000), ("credits_applied", -1000)]


def test_fully_covered_invoice_is_paid_at_0(client: stripe.StripeClient) -> None:
    _, clk, cus, sub = setup(client)
    grant(client, cus.id, 5000)
    send(client, cus.id, 150)
    advance(client, clk.id, FEB1 + 2 * HOUR)
    inv = cycle(client, sub.id)
    assert (inv.subtotal, inv.total, inv.amount_due, inv.status) == (1500, 0, 0, "paid")
    assert balance(client, cus.id) == (3500, 3500)


def test_two_grants_in_priority_order(client: stripe.StripeClient) -> None:
    _, clk, cus, sub = setup(client)
    low = grant(client, cus.id, 1000, priority=50)
    first = grant(client, cus.id, 400, priority=10)
    send(client, cus.id, 100)
    advance(client, clk.id, FEB1 + 2 * HOUR)
    inv = cycle(client, sub.id)
    assert credit_amounts(inv) == [400, 600]
    assert inv.amount_due == 0
    by_grant = {
        g.id: client.v1.billing.credit_balance_summary.retrieve(
            {"customer": cus.id, "filter": {"type": "credit_grant", "credit_grant": g.id}}
        )
        .balances[0]
        .ledger_balance.monetary.value
        for g in (low, first)
    }
    assert by_grant == {first.id: 0, low.id: 400}


def test_soonest_expiry_first_at_equal_priority(client: stripe.StripeClient) -> None:
    _, clk, cus, sub = setup(client)
    never = grant(client, cus.id, 1000)
    soon = grant(client, cus.id, 300, expires_at=MAR1)
    send(client, cus.id, 50)
    advance(client, clk.id, FEB1 + 2 * HOUR)
    inv = cycle(client, sub.id)
    ids = [
        client.v1.billing.credit_balance_transactions.retrieve(
            c.credit_balance_transaction
        ).credit_grant
        for c in inv.total_pretax_credit_amounts
    ]
    assert ids == [soon.id, never.id]
    assert credit_amounts(inv) == [300, 200]


def test_a_price_scoped_grant_pays_only_its_price(client: stripe.StripeClient) -> None:
    a_meter, b_meter = meter(client, "a_calls"), meter(client, "b_calls")
    a_price, b_price = meter_price(client, a_meter.id), meter_price(client, b_meter.id)
    clk, cus = clocked(client)
    sub = subscribe(client, cus.id, a_price.id, b_price.id)
    grant(client, cus.id, 5000, applicability_config={"scope": {"prices": [{"id": b_price.id}]}})
    send(client, cus.id, 30, name="a_calls")
    send(client, cus.id, 20, name="b_calls")
    advance(client, clk.id, FEB1 + 2 * HOUR)
    inv = cycle(client, sub.id)
    lines = {ln.pricing.price_details.price: ln for ln in inv.lines.data}
    assert lines[a_price.id].pretax_credit_amounts == []
    assert [c.amount for c in lines[b_price.id].pretax_credit_amounts] == [200]
    assert (inv.subtotal, inv.total, inv.amount_due) == (500, 300, 300)


def test_licensed_lines_are_never_paid(client: stripe.StripeClient) -> None:
    m = meter(client)
    metered = meter_price(client, m.id)
    seats = licensed_price(client, 2000)
    clk, cus = clocked(client)
    sub = subscribe(client, cus.id, metered.id, seats.id)
    grant(client, cus.id, 5000)
    send(client, cus.id, 10)
    advance(client, clk.id, FEB1 + 2 * HOUR)
    inv = cycle(client, sub.id)
    assert credit_amounts(inv) == [100]
    assert (inv.subtotal, inv.total, inv.amount_due) == (2100, 2000, 2000)
    first = [
        i
        for i in client.v1.invoices.list({"subscription": sub.id}).data
        if i.billing_reason == "subscription_create"
    ]
    assert first[0].total_pretax_credit_amounts == [] and first[0].amount_due == 2000


def test_an_expired_grant_is_not_used(client: stripe.StripeClient) -> None:
    _, clk, cus, sub = setup(client)
    grant(client, cus.id, 1000, expires_at=JAN1 + 10 * DAY)
    send(client, cus.id, 150)
    advance(client, clk.id, FEB1 + 2 * HOUR)
    inv = cycle(client, sub.id)
    assert credit_amounts(inv) == []
    assert (inv.total, inv.amount_due) == (1500, 1500)
    assert ledger(client, cus.id) == [("credits_granted", 1000), ("credits_expired", -1000)]


def test_expiry_at_the_period_end_is_not_eligible(client: stripe.StripeClient) -> None:
    # eligible only when the invoice's period_end < expires_at: FEB1 is not, FEB1 + 1 is
    _, clk, cus, sub = setup(client)
    grant(client, cus.id, 1000, expires_at=FEB1)
    grant(client, cus.id, 50, expires_at=FEB1 + 2 * HOUR + 1)
    send(client, cus.id, 150)
    advance(client, clk.id, FEB1 + 2 * HOUR)
    assert credit_amounts(cycle(client, sub.id)) == [50]


SEND = {"collection_method": "send_invoice", "days_until_due": 30}


def test_voiding_the_invoice_gives_the_credit_back(client: stripe.StripeClient) -> None:
    _, clk, cus, sub = setup(client, **SEND)
    grant(client, cus.id, 1000)
    send(client, cus.id, 150)
    advance(client, clk.id, FEB1 + 2 * HOUR)
    inv = cycle(client, sub.id)
    assert inv.status == "open" and balance(client, cus.id) == (0, 0)
    voided = client.v1.invoices.void_invoice(inv.id)
    assert voided.status == "void"
    assert balance(client, cus.id) == (1000, 1000)
    rows = client.v1.billing.credit_balance_transactions.list({"customer": cus.id}).data
    assert rows[0].type == "credit"
    assert rows[0].credit.type == "credits_application_invoice_voided"
    assert rows[0].credit.amount.monetary.value == 1000
    assert rows[0].credit.credits_application_invoice_voided.invoice == inv.id


def test_voiding_after_expiry_expires_the_reinstated_credit(client: stripe.StripeClient) -> None:
    _, clk, cus, sub = setup(client, **SEND)
    grant(client, cus.id, 1000, expires_at=FEB1 + DAY)
    send(client, cus.id, 150)
    advance(client, clk.id, FEB1 + 2 * DAY)
    inv = cycle(client, sub.id)
    client.v1.invoices.void_invoice(inv.id)
    assert ledger(client, cus.id) == [
        ("credits_granted", 1000),
        ("credits_applied", -1000),
        ("credits_application_invoice_voided", 1000),
        ("credits_expired", -1000),
    ]
    assert balance(client, cus.id) == (0, 0)


def test_a_grant_effective_mid_period(client: stripe.StripeClient) -> None:
    _, clk, cus, sub = setup(client)
    grant(client, cus.id, 300, effective_at=JAN1 + 15 * DAY)
    send(client, cus.id, 100)
    assert balance(client, cus.id) == (0, 0)  # pending
    advance(client, clk.id, FEB1 + 2 * HOUR)
    assert credit_amounts(cycle(client, sub.id)) == [300]


def test_a_grant_effective_after_the_period_end_waits(client: stripe.StripeClient) -> None:
    _, clk, cus, sub = setup(client)
    grant(client, cus.id, 300, effective_at=FEB1 + 1)
    send(client, cus.id, 100)
    advance(client, clk.id, FEB1 + 2 * HOUR)
    assert credit_amounts(cycle(client, sub.id)) == []
    send(client, cus.id, 10)
    advance(client, clk.id, MAR1 + 2 * HOUR)
    assert credit_amounts(cycle(client, sub.id, MAR1)) == [100]


def test_a_draft_shows_and_holds_the_credits(client: stripe.StripeClient) -> None:
    _, clk, cus, sub = setup(client)
    grant(client, cus.id, 1000)
    send(client, cus.id, 40)
    advance(client, clk.id, FEB1)
    draft = client.v1.invoices.retrieve(cycle(client, sub.id).id)
    assert draft.status == "draft"
    (pca,) = draft.total_pretax_credit_amounts
    assert pca.amount == 400 and pca.credit_balance_transaction is None
    assert (draft.subtotal, draft.total, draft.amount_due) == (400, 0, 0)
    assert balance(client, cus.id) == (600, 1000)  # available, ledger
    assert ledger(client, cus.id) == [("credits_granted", 1000)]


def test_a_preview_shows_the_credits(client: stripe.StripeClient) -> None:
    _, _, cus, sub = setup(client)
    grant(client, cus.id, 100)
    send(client, cus.id, 40)
    prev = client.v1.invoices.create_preview({"subscription": sub.id})
    assert [c.amount for c in prev.total_pretax_credit_amounts] == [100]
    assert (prev.subtotal, prev.total, prev.amount_due) == (400, 300, 300)
    assert balance(client, cus.id) == (100, 100)


def test_another_customers_grant_is_not_used(client: stripe.StripeClient) -> None:
    _, clk, cus, sub = setup(client)
    other = client.v1.customers.create({})
    grant(client, other.id, 1000)
    send(client, cus.id, 10)
    advance(client, clk.id, FEB1 + 2 * HOUR)
    assert credit_amounts(cycle(client, sub.id)) == []


def test_acacia_invoice_shows_the_credits(
    client: stripe.StripeClient, acacia: stripe.StripeClient
) -> None:
    _, clk, cus, sub = setup(client)
    grant(client, cus.id, 1000)
    send(client, cus.id, 150)
    advance(client, clk.id, FEB1 + 2 * HOUR)
    inv = acacia.v1.invoices.retrieve(cycle(client, sub.id).id)
    assert [c.amount for c in inv.total_pretax_credit_amounts] == [1000]
    assert [c.amount for c in inv.lines.data[0].pretax_credit_amounts] == [1000]
    assert (inv.subtotal, inv.total, inv.amount_due) == (1500, 500, 500)


def test_one_off_items_on_the_cycle_invoice_are_never_paid(client: stripe.StripeClient) -> None:
    _, clk, cus, sub = setup(client)
    grant(client, cus.id, 5000)
    send(client, cus.id, 10)
    client.v1.invoice_items.create({"customer": cus.id, "amount": 700, "currency": "usd"})
    advance(client, clk.id, FEB1 + 2 * HOUR)
    inv = cycle(client, sub.id)
    assert credit_amounts(inv) == [100]
    assert (inv.subtotal, inv.total, inv.amount_due) == (800, 700, 700)
