"""One-off invoices (`POST /v1/invoices`) and their time-driven work.

A manual invoice is a draft of a customer (optionally naming a subscription, whose billing
cycle it does not touch), with the customer's pending invoice items when
`pending_invoice_items_behavior=include` (only that subscription's when `subscription` is
given). `auto_advance` defaults to false (OpenAPI); with `auto_advance=true` the draft finalizes
after the account's finalization grace (1 h, like subscription invoices) and is then collected
like any invoice (dunning.py). Their finalizations, retries and due dates run in time order
when their customer's test clock advances, or lazily on the account's wall clock.
LIMITATIONS: such steps run after the subscriptions' steps of the same advance (their events
are stamped with the right times but may be listed after later subscription events).
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING, Any

from .. import ids
from ..domain.events import emit
from ..domain.invoices import Invoice
from . import dunning, invoicing
from .state import NEVER, state

if TYPE_CHECKING:
    from ..domain.customers import Customer
    from ..domain.subscriptions import Subscription
    from ..store import Namespace


def create(
    ns: Namespace,
    cust: Customer,
    now: int,
    *,
    currency: str | None,
    sub: Subscription | None,
    include_pending: bool,
    fields: dict[str, Any],
) -> Invoice:
    """Store a new draft (`invoice.created`); auto-advancing drafts are scheduled."""
    inv = Invoice(
        id=ids.new_id("invoice"),
        customer=cust.id,
        subscription=sub.id if sub is not None else None,
        created=now,
        currency=currency or (sub.currency if sub is not None else "usd"),
        billing_reason="manual",
        period_start=now,
        period_end=now,
        test_clock=cust.test_clock,
        **fields,
    )
    if include_pending:
        pending = state(ns).pending_items.get(cust.id)
        if pending:
            invoicing.pull_pending_items(ns, inv, pending)
            inv.lines.reverse()  # pull_pending_items prepends; keep creation order
    ns.invoices[inv.id] = inv
    if sub is not None:
        sub.invoice_ids.append(inv.id)
    emit(ns, "invoice.created", inv, created=now)
    schedule(ns, inv)
    return inv


def schedule(ns: Namespace, inv: Invoice) -> None:
    """(Re)schedule an auto-advancing manual draft's finalization."""
    if inv.status != "draft":
        return
    if inv.auto_advance:
        inv.finalizes_at = inv.created + invoicing.grace(ns)
        dunning.standalone(ns)[inv.id] = None
    else:
        inv.finalizes_at = None


def due(ns: Namespace, inv: Invoice) -> int | None:
    """When the invoice's next time-driven step runs (None: nothing pending)."""
    if inv.status == "draft":
        return inv.finalizes_at if inv.auto_advance else None
    if inv.subscription is not None:
        return None  # collected with its subscription's lifecycle (sub.collect_ids)
    return dunning.due_at(inv)


def advance(ns: Namespace, clock_id: str | None, until: int) -> None:
    """Run the pending steps of the standalone invoices of a test clock (or of the wall clock,
    `clock_id=None`) due at or before `until`, in time order."""
    pending = dunning.standalone(ns)
    heap: list[tuple[int, str]] = []
    for inv_id in list(pending):
        inv = ns.invoices[inv_id]
        t = due(ns, inv)
        if t is None:
            del pending[inv_id]
        elif inv.test_clock == clock_id and t <= until:
            heap.append((t, inv_id))
    heapq.heapify(heap)
    while heap:
        t, inv_id = heapq.heappop(heap)
        inv = ns.invoices[inv_id]
        if due(ns, inv) != t:
            continue
        if inv.status == "draft":
            invoicing.finalize(ns, inv, t, automatic=True)
        else:
            dunning.run_due(ns, inv, t)
        nxt = due(ns, inv)
        if nxt is None:
            pending.pop(inv_id, None)
        elif nxt <= until:
            heapq.heappush(heap, (nxt, inv_id))


def next_wall_due(ns: Namespace) -> int:
    """The earliest pending step among wall-clock standalone invoices (NEVER when none)."""
    best = NEVER
    for inv_id in dunning.standalone(ns):
        inv = ns.invoices[inv_id]
        if inv.test_clock is None:
            t = due(ns, inv)
            if t is not None and t < best:
                best = t
    return best


def set_auto_advance(ns: Namespace, inv: Invoice, value: bool) -> None:
    """`auto_advance` changed: a draft (re)schedules or stops its finalization; an open invoice
    stops or resumes its automatic retries."""
    inv.auto_advance = value
    if inv.status == "draft":
        sub = ns.subscriptions.get(inv.subscription) if inv.subscription else None
        if inv.billing_reason != "manual" and sub is not None:
            inv.finalizes_at = inv.created + invoicing.grace(ns) if value else None
            if value and inv.id not in sub.draft_ids:
                sub.draft_ids.append(inv.id)
        else:
            schedule(ns, inv)
        return
    if inv.status != "open" or inv.collection_method != "charge_automatically":
        return
    if not value:
        inv.next_payment_attempt = None
    elif inv.attempt_count > 0 and inv.next_payment_attempt is None:
        inv.next_payment_attempt = dunning.retry_time(ns.settings, inv)
        if inv.next_payment_attempt is not None:
            dunning.watch(ns, inv)


def delete_draft(ns: Namespace, inv: Invoice, now: int) -> None:
    """Delete a one-off draft: its invoice items become pending again (unverified) and
    `invoice.deleted` is sent."""
    body = inv.frozen_copy()
    pending = state(ns).pending_items.setdefault(inv.customer, [])
    for line in inv.lines:
        ii = ns.invoiceitems.get(line.invoice_item) if line.invoice_item else None
        if ii is not None and not ii.deleted:
            ii.invoice = None
            pending.append(ii.id)
    del ns.invoices[inv.id]
    dunning.standalone(ns).pop(inv.id, None)
    sub = ns.subscriptions.get(inv.subscription) if inv.subscription else None
    if sub is not None and inv.id in sub.invoice_ids:
        sub.invoice_ids.remove(inv.id)
    emit(ns, "invoice.deleted", body, created=now)
