"""Customers: `/v1/customers` create, retrieve, update, list, delete.

Emulated: the fields billing integrations read, `metadata`, `test_clock` (accepted on create only,
as Stripe does), deleted customers retrieving as `{"deleted": true}` stubs, and list filters
`email` and `test_clock`. As Stripe documents, the unfiltered list omits customers on a test clock.
LIMITATIONS: no payment sources, tax ids, cash balance or search.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response

from .. import clock, ids
from ..billing import engine
from ..domain.customers import Customer, get_customer
from ..errors import ResourceMissing
from ..shapes import deleted_stub
from ..wire import pipeline as p
from ..wire.params import LIST_PARAMS, Int, List, Metadata, Obj, Str, apply_metadata
from ..wire.render import json_response, render_list, render_one

customers = Blueprint("customers", __name__)


ADDRESS = Obj(
    fields={k: Str() for k in ("city", "country", "line1", "line2", "postal_code", "state")}
)
FIELDS = {
    "name": Str(max_length=256),
    "email": Str(max_length=512),
    "description": Str(max_length=350),
    "phone": Str(max_length=20),
    "address": ADDRESS,
    "balance": Int(),
    "invoice_prefix": Str(max_length=12),
    "preferred_locales": List(item=Str()),
    "metadata": Metadata(),
    "payment_method": Str(),
    "invoice_settings": Obj(fields={"default_payment_method": Str()}),
}
CREATE = {**FIELDS, "test_clock": Str()}
UPDATE = dict(FIELDS)
LIST = {**LIST_PARAMS, "email": Str(max_length=512), "test_clock": Str(), "created": Int()}
DELETE: dict[str, Any] = {}
RETRIEVE: dict[str, Any] = {}


def _apply(cust: Customer, prm: dict[str, Any]) -> None:
    for name in ("name", "email", "description", "phone", "address"):
        if name in prm:
            setattr(cust, name, prm[name])
    if "balance" in prm:
        cust.balance = prm["balance"] or 0
    if prm.get("invoice_prefix"):
        cust.invoice_prefix = prm["invoice_prefix"]
    if "preferred_locales" in prm:
        cust.preferred_locales = prm["preferred_locales"] or []
    if "metadata" in prm:
        cust.metadata = apply_metadata(cust.metadata, prm["metadata"])
    if prm.get("payment_method"):
        cust.default_payment_method = prm["payment_method"]
    settings = prm.get("invoice_settings") or {}
    if "default_payment_method" in settings:
        cust.default_payment_method = settings["default_payment_method"]


@customers.post("/v1/customers")
def create_customer() -> Response:
    """Create a customer, optionally on a test clock."""
    ns = p.ns()
    prm = p.params(CREATE)
    clock_id = prm.get("test_clock")
    if clock_id is not None and clock_id not in ns.test_clocks:
        raise ResourceMissing("billingclock", clock_id, param="test_clock", in_path=False)
    if clock_id is not None:
        engine.customer_joining_clock(ns, clock_id)
    cid = ids.new_id("customer")
    created = clock.wall_now(ns) if clock_id is None else ns.test_clocks[clock_id].frozen_time
    cust = Customer(
        id=cid,
        created=created,
        test_clock=clock_id,
        invoice_prefix=ids.random_tail(8).upper(),
    )
    _apply(cust, prm)
    ns.customers[cid] = cust
    engine.customer_created(ns, cust)
    return render_one(cust, p.ctx(), prm.get("expand"))


@customers.get("/v1/customers/<cid>")
def retrieve_customer(cid: str) -> Response:
    """Retrieve a customer; a deleted one answers with its stub."""
    prm = p.params(RETRIEVE)
    return render_one(get_customer(p.ns(), cid), p.ctx(), prm.get("expand"))


@customers.post("/v1/customers/<cid>")
def update_customer(cid: str) -> Response:
    """Update a customer (`test_clock` is not updatable: Stripe says unknown parameter)."""
    ns = p.ns()
    cust = get_customer(ns, cid)
    prm = p.params(UPDATE)
    if cust.deleted:
        raise ResourceMissing("customer", cid)
    before = engine.snapshot(ns, cust)
    _apply(cust, prm)
    engine.customer_updated(ns, cust, before)
    return render_one(cust, p.ctx(), prm.get("expand"))


@customers.get("/v1/customers")
def list_customers() -> Response:
    """List customers, newest first; clock customers only with the `test_clock` filter."""
    ns = p.ns()
    prm = p.params(LIST)
    clock_id = prm.get("test_clock")
    objs = [
        c
        for c in reversed(ns.customers.values())
        if not c.deleted
        and c.test_clock == clock_id
        and (prm.get("email") is None or c.email == prm["email"])
    ]
    return render_list(objs, prm, p.ctx(), url="/v1/customers", noun="customer")


@customers.delete("/v1/customers/<cid>")
def delete_customer(cid: str) -> Response:
    """Delete a customer; its subscriptions are canceled immediately."""
    ns = p.ns()
    cust = get_customer(ns, cid)
    p.params(DELETE)
    if cust.deleted:
        raise ResourceMissing("customer", cid)
    engine.customer_deleted(ns, cust)
    cust.deleted = True
    return json_response(deleted_stub(cid, "customer"))
