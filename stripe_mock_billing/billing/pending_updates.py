"""Pending updates (`payment_behavior=pending_if_incomplete` on a subscription update).

When the invoice an update charges at once (prorations with `always_invoice`, an anchor reset,
a trial ended now) is declined, the update is not applied: the account goes back to its state
before the request (collection.restore), then the update's invoice (with its invoice items) is
put back, open, as the subscription's `latest_invoice`, and the subscription carries
`pending_update` (the items, anchor and trial it would have, `expires_at` 23 hours later).
Paying that invoice applies the update (`customer.subscription.updated`); at `expires_at` the
pending update is discarded and the invoice voided (unverified: Stripe documents the discard,
not the invoice's fate). The invoice is not retried automatically (unverified).
LIMITATIONS: only the parameters Stripe allows with pending updates are accepted (items,
proration_behavior, proration_date, billing_cycle_anchor, trial_end, payment_behavior, expand).
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any, Final

from ..domain.events import diff, emit, snapshot
from ..domain.subscriptions import PendingUpdate

if TYPE_CHECKING:
    from ..store import Namespace

EXPIRES: Final = 23 * 3600
ALLOWED: Final = frozenset(
    {
        "items",
        "proration_behavior",
        "proration_date",
        "billing_cycle_anchor",
        "trial_end",
        "payment_behavior",
        "expand",
    }
)


def capture(ns: Namespace, sid: str, before_invoices: int) -> dict[str, Any]:
    """What a declined update produced: its invoices (and their items) and the subscription
    as the update left it."""
    sub = ns.subscriptions[sid]
    new_ids = sub.invoice_ids[before_invoices:]
    invoices = [copy.deepcopy(ns.invoices[i]) for i in new_ids]
    items = [copy.deepcopy(ii) for ii in ns.invoiceitems.values() if ii.invoice in set(new_ids)]
    return {
        "invoices": invoices,
        "invoiceitems": items,
        "sub": copy.deepcopy(sub),
        "sub_items": [copy.deepcopy(it) for it in sub.items(ns)],
    }


def make_pending(ns: Namespace, sid: str, got: dict[str, Any], now: int) -> None:
    """After the rollback: put the update's invoice back and record the pending update."""
    sub = ns.subscriptions[sid]
    before = snapshot(ns, sub)
    for ii in got["invoiceitems"]:
        ns.invoiceitems[ii.id] = ii
    for inv in got["invoices"]:
        inv.next_payment_attempt = None
        ns.invoices[inv.id] = inv
        sub.invoice_ids.append(inv.id)
        sub.latest_invoice = inv.id
        for kind in ("invoice.created", "invoice.finalized", "invoice.payment_failed"):
            emit(ns, kind, inv, created=now)
    updated = got["sub"]
    sub.pending_update = PendingUpdate(
        expires_at=now + EXPIRES,
        invoice=sub.latest_invoice or "",
        items=got["sub_items"],
        billing_cycle_anchor=(
            updated.billing_cycle_anchor
            if updated.billing_cycle_anchor != sub.billing_cycle_anchor
            else None
        ),
        trial_end=updated.trial_end if updated.trial_end != sub.trial_end else None,
        current_period_start=updated.current_period_start,
        current_period_end=updated.current_period_end,
        status=_status_when_paid(sub, updated, now),
    )
    _updated(ns, sub, before, now, automatic=False)


def _status_when_paid(sub: Any, updated: Any, now: int) -> str:
    """The status the update gives once its invoice is paid: the status before the update,
    except that a trial the update ended (`trial_end=now`) is over. `updated.status` is only the
    decline's dunning outcome (past_due, or unpaid / canceled when no retry is left), rolled
    back with the update: paying the invoice cancels nothing."""
    if sub.status == "trialing" and updated.trial_end is not None and updated.trial_end <= now:
        return "active"
    return str(sub.status)


def apply(ns: Namespace, sid: str, now: int, *, automatic: bool) -> None:
    """The pending update's invoice was paid: the update takes effect."""
    sub = ns.subscriptions[sid]
    pu = sub.pending_update
    if pu is None:
        return
    before = snapshot(ns, sub)
    keep = {it.id for it in pu.items}
    for iid in sub.item_ids:
        if iid not in keep:
            ns.subscription_items[iid].deleted = True
    for it in pu.items:
        ns.subscription_items[it.id] = it
    sub.item_ids = [it.id for it in pu.items]
    if pu.billing_cycle_anchor is not None:
        sub.billing_cycle_anchor = pu.billing_cycle_anchor
    if pu.trial_end is not None:
        sub.trial_end = pu.trial_end
    sub.current_period_start, sub.current_period_end = (
        pu.current_period_start,
        pu.current_period_end,
    )
    sub.status = pu.status
    sub.pending_update = None
    _updated(ns, sub, before, now, automatic=automatic)


def expire(ns: Namespace, sid: str, t: int) -> None:
    """`expires_at` passed unpaid: the pending update is discarded (the caller voids its
    invoice first)."""
    sub = ns.subscriptions[sid]
    if sub.pending_update is None:
        return
    before = snapshot(ns, sub)
    sub.pending_update = None
    _updated(ns, sub, before, t, automatic=True)


def _updated(ns: Namespace, sub: Any, before: dict[str, Any], now: int, automatic: bool) -> None:
    after = snapshot(ns, sub)
    prev = diff(before, after)
    if prev:
        emit(
            ns,
            "customer.subscription.updated",
            after,
            created=now,
            previous=prev,
            automatic=automatic,
        )
