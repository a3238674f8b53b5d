"""Billing thresholds (`billing_thresholds[amount_gte]`, item `usage_gte`): threshold invoices.

After new usage the engine checks the subscription's un-invoiced metered usage (each metered
item from its watermark up to now, inclusive): when the amount reaches `amount_gte` or an
item's usage reaches its `usage_gte`, a `subscription_threshold` invoice bills that usage now
(with `threshold_reason`), and the watermark moves past it, so the later cycle invoice bills only
usage after the threshold invoice (it is not offset by an "amount previously billed" line: the
usage is simply not billed twice). `reset_billing_cycle_anchor` also restarts the period at the
threshold time, billing the licensed items for the new period on the same invoice.
Documented rules kept: not evaluated during trials nor in the last 24 hours before the
subscription ends; the amount measured for `amount_gte` is net of the billing credits the
invoice would use (credits.py). Threshold invoices are finalized (and paid) at once.
LIMITATIONS: tiers restart after a threshold invoice (Stripe keeps tiers across threshold
invoices unless the anchor resets); usage recorded later with a timestamp at or before an
earlier threshold invoice's time is not billed; no proration on anchor reset.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..domain.invoices import Invoice, ItemReason
from . import credits, invoicing, lifecycle
from .periods import add_interval

if TYPE_CHECKING:
    from ..domain.subscriptions import Subscription, SubscriptionItem
    from ..store import Namespace

LAST_DAY = 86400


def _armed(sub: Subscription, items: list[SubscriptionItem], now: int) -> bool:
    if sub.status not in ("active", "past_due"):
        return False
    if sub.amount_gte is None and all(it.usage_gte is None for it in items):
        return False
    ends = sub.cancel_at
    if sub.cancel_at_period_end:
        ends = sub.current_period_end
    return ends is None or ends - now > LAST_DAY


def evaluate(ns: Namespace, sub: Subscription, now: int) -> Invoice | None:
    """Issue a threshold invoice if a threshold is reached; returns it."""
    items = sub.items(ns)
    if not _armed(sub, items, now):
        return None
    end = now + 1  # usage stamped `now` counts
    total = 0
    hits: list[SubscriptionItem] = []
    for item in items:
        price = ns.prices[item.price]
        if not price.metered or item.metered_from >= end:
            continue
        q = invoicing.usage_quantity(ns, sub.customer, item.id, price, item.metered_from, end)
        amount, qty, _ = invoicing.amount_for(price, q)
        total += amount
        if item.usage_gte is not None and qty >= item.usage_gte:
            hits.append(item)
    amount_hit = sub.amount_gte is not None and total >= sub.amount_gte
    if amount_hit and credits.held(ns, sub.customer):
        # the amount measured is net of billing credits (billing-alerts.md §6)
        probe = invoicing.new_invoice(
            ns,
            sub,
            created=now,
            reason="subscription_threshold",
            start=sub.current_period_start,
            end=now,
        )
        probe.lines = [
            invoicing.metered_line(ns, sub, it, it.price, it.metered_from, end)
            for it in items
            if ns.prices[it.price].metered and it.metered_from < end
        ]
        amount_hit = total - credits.would_pay(ns, probe, now) >= (sub.amount_gte or 0)
    if not hits and not amount_hit:
        return None
    inv = invoicing.new_invoice(
        ns,
        sub,
        created=now,
        reason="subscription_threshold",
        start=sub.current_period_start,
        end=now,
    )
    lifecycle.metered_lines(ns, sub, inv, now, now=True)
    inv.threshold_amount_gte = sub.amount_gte if amount_hit else None
    inv.threshold_items = [
        ItemReason(
            line_item_ids=[ln.id for ln in inv.lines if ln.subscription_item == it.id],
            usage_gte=it.usage_gte or 0,
        )
        for it in hits
    ]
    if sub.reset_billing_cycle_anchor:
        sub.billing_cycle_anchor = now
        sub.current_period_start = now
        sub.current_period_end = add_interval(now, sub.interval, sub.interval_count, 1)
        for item in items:
            if not ns.prices[item.price].metered:
                inv.lines.append(
                    invoicing.licensed_line(ns, sub, item, now, sub.current_period_end)
                )
    invoicing.store(ns, inv, sub, automatic=False)
    invoicing.finalize(ns, inv, now, automatic=False)
    return inv
