"""The billing engine: the only orchestrator of time-driven and lifecycle billing effects.

Resources call these hooks where Stripe's billing reacts (a customer or subscription is created,
updated, canceled, an item's price changes, usage arrives, a test clock advances, ...). Time-driven
work lives in lifecycle.py (`advance`), invoice building and the invoice state machine in
invoicing.py, thresholds in thresholds.py, previews in preview.py.

Time: a subscription follows its customer's clock (clock.customer_now). Test clock subscriptions
move only when their clock advances; wall-clock subscriptions are advanced lazily by `sync`
(called before every API request) once real time (plus the account's `clock_offset`) passes
the earliest pending action, which the engine keeps, so `sync` is one comparison when nothing is
due. Mid-cycle changes follow Stripe's classic billing mode: after a price change only usage
after the change bills (at the new price); `billing_cycle_anchor=now` in the same update bills the
earlier usage at the old price; a deleted item's usage is not invoiced.
Prorations of licensed items (prorations.py): routes take `licensed_items` before a change and
call `items_changed` after it.
LIMITATIONS: see the modules named above.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import clock
from ..domain.credit_grants import grants_of
from ..domain.events import diff, emit, snapshot
from ..errors import InvalidRequest
from . import (
    invoicing,
    lifecycle,
    manual_invoices,
    prorations,
    thresholds,
    usage_watch,
)
from .collection import (
    begin_update,
    check_first_payment,
    checkpoint,
    end_update,
    pend,
    restore,
)
from .pending_updates import ALLOWED as PENDING_ALLOWED
from .periods import add_interval
from .state import state

if TYPE_CHECKING:
    from ..domain.customers import Customer
    from ..domain.events import Event
    from ..domain.invoiceitems import InvoiceItem
    from ..domain.invoices import Invoice
    from ..domain.subscriptions import Subscription, SubscriptionItem
    from ..store import Namespace

CLOCK_MAX_CUSTOMERS = 3
CLOCK_MAX_SUBSCRIPTIONS = 3

__all__ = [
    "PENDING_ALLOWED",
    "begin_update",
    "check_first_payment",
    "checkpoint",
    "diff",
    "end_update",
    "pend",
    "restore",
    "snapshot",
    "state",
]


def _schedule(ns: Namespace, sub: Subscription) -> None:
    """Keep the earliest pending wall-clock action up to date after a change."""
    if sub.test_clock is None:
        st = state(ns)
        st.wall_next_due = min(st.wall_next_due, lifecycle.next_due(ns, sub))


def sync(ns: Namespace, now: int) -> None:
    """Advance wall-clock subscriptions and standalone invoices to `now`; cheap when nothing
    is due."""
    st = state(ns)
    if now < st.wall_next_due:
        return
    wall = [s for s in ns.subscriptions.values() if s.test_clock is None]
    lifecycle.advance(ns, [s for s in wall if lifecycle.next_due(ns, s) <= now], now)
    manual_invoices.advance(ns, None, now)
    st.wall_next_due = min(lifecycle.any_due(ns, wall), manual_invoices.next_wall_due(ns))


def invoice_changed(ns: Namespace, inv: Invoice) -> None:
    """An invoice's time-driven work may have changed (created, finalized, attempted by a
    request): keep the wall-clock schedule up to date."""
    if inv.test_clock is not None:
        return
    st = state(ns)
    sub = ns.subscriptions.get(inv.subscription) if inv.subscription else None
    if sub is not None:
        st.wall_next_due = min(st.wall_next_due, lifecycle.next_due(ns, sub))
    t = manual_invoices.due(ns, inv)
    if t is not None:
        st.wall_next_due = min(st.wall_next_due, t)


def sync_subscription(ns: Namespace, sub: Subscription) -> None:
    """Bring one subscription up to its own "now" (roll periods before validating usage)."""
    if sub.test_clock is None:
        sync(ns, clock.wall_now(ns))


# --- customers and clocks ---------------------------------------------------------------------


def customer_joining_clock(ns: Namespace, clock_id: str) -> None:
    """Checks before a customer is attached to a test clock (strict limits)."""
    n = len(state(ns).clock_customers.get(clock_id, []))
    if ns.settings.strict_clock_limits and n >= CLOCK_MAX_CUSTOMERS:
        # (unverified text) Stripe caps a test clock at 3 customers
        raise InvalidRequest(
            f"The test clock {clock_id} has reached its maximum of {CLOCK_MAX_CUSTOMERS} "
            "customers.",
            param="test_clock",
        )


def customer_created(ns: Namespace, cust: Customer) -> Event:
    """Index a new customer on its clock; `customer.created` (returned), created when the
    customer was (its clock's frozen time, else the account's wall clock, read once)."""
    if cust.test_clock:
        state(ns).clock_customers.setdefault(cust.test_clock, []).append(cust.id)
    return emit(ns, "customer.created", cust, created=cust.created)


def attach_customer(ns: Namespace, clock_id: str, cust: Customer) -> None:
    """Attach an existing customer to a clock, with what inherits a customer's clock
    (test-clocks spec §4): its subscriptions, invoices, invoice items and credit grants.
    Ledger entries already written keep theirs (history); later ones copy their grant's."""
    st = state(ns)
    before = snapshot(ns, cust)
    cust.test_clock = clock_id
    st.clock_customers.setdefault(clock_id, []).append(cust.id)
    for sid in st.customer_subs.get(cust.id, []):
        ns.subscriptions[sid].test_clock = clock_id
    for table in (ns.invoices, ns.invoiceitems):
        for obj in table.values():
            if obj.customer == cust.id:
                obj.test_clock = clock_id
    for grant in grants_of(ns, cust.id):
        grant.test_clock = clock_id
    customer_updated(ns, cust, before)


def customer_updated(ns: Namespace, cust: Customer, before: dict[str, Any]) -> None:
    """`customer.updated` with the changed fields, when something changed."""
    after = snapshot(ns, cust)
    prev = diff(before, after)
    if prev:
        emit(ns, "customer.updated", after, created=clock.customer_now(ns, cust.id), previous=prev)


def customer_deleted(ns: Namespace, cust: Customer) -> None:
    """Deleting a customer cancels its live subscriptions immediately (usage discarded)."""
    now = clock.customer_now(ns, cust.id)
    body = snapshot(ns, cust)
    for sid in state(ns).customer_subs.get(cust.id, []):
        sub = ns.subscriptions[sid]
        if sub.status != "canceled":
            lifecycle.cancel(ns, sub, now, invoice_now=False, automatic=False)
    emit(ns, "customer.deleted", body, created=now)


def subscription_joining(ns: Namespace, cust: Customer) -> None:
    """Checks before a subscription is created for `cust` (strict clock limits)."""
    if not (cust.test_clock and ns.settings.strict_clock_limits):
        return
    subs = [ns.subscriptions[s] for s in state(ns).customer_subs.get(cust.id, [])]
    if sum(s.status != "canceled" for s in subs) >= CLOCK_MAX_SUBSCRIPTIONS:
        # (unverified text) Stripe caps a test-clock customer at 3 subscriptions
        raise InvalidRequest(
            f"The customer {cust.id} on test clock {cust.test_clock} has reached its maximum "
            f"of {CLOCK_MAX_SUBSCRIPTIONS} subscriptions.",
            param="customer",
        )


# --- subscriptions ----------------------------------------------------------------------------


def subscription_created(
    ns: Namespace, sub: Subscription, *, payment_behavior: str | None = None
) -> None:
    """First invoice (`subscription_create`, finalized at once), events, scheduling.

    `default_incomplete`: a first invoice with an amount due is finalized but not charged and
    the subscription starts `incomplete` (paid later through `pay`)."""
    state(ns).customer_subs.setdefault(sub.customer, []).append(sub.id)
    now = sub.created
    for item in sub.items(ns):
        item.price_since = now
        item.metered_from = sub.start_date  # backdated usage goes on the first cycle invoice
    inv = invoicing.new_invoice(
        ns, sub, created=now, reason="subscription_create", start=now, end=now
    )
    trial = sub.status == "trialing"
    # a future billing_cycle_anchor: the first period is a stub ending at it (a plain create
    # anchors at its start, a trial's period ends at trial_end and bills nothing)
    stub = sub.current_period_end == sub.billing_cycle_anchor
    for item in sub.items(ns):
        line = invoicing.licensed_line(
            ns,
            sub,
            item,
            sub.current_period_start,
            sub.current_period_end,
            trial=trial,
            stub=stub,
        )
        line.metered = False  # metered items show quantity 0 on the first invoice
        inv.lines.append(line)
    pending = state(ns).pending_items.get(sub.customer)
    if pending:
        invoicing.pull_pending_items(ns, inv, pending)
    for line in inv.lines:
        line.invoice = inv.id
    ns.invoices[inv.id] = inv
    sub.invoice_ids.append(inv.id)
    sub.latest_invoice = inv.id
    wait = (
        payment_behavior == "default_incomplete"
        and inv.amount_due > 0
        and sub.collection_method == "charge_automatically"
    )
    if wait:
        sub.status = "incomplete"
    emit(ns, "customer.subscription.created", sub, created=now)
    emit(ns, "invoice.created", inv, created=now)
    invoicing.finalize(ns, inv, now, automatic=False, collect=not wait)
    if trial and sub.trial_end is not None and sub.trial_end - lifecycle.TRIAL_NOTICE <= now:
        lifecycle.notify_trial_end(ns, sub, now, automatic=False)  # 3 days or less of trial
    _schedule(ns, sub)


def subscription_updated(ns: Namespace, sub: Subscription, before: dict[str, Any] | None) -> None:
    """`customer.subscription.updated` (when something changed) and rescheduling."""
    _schedule(ns, sub)
    if before is None:
        return
    after = snapshot(ns, sub)
    prev = diff(before, after)
    if prev:
        now = clock.customer_now(ns, sub.customer)
        emit(ns, "customer.subscription.updated", after, created=now, previous=prev)


def cancel_subscription(
    ns: Namespace, sub: Subscription, *, invoice_now: bool = False, prorate: bool = False
) -> None:
    """Cancel `sub` now; `invoice_now` bills accrued usage on a final invoice, else it's dropped.

    `prorate` credits the unused licensed time: on the final invoice with `invoice_now`, else as
    a pending credit invoice item (Stripe: "a proration invoice item that credits remaining
    unused time until the subscription period end")."""
    now = clock.customer_now(ns, sub.customer)
    if prorate:
        prorations.cancel_credits(ns, sub, now)
    lifecycle.cancel(ns, sub, now, invoice_now=invoice_now, automatic=False)


def licensed_items(ns: Namespace, sub: Subscription) -> prorations.Licensed:
    """The licensed items' (price, quantity) before a change, for `items_changed`."""
    return prorations.licensed(ns, sub)


def proration_time(ns: Namespace, sub: Subscription, proration_date: int | None) -> int:
    """When a change is prorated from: `proration_date` (validated) or now."""
    return prorations.change_time(sub, clock.customer_now(ns, sub.customer), proration_date)


def items_changed(
    ns: Namespace, sub: Subscription, before: prorations.Licensed, at: int, behavior: str | None
) -> None:
    """Licensed items changed mid-period: prorations per `proration_behavior`."""
    prorations.create(ns, sub, before, at, clock.customer_now(ns, sub.customer), behavior)


def item_added(ns: Namespace, sub: Subscription, item: SubscriptionItem) -> None:
    """An item added mid-cycle bills its usage from its start."""
    item.price_since = item.metered_from = item.created


def item_price_changed(
    ns: Namespace, sub: Subscription, item: SubscriptionItem, old_price: str
) -> None:
    """A mid-cycle price change: only usage after the change is billed, at the new price."""
    now = clock.customer_now(ns, sub.customer)
    state(ns).price_switches[item.id] = (old_price, item.metered_from, now)
    item.price_since = now
    item.metered_from = max(item.metered_from, now)


def delete_item(
    ns: Namespace, sub: Subscription, item: SubscriptionItem, clear_usage: bool
) -> None:
    """Remove an item from its subscription; its un-invoiced usage is not invoiced."""
    item.deleted = True
    if item.id in sub.item_ids:
        sub.item_ids.remove(item.id)
    usage = ns.usage.get(item.id)
    if clear_usage and usage is not None:
        usage.clear()


def cancel_at_period_end_changed(ns: Namespace, sub: Subscription) -> None:
    """`cancel_at_period_end` was switched on or off (the boundary action changes)."""
    _schedule(ns, sub)


def reset_anchor(ns: Namespace, sub: Subscription) -> None:
    """`billing_cycle_anchor=now`: bill usage so far (old price too), start a new period now."""
    now = clock.customer_now(ns, sub.customer)
    inv = invoicing.new_invoice(
        ns, sub, created=now, reason="subscription_update", start=sub.current_period_start, end=now
    )
    switches = state(ns).price_switches
    for item in sub.items(ns):
        old = switches.pop(item.id, None)
        if old is not None and old[2] == now and ns.prices[old[0]].metered and old[1] < now:
            inv.lines.append(invoicing.metered_line(ns, sub, item, old[0], old[1], now))
    lifecycle.metered_lines(ns, sub, inv, now, now=True)
    sub.billing_cycle_anchor = sub.current_period_start = now
    sub.current_period_end = add_interval(now, sub.interval, sub.interval_count, 1)
    if sub.status == "trialing":
        sub.status, sub.trial_end = "active", now
    for item in sub.items(ns):
        if not ns.prices[item.price].metered:
            inv.lines.append(invoicing.licensed_line(ns, sub, item, now, sub.current_period_end))
    pending = state(ns).pending_items.get(sub.customer)
    if pending:
        invoicing.pull_pending_items(ns, inv, pending)
    invoicing.store(ns, inv, sub, automatic=False)
    invoicing.finalize(ns, inv, now, automatic=False)


def end_trial(ns: Namespace, sub: Subscription) -> None:
    """`trial_end=now`: the trial ends now and a paid period starts (like an anchor reset)."""
    now = clock.customer_now(ns, sub.customer)
    for item in sub.items(ns):
        item.metered_from = max(item.metered_from, now)  # trial usage is free
    reset_anchor(ns, sub)
    lifecycle.notify_trial_end(ns, sub, now, automatic=False)  # ended early: at once


# --- usage -----------------------------------------------------------------------------------


def period_invoice(ns: Namespace, sub: Subscription, start: int, end: int) -> Invoice | None:
    """The invoice that billed the metered usage of the period `[start, end)`, if any."""
    inv_id = sub.metered_invoices.get(end)
    inv: Invoice | None = ns.invoices.get(inv_id) if inv_id else None
    return inv


def usage_recorded(ns: Namespace, sub: Subscription, item: SubscriptionItem) -> None:
    """New usage arrived for `item`: evaluate billing thresholds."""
    thresholds.evaluate(ns, sub, clock.customer_now(ns, sub.customer))


# --- invoice items ---------------------------------------------------------------------------


def invoiceitem_created(ns: Namespace, ii: InvoiceItem, inv: Invoice | None, now: int) -> None:
    """A pending item waits for the next invoice; one for a draft goes on it at once."""
    invoicing.add_invoiceitem(ns, ii, inv, now)


def invoiceitem_deleted(ns: Namespace, ii: InvoiceItem, now: int) -> None:
    """Delete an item that is pending or on a draft (Stripe refuses others)."""
    if ii.invoice is not None:
        inv = ns.invoices.get(ii.invoice)
        if inv is not None and inv.status != "draft":
            # (unverified text)
            raise InvalidRequest(
                "You can't delete an invoice item that is attached to a finalized invoice.",
            )
        if inv is not None:
            inv.lines = [ln for ln in inv.lines if ln.invoice_item != ii.id]
    body = snapshot(ns, ii)
    ii.deleted = True
    pending = state(ns).pending_items.get(ii.customer)
    if pending and ii.id in pending:
        pending.remove(ii.id)
    emit(ns, "invoiceitem.deleted", body, created=now)


def clock_subscriptions(ns: Namespace, clock_id: str) -> list[Subscription]:
    """Every subscription of the clock's customers."""
    st = state(ns)
    out: list[Subscription] = []
    for cid in st.clock_customers.get(clock_id, []):
        out.extend(ns.subscriptions[s] for s in st.customer_subs.get(cid, []))
    return out


def advance_clock(ns: Namespace, clock_id: str, until: int) -> None:
    """Process every effect for the clock's customers up to `until`, in time order
    (subscriptions, then standalone invoices)."""
    subs = clock_subscriptions(ns, clock_id)
    lifecycle.advance(ns, subs, until)
    manual_invoices.advance(ns, clock_id, until)
    # billing credit expiries, billing thresholds and usage alerts at the new clock time
    usage_watch.clock_advanced(ns, state(ns).clock_customers.get(clock_id, []), subs, until)


def clock_limit(ns: Namespace, clock_id: str, frozen_time: int) -> int:
    """Latest allowed advance target: two shortest intervals, or two years without subs."""
    live = [s for s in clock_subscriptions(ns, clock_id) if s.status in lifecycle.LIVE]
    if not live:
        return add_interval(frozen_time, "year", 2, 1)
    return min(add_interval(frozen_time, s.interval, s.interval_count, 2) for s in live)
