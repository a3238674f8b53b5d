"""Invoice and invoice line models and their wire shapes (acacia vs basil line shape).

An invoice holds its lines; a line is either a subscription line (licensed, billed in advance
for its period; or metered, billed in arrears for the usage of its period) or an invoice item
line. While an invoice is a draft its metered lines follow the usage stores: the billing engine
recomputes their quantity whenever the draft is rendered in a request (the app passes its
refresher in `RenderContext.refresh`: this layer knows no billing) and at finalization, so late
usage with a timestamp inside the line's period lands on it; after finalization lines are frozen.

Shapes (domain/versions.py `basil_invoice_lines`): up to acacia a line carries `type`, `price`,
`subscription_item`, `proration`; from basil it carries `parent.subscription_item_details` /
`parent.invoice_item_details` and `pricing.price_details`, and the invoice carries
`parent.subscription_details` instead of `subscription`.
LIMITATIONS: no taxes, discounts, credit notes, customer balance, payment intents or PDFs;
`plan` is not rendered on lines; `amount_due` ignores the customer balance.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ..shapes import RenderContext, list_body
from . import versions
from .prices import decimal_str

_T = TypeVar("_T")


@dataclass(slots=True, kw_only=True)
class InvoiceLine:
    """One line of an invoice (or of a preview)."""

    id: str
    invoice: str | None
    kind: str  # "subscription" | "invoiceitem"
    amount: int
    currency: str
    description: str | None
    period_start: int
    period_end: int
    price: str | None = None
    quantity: int | None = None
    quantity_decimal: str | None = None
    subscription: str | None = None
    subscription_item: str | None = None
    invoice_item: str | None = None
    proration: bool = False
    # metered: the quantity is the usage of the item in [period_start, usage_end or period_end)
    metered: bool = False
    usage_end: int | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    # billing credits paying for this line: (credit balance transaction id, amount); the id is
    # None on drafts and previews, which show the credits they would use (billing/credits.py)
    credits: list[tuple[str | None, int]] = field(default_factory=list)

    def pretax_credit_amounts(self) -> list[dict[str, Any]]:
        """Line `pretax_credit_amounts` (billing-credits.md §5.4; `discount` is not nullable in
        the schema, so a credit's entry has none)."""
        return [
            {
                "amount": amount,
                "credit_balance_transaction": txn,
                "type": "credit_balance_transaction",
            }
            for txn, amount in self.credits
        ]

    def render(self, ctx: RenderContext) -> dict[str, Any]:
        """Wire shape of a line, in the line shape of the request's API version."""
        price = ctx.ns.prices.get(self.price) if self.price else None
        body: dict[str, Any] = {
            "id": self.id,
            "object": "line_item",
            "amount": self.amount,
            "currency": self.currency,
            "description": self.description,
            "discount_amounts": [],
            "discountable": True,
            "discounts": [],
            "invoice": self.invoice,
            "livemode": False,
            "metadata": dict(self.metadata),
            "period": {"end": self.period_end, "start": self.period_start},
            "quantity": self.quantity,
        }
        if not versions.basil_invoice_lines(ctx.version):
            body["amount_excluding_tax"] = self.amount
            body["price"] = price.render(ctx) if price is not None else None
            body["proration"] = self.proration
            body["proration_details"] = {"credited_items": None}
            body["subscription"] = self.subscription
            body["tax_amounts"] = []
            body["tax_rates"] = []
            body["type"] = self.kind
            body["unit_amount_excluding_tax"] = _unit(price)
            if self.subscription_item is not None:  # optional, never null (Stripe's spec)
                body["subscription_item"] = self.subscription_item  # proration items too
            if self.kind != "subscription":
                body["invoice_item"] = self.invoice_item
            if versions.has_credit_grants(ctx.version):
                body["pretax_credit_amounts"] = self.pretax_credit_amounts()
            return body
        if self.kind == "subscription":
            parent: dict[str, Any] = {
                "type": "subscription_item_details",
                "invoice_item_details": None,
                "subscription_item_details": {
                    "invoice_item": None,
                    "proration": self.proration,
                    "proration_details": {"credited_items": None},
                    "subscription": self.subscription,
                    "subscription_item": self.subscription_item,
                },
            }
        else:
            parent = {
                "type": "invoice_item_details",
                "invoice_item_details": {
                    "invoice_item": self.invoice_item,
                    "proration": self.proration,
                    "proration_details": {"credited_items": None},
                    "subscription": self.subscription,
                },
                "subscription_item_details": None,
            }
        body["parent"] = parent
        body["pretax_credit_amounts"] = self.pretax_credit_amounts()
        body["pricing"] = (
            {
                "type": "price_details",
                "price_details": {"price": price.id, "product": price.product},
                "unit_amount_decimal": _unit(price),
            }
            if price is not None
            else None
        )
        body["quantity_decimal"] = self.quantity_decimal or str(self.quantity or 0)
        body["subscription"] = self.subscription
        body["subtotal"] = self.amount
        body["taxes"] = []
        return body


def _clone(obj: _T) -> _T:
    """A shallow copy of a slots dataclass (~20x faster than copy.copy for slots classes)."""
    cls: type = type(obj)
    dup: _T = _cloner(cls)(obj)
    return dup


@functools.cache
def _cloner(cls: type) -> Callable[[Any], Any]:
    """A generated copy function for `cls` (one assignment per slot, as dataclasses generates
    its own methods): event snapshots copy invoices often, a getattr loop was the hot spot."""
    body = "".join(f"    d.{name} = o.{name}\n" for name in cls.__slots__)  # type: ignore[attr-defined]
    scope: dict[str, Any] = {"new": cls.__new__, "cls": cls}
    exec(f"def clone(o):\n    d = new(cls)\n{body}    return d\n", scope)
    fn: Callable[[Any], Any] = scope["clone"]
    return fn


def _unit(price: Any) -> str | None:
    unit = price.rating.unit_amount_decimal if price is not None else None
    return decimal_str(unit) if unit is not None else None


@dataclass(slots=True, kw_only=True)
class ItemReason:
    """`threshold_reason.item_reasons[]`."""

    line_item_ids: list[str]
    usage_gte: int


@dataclass(slots=True, kw_only=True)
class Invoice:
    """An invoice; previews (`preview=True`) are never stored."""

    id: str
    customer: str
    created: int
    currency: str
    billing_reason: str
    period_start: int
    period_end: int
    subscription: str | None = None
    status: str = "draft"
    lines: list[InvoiceLine] = field(default_factory=list)
    collection_method: str = "charge_automatically"
    days_until_due: int | None = None
    due_date: int | None = None
    number: str | None = None
    auto_advance: bool = True
    finalizes_at: int | None = None  # automatic finalization time of an auto-advancing draft
    finalized_at: int | None = None
    paid_at: int | None = None
    voided_at: int | None = None
    marked_uncollectible_at: int | None = None
    attempt_count: int = 0
    attempted: bool = False
    # collection (billing/dunning.py): the next automatic attempt, when the first and the last
    # attempt ran, the payment method of a hard decline (its retries run only once another
    # payment method is in place), whether the due date of a send_invoice invoice has passed
    next_payment_attempt: int | None = None
    first_attempt_at: int | None = None
    last_attempt_at: int | None = None
    hard_declined_pm: str | None = None
    overdue: bool = False
    default_payment_method: str | None = None
    amount_paid: int = 0
    paid_out_of_band: bool = False
    test_clock: str | None = None
    threshold_amount_gte: int | None = None
    threshold_items: list[ItemReason] | None = None
    description: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    preview: bool = False
    frozen: bool = False  # an event's snapshot copy: rendered as is, never refreshed

    def frozen_copy(self) -> Invoice:
        """A copy for an event snapshot, independent of later changes to this invoice."""
        dup = _clone(self)
        # lines change only while the invoice is a draft (metered refresh); later they are frozen
        dup.lines = [_clone(ln) for ln in self.lines] if self.status == "draft" else self.lines
        dup.metadata = dict(self.metadata)
        dup.frozen = True
        return dup

    @property
    def subtotal(self) -> int:
        """Sum of the line amounts (no tax, no discounts)."""
        return sum(line.amount for line in self.lines)

    @property
    def credited(self) -> int:
        """What billing credits pay (applied, or on a draft / preview: would pay)."""
        return sum(amount for line in self.lines for _, amount in line.credits)

    @property
    def total(self) -> int:
        """The subtotal minus billing credits (no tax, no discounts)."""
        return self.subtotal - self.credited

    @property
    def amount_due(self) -> int:
        """What the customer owes: the total, never negative (no balance applied)."""
        return 0 if self.status == "void" else max(self.total, 0)

    def _next_attempt(self, ctx: RenderContext) -> int | None:
        """`next_payment_attempt`: the scheduled retry; for an auto-advancing draft of
        automatic collection, when it will be finalized and charged (not for an `unpaid`
        subscription, whose invoices are not charged); never for send_invoice."""
        if self.collection_method != "charge_automatically":
            return None
        if self.status == "draft":
            sub = ctx.ns.subscriptions.get(self.subscription) if self.subscription else None
            if sub is not None and sub.status == "unpaid":
                return None
            return self.finalizes_at if self.auto_advance else None
        return self.next_payment_attempt if self.status == "open" else None

    def render(self, ctx: RenderContext) -> dict[str, Any]:
        """Wire shape of an invoice; a draft's metered lines are refreshed from usage first."""
        if self.status == "draft" and not self.preview and not self.frozen and ctx.refresh:
            ctx.refresh(ctx.ns, self)
        cust = ctx.ns.customers.get(self.customer)
        lines = [line.render(ctx) for line in self.lines]
        lines_url = f"/v1/invoices/{self.id}/lines" if not self.preview else "/v1/invoices/lines"
        subtotal = self.subtotal
        total = subtotal - self.credited
        due = 0 if self.status == "void" else max(total, 0)
        remaining = 0 if self.status in ("paid", "void") else max(due - self.amount_paid, 0)
        body: dict[str, Any] = {
            "id": self.id,
            "object": "invoice",
            "account_country": "US",
            "account_name": None,
            "account_tax_ids": None,
            "amount_due": due,
            "amount_paid": self.amount_paid,
            "amount_remaining": remaining,
            "amount_shipping": 0,
            "application": None,
            "attempt_count": self.attempt_count,
            "attempted": self.attempted,
            "auto_advance": self.auto_advance,
            "automatic_tax": {
                "disabled_reason": None,
                "enabled": False,
                "liability": None,
                "status": None,
            },
            "billing_reason": self.billing_reason,
            "collection_method": self.collection_method,
            "created": self.created,
            "currency": self.currency,
            "custom_fields": None,
            "customer": self.customer,
            "customer_address": cust.address if cust else None,
            "customer_email": cust.email if cust else None,
            "customer_name": cust.name if cust else None,
            "customer_phone": cust.phone if cust else None,
            "customer_shipping": None,
            "customer_tax_exempt": "none",
            "customer_tax_ids": [],
            "default_payment_method": self.default_payment_method,
            "default_source": None,
            "default_tax_rates": [],
            "description": self.description,
            "discounts": [],
            "due_date": self.due_date,
            "effective_at": self.finalized_at,
            "ending_balance": None if self.status == "draft" else 0,
            "footer": None,
            "from_invoice": None,
            "hosted_invoice_url": None,
            "invoice_pdf": None,
            "issuer": {"type": "self"},
            "last_finalization_error": None,
            "latest_revision": None,
            "lines": list_body(lines, lines_url, False),
            "livemode": False,
            "metadata": dict(self.metadata),
            "next_payment_attempt": self._next_attempt(ctx),
            "number": self.number,
            "on_behalf_of": None,
            "payment_settings": {
                "default_mandate": None,
                "payment_method_options": None,
                "payment_method_types": None,
            },
            "period_end": self.period_end,
            "period_start": self.period_start,
            "post_payment_credit_notes_amount": 0,
            "pre_payment_credit_notes_amount": 0,
            "receipt_number": None,
            "rendering": None,
            "shipping_cost": None,
            "shipping_details": None,
            "starting_balance": 0,
            "statement_descriptor": None,
            "status": self.status,
            "status_transitions": {
                "finalized_at": self.finalized_at,
                "marked_uncollectible_at": self.marked_uncollectible_at,
                "paid_at": self.paid_at,
                "voided_at": self.voided_at,
            },
            "subtotal": subtotal,
            "subtotal_excluding_tax": subtotal,
            "test_clock": self.test_clock,
            "total": total,
            "total_discount_amounts": [],
            "total_excluding_tax": total,
            "webhooks_delivered_at": self.created,
        }
        if self.threshold_items is not None:
            body["threshold_reason"] = {
                "amount_gte": self.threshold_amount_gte,
                "item_reasons": [
                    {"line_item_ids": list(r.line_item_ids), "usage_gte": r.usage_gte}
                    for r in self.threshold_items
                ],
            }
        if versions.basil_invoice_lines(ctx.version):
            body["amount_overpaid"] = 0
            body["amount_paid_off_stripe"] = self.amount_paid if self.paid_out_of_band else 0
            body["automatically_finalizes_at"] = self.finalizes_at if self.auto_advance else None
            body["confirmation_secret"] = None
            body["parent"] = (
                {
                    "type": "subscription_details",
                    "quote_details": None,
                    "subscription_details": {"metadata": None, "subscription": self.subscription},
                }
                if self.subscription
                else None
            )
            body["total_pretax_credit_amounts"] = self.total_pretax_credit_amounts()
            body["total_taxes"] = []
        else:
            body["discount"] = None
            body["paid"] = self.status == "paid"
            body["paid_out_of_band"] = self.paid_out_of_band
            body["subscription"] = self.subscription
            body["subscription_details"] = {"metadata": None} if self.subscription else None
            body["total_tax_amounts"] = []
            body["application_fee_amount"] = None
            body["charge"] = None
            body["payment_intent"] = None
            body["quote"] = None
            body["tax"] = None
            body["transfer_data"] = None
            if versions.has_finalizes_at(ctx.version):
                body["automatically_finalizes_at"] = (
                    self.finalizes_at if self.auto_advance else None
                )
            if versions.has_credit_grants(ctx.version):
                body["total_pretax_credit_amounts"] = self.total_pretax_credit_amounts()
        return body

    def total_pretax_credit_amounts(self) -> list[dict[str, Any]]:
        """Invoice `total_pretax_credit_amounts`: every line's credits, in line order."""
        return [c for line in self.lines for c in line.pretax_credit_amounts()]
