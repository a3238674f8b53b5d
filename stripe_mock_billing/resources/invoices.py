"""Invoices: `/v1/invoices` retrieve, list, lines, finalize, pay, void, mark_uncollectible.

Invoices are created by the billing engine (subscription create, renewals, thresholds,
cancellation, anchor resets); previews live in invoice_preview.py. List filters: `customer`,
`subscription`, `status`, `collection_method`, `test_clock`, `created`; as Stripe documents, the
unfiltered list omits invoices of test-clock customers. A draft renders its metered lines with
the usage recorded so far (late usage lands on it until it is finalized).
Payment (no card networks): `pay` charges the customer's default payment method, which succeeds
unless it is one of Stripe's declining test payment methods (`pm_card_chargeCustomerFail`, ...)
or the customer has metadata `_mock_payment=fail`: then 402 `card_declined`, the invoice stays
open. `paid_out_of_band=true` marks it paid without a charge.
LIMITATIONS: no invoice create/update/delete/send or line editing endpoints; texts of the
transition errors are unverified except `Invoice is already paid`.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response

from .. import clock
from ..billing import dunning, engine, invoicing, payments
from ..domain.events import emit
from ..domain.invoices import Invoice
from ..domain.payment_methods import NO_PAYMENT_METHOD
from ..errors import InvalidRequest, ResourceMissing, exclusive_params
from ..shapes import list_body
from ..store import Namespace
from ..wire import pipeline as p
from ..wire.params import LIST_PARAMS, Bool, Enum, Str
from ..wire.render import expand, json_response, page, render_list, render_one
from .events import Range, in_range

invoices = Blueprint("invoices", __name__)

STATUSES = ("draft", "open", "paid", "uncollectible", "void")
LIST = {
    **LIST_PARAMS,
    "customer": Str(),
    "subscription": Str(),
    "status": Enum(values=STATUSES),
    "collection_method": Enum(values=("charge_automatically", "send_invoice")),
    "test_clock": Str(),
    "created": Range(),
    "due_date": Range(),
}
FINALIZE = {"auto_advance": Bool()}
PAY = {
    "paid_out_of_band": Bool(),
    "payment_method": Str(),
    "forgive": Bool(),
    "source": Str(),
    "mandate": Str(),
}


def get_invoice(ns: Namespace, iid: str) -> Invoice:
    """An invoice or Stripe's `No such invoice`."""
    inv = ns.invoices.get(iid)
    if inv is None:
        raise ResourceMissing("invoice", iid)
    return inv


def _now(ns: Namespace, inv: Invoice) -> int:
    return clock.customer_now(ns, inv.customer)


@invoices.get("/v1/invoices")
def list_invoices() -> Response:
    """List invoices, newest first (test-clock invoices only with a filter)."""
    ns = p.ns()
    prm = p.params(LIST)
    filtered = any(prm.get(k) is not None for k in ("customer", "subscription", "test_clock"))
    if prm.get("subscription") is not None:
        sub = ns.subscriptions.get(prm["subscription"])
        pool = [ns.invoices[i] for i in sub.invoice_ids] if sub is not None else []
    else:
        pool = list(ns.invoices.values())

    def keep(inv: Invoice) -> bool:
        if inv.test_clock is not None and not filtered:
            return False
        for key in ("customer", "status", "collection_method", "test_clock"):
            if prm.get(key) is not None and getattr(inv, key) != prm[key]:
                return False
        if not in_range(inv.created, prm.get("created")):
            return False
        return prm.get("due_date") is None or (
            inv.due_date is not None and in_range(inv.due_date, prm["due_date"])
        )

    objs = [inv for inv in reversed(pool) if keep(inv)]
    return render_list(objs, prm, p.ctx(), url="/v1/invoices", noun="invoice")


@invoices.get("/v1/invoices/<iid>")
def retrieve_invoice(iid: str) -> Response:
    """Retrieve an invoice."""
    prm = p.params({})
    return render_one(get_invoice(p.ns(), iid), p.ctx(), prm.get("expand"))


def lines_response(inv: Invoice, prm: dict[str, Any], url: str) -> Response:
    """A page of an invoice's lines."""
    ctx = p.ctx()
    if inv.status == "draft" and not inv.preview:
        invoicing.refresh_draft(ctx.ns, inv)
    chunk, more = page(inv.lines, prm, noun="line_item")
    body = list_body([ln.render(ctx) for ln in chunk], url, more)
    return json_response(expand(body, prm.get("expand") or (), ctx))


@invoices.get("/v1/invoices/<iid>/lines")
def list_invoice_lines(iid: str) -> Response:
    """The lines of an invoice (paginated)."""
    ns = p.ns()
    inv = get_invoice(ns, iid)
    prm = p.params(LIST_PARAMS)
    return lines_response(inv, prm, f"/v1/invoices/{iid}/lines")


@invoices.post("/v1/invoices/<iid>/finalize")
def finalize_invoice(iid: str) -> Response:
    """Finalize a draft now (then collect payment as `charge_automatically` does)."""
    ns = p.ns()
    inv = get_invoice(ns, iid)
    prm = p.params(FINALIZE)
    if inv.status != "draft":
        raise InvalidRequest(
            "This invoice is already finalized, you can't re-finalize a non-draft invoice."
        )
    if prm.get("auto_advance") is not None:
        inv.auto_advance = prm["auto_advance"]
    invoicing.finalize(ns, inv, _now(ns, inv), automatic=False, collect=inv.auto_advance)
    engine.invoice_changed(ns, inv)
    return render_one(inv, p.ctx(), prm.get("expand"))


@invoices.post("/v1/invoices/<iid>/pay")
def pay_invoice(iid: str) -> Response:
    """Pay an invoice now (a draft is finalized first, as `stripe trigger` relies on); a decline
    is a 402 `card_error` and leaves the invoice open."""
    ns = p.ns()
    inv = get_invoice(ns, iid)
    prm = p.params(PAY)
    if inv.status == "paid":
        raise InvalidRequest("Invoice is already paid")
    if inv.status == "void":
        raise InvalidRequest("This invoice has been voided and can no longer be paid.")
    if prm.get("source"):
        raise ResourceMissing("source", prm["source"], param="source", in_path=False)
    if prm.get("mandate"):
        raise ResourceMissing("mandate", prm["mandate"], param="mandate", in_path=False)
    if prm.get("paid_out_of_band") and prm.get("payment_method"):
        raise exclusive_params(["paid_out_of_band", "payment_method"])
    now = _now(ns, inv)
    pm_id = None
    if prm.get("payment_method") and not prm.get("paid_out_of_band"):
        cust = ns.customers[inv.customer]
        pm_id = payments.for_customer(ns, cust, prm["payment_method"], now, param="payment_method")
    if inv.status == "draft":
        invoicing.finalize(ns, inv, now, automatic=False, collect=False)
        if inv.status == "paid":  # nothing to pay
            return render_one(inv, p.ctx(), prm.get("expand"))
    if prm.get("paid_out_of_band"):
        invoicing.mark_paid(ns, inv, now, automatic=False, out_of_band=True)
        return render_one(inv, p.ctx(), prm.get("expand"))
    # `forgive` is accepted and, as at Stripe, changes nothing for a card: it concerns sources
    # with insufficient funds (ACH credit transfers, wires), which the emulator does not have
    decline = dunning.attempt(ns, inv, now, automatic=False, payment_method=pm_id)
    engine.invoice_changed(ns, inv)
    if decline is NO_PAYMENT_METHOD:
        raise InvalidRequest(decline.message)
    if decline is not None:
        raise decline.error()
    return render_one(inv, p.ctx(), prm.get("expand"))


@invoices.post("/v1/invoices/<iid>/void")
def void_invoice(iid: str) -> Response:
    """Void an open or uncollectible invoice."""
    ns = p.ns()
    inv = get_invoice(ns, iid)
    prm = p.params({})
    if inv.status not in ("open", "uncollectible"):
        # (unverified text)
        raise InvalidRequest(
            f"You can only void open or uncollectible invoices; this invoice is {inv.status}."
        )
    invoicing.void(ns, inv, _now(ns, inv))
    return render_one(inv, p.ctx(), prm.get("expand"))


@invoices.post("/v1/invoices/<iid>/mark_uncollectible")
def mark_uncollectible_invoice(iid: str) -> Response:
    """Mark an open invoice uncollectible."""
    ns = p.ns()
    inv = get_invoice(ns, iid)
    prm = p.params({})
    if inv.status != "open":
        # (unverified text)
        raise InvalidRequest(
            f"You can only mark open invoices as uncollectible; this invoice is {inv.status}."
        )
    now = _now(ns, inv)
    invoicing.mark_uncollectible(ns, inv, now)
    dunning.settled(ns, inv, now, automatic=False)  # a past_due subscription becomes active
    return render_one(inv, p.ctx(), prm.get("expand"))


@invoices.post("/v1/invoices/<iid>/send")
def send_invoice(iid: str) -> Response:
    """Send an invoice (`invoice.sent`; no e-mail in test mode, as at Stripe)."""
    ns = p.ns()
    inv = get_invoice(ns, iid)
    prm = p.params({})
    if inv.status == "draft":
        # (unverified text)
        raise InvalidRequest("You can't send a draft invoice. Finalize it first.")
    if inv.collection_method != "send_invoice":
        raise InvalidRequest(
            "You can only manually send an invoice if its collection method is 'send_invoice'."
        )
    if inv.status in ("void", "uncollectible"):
        # (unverified text)
        raise InvalidRequest(f"You can't send an invoice with status {inv.status}.")
    emit(ns, "invoice.sent", inv, created=_now(ns, inv))
    return render_one(inv, p.ctx(), prm.get("expand"))
