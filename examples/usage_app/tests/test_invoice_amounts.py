"""The money on the invoices the example service settles: token usage priced per token with a
fraction of a cent (rounded to the nearest cent on the invoice) and a graduated token price at
its tier edge. Amounts are worked by hand: the token price is 0.002 cents a token ($0.02 per
1,000 tokens)."""

from __future__ import annotations

from typing import Any

import pytest
from usage_app import UsageReporter

T0 = 1767225600  # 2026-01-01T00:00:00Z
DAY = 86400


def _settled_cycle_invoice(
    reporter: UsageReporter,
    stripe_client: Any,
    stripe_test_clock: Any,
    price_id: str,
    tokens: list[int],
) -> Any:
    """Subscribe a clocked customer, report `tokens`, cross the period end, settle; the cycle
    invoice as the customer reads it."""
    tc = stripe_test_clock(frozen_time=T0, name="Acme")
    stripe_client.v1.subscriptions.create(
        {"customer": tc.customer.id, "items": [{"price": price_id}]}
    )
    for n, count in enumerate(tokens):
        reporter.report_tokens(tc.customer.id, count, request_id=f"t{n}", timestamp=T0 + 60 + n)
    tc.advance(to=T0 + 31 * DAY + 60)
    outcomes = {o.action: o for o in reporter.settle_invoices(tc.customer.id)}
    cycle = outcomes["finalized"]
    assert cycle.status == "paid"
    inv = stripe_client.v1.invoices.retrieve(cycle.invoice_id)
    assert cycle.amount_due == inv.amount_due
    return inv


@pytest.mark.parametrize(
    ("tokens", "cents"),
    [
        ([2_249], 4),  # 4.498 cents -> 4
        ([2_251], 5),  # 4.502 cents -> 5
        ([100_000, 23_456], 247),  # 123,456 tokens: 246.912 cents -> 247
        ([500_000], 1000),  # exactly $10.00
    ],
)
def test_token_usage_is_rounded_to_the_nearest_cent_on_the_invoice(
    reporter: UsageReporter,
    stripe_client: Any,
    token_price: Any,
    stripe_test_clock: Any,
    tokens: list[int],
    cents: int,
) -> None:
    inv = _settled_cycle_invoice(reporter, stripe_client, stripe_test_clock, token_price.id, tokens)
    assert [ln.amount for ln in inv.lines.data] == [cents]
    assert (inv.subtotal, inv.total, inv.amount_due, inv.amount_paid) == (
        cents,
        cents,
        cents,
        cents,
    )


@pytest.mark.parametrize(
    ("tokens", "cents"),
    [
        (999_999, 2000),  # 999,999 x 0.002 = 1999.998 -> 2000
        (1_000_000, 2000),  # up_to is inclusive: all in the first tier
        (1_001_000, 2001),  # + 1,000 tokens at 0.001 cents
    ],
)
def test_graduated_token_price_at_its_tier_edge(
    reporter: UsageReporter,
    stripe_client: Any,
    meter: Any,
    stripe_test_clock: Any,
    tokens: int,
    cents: int,
) -> None:
    product = stripe_client.v1.products.create({"name": "LLM tokens, volume discount"})
    price = stripe_client.v1.prices.create(
        {
            "product": product.id,
            "currency": "usd",
            "billing_scheme": "tiered",
            "tiers_mode": "graduated",
            "tiers": [
                {"up_to": 1_000_000, "unit_amount_decimal": "0.002"},
                {"up_to": "inf", "unit_amount_decimal": "0.001"},
            ],
            "recurring": {"interval": "month", "usage_type": "metered", "meter": meter.id},
        }
    )
    inv = _settled_cycle_invoice(reporter, stripe_client, stripe_test_clock, price.id, [tokens])
    assert (inv.subtotal, inv.total, inv.amount_due) == (cents, cents, cents)
