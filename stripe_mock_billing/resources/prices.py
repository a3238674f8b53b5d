"""Prices: `/v1/prices` create, retrieve, update, list (prices are archived, never deleted).

Emulated: one-time and recurring prices, licensed and metered (`aggregate_usage` up to acacia,
`recurring[meter]`), per_unit and tiered (graduated / volume, flat amounts), `unit_amount_decimal`,
`transform_quantity`, `lookup_key` with `transfer_lookup_key`, `product_data`, and the validation
rules of usage-records-legacy.md §1. `tiers` render only when expanded (`expand[]=tiers`), as
Stripe does. Messages not quoted in the spec are our best reading (unverified).
LIMITATIONS: no `currency_options`, `custom_unit_amount`, search or `plan` objects.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import Blueprint, Response

from .. import clock, ids
from ..billing.periods import validate_interval_count
from ..billing.rating import RatingPrice, Tier, TransformQuantity
from ..domain import events as event_log
from ..domain import versions
from ..domain.prices import Price, Recurring, get_price
from ..domain.products import get_product
from ..errors import (
    ResourceMissing,
    exclusive_params,
    invalid_value,
    missing_param,
    unknown_params,
)
from ..store import Namespace
from ..wire import pipeline as p
from ..wire.params import (
    LIST_PARAMS,
    Bool,
    DecimalStr,
    Enum,
    Int,
    List,
    Metadata,
    Obj,
    Str,
    apply_metadata,
)
from ..wire.render import render_list, render_one
from .products import new_product

prices = Blueprint("prices", __name__)

CURRENCIES = frozenset(
    (
        "usd eur gbp jpy cad aud chf sek nok dkk nzd sgd hkd inr brl mxn pln czk huf ron bgn "
        "try zar ils aed thb myr php idr krw twd"
    ).split()
)
AGGREGATE = ("sum", "last_during_period", "last_ever", "max")


MONEY = Int(min=0, max=99_999_999_999)
MONEY_DECIMAL = DecimalStr(min=Decimal(0), max=Decimal(99_999_999_999))
TIER = Obj(
    fields={
        "up_to": Int(min=1, allow_inf=True, required=True, nullable=False),
        "unit_amount": MONEY,
        "unit_amount_decimal": MONEY_DECIMAL,
        "flat_amount": MONEY,
        "flat_amount_decimal": MONEY_DECIMAL,
    }
)
RECURRING = Obj(
    nullable=False,
    fields={
        "interval": Enum(values=("day", "month", "week", "year"), required=True, nullable=False),
        "interval_count": Int(min=1),
        "usage_type": Enum(values=("licensed", "metered")),
        "aggregate_usage": Enum(values=AGGREGATE),
        "meter": Str(),
        "trial_period_days": Int(min=0, max=730),
    },
)
PRODUCT_DATA = Obj(
    nullable=False,
    fields={
        "name": Str(required=True, nullable=False),
        "id": Str(max_length=255),
        "active": Bool(),
        "metadata": Metadata(),
        "statement_descriptor": Str(max_length=22),
        "unit_label": Str(max_length=12),
    },
)
COMMON = {
    "active": Bool(),
    "nickname": Str(),
    "lookup_key": Str(max_length=200),
    "transfer_lookup_key": Bool(),
    "metadata": Metadata(),
    "tax_behavior": Enum(values=("exclusive", "inclusive", "unspecified")),
}
CREATE = {
    **COMMON,
    "currency": Str(required=True, nullable=False),
    "product": Str(),
    "product_data": PRODUCT_DATA,
    "unit_amount": MONEY,
    "unit_amount_decimal": MONEY_DECIMAL,
    "billing_scheme": Enum(values=("per_unit", "tiered")),
    "tiers_mode": Enum(values=("graduated", "volume")),
    "tiers": List(item=TIER, max_items=250),
    "transform_quantity": Obj(
        fields={
            "divide_by": Int(min=1, required=True, nullable=False),
            "round": Enum(values=("down", "up"), required=True, nullable=False),
        }
    ),
    "recurring": RECURRING,
}
LIST = {
    **LIST_PARAMS,
    "active": Bool(),
    "product": Str(),
    "currency": Str(),
    "type": Enum(values=("one_time", "recurring")),
    "lookup_keys": List(item=Str(), max_items=10),
    "recurring": Obj(
        fields={
            "interval": Enum(values=("day", "month", "week", "year")),
            "usage_type": Enum(values=("licensed", "metered")),
            "meter": Str(),
        }
    ),
}


def _amount(obj: dict[str, Any], base: str, name: str) -> Decimal | None:
    """One of `<name>` (int) / `<name>_decimal`, never both (`base` is e.g. `tiers[0]`)."""
    whole, dec = obj.get(name), obj.get(f"{name}_decimal")
    if whole is not None and dec is not None:
        names = [name, f"{name}_decimal"]
        raise exclusive_params([f"{base}[{n}]" if base else n for n in names])
    return Decimal(whole) if whole is not None else dec


def _tiers(prm: dict[str, Any]) -> tuple[Tier, ...]:
    tiers: list[Tier] = []
    last_up_to = 0
    raw = prm["tiers"]
    for i, t in enumerate(raw):
        base = f"tiers[{i}]"
        unit = _amount(t, base, "unit_amount")
        flat = _amount(t, base, "flat_amount")
        up_to = t["up_to"]
        if unit is None and flat is None:
            raise invalid_value(
                f"tiers[{i}]",
                f"Each tier must have either a unit amount or a flat amount: tiers[{i}].",
            )
        last = i == len(raw) - 1
        if last and up_to is not None:
            raise invalid_value(
                f"tiers[{i}][up_to]", "The last tier must have `up_to` set to `inf`."
            )
        if not last and up_to is None:
            raise invalid_value(f"tiers[{i}][up_to]", "Only the last tier may have `up_to=inf`.")
        if up_to is not None and up_to <= last_up_to:
            raise invalid_value(
                f"tiers[{i}][up_to]", "Tiers must be sorted by `up_to` in ascending order."
            )
        last_up_to = up_to or last_up_to
        tiers.append(Tier(up_to, unit, flat))
    return tuple(tiers)


def _rating(prm: dict[str, Any]) -> RatingPrice:
    scheme = prm.get("billing_scheme") or "per_unit"
    tq = prm.get("transform_quantity")
    if scheme == "tiered":
        if prm.get("unit_amount") is not None or prm.get("unit_amount_decimal") is not None:
            name = "unit_amount" if prm.get("unit_amount") is not None else "unit_amount_decimal"
            raise invalid_value(
                name, f"You may not specify `{name}` when `billing_scheme` is `tiered`."
            )
        if not prm.get("tiers_mode"):
            raise missing_param("tiers_mode")
        if not prm.get("tiers"):
            raise missing_param("tiers")
        if tq:
            raise invalid_value(
                "transform_quantity",
                "`transform_quantity` is not compatible with tiered pricing "
                "(`billing_scheme=tiered`).",
            )
        return RatingPrice(billing_scheme="tiered", tiers_mode=prm["tiers_mode"], tiers=_tiers(prm))
    for name in ("tiers", "tiers_mode"):
        if prm.get(name):
            raise invalid_value(
                name, f"You may only specify `{name}` when `billing_scheme` is `tiered`."
            )
    unit = _amount(prm, "", "unit_amount")
    if unit is None:
        raise missing_param("unit_amount")
    transform = TransformQuantity(divide_by=tq["divide_by"], round=tq["round"]) if tq else None
    return RatingPrice(
        billing_scheme="per_unit", unit_amount_decimal=unit, transform_quantity=transform
    )


def _recurring(ns: Namespace, rec: dict[str, Any], version: str) -> Recurring:
    interval, count = rec["interval"], rec.get("interval_count") or 1
    if not validate_interval_count(interval, count):
        raise invalid_value(
            "recurring[interval_count]",
            "The maximum billing interval is 3 years (3 years, 36 months, 156 weeks or 1095 days).",
        )
    usage = rec.get("usage_type") or "licensed"
    agg, meter = rec.get("aggregate_usage"), rec.get("meter")
    legacy = versions.has_usage_records(version)
    if agg is not None and not legacy:
        raise unknown_params(["recurring[aggregate_usage]"])
    if usage == "licensed" and (agg is not None or meter is not None):
        name = "aggregate_usage" if agg is not None else "meter"
        raise invalid_value(
            f"recurring[{name}]",
            f"`recurring[{name}]` can only be set when `recurring[usage_type]` is `metered`.",
        )
    if usage == "metered":
        if meter is None and not legacy:
            raise invalid_value(
                "recurring[meter]",
                "Starting with Stripe version `2025-03-31.basil`, metered prices must be backed "
                "by meters.",
            )
        if meter is not None:
            m = ns.meters.get(meter)
            if m is None:
                raise ResourceMissing("meter", meter, param="recurring[meter]", in_path=False)
            if getattr(m, "status", "active") != "active":
                raise invalid_value(
                    "recurring[meter]", f"The meter `{meter}` is inactive and cannot be used."
                )
            if agg not in (None, "sum"):
                raise invalid_value(
                    "recurring[aggregate_usage]",
                    "`recurring[aggregate_usage]` must be `sum` for prices backed by a meter.",
                )
        agg = agg or "sum"
    return Recurring(
        interval=interval,
        interval_count=count,
        usage_type=usage,
        aggregate_usage=agg,
        meter=meter,
        trial_period_days=rec.get("trial_period_days"),
    )


def _claim_lookup_key(ns: Namespace, key: str | None, transfer: bool, owner: str | None) -> None:
    if key is None:
        return
    holder = next(
        (pr for pr in ns.prices.values() if pr.lookup_key == key and pr.id != owner), None
    )
    if holder is None:
        return
    if not transfer:
        raise invalid_value("lookup_key", f"A price (`{holder.id}`) already uses that lookup key.")
    holder.lookup_key = None


@prices.post("/v1/prices")
def create_price() -> Response:
    """Create a price after Stripe's validation rules; nothing is stored on failure."""
    ns = p.ns()
    prm = p.params(CREATE)
    currency = prm["currency"].lower()
    if currency not in CURRENCIES:
        raise invalid_value("currency", f"Invalid currency: {prm['currency']}.")
    if prm.get("product") is not None and prm.get("product_data") is not None:
        raise exclusive_params(["product", "product_data"])
    if prm.get("product") is None and prm.get("product_data") is None:
        raise missing_param("product")
    if prm.get("product") is not None:
        get_product(ns, prm["product"], param="product", in_path=False)
    rating = _rating(prm)
    recurring = _recurring(ns, prm["recurring"], p.api_version()) if prm.get("recurring") else None
    _claim_lookup_key(ns, prm.get("lookup_key"), bool(prm.get("transfer_lookup_key")), None)
    # every check passed: now write
    if prm.get("product_data") is not None:
        product_id = new_product(ns, prm["product_data"], param="product_data[id]").id
    else:
        product_id = prm["product"]
    price = Price(
        id=ids.new_id("price"),
        created=clock.wall_now(ns),
        product=product_id,
        currency=currency,
        rating=rating,
        recurring=recurring,
    )
    _update(price, prm)
    ns.prices[price.id] = price
    event_log.emit(ns, "price.created", price, created=price.created)
    return render_one(price, p.ctx(), prm.get("expand"))


def _update(price: Price, prm: dict[str, Any]) -> None:
    if prm.get("active") is not None:
        price.active = prm["active"]
    if "nickname" in prm:
        price.nickname = prm["nickname"]
    if "lookup_key" in prm:
        price.lookup_key = prm["lookup_key"]
    if prm.get("tax_behavior"):
        price.tax_behavior = prm["tax_behavior"]
    if "metadata" in prm:
        price.metadata = apply_metadata(price.metadata, prm["metadata"])


@prices.get("/v1/prices/<pid>")
def retrieve_price(pid: str) -> Response:
    """Retrieve a price."""
    prm = p.params({})
    return render_one(get_price(p.ns(), pid), p.ctx(), prm.get("expand"))


@prices.post("/v1/prices/<pid>")
def update_price(pid: str) -> Response:
    """Update the mutable fields of a price."""
    ns = p.ns()
    price = get_price(ns, pid)
    prm = p.params(COMMON)
    _claim_lookup_key(ns, prm.get("lookup_key"), bool(prm.get("transfer_lookup_key")), pid)
    before = event_log.snapshot(ns, price)
    _update(price, prm)
    after = event_log.snapshot(ns, price)
    previous = event_log.diff(before, after)
    if previous:
        event_log.emit(ns, "price.updated", after, created=clock.wall_now(ns), previous=previous)
    return render_one(price, p.ctx(), prm.get("expand"))


@prices.get("/v1/prices")
def list_prices() -> Response:
    """List prices with Stripe's filters, newest first."""
    prm = p.params(LIST)
    rec = prm.get("recurring") or {}
    keys = set(prm.get("lookup_keys") or ())

    def keep(pr: Price) -> bool:
        r = pr.recurring
        return (
            (prm.get("active") is None or pr.active == prm["active"])
            and (prm.get("product") is None or pr.product == prm["product"])
            and (prm.get("currency") is None or pr.currency == prm["currency"].lower())
            and (prm.get("type") is None or (prm["type"] == "recurring") == (r is not None))
            and (not keys or pr.lookup_key in keys)
            and all(r is not None and getattr(r, k) == v for k, v in rec.items() if v is not None)
        )

    objs = [pr for pr in reversed(p.ns().prices.values()) if keep(pr)]
    return render_list(objs, prm, p.ctx(), url="/v1/prices", noun="price")
