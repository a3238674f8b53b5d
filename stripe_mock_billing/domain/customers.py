"""Customers: the `customer` object and its lookup."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import ResourceMissing
from ..shapes import RenderContext, deleted_stub
from ..store import Namespace


@dataclass(slots=True, kw_only=True)
class Customer:
    """A customer; `deleted` customers stay in the table to answer retrieves with a stub."""

    id: str
    created: int
    name: str | None = None
    email: str | None = None
    description: str | None = None
    phone: str | None = None
    address: dict[str, Any] | None = None
    balance: int = 0
    invoice_prefix: str = ""
    preferred_locales: list[str] = field(default_factory=list)
    metadata: dict[str, str] = field(default_factory=dict)
    test_clock: str | None = None
    default_payment_method: str | None = None
    next_invoice_sequence: int = 1
    delinquent: bool = False  # an automatic payment failed or a due date passed, unpaid
    deleted: bool = False

    def render(self, ctx: RenderContext) -> dict[str, Any]:
        """Wire shape of a customer."""
        if self.deleted:
            return deleted_stub(self.id, "customer")
        return {
            "id": self.id,
            "object": "customer",
            "address": self.address,
            "balance": self.balance,
            "created": self.created,
            "currency": None,
            "default_source": None,
            "delinquent": self.delinquent,
            "description": self.description,
            "discount": None,
            "email": self.email,
            "invoice_prefix": self.invoice_prefix,
            "invoice_settings": {
                "custom_fields": None,
                "default_payment_method": self.default_payment_method,
                "footer": None,
                "rendering_options": None,
            },
            "livemode": False,
            "metadata": dict(self.metadata),
            "name": self.name,
            "next_invoice_sequence": self.next_invoice_sequence,
            "phone": self.phone,
            "preferred_locales": list(self.preferred_locales),
            "shipping": None,
            "tax_exempt": "none",
            "test_clock": self.test_clock,
        }


def get_customer(ns: Namespace, cid: str, *, param: str = "id", in_path: bool = True) -> Customer:
    """A live customer or Stripe's `No such customer`."""
    cust = ns.customers.get(cid)
    if cust is None or (cust.deleted and not in_path):
        raise ResourceMissing("customer", cid, param=param, in_path=in_path)
    return cust
