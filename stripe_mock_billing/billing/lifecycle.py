"""Time-driven billing: every transition that happens because time passes, in time order.

`advance(ns, subs, until)` walks the pending actions of the given subscriptions in time order
(one heap across subscriptions, so two subscriptions of one clock interleave correctly) up to
`until`. Per subscription the actions due at one instant run in this order: finalization of
drafts whose grace ended (-> payment), the notices (`customer.subscription.trial_will_end` 3 days
before a trial ends, `invoice.upcoming` before a renewal), `cancel_at` inside the
period (final invoice with usage so far), then the period boundary: either the final invoice of a
`cancel_at_period_end` subscription (last period's usage, then canceled) or the rollover (new
period, cycle invoice: licensed items in advance for the new period, metered items in arrears
for the closed one, pending invoice items; a draft finalized after the grace).
Test clocks call `advance` with the clock's subscriptions; wall-clock subscriptions are advanced
lazily by `engine.sync` when real time passes the earliest pending action.
Every effect is stamped with the simulated time at which it was due, even when one advance
covers many periods.
Prorations are pending invoice items (prorations.py) that the cycle invoice pulls in.
Collection steps of open invoices (retries, due dates: dunning.py) run right after the drafts'
finalizations.
LIMITATIONS: `invoice.upcoming` is sent
`UPCOMING_NOTICE` (7 days) before a renewal (Stripe: configurable in the Dashboard, default
unverified), only when the period is longer than the notice and not for a subscription that
ends at the period end.
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING, Any, Final

from ..domain import versions
from ..domain.events import emit, snapshot
from . import dunning, invoicing, pending_updates
from .periods import renewal_period
from .preview import preview_next
from .state import NEVER, state

if TYPE_CHECKING:
    from ..domain.invoices import Invoice
    from ..domain.subscriptions import Subscription
    from ..store import Namespace

UPCOMING_NOTICE: Final = 7 * 86400
TRIAL_NOTICE: Final = 3 * 86400
INCOMPLETE_EXPIRES: Final = 23 * 3600  # an unpaid first invoice expires the subscription
LIVE: Final = ("active", "trialing", "past_due", "unpaid", "incomplete")


def _notices(ns: Namespace, sub: Subscription) -> list[tuple[int, str]]:
    """Pending notices as (time, event type)."""
    out: list[tuple[int, str]] = []
    if sub.status not in LIVE:
        return out
    st = state(ns)
    end = sub.current_period_end
    if st.upcoming_sent.get(sub.id) != end and not sub.cancel_at_period_end:
        t = end - UPCOMING_NOTICE
        if t > sub.current_period_start:
            out.append((t, "invoice.upcoming"))
    if sub.status == "trialing" and sub.trial_end is not None and sub.id not in st.trial_notified:
        # 3 days before the trial ends; a trial of 3 days or less is noticed at its start
        # (engine.subscription_created sends it then)
        t = max(sub.trial_end - TRIAL_NOTICE, sub.current_period_start)
        out.append((t, "customer.subscription.trial_will_end"))
    return out


def notify_trial_end(ns: Namespace, sub: Subscription, t: int, *, automatic: bool) -> None:
    """`customer.subscription.trial_will_end`, once per subscription. Stripe: "three days before
    a subscription's trial period is scheduled to end, or immediately when a trial is ended
    early (for example, with trial_end=now)"; "if a trial is shortened so that fewer than three
    days remain, this event can fire immediately" (for a trial created that short: at once)."""
    notified = state(ns).trial_notified
    if sub.id not in notified:
        notified.add(sub.id)
        emit(ns, "customer.subscription.trial_will_end", sub, created=t, automatic=automatic)


def next_due(ns: Namespace, sub: Subscription) -> int:
    """The time of the subscription's earliest pending action (NEVER when none)."""
    due = NEVER
    for inv_id in sub.draft_ids:
        t = ns.invoices[inv_id].finalizes_at
        if t is not None and t < due:
            due = t
    if sub.collect_ids:
        t = dunning.next_due(ns, sub)
        if t is not None and t < due:
            due = t
    if sub.pending_update is not None:
        due = min(due, sub.pending_update.expires_at)
    if sub.status not in LIVE:
        return due
    due = min(due, sub.current_period_end, *(t for t, _ in _notices(ns, sub)))
    if sub.cancel_at is not None:
        due = min(due, sub.cancel_at)
    if sub.status == "incomplete":
        due = min(due, sub.created + INCOMPLETE_EXPIRES)
    return due


def advance(ns: Namespace, subs: list[Subscription], until: int) -> None:
    """Apply every pending action of `subs` due at or before `until`, in time order."""
    heap: list[tuple[int, int, str]] = []
    for seq, sub in enumerate(subs):
        due = next_due(ns, sub)
        if due <= until:
            heap.append((due, seq, sub.id))
    heapq.heapify(heap)
    seq = len(subs)
    while heap:
        due, _, sid = heapq.heappop(heap)
        sub = ns.subscriptions[sid]
        real = next_due(ns, sub)
        if real != due:
            if real <= until:
                seq += 1
                heapq.heappush(heap, (real, seq, sid))
            continue
        process_due(ns, sub, due)
        nxt = next_due(ns, sub)
        if nxt <= until:
            seq += 1
            heapq.heappush(heap, (nxt, seq, sid))


def process_due(ns: Namespace, sub: Subscription, t: int) -> None:
    """Run the subscription's actions due exactly at `t`."""
    for inv_id in list(sub.draft_ids):
        inv = ns.invoices[inv_id]
        if inv.finalizes_at is not None and inv.finalizes_at <= t:
            invoicing.finalize(ns, inv, t, automatic=True)
    if sub.collect_ids:
        dunning.process_subscription(ns, sub, t)
    pu = sub.pending_update
    if pu is not None and pu.expires_at <= t:
        unpaid = ns.invoices.get(pu.invoice)
        if unpaid is not None and unpaid.status == "open":
            invoicing.void(ns, unpaid, pu.expires_at, automatic=True)
        pending_updates.expire(ns, sub.id, pu.expires_at)
    if sub.status == "incomplete" and t >= sub.created + INCOMPLETE_EXPIRES:
        expire(ns, sub, sub.created + INCOMPLETE_EXPIRES)
    if sub.status not in LIVE:
        return
    for when, kind in _notices(ns, sub):
        if when <= t and kind == "invoice.upcoming":
            notify_upcoming(ns, sub, when)
        elif when <= t:
            notify_trial_end(ns, sub, when, automatic=True)
    if sub.cancel_at is not None and sub.cancel_at <= t and sub.cancel_at < sub.current_period_end:
        cancel(ns, sub, sub.cancel_at, invoice_now=True, automatic=True)
        return
    if sub.current_period_end <= t:
        if sub.cancel_at_period_end or sub.cancel_at == sub.current_period_end:
            end_at_period_end(ns, sub)
        else:
            rollover(ns, sub, sub.current_period_end)


def expire(ns: Namespace, sub: Subscription, t: int) -> None:
    """First invoice unpaid for 23 hours: `incomplete_expired` (terminal), its invoice voided."""
    for inv_id in sub.invoice_ids:
        inv = ns.invoices[inv_id]
        if inv.status == "open":
            invoicing.void(ns, inv, t, automatic=True)
    sub.status = "incomplete_expired"
    sub.ended_at = t
    sub.canceled_at = t  # as in Stripe's payload (pay-rails/pay#91); no .deleted (unverified)
    emit(
        ns,
        "customer.subscription.updated",
        sub,
        created=t,
        previous={"status": "incomplete"},
        automatic=True,
    )


def notify_upcoming(ns: Namespace, sub: Subscription, t: int) -> None:
    """`invoice.upcoming` with a preview of the renewal invoice."""

    state(ns).upcoming_sent[sub.id] = sub.current_period_end
    inv = preview_next(ns, sub, t)
    inv.frozen = True  # a preview is never changed: the event keeps it as its snapshot
    emit(ns, "invoice.upcoming", inv, created=t, automatic=True)


def metered_lines(
    ns: Namespace, sub: Subscription, inv: Invoice, end: int, *, now: bool = False
) -> None:
    """Bill every metered item's unbilled usage before `end` on `inv`, moving the watermark.

    `now=True` bills "up to now" for an immediate invoice: usage stamped `end` itself counts
    (the window is `[from, end + 1)`, shown as ending at `end`; the line is frozen at once).
    """
    stop = end + 1 if now else end
    for item in sub.items(ns):
        if not ns.prices[item.price].metered:
            continue
        start = item.metered_from
        if start < stop:
            line = invoicing.metered_line(ns, sub, item, item.price, start, stop)
            line.period_end, line.usage_end = end, stop
            inv.lines.append(line)
            item.metered_from = stop


def _finish(ns: Namespace, sub: Subscription, inv: Invoice, *, auto_finalize: bool) -> None:
    pending = state(ns).pending_items.get(sub.customer)
    if pending:
        invoicing.pull_pending_items(ns, inv, pending)
    invoicing.store(ns, inv, sub, automatic=True)
    if auto_finalize:
        invoicing.schedule_finalization(ns, inv, sub)
        if inv.finalizes_at is not None and inv.finalizes_at <= inv.created:
            invoicing.finalize(ns, inv, inv.created, automatic=True)


def rollover(ns: Namespace, sub: Subscription, boundary: int) -> None:
    """Period boundary: new period and its cycle invoice (draft until the grace ends)."""
    old_start, old_end = sub.current_period_start, sub.current_period_end
    old_status, old_latest = sub.status, sub.latest_invoice
    was_trial = sub.status == "trialing" and sub.trial_end is not None and sub.trial_end <= boundary
    anchor = sub.billing_cycle_anchor
    start, end = renewal_period(anchor, sub.interval, sub.interval_count, boundary)
    # a period end is always on the anchor's grid (or a trial's end before a future anchor), so
    # the new period starts at the boundary
    stub = end == anchor  # a trial ended before a future anchor: a stub period up to it
    inv = invoicing.new_invoice(
        ns, sub, created=boundary, reason="subscription_cycle", start=old_start, end=boundary
    )
    if was_trial:
        sub.status = "active"
        for item in sub.items(ns):
            item.metered_from = max(item.metered_from, boundary)  # trial usage is free
    else:
        metered_lines(ns, sub, inv, boundary)
    sub.metered_invoices[boundary] = inv.id
    sub.current_period_start, sub.current_period_end = start, end
    for item in sub.items(ns):
        if not ns.prices[item.price].metered:
            inv.lines.append(invoicing.licensed_line(ns, sub, item, start, end, stub=stub))
    sub.latest_invoice = inv.id
    after = snapshot(ns, sub)
    prev: dict[str, Any] = {"latest_invoice": old_latest}
    if old_status != sub.status:
        prev["status"] = old_status
    if versions.periods_on_items(ns.settings.api_version):
        old_items = [
            {**it, "current_period_start": old_start, "current_period_end": old_end}
            for it in after["items"]["data"]
        ]
        prev["items"] = {**after["items"], "data": old_items}
    else:
        prev["current_period_start"], prev["current_period_end"] = old_start, old_end
    emit(
        ns, "customer.subscription.updated", after, created=boundary, previous=prev, automatic=True
    )
    _finish(ns, sub, inv, auto_finalize=True)


def end_at_period_end(ns: Namespace, sub: Subscription) -> None:
    """`cancel_at_period_end`: final invoice with the last period's usage, then canceled."""
    boundary = sub.current_period_end
    inv = invoicing.new_invoice(
        ns,
        sub,
        created=boundary,
        reason="subscription_cycle",
        start=sub.current_period_start,
        end=boundary,
    )
    metered_lines(ns, sub, inv, boundary)
    sub.metered_invoices[boundary] = inv.id
    _finish(ns, sub, inv, auto_finalize=True)
    _canceled(ns, sub, boundary, automatic=True)


def cancel(
    ns: Namespace, sub: Subscription, now: int, *, invoice_now: bool, automatic: bool
) -> None:
    """Cancel now: with `invoice_now` a final invoice bills the usage so far, else it's dropped."""
    invoicing.stop_auto_advance(ns, sub)
    if invoice_now:
        inv = invoicing.new_invoice(
            ns,
            sub,
            created=now,
            reason="subscription_update",
            start=sub.current_period_start,
            end=now,
        )
        metered_lines(ns, sub, inv, now, now=True)
        # keyed by the end of the period it closes, as the usage record summaries look it up
        # (keyed by `now`, a cancel at a renewal took over the previous period's invoice)
        sub.metered_invoices[sub.current_period_end] = inv.id
        _finish(ns, sub, inv, auto_finalize=False)
        invoicing.finalize(ns, inv, now, automatic=automatic)
    _canceled(ns, sub, now, automatic=automatic)


def _canceled(ns: Namespace, sub: Subscription, now: int, *, automatic: bool) -> None:
    dunning.stop_collection(ns, sub)
    for item in sub.items(ns):
        item.metered_from = max(item.metered_from, now + 1)
    sub.status = "canceled"
    sub.canceled_at = sub.canceled_at or now
    sub.ended_at = now
    sub.cancel_at_period_end = False
    emit(ns, "customer.subscription.deleted", sub, created=now, automatic=automatic)


def any_due(ns: Namespace, subs: list[Any]) -> int:
    """Earliest pending action among `subs` (NEVER when none)."""
    return min((next_due(ns, s) for s in subs), default=NEVER)
