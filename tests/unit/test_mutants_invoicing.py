"""Invoicing math pinned while reviewing the surviving mutants of billing/invoicing.py (issue 15),
where no API path reaches it: meter event values are whole numbers at the API, so only the
stores' own decimal totals reach the fractional branch of `amount_for`."""

from __future__ import annotations

from decimal import Decimal

import pytest

from stripe_mock_billing.billing.invoicing import amount_for
from stripe_mock_billing.billing.rating import RatingPrice, Tier, TransformQuantity
from stripe_mock_billing.domain.prices import Price, Recurring


def _price(rating: RatingPrice) -> Price:
    recurring = Recurring(interval="month", usage_type="metered", aggregate_usage="sum")
    return Price(
        id="price_x",
        created=0,
        product="prod_x",
        currency="usd",
        rating=rating,
        recurring=recurring,
    )


@pytest.mark.parametrize(
    ("rating", "expected"),
    [
        (  # packs of 10 at 1.00, rounded up: 0 whole units -> 0 packs
            RatingPrice(
                billing_scheme="per_unit",
                unit_amount_decimal=Decimal(100),
                transform_quantity=TransformQuantity(divide_by=10, round="up"),
            ),
            (0, 0, "0.0000001"),
        ),
        (  # graduated 1.00 up to 10, then 0.50: 0 whole units -> 0
            RatingPrice(
                billing_scheme="tiered",
                tiers_mode="graduated",
                tiers=(Tier(10, Decimal(100), None), Tier(None, Decimal(50), None)),
            ),
            (0, 0, "0.0000001"),
        ),
    ],
)
def test_a_tiny_fractional_total_of_a_tiered_or_packaged_price(
    rating: RatingPrice, expected: tuple[int, int, str]
) -> None:
    """A 1e-7 total of a tiered or transformed price: quantity_decimal in plain digits."""
    assert amount_for(_price(rating), 1e-07) == expected
