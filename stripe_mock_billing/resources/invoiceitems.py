"""Invoice items: `/v1/invoiceitems` create, retrieve, update, list, delete.

A pending invoice item (no `invoice`) is pulled into the customer's next invoice (the next cycle
or subscription invoice; an item with `subscription` only into that subscription's invoices).
`invoice=in_...` adds it to an existing draft instead. Amount: `amount`, or `price` x `quantity`,
or `unit_amount_decimal` x `quantity`.
Update (pending items and items on a draft invoice; its line follows): `amount`, or `quantity` /
`unit_amount_decimal` (amount = unit x quantity), `description`, `metadata`, `period`; emits
`invoiceitem.updated` with `previous_attributes`. An item on a finalized invoice is refused
(400, text unverified).
LIMITATIONS: no `price_data`, discounts or tax rates; `currency` defaults to the price's
(required with `amount`); `price` cannot be changed by an update.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import Blueprint, Response

from .. import clock, ids
from ..billing import engine
from ..billing.rating import round_minor_units
from ..domain import events as event_log
from ..domain.customers import get_customer
from ..domain.invoiceitems import InvoiceItem, get_invoiceitem, refresh_line
from ..domain.prices import get_price
from ..errors import InvalidRequest, ResourceMissing, exclusive_params, missing_param
from ..shapes import deleted_stub
from ..store import Namespace
from ..wire import pipeline as p
from ..wire.params import LIST_PARAMS, Bool, DecimalStr, Int, Metadata, Obj, Str, apply_metadata
from ..wire.render import json_response, render_list, render_one

invoiceitems = Blueprint("invoiceitems", __name__)


CREATE = {
    "customer": Str(required=True, nullable=False),
    "amount": Int(),
    "currency": Str(),
    "description": Str(max_length=5000),
    "price": Str(),
    "quantity": Int(min=0),
    "unit_amount_decimal": DecimalStr(),
    "period": Obj(
        fields={
            "start": Int(required=True, nullable=False),
            "end": Int(required=True, nullable=False),
        }
    ),
    "invoice": Str(),
    "subscription": Str(),
    "metadata": Metadata(),
}
LIST = {**LIST_PARAMS, "customer": Str(), "invoice": Str(), "pending": Bool(), "created": Int()}
UPDATE = {
    name: CREATE[name]
    for name in (
        "amount",
        "description",
        "quantity",
        "unit_amount_decimal",
        "period",
        "metadata",
    )
}


def _amount(ns: Namespace, prm: dict[str, Any]) -> tuple[int, str | None, Decimal | None, int]:
    """(amount, currency, unit amount, quantity) from the create params."""
    qty = prm.get("quantity")
    qty = 1 if qty is None else qty
    if prm.get("price") is not None:
        price = get_price(ns, prm["price"], param="price", in_path=False)
        unit = price.rating.unit_amount_decimal or Decimal(0)
        return round_minor_units(unit * qty), price.currency, unit, qty
    if prm.get("unit_amount_decimal") is not None:
        unit = prm["unit_amount_decimal"]
        return round_minor_units(unit * qty), prm.get("currency"), unit, qty
    if prm.get("amount") is None:
        raise missing_param("amount")
    amount = prm["amount"]
    unit_int = Decimal(amount // qty) if qty and amount % qty == 0 else None
    return amount, prm.get("currency"), unit_int, qty


@invoiceitems.post("/v1/invoiceitems")
def create_invoiceitem() -> Response:
    """Create an invoice item: pending, or on a given draft invoice."""
    ns = p.ns()
    prm = p.params(CREATE)
    cust = get_customer(ns, prm["customer"], param="customer", in_path=False)
    amount, currency, unit, qty = _amount(ns, prm)
    if not currency:
        raise missing_param("currency")
    inv = None
    if prm.get("invoice") is not None:
        inv = ns.invoices.get(prm["invoice"])
        if inv is None:
            raise ResourceMissing("invoice", prm["invoice"], param="invoice", in_path=False)
        if inv.status != "draft" or inv.customer != cust.id:
            # (unverified text)
            raise InvalidRequest(
                "Invoice items can only be added to draft invoices of the same customer.",
                param="invoice",
            )
    if prm.get("subscription") is not None:
        sub = ns.subscriptions.get(prm["subscription"])
        if sub is None or sub.customer != cust.id:
            raise ResourceMissing(
                "subscription", prm["subscription"], param="subscription", in_path=False
            )
    now = clock.customer_now(ns, cust.id)
    period = prm.get("period") or {"start": now, "end": now}
    ii = InvoiceItem(
        id=ids.new_id("invoiceitem"),
        customer=cust.id,
        amount=amount,
        currency=currency.lower(),
        date=now,
        period_start=period["start"],
        period_end=period["end"],
        quantity=qty,
        unit_amount_decimal=unit,
        price=prm.get("price"),
        description=prm.get("description"),
        subscription=prm.get("subscription"),
        test_clock=cust.test_clock,
        metadata=apply_metadata({}, prm.get("metadata") or {}),
    )
    ns.invoiceitems[ii.id] = ii
    engine.invoiceitem_created(ns, ii, inv, now)
    return render_one(ii, p.ctx(), prm.get("expand"))


@invoiceitems.get("/v1/invoiceitems/<iid>")
def retrieve_invoiceitem(iid: str) -> Response:
    """Retrieve an invoice item."""
    prm = p.params({})
    return render_one(get_invoiceitem(p.ns(), iid), p.ctx(), prm.get("expand"))


@invoiceitems.get("/v1/invoiceitems")
def list_invoiceitems() -> Response:
    """List invoice items, newest first (test-clock items only with a filter)."""
    ns = p.ns()
    prm = p.params(LIST)
    filtered = prm.get("customer") is not None or prm.get("invoice") is not None

    def keep(ii: InvoiceItem) -> bool:
        if ii.deleted or (ii.test_clock is not None and not filtered):
            return False
        if prm.get("customer") is not None and ii.customer != prm["customer"]:
            return False
        if prm.get("invoice") is not None and ii.invoice != prm["invoice"]:
            return False
        if prm.get("created") is not None and ii.date != prm["created"]:
            return False  # an invoice item's `date` is its creation time
        return prm.get("pending") is None or (ii.invoice is None) == prm["pending"]

    objs = [ii for ii in reversed(ns.invoiceitems.values()) if keep(ii)]
    return render_list(objs, prm, p.ctx(), url="/v1/invoiceitems", noun="invoiceitem")


@invoiceitems.post("/v1/invoiceitems/<iid>")
def update_invoiceitem(iid: str) -> Response:
    """Update a pending item or one on a draft invoice (`invoiceitem.updated`)."""
    ns = p.ns()
    ii = get_invoiceitem(ns, iid)
    prm = p.params(UPDATE)
    inv = ns.invoices.get(ii.invoice) if ii.invoice else None
    if inv is not None and inv.status != "draft":
        # (unverified text)
        raise InvalidRequest(
            "You can't update an invoice item that is attached to a finalized invoice.",
        )
    if prm.get("amount") is not None and (
        prm.get("quantity") is not None or prm.get("unit_amount_decimal") is not None
    ):
        raise exclusive_params(["amount", "unit_amount_decimal"])
    before = event_log.snapshot(ns, ii)
    if prm.get("quantity") is not None or prm.get("unit_amount_decimal") is not None:
        qty = prm["quantity"] if prm.get("quantity") is not None else ii.quantity
        unit = prm.get("unit_amount_decimal")
        if unit is None:
            unit = ii.unit_amount_decimal
        if unit is None:  # an `amount` item without a whole unit amount
            unit = Decimal(ii.amount) / ii.quantity if ii.quantity else Decimal(ii.amount)
        ii.quantity, ii.unit_amount_decimal = qty, unit
        ii.amount = round_minor_units(unit * qty)
    elif prm.get("amount") is not None:
        ii.amount = prm["amount"]
        ii.unit_amount_decimal = (
            Decimal(ii.amount // ii.quantity)
            if ii.quantity and ii.amount % ii.quantity == 0
            else None
        )
    if "description" in prm:
        ii.description = prm["description"]
    if prm.get("period") is not None:
        ii.period_start, ii.period_end = prm["period"]["start"], prm["period"]["end"]
    if "metadata" in prm:
        ii.metadata = apply_metadata(ii.metadata, prm["metadata"])
    refresh_line(ns, ii)
    after = event_log.snapshot(ns, ii)
    previous = event_log.diff(before, after)
    if previous:
        now = clock.customer_now(ns, ii.customer)
        event_log.emit(ns, "invoiceitem.updated", after, created=now, previous=previous)
    return render_one(ii, p.ctx(), prm.get("expand"))


@invoiceitems.delete("/v1/invoiceitems/<iid>")
def delete_invoiceitem(iid: str) -> Response:
    """Delete a pending invoice item (or one on a draft invoice)."""
    ns = p.ns()
    ii = get_invoiceitem(ns, iid)
    p.params({})
    engine.invoiceitem_deleted(ns, ii, clock.customer_now(ns, ii.customer))
    return json_response(deleted_stub(iid, "invoiceitem"))
