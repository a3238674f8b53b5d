"""Subscription items: `/v1/subscription_items` create, retrieve, update, list, delete.

Emulated: adding a price to a subscription, changing an item's price or quantity (a mid-cycle
price change goes through the billing engine), `billing_thresholds[usage_gte]`, and deletion
with `clear_usage` (only for metered prices). A subscription keeps at least one item.
Licensed changes are prorated (`proration_behavior`, `proration_date`; billing/prorations.py).
LIMITATIONS: see billing/prorations.py.
"""

from __future__ import annotations

from flask import Blueprint, Response

from .. import clock
from ..billing import engine
from ..domain import versions
from ..domain.subscriptions import check_compatible, check_item_price, get_item, get_subscription
from ..errors import InvalidRequest, invalid_value, missing_param, unknown_params
from ..shapes import deleted_stub
from ..wire import pipeline as p
from ..wire.params import LIST_PARAMS, Bool, Int, Metadata, Str
from ..wire.render import json_response, render_list, render_one
from .subscription_params import ITEM_THRESHOLDS, PRORATION
from .subscription_writes import new_item, update_item

subscription_items = Blueprint("subscription_items", __name__)

COMMON = {
    "price": Str(),
    "quantity": Int(min=0),
    "metadata": Metadata(),
    "billing_thresholds": ITEM_THRESHOLDS,
    "proration_behavior": PRORATION,
    "proration_date": Int(),
}
CREATE = {**COMMON, "subscription": Str(required=True, nullable=False)}
UPDATE = COMMON
DELETE = {"clear_usage": Bool(), "proration_behavior": PRORATION, "proration_date": Int()}
LIST = {**LIST_PARAMS, "subscription": Str(required=True, nullable=False)}


def _thresholds_allowed(prm: dict[str, object]) -> None:
    if "billing_thresholds" in prm and not versions.has_billing_thresholds(p.api_version()):
        raise unknown_params(["billing_thresholds"])


def _not_canceled(status: str) -> None:
    if status == "canceled":
        raise InvalidRequest(
            "A canceled subscription can only update its cancellation_details and metadata."
        )


@subscription_items.post("/v1/subscription_items")
def create_subscription_item() -> Response:
    """Add a price to a subscription."""
    ns = p.ns()
    prm = p.params(CREATE)
    _thresholds_allowed(prm)
    sub = get_subscription(ns, prm["subscription"], param="subscription", in_path=False)
    _not_canceled(sub.status)
    if prm.get("price") is None:
        raise missing_param("price")
    price = check_item_price(ns, prm["price"], prm.get("quantity"), p.api_version(), "")
    check_compatible([ns.prices[it.price] for it in sub.items(ns)] + [price], "price")
    at = engine.proration_time(ns, sub, prm.get("proration_date"))
    item = new_item(ns, sub.id, prm, clock.customer_now(ns, sub.customer))
    before = engine.snapshot(ns, sub)
    licensed = engine.licensed_items(ns, sub)
    ns.subscription_items[item.id] = item
    sub.item_ids.append(item.id)
    engine.item_added(ns, sub, item)
    engine.items_changed(ns, sub, licensed, at, prm.get("proration_behavior"))
    engine.subscription_updated(ns, sub, before)
    return render_one(item, p.ctx(), prm.get("expand"))


@subscription_items.get("/v1/subscription_items/<iid>")
def retrieve_subscription_item(iid: str) -> Response:
    """Retrieve a subscription item."""
    prm = p.params({})
    return render_one(get_item(p.ns(), iid), p.ctx(), prm.get("expand"))


@subscription_items.post("/v1/subscription_items/<iid>")
def update_subscription_item(iid: str) -> Response:
    """Change an item's price, quantity, metadata or usage threshold."""
    ns = p.ns()
    item = get_item(ns, iid)
    prm = p.params(UPDATE)
    _thresholds_allowed(prm)
    sub = ns.subscriptions[item.subscription]
    _not_canceled(sub.status)
    current = ns.prices[item.price]
    if prm.get("price") is not None:
        new_price = check_item_price(ns, prm["price"], prm.get("quantity"), p.api_version(), "")
        others = [ns.prices[it.price] for it in sub.items(ns) if it.id != iid]
        check_compatible([*others, new_price], "price")
    elif prm.get("quantity") is not None and current.metered:
        check_item_price(ns, current.id, prm["quantity"], p.api_version(), "")
    at = engine.proration_time(ns, sub, prm.get("proration_date"))
    before = engine.snapshot(ns, sub)
    licensed = engine.licensed_items(ns, sub)
    update_item(ns, sub, item, prm)
    engine.items_changed(ns, sub, licensed, at, prm.get("proration_behavior"))
    engine.subscription_updated(ns, sub, before)
    return render_one(item, p.ctx(), prm.get("expand"))


@subscription_items.get("/v1/subscription_items")
def list_subscription_items() -> Response:
    """List the items of a subscription (`subscription` is required)."""
    ns = p.ns()
    prm = p.params(LIST)
    sub = get_subscription(ns, prm["subscription"], param="subscription", in_path=False)
    return render_list(
        list(reversed(sub.items(ns))),
        prm,
        p.ctx(),
        url="/v1/subscription_items",
        noun="subscription item",
    )


@subscription_items.delete("/v1/subscription_items/<iid>")
def delete_subscription_item(iid: str) -> Response:
    """Delete an item; `clear_usage` only for metered prices; the last item can't go."""
    ns = p.ns()
    item = get_item(ns, iid)
    prm = p.params(DELETE)
    sub = ns.subscriptions[item.subscription]
    _not_canceled(sub.status)
    if prm.get("clear_usage") and not ns.prices[item.price].metered:
        raise invalid_value("clear_usage", "clear_usage can only be used with metered prices.")
    if len(sub.item_ids) <= 1:
        raise InvalidRequest(
            "A subscription must have at least one active plan. To cancel a subscription, please "
            "use the cancel API endpoint on /v1/subscriptions."
        )
    at = engine.proration_time(ns, sub, prm.get("proration_date"))
    before = engine.snapshot(ns, sub)
    licensed = engine.licensed_items(ns, sub)
    engine.delete_item(ns, sub, item, bool(prm.get("clear_usage")))
    engine.items_changed(ns, sub, licensed, at, prm.get("proration_behavior"))
    engine.subscription_updated(ns, sub, before)
    return json_response(deleted_stub(iid, "subscription_item"))
