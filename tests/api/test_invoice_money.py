"""Money on the invoice a user reads (issue 15, item 3): the line amounts, `subtotal`, `total`
and `amount_due` of invoices made through the SDK, for tiers at their `up_to` edges (graduated
and volume, with flat fees), `transform_quantity` rounding (exact multiples and one above, up
and down), half-cent amounts (`unit_amount_decimal`, prorations) and prorations at the period
start and end.

Every expected value is worked by hand from Stripe's documented rules (shared/spec
usage-records-legacy.md §7.2; prorations by the second, rounded to the nearest cent, ties up as
documented in billing/prorations.py): never computed by the emulator's functions or constants.
Clocks start at JAN1 (2026-01-01), so the first monthly period is [JAN1, FEB1) = 31 days =
2,678,400 s."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from tests.api.billing_helpers import (
    DAY,
    FEB1,
    HOUR,
    JAN1,
    advance,
    clocked_sub,
    invoices_of,
    licensed_price,
    report,
)

# three tiers: units 1-5, 6-10, 11+; a flat fee on the first two
TIERS = [
    {"up_to": 5, "unit_amount": 100, "flat_amount": 1000},
    {"up_to": 10, "unit_amount": 50, "flat_amount": 500},
    {"up_to": "inf", "unit_amount": 25},
]


def _money(inv: Any) -> tuple[list[int], int, int, int]:
    """(line amounts, subtotal, total, amount_due) as the user reads them."""
    return ([ln.amount for ln in inv.lines.data], inv.subtotal, inv.total, inv.amount_due)


def _first_invoice(client: stripe.StripeClient, price: str, quantity: int) -> Any:
    clk = client.v1.test_helpers.test_clocks.create({"frozen_time": JAN1})
    cus = client.v1.customers.create({"test_clock": clk.id})
    sub = client.v1.subscriptions.create(
        {"customer": cus.id, "items": [{"price": price, "quantity": quantity}]}
    )
    return client.v1.invoices.retrieve(sub.latest_invoice)


def _price(client: stripe.StripeClient, **fields: Any) -> str:
    price = client.v1.prices.create(
        {
            "currency": "usd",
            "recurring": {"interval": "month"},
            "product_data": {"name": "seats"},
            **fields,
        }
    )
    return str(price.id)


# --- tiers at their edges, with flat fees ------------------------------------------------------


@pytest.mark.parametrize(
    ("quantity", "amount"),
    [
        (1, 1100),  # 1 x 100 + the first tier's flat 1000
        (4, 1400),
        (5, 1500),  # up_to is inclusive: 5 x 100 + 1000
        (6, 2050),  # + 1 x 50 + the second tier's flat 500
        (9, 2200),
        (10, 2250),  # 1500 + 5 x 50 + 500
        (11, 2275),  # + 1 x 25 (the last tier has no flat fee)
        (20, 2500),
    ],
)
def test_graduated_tiers_with_flat_fees_on_the_invoice(
    client: stripe.StripeClient, quantity: int, amount: int
) -> None:
    price = _price(client, billing_scheme="tiered", tiers_mode="graduated", tiers=TIERS)
    inv = _first_invoice(client, price, quantity)
    assert _money(inv) == ([amount], amount, amount, amount)
    assert inv.lines.data[0].quantity == quantity


@pytest.mark.parametrize(
    ("quantity", "amount"),
    [
        (1, 1100),  # 1 x 100 + 1000
        (4, 1400),
        (5, 1500),  # still the first tier: 5 x 100 + 1000
        (6, 800),  # every unit at the second tier: 6 x 50 + 500
        (9, 950),
        (10, 1000),
        (11, 275),  # every unit at the last tier: 11 x 25
        (20, 500),
    ],
)
def test_volume_tiers_with_flat_fees_on_the_invoice(
    client: stripe.StripeClient, quantity: int, amount: int
) -> None:
    price = _price(client, billing_scheme="tiered", tiers_mode="volume", tiers=TIERS)
    inv = _first_invoice(client, price, quantity)
    assert _money(inv) == ([amount], amount, amount, amount)


def test_metered_graduated_tiers_bill_the_usage_at_the_cycle(acacia: stripe.StripeClient) -> None:
    price = acacia.v1.prices.create(
        {
            "currency": "usd",
            "recurring": {"interval": "month", "usage_type": "metered"},  # type: ignore[typeddict-item]
            "billing_scheme": "tiered",
            "tiers_mode": "graduated",
            "tiers": TIERS,  # type: ignore[typeddict-item]
            "product_data": {"name": "API calls"},
        }
    )
    clk, _, sub = clocked_sub(acacia, [price.id])
    report(acacia, sub["items"].data[0].id, 6, JAN1)
    report(acacia, sub["items"].data[0].id, 4, JAN1)
    advance(acacia, clk.id, FEB1 + 2 * HOUR)
    cycle = invoices_of(acacia, sub.id)[-1]
    assert cycle.billing_reason == "subscription_cycle"
    # 10 units: 5 x 100 + 1000 + 5 x 50 + 500
    assert _money(cycle) == ([2250], 2250, 2250, 2250)


# --- transform_quantity: exact multiples, one above, up and down ------------------------------


@pytest.mark.parametrize(
    ("rounding", "quantity", "amount"),
    [
        ("up", 1, 100),  # 1/10 rounds up to one pack
        ("up", 10, 100),
        ("up", 11, 200),
        ("down", 9, 0),  # 9/10 rounds down to no pack
        ("down", 10, 100),
        ("down", 19, 100),
        ("down", 20, 200),
        ("down", 21, 200),
    ],
)
def test_transform_quantity_rounding_on_the_invoice(
    client: stripe.StripeClient, rounding: str, quantity: int, amount: int
) -> None:
    price = _price(client, unit_amount=100, transform_quantity={"divide_by": 10, "round": rounding})
    inv = _first_invoice(client, price, quantity)
    assert _money(inv) == ([amount], amount, amount, amount)


def test_transform_quantity_of_metered_usage_spec_example(acacia: stripe.StripeClient) -> None:
    # usage-records-legacy.md §7.2: 150 minutes, divide_by 60, round up, 1000 an hour -> 3000
    price = acacia.v1.prices.create(
        {
            "currency": "usd",
            "unit_amount": 1000,
            "recurring": {"interval": "month", "usage_type": "metered"},  # type: ignore[typeddict-item]
            "transform_quantity": {"divide_by": 60, "round": "up"},
            "product_data": {"name": "minutes"},
        }
    )
    clk, _, sub = clocked_sub(acacia, [price.id])
    report(acacia, sub["items"].data[0].id, 150, JAN1)
    advance(acacia, clk.id, FEB1 + 2 * HOUR)
    assert _money(invoices_of(acacia, sub.id)[-1]) == ([3000], 3000, 3000, 3000)


# --- half cents: unit_amount_decimal rounds to the nearest cent -------------------------------


@pytest.mark.parametrize(
    ("unit", "quantity", "amount"),
    [
        ("0.5", 1, 1),  # half a cent: the tie rounds up
        ("0.5", 2, 1),
        ("0.5", 3, 2),  # 1.5 -> 2
        ("0.4", 1, 0),  # below the half: down
        ("0.6", 1, 1),
        ("100.5", 1, 101),
        ("100.5", 2, 201),
        ("0.25", 2, 1),  # 0.5 of the total, not per unit: 0.25 -> 0 would give 0
    ],
)
def test_half_cent_unit_amount_decimal_on_the_invoice(
    client: stripe.StripeClient, unit: str, quantity: int, amount: int
) -> None:
    price = _price(client, unit_amount_decimal=unit)
    inv = _first_invoice(client, price, quantity)
    assert _money(inv) == ([amount], amount, amount, amount)


def test_half_cent_metered_usage_on_the_cycle_invoice(acacia: stripe.StripeClient) -> None:
    price = acacia.v1.prices.create(
        {
            "currency": "usd",
            "unit_amount_decimal": "0.5",
            "recurring": {"interval": "month", "usage_type": "metered"},  # type: ignore[typeddict-item]
            "product_data": {"name": "API calls"},
        }
    )
    clk, _, sub = clocked_sub(acacia, [price.id])
    report(acacia, sub["items"].data[0].id, 7, JAN1)
    advance(acacia, clk.id, FEB1 + 2 * HOUR)
    assert _money(invoices_of(acacia, sub.id)[-1]) == ([4], 4, 4, 4)  # 3.5 -> 4


# --- prorations at the period start, the end and on a half cent -------------------------------


def _prorated(client: stripe.StripeClient, amount: int, proration_date: int) -> Any:
    """Quantity 1 -> 2 of a monthly `amount` price, invoiced at once, prorated from the date."""
    price = licensed_price(client, amount)
    _, _, sub = clocked_sub(client, [price.id])
    si = sub["items"].data[0].id
    client.v1.subscription_items.update(
        si,
        {"quantity": 2, "proration_behavior": "always_invoice", "proration_date": proration_date},
    )
    inv = invoices_of(client, sub.id)[-1]
    assert inv.billing_reason == "subscription_update"
    return inv


def _sorted_money(inv: Any) -> tuple[list[int], int, int, int]:
    lines, subtotal, total, due = _money(inv)
    return (sorted(lines), subtotal, total, due)


def test_proration_at_the_period_start_is_the_whole_period(client: stripe.StripeClient) -> None:
    # the whole month left: credit 1 x 3100, debit 2 x 3100
    inv = _prorated(client, 3100, JAN1)
    assert _sorted_money(inv) == ([-3100, 6200], 3100, 3100, 3100)


def test_proration_one_day_into_the_period(client: stripe.StripeClient) -> None:
    # 30 of 31 days left: 3100 x 30/31 = 3000, 6200 x 30/31 = 6000
    inv = _prorated(client, 3100, JAN1 + DAY)
    assert _sorted_money(inv) == ([-3000, 6000], 3000, 3000, 3000)


def test_proration_at_the_period_end_is_nothing(client: stripe.StripeClient) -> None:
    inv = _prorated(client, 3100, FEB1)
    assert _sorted_money(inv) == ([0, 0], 0, 0, 0)


def test_proration_one_second_before_the_period_end(client: stripe.StripeClient) -> None:
    # one second of 2,678,400 left: 2,678,400 x 1/2,678,400 = 1 cent, twice that for quantity 2
    inv = _prorated(client, 2_678_400, FEB1 - 1)
    assert _sorted_money(inv) == ([-1, 2], 1, 1, 1)


def test_proration_on_a_half_cent_rounds_the_tie_up(client: stripe.StripeClient) -> None:
    # 6,696 s of 2,678,400 left: 1000 x 6696/2678400 = 2.5 -> 3 (credit -3);
    # 2000 x 6696/2678400 = 5.0 -> 5
    inv = _prorated(client, 1000, FEB1 - 6696)
    assert _sorted_money(inv) == ([-3, 5], 2, 2, 2)
