"""PaymentMethods (cards): create from a token, retrieve, update, attach, detach, list.

Test ids (`pm_card_visa`, `pm_card_chargeCustomerFail`, `tok_visa`, ...) become real `pm_...`
objects when attached (billing/payments.py); the `*chargeDeclined*` family fails at attach with
its 402 `card_error`. `POST /v1/payment_methods` takes `type=card` with `card[token]=tok_*`.
`GET /v1/customers/{customer}/payment_methods[/{id}]` list / retrieve a customer's cards.
LIMITATIONS: cards only; raw card numbers are refused (as Stripe refuses them without special
permission); retrieving a test id directly answers `No such PaymentMethod` (unverified).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response

from .. import clock
from ..billing import payments
from ..domain.customers import get_customer
from ..domain.events import diff, emit, snapshot
from ..domain.payment_methods import PaymentMethod, get_payment_method
from ..errors import ResourceMissing, missing_param
from ..wire import pipeline as p
from ..wire.params import LIST_PARAMS, Enum, Metadata, Obj, Str, apply_metadata
from ..wire.render import render_list, render_one

payment_methods = Blueprint("payment_methods", __name__)

BILLING = Obj(fields={"name": Str(), "email": Str()})
CREATE = {
    "type": Enum(values=("card",)),
    "card": Obj(fields={"token": Str()}),
    "billing_details": BILLING,
    "metadata": Metadata(),
}
UPDATE = {"billing_details": BILLING, "metadata": Metadata()}
ATTACH = {"customer": Str(required=True, nullable=False)}
LIST = {**LIST_PARAMS, "customer": Str(), "type": Enum(values=("card",))}
CUSTOMER_LIST = {**LIST_PARAMS, "type": Enum(values=("card",))}


def _apply(pm: PaymentMethod, prm: dict[str, Any]) -> None:
    if "metadata" in prm:
        pm.metadata = apply_metadata(pm.metadata, prm["metadata"])
    billing = prm.get("billing_details") or {}
    if "name" in billing:
        pm.billing_name = billing["name"]
    if "email" in billing:
        pm.billing_email = billing["email"]


@payment_methods.post("/v1/payment_methods")
def create_payment_method() -> Response:
    """A card PaymentMethod from a test token (`card[token]=tok_visa`), not attached."""
    ns = p.ns()
    prm = p.params(CREATE)
    if prm.get("type") is None:
        raise missing_param("type")
    token = (prm.get("card") or {}).get("token")
    if token is None:
        raise missing_param("card[token]")
    if not token.startswith("tok_") or not payments.is_test_id(token):
        raise ResourceMissing("token", token, param="card[token]", in_path=False)
    pm = payments.create_from_test_id(ns, token, clock.wall_now(ns), param="card[token]")
    _apply(pm, prm)
    return render_one(pm, p.ctx(), prm.get("expand"))


@payment_methods.get("/v1/payment_methods/<pid>")
def retrieve_payment_method(pid: str) -> Response:
    """Retrieve a payment method."""
    prm = p.params({})
    return render_one(get_payment_method(p.ns(), pid), p.ctx(), prm.get("expand"))


@payment_methods.post("/v1/payment_methods/<pid>")
def update_payment_method(pid: str) -> Response:
    """Update metadata and billing details (`payment_method.updated`)."""
    ns = p.ns()
    pm = get_payment_method(ns, pid)
    prm = p.params(UPDATE)
    before = snapshot(ns, pm)
    _apply(pm, prm)
    after = snapshot(ns, pm)
    prev = diff(before, after)
    if prev:
        now = clock.customer_now(ns, pm.customer) if pm.customer else clock.wall_now(ns)
        emit(ns, "payment_method.updated", after, created=now, previous=prev)
    return render_one(pm, p.ctx(), prm.get("expand"))


@payment_methods.post("/v1/payment_methods/<pid>/attach")
def attach_payment_method(pid: str) -> Response:
    """Attach to a customer; a test id makes a new `pm_...` (declining cards fail with 402)."""
    ns = p.ns()
    prm = p.params(ATTACH)
    if not payments.is_test_id(pid):
        get_payment_method(ns, pid)
    cust = get_customer(ns, prm["customer"], param="customer", in_path=False)
    pm = payments.attach(ns, pid, cust, clock.customer_now(ns, cust.id), param="payment_method")
    return render_one(pm, p.ctx(), prm.get("expand"))


@payment_methods.post("/v1/payment_methods/<pid>/detach")
def detach_payment_method(pid: str) -> Response:
    """Detach from its customer (defaults naming it are cleared)."""
    ns = p.ns()
    pm = get_payment_method(ns, pid)
    prm = p.params({})
    now = clock.customer_now(ns, pm.customer) if pm.customer else clock.wall_now(ns)
    payments.detach(ns, pm, now)
    return render_one(pm, p.ctx(), prm.get("expand"))


@payment_methods.get("/v1/payment_methods")
def list_payment_methods() -> Response:
    """A customer's payment methods, newest first (`customer` filter; Stripe requires it for
    listing attached ones)."""
    ns = p.ns()
    prm = p.params(LIST)
    cid = prm.get("customer")
    if cid is not None:
        get_customer(ns, cid, param="customer", in_path=False)
    objs = [
        pm
        for pm in reversed(ns.payment_methods.values())
        if pm.customer is not None and (cid is None or pm.customer == cid)
    ]
    return render_list(objs, prm, p.ctx(), url="/v1/payment_methods", noun="payment_method")


@payment_methods.get("/v1/customers/<cid>/payment_methods")
def list_customer_payment_methods(cid: str) -> Response:
    """The customer's payment methods, newest first."""
    ns = p.ns()
    cust = get_customer(ns, cid, param="customer")
    prm = p.params(CUSTOMER_LIST)
    objs = [pm for pm in reversed(ns.payment_methods.values()) if pm.customer == cust.id]
    url = f"/v1/customers/{cid}/payment_methods"
    return render_list(objs, prm, p.ctx(), url=url, noun="payment_method")


@payment_methods.get("/v1/customers/<cid>/payment_methods/<pid>")
def retrieve_customer_payment_method(cid: str, pid: str) -> Response:
    """One of the customer's payment methods."""
    ns = p.ns()
    cust = get_customer(ns, cid, param="customer")
    prm = p.params({})
    pm = ns.payment_methods.get(pid)
    if pm is None or pm.customer != cust.id:
        raise ResourceMissing("PaymentMethod", pid, param="payment_method")
    return render_one(pm, p.ctx(), prm.get("expand"))
