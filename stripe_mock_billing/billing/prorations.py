"""Prorations of licensed subscription items (Stripe's `proration_behavior`).

A mid-period change of a licensed item (quantity, price, item added or deleted) with
`proration_behavior=create_prorations` (the default) creates pending invoice items with
`proration: true` for `[change time, period end)`: a credit for the unused time of the old
price x quantity and a debit for the remaining time at the new price x quantity. Stripe prorates
by the second: amount = rate(price, quantity) x remaining seconds / period seconds, rounded half
up to the minor unit (the rounding tie is unverified). The items wait for the next invoice (the
cycle invoice); `always_invoice` invoices them at once (`billing_reason=subscription_update`);
`none` creates nothing. `proration_date` replaces the change time (it must lie in the current
period). Canceling with `prorate=true` credits the unused licensed time.
Metered prices are never prorated (usage-records spec §8): their usage bills in arrears.
No prorations while the subscription is trialing.
LIMITATIONS: a credit is computed from the current price x quantity, not from what the customer
actually paid (Stripe credits the amount billed for the period, e.g. after an earlier proration
it credits the prorated amount); no prorations with `billing_cycle_anchor=now` or
`trial_end=now` in the same update (the period restarts and is billed in full); tiered prices are
prorated from their full-period amount for the quantity; no `proration_details.credited_items`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from .. import ids
from ..domain.invoiceitems import InvoiceItem
from ..errors import InvalidRequest
from . import invoicing
from .rating import round_minor_units
from .state import state

if TYPE_CHECKING:
    from ..domain.subscriptions import Subscription
    from ..store import Namespace

# item id -> (price id, quantity) of the subscription's licensed items
Licensed = dict[str, tuple[str, int]]


@dataclass(slots=True, frozen=True)
class Proration:
    """One proration to create: a credit (negative) or debit for `[start, end)`."""

    item: str
    price: str
    quantity: int
    amount: int
    start: int
    end: int
    # the credit for the old price x quantity (even when it rounds to 0, e.g. at the period end)
    credit: bool = field(default=False, compare=False)


def prorate(full: int, start: int, end: int, at: int) -> int:
    """`full` (one period's amount) x the share of `[start, end)` left at `at`, half up."""
    if end <= start or at >= end:
        return 0
    remaining = end - max(at, start)
    return round_minor_units(Decimal(full) * remaining / (end - start))


def diff(
    before: Licensed,
    after: Licensed,
    rates: dict[tuple[str, int], int],
    start: int,
    end: int,
    at: int,
) -> list[Proration]:
    """The credits and debits turning `before` into `after` at `at` (unchanged items: none)."""
    out: list[Proration] = []
    for iid in [*before, *(i for i in after if i not in before)]:
        old, new = before.get(iid), after.get(iid)
        if old == new:
            continue
        if old is not None and old[1] > 0:
            amount = -prorate(rates[old], start, end, at)
            out.append(Proration(iid, old[0], old[1], amount, at, end, credit=True))
        if new is not None and new[1] > 0:
            amount = prorate(rates[new], start, end, at)
            out.append(Proration(iid, new[0], new[1], amount, at, end))
    return out


def licensed(ns: Namespace, sub: Subscription) -> Licensed:
    """The subscription's licensed items as item id -> (price, quantity)."""
    return {
        it.id: (it.price, it.quantity or 0)
        for it in sub.items(ns)
        if not ns.prices[it.price].metered
    }


def change_time(
    sub: Subscription, now: int, proration_date: int | None, param: str = "proration_date"
) -> int:
    """The proration time: `proration_date` (inside the current period) or now."""
    if proration_date is None:
        return now
    if not sub.current_period_start <= proration_date <= sub.current_period_end:
        # (unverified text) Stripe requires proration_date within the current period
        raise InvalidRequest(
            "proration_date must be within the subscription's current billing period "
            f"({sub.current_period_start} - {sub.current_period_end}).",
            param=param,
        )
    return proration_date


def create(
    ns: Namespace, sub: Subscription, before: Licensed, at: int, now: int, behavior: str | None
) -> None:
    """Create the prorations of the change `before` -> now (and invoice them for always_invoice)."""
    behavior = behavior or "create_prorations"
    if behavior == "none" or sub.status == "trialing":
        return
    after = licensed(ns, sub)
    rates = {
        key: invoicing.fast_rate(ns.prices[key[0]], key[1])
        for key in {*before.values(), *after.values()}
    }
    found = diff(before, after, rates, sub.current_period_start, sub.current_period_end, at)
    add_items(ns, sub, found, now)
    if behavior == "always_invoice" and found:
        invoice_now(ns, sub, now)


def describe(ns: Namespace, pr: Proration) -> str:
    """`Unused time on 1 × Pro` / `Remaining time on 3 × Pro` (Stripe adds the date; unverified)."""
    name = invoicing.describe(ns, ns.prices[pr.price], pr.quantity).split(" (at ")[0]
    return f"{'Unused' if pr.credit else 'Remaining'} time on {name}"


def as_items(
    ns: Namespace, sub: Subscription, found: list[Proration], now: int
) -> list[InvoiceItem]:
    """The prorations as (unsaved) pending invoice items with `proration: true`."""
    out = []
    for pr in found:
        out.append(
            InvoiceItem(
                id=ids.new_id("invoiceitem"),
                customer=sub.customer,
                amount=pr.amount,
                currency=ns.prices[pr.price].currency,
                date=now,
                period_start=pr.start,
                period_end=pr.end,
                quantity=pr.quantity,
                unit_amount_decimal=Decimal(pr.amount) / pr.quantity,
                price=pr.price,
                description=describe(ns, pr),
                subscription=sub.id,
                subscription_item=pr.item,
                proration=True,
                test_clock=sub.test_clock,
            )
        )
    return out


def add_items(ns: Namespace, sub: Subscription, found: list[Proration], now: int) -> None:
    """Store the prorations as pending invoice items."""
    for ii in as_items(ns, sub, found, now):
        ns.invoiceitems[ii.id] = ii
        invoicing.add_invoiceitem(ns, ii, None, now)


def invoice_now(ns: Namespace, sub: Subscription, now: int) -> None:
    """`always_invoice`: an invoice now with the pending items (`subscription_update`)."""
    inv = invoicing.new_invoice(
        ns, sub, created=now, reason="subscription_update", start=now, end=now
    )
    invoicing.pull_pending_items(ns, inv, state(ns).pending_items.get(sub.customer, []))
    invoicing.store(ns, inv, sub, automatic=False)
    invoicing.finalize(ns, inv, now, automatic=False)


def cancel_credits(ns: Namespace, sub: Subscription, now: int) -> None:
    """`prorate=true` on cancel: credit the unused licensed time as pending items."""
    if sub.status == "trialing":
        return
    before = licensed(ns, sub)
    rates = {key: invoicing.fast_rate(ns.prices[key[0]], key[1]) for key in before.values()}
    found = diff(before, {}, rates, sub.current_period_start, sub.current_period_end, now)
    add_items(ns, sub, found, now)
