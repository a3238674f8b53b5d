"""Edges of the billing math that no API path reaches (issue 15): a proration date before the
period start (the API refuses one, so only the clip protects the math), the guard of
`tier_breakdown` against a price without tiers, period math at the ends of the supported calendar
(years 1 and 9999) and the mean-length estimate of multi-month periods. Values are literal,
worked by hand (a mean Gregorian month is 365.2425 x 86,400 / 12 = 2,629,746 s)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from stripe_mock_billing.billing.invoicing import amount_for
from stripe_mock_billing.billing.periods import add_interval, interval_seconds_estimate
from stripe_mock_billing.billing.prorations import prorate
from stripe_mock_billing.billing.rating import RatingPrice, Tier, TransformQuantity, tier_breakdown
from stripe_mock_billing.domain.prices import Price, Recurring

JAN1, FEB1 = 1_767_225_600, 1_769_904_000  # a 31-day period
DAY = 86_400


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (JAN1 - DAY, 3100),  # a day before the start: still the whole period, never 32/31
        (JAN1, 3100),
        (JAN1 + DAY, 3000),  # 30/31
        (FEB1 - DAY, 100),  # 1/31
        (FEB1, 0),
        (FEB1 + DAY, 0),
    ],
)
def test_prorate_is_clipped_to_the_period(at: int, expected: int) -> None:
    assert prorate(3100, JAN1, FEB1, at) == expected


def test_tier_breakdown_refuses_a_per_unit_price() -> None:
    price = RatingPrice(billing_scheme="per_unit", unit_amount_decimal=Decimal(100))
    with pytest.raises(ValueError, match=r"^tier_breakdown needs a tiered price$"):
        tier_breakdown(price, 3)


# 0001-01-15, 0001-02-15, 9999-11-15, 9999-12-15 (00:00 UTC)
Y1_JAN15, Y1_FEB15 = -62_134_387_200, -62_131_708_800
Y9999_NOV15, Y9999_DEC15 = 253_398_240_000, 253_400_832_000


def test_periods_reach_the_first_and_last_supported_years() -> None:
    assert add_interval(Y1_JAN15, "month", 1, 1) == Y1_FEB15
    assert add_interval(Y9999_NOV15, "month", 1, 1) == Y9999_DEC15


@pytest.mark.parametrize(("anchor", "n", "year"), [(Y1_JAN15, -1, 0), (Y9999_DEC15, 1, 10000)])
def test_periods_outside_years_1_to_9999_are_refused(anchor: int, n: int, year: int) -> None:
    message = rf"^billing period boundary outside years 1\.\.9999 \(year {year}\)$"
    with pytest.raises(ValueError, match=message):
        add_interval(anchor, "month", 1, n)


def test_a_timestamp_beyond_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^timestamp 10{20} is outside the supported range$"):
        add_interval(10**20, "month", 1, 1)


@pytest.mark.parametrize(
    ("interval", "count", "seconds"),
    [("month", 1, 2_629_746), ("month", 2, 5_259_492), ("year", 2, 63_113_904)],
)
def test_interval_seconds_estimate_of_several_periods(
    interval: str, count: int, seconds: int
) -> None:
    assert interval_seconds_estimate(interval, count) == seconds


def test_prorate_over_an_empty_period_is_nothing() -> None:
    assert prorate(3100, JAN1, JAN1, JAN1 - DAY) == 0


def test_period_math_names_a_wrong_interval_or_count() -> None:
    expected = r"^unknown interval 'fortnight'; expected one of \('day', 'week', 'month', 'year'\)$"
    with pytest.raises(ValueError, match=expected):
        add_interval(JAN1, "fortnight", 1, 1)
    with pytest.raises(ValueError, match=r"^interval_count must be a positive integer, got 0$"):
        add_interval(JAN1, "month", 0, 1)


# --- fractional usage totals: meter events are whole numbers at the API, so only the stores'
# own decimal values reach this branch; the quantity shown is the whole part, `quantity_decimal`
# the exact total, and only a plain per-unit price bills the exact total


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


PER_UNIT_10 = RatingPrice(billing_scheme="per_unit", unit_amount_decimal=Decimal(10))


@pytest.mark.parametrize(
    ("rating", "quantity", "expected"),
    [
        (PER_UNIT_10, 12.5, (125, 12, "12.5")),  # 12.5 x 10
        (PER_UNIT_10, 1e-07, (0, 0, "0.0000001")),  # never in exponent notation
        (
            RatingPrice(
                billing_scheme="per_unit",
                unit_amount_decimal=Decimal(100),
                transform_quantity=TransformQuantity(divide_by=10, round="up"),
            ),
            12.5,
            (200, 12, "12.5"),  # 12 whole units -> 2 packs, not 12.5 x 100
        ),
        (
            RatingPrice(
                billing_scheme="tiered",
                tiers_mode="graduated",
                tiers=(Tier(10, Decimal(100), None), Tier(None, Decimal(50), None)),
            ),
            12.5,
            (1100, 12, "12.5"),  # 10 x 100 + 2 x 50
        ),
    ],
)
def test_fractional_usage_totals(
    rating: RatingPrice, quantity: float, expected: tuple[int, int, str]
) -> None:
    assert amount_for(_price(rating), quantity) == expected
