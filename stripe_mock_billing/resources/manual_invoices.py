"""One-off invoices: `POST /v1/invoices` (create), `POST /v1/invoices/{id}` (update),
`DELETE /v1/invoices/{id}` (delete a one-off draft).

Create: `customer`, `collection_method`, `days_until_due` / `due_date` (send_invoice only; due
`days_until_due` days after creation, as the OpenAPI says; 30 when neither is given
(unverified)), `auto_advance` (default false; true finalizes after the account's grace, 1 h),
`pending_invoice_items_behavior` (`exclude` by default, `include` pulls the customer's pending
items, only the subscription's with `subscription`), `subscription`, `currency`, `description`,
`metadata`, `default_payment_method`. Update: a draft takes every field above except customer,
subscription and currency; an open or uncollectible invoice only `description`, `metadata`,
`auto_advance` and `default_payment_method`; a paid or void one only `description` and
`metadata`. Error texts for the wrong states are (unverified).
LIMITATIONS: no footer, custom fields, tax, discounts, rendering or shipping parameters (they
are refused as unknown parameters).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response

from .. import clock
from ..billing import engine, manual_invoices, payments
from ..domain.customers import get_customer
from ..domain.events import diff, emit, snapshot
from ..domain.invoices import Invoice
from ..errors import InvalidRequest, ResourceMissing, exclusive_params, invalid_value
from ..shapes import deleted_stub
from ..store import Namespace
from ..wire import pipeline as p
from ..wire.params import Bool, Enum, Int, Metadata, Str, Timestamp, apply_metadata
from ..wire.render import json_response, render_one
from .invoices import get_invoice

manual_invoices_bp = Blueprint("manual_invoices", __name__)

DAY = 86_400
DEFAULT_DAYS_UNTIL_DUE = 30
FIELDS = {
    "collection_method": Enum(values=("charge_automatically", "send_invoice")),
    "days_until_due": Int(min=0, max=10_000),
    "due_date": Timestamp(allow_now=False),
    "auto_advance": Bool(),
    "description": Str(max_length=1500),
    "metadata": Metadata(),
    "default_payment_method": Str(),
}
CREATE = {
    **FIELDS,
    "customer": Str(required=True, nullable=False),
    "subscription": Str(),
    "currency": Str(),
    "pending_invoice_items_behavior": Enum(values=("exclude", "include")),
}
UPDATE = dict(FIELDS)
# what a finalized invoice still accepts, by status
FINALIZED_FIELDS = {
    "open": {"description", "metadata", "auto_advance", "default_payment_method"},
    "uncollectible": {"description", "metadata", "auto_advance", "default_payment_method"},
    "paid": {"description", "metadata"},
    "void": {"description", "metadata"},
}


def _check_due(prm: dict[str, Any], method: str) -> None:
    """`days_until_due` / `due_date`: send_invoice only, one of them."""
    if prm.get("days_until_due") is not None and prm.get("due_date") is not None:
        raise exclusive_params(["days_until_due", "due_date"])
    for name in ("days_until_due", "due_date"):
        if prm.get(name) is not None and method != "send_invoice":
            raise invalid_value(
                name,
                f"Invalid {name}: {name} can only be set when collection_method is send_invoice.",
            )


def _due_date(prm: dict[str, Any], created: int, method: str) -> int | None:
    if method != "send_invoice":
        return None
    if prm.get("due_date") is not None:
        due: int = prm["due_date"]
        return due
    days = prm.get("days_until_due")
    return created + (DEFAULT_DAYS_UNTIL_DUE if days is None else days) * DAY


@manual_invoices_bp.post("/v1/invoices")
def create_invoice() -> Response:
    """Create a draft invoice for a customer."""
    ns = p.ns()
    prm = p.params(CREATE)
    cust = get_customer(ns, prm["customer"], param="customer", in_path=False)
    method = prm.get("collection_method") or "charge_automatically"
    _check_due(prm, method)
    sub = None
    if prm.get("subscription") is not None:
        sub = ns.subscriptions.get(prm["subscription"])
        if sub is None or sub.customer != cust.id:
            raise ResourceMissing(
                "subscription", prm["subscription"], param="subscription", in_path=False
            )
    now = clock.customer_now(ns, cust.id)
    pm_id = None
    if prm.get("default_payment_method"):
        pm_id = payments.for_customer(
            ns, cust, prm["default_payment_method"], now, param="default_payment_method"
        )
    fields: dict[str, Any] = {
        "collection_method": method,
        "days_until_due": prm.get("days_until_due"),
        "due_date": _due_date(prm, now, method),
        "auto_advance": bool(prm.get("auto_advance")),
        "description": prm.get("description"),
        "metadata": apply_metadata({}, prm.get("metadata") or {}),
        "default_payment_method": pm_id,
    }
    inv = manual_invoices.create(
        ns,
        cust,
        now,
        currency=(prm.get("currency") or "").lower() or None,
        sub=sub,
        include_pending=prm.get("pending_invoice_items_behavior") == "include",
        fields=fields,
    )
    engine.invoice_changed(ns, inv)
    return render_one(inv, p.ctx(), prm.get("expand"))


def _check_update(inv: Invoice, prm: dict[str, Any]) -> None:
    if inv.status == "draft":
        _check_due(prm, prm.get("collection_method") or inv.collection_method)
        return
    allowed = FINALIZED_FIELDS.get(inv.status, set())
    for name in prm:
        if name != "expand" and name not in allowed:
            raise InvalidRequest(
                f"You can't update `{name}` on an invoice with status {inv.status}; only "
                f"{', '.join(f'`{a}`' for a in sorted(allowed))} can be updated.",
                param=name,
            )


def _apply(ns: Namespace, inv: Invoice, prm: dict[str, Any], now: int) -> None:
    if "description" in prm:
        inv.description = prm["description"]
    if "metadata" in prm:
        inv.metadata = apply_metadata(inv.metadata, prm["metadata"])
    if "default_payment_method" in prm:
        pm = prm["default_payment_method"]
        cust = ns.customers[inv.customer]
        inv.default_payment_method = (
            payments.for_customer(ns, cust, pm, now, param="default_payment_method") if pm else None
        )
    if inv.status == "draft":
        if prm.get("collection_method"):
            inv.collection_method = prm["collection_method"]
        if inv.collection_method != "send_invoice":
            inv.days_until_due = inv.due_date = None
        elif prm.get("due_date") is not None:
            inv.due_date, inv.days_until_due = prm["due_date"], None
        elif prm.get("days_until_due") is not None or inv.due_date is None:
            inv.days_until_due = prm.get("days_until_due", inv.days_until_due)
            days = inv.days_until_due
            inv.due_date = inv.created + (DEFAULT_DAYS_UNTIL_DUE if days is None else days) * DAY
    if prm.get("auto_advance") is not None and prm["auto_advance"] != inv.auto_advance:
        manual_invoices.set_auto_advance(ns, inv, prm["auto_advance"])


@manual_invoices_bp.post("/v1/invoices/<iid>")
def update_invoice(iid: str) -> Response:
    """Update an invoice: drafts freely, finalized invoices only a few fields."""
    ns = p.ns()
    inv = get_invoice(ns, iid)
    prm = p.params(UPDATE)
    _check_update(inv, prm)
    now = clock.customer_now(ns, inv.customer)
    before = snapshot(ns, inv)
    _apply(ns, inv, prm, now)
    after = snapshot(ns, inv)
    prev = diff(before, after)
    if prev:
        emit(ns, "invoice.updated", inv, created=now, previous=prev)
    engine.invoice_changed(ns, inv)
    return render_one(inv, p.ctx(), prm.get("expand"))


@manual_invoices_bp.delete("/v1/invoices/<iid>")
def delete_invoice(iid: str) -> Response:
    """Delete a one-off draft invoice (finalized or subscription invoices must be voided)."""
    ns = p.ns()
    inv = get_invoice(ns, iid)
    p.params({})
    if inv.status != "draft":
        raise InvalidRequest(
            f"You can't delete an invoice with status {inv.status}: only draft invoices can be "
            "deleted. Void it instead."
        )
    if inv.billing_reason != "manual":
        raise InvalidRequest(
            "You can't delete an invoice created by a subscription. Void it instead."
        )
    manual_invoices.delete_draft(ns, inv, clock.customer_now(ns, inv.customer))
    return json_response(deleted_stub(iid, "invoice"))
