"""Subscriptions: `/v1/subscriptions` create, retrieve, update, list, cancel (DELETE).

Emulated: `items[]` (price, quantity, metadata, usage thresholds; update by id, `deleted`,
add), `billing_cycle_anchor` (future timestamp: a stub first period ending at the anchor;
`now`/`unchanged` on update), `backdate_start_date`, trials, `cancel_at_period_end` and
reactivation, `cancel_at`, `billing_thresholds` (acacia, basil from 2025-05-28), metadata,
`collection_method`. Validation follows Stripe (see domain/subscriptions.py). Every billing effect
(invoices, usage, rollover) goes through billing/engine.py.
LIMITATIONS: no schedules, discounts, tax rates, pending updates or payment intents.

Routes only: the checks a create or update request passes before anything is stored are in
subscription_checks.py, applying a validated request (items, common fields, the update itself)
in subscription_writes.py, the parameter specs in subscription_params.py.
"""

from __future__ import annotations

from flask import Blueprint, Response

from .. import clock, ids
from ..billing import engine
from ..domain.customers import get_customer
from ..domain.subscriptions import (
    Subscription,
    check_compatible,
    check_item_price,
    get_subscription,
)
from ..errors import InvalidRequest, ResourceMissing, invalid_value, missing_param
from ..wire import pipeline as p
from ..wire.render import render_list, render_one
from .subscription_checks import (
    _check_collection,
    _check_payment_method,
    _check_thresholds,
    _first_period,
    _validate_item_updates,
)
from .subscription_params import CANCEL, CREATE, LIST, UPDATE
from .subscription_writes import _apply_common, _attach_payment_method, _update, new_item
from .subscription_writes import update_item as update_item  # importable here, as before

subscriptions = Blueprint("subscriptions", __name__)


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


@subscriptions.get("/v1/subscriptions/<sid>")
def retrieve_subscription(sid: str) -> Response:
    """Retrieve a subscription."""
    prm = p.params({})
    return render_one(get_subscription(p.ns(), sid), p.ctx(), prm.get("expand"))


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
