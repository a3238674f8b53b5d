"""Billing credits: `billing.credit_grant`, `billing.credit_balance_transaction` and their shapes.

Emulates billing-credits.md §1 and §4. A grant holds no balance field on the wire; the emulator
keeps an append-only ledger of balance transactions per grant and a running `balance` that only
`billing/credits.py` (the one writer of the ledger) moves, so both balances of the summary are
read without scanning the ledger. Version facts live in domain/versions.py (`has_credit_grants`,
`has_credit_priority`, ...).
LIMITATIONS: monetary amounts only (Stripe has no other type); no `customer_account`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from ..errors import ResourceMissing
from ..shapes import RenderContext
from ..store import Namespace
from . import versions

GRANT_NOUN = "credit grant"  # (unverified noun) "No such credit grant: 'credgr_x'"
TXN_NOUN = "credit balance transaction"
# ns.extensions key: customer id -> ids of its grants, in creation order
BY_CUSTOMER = "credit_grants_by_customer"


def money(currency: str, value: int) -> dict[str, Any]:
    """`{type: monetary, monetary: {currency, value}}`."""
    return {"monetary": {"currency": currency, "value": value}, "type": "monetary"}


@dataclass(slots=True, kw_only=True)
class CreditGrant:
    """A credit grant (`object: billing.credit_grant`)."""

    id: str
    customer: str
    currency: str
    value: int
    created: int
    updated: int
    category: str = "paid"
    price_type: str | None = "metered"  # scope: every metered (meter) price
    prices: list[str] | None = None  # scope: these prices only
    effective_at: int
    expires_at: int | None = None
    name: str | None = None
    priority: int = 50
    metadata: dict[str, str] = field(default_factory=dict)
    test_clock: str | None = None
    voided_at: int | None = None
    # emulator state: the ledger balance (credits - debits), whether any invoice used it, and
    # whether its expiry (`expires_at` passed or `/expire`) has been written to the ledger
    balance: int = 0
    applied: bool = False
    expired: bool = False

    def __deepcopy__(self, memo: dict[int, Any]) -> CreditGrant:
        """A copy for a rollback checkpoint, field by field (the generic deepcopy of a slots
        dataclass is several times slower; every field is a scalar but these three)."""
        dup = copy.copy(self)
        dup.prices = list(self.prices) if self.prices is not None else None
        dup.metadata = dict(self.metadata)
        return dup

    def render(self, ctx: RenderContext) -> dict[str, Any]:
        """Wire shape of a grant at the request's version."""
        scope: dict[str, Any] = (
            {"prices": [{"id": p} for p in self.prices]}
            if self.prices is not None
            else {"price_type": self.price_type}
        )
        body: dict[str, Any] = {
            "id": self.id,
            "object": "billing.credit_grant",
            "amount": money(self.currency, self.value),
            "applicability_config": {"scope": scope},
            "category": self.category,
            "created": self.created,
            "customer": self.customer,
            "effective_at": self.effective_at,
            "expires_at": self.expires_at,
            "livemode": False,
            "metadata": dict(self.metadata),
            "name": self.name,
            "test_clock": self.test_clock,
            "updated": self.updated,
            "voided_at": self.voided_at,
        }
        if versions.has_credit_priority(ctx.version):
            body["priority"] = self.priority
        if versions.has_customer_account(ctx.version):
            body["customer_account"] = None
        return body

    def usable(self, at: int) -> bool:
        """Whether the grant can pay for something at `at` (effective, not voided/expired)."""
        return (
            self.voided_at is None
            and not self.expired
            and self.effective_at <= at
            and (self.expires_at is None or at < self.expires_at)
        )


@dataclass(slots=True, kw_only=True)
class CreditBalanceTransaction:
    """One ledger entry (`object: billing.credit_balance_transaction`)."""

    id: str
    credit_grant: str
    customer: str
    created: int
    effective_at: int
    type: str  # credit | debit
    reason: str  # credits_granted, credits_applied, credits_expired, credits_voided, ...
    currency: str
    amount: int
    invoice: str | None = None
    invoice_line_item: str | None = None
    test_clock: str | None = None

    def __deepcopy__(self, memo: dict[int, Any]) -> CreditBalanceTransaction:
        """Ledger entries never change once written: a rollback checkpoint shares them."""
        return self

    def render(self, ctx: RenderContext) -> dict[str, Any]:
        """Wire shape of a balance transaction."""
        detail: dict[str, Any] = {"amount": money(self.currency, self.amount), "type": self.reason}
        ref = (
            {"invoice": self.invoice, "invoice_line_item": self.invoice_line_item}
            if self.invoice is not None
            else None
        )
        if self.type == "credit":
            detail["credits_application_invoice_voided"] = ref
        else:
            detail["credits_applied"] = ref
        return {
            "id": self.id,
            "object": "billing.credit_balance_transaction",
            "created": self.created,
            "credit": detail if self.type == "credit" else None,
            "credit_grant": self.credit_grant,
            "debit": detail if self.type == "debit" else None,
            "effective_at": self.effective_at,
            "livemode": False,
            "test_clock": self.test_clock,
            "type": self.type,
        }


@dataclass(slots=True)
class CreditBalanceSummary:
    """`billing.credit_balance_summary` (no id): balances per currency."""

    customer: str
    balances: list[tuple[str, int, int]]  # (currency, available, ledger)
    id: str = ""

    def render(self, ctx: RenderContext) -> dict[str, Any]:
        """Wire shape of a summary."""
        body: dict[str, Any] = {
            "object": "billing.credit_balance_summary",
            "balances": [
                {"available_balance": money(c, a), "ledger_balance": money(c, ledger)}
                for c, a, ledger in self.balances
            ],
            "customer": self.customer,
            "livemode": False,
        }
        if versions.has_customer_account(ctx.version):
            body["customer_account"] = None
        return body


def get_credit_grant(
    ns: Namespace, gid: str, *, param: str = "id", in_path: bool = True
) -> CreditGrant:
    """A grant of the account or Stripe's `resource_missing`."""
    grant = ns.credit_grants.get(gid)
    if grant is None:
        raise ResourceMissing(GRANT_NOUN, gid, param=param, in_path=in_path)
    return grant  # type: ignore[no-any-return]


def get_transaction(ns: Namespace, tid: str) -> CreditBalanceTransaction:
    """A balance transaction of the account or Stripe's `resource_missing`."""
    txn = ns.credit_balance_transactions.get(tid)
    if txn is None:
        raise ResourceMissing(TXN_NOUN, tid)
    return txn  # type: ignore[no-any-return]


def grants_of(ns: Namespace, customer: str) -> list[CreditGrant]:
    """The customer's grants, oldest first."""
    index: dict[str, list[str]] = ns.extensions.get(BY_CUSTOMER) or {}
    return [ns.credit_grants[g] for g in index.get(customer, ())]
