"""Invoice previews (`create_preview`, `upcoming`): the next invoice of a subscription, not stored.

The preview shows metered quantities so far (usage recorded up to now in the open period),
licensed items for the next period and the customer's pending invoice items. Hypothetical
changes (`subscription_details`): item price/quantity changes, added and deleted items,
`billing_cycle_anchor=now` (an invoice now: usage so far plus a new period), `cancel_now` (usage
so far, no new period) and `cancel_at_period_end` (the last period's usage only). Preview ids:
`upcoming_in_...` (create_preview; the upcoming endpoint omits `id`), lines `il_tmp_...`.
Item changes of licensed items show their prorations (prorations.py) as lines with
`proration: true` for `[proration_date or now, period end)` (not with `none`, an anchor reset,
`cancel_now` or while trialing).
LIMITATIONS: with `always_invoice` the prorations are shown on the next invoice too (Stripe
previews the immediate invoice); `preview_mode=recurring` only leaves out pending invoice items;
a changed or added metered item shows quantity 0 (classic billing mode bills only usage after
the change).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import ids
from ..domain.invoices import Invoice, InvoiceLine
from ..domain.subscriptions import SubscriptionItem
from . import credits, invoicing, prorations
from .periods import add_interval, renewal_period
from .state import state

if TYPE_CHECKING:
    from ..domain.subscriptions import Subscription
    from ..store import Namespace


@dataclass(slots=True, kw_only=True)
class Changes:
    """Hypothetical subscription changes of a preview (validated by the route)."""

    items: list[dict[str, Any]] = field(default_factory=list)
    anchor_now: bool = False
    cancel_now: bool = False
    cancel_at_period_end: bool | None = None
    include_pending: bool = True
    proration_behavior: str | None = None
    proration_date: int | None = None
    proration_param: str = "subscription_details[proration_date]"


@dataclass(slots=True, kw_only=True)
class _Row:
    item: SubscriptionItem | None
    price: str
    quantity: int | None
    changed: bool


def _rows(ns: Namespace, sub: Subscription, changes: Changes) -> list[_Row]:
    rows = {
        it.id: _Row(item=it, price=it.price, quantity=it.quantity, changed=False)
        for it in sub.items(ns)
    }
    added: list[_Row] = []
    for spec in changes.items:
        iid = spec.get("id")
        if iid is None:
            added.append(
                _Row(item=None, price=spec["price"], quantity=spec.get("quantity"), changed=True)
            )
            continue
        row = rows[iid]
        if spec.get("deleted"):
            del rows[iid]
            continue
        if spec.get("price") is not None and spec["price"] != row.price:
            row.price, row.changed = spec["price"], True
        if spec.get("quantity") is not None:
            row.quantity = spec["quantity"]
    return [*rows.values(), *added]


def _tmp(line: InvoiceLine) -> InvoiceLine:
    line.id = "il_tmp_" + ids.random_tail(24)
    return line


def _metered(ns: Namespace, sub: Subscription, row: _Row, now: int, end: int) -> InvoiceLine | None:
    item = row.item
    if item is None or row.changed:
        # classic billing mode: only usage after the change bills, and there is none yet
        return InvoiceLine(
            id="",
            invoice=None,
            kind="subscription",
            amount=invoicing.amount_for(ns.prices[row.price], 0)[0],
            currency=sub.currency,
            description=invoicing.describe(ns, ns.prices[row.price], 0),
            period_start=min(now, end),
            period_end=end,
            price=row.price,
            quantity=0,
            subscription=sub.id,
            subscription_item=item.id if item else "si_tmp_" + ids.random_tail(14),
        )
    stop = end + 1 if end == now else end  # an immediate bill counts usage stamped now
    if item.metered_from >= stop:
        return None
    line = invoicing.metered_line(ns, sub, item, item.price, item.metered_from, stop)
    line.period_end, line.usage_end = end, stop
    return line


def _licensed(
    ns: Namespace, sub: Subscription, row: _Row, start: int, end: int, now: int
) -> InvoiceLine:
    item = row.item
    qty = row.quantity if row.quantity is not None else 1
    if item is None:
        item = SubscriptionItem(
            id="si_tmp_" + ids.random_tail(14),
            subscription=sub.id,
            price=row.price,
            created=now,
            quantity=qty,
        )
    line = invoicing.licensed_line(ns, sub, item, start, end, quantity=qty)
    price = ns.prices[row.price]
    line.price = price.id
    line.amount = invoicing.fast_rate(price, qty)
    if end == sub.billing_cycle_anchor:  # the stub period after a trial, up to the anchor
        line.amount = invoicing.stub_amount(sub, line.amount, start, end)
    line.description = invoicing.describe(ns, price, qty)
    return line


def _proration_lines(
    ns: Namespace, sub: Subscription, rows: list[_Row], at: int, ch: Changes
) -> list[InvoiceLine]:
    """The prorations the item changes would create, as `proration: true` lines."""
    if ch.proration_behavior == "none":
        return []
    after: prorations.Licensed = {}
    for row in rows:
        if not ns.prices[row.price].metered:
            iid = row.item.id if row.item is not None else "si_tmp_" + ids.random_tail(14)
            after[iid] = (row.price, row.quantity if row.quantity is not None else 1)
    before = prorations.licensed(ns, sub)
    rates = {
        k: invoicing.fast_rate(ns.prices[k[0]], k[1]) for k in {*before.values(), *after.values()}
    }
    found = prorations.diff(
        before, after, rates, sub.current_period_start, sub.current_period_end, at
    )
    # the same invoice items a real change creates, never stored, shown as they would be billed
    return [ii.as_line("") for ii in prorations.as_items(ns, sub, found, at)]


def preview(ns: Namespace, sub: Subscription, now: int, changes: Changes | None = None) -> Invoice:
    """The subscription's next invoice as it would be created (never stored)."""
    ch = changes or Changes()
    at_period_end = sub.cancel_at_period_end
    if ch.cancel_at_period_end is not None:
        at_period_end = ch.cancel_at_period_end
    immediate = ch.anchor_now or ch.cancel_now
    bill_at = now if immediate else sub.current_period_end
    new_period = not ch.cancel_now and (ch.anchor_now or not at_period_end)
    if ch.anchor_now:
        n_start, n_end = now, add_interval(now, sub.interval, sub.interval_count, 1)
    else:
        n_start, n_end = renewal_period(
            sub.billing_cycle_anchor, sub.interval, sub.interval_count, bill_at
        )
    inv = invoicing.new_invoice(
        ns, sub, created=bill_at, reason="upcoming", start=sub.current_period_start, end=bill_at
    )
    inv.preview = True
    inv.id = "upcoming_in_" + ids.random_tail(24)
    trial = sub.status == "trialing" and not immediate
    rows = _rows(ns, sub, ch)
    at = prorations.change_time(sub, now, ch.proration_date, ch.proration_param)
    if ch.items and not immediate and sub.status != "trialing":
        inv.lines.extend(_tmp(ln) for ln in _proration_lines(ns, sub, rows, at, ch))
    for row in rows:
        if ns.prices[row.price].metered:
            line = None if trial else _metered(ns, sub, row, now, bill_at)
        else:
            line = _licensed(ns, sub, row, n_start, n_end, now) if new_period else None
        if line is not None:
            inv.lines.append(_tmp(line))
    if ch.include_pending:
        for ii_id in state(ns).pending_items.get(sub.customer, []):
            ii = ns.invoiceitems.get(ii_id)
            if ii is not None and not ii.deleted and ii.subscription in (None, sub.id):
                inv.lines.insert(0, _tmp(ii.as_line(inv.id)))
    for line in inv.lines:
        line.invoice = inv.id
    credits.project(ns, inv)  # the billing credits it would use
    return inv


def preview_next(ns: Namespace, sub: Subscription, now: int) -> Invoice:
    """The renewal invoice as it looks now (for `invoice.upcoming`)."""
    return preview(ns, sub, now)


def preview_pending(ns: Namespace, customer: str, now: int) -> Invoice | None:
    """A one-off invoice of the customer's pending invoice items; None when there are none."""
    items = [
        ns.invoiceitems[i]
        for i in state(ns).pending_items.get(customer, [])
        if i in ns.invoiceitems and not ns.invoiceitems[i].deleted
    ]
    if not items:
        return None
    inv = Invoice(
        id="upcoming_in_" + ids.random_tail(24),
        customer=customer,
        created=now,
        currency=items[0].currency,
        billing_reason="upcoming",
        period_start=now,
        period_end=now,
        preview=True,
    )
    inv.test_clock = items[0].test_clock
    inv.lines = [_tmp(ii.as_line(inv.id)) for ii in items]
    return inv
