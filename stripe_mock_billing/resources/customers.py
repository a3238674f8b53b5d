"""Customers: `/v1/customers` create, retrieve, update, list, delete.

Emulated: the fields billing integrations read, `metadata`, `test_clock` (accepted on create only,
as Stripe does), deleted customers retrieving as `{"deleted": true}` stubs, and list filters
`email` and `test_clock`. As Stripe documents, the unfiltered list omits customers on a test clock.
`payment_method` and `invoice_settings[default_payment_method]`: billing/payments.py.
LIMITATIONS: no payment sources, tax ids, cash balance or search.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response

from .. import clock, ids
from ..billing import engine, payments
from ..domain.customers import Customer, get_customer
from ..errors import InvalidRequest, ResourceMissing
from ..shapes import deleted_stub
from ..store import Namespace
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


def _check_payment_methods(ns: Namespace, prm: dict[str, Any], cust: Customer | None) -> None:
    """Checks of the payment method parameters, before the customer is written."""
    given = prm.get("payment_method")
    wanted = (prm.get("invoice_settings") or {}).get("default_payment_method")
    for name, value in (
        ("payment_method", given),
        ("invoice_settings[default_payment_method]", wanted),
    ):
        if not value:
            continue
        if payments.is_test_id(value):
            payments.check_attachable(value)
            continue
        pm = ns.payment_methods.get(value)
        if pm is None:
            raise ResourceMissing("PaymentMethod", value, param=name, in_path=False)
        if name == "payment_method":
            if pm.customer is not None and (cust is None or pm.customer != cust.id):
                raise InvalidRequest(
                    "The payment method you provided has already been attached to a customer.",
                    code="payment_method_unexpected_state",
                    param=name,
                )
            if pm.customer is None and pm.card.attach is not None:
                raise pm.card.attach.error()  # declined at attach: before anything is written
        elif value != given and (cust is None or pm.customer != cust.id):
            raise InvalidRequest(
                f"The customer does not have a payment method with the ID {value}. The payment "
                "method must be attached to the customer.",
                code="resource_missing",
                param=name,
            )


def _payment_methods(ns: Namespace, cust: Customer, prm: dict[str, Any]) -> None:
    """`payment_method` attaches one (a test id makes a new `pm_...`);
    `invoice_settings[default_payment_method]` must name one of the customer's (a test id is
    attached first, (unverified))."""
    now = clock.customer_now(ns, cust.id)
    attached: dict[str, str] = {}
    if prm.get("payment_method"):
        pm = payments.attach(ns, prm["payment_method"], cust, now, param="payment_method")
        attached[prm["payment_method"]] = pm.id
    settings = prm.get("invoice_settings") or {}
    wanted = settings.get("default_payment_method")
    if wanted:
        cust.default_payment_method = attached.get(wanted) or payments.for_customer(
            ns, cust, wanted, now, param="invoice_settings[default_payment_method]"
        )
    elif "default_payment_method" in settings:
        cust.default_payment_method = None


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
        invoice_prefix=ids.id_tail(8).upper(),
    )
    _apply(cust, prm)
    paying = "payment_method" in prm or "invoice_settings" in prm
    if paying:
        _check_payment_methods(ns, prm, None)
    ns.customers[cid] = cust
    event = engine.customer_created(ns, cust)
    if paying:
        _payment_methods(ns, cust, prm)
    expand = prm.get("expand")
    body = event.data_object
    if (
        type(body) is dict  # rendered at the account's version only (no endpoint pinned elsewhere)
        and not expand
        and not paying  # nothing changed the customer since
        and p.api_version() == ns.settings.api_version
    ):
        # the customer as `customer.created` shows it, rendered once (events copy their bodies
        # when read, so the two never share a later change)
        return json_response(body)
    return render_one(cust, p.ctx(), expand)


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
    _check_payment_methods(ns, prm, cust)
    before = engine.snapshot(ns, cust)
    _apply(cust, prm)
    _payment_methods(ns, cust, prm)
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
        and (prm.get("created") is None or c.created == prm["created"])
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
