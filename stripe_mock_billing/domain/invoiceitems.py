"""Invoice items: the `invoiceitem` object."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .. import ids
from ..errors import ResourceMissing
from ..shapes import RenderContext, deleted_stub
from ..store import Namespace
from . import versions
from .invoices import InvoiceLine
from .prices import decimal_str


@dataclass(slots=True, kw_only=True)
class InvoiceItem:
    """An invoice item (pending until it is on an invoice)."""

    id: str
    customer: str
    amount: int
    currency: str
    date: int
    period_start: int
    period_end: int
    quantity: int = 1
    unit_amount_decimal: Decimal | None = None
    price: str | None = None
    description: str | None = None
    invoice: str | None = None
    subscription: str | None = None
    subscription_item: str | None = None
    proration: bool = False  # created by billing/prorations.py
    test_clock: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    deleted: bool = False

    def as_line(self, invoice_id: str) -> InvoiceLine:
        """The invoice line showing this item."""
        return InvoiceLine(
            id=ids.new_id("line_item"),
            invoice=invoice_id,
            kind="invoiceitem",
            amount=self.amount,
            currency=self.currency,
            description=self.description,
            period_start=self.period_start,
            period_end=self.period_end,
            price=self.price,
            quantity=self.quantity,
            subscription=self.subscription,
            subscription_item=self.subscription_item,
            invoice_item=self.id,
            proration=self.proration,
            metadata=dict(self.metadata),
        )

    def render(self, ctx: RenderContext) -> dict[str, Any]:
        """Wire shape of an invoice item."""
        if self.deleted:
            return deleted_stub(self.id, "invoiceitem")
        price = ctx.ns.prices.get(self.price) if self.price else None
        unit = self.unit_amount_decimal
        body: dict[str, Any] = {
            "id": self.id,
            "object": "invoiceitem",
            "amount": self.amount,
            "currency": self.currency,
            "customer": self.customer,
            "date": self.date,
            "description": self.description,
            "discountable": True,
            "discounts": [],
            "invoice": self.invoice,
            "livemode": False,
            "metadata": dict(self.metadata),
            "period": {"end": self.period_end, "start": self.period_start},
            "proration": self.proration,
            "quantity": self.quantity,
            "tax_rates": [],
            "test_clock": self.test_clock,
        }
        if versions.basil_invoice_lines(ctx.version):
            body["net_amount"] = self.amount
            parent = None
            if self.subscription:
                details: dict[str, Any] = {"subscription": self.subscription}
                if self.subscription_item is not None:  # optional, never null (Stripe's spec)
                    details["subscription_item"] = self.subscription_item
                parent = {"type": "subscription_details", "subscription_details": details}
            body["parent"] = parent
            body["pricing"] = {
                "type": "price_details",
                "unit_amount_decimal": decimal_str(unit) if unit is not None else None,
            }
            if price is not None:
                body["pricing"]["price_details"] = {"price": price.id, "product": price.product}
            body["quantity_decimal"] = str(self.quantity)
        else:
            body["price"] = price.render(ctx) if price is not None else None
            body["subscription"] = self.subscription
            if self.subscription_item is not None:  # optional, never null (Stripe's spec)
                body["subscription_item"] = self.subscription_item
            body["unit_amount"] = int(unit) if unit is not None and unit == int(unit) else None
            body["unit_amount_decimal"] = decimal_str(unit) if unit is not None else None
        if price is None:
            body.pop("price", None)
        return body


def refresh_line(ns: Namespace, ii: InvoiceItem) -> None:
    """After an update: the item's line on its draft invoice shows the item again."""
    inv = ns.invoices.get(ii.invoice) if ii.invoice else None
    if inv is None:
        return
    for i, line in enumerate(inv.lines):
        if line.invoice_item == ii.id:
            fresh = ii.as_line(inv.id)
            fresh.id = line.id
            inv.lines[i] = fresh


def get_invoiceitem(ns: Namespace, iid: str) -> InvoiceItem:
    """An invoice item or Stripe's `No such invoiceitem`."""
    ii = ns.invoiceitems.get(iid)
    if ii is None or ii.deleted:
        raise ResourceMissing("invoiceitem", iid)
    return ii
