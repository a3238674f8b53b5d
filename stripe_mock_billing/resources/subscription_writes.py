"""Applying a validated subscription request: new items (`new_item`, also used by
subscription_items.py), item changes (`update_item`), the fields create and update share,
attaching a test payment method, and the whole of an update (`_update`), whose billing effects
go through billing/engine.py. Used by the routes in subscriptions.py and subscription_items.py.
"""

from __future__ import annotations

from typing import Any

from .. import clock, ids
from ..billing import engine, payments
from ..domain.customers import Customer
from ..domain.subscriptions import Subscription, SubscriptionItem
from ..store import Namespace
from ..wire.params import apply_metadata


def _apply_common(sub: Subscription, prm: dict[str, Any], now: int) -> None:
    if "metadata" in prm:
        sub.metadata = apply_metadata(sub.metadata, prm["metadata"])
    for name in ("description", "default_payment_method", "days_until_due"):
        if name in prm:
            setattr(sub, name, prm[name])
    if prm.get("collection_method"):
        sub.collection_method = prm["collection_method"]
        if sub.collection_method == "charge_automatically":
            sub.days_until_due = None  # only meaningful for send_invoice
    if "billing_thresholds" in prm:
        th = prm["billing_thresholds"] or {}
        sub.amount_gte = th.get("amount_gte")
        sub.reset_billing_cycle_anchor = th.get("reset_billing_cycle_anchor")
    if "cancel_at" in prm:
        sub.cancel_at = prm["cancel_at"]
    if prm.get("cancel_at_period_end") is not None:
        sub.cancel_at_period_end = prm["cancel_at_period_end"]
        sub.canceled_at = now if sub.cancel_at_period_end else None
        if sub.cancel_at_period_end:
            sub.cancel_at = sub.current_period_end
        elif sub.cancel_at == sub.current_period_end:
            sub.cancel_at = None


def new_item(ns: Namespace, sub_id: str, spec: dict[str, Any], created: int) -> SubscriptionItem:
    """Build (not store) an item from validated item params."""
    price = ns.prices[spec["price"]]
    qty = spec.get("quantity")
    if qty is None and not price.metered:
        qty = 1
    th = spec.get("billing_thresholds")
    return SubscriptionItem(
        id=ids.new_id("subscription_item"),
        subscription=sub_id,
        price=price.id,
        created=created,
        quantity=qty,
        metadata=apply_metadata({}, spec.get("metadata") or {}),
        usage_gte=th.get("usage_gte") if th else None,
    )


def _attach_payment_method(ns: Namespace, cust: Customer, sub: Subscription, now: int) -> None:
    """A test id as `default_payment_method` becomes a new `pm_...` of the customer."""
    if sub.default_payment_method and payments.is_test_id(sub.default_payment_method):
        sub.default_payment_method = payments.for_customer(
            ns, cust, sub.default_payment_method, now, param="default_payment_method"
        )


def _update(ns: Namespace, sub: Subscription, prm: dict[str, Any]) -> None:
    """Apply a validated update."""
    now = clock.customer_now(ns, sub.customer)
    at = engine.proration_time(ns, sub, prm.get("proration_date"))
    licensed = engine.licensed_items(ns, sub)
    before = engine.snapshot(ns, sub)
    if "default_payment_method" in prm:
        # the new default first (a test id attached as a new `pm_...`): whatever this update
        # bills at once (always_invoice, an anchor reset, a trial ending now) is charged to it
        sub.default_payment_method = prm["default_payment_method"]
        _attach_payment_method(ns, ns.customers[sub.customer], sub, now)
        prm = {**prm, "default_payment_method": sub.default_payment_method}
    details = prm.get("cancellation_details") or {}
    if "comment" in details:
        sub.cancellation_comment = details["comment"]
    if "feedback" in details:
        sub.cancellation_feedback = details["feedback"]
    for spec in prm.get("items") or []:
        iid = spec.get("id")
        if iid is None:
            item = new_item(ns, sub.id, spec, now)
            ns.subscription_items[item.id] = item
            sub.item_ids.append(item.id)
            engine.item_added(ns, sub, item)
        elif spec.get("deleted"):
            engine.delete_item(ns, sub, ns.subscription_items[iid], bool(spec.get("clear_usage")))
        else:
            update_item(ns, sub, ns.subscription_items[iid], spec)
    if "items" in prm and "now" not in (prm.get("billing_cycle_anchor"), prm.get("trial_end")):
        # an anchor reset or a trial ending now restarts the period: billed in full, no prorations
        engine.items_changed(ns, sub, licensed, at, prm.get("proration_behavior"))
    was_pending = sub.cancel_at_period_end
    _apply_common(sub, prm, now)
    if was_pending != sub.cancel_at_period_end:
        engine.cancel_at_period_end_changed(ns, sub)
    if prm.get("billing_cycle_anchor") == "now":
        engine.reset_anchor(ns, sub)
    if prm.get("trial_end") == "now" and sub.status == "trialing":
        engine.end_trial(ns, sub)
    engine.subscription_updated(ns, sub, before)


def update_item(
    ns: Namespace, sub: Subscription, item: SubscriptionItem, spec: dict[str, Any]
) -> None:
    """Apply validated item changes (price change goes through the engine)."""
    if spec.get("price") is not None and spec["price"] != item.price:
        old = item.price
        item.price = spec["price"]
        if ns.prices[item.price].metered:
            item.quantity = None
        elif item.quantity is None:
            item.quantity = 1
        engine.item_price_changed(ns, sub, item, old)
    if spec.get("quantity") is not None:
        item.quantity = spec["quantity"]
    if "metadata" in spec:
        item.metadata = apply_metadata(item.metadata, spec["metadata"])
    if "billing_thresholds" in spec:
        th = spec["billing_thresholds"]
        item.usage_gte = th.get("usage_gte") if th else None
