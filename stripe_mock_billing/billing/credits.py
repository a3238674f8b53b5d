"""Billing credits at work: the ledger, expiry, and credits paying for invoice lines.

Emulates billing-credits.md §5-§8. The ledger (`billing.credit_balance_transaction`s) is written
here only (`_write`), which also moves the grant's running balance. Credits are applied when an
invoice finalizes (`apply`): the invoice's lines in order, each eligible line paid by the
eligible grants in Stripe's order (`sort_key`: priority, soonest expiry with never-expiring
last, promotional before paid, effective_at, created), each grant drained before the next, one
`credits_applied` debit per grant and line, never more than the line's amount. A draft or a
preview shows the credits it would use (`project`, no ledger writes), after the credits the
customer's earlier drafts would take; the summary's available balance subtracts those.

Eligibility (§5.1): the invoice `period_end` >= the grant's `effective_at` and < its
`expires_at`; grant not voided nor expired, same currency, positive balance; the line is a
subscription line of a metered price with a meter (never legacy usage-record lines, licensed
lines or invoice items), in the grant's scope (`price_type=metered` or its `prices`).
Expiry is written (`credits_expired`, `effective_at` = `expires_at`) as soon as the customer's
clock reaches it: on a clock advance, and before any read or use of the customer's credits.
Voiding an invoice (from `2024-12-18.acacia`) writes `credits_application_invoice_voided` per
debit, then `credits_expired` at once for a grant already past its `expires_at`.
LIMITATIONS: no discounts or taxes exist, so a line's creditable amount is its amount; credit
notes never refund credits (as Stripe); the wall clock expires grants lazily (on the next read
or use), stamped with their `expires_at`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import clock, ids
from ..domain import versions
from ..domain.credit_grants import (
    BY_CUSTOMER,
    CreditBalanceTransaction,
    CreditGrant,
    grants_of,
)
from ..domain.events import diff, emit, snapshot
from .state import state

if TYPE_CHECKING:
    from ..domain.invoices import Invoice, InvoiceLine
    from ..store import Namespace

MAX_UNUSED = 100  # unused grants per customer (billing-credits docs "Unused credit grants limit")
NEVER = 2**62


def sort_key(g: CreditGrant) -> tuple[int, int, int, int, int, str]:
    """Stripe's application order (billing-credits.md §5.3)."""
    return (
        g.priority,
        g.expires_at if g.expires_at is not None else NEVER,
        0 if g.category == "promotional" else 1,
        g.effective_at,
        g.created,
        g.id,
    )


# --- the ledger ------------------------------------------------------------------------------


def _write(
    ns: Namespace,
    grant: CreditGrant,
    kind: str,
    reason: str,
    amount: int,
    *,
    effective_at: int,
    now: int,
    invoice: str | None = None,
    line: str | None = None,
) -> CreditBalanceTransaction:
    """Append one ledger entry, move the grant's balance, emit its event."""
    txn = CreditBalanceTransaction(
        id=ids.new_id("billing.credit_balance_transaction"),
        credit_grant=grant.id,
        customer=grant.customer,
        created=now,
        effective_at=effective_at,
        type=kind,
        reason=reason,
        currency=grant.currency,
        amount=amount,
        invoice=invoice,
        invoice_line_item=line,
        test_clock=grant.test_clock,
    )
    ns.credit_balance_transactions[txn.id] = txn
    grant.balance += amount if kind == "credit" else -amount
    emit(ns, "billing.credit_balance_transaction.created", txn, created=now)
    return txn


def create(ns: Namespace, grant: CreditGrant) -> None:
    """Store a new grant and fund it (`credits_granted`, effective at the grant's
    `effective_at`)."""
    ns.credit_grants[grant.id] = grant
    ns.extensions.setdefault(BY_CUSTOMER, {}).setdefault(grant.customer, []).append(grant.id)
    emit(ns, "billing.credit_grant.created", grant, created=grant.created)
    _write(
        ns,
        grant,
        "credit",
        "credits_granted",
        grant.value,
        effective_at=grant.effective_at,
        now=grant.created,
    )
    settle(ns, grant, grant.created)


def unused_count(ns: Namespace, customer: str, now: int) -> int:
    """Grants counting against the 100-grant limit: not voided, not expired, and pending or
    with a positive ledger balance."""
    return sum(
        1
        for g in grants_of(ns, customer)
        if g.voided_at is None
        and not g.expired
        and (g.expires_at is None or now < g.expires_at)
        and (g.effective_at > now or g.balance > 0)
    )


def settle(ns: Namespace, grant: CreditGrant, now: int) -> None:
    """Write the expiry of a grant whose `expires_at` the customer's clock has reached."""
    if grant.expired or grant.voided_at is not None:
        return
    if grant.expires_at is None or grant.expires_at > now:
        return
    grant.expired = True
    if grant.balance > 0:
        _write(
            ns,
            grant,
            "debit",
            "credits_expired",
            grant.balance,
            effective_at=grant.expires_at,
            now=max(now, grant.expires_at),
        )


def settle_customer(ns: Namespace, customer: str, now: int | None = None) -> None:
    """Write every due expiry of the customer's grants (at its clock time by default)."""
    at = clock.customer_now(ns, customer) if now is None else now
    for g in grants_of(ns, customer):
        settle(ns, g, at)


def clock_advanced(ns: Namespace, customers: list[str], until: int) -> None:
    """A test clock moved: write the expiries it passed."""
    for cid in customers:
        settle_customer(ns, cid, until)


def expire(ns: Namespace, grant: CreditGrant, now: int) -> None:
    """`/expire`: the remaining balance expires now; `expires_at` becomes now."""
    before = snapshot(ns, grant)
    grant.expires_at = now
    grant.updated = now
    settle(ns, grant, now)
    _updated(ns, grant, before, now)


def void(ns: Namespace, grant: CreditGrant, now: int) -> None:
    """`/void`: a never-applied grant is voided; its balance leaves as `credits_voided`."""
    before = snapshot(ns, grant)
    grant.voided_at = grant.updated = now
    if grant.balance > 0:
        _write(ns, grant, "debit", "credits_voided", grant.balance, effective_at=now, now=now)
    _updated(ns, grant, before, now)


def update(
    ns: Namespace, grant: CreditGrant, before: dict[str, object], now: int, expiry_changed: bool
) -> None:
    """After an update: a new `expires_at` may already be due; `billing.credit_grant.updated`."""
    if expiry_changed:
        settle(ns, grant, now)
    _updated(ns, grant, before, now)


def _updated(ns: Namespace, grant: CreditGrant, before: dict[str, object], now: int) -> None:
    after = snapshot(ns, grant)
    prev = diff(before, after)  # type: ignore[arg-type]
    if prev:
        emit(ns, "billing.credit_grant.updated", after, created=now, previous=prev)


# --- application to invoices -----------------------------------------------------------------


def _line_price_meter(ns: Namespace, line: InvoiceLine) -> bool:
    """A subscription line of a metered price backed by a meter (the only kind credits pay)."""
    if line.kind != "subscription" or not line.metered or line.price is None:
        return False
    price = ns.prices.get(line.price)
    return price is not None and price.recurring is not None and price.recurring.meter is not None


def _eligible_grants(ns: Namespace, inv: Invoice, at: int) -> list[CreditGrant]:
    out = [
        g
        for g in grants_of(ns, inv.customer)
        if g.voided_at is None
        and not g.expired
        and g.currency == inv.currency
        and inv.period_end >= g.effective_at
        and (g.expires_at is None or (inv.period_end < g.expires_at and at < g.expires_at))
    ]
    out.sort(key=sort_key)
    return out


def _plan(
    ns: Namespace, inv: Invoice, at: int, left: dict[str, int]
) -> list[tuple[InvoiceLine, CreditGrant, int]]:
    """(line, grant, amount) of the credits `inv` takes, drawing from `left` (grant id ->
    balance, updated)."""
    if inv.subscription is None:
        return []
    lines = [ln for ln in inv.lines if ln.amount > 0 and _line_price_meter(ns, ln)]
    if not lines:
        return []
    grants = _eligible_grants(ns, inv, at)
    if not grants:
        return []
    out: list[tuple[InvoiceLine, CreditGrant, int]] = []
    for line in lines:
        due = line.amount
        for g in grants:
            if due <= 0:
                break
            if g.prices is not None and line.price not in g.prices:
                continue
            have = left.setdefault(g.id, g.balance)
            take = min(have, due)
            if take > 0:
                left[g.id] = have - take
                due -= take
                out.append((line, g, take))
    return out


def _customer_drafts(ns: Namespace, customer: str) -> list[Invoice]:
    """The customer's subscription drafts waiting to finalize, oldest first."""
    out: list[Invoice] = []
    for sid in state(ns).customer_subs.get(customer, ()):
        sub = ns.subscriptions[sid]
        out.extend(ns.invoices[i] for i in sub.draft_ids if ns.invoices[i].status == "draft")
    out.sort(key=lambda i: i.created)
    return out


def held_by_drafts(
    ns: Namespace, customer: str, at: int, until: Invoice | None = None
) -> dict[str, int]:
    """Grant id -> balance left after the customer's drafts (those before `until`, when given)
    took what they would take."""
    left: dict[str, int] = {}
    for draft in _customer_drafts(ns, customer):
        if draft is until:
            break
        _plan(ns, draft, at, left)
    return left


def project(ns: Namespace, inv: Invoice) -> None:
    """Show on a draft or preview the credits it would use (no ledger writes)."""
    for line in inv.lines:
        if line.credits:
            line.credits = []
    if not grants_of(ns, inv.customer):
        return
    at = clock.customer_now(ns, inv.customer)
    left = held_by_drafts(ns, inv.customer, at, until=inv if not inv.preview else None)
    for line, _, amount in _plan(ns, inv, at, left):
        line.credits = [*line.credits, (None, amount)]


def held(ns: Namespace, customer: str) -> bool:
    """Whether the customer has any grant (the cheap test before a credits computation)."""
    return bool(grants_of(ns, customer))


def would_pay(ns: Namespace, inv: Invoice, now: int) -> int:
    """What the customer's credits would pay of a not-yet-stored invoice finalized now: billing
    thresholds measure the amount net of credits. A threshold invoice finalizes at once, ahead
    of the customer's drafts, so what they show holds nothing back from it (billing-credits.md
    §5.2: a grant goes to whichever invoice finalizes first; `apply` takes them so)."""
    if not grants_of(ns, inv.customer):
        return 0
    return sum(amount for _, _, amount in _plan(ns, inv, now, {}))


def apply(ns: Namespace, inv: Invoice, now: int) -> None:
    """Finalization: the eligible grants pay for the invoice's qualifying lines."""
    for line in inv.lines:
        if line.credits:
            line.credits = []
    if not grants_of(ns, inv.customer):
        return
    settle_customer(ns, inv.customer, now)
    for line, g, amount in _plan(ns, inv, now, {}):
        txn = _write(
            ns,
            g,
            "debit",
            "credits_applied",
            amount,
            effective_at=now,
            now=now,
            invoice=inv.id,
            line=line.id,
        )
        g.applied = True
        line.credits = [*line.credits, (txn.id, amount)]


def invoice_voided(ns: Namespace, inv: Invoice, now: int) -> None:
    """A voided invoice gives back its credits (`credits_application_invoice_voided`), from
    `2024-12-18.acacia` on (the account's version: billing runs outside requests too)."""
    if not versions.credits_void_reinstates(ns.settings.api_version):
        return
    for line in inv.lines:
        for txn_id, amount in line.credits:
            txn = ns.credit_balance_transactions.get(txn_id) if txn_id else None
            grant = ns.credit_grants.get(txn.credit_grant) if txn is not None else None
            if grant is None:
                continue
            # an expiry the clock passed but nobody wrote yet goes first, at expires_at, for
            # what was left then; the reinstated amount then expires at the void (spec §6)
            settle(ns, grant, now)
            _write(
                ns,
                grant,
                "credit",
                "credits_application_invoice_voided",
                amount,
                effective_at=now,
                now=now,
                invoice=inv.id,
                line=line.id,
            )
            if grant.expired and grant.voided_at is None:
                _write(ns, grant, "debit", "credits_expired", amount, effective_at=now, now=now)


# --- balances ---------------------------------------------------------------------------------


def balances(
    ns: Namespace, customer: str, grants: list[CreditGrant], now: int
) -> list[tuple[str, int, int]]:
    """(currency, available, ledger) per currency of `grants` (pending grants count in neither;
    available also leaves out what the customer's drafts hold)."""
    held = held_by_drafts(ns, customer, now)
    out: dict[str, list[int]] = {}
    for g in grants:
        row = out.setdefault(g.currency, [0, 0])
        if g.effective_at > now or g.voided_at is not None:
            continue
        row[1] += g.balance
        row[0] += held.get(g.id, g.balance)
    return [(c, a, led) for c, (a, led) in out.items()]
