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
from ..billing import invoicing
from ..domain.invoices import Invoice
from ..errors import InvalidRequest, ResourceMissing, StripeError
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
    "off_session": Bool(),
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
    invoicing.finalize(ns, inv, _now(ns, inv), automatic=False)
    return render_one(inv, p.ctx(), prm.get("expand"))


@invoices.post("/v1/invoices/<iid>/pay")
def pay_invoice(iid: str) -> Response:
    """Pay an open (or uncollectible) invoice; a declining payment method gives a 402."""
    ns = p.ns()
    inv = get_invoice(ns, iid)
    prm = p.params(PAY)
    if inv.status == "paid":
        raise InvalidRequest("Invoice is already paid")
    if inv.status == "void":
        raise InvalidRequest("This invoice has been voided and can no longer be paid.")
    if inv.status == "draft":
        # (unverified text) Stripe: "a draft Invoice cannot be paid"
        raise InvalidRequest("You can't pay a draft invoice. Finalize it first.")
    now = _now(ns, inv)
    if prm.get("paid_out_of_band"):
        invoicing.mark_paid(ns, inv, now, automatic=False, out_of_band=True)
    elif not invoicing.attempt_payment(
        ns, inv, now, automatic=False, payment_method=prm.get("payment_method")
    ):
        raise StripeError(
            "Your card was declined.", status=402, type="card_error", code="card_declined"
        )
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
    invoicing.mark_uncollectible(ns, inv, _now(ns, inv))
    return render_one(inv, p.ctx(), prm.get("expand"))
