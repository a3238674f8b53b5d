"""The rating terms of a price: scheme, unit amount, tiers and `transform_quantity`.

`RatingPrice` carries only the fields of a price that decide the amount charged for a quantity
(the math is `billing/rating.py`); integer `unit_amount` / `flat_amount` are passed as their
`*_decimal` equivalents. Construction rejects shapes Stripe rejects at price creation (`per_unit`
without a unit amount, `tiered` without `tiers_mode` or an `inf` last tier, `transform_quantity`
with `tiered`, negative amounts), raising `ValueError`; the wire-level 400 messages belong to the
prices resource.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, NamedTuple

BillingScheme = Literal["per_unit", "tiered"]


TiersMode = Literal["graduated", "volume"]


TransformRound = Literal["up", "down"]


class Tier(NamedTuple):
    """One price tier; ``up_to`` is the inclusive upper bound, ``None`` for ``inf``."""

    up_to: int | None
    unit_amount_decimal: Decimal | None = None
    flat_amount_decimal: Decimal | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TransformQuantity:
    """A price's ``transform_quantity``: divide the quantity, then round it."""

    divide_by: int
    round: TransformRound

    def __post_init__(self) -> None:
        if self.divide_by < 1:
            raise ValueError(f"transform_quantity.divide_by must be positive, got {self.divide_by}")
        if self.round not in ("up", "down"):
            raise ValueError(f"transform_quantity.round must be 'up' or 'down', got {self.round!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class RatingPrice:
    """The fields of a price that determine the amount charged for a quantity."""

    billing_scheme: BillingScheme = "per_unit"
    unit_amount_decimal: Decimal | None = None
    tiers_mode: TiersMode | None = None
    tiers: tuple[Tier, ...] = ()
    transform_quantity: TransformQuantity | None = None

    def __post_init__(self) -> None:
        if self.billing_scheme == "per_unit":
            _check_per_unit(self)
        elif self.billing_scheme == "tiered":
            _check_tiered(self)
        else:
            raise ValueError(f"unknown billing_scheme {self.billing_scheme!r}")


def _check_amount(name: str, value: Decimal | None) -> None:
    if value is None:
        return
    if not value.is_finite():
        raise ValueError(f"{name} must be a finite decimal, got {value}")
    if value < 0:
        raise ValueError(f"{name} must not be negative, got {value}")


def _check_per_unit(price: RatingPrice) -> None:
    if price.unit_amount_decimal is None:
        raise ValueError("per_unit price needs unit_amount_decimal")
    _check_amount("unit_amount_decimal", price.unit_amount_decimal)
    if price.tiers or price.tiers_mode is not None:
        raise ValueError("tiers and tiers_mode need billing_scheme='tiered'")


def _check_tiered(price: RatingPrice) -> None:
    if price.tiers_mode not in ("graduated", "volume"):
        raise ValueError("tiered price needs tiers_mode 'graduated' or 'volume'")
    if not price.tiers:
        raise ValueError("tiered price needs at least one tier")
    if price.transform_quantity is not None:
        # Stripe: transform_quantity is "not compatible with tiered pricing".
        raise ValueError("transform_quantity cannot be combined with billing_scheme='tiered'")
    if price.unit_amount_decimal is not None:
        raise ValueError("tiered price takes amounts from its tiers, not unit_amount_decimal")
    previous = 0
    last = len(price.tiers) - 1
    for index, tier in enumerate(price.tiers):
        _check_amount(f"tiers[{index}].unit_amount_decimal", tier.unit_amount_decimal)
        _check_amount(f"tiers[{index}].flat_amount_decimal", tier.flat_amount_decimal)
        if tier.up_to is None:
            if index != last:
                raise ValueError("only the last tier may have up_to=inf")
            continue
        if index == last:
            raise ValueError("the last tier must have up_to=inf (None)")
        if tier.up_to <= previous:
            raise ValueError(f"tiers[{index}].up_to must be greater than {previous}")
        previous = tier.up_to
