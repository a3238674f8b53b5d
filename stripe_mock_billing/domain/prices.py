"""The Price model and its rendering (routes and validation live in resources/prices.py).

`tiers` render only when expanded (`expand[]=tiers`), as Stripe does; `aggregate_usage` only
for versions that have it (domain/versions.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ..errors import ResourceMissing
from ..shapes import RenderContext
from ..store import Namespace
from . import versions
from .pricing import RatingPrice


def decimal_str(d: Decimal) -> str:
    """Stripe's rendering of a decimal amount: `"2000"`, `"0.05"`."""
    s = format(d.normalize(), "f")
    return s


def _int_or_none(d: Decimal | None) -> int | None:
    return int(d) if d is not None and d == d.to_integral_value() else None


@dataclass(slots=True, kw_only=True)
class Recurring:
    """`price.recurring`."""

    interval: str
    interval_count: int = 1
    usage_type: str = "licensed"
    aggregate_usage: str | None = None
    meter: str | None = None
    trial_period_days: int | None = None


@dataclass(slots=True, kw_only=True)
class Price:
    """A price; `rating` holds what the pricing math needs."""

    id: str
    created: int
    product: str
    currency: str
    rating: RatingPrice
    recurring: Recurring | None = None
    active: bool = True
    nickname: str | None = None
    lookup_key: str | None = None
    tax_behavior: str = "unspecified"
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def metered(self) -> bool:
        """Whether usage (records or meter events) drives the quantity."""
        return self.recurring is not None and self.recurring.usage_type == "metered"

    def render(self, ctx: RenderContext) -> dict[str, Any]:
        """Wire shape of a price."""
        r = self.rating
        rec: dict[str, Any] | None = None
        if self.recurring is not None:
            rec = {
                "interval": self.recurring.interval,
                "interval_count": self.recurring.interval_count,
                "meter": self.recurring.meter,
                "trial_period_days": self.recurring.trial_period_days,
                "usage_type": self.recurring.usage_type,
            }
            if versions.has_usage_records(ctx.version):
                rec["aggregate_usage"] = self.recurring.aggregate_usage
        tq = r.transform_quantity
        body: dict[str, Any] = {
            "id": self.id,
            "object": "price",
            "active": self.active,
            "billing_scheme": r.billing_scheme,
            "created": self.created,
            "currency": self.currency,
            "custom_unit_amount": None,
            "livemode": False,
            "lookup_key": self.lookup_key,
            "metadata": dict(self.metadata),
            "nickname": self.nickname,
            "product": self.product,
            "recurring": rec,
            "tax_behavior": self.tax_behavior,
            "tiers_mode": r.tiers_mode,
            "transform_quantity": (
                {"divide_by": tq.divide_by, "round": tq.round} if tq is not None else None
            ),
            "type": "recurring" if self.recurring is not None else "one_time",
            "unit_amount": _int_or_none(r.unit_amount_decimal),
            "unit_amount_decimal": (
                decimal_str(r.unit_amount_decimal) if r.unit_amount_decimal is not None else None
            ),
        }
        if "tiers" in ctx.includes:
            body["tiers"] = (
                [
                    {
                        "flat_amount": _int_or_none(t.flat_amount_decimal),
                        "flat_amount_decimal": (
                            decimal_str(t.flat_amount_decimal)
                            if t.flat_amount_decimal is not None
                            else None
                        ),
                        "unit_amount": _int_or_none(t.unit_amount_decimal),
                        "unit_amount_decimal": (
                            decimal_str(t.unit_amount_decimal)
                            if t.unit_amount_decimal is not None
                            else None
                        ),
                        "up_to": t.up_to,
                    }
                    for t in r.tiers
                ]
                if r.billing_scheme == "tiered"
                else []  # (unverified) the schema's `tiers` is a non-null array when present
            )
        return body


def get_price(ns: Namespace, pid: str, *, param: str = "id", in_path: bool = True) -> Price:
    """A price or Stripe's `No such price`."""
    price = ns.prices.get(pid)
    if price is None:
        raise ResourceMissing("price", pid, param=param, in_path=in_path)
    return price
