"""Pure pieces of the billing engine: amounts, descriptions, event diffs and created ranges."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stripe_mock_billing.billing import invoicing
from stripe_mock_billing.billing.rating import RatingPrice, Tier, TransformQuantity, rate
from stripe_mock_billing.domain.events import diff
from stripe_mock_billing.domain.prices import Price, Recurring
from stripe_mock_billing.resources.events import in_range


def _price(rating: RatingPrice, usage: str = "metered") -> Price:
    return Price(
        id="price_x",
        created=0,
        product="prod_x",
        currency="usd",
        rating=rating,
        recurring=Recurring(interval="month", usage_type=usage),
    )


@given(unit=st.integers(0, 10**6), qty=st.integers(-(10**6), 10**9))
def test_fast_rate_matches_rate_for_integer_unit_prices(unit: int, qty: int) -> None:
    price = _price(RatingPrice(unit_amount_decimal=Decimal(unit)))
    assert invoicing.fast_rate(price, qty) == rate(price.rating, qty)


@given(
    unit=st.decimals(min_value=0, max_value=1000, places=3, allow_nan=False),
    qty=st.integers(0, 10**6),
)
def test_fast_rate_falls_back_for_decimal_units(unit: Decimal, qty: int) -> None:
    price = _price(RatingPrice(unit_amount_decimal=unit))
    assert invoicing.fast_rate(price, qty) == rate(price.rating, qty)


def test_fast_rate_uses_rating_for_tiers_and_transforms() -> None:
    tiers = RatingPrice(
        billing_scheme="tiered",
        tiers_mode="graduated",
        tiers=(Tier(10, Decimal(5)), Tier(None, Decimal(1))),
    )
    assert invoicing.fast_rate(_price(tiers), 15) == 55
    per_hour = RatingPrice(
        unit_amount_decimal=Decimal(1000),
        transform_quantity=TransformQuantity(divide_by=60, round="up"),
    )
    assert invoicing.fast_rate(_price(per_hour), 150) == 3000


@pytest.mark.parametrize(
    ("qty", "expected"),
    [
        (0, (0, 0, None)),
        (-5, (0, 0, None)),  # a negative metered total bills quantity 0
        (12, (84, 12, None)),
        (2.5, (18, 2, "2.5")),  # decimal meter totals: quantity truncated, amount exact
        (3.0, (21, 3, None)),
    ],
)
def test_amount_for(qty: int | float, expected: tuple[int, int, str | None]) -> None:
    price = _price(RatingPrice(unit_amount_decimal=Decimal(7)))
    assert invoicing.amount_for(price, qty) == expected


def test_money_and_description_format() -> None:
    assert invoicing._money(Decimal(700), "usd") == "$7.00"
    assert invoicing._money(Decimal("0.5"), "usd") == "$0.005"
    assert invoicing._money(Decimal(123456), "eur") == "1,234.56 EUR"


def test_diff_keeps_old_values_of_changed_fields_only() -> None:
    before = {"a": 1, "b": {"x": 1, "y": 2}, "c": [1], "items": {"object": "list", "data": [1]}}
    after = {"a": 1, "b": {"x": 1, "y": 3}, "c": [2], "items": {"object": "list", "data": [2]}}
    assert diff(before, after) == {
        "b": {"y": 2},
        "c": [1],
        "items": {"object": "list", "data": [1]},
    }
    assert diff(before, before) == {}
    assert diff({"metadata": {"a": "1"}}, {"metadata": {"a": "1", "b": "2"}}) == {
        "metadata": {"b": None}
    }
    assert diff({"metadata": {"a": "1"}}, {"metadata": {}}) == {"metadata": {"a": "1"}}


@pytest.mark.parametrize(
    ("t", "rng", "ok"),
    [
        (5, None, True),
        (5, {"eq": 5}, True),
        (5, {"eq": 6}, False),
        (5, {"gt": 5}, False),
        (5, {"gte": 5}, True),
        (5, {"lt": 5}, False),
        (5, {"lte": 5}, True),
        (5, {"gt": 1, "lt": 9}, True),
    ],
)
def test_in_range(t: int, rng: dict[str, int] | None, ok: bool) -> None:
    assert in_range(t, rng) is ok
