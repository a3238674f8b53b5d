"""Pricing math: the amount Stripe charges for a quantity of a price.

Emulates the amount rules for recurring (including metered) prices,
usage-records-legacy.md §7.2 and https://docs.stripe.com/products-prices/pricing-models:

- ``per_unit``: ``quantity * unit_amount_decimal``;
- ``transform_quantity``: the quantity is first divided by ``divide_by`` and
  rounded ``up`` (ceil) or ``down`` (floor), then multiplied by the unit amount
  ("150 minutes, divide_by 60, round up, 1000/h → 3 * 1000");
- ``tiered`` + ``graduated``: units falling in tier k cost ``unit_amount_k``
  each, plus ``flat_amount_k`` for every tier holding at least one unit;
- ``tiered`` + ``volume``: the whole quantity is priced by the tier containing
  it (smallest ``up_to >= quantity``, else the ``inf`` tier):
  ``quantity * unit_amount_k + flat_amount_k``.

Amounts are computed exactly with ``Decimal`` and rounded to a whole minor unit
once, on the final total. ``RatingPrice`` carries only the rating-relevant fields
of a price; integer ``unit_amount`` / ``flat_amount`` are passed as their
``*_decimal`` equivalents.

LIMITATIONS / unverified choices:

- Rounding: Stripe says decimal amounts are "rounded to the nearest whole cent";
  the tie rule is unverified. We use ROUND_HALF_UP (0.5 → 1, 1.5 → 2).
- Rounding once on the total (not per tier or per unit) is our reading of the
  docs for graduated tiers with decimal amounts (unverified).
- A negative quantity bills as 0 (a defensive choice of this emulator, not a
  documented Stripe rule).
- Volume tiers with quantity 0 charge the first tier's ``flat_amount`` if it has
  one, else 0 (spec §7.2 marks this unverified). Graduated tiers with quantity 0
  charge 0: no tier holds a unit, so no flat amount applies.
- A tier whose ``unit_amount_decimal`` or ``flat_amount_decimal`` is ``None``
  contributes 0 for that part; the API layer decides which combinations to reject.
- Construction rejects shapes Stripe rejects at price creation (``per_unit``
  without a unit amount, ``tiered`` without ``tiers_mode`` or an ``inf`` last
  tier, ``transform_quantity`` with ``tiered``, negative amounts), raising
  ``ValueError``; the wire-level 400 messages belong to the prices resource.
- Exact arithmetic uses a 100-digit decimal context; a product that would need
  more digits raises ``ValueError`` instead of rounding silently.
"""

from __future__ import annotations

import decimal
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import ROUND_HALF_UP, Decimal
from typing import Final, NamedTuple

# the value types live in the domain (a price holds them); re-exported for the math's callers
from ..domain.pricing import RatingPrice as RatingPrice
from ..domain.pricing import Tier as Tier
from ..domain.pricing import TransformQuantity as TransformQuantity

_ZERO: Final = Decimal(0)
_PRECISION: Final = 100


class TierLine(NamedTuple):
    """How much of the quantity one tier priced, with its exact (unrounded) amount."""

    tier_index: int
    up_to: int | None
    quantity: int
    unit_amount_decimal: Decimal
    flat_amount_decimal: Decimal
    amount_decimal: Decimal


def billed_quantity(price: RatingPrice, quantity: int) -> int:
    """The quantity actually priced: negatives become 0, then ``transform_quantity`` applies."""
    q = max(quantity, 0)
    transform = price.transform_quantity
    if transform is None:
        return q
    if transform.round == "up":
        return -(-q // transform.divide_by)
    return q // transform.divide_by


def tier_breakdown(price: RatingPrice, quantity: int) -> list[TierLine]:
    """Per-tier split of a tiered price's amount; only tiers that charge something appear."""
    if price.billing_scheme != "tiered":
        raise ValueError("tier_breakdown needs a tiered price")
    q = billed_quantity(price, quantity)
    with _exact():
        if price.tiers_mode == "volume":
            index = volume_tier_index(price, q)
            tier = price.tiers[index]
            line = _line(index, tier, q)
            return [line] if line.quantity or line.amount_decimal else []
        lines: list[TierLine] = []
        lower = 0
        for index, tier in enumerate(price.tiers):
            upper = q if tier.up_to is None else min(q, tier.up_to)
            units = upper - lower
            if units <= 0:
                break
            lines.append(_line(index, tier, units))
            lower = upper
        return lines


def volume_tier_index(price: RatingPrice, quantity: int) -> int:
    """Index of the tier a volume price uses for ``quantity`` (smallest ``up_to >= q``)."""
    q = max(quantity, 0)
    for index, tier in enumerate(price.tiers):
        if tier.up_to is None or q <= tier.up_to:
            return index
    # Unreachable for a validated price: the last tier is always ``inf``.
    raise ValueError("price has no tier for quantity; the last tier must have up_to=None")


def amount_decimal(price: RatingPrice, quantity: int) -> Decimal:
    """The exact, unrounded amount in minor units (fractions of a cent kept)."""
    if price.billing_scheme == "tiered":
        lines = tier_breakdown(price, quantity)
        with _exact():
            return sum((line.amount_decimal for line in lines), _ZERO)
    unit = price.unit_amount_decimal
    if unit is None:
        raise ValueError("per_unit price without unit_amount_decimal")
    with _exact():
        return billed_quantity(price, quantity) * unit


def round_minor_units(amount: Decimal) -> int:
    """Round an exact amount to a whole minor unit, half up (Stripe's rule, tie unverified)."""
    return int(amount.to_integral_value(rounding=ROUND_HALF_UP))


def rate(price: RatingPrice, quantity: int) -> int:
    """The amount in minor units (e.g. cents) charged for ``quantity`` of ``price``."""
    return round_minor_units(amount_decimal(price, quantity))


def _line(index: int, tier: Tier, units: int) -> TierLine:
    unit = tier.unit_amount_decimal if tier.unit_amount_decimal is not None else _ZERO
    flat = tier.flat_amount_decimal if tier.flat_amount_decimal is not None else _ZERO
    return TierLine(
        tier_index=index,
        up_to=tier.up_to,
        quantity=units,
        unit_amount_decimal=unit,
        flat_amount_decimal=flat,
        amount_decimal=units * unit + flat,
    )


@contextmanager
def _exact() -> Iterator[None]:
    # Trap Inexact so no intermediate result is rounded before the single final rounding.
    with decimal.localcontext() as ctx:
        ctx.prec = _PRECISION
        ctx.traps[decimal.Inexact] = True
        try:
            yield
        except decimal.DecimalException as exc:
            raise ValueError(f"amount cannot be computed exactly in {_PRECISION} digits") from exc
