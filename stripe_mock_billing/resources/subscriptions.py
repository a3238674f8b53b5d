"""Subscriptions: `/v1/subscriptions` create, retrieve, update, list, cancel (DELETE).

Emulated: `items[]` (price, quantity, metadata, usage thresholds; update by id, `deleted`,
add), `billing_cycle_anchor` (future timestamp: a stub first period ending at the anchor;
`now`/`unchanged` on update), `backdate_start_date`, trials, `cancel_at_period_end` and
reactivation, `cancel_at`, `billing_thresholds` (acacia, basil from 2025-05-28), metadata,
`collection_method`. Validation follows Stripe (see domain/subscriptions.py). Every billing effect
(invoices, usage, rollover) goes through billing/engine.py.
LIMITATIONS: no schedules, discounts, tax rates, pending updates or payment intents.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response

from .. import clock, ids
from ..billing import engine, payments
from ..billing.periods import add_interval, period_containing
from ..domain import versions
from ..domain.customers import Customer, get_customer
from ..domain.subscriptions import (
    Subscription,
    SubscriptionItem,
    check_compatible,
    check_item_price,
    get_subscription,
)
from ..errors import InvalidRequest, ResourceMissing, invalid_value, missing_param, unknown_params
from ..store import Namespace
from ..wire import pipeline as p
from ..wire.params import (
    apply_metadata,
)
from ..wire.render import render_list, render_one
from .subscription_params import CANCEL, CREATE, LIST, UPDATE

subscriptions = Blueprint("subscriptions", __name__)


def _check_thresholds(prm: dict[str, Any], version: str) -> None:
    if "billing_thresholds" in prm and not versions.has_billing_thresholds(version):
        raise unknown_params(["billing_thresholds"])
    for i, it in enumerate(prm.get("items") or []):
        if "billing_thresholds" in it and not versions.has_billing_thresholds(version):
            raise unknown_params([f"items[{i}][billing_thresholds]"])


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


def _first_period(
    prm: dict[str, Any], now: int, interval: str, count: int
) -> tuple[int, int, int, int, int | None, int | None]:
    """start_date, anchor, period start, period end, trial start, trial end."""
    start = prm.get("backdate_start_date")
    if start is not None and start > now:
        raise invalid_value("backdate_start_date", "The backdate_start_date must be in the past.")
    start = now if start is None else start
    trial_end = prm.get("trial_end")
    if trial_end == "now":
        trial_end = None
    if trial_end is None and prm.get("trial_period_days"):
        trial_end = now + prm["trial_period_days"] * 86400
    anchor = prm.get("billing_cycle_anchor")
    if trial_end is not None:
        if trial_end <= now:
            raise invalid_value(
                "trial_end", "Invalid timestamp: must be an integer Unix timestamp in the future."
            )
        # a trial and an anchor: free until trial_end, a stub period up to the anchor, then the
        # anchor's cycle (Stripe's "combining trials with billing_cycle_anchor")
        if anchor is not None:
            _check_anchor(anchor, now, add_interval(trial_end, interval, count, 1))
            if anchor < trial_end:  # (unverified text) the stub runs from the trial's end
                raise invalid_value(
                    "billing_cycle_anchor",
                    "billing_cycle_anchor cannot be earlier than trial_end.",
                )
        return start, anchor or trial_end, now, trial_end, now, trial_end
    if anchor is not None:
        _check_anchor(anchor, now, add_interval(start, interval, count, 1))
        return start, anchor, start, anchor, None, None
    ps, pe = period_containing(start, interval, count, now)
    return start, start, ps, pe, None, None


def _check_anchor(anchor: int, now: int, natural: int) -> None:
    """A future `billing_cycle_anchor` no later than the next natural billing date (counted
    from the start, or from the trial's end)."""
    if anchor <= now:
        raise invalid_value(
            "billing_cycle_anchor",
            "Invalid timestamp: must be an integer Unix timestamp in the future.",
        )
    if anchor > natural:
        raise invalid_value(
            "billing_cycle_anchor",
            f"billing_cycle_anchor cannot be later than next natural billing date "
            f"({natural}) for plan",
        )


@subscriptions.post("/v1/subscriptions")
def create_subscription() -> Response:
    """Create a subscription; validation happens fully before anything is stored."""
    ns = p.ns()
    prm = p.params(CREATE)
    version = p.api_version()
    _check_thresholds(prm, version)
    cust = get_customer(ns, prm["customer"], param="customer", in_path=False)
    items = prm["items"]
    if not items:
        raise missing_param("items")
    prices = []
    for i, spec in enumerate(items):
        if spec.get("price") is None:
            raise missing_param(f"items[{i}][price]")
        prices.append(
            check_item_price(ns, spec["price"], spec.get("quantity"), version, f"items[{i}]")
        )
    check_compatible(prices)
    if prm.get("currency") is not None and prm["currency"].lower() != prices[0].currency:
        # (unverified text) no currency_options here: the prices' currency is the only one
        raise invalid_value(
            "currency",
            f"The price specified ({prices[0].id}) does not support currency "
            f"{prm['currency'].lower()}.",
        )
    rec = prices[0].recurring
    if rec is None:  # checked by check_item_price; keeps the type checker informed
        raise InvalidRequest("The price must be recurring.")
    now = clock.customer_now(ns, cust.id)
    start, anchor, ps, pe, t0, t1 = _first_period(prm, now, rec.interval, rec.interval_count)
    behavior = prm.get("payment_behavior") or "allow_incomplete"
    if behavior == "pending_if_incomplete":
        # (unverified text) pending updates exist only for updates
        raise invalid_value(
            "payment_behavior",
            "payment_behavior=pending_if_incomplete can only be used when updating a subscription.",
        )
    _check_collection(prm, "charge_automatically")
    _check_payment_method(ns, cust, prm.get("default_payment_method"))
    engine.subscription_joining(ns, cust)
    sub = Subscription(
        id=ids.new_id("subscription"),
        customer=cust.id,
        created=now,
        start_date=start,
        billing_cycle_anchor=anchor,
        interval=rec.interval,
        interval_count=rec.interval_count,
        currency=prices[0].currency,
        current_period_start=ps,
        current_period_end=pe,
        trial_start=t0,
        trial_end=t1,
        status="trialing" if t1 is not None else "active",
        test_clock=cust.test_clock,
        billing_mode=(prm.get("billing_mode") or {}).get("type") or "classic",
        # proration_behavior on create acts on the stub period before a future anchor only
        free_stub="billing_cycle_anchor" in prm and prm.get("proration_behavior") == "none",
    )
    _apply_common(sub, prm, now)
    new_items = [new_item(ns, sub.id, spec, now) for spec in items]
    if behavior == "error_if_incomplete":
        engine.check_first_payment(ns, cust, sub, new_items)
    ns.subscriptions[sub.id] = sub
    for it in new_items:
        ns.subscription_items[it.id] = it
        sub.item_ids.append(it.id)
    _attach_payment_method(ns, cust, sub, now)
    engine.subscription_created(ns, sub, payment_behavior=behavior)
    return render_one(sub, p.ctx(), prm.get("expand"))


def _check_collection(prm: dict[str, Any], current: str) -> None:
    """`days_until_due` only goes with `collection_method=send_invoice` (unverified text)."""
    method = prm.get("collection_method") or current
    if prm.get("days_until_due") is not None and method != "send_invoice":
        raise invalid_value(
            "days_until_due",
            "Invalid days_until_due: days_until_due can only be set when collection_method is "
            "send_invoice.",
        )


def _check_payment_method(ns: Namespace, cust: Customer, pm_id: str | None) -> None:
    """`default_payment_method`: a test id that can be attached, or one of the customer's."""
    if not pm_id:
        return
    if payments.is_test_id(pm_id):
        payments.check_attachable(pm_id)
        return
    pm = ns.payment_methods.get(pm_id)
    if pm is None:
        raise ResourceMissing("PaymentMethod", pm_id, param="default_payment_method", in_path=False)
    if pm.customer != cust.id:
        raise InvalidRequest(
            f"The customer does not have a payment method with the ID {pm_id}. The payment "
            "method must be attached to the customer.",
            code="resource_missing",
            param="default_payment_method",
        )


def _attach_payment_method(ns: Namespace, cust: Customer, sub: Subscription, now: int) -> None:
    """A test id as `default_payment_method` becomes a new `pm_...` of the customer."""
    if sub.default_payment_method and payments.is_test_id(sub.default_payment_method):
        sub.default_payment_method = payments.for_customer(
            ns, cust, sub.default_payment_method, now, param="default_payment_method"
        )


@subscriptions.get("/v1/subscriptions/<sid>")
def retrieve_subscription(sid: str) -> Response:
    """Retrieve a subscription."""
    prm = p.params({})
    return render_one(get_subscription(p.ns(), sid), p.ctx(), prm.get("expand"))


def _validate_item_updates(
    ns: Namespace, sub: Subscription, prm: dict[str, Any], version: str
) -> None:
    final_prices = {it.id: ns.prices[it.price] for it in sub.items(ns)}
    added = []
    for i, spec in enumerate(prm.get("items") or []):
        base = f"items[{i}]"
        iid = spec.get("id")
        if iid is not None:
            if iid not in final_prices:
                raise invalid_value(
                    f"{base}[id]",
                    f"Subscription item {iid} does not exist or is not on subscription {sub.id}",
                )
            if spec.get("deleted"):
                if spec.get("clear_usage") and not final_prices[iid].metered:
                    raise invalid_value(
                        f"{base}[clear_usage]",
                        "clear_usage can only be used with metered prices.",
                    )
                del final_prices[iid]
                continue
            if spec.get("price") is not None:
                final_prices[iid] = check_item_price(
                    ns, spec["price"], spec.get("quantity"), version, base
                )
            elif spec.get("quantity") is not None and final_prices[iid].metered:
                check_item_price(ns, final_prices[iid].id, spec["quantity"], version, base)
        else:
            if spec.get("price") is None:
                raise missing_param(f"{base}[price]")
            added.append(check_item_price(ns, spec["price"], spec.get("quantity"), version, base))
    remaining = list(final_prices.values()) + added
    if not remaining:
        raise InvalidRequest(
            "A subscription must have at least one active plan. To cancel a subscription, please "
            "use the cancel API endpoint on /v1/subscriptions."
        )
    check_compatible(remaining)


@subscriptions.post("/v1/subscriptions/<sid>")
def update_subscription(sid: str) -> Response:
    """Update a subscription; a canceled one accepts only metadata and cancellation_details."""
    ns = p.ns()
    sub = get_subscription(ns, sid)
    prm = p.params(UPDATE)
    version = p.api_version()
    _check_thresholds(prm, version)
    if sub.status == "canceled" and set(prm) - {"metadata", "cancellation_details", "expand"}:
        raise InvalidRequest(
            "A canceled subscription can only update its cancellation_details and metadata."
        )
    if sub.status in ("incomplete", "incomplete_expired") and set(prm) - {"metadata", "expand"}:
        # OpenAPI: an incomplete subscription takes only metadata and default_source (no
        # sources here) (unverified text)
        raise InvalidRequest(
            f"A subscription with status {sub.status} can only update its metadata and "
            "default_source."
        )
    if "trial_end" in prm and prm["trial_end"] != "now":
        # a new trial end on an existing subscription is not emulated: a 400, never ignored
        raise invalid_value(
            "trial_end",
            "trial_end=<timestamp> on a subscription update is not supported by the emulator; "
            "use trial_end=now to end a trial.",
        )
    if "items" in prm:
        _validate_item_updates(ns, sub, prm, version)
    behavior = prm.get("payment_behavior")
    if behavior == "pending_if_incomplete":
        extra = sorted(set(prm) - engine.PENDING_ALLOWED)
        if extra:
            # (unverified text) Stripe lists the parameters pending updates support
            raise invalid_value(
                extra[0],
                "The following parameters cannot be used with "
                f"payment_behavior=pending_if_incomplete: {', '.join(extra)}.",
            )
    _check_collection(prm, sub.collection_method)
    cust = ns.customers[sub.customer]
    _check_payment_method(ns, cust, prm.get("default_payment_method"))
    guarded = behavior in ("error_if_incomplete", "pending_if_incomplete")
    saved = engine.checkpoint(ns) if guarded else None
    invoices_before = len(sub.invoice_ids)
    engine.begin_update(ns, behavior)
    try:
        _update(ns, sub, prm)
    finally:
        decline = engine.end_update(ns)
    if decline is not None and saved is not None:
        if behavior == "error_if_incomplete":
            engine.restore(ns, saved)  # the update is not applied
            raise decline.error()
        now = clock.customer_now(ns, sub.customer)
        engine.pend(ns, sid, saved, invoices_before, now)
    return render_one(ns.subscriptions[sid], p.ctx(), prm.get("expand"))


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


@subscriptions.get("/v1/subscriptions")
def list_subscriptions() -> Response:
    """List subscriptions (default: all but canceled), newest first."""
    ns = p.ns()
    prm = p.params(LIST)
    status = prm.get("status")
    clock_id = prm.get("test_clock")

    def keep(s: Subscription) -> bool:
        if prm.get("customer") is not None and s.customer != prm["customer"]:
            return False
        if clock_id is not None and s.test_clock != clock_id:
            return False
        if s.test_clock is not None and prm.get("customer") is None and clock_id is None:
            return False  # Stripe omits test-clock objects from unfiltered lists
        if prm.get("price") is not None and all(it.price != prm["price"] for it in s.items(ns)):
            return False
        if prm.get("created") is not None and s.created != prm["created"]:
            return False
        if status in (None, "all"):
            return status == "all" or s.status != "canceled"
        if status == "ended":
            return s.status in ("canceled", "incomplete_expired")
        return bool(s.status == status)

    objs = [s for s in reversed(ns.subscriptions.values()) if keep(s)]
    return render_list(objs, prm, p.ctx(), url="/v1/subscriptions", noun="subscription")


@subscriptions.delete("/v1/subscriptions/<sid>")
def cancel_subscription(sid: str) -> Response:
    """Cancel now; `invoice_now` bills accrued usage on a final invoice."""
    ns = p.ns()
    sub = get_subscription(ns, sid)
    prm = p.params(CANCEL)
    if sub.status == "canceled":
        # (unverified) Stripe answers a second cancel as if the subscription were gone
        raise ResourceMissing("subscription", sid)
    details = prm.get("cancellation_details") or {}
    sub.cancellation_comment = details.get("comment", sub.cancellation_comment)
    sub.cancellation_feedback = details.get("feedback", sub.cancellation_feedback)
    sub.cancellation_reason = "cancellation_requested"
    engine.cancel_subscription(
        ns, sub, invoice_now=bool(prm.get("invoice_now")), prorate=bool(prm.get("prorate"))
    )
    return render_one(sub, p.ctx(), prm.get("expand"))
