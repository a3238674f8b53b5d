"""Pricing math: per-unit, decimal rounding, transform_quantity, graduated and volume tiers."""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stripe_mock_billing.billing.rating import (
    RatingPrice,
    Tier,
    TierLine,
    TransformQuantity,
    amount_decimal,
    billed_quantity,
    rate,
    round_minor_units,
    tier_breakdown,
    volume_tier_index,
)

D = Decimal


def per_unit(unit: str, transform: TransformQuantity | None = None) -> RatingPrice:
    return RatingPrice(unit_amount_decimal=D(unit), transform_quantity=transform)


def tiered(mode: str, *tiers: tuple[int | None, str | None, str | None]) -> RatingPrice:
    return RatingPrice(
        billing_scheme="tiered",
        tiers_mode=mode,  # type: ignore[arg-type]
        tiers=tuple(
            Tier(up_to, None if u is None else D(u), None if f is None else D(f))
            for up_to, u, f in tiers
        ),
    )


# Stripe docs style example: 1-5 at 5.00, 6-10 at 4.00, 11+ at 3.00
GRADUATED = tiered("graduated", (5, "500", None), (10, "400", None), (None, "300", None))
VOLUME = tiered("volume", (5, "500", None), (10, "400", None), (None, "300", None))
GRADUATED_FLAT = tiered("graduated", (1, "0", "1000"), (10, "100", "50"), (None, "10", None))
VOLUME_FLAT = tiered("volume", (10, "0", "200"), (None, "5", "1000"))

RATE_CASES = [
    # per_unit, integer amounts
    (per_unit("7"), 100, 700),
    (per_unit("7"), 0, 0),
    (per_unit("0"), 10**6, 0),
    # decimal amounts are rounded to the nearest cent, half up
    (per_unit("0.5"), 3, 2),
    (per_unit("0.5"), 1, 1),
    (per_unit("0.25"), 2, 1),
    (per_unit("0.25"), 1, 0),
    (per_unit("0.4"), 1, 0),
    (per_unit("0.333333333333"), 3, 1),
    (per_unit("1.005"), 100, 101),  # 100.5 -> 101
    (per_unit("0.000000000001"), 10**12, 1),
    # negative quantities bill as zero
    (per_unit("7"), -5, 0),
    (GRADUATED, -5, 0),
    (VOLUME_FLAT, -1, 200),
    # transform_quantity (spec example: 150 min, per hour, round up, 1000/h -> 3000)
    (per_unit("1000", TransformQuantity(divide_by=60, round="up")), 150, 3000),
    (per_unit("1000", TransformQuantity(divide_by=60, round="down")), 150, 2000),
    (per_unit("1000", TransformQuantity(divide_by=60, round="up")), 120, 2000),
    (per_unit("1000", TransformQuantity(divide_by=60, round="up")), 1, 1000),
    (per_unit("1000", TransformQuantity(divide_by=60, round="down")), 59, 0),
    (per_unit("1000", TransformQuantity(divide_by=60, round="up")), 0, 0),
    (per_unit("0.5", TransformQuantity(divide_by=10, round="up")), 21, 2),  # 3 x 0.5 = 1.5 -> 2
    # graduated
    (GRADUATED, 0, 0),
    (GRADUATED, 1, 500),
    (GRADUATED, 5, 2500),
    (GRADUATED, 6, 2900),
    (GRADUATED, 10, 4500),
    (GRADUATED, 12, 5100),
    (GRADUATED_FLAT, 0, 0),
    (GRADUATED_FLAT, 1, 1000),
    (GRADUATED_FLAT, 2, 1150),
    (GRADUATED_FLAT, 10, 1950),
    (GRADUATED_FLAT, 11, 1960),
    # graduated with decimals: rounded once on the total (per-tier rounding would give 0)
    (tiered("graduated", (1, "0.4", None), (None, "0.4", None)), 2, 1),
    # volume
    (VOLUME, 0, 0),
    (VOLUME, 1, 500),
    (VOLUME, 5, 2500),
    (VOLUME, 6, 2400),
    (VOLUME, 10, 4000),
    (VOLUME, 11, 3300),
    (VOLUME_FLAT, 0, 200),  # q = 0 charges the first tier's flat amount (unverified choice)
    (VOLUME_FLAT, 10, 200),
    (VOLUME_FLAT, 11, 1055),
    (tiered("volume", (10, "0.5", None), (None, "0.25", "0.5")), 3, 2),
    (tiered("volume", (10, "0.5", None), (None, "0.25", "0.5")), 12, 4),  # 3.5 -> 4
]


@pytest.mark.parametrize(("price", "quantity", "expected"), RATE_CASES)
def test_rate(price: RatingPrice, quantity: int, expected: int) -> None:
    assert rate(price, quantity) == expected


@pytest.mark.parametrize(
    ("price", "quantity", "expected"),
    [
        (per_unit("7"), 5, 5),
        (per_unit("7"), -5, 0),
        (per_unit("7", TransformQuantity(divide_by=60, round="up")), 61, 2),
        (per_unit("7", TransformQuantity(divide_by=60, round="down")), 61, 1),
        (per_unit("7", TransformQuantity(divide_by=60, round="up")), -61, 0),
        (VOLUME, 7, 7),
    ],
)
def test_billed_quantity(price: RatingPrice, quantity: int, expected: int) -> None:
    assert billed_quantity(price, quantity) == expected


def test_tier_breakdown_graduated() -> None:
    assert tier_breakdown(GRADUATED_FLAT, 12) == [
        TierLine(0, 1, 1, D("0"), D("1000"), D("1000")),
        TierLine(1, 10, 9, D("100"), D("50"), D("950")),
        TierLine(2, None, 2, D("10"), D("0"), D("20")),
    ]
    assert tier_breakdown(GRADUATED_FLAT, 0) == []


def test_tier_breakdown_volume() -> None:
    assert tier_breakdown(VOLUME, 7) == [TierLine(1, 10, 7, D("400"), D("0"), D("2800"))]
    assert tier_breakdown(VOLUME, 0) == []
    assert tier_breakdown(VOLUME_FLAT, 0) == [TierLine(0, 10, 0, D("0"), D("200"), D("200"))]


def test_tier_breakdown_needs_tiered_price() -> None:
    with pytest.raises(ValueError):
        tier_breakdown(per_unit("1"), 3)


def test_amount_decimal_keeps_fractions() -> None:
    assert amount_decimal(per_unit("0.5"), 3) == D("1.5")
    assert round_minor_units(D("2.5")) == 3
    assert round_minor_units(D("2.4999999")) == 2


def test_amount_too_large_for_exact_arithmetic() -> None:
    with pytest.raises(ValueError):
        rate(per_unit("0.123456789012"), 10**95 + 1)
    assert rate(per_unit("0.123456789012"), 10**12) == 123456789012


@pytest.mark.parametrize(
    "build",
    [
        lambda: RatingPrice(),  # per_unit without unit amount
        lambda: RatingPrice(unit_amount_decimal=D("-1")),
        lambda: RatingPrice(unit_amount_decimal=D("NaN")),
        lambda: RatingPrice(unit_amount_decimal=D("Infinity")),
        lambda: RatingPrice(unit_amount_decimal=D("1"), tiers=(Tier(None, D("1")),)),
        lambda: RatingPrice(billing_scheme="tiered", tiers=(Tier(None, D("1")),)),
        lambda: tiered("graduated"),
        lambda: tiered("graduated", (10, "1", None)),  # last tier must be inf
        lambda: tiered("graduated", (None, "1", None), (10, "1", None)),
        lambda: tiered("volume", (10, "1", None), (10, "2", None), (None, "1", None)),
        lambda: tiered("volume", (0, "1", None), (None, "1", None)),
        lambda: tiered("volume", (5, "1", "-1"), (None, "1", None)),
        lambda: RatingPrice(
            billing_scheme="tiered",
            tiers_mode="volume",
            tiers=(Tier(None, D("1")),),
            transform_quantity=TransformQuantity(divide_by=2, round="up"),
        ),
        lambda: RatingPrice(
            billing_scheme="tiered",
            tiers_mode="volume",
            unit_amount_decimal=D("1"),
            tiers=(Tier(None, D("1")),),
        ),
        lambda: TransformQuantity(divide_by=0, round="up"),
        lambda: TransformQuantity(divide_by=2, round="nearest"),  # type: ignore[arg-type]
        lambda: RatingPrice(billing_scheme="metered", unit_amount_decimal=D("1")),  # type: ignore[arg-type]
    ],
)
def test_invalid_prices_raise_value_error(build: object) -> None:
    with pytest.raises(ValueError):
        build()  # type: ignore[operator]


# --- properties -----------------------------------------------------------------------------

amounts = st.decimals(min_value=0, max_value=100_000, places=12, allow_nan=False)
maybe_amounts = st.none() | amounts


@st.composite
def tiered_prices(draw: st.DrawFn, mode: str) -> RatingPrice:
    bounds = sorted(draw(st.sets(st.integers(1, 60), max_size=5)))
    ups: list[int | None] = [*bounds, None]
    tiers = tuple(Tier(up, draw(maybe_amounts), draw(maybe_amounts)) for up in ups)
    return RatingPrice(billing_scheme="tiered", tiers_mode=mode, tiers=tiers)  # type: ignore[arg-type]


def exact(value: Decimal | None) -> Fraction:
    return Fraction(0) if value is None else Fraction(value)


def half_up(value: Fraction) -> int:
    return math.floor(value + Fraction(1, 2))


def brute_force_graduated(price: RatingPrice, quantity: int) -> Fraction:
    total = Fraction(0)
    used: set[int] = set()
    for unit in range(1, quantity + 1):
        index = next(
            i for i, tier in enumerate(price.tiers) if tier.up_to is None or unit <= tier.up_to
        )
        total += exact(price.tiers[index].unit_amount_decimal)
        used.add(index)
    return total + sum((exact(price.tiers[i].flat_amount_decimal) for i in used), Fraction(0))


@given(tiered_prices("graduated"), st.integers(0, 150))
def test_graduated_matches_brute_force_walk(price: RatingPrice, quantity: int) -> None:
    expected = brute_force_graduated(price, quantity)
    assert Fraction(amount_decimal(price, quantity)) == expected
    assert rate(price, quantity) == half_up(expected)


@given(tiered_prices("graduated"), st.integers(0, 150))
def test_graduated_is_monotonic(price: RatingPrice, quantity: int) -> None:
    assert amount_decimal(price, quantity) <= amount_decimal(price, quantity + 1)
    assert rate(price, quantity) <= rate(price, quantity + 1)


@given(tiered_prices("volume"), st.integers(0, 150))
def test_volume_picks_the_tier_containing_quantity(price: RatingPrice, quantity: int) -> None:
    index = volume_tier_index(price, quantity)
    tier = price.tiers[index]
    assert tier.up_to is None or quantity <= tier.up_to
    if index > 0:
        previous = price.tiers[index - 1].up_to
        assert previous is not None
        assert quantity > previous
    expected = quantity * exact(tier.unit_amount_decimal) + exact(tier.flat_amount_decimal)
    assert Fraction(amount_decimal(price, quantity)) == expected
    assert rate(price, quantity) == half_up(expected)


@given(
    amounts,
    st.integers(1, 10_000),
    st.sampled_from(["up", "down"]),
    st.integers(-1000, 10**9),
)
def test_transform_quantity_rounding(
    unit: Decimal, divide_by: int, direction: str, quantity: int
) -> None:
    price = RatingPrice(
        unit_amount_decimal=unit,
        transform_quantity=TransformQuantity(divide_by=divide_by, round=direction),  # type: ignore[arg-type]
    )
    ratio = Fraction(max(quantity, 0), divide_by)
    expected_q = math.ceil(ratio) if direction == "up" else math.floor(ratio)
    assert billed_quantity(price, quantity) == expected_q
    assert rate(price, quantity) == half_up(expected_q * Fraction(unit))


@given(amounts, st.integers(-(10**6), 10**9))
def test_per_unit_rounds_half_up(unit: Decimal, quantity: int) -> None:
    expected = half_up(max(quantity, 0) * Fraction(unit))
    assert rate(per_unit(str(unit)), quantity) == expected


@given(tiered_prices("graduated") | tiered_prices("volume"), st.integers(max_value=-1))
def test_negative_quantity_bills_like_zero(price: RatingPrice, quantity: int) -> None:
    assert rate(price, quantity) == rate(price, 0)
    assert billed_quantity(price, quantity) == 0
