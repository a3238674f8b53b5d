"""Invoice previews: `POST /v1/invoices/create_preview`, and up to acacia
`GET /v1/invoices/upcoming` and `GET /v1/invoices/upcoming/lines`.

The preview is the subscription's next invoice as it stands now (metered quantities so far),
optionally with hypothetical changes (`subscription_details[items]`, `[billing_cycle_anchor]=now`,
`[cancel_now]`, `[cancel_at_period_end]`; the upcoming endpoint's `subscription_items`,
`subscription_billing_cycle_anchor`, `subscription_cancel_now`,
`subscription_cancel_at_period_end`). Nothing is stored: `create_preview` ids are
`upcoming_in_...`, `upcoming` has no `id` (the legacy schema forbids null); line ids are
`il_tmp_...`. With only a `customer`, the customer's first live subscription is previewed,
else its pending invoice items; nothing to preview -> 404 `invoice_upcoming_none`
`No upcoming invoices for customer: cus_x`.
Item changes show their prorations (`proration_behavior`, `proration_date`; billing/preview.py).
LIMITATIONS: see billing/preview.py.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response

from .. import clock
from ..billing.preview import Changes, preview, preview_pending
from ..billing.state import state
from ..domain import versions
from ..domain.customers import get_customer
from ..domain.invoices import Invoice
from ..domain.subscriptions import (
    Subscription,
    check_compatible,
    check_item_price,
    get_subscription,
)
from ..errors import StripeError, UnrecognizedURL, invalid_value, missing_param
from ..store import Namespace
from ..wire import pipeline as p
from ..wire.params import LIST_PARAMS, Bool, Enum, Int, List, Metadata, Obj, Param, Str
from ..wire.render import expand, json_response, render_one
from .invoices import lines_response

invoice_preview = Blueprint("invoice_preview", __name__)

ITEM = Obj(
    nullable=False,
    fields={
        "id": Str(),
        "price": Str(),
        "quantity": Int(min=0),
        "deleted": Bool(),
        "clear_usage": Bool(),
        "metadata": Metadata(),
        "billing_thresholds": Obj(fields={"usage_gte": Int(min=1)}),
    },
)
PRORATION = Enum(values=("always_invoice", "create_prorations", "none"))


DETAILS = Obj(
    fields={
        "items": List(item=ITEM, max_items=20),
        "billing_cycle_anchor": Str(),
        "cancel_now": Bool(),
        "cancel_at_period_end": Bool(),
        "proration_behavior": PRORATION,
        "proration_date": Int(),
    }
)
CREATE_PREVIEW: dict[str, Param] = {
    "customer": Str(),
    "subscription": Str(),
    "subscription_details": DETAILS,
    "preview_mode": Enum(values=("next", "recurring")),
}
UPCOMING: dict[str, Param] = {
    "customer": Str(),
    "subscription": Str(),
    "subscription_items": List(item=ITEM, max_items=20),
    "subscription_billing_cycle_anchor": Str(),
    "subscription_cancel_now": Bool(),
    "subscription_cancel_at_period_end": Bool(),
    "subscription_proration_behavior": PRORATION,
    "subscription_proration_date": Int(),
    "subscription_details": DETAILS,
}
UPCOMING_LINES = {**UPCOMING, **LIST_PARAMS}


def _none(customer: str) -> StripeError:
    return StripeError(
        f"No upcoming invoices for customer: {customer}",
        status=404,
        code="invoice_upcoming_none",
    )


def _validate_items(
    ns: Namespace, sub: Subscription, specs: list[dict[str, Any]], base: str
) -> None:
    version = p.api_version()
    prices = {it.id: ns.prices[it.price] for it in sub.items(ns)}
    added = []
    for i, spec in enumerate(specs):
        name = f"{base}[{i}]"
        iid = spec.get("id")
        if iid is not None and iid not in prices:
            raise invalid_value(
                f"{name}[id]",
                f"Subscription item {iid} does not exist or is not on subscription {sub.id}",
            )
        if iid is not None and spec.get("deleted"):
            del prices[iid]
            continue
        if spec.get("price") is not None:
            price = check_item_price(ns, spec["price"], spec.get("quantity"), version, name)
            if iid is None:
                added.append(price)
            else:
                prices[iid] = price
        elif iid is None:
            raise missing_param(f"{name}[price]")
    if prices or added:
        check_compatible([*prices.values(), *added], base)


def _target(ns: Namespace, prm: dict[str, Any]) -> tuple[str, Subscription | None]:
    if prm.get("subscription") is not None:
        sub = get_subscription(ns, prm["subscription"], param="subscription", in_path=False)
        return sub.customer, sub
    if prm.get("customer") is None:
        raise missing_param("customer")
    cust = get_customer(ns, prm["customer"], param="customer", in_path=False)
    for sid in state(ns).customer_subs.get(cust.id, []):
        sub = ns.subscriptions[sid]
        if sub.status != "canceled":
            return cust.id, sub
    return cust.id, None


def _build(ns: Namespace, prm: dict[str, Any], changes: Changes, base: str) -> Invoice:
    customer, sub = _target(ns, prm)
    now = clock.customer_now(ns, customer)
    if sub is None or sub.status == "canceled":
        inv = preview_pending(ns, customer, now) if sub is None else None
        if inv is None:
            raise _none(customer)
        return inv
    if changes.items:
        _validate_items(ns, sub, changes.items, base)
    return preview(ns, sub, now, changes)


def _anchor(value: Any, name: str) -> bool:
    if value in (None, "unchanged"):
        return False
    if value == "now":
        return True
    raise invalid_value(name, f"Invalid {name}: must be `now` or `unchanged`.")


@invoice_preview.post("/v1/invoices/create_preview")
def create_preview() -> Response:
    """Preview the next invoice of a subscription (or of a customer's pending items)."""
    ns = p.ns()
    prm = p.params(CREATE_PREVIEW)
    det = prm.get("subscription_details") or {}
    changes = Changes(
        items=det.get("items") or [],
        anchor_now=_anchor(
            det.get("billing_cycle_anchor"), "subscription_details[billing_cycle_anchor]"
        ),
        cancel_now=bool(det.get("cancel_now")),
        cancel_at_period_end=det.get("cancel_at_period_end"),
        include_pending=prm.get("preview_mode") != "recurring",
        proration_behavior=det.get("proration_behavior"),
        proration_date=det.get("proration_date"),
    )
    inv = _build(ns, prm, changes, "subscription_details[items]")
    return render_one(inv, p.ctx(), prm.get("expand"))


def _upcoming_changes(prm: dict[str, Any]) -> Changes:
    det = prm.get("subscription_details") or {}
    anchor = prm.get("subscription_billing_cycle_anchor", det.get("billing_cycle_anchor"))
    cape = prm.get("subscription_cancel_at_period_end", det.get("cancel_at_period_end"))
    return Changes(
        items=prm.get("subscription_items") or det.get("items") or [],
        anchor_now=_anchor(anchor, "subscription_billing_cycle_anchor"),
        cancel_now=bool(prm.get("subscription_cancel_now", det.get("cancel_now"))),
        cancel_at_period_end=cape,
        proration_behavior=prm.get(
            "subscription_proration_behavior", det.get("proration_behavior")
        ),
        proration_date=prm.get("subscription_proration_date", det.get("proration_date")),
        proration_param=(
            "subscription_proration_date"
            if "subscription_proration_date" in prm
            else "subscription_details[proration_date]"
        ),
    )


def _upcoming(spec: dict[str, Param]) -> tuple[Invoice, dict[str, Any]]:
    if not versions.has_upcoming_invoice(p.api_version()):
        raise UnrecognizedURL("GET", "/v1/invoices/upcoming")
    ns = p.ns()
    prm = p.params(spec)
    base = "subscription_items" if prm.get("subscription_items") else "subscription_details[items]"
    return _build(ns, prm, _upcoming_changes(prm), base), prm


@invoice_preview.get("/v1/invoices/upcoming")
def upcoming_invoice() -> Response:
    """The upcoming invoice (up to acacia): like create_preview, with `id: null`."""
    inv, prm = _upcoming(UPCOMING)
    ctx = p.ctx()
    body = inv.render(ctx)
    del body["id"]  # Stripe's upcoming invoice has no id (optional in the legacy schema)
    body["lines"]["url"] = "/v1/invoices/upcoming/lines"
    for line in body["lines"]["data"]:
        line["invoice"] = None
    return json_response(expand(body, prm.get("expand") or (), ctx))


@invoice_preview.get("/v1/invoices/upcoming/lines")
def upcoming_invoice_lines() -> Response:
    """The upcoming invoice's lines (up to acacia), paginated."""
    inv, prm = _upcoming(UPCOMING_LINES)
    return lines_response(inv, prm, "/v1/invoices/upcoming/lines")
